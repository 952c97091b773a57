-- 0125 (ATTACK15 A6): a fund component's money in a physical account is held to S11's day-end rule.
--
-- BRIEF §4: the components never pay for each other (不得相互挤占) — a unit's personal-account
-- money held in any physical account never goes below zero, the pooled money in each physical
-- account never below zero in total — "enforced like the no-overdraft rule". Since ATTACK5 S11
-- (0043) that rule is a day-end rule: no physical account, and no unit's share of 1004 city_exp /
-- 1005, ends any day below zero, because every as-of report of the days between shows the breach.
-- fl.component_guard (0011, 0018, 0042) held only a component's balance now: a ¥30,000 personal
-- claim dated 10 March, imported into a county account whose personal money arrived on 20 March,
-- left the account's total positive every day and the personal money at −30,000.00 on 10–19 March
-- (the pooled fund paid it), and verify was whole.
--
-- Now fl.posting_inserted's day-end loop (0043, 0090) has two more groups beside the physical
-- account and the pooled share, in the same gate statement (no statement more per entry on the
-- write path; the component groups are only walked when a day row of theirs lies after the
-- credit's date, as the account's are):
--   * 2: a unit's money of a component that is not its book's pooled one (the personal accounts),
--     its ledger account on that physical account by itself;
--   * 3: the pooled component's money of every unit on the physical account, in total.
-- fl._day_low judges them exactly as the account (a day already below zero before, data written
-- before this rule, refuses only a statement that takes it lower); the refusal is component_days
-- (check_violation), naming the day and what to do: date the payment on or after the day the
-- component's money arrived, or fund the component first. Every path that writes a posting meets
-- it (imports, manual entries, held entries confirmed later, reversals dated earlier).
--
-- The class (0125, beyond the red team's backdated import):
--   * the pooled money in a physical account in total is judged at the statement when it is below
--     zero now (the gate's second arm; refusal components_separate, 0018's words): the deferred
--     fl.component_guard is queued only when the paying unit's own pooled share goes below zero, so
--     a unit whose share stayed positive took the total below zero unseen (other units' shares of the
--     special account may be negative), and on the latest day the walk had nothing to read;
--   * a transaction of several statements (a held payment confirmed before a held funding dated
--     later, in one `entry confirm`): the payment's statement is the latest day, the personal money
--     goes below zero and the next statement brings it back; the deferred guards read only the
--     balance at commit. fl.component_guard and fl.pooled_share_guard (0030's S11 share, the same
--     gap) now walk the transaction's own days when the balance is back (fl._xact_day_low).
--
-- The rule binds the entries written after it took effect (fl.rule_point component_days): verify's
-- components_separate names a day-end breach of a component only as far as the entries above the
-- point made it (their movement up to that day below zero, and the day's end below zero).

-- fl.posting_inserted(): its definition as migrated (0103, still the latest), changed only in its
-- day-end loop (the comments "(0125").
CREATE OR REPLACE FUNCTION fl.posting_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  bad    record;
  r      record;
  me     xid8 := pg_current_xact_id();
  banks  int[] := '{}';
  deltas bigint[] := '{}';
  acc_ids  int[];
  acc_dr   bigint[];
  acc_cr   bigint[];
  acc_bank int[];
  cr     record;
  neg    record;
  tot    bigint;       -- (0125) the pooled money of a physical account in total
  day_ids  int[];      -- (0103) the (account, day) pairs with no day row yet, and their totals
  day_days date[];
  day_dr   bigint[];
  day_cr   bigint[];
BEGIN
  -- Every posting belongs to an entry created in this very transaction (no appending
  -- to committed entries), to an existing account of the entry's book, and carries
  -- the entry's date and the account's unit.
  -- Checked per distinct (entry, account, date, unit) of the statement — a handful even
  -- for a million postings — each entry and account probed by its primary key
  -- (LATERAL … OFFSET 0). The cached generic plan cannot know the statement's size; a
  -- join of every posting against the distinct sets went quadratic on a 1M-row insert.
  -- (0090) With them, in the same statement, the rules that were three statement triggers of
  -- their own (posting_cash_date 0031, posting_city_figures 0058/0064/0067, posting_own_bank_credit
  -- 0060): each a column of k, the first broken one (in the order of rule) refused below.
  SELECT g.entry_id, e.id AS eid, e.created_xid, e.entry_date, e.book AS ebook,
         a.id AS aid, a.book AS abook, a.unit AS aunit, g.entry_date AS pdate, g.unit AS punit,
         e.kind, e.idempotency_key, a.chart_code, a.holder, s.lim,
         CASE WHEN e.id IS NULL OR e.created_xid <> me OR a.id IS NULL OR a.book <> e.book
                   OR g.entry_date <> e.entry_date OR g.unit <> a.unit THEN 0
              WHEN k.cash_late THEN 1
              WHEN k.city_figure AND coalesce(a.holder, '') IN ('special', 'city_exp', 'treasury') THEN 2
              WHEN k.city_money_in THEN 3
              WHEN k.city_figure THEN 4
              ELSE 5 END AS rule
    INTO bad
    FROM (SELECT fl._cash_date_limit() AS lim,
                 -- (0058) the city's figures are an officer's to hold, not to post
                 EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') AS officer,
                 (SELECT u.unit FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') AS ounit) s
   CROSS JOIN (SELECT entry_id, account_id, entry_date, unit, side FROM new_postings GROUP BY 1, 2, 3, 4, 5) g
    LEFT JOIN LATERAL (SELECT x.id, x.created_xid, x.entry_date, x.book, x.kind, x.idempotency_key, x.source
                         FROM fl.entry x WHERE x.id = g.entry_id OFFSET 0) e ON true
    LEFT JOIN LATERAL (SELECT x.id, x.book, x.unit, x.chart_code, x.holder FROM fl.account x
                        WHERE x.id = g.account_id OFFSET 0) a ON true
   CROSS JOIN LATERAL (SELECT
         -- (0031) real money dated after the region's today (and its allowance)
         g.entry_date > s.lim AND fl._real_money(a.chart_code, a.holder) AS cash_late,
         -- (0058, 0067) an officer's manual entry on the city's figures
         s.officer AND e.kind = 'manual' AND fl._city_figure(a.chart_code, a.holder) AS city_figure,
         -- (0064, ATTACK8 V5) an officer's money into a bank or cash account, whatever the kind
         s.officer AND fl._money_in(a.chart_code, a.holder, g.side) AS city_money_in,
         -- (0060) money out of a unit's own bank account: its officer's own claims, a legacy
         -- account's handover, or a held entry another person made and this one confirms
         (g.side = 'C' AND NOT coalesce(s.ounit = a.unit, false)
          AND EXISTS (SELECT 1 FROM fl.holder h WHERE h.code = a.holder AND NOT h.pooled)
          AND NOT (e.kind = 'handover_transfer' AND a.holder LIKE 'legacy\_%')
          AND NOT EXISTS (SELECT 1 FROM fl.pending_entry pe
                           WHERE pe.idempotency_key = e.idempotency_key AND pe.state = 'held'
                             AND pe.id::text = e.source ->> 'held' AND pe.made_by <> session_user)) AS own_bank_credit
      ) k
   WHERE e.id IS NULL OR e.created_xid <> me OR a.id IS NULL OR a.book <> e.book
      OR g.entry_date <> e.entry_date OR g.unit <> a.unit
      OR k.cash_late OR k.city_figure OR k.city_money_in OR k.own_bank_credit
   ORDER BY 16
   LIMIT 1;
  IF FOUND AND bad.rule = 0 THEN
    IF bad.eid IS NULL THEN
      PERFORM fl.refuse('posting_entry', format('posting refers to entry %s, which does not exist', bad.entry_id), 'foreign_key_violation');
    ELSIF bad.created_xid <> me THEN
      PERFORM fl.refuse('append_only', format('postings cannot be added to %s: it is already committed; post a new entry', fl.entry_label(bad.eid)), 'integrity_constraint_violation');
    ELSIF bad.aid IS NULL THEN
      PERFORM fl.refuse('posting_account', 'posting refers to an account that does not exist', 'foreign_key_violation');
    ELSIF bad.abook <> bad.ebook THEN
      PERFORM fl.refuse('posting_book', format('a posting of book %s cannot sit in an entry of book %s', bad.abook, bad.ebook));
    ELSE
      PERFORM fl.refuse('posting_copy', 'a posting''s date and unit must equal its entry''s date and its account''s unit');
    END IF;
  ELSIF FOUND AND bad.rule = 1 THEN
    PERFORM fl.refuse('cash_date_future', format(
      'entry dated %s refused: an entry that moves real money (account %s) is dated no later than %s, today in '
      'the region; date it on the day the bank moved the money, or post it when that day has come',
      bad.pdate, concat_ws(' ', bad.chart_code, nullif(bad.holder, '')), bad.lim));
  ELSIF FOUND AND bad.rule = 3 THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not write %s (a %s entry) that puts money into %s, a bank or cash account: money '
      'into a bank account by hand is held and the city bureau (a reviewer) or city finance confirms it',
      session_user, fl.entry_label(bad.entry_id), bad.kind, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')),
      'insufficient_privilege');
  ELSIF FOUND AND bad.rule IN (2, 4) THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not post a manual entry on %s, the city''s figure (the city''s bank accounts 1003 '
      'special, 1004 city_exp and 1005 treasury; fund balance 3xxx, revenue 4xxx and expenditure 5xxx, which the '
      'year-end shortfall rule reads): such an entry is held and the city bureau (a reviewer) or city finance '
      'confirms it (fundledger --as REVIEWER entry confirm HELD_ID)',
      session_user, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')), 'insufficient_privilege');
  ELSIF FOUND THEN
    PERFORM fl.refuse('own_bank_credit', format(
      '%s (%s, key %s) moves money out of unit %s''s %s: only an officer of unit %s does that at once (its own '
      'claims); anyone else''s such entry is held until city finance or a second reviewer confirms it '
      '(fundledger entry confirm ID, as another user)', fl.entry_label(bad.entry_id), bad.kind, bad.idempotency_key,
      bad.aunit, (SELECT h.name_en FROM fl.holder h WHERE h.code = bad.holder), bad.aunit), 'insufficient_privilege');
  END IF;

  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  -- Per account: the totals of this statement, each account row locked in id order
  -- (nested loop over the sorted totals: no deadlocks between writers) and fetched by
  -- its primary key — never a scan of fl.account, whatever the generic plan.
  SELECT array_agg(t.account_id), array_agg(t.dr), array_agg(t.cr), array_agg(l.bank_account_id)
    INTO acc_ids, acc_dr, acc_cr, acc_bank
    FROM (SELECT account_id,
                 coalesce(sum(amount) FILTER (WHERE side = 'D'), 0)::bigint AS dr,
                 coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)::bigint AS cr
            FROM new_postings GROUP BY account_id ORDER BY account_id) t
   CROSS JOIN LATERAL (SELECT a.bank_account_id FROM fl.account a WHERE a.id = t.account_id FOR UPDATE) l;

  -- Account totals and daily movements in one statement.
  -- (0103) The day rows that exist by a plain UPDATE; the statement returns the (account, day)
  -- pairs that found none, and only those go through INSERT … ON CONFLICT DO UPDATE below (an
  -- account's first posting of a day). ON CONFLICT DO UPDATE locked each existing row before
  -- updating it — a heap lock record per day row per statement, two for every two-legged entry —
  -- and fired the day rows' INSERT statement trigger besides their UPDATE one. Every writer of a
  -- day row holds its account's row (locked above, in id order) first, so the rows a statement
  -- updates and inserts are its own until it commits, whatever order the UPDATE visits them in.
  -- A pair the UPDATE did not find (none in its snapshot) is inserted with ON CONFLICT as before:
  -- never re-probed by a later snapshot and dropped.
  WITH totals AS (
    -- (= ANY: an index scan of the locked rows, never a hash join over all accounts)
    UPDATE fl.account a
       SET debits  = a.debits  + acc_dr[array_position(acc_ids, a.id)],
           credits = a.credits + acc_cr[array_position(acc_ids, a.id)],
           balance = a.balance + acc_dr[array_position(acc_ids, a.id)] - acc_cr[array_position(acc_ids, a.id)]
     WHERE a.id = ANY (acc_ids)),
  d AS (
    SELECT account_id, entry_date AS day,
           coalesce(sum(amount) FILTER (WHERE side = 'D'), 0)::bigint AS dr,
           coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)::bigint AS cr
      FROM new_postings GROUP BY account_id, entry_date),
  u AS (
    UPDATE fl.account_day ad SET debits = ad.debits + d.dr, credits = ad.credits + d.cr
      FROM d WHERE ad.account_id = d.account_id AND ad.day = d.day
    RETURNING ad.account_id, ad.day)
  SELECT array_agg(d.account_id ORDER BY d.account_id, d.day), array_agg(d.day ORDER BY d.account_id, d.day),
         array_agg(d.dr ORDER BY d.account_id, d.day), array_agg(d.cr ORDER BY d.account_id, d.day)
    INTO day_ids, day_days, day_dr, day_cr
    FROM d WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.account_id = d.account_id AND u.day = d.day);
  IF day_ids IS NOT NULL THEN
    INSERT INTO fl.account_day AS ad (account_id, day, debits, credits)
    SELECT * FROM unnest(day_ids, day_days, day_dr, day_cr)
    ON CONFLICT (account_id, day) DO UPDATE
       SET debits = ad.debits + EXCLUDED.debits, credits = ad.credits + EXCLUDED.credits;
  END IF;

  -- (0090) Everything below is about physical bank accounts (1001-1005, an account with a
  -- holder): a statement whose accounts have none (a temporary payment, an accrual) stops here
  -- rather than plan and run the two queries below, which would find nothing to do.
  IF coalesce(cardinality(array_remove(acc_bank, NULL)), 0) = 0 THEN
    RETURN NULL;
  END IF;

  -- Physical bank accounts, locked in id order with the change each receives: refused
  -- here with a message that names the account when a total would go below zero, below
  -- what approved fund requests reserved on it, or past the running-total cap (the CHECK
  -- constraints no_overdraft, reserved_within_balance and bank_totals_cap refuse the
  -- UPDATE regardless). Its balance and reservations are named only to a caller who may
  -- read the account (0018, A5): the pooled special account holds every unit's money.
  FOR r IN
    SELECT b.id, b.book, b.holder, b.unit, b.balance, b.reserved, x.delta
      FROM (SELECT y.bank, sum(y.dr - y.cr)::bigint AS delta
              FROM unnest(acc_bank, acc_dr, acc_cr) AS y(bank, dr, cr)
             WHERE y.bank IS NOT NULL GROUP BY y.bank ORDER BY y.bank) x
     CROSS JOIN LATERAL (SELECT * FROM fl.bank_account b0 WHERE b0.id = x.bank FOR UPDATE) b
  LOOP
    IF r.balance + r.delta > 4000000000000000000 THEN
      PERFORM fl.refuse('bank_totals_cap', format(
        'the %s (%s%s) would hold more than 4×10^18 fen, the most the ledger keeps; nothing was written',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book, coalesce(', unit ' || r.unit, '')));
    ELSIF r.balance + r.delta < 0 THEN
      IF fl._reads_unit(r.unit) THEN
        PERFORM fl.refuse('no_overdraft', format(
          'the %s (%s%s) would be overdrawn: it holds %s, the payment needs %s',
          (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book,
          coalesce(', unit ' || r.unit, ''), fl.fmt_fen(r.balance), fl.fmt_fen(-r.delta)));
      END IF;
      PERFORM fl.refuse('no_overdraft', format(
        'the %s (%s%s) cannot pay out %s: it does not hold that much (its figures are the city''s); nothing was written',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book, coalesce(', unit ' || r.unit, ''),
        fl.fmt_fen(-r.delta)));
    ELSIF r.balance + r.delta < r.reserved THEN
      IF fl._reads_unit(r.unit) THEN
        PERFORM fl.refuse('reserved_within_balance', format(
          'the %s (%s%s) holds %s, of which %s is reserved for approved fund requests; %s more cannot be paid out',
          (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book,
          coalesce(', unit ' || r.unit, ''), fl.fmt_fen(r.balance), fl.fmt_fen(r.reserved), fl.fmt_fen(-r.delta)));
      END IF;
      PERFORM fl.refuse('reserved_within_balance', format(
        'the %s (%s%s) cannot pay out %s: it does not hold that much beyond what approved fund requests reserved '
        '(its figures are the city''s); nothing was written',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book, coalesce(', unit ' || r.unit, ''),
        fl.fmt_fen(-r.delta)));
    END IF;
    IF r.delta <> 0 THEN
      banks := banks || r.id;
      deltas := deltas || r.delta;
    END IF;
  END LOOP;
  IF cardinality(banks) > 0 THEN
    UPDATE fl.bank_account b SET balance = b.balance + deltas[array_position(banks, b.id)]
     WHERE b.id = ANY (banks);
  END IF;
  -- (0043, ATTACK5 S11) Every day from the entry's date on, not only today. The checks above
  -- hold the balance after the statement; a credit dated before later movements of the same
  -- account (a payment dated before the unit's first money arrived) could still leave its
  -- balance at the end of some earlier day below zero. Checked only for a credit on a physical
  -- bank account (1001-1005, an account with a holder) or a pooled share (1004 city_exp, 1005)
  -- dated before that account's last day: an entry dated on or after it probes the day rows'
  -- primary key and stops. fl._day_low says which day-end, if any, this statement takes below
  -- zero (a day already below zero before it, data written before 0043, refuses only a
  -- statement that takes it lower).
  IF EXISTS (SELECT 1 FROM unnest(acc_bank, acc_cr) AS y(bank, cr) WHERE y.bank IS NOT NULL AND y.cr > 0) THEN
    FOR cr IN
      SELECT x.bank, x.share, x.ids, x.first_cr, x.comp
        FROM (SELECT y.bank, 0 AS share, NULL::int[] AS ids, min(f.first_cr) AS first_cr, NULL::text AS comp
                FROM unnest(acc_ids, acc_bank, acc_cr) AS y(id, bank, cr)
                CROSS JOIN LATERAL (SELECT min(np.entry_date) AS first_cr FROM new_postings np
                                     WHERE np.account_id = y.id AND np.side = 'C') f
               WHERE y.bank IS NOT NULL AND y.cr > 0
               GROUP BY y.bank
              UNION ALL
              SELECT y.bank, 1, ARRAY[y.id], f.first_cr, NULL::text
                FROM unnest(acc_ids, acc_bank, acc_cr) AS y(id, bank, cr)
                JOIN fl.account a ON a.id = y.id AND a.holder IN ('city_exp', 'treasury')
                CROSS JOIN LATERAL (SELECT min(np.entry_date) AS first_cr FROM new_postings np
                                     WHERE np.account_id = y.id AND np.side = 'C') f
               WHERE y.bank IS NOT NULL AND y.cr > 0
              UNION ALL
              -- (0125, ATTACK15 A6) a fund component's money in the physical account: a unit's
              -- money of a component that is not the pooled one (its personal accounts) by itself,
              -- the pooled component's money of every unit in the physical account in total.
              SELECT y.bank, 2, ARRAY[y.id], f.first_cr, a.component
                FROM unnest(acc_ids, acc_bank, acc_cr) AS y(id, bank, cr)
                JOIN fl.account a ON a.id = y.id AND a.component <> ''
                JOIN fl.book b ON b.code = a.book AND b.pooled_component <> a.component
                CROSS JOIN LATERAL (SELECT min(np.entry_date) AS first_cr FROM new_postings np
                                     WHERE np.account_id = y.id AND np.side = 'C') f
               WHERE y.bank IS NOT NULL AND y.cr > 0
              UNION ALL
              SELECT y.bank, 3, NULL::int[], min(f.first_cr), a.component
                FROM unnest(acc_ids, acc_bank, acc_cr) AS y(id, bank, cr)
                JOIN fl.account a ON a.id = y.id AND a.component <> ''
                JOIN fl.book b ON b.code = a.book AND b.pooled_component = a.component
                CROSS JOIN LATERAL (SELECT min(np.entry_date) AS first_cr FROM new_postings np
                                     WHERE np.account_id = y.id AND np.side = 'C') f
               WHERE y.bank IS NOT NULL AND y.cr > 0
               GROUP BY y.bank, a.component) x
       -- (the gate, in the same statement: a day row after the credit's date; (0125) or, for the
       -- pooled money in total, its balance now below zero)
       WHERE EXISTS (SELECT 1 FROM fl.account_day d
                      WHERE d.account_id = ANY (CASE WHEN x.share = 0
                                                     THEN ARRAY(SELECT a.id FROM fl.account a
                                                                 WHERE a.bank_account_id = x.bank)
                                                     WHEN x.share = 3
                                                     THEN ARRAY(SELECT a.id FROM fl.account a
                                                                 WHERE a.bank_account_id = x.bank
                                                                   AND a.component = x.comp)
                                                     ELSE x.ids END)
                        AND d.day > x.first_cr)
          OR (x.share = 3 AND (SELECT sum(a.balance) FROM fl.account a
                                WHERE a.bank_account_id = x.bank AND a.component = x.comp) < 0)
       ORDER BY x.bank, x.share, x.ids, x.comp
    LOOP
      IF cr.share = 0 THEN
        cr.ids := ARRAY(SELECT a.id FROM fl.account a WHERE a.bank_account_id = cr.bank ORDER BY a.id);
      ELSIF cr.share = 3 THEN
        cr.ids := ARRAY(SELECT a.id FROM fl.account a WHERE a.bank_account_id = cr.bank AND a.component = cr.comp
                         ORDER BY a.id);
        -- (0125) The pooled money of the physical account in total, now: refused at the statement as
        -- the account's own total is. The deferred fl.component_guard is queued only when the paying
        -- unit's own pooled share goes below zero: a unit whose share stayed positive took the total
        -- below zero (other units' shares of the special account may be negative) unseen, and on
        -- the latest day nothing else read it.
        SELECT sum(a.balance)::bigint INTO tot FROM fl.account a WHERE a.id = ANY (cr.ids);
        IF tot < 0 THEN
          SELECT b.book, b.unit, h.name_en AS holder_name INTO r
            FROM fl.bank_account b JOIN fl.holder h ON h.code = b.holder WHERE b.id = cr.bank;
          PERFORM fl.refuse('components_separate', format(
            'the %s money in the %s (%s) would be %s in total: the %s fund may not draw on other components'' money',
            cr.comp, r.holder_name, r.book,
            CASE WHEN fl._reads_unit(r.unit) THEN fl.fmt_fen(tot) ELSE 'negative' END, cr.comp));
        END IF;
      END IF;
      SELECT * INTO neg FROM fl._day_low(cr.ids, cr.first_cr,
        ARRAY(SELECT ROW(np.entry_date, sum(CASE np.side WHEN 'D' THEN np.amount ELSE -np.amount END)::bigint)::fl.day_move
                FROM new_postings np WHERE np.account_id = ANY (cr.ids) GROUP BY np.entry_date));
      CONTINUE WHEN neg.day IS NULL;
      IF cr.share = 0 THEN
        SELECT b.book, b.unit, h.name_en AS holder_name INTO r
          FROM fl.bank_account b JOIN fl.holder h ON h.code = b.holder WHERE b.id = cr.bank;
        IF fl._reads_unit(r.unit) THEN
          PERFORM fl.refuse('no_overdraft', format(
            'the %s (%s%s) would be overdrawn on %s: it would hold %s at the end of that day, because a payment out '
            'of it is dated %s, before money that reached it later; date the payment on or after the day the '
            'account held the money, or record the money''s arrival first; nothing was written',
            r.holder_name, r.book, coalesce(', unit ' || r.unit, ''), neg.day, fl.fmt_fen(neg.balance), cr.first_cr));
        END IF;
        PERFORM fl.refuse('no_overdraft', format(
          'the %s (%s%s) would be overdrawn on %s by a payment dated %s, before money that reached it later (its '
          'figures are the city''s); date the payment later; nothing was written',
          r.holder_name, r.book, coalesce(', unit ' || r.unit, ''), neg.day, cr.first_cr));
      END IF;
      IF cr.share = 2 THEN
        -- (0125) a unit's personal-account money, at the end of a day before it arrived
        SELECT a.book, a.unit, a.component, b.pooled_component, h.name_en AS holder_name INTO r
          FROM fl.account a JOIN fl.holder h ON h.code = a.holder JOIN fl.book b ON b.code = a.book
         WHERE a.id = cr.ids[1];
        PERFORM fl.refuse('component_days', format(
          'unit %s''s %s money in the %s (%s) would be %s at the end of %s, because a payment of it is dated %s, '
          'before that money arrived: on those days the %s fund would have paid it; date the payment on or after '
          'the day the unit''s %s money arrived, or fund that money first; nothing was written',
          r.unit, r.component, r.holder_name, r.book,
          CASE WHEN fl._reads_unit(r.unit) THEN fl.fmt_fen(neg.balance) ELSE 'negative' END, neg.day, cr.first_cr,
          r.pooled_component, r.component), 'check_violation');
      END IF;
      IF cr.share = 3 THEN
        -- (0125) the pooled money of the physical account in total
        SELECT b.book, b.unit, h.name_en AS holder_name INTO r
          FROM fl.bank_account b JOIN fl.holder h ON h.code = b.holder WHERE b.id = cr.bank;
        PERFORM fl.refuse('component_days', format(
          'the %s money in the %s (%s%s) would be %s in total at the end of %s, because a payment of it is dated %s, '
          'before that money arrived: on those days other components'' money would have paid it; date the payment '
          'on or after the day the %s money arrived, or fund the %s money first; nothing was written',
          cr.comp, r.holder_name, r.book, coalesce(', unit ' || r.unit, ''),
          CASE WHEN fl._reads_unit(r.unit) THEN fl.fmt_fen(neg.balance) ELSE 'negative' END, neg.day, cr.first_cr,
          cr.comp, cr.comp), 'check_violation');
      END IF;
      SELECT a.book, a.unit, a.component, h.name_en AS holder_name INTO r
        FROM fl.account a JOIN fl.holder h ON h.code = a.holder WHERE a.id = cr.ids[1];
      PERFORM fl.refuse('pooled_share', format(
        'unit %s''s share of the %s (%s%s) would be %s at the end of %s, because a payment out of it is dated %s, '
        'before the money that reached that share later: on those days the unit would have paid with other units'' '
        'money; date the payment on or after the day its share held the money; nothing was written',
        r.unit, r.holder_name, r.book, CASE WHEN r.component <> '' THEN ', ' || r.component ELSE '' END,
        CASE WHEN fl._reads_unit(r.unit) THEN fl.fmt_fen(neg.balance) ELSE 'negative' END, neg.day, cr.first_cr),
        'check_violation');
    END LOOP;
  END IF;
  RETURN NULL;
END $function$;


-- (0125) The transaction's own days. fl.posting_inserted walks the day ends of a statement whose
-- credit is dated before a later day row; a statement that is the latest (no later row yet) is held
-- by the deferred guards below, which read the balance at commit: a held payment confirmed before a
-- held funding dated later, in one `entry confirm` (one transaction, two statements), took a unit's
-- personal money — or its share of the city's expenditure account (0030) — below zero on the days
-- between, and the commit saw it back. fl._xact_day_low: the first day from this transaction's
-- earliest credit on the accounts p_ids whose end is below zero while this transaction's own moves
-- on them up to that day are net out (fl._day_low's rule), read from the transaction's entries (by
-- their xid: fl.entry's created_xid index). Only run when a guard was queued (a balance went below
-- zero during the transaction) and is back: nothing on the common write path.
CREATE FUNCTION fl._xact_day_low(p_ids int[])
RETURNS TABLE (day date, balance bigint, first_cr date)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH mine AS (
    SELECT p.entry_date AS day, sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END)::bigint AS moved,
           bool_or(p.side = 'C') AS cr
      FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id
     WHERE e.created_xid = pg_current_xact_id() AND p.account_id = ANY (p_ids)
     GROUP BY p.entry_date)
  SELECT l.day, l.balance, s.first_cr
    FROM (SELECT min(m.day) FILTER (WHERE m.cr) AS first_cr,
                 array_agg(ROW(m.day, m.moved)::fl.day_move) AS moves FROM mine m) s
   CROSS JOIN LATERAL fl._day_low(p_ids, s.first_cr, s.moves) l
   WHERE s.first_cr IS NOT NULL
$$;
REVOKE ALL ON FUNCTION fl._xact_day_low(int[]) FROM PUBLIC;

-- fl.component_guard: its definition as migrated (0018; SECURITY DEFINER since 0042), and when the
-- balance is back at commit, the transaction's day ends (0125): a unit's personal money by itself,
-- the pooled money of the physical account in total; refused as fl.posting_inserted refuses them.
CREATE OR REPLACE FUNCTION fl.component_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  a      record;
  total  bigint;
  neg    record;
BEGIN
  SELECT x.id, x.book, x.unit, x.holder, x.component, x.balance, x.bank_account_id, b.pooled_component,
         h.name_en AS holder_name, ba.unit AS bank_unit
    INTO a
    FROM fl.account x JOIN fl.book b ON b.code = x.book LEFT JOIN fl.holder h ON h.code = x.holder
    LEFT JOIN fl.bank_account ba ON ba.id = x.bank_account_id
   WHERE x.id = NEW.id;
  IF a.component <> a.pooled_component THEN
    IF a.balance < 0 THEN
      PERFORM fl.refuse('components_separate', format(
        'unit %s''s %s money in the %s (%s) would be %s: it pays only from its own %s money, never from the %s fund',
        a.unit, a.component, a.holder_name, a.book,
        CASE WHEN fl._reads_unit(a.unit) THEN fl.fmt_fen(a.balance) ELSE 'negative' END,
        a.component, a.pooled_component));
    END IF;
    -- (0125) a later statement of the transaction brought it back: were the days between whole?
    SELECT * INTO neg FROM fl._xact_day_low(ARRAY[a.id]);
    IF neg.day IS NOT NULL THEN
      PERFORM fl.refuse('component_days', format(
        'unit %s''s %s money in the %s (%s) would be %s at the end of %s, because a payment of it is dated %s, '
        'before that money arrived: on those days the %s fund would have paid it; date the payment on or after '
        'the day the unit''s %s money arrived, or fund that money first; nothing was written',
        a.unit, a.component, a.holder_name, a.book,
        CASE WHEN fl._reads_unit(a.unit) THEN fl.fmt_fen(neg.balance) ELSE 'negative' END, neg.day, neg.first_cr,
        a.pooled_component, a.component), 'check_violation');
    END IF;
    RETURN NULL;
  END IF;
  SELECT sum(x.balance) INTO total FROM fl.account x
   WHERE x.bank_account_id = a.bank_account_id AND x.component = a.component;
  IF total < 0 THEN
    PERFORM fl.refuse('components_separate', format(
      'the %s money in the %s (%s) would be %s in total: the %s fund may not draw on other components'' money',
      a.component, a.holder_name, a.book,
      CASE WHEN fl._reads_unit(a.bank_unit) THEN fl.fmt_fen(total) ELSE 'negative' END, a.component));
  END IF;
  IF a.balance < 0 THEN
    RETURN NULL;   -- the unit's own share of the pool may be below zero; the total is whole
  END IF;
  -- (0125) back at commit: the pooled money's day ends in total
  SELECT * INTO neg FROM fl._xact_day_low(ARRAY(SELECT x.id FROM fl.account x
                                                WHERE x.bank_account_id = a.bank_account_id
                                                  AND x.component = a.component ORDER BY x.id));
  IF neg.day IS NOT NULL THEN
    PERFORM fl.refuse('component_days', format(
      'the %s money in the %s (%s%s) would be %s in total at the end of %s, because a payment of it is dated %s, '
      'before that money arrived: on those days other components'' money would have paid it; date the payment '
      'on or after the day the %s money arrived, or fund the %s money first; nothing was written',
      a.component, a.holder_name, a.book, coalesce(', unit ' || a.bank_unit, ''),
      CASE WHEN fl._reads_unit(a.bank_unit) THEN fl.fmt_fen(neg.balance) ELSE 'negative' END, neg.day,
      neg.first_cr, a.component, a.component), 'check_violation');
  END IF;
  RETURN NULL;
END $function$;
REVOKE ALL ON FUNCTION fl.component_guard() FROM PUBLIC;

-- fl.pooled_share_guard: its definition as migrated (0030), and when the share is back at commit,
-- the transaction's day ends (0125), refused as fl.posting_inserted refuses a pooled share's day.
CREATE OR REPLACE FUNCTION fl.pooled_share_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  a   record;
  bad record;
  neg record;
BEGIN
  SELECT x.id, x.book, x.unit, x.holder, x.component, x.balance, h.name_en AS holder_name
    INTO a
    FROM fl.account x JOIN fl.holder h ON h.code = x.holder
   WHERE x.id = NEW.id;
  IF a.balance >= 0 THEN
    -- a later statement of the transaction brought it back: (0125) were the days between whole?
    SELECT * INTO neg FROM fl._xact_day_low(ARRAY[a.id]);
    IF neg.day IS NOT NULL THEN
      PERFORM fl.refuse('pooled_share', format(
        'unit %s''s share of the %s (%s%s) would be %s at the end of %s, because a payment out of it is dated %s, '
        'before the money that reached that share later: on those days the unit would have paid with other units'' '
        'money; date the payment on or after the day its share held the money; nothing was written',
        a.unit, a.holder_name, a.book, CASE WHEN a.component <> '' THEN ', ' || a.component ELSE '' END,
        CASE WHEN fl._reads_unit(a.unit) THEN fl.fmt_fen(neg.balance) ELSE 'negative' END, neg.day, neg.first_cr),
        'check_violation');
    END IF;
    RETURN NULL;
  END IF;
  -- The entry of this transaction that took money out of the share (the committing
  -- transaction's entries, by their xid: the seal's index), named in the refusal.
  SELECT e.id, e.kind INTO bad
    FROM fl.entry e
   WHERE e.created_xid = pg_current_xact_id()
     AND EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = e.id AND p.account_id = a.id AND p.side = 'C')
   ORDER BY e.id LIMIT 1;
  PERFORM fl.refuse('pooled_share', format(
    'unit %s''s share of the %s (%s%s) would be %s after %s (%s): a unit pays out of a pooled account only the money '
    'it holds there, the rest is other units'' money (for a county: what city finance disbursed for it and the bureau '
    'has not settled yet); nothing was written',
    a.unit, a.holder_name, a.book, CASE WHEN a.component <> '' THEN ', ' || a.component ELSE '' END,
    CASE WHEN fl._reads_unit(a.unit) THEN fl.fmt_fen(a.balance) ELSE 'negative' END,
    coalesce(fl.entry_label(bad.id), 'this transaction'), coalesce(bad.kind, 'manual')), 'check_violation');
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.pooled_share_guard() FROM PUBLIC;


SELECT fl._rule_takes_effect('component_days', '0125');
