-- 0058 (ATTACK7 U5, U7): who confirms follows whose figure it is; every lock that stops other
-- writers carries the busy-holder mark.
--
-- U5 (HIGH). 0039 (ATTACK5 S1) made collections and subsidies into the special account finance's
-- or the bureau's; a *manual* entry still did the same: fl._manual_policy forbade officers only to
-- credit 1003 / 1004 city_exp / 1005, and fl._decider let "another officer's held entry of its own
-- unit" be confirmed by an officer. Two logins of one county booked ¥900,000,000 as Dr 1003 special
-- / Cr 4101.county: city finance's physical account overstated, the county's deficit gone. Now:
--   * fl._city_figure(chart, holder): the city's figures are its bank accounts (holders special,
--     city_exp, treasury: 1003, 1004, 1005 of the pooled region, either side) and revenue and fund
--     balance (3xxx, 4xxx: the year-end rule's inputs, recorded where the money arrives, in the
--     special account). A county's own accounts (county_exp, the legacy accounts) and expenditure
--     (5xxx, paid from them) stay the county's;
--   * fl._decider: an officer's held entry on a city figure is confirmed by a reviewer (the city
--     bureau) or city finance, never by an officer; the refusal names the rule and who confirms;
--   * the last word, whatever path reaches the journal: a new statement trigger on fl.posting
--     refuses, in an officer's session, any posting on a city figure in an entry of kind manual
--     (0039's trigger already refuses every other kind but payments there; an officer's payments
--     import keeps its own rule: the city proper's officer pays from 1004 city_exp);
--   * the in-database pass of verify (held_entries) names any confirmed held entry of an officer on
--     a city figure whose confirmer is not a reviewer or finance user.
--   Reversals, openings, interest, pre-allocations and clearings were already confirmed by the city
--   only (0017, 0036, 0046, 0051, 0052), and an officer confirms nothing of another unit or of a city
--   role (0017).
--
-- U7 (MED). fl.record_matches(bank, '[]') took FOR UPDATE on the pooled special account's
-- fl.bank_account row and returned: a row lock fires no UPDATE trigger, so 0044's mark
-- (fl.contended_written) was never set, and fl_guard.stuck_reason never ends an *active*
-- unmarked holder: a reviewer stopped every posting on the special account for hours. Now:
--   * fl._contended_mark(): 0044's mark (a shared transaction-level advisory lock keyed by the
--     statement's start) as a function; fl.contended_written calls it;
--   * every function that locks a contended row (fl.account, fl.bank_account, fl.voucher_counter,
--     fl.chain_head: FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE, SKIP LOCKED or not) or takes a
--     table lock that stops other writers (LOCK TABLE … SHARE or stronger: fl.closed_period, which
--     every entry needs, fl.year_close, fl.operation_log, fl.monitor_ack) takes the mark in the
--     same call; tests/security/test_attack7_duties.py sweeps every function body of a migrated
--     database for a lock without it;
--   * fl.record_matches takes no lock on the bank account at all: it serialises on the statement
--     lines it matches (the UNIQUE constraints of fl.recon_match refuse a double match anyway).
--   fl.close_period (a reviewer) held fl.closed_period's SHARE ROW EXCLUSIVE lock the same way,
--   unmarked: every writer in the ledger waited while the caller kept a statement running. It is
--   marked now too (fl._lock_closed_period).
-- ---------------------------------------------------------------------------

CREATE FUNCTION fl._contended_mark() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  -- The statement's start, in microseconds after its transaction's start: 31 bits in the second
  -- key, the rest added to the first (1179404375 = 'FLHW'). fl_guard.end_stuck_writers reads it
  -- back from pg_locks (0044_db).
  us bigint := (EXTRACT(epoch FROM pg_catalog.statement_timestamp() - pg_catalog.transaction_timestamp())
                * 1000000)::bigint;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared((1179404375 + us / 2147483648)::int, (us % 2147483648)::int);
END $$;
REVOKE ALL ON FUNCTION fl._contended_mark() FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.contended_written() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  PERFORM fl._contended_mark();
  RETURN NULL;
END $$;

CREATE FUNCTION fl._city_figure(p_chart text, p_holder text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce(p_holder, '') IN ('special', 'city_exp', 'treasury')
      OR pg_catalog.left(coalesce(p_chart, ''), 1) IN ('3', '4')
$$;
REVOKE ALL ON FUNCTION fl._city_figure(text, text) FROM PUBLIC;

CREATE FUNCTION fl.posting_city_figures() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') THEN
    RETURN NULL;
  END IF;
  SELECT g.entry_id, a.chart_code, a.holder INTO bad
    FROM (SELECT DISTINCT entry_id, account_id FROM new_postings) g
    JOIN LATERAL (SELECT x.kind FROM fl.entry x WHERE x.id = g.entry_id OFFSET 0) e ON true
    JOIN LATERAL (SELECT x.chart_code, x.holder FROM fl.account x WHERE x.id = g.account_id OFFSET 0) a ON true
   WHERE e.kind = 'manual' AND fl._city_figure(a.chart_code, a.holder)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not post a manual entry on %s, the city''s figure (the city''s bank accounts 1003 '
      'special, 1004 city_exp and 1005 treasury, revenue 4xxx, fund balance 3xxx): such an entry is held and the '
      'city bureau (a reviewer) or city finance confirms it',
      session_user, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')), 'insufficient_privilege');
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.posting_city_figures() FROM PUBLIC;

CREATE TRIGGER posting_city_figures AFTER INSERT ON fl.posting REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_city_figures();

-- ---------------------------------------------------------------------------
-- The functions below are their definitions as migrated (pg_get_functiondef of a database at
-- 0062, this migration's parent), each changed only where the comment "(0058" says.
-- ---------------------------------------------------------------------------

-- fl._special_account(text): marked
CREATE OR REPLACE FUNCTION fl._special_account(p_book text)
 RETURNS fl.bank_account
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE b fl.bank_account;
BEGIN
  INSERT INTO fl.bank_account (book, holder, unit) VALUES (p_book, 'special', NULL)
  ON CONFLICT (book, holder, unit) DO NOTHING;
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  SELECT * INTO b FROM fl.bank_account WHERE book = p_book AND holder = 'special' AND unit IS NULL FOR UPDATE;
  RETURN b;
END $function$;

-- fl.handover_transfer(text,date): marked
CREATE OR REPLACE FUNCTION fl.handover_transfer(p_unit text, p_date date)
 RETURNS TABLE(book text, component text, entry_id bigint, status text, amount bigint, idempotency_key text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['finance'], 'transfer a county''s legacy funds up to the special account (上划)');
  uk   text;
  es   fl.new_entry[];
  ps   fl.new_posting[];
  -- The legacy accounts to empty (was a temp table: see the header).
  h_id    int[];
  h_book  text[];
  h_chart text[];
  h_hold  text[];
  h_comp  text[];
  h_bal   bigint[];
  h_ord   int[];
BEGIN
  SELECT un.kind INTO uk FROM fl.unit un WHERE un.code = p_unit;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  ELSIF uk <> 'county' THEN
    PERFORM fl.refuse('illegal_state', format('unit %s is the city proper; only counties transfer legacy funds up', p_unit));
  END IF;
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the transfer date is missing (--date)');
  END IF;
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  -- Lock the legacy accounts first: what we read is what we move.
  PERFORM 1 FROM fl.account a
   WHERE a.unit = p_unit AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
   ORDER BY a.id FOR UPDATE;

  SELECT array_agg(x.id ORDER BY x.id), array_agg(x.book ORDER BY x.id), array_agg(x.chart_code ORDER BY x.id),
         array_agg(x.holder ORDER BY x.id), array_agg(x.component ORDER BY x.id), array_agg(x.balance ORDER BY x.id),
         array_agg(x.ord ORDER BY x.id)
    INTO h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord
    FROM (SELECT a.id, a.book, a.chart_code, a.holder, a.component, a.balance,
                 dense_rank() OVER (ORDER BY a.book, a.component)::int AS ord
            FROM fl.account a
           WHERE a.unit = p_unit AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
             AND a.balance > 0) x;
  IF h_id IS NULL THEN
    PERFORM fl.refuse('illegal_state', format(
      'unit %s has nothing left in its legacy accounts to transfer up: record the audited opening balances first '
      '(handover open), or the transfer was already made', p_unit));
  END IF;

  SELECT array_agg(ROW(g.ord, g.book, p_date,
                       format('上划 transfer up of unit %s''s legacy deposits to the special account', p_unit),
                       'handover_transfer', g.key, NULL, NULL,
                       jsonb_build_object('unit', p_unit, 'total', g.total), NULL)::fl.new_entry ORDER BY g.ord)
    INTO es
    FROM (SELECT a.ord, a.book, a.component, sum(a.balance)::bigint AS total,
                 (SELECT CASE WHEN count(*) = 0 THEN k.base ELSE k.base || ':' || (count(*) + 1) END
                    FROM fl.entry x WHERE x.idempotency_key = k.base OR x.idempotency_key LIKE k.base || ':%') AS key
            FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord)
            CROSS JOIN LATERAL (SELECT format('handover-transfer:%s:%s:%s', p_unit, a.book,
                                              coalesce(nullif(a.component, ''), '-')) AS base) k
           GROUP BY a.ord, a.book, a.component, k.base) g;
  SELECT array_agg(p) INTO ps FROM (
    SELECT ROW(a.ord, 0, a.book, '1003', p_unit, 'special', a.component, 'D', sum(a.balance)::bigint, NULL, NULL)::fl.new_posting AS p
      FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord) GROUP BY a.ord, a.book, a.component
    UNION ALL
    SELECT ROW(a.ord, row_number() OVER (PARTITION BY a.ord ORDER BY a.id)::int, a.book, a.chart_code, p_unit, a.holder,
               a.component, 'C', a.balance, NULL, NULL)::fl.new_posting
      FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord)) x;

  RETURN QUERY
  SELECT e.book, coalesce(e2.component, ''), r.entry_id, r.status,
         (SELECT sum(a.balance)::bigint FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord) WHERE a.ord = r.ord), e.idempotency_key
    FROM fl._post(es, ps) r
    JOIN unnest(es) e ON e.ord = r.ord
    LEFT JOIN (SELECT DISTINCT a.ord, a.component FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord)) e2 ON e2.ord = r.ord
   ORDER BY r.ord;
END $function$;

-- fl.posting_inserted(): marked
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
BEGIN
  -- Every posting belongs to an entry created in this very transaction (no appending
  -- to committed entries), to an existing account of the entry's book, and carries
  -- the entry's date and the account's unit.
  -- Checked per distinct (entry, account, date, unit) of the statement — a handful even
  -- for a million postings — each entry and account probed by its primary key
  -- (LATERAL … OFFSET 0). The cached generic plan cannot know the statement's size; a
  -- join of every posting against the distinct sets went quadratic on a 1M-row insert.
  SELECT g.entry_id, e.id AS eid, e.created_xid, e.entry_date, e.book AS ebook,
         a.id AS aid, a.book AS abook, a.unit AS aunit, g.entry_date AS pdate, g.unit AS punit
    INTO bad
    FROM (SELECT entry_id, account_id, entry_date, unit FROM new_postings GROUP BY 1, 2, 3, 4) g
    LEFT JOIN LATERAL (SELECT x.id, x.created_xid, x.entry_date, x.book FROM fl.entry x
                        WHERE x.id = g.entry_id OFFSET 0) e ON true
    LEFT JOIN LATERAL (SELECT x.id, x.book, x.unit FROM fl.account x WHERE x.id = g.account_id OFFSET 0) a ON true
   WHERE e.id IS NULL OR e.created_xid <> me OR a.id IS NULL OR a.book <> e.book
      OR g.entry_date <> e.entry_date OR g.unit <> a.unit
   LIMIT 1;
  IF FOUND THEN
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
  WITH totals AS (
    -- (= ANY: an index scan of the locked rows, never a hash join over all accounts)
    UPDATE fl.account a
       SET debits  = a.debits  + acc_dr[array_position(acc_ids, a.id)],
           credits = a.credits + acc_cr[array_position(acc_ids, a.id)],
           balance = a.balance + acc_dr[array_position(acc_ids, a.id)] - acc_cr[array_position(acc_ids, a.id)]
     WHERE a.id = ANY (acc_ids))
  INSERT INTO fl.account_day AS ad (account_id, day, debits, credits)
  SELECT account_id, entry_date,
         coalesce(sum(amount) FILTER (WHERE side = 'D'), 0),
         coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)
    FROM new_postings GROUP BY account_id, entry_date
   ORDER BY account_id, entry_date
  ON CONFLICT (account_id, day) DO UPDATE
     SET debits = ad.debits + EXCLUDED.debits, credits = ad.credits + EXCLUDED.credits;

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
      SELECT x.bank, x.share, x.ids, x.first_cr
        FROM (SELECT y.bank, false AS share, NULL::int[] AS ids, min(f.first_cr) AS first_cr
                FROM unnest(acc_ids, acc_bank, acc_cr) AS y(id, bank, cr)
                CROSS JOIN LATERAL (SELECT min(np.entry_date) AS first_cr FROM new_postings np
                                     WHERE np.account_id = y.id AND np.side = 'C') f
               WHERE y.bank IS NOT NULL AND y.cr > 0
               GROUP BY y.bank
              UNION ALL
              SELECT y.bank, true, ARRAY[y.id], f.first_cr
                FROM unnest(acc_ids, acc_bank, acc_cr) AS y(id, bank, cr)
                JOIN fl.account a ON a.id = y.id AND a.holder IN ('city_exp', 'treasury')
                CROSS JOIN LATERAL (SELECT min(np.entry_date) AS first_cr FROM new_postings np
                                     WHERE np.account_id = y.id AND np.side = 'C') f
               WHERE y.bank IS NOT NULL AND y.cr > 0) x
       -- (the gate, in the same statement: a day row after the credit's date)
       WHERE EXISTS (SELECT 1 FROM fl.account_day d
                      WHERE d.account_id = ANY (CASE WHEN x.share THEN x.ids
                                                     ELSE ARRAY(SELECT a.id FROM fl.account a
                                                                 WHERE a.bank_account_id = x.bank) END)
                        AND d.day > x.first_cr)
       ORDER BY x.bank, x.share, x.ids
    LOOP
      IF NOT cr.share THEN
        cr.ids := ARRAY(SELECT a.id FROM fl.account a WHERE a.bank_account_id = cr.bank ORDER BY a.id);
      END IF;
      SELECT * INTO neg FROM fl._day_low(cr.ids, cr.first_cr,
        ARRAY(SELECT ROW(np.entry_date, sum(CASE np.side WHEN 'D' THEN np.amount ELSE -np.amount END)::bigint)::fl.day_move
                FROM new_postings np WHERE np.account_id = ANY (cr.ids) GROUP BY np.entry_date));
      CONTINUE WHEN neg.day IS NULL;
      IF NOT cr.share THEN
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

-- fl.seal_pending(): marked
CREATE OR REPLACE FUNCTION fl.seal_pending()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '2s'
AS $function$
DECLARE
  h bytea;
  n bigint;
BEGIN
  PERFORM fl.require_role(ARRAY['officer','reviewer','finance','admin'], 'seal queued entries');
  IF NOT EXISTS (SELECT 1 FROM fl.seal_queue) THEN
    RETURN 0;
  END IF;
  BEGIN
    PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
    SELECT ch.seq, ch.hash INTO n, h FROM fl.chain_head ch WHERE ch.id FOR UPDATE;
  EXCEPTION WHEN lock_not_available THEN
    -- Held past a commit's flush: by a session that sealed early and stayed. The entries stay
    -- queued (sealed by the next commit that takes the head); the holder is ended if stuck.
    PERFORM fl.end_stuck_writers();
    RETURN 0;
  END;
  RETURN fl._seal(NULL, n, h, '{}', '{}', '{}', '{}');
END $function$;

-- fl.seal_transaction(): marked
CREATE OR REPLACE FUNCTION fl.seal_transaction()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
 SET "DateStyle" TO 'ISO, YMD'
AS $function$
DECLARE
  bad     record;
  r       record;
  h       bytea;
  n       bigint;
  rev     boolean := false;
  ids     bigint[] := '{}';
  books   text[] := '{}';
  years   int[] := '{}';
  digests bytea[] := '{}';
BEGIN
  -- 1. Before taking any shared lock, one pass over the statement's entries (NEW.ids,
  --    as the entry trigger recorded them) and their postings: at least two postings,
  --    debits = credits per unit and component, and the content digest (the canonical
  --    text of fl.entry_canonical, computed set-based). LATERAL … OFFSET 0: each entry
  --    and its postings by index, whatever a cached generic plan thinks of table sizes.
  FOR r IN
    SELECT e.id, e.book, extract(year FROM e.entry_date)::int AS y, e.reverses, pc.n,
           ub.unit, ub.component, ub.dr, ub.cr,
           sha256(convert_to(
             concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''),
                       e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))
             || '#' || pc.lines, 'UTF8')) AS digest
      FROM unnest(NEW.ids) AS mi(id)
      CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) e
      CROSS JOIN LATERAL (
        SELECT count(*) AS n,
               string_agg(concat_ws(':', a.book, a.chart_code, a.unit, a.holder, a.component,
                                    p.side, p.amount, coalesce(p.line_ref, '')), ';' ORDER BY p.id) AS lines
          FROM fl.posting p CROSS JOIN LATERAL (SELECT * FROM fl.account a0 WHERE a0.id = p.account_id OFFSET 0) a
         WHERE p.entry_id = e.id) pc
      LEFT JOIN LATERAL (
        SELECT a.unit, a.component,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr
          FROM fl.posting p CROSS JOIN LATERAL (SELECT * FROM fl.account a0 WHERE a0.id = p.account_id OFFSET 0) a
         WHERE p.entry_id = e.id
         GROUP BY a.unit, a.component
        HAVING coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0)
            <> coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)
         ORDER BY 1, 2 LIMIT 1) ub ON true
     ORDER BY e.id
  LOOP
    IF r.n < 2 THEN
      PERFORM fl.refuse('entry_min_postings',
        format('%s has %s posting(s); an entry needs at least two', fl.entry_label(r.id), r.n));
    ELSIF r.unit IS NOT NULL THEN
      PERFORM fl.refuse('entry_balanced', format('%s: debits %s ≠ credits %s for unit %s, book %s%s',
        fl.entry_label(r.id), fl.fmt_fen(r.dr), fl.fmt_fen(r.cr),
        r.unit, r.book, CASE WHEN r.component <> '' THEN ', component ' || r.component ELSE '' END));
    END IF;
    rev := rev OR r.reverses IS NOT NULL;
    ids := ids || r.id; books := books || r.book; years := years || r.y; digests := digests || r.digest;
  END LOOP;

  -- 2. A reversal mirrors what it reverses: same accounts and amounts, sides swapped.
  IF rev THEN
    SELECT e.id, e.reverses INTO bad
      FROM unnest(ids) AS mi(id) CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) e
     WHERE e.reverses IS NOT NULL
       AND (EXISTS (SELECT account_id, CASE side WHEN 'D' THEN 'C' ELSE 'D' END, amount FROM fl.posting WHERE entry_id = e.reverses
                    EXCEPT ALL SELECT account_id, side, amount FROM fl.posting WHERE entry_id = e.id)
         OR EXISTS (SELECT account_id, side, amount FROM fl.posting WHERE entry_id = e.id
                    EXCEPT ALL SELECT account_id, CASE side WHEN 'D' THEN 'C' ELSE 'D' END, amount FROM fl.posting WHERE entry_id = e.reverses)
         OR (SELECT o.book FROM fl.entry o WHERE o.id = e.reverses) <> e.book)
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('reversal_mirrors', format('%s does not exactly reverse %s',
        fl.entry_label(bad.id), fl.entry_label(bad.reverses)));
    END IF;
  END IF;

  -- 3. The chain head, if it is free. Its holder keeps it until its commit's WAL flush
  --    is done, so waiting for it put every writer behind one flush at a time (8
  --    writers spent 61 % of their time in that wait). A commit that finds it taken
  --    does not wait: it queues its entries, checked and digested, and commits; the
  --    next commit that takes the head (or fl.seal_pending()) seals them first.
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  SELECT ch.seq, ch.hash INTO n, h FROM fl.chain_head ch WHERE ch.id FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    WITH q AS (INSERT INTO fl.seal_queue (entry_id, book, fiscal_year, content_digest)
               SELECT * FROM unnest(ids, books, years, digests))
    DELETE FROM fl.txn_gate WHERE first_entry = NEW.first_entry;
    RETURN NULL;
  END IF;
  PERFORM fl._seal(NEW.first_entry, n, h, ids, books, years, digests);
  RETURN NULL;
END $function$;

-- fl._lock_closed_period(): marked
CREATE OR REPLACE FUNCTION fl._lock_closed_period()
 RETURNS void
 LANGUAGE plpgsql
 SET lock_timeout TO '2s'
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  tries int := 0;
BEGIN
  LOOP
    BEGIN
      PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
      LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
      RETURN;
    EXCEPTION WHEN lock_not_available THEN
      tries := tries + 1;
      IF pg_catalog.to_regprocedure('fl_guard.end_idle_holders(integer[])') IS NOT NULL THEN
        PERFORM fl_guard.end_idle_holders(ARRAY(
          SELECT l.pid FROM pg_catalog.pg_locks l
           WHERE l.locktype = 'relation' AND l.relation = 'fl.closed_period'::regclass AND l.granted
             AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())));
      END IF;
      PERFORM fl.end_stuck_writers();
      IF tries >= 8 THEN
        PERFORM fl.refuse('lock_busy', 'the period cannot be closed now: other sessions are still writing to the '
          'ledger (waited 16 s); nothing was closed — try again in a moment', 'lock_not_available');
      END IF;
    END;
  END LOOP;
END $function$;

-- fl.close_year(integer,date,jsonb): marked
CREATE OR REPLACE FUNCTION fl.close_year(p_year integer, p_date date, p_results jsonb)
 RETURNS TABLE(book text, entries integer, government_items integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
#variable_conflict use_column
DECLARE
  u       fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
  v_start date := make_date(p_year, 1, 1);
  v_end   date := make_date(p_year, 12, 31);
  bk      fl.book;
  bad     record;
  done    text;
  obst    int;
  ents    text;
  n_ents  bigint;
  rows    jsonb;
  es      fl.new_entry[];
  ps      fl.new_posting[];
  n_e     int;
  n_g     int;
  b_unit  text[];
  b_chart text[];
  b_comp  text[];
  b_kind  text[];
  b_amt   bigint[];
  b_ord   int[];
BEGIN
  IF p_date IS NULL OR p_date NOT BETWEEN v_start AND v_end THEN
    PERFORM fl.refuse('close_date', format('the close of %s must be dated within %s (normally %s), not %s',
      p_year, p_year, v_end, coalesce(p_date::text, 'no date')));
  END IF;
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
  SELECT string_agg(format('%s (closed on %s by %s)', c.book, c.closed_on, c.closed_by), ', ' ORDER BY c.book)
    INTO done FROM fl.year_close c WHERE c.year = p_year;
  IF done IS NOT NULL THEN
    PERFORM fl.refuse('year_closed', format('year %s is already closed for book %s; a year is closed once',
      p_year, done), 'unique_violation');
  END IF;

  FOR bk IN SELECT * FROM fl.book ORDER BY code LOOP
    SELECT a.id, a.unit, a.chart_code INTO bad
      FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day < v_start
     GROUP BY a.id, a.unit, a.chart_code HAVING sum(d.debits - d.credits) <> 0 LIMIT 1;
    IF FOUND THEN
      -- (0039, ATTACK5 S4) Name the real obstacle: the earliest year that still holds the
      -- balance and, when that is not simply last year waiting for its close, its entries.
      SELECT z.y INTO obst
        FROM (SELECT extract(year FROM d.day)::int AS y, sum(d.debits - d.credits) AS s
                FROM fl.account_day d WHERE d.account_id = bad.id AND d.day < v_start GROUP BY 1) z
       WHERE z.s <> 0 ORDER BY z.y LIMIT 1;
      IF obst IS NULL OR (obst = p_year - 1 AND NOT EXISTS (SELECT 1 FROM fl.year_close c WHERE c.year = obst)) THEN
        PERFORM fl.refuse('year_close_order', format(
          'book %s still holds revenue or expenditure from before %s (unit %s, account %s): close year %s first',
          bk.code, p_year, bad.unit, bad.chart_code, p_year - 1));
      END IF;
      SELECT string_agg(format('%s dated %s (%s, by %s)', fl.entry_label(e.id), e.entry_date, e.kind, e.created_by),
                        '; ' ORDER BY e.id), count(*) INTO ents, n_ents
        FROM (SELECT DISTINCT p.entry_id FROM fl.posting p
               WHERE p.account_id = bad.id AND p.entry_date BETWEEN make_date(obst, 1, 1) AND make_date(obst, 12, 31)
               ORDER BY p.entry_id LIMIT 5) x
        JOIN fl.entry e ON e.id = x.entry_id;
      IF EXISTS (SELECT 1 FROM fl.year_close c WHERE c.year > obst AND c.year <> p_year) THEN
        PERFORM fl.refuse('year_close_order', format(
          'book %s still holds revenue or expenditure dated in %s (unit %s, account %s), a year before the years '
          'already closed, which can no longer be closed: %s. Reverse the entry that does not belong there, dated in '
          '%s (fundledger entry reverse ID --date %s-12-31; a second person confirms it), then close %s',
          bk.code, obst, bad.unit, bad.chart_code, ents, obst, obst, p_year));
      END IF;
      PERFORM fl.refuse('year_close_order', format(
        'book %s still holds revenue or expenditure dated in %s (unit %s, account %s): %s. Close year %s first '
        '(years close in order), or reverse the entry that does not belong there, dated in %s',
        bk.code, obst, bad.unit, bad.chart_code, ents, obst, obst));
    END IF;

    rows := coalesce(p_results -> bk.code, '[]'::jsonb);
    -- (0025b) The rule across years with the adjustment fund between surplus and government.
    SELECT coalesce(f.unit, x.unit) AS unit INTO bad
      FROM fl.year_figures_v3(p_year, bk.code) f
      FULL JOIN jsonb_to_recordset(rows) AS x(unit text, revenue bigint, expenditure bigint, current_balance bigint,
                 surplus_before bigint, covered_by_surplus bigint, government_share bigint, surplus_after bigint,
                 revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
                 outstanding_before bigint, outstanding_after bigint, surplus_after_on_books bigint,
                 adjustment_receipts bigint, covered_by_adjustment_fund bigint)
        ON x.unit = f.unit
     WHERE f.unit IS NULL OR x.unit IS NULL
        OR (f.revenue, f.expenditure, f.surplus_before, f.revenue_on_books, f.share_receipts,
            f.surplus_before_on_books, f.outstanding_before, f.adjustment_receipts)
           IS DISTINCT FROM (x.revenue, x.expenditure, x.surplus_before, x.revenue_on_books, x.share_receipts,
                             x.surplus_before_on_books, x.outstanding_before, coalesce(x.adjustment_receipts, 0))
        OR x.current_balance IS DISTINCT FROM x.revenue - x.expenditure
        OR x.covered_by_surplus IS DISTINCT FROM least(greatest(-x.current_balance, 0), greatest(x.surplus_before, 0))
        OR coalesce(x.covered_by_adjustment_fund, 0) IS DISTINCT FROM
           least(greatest(-x.current_balance, 0) - x.covered_by_surplus, coalesce(x.adjustment_receipts, 0))
        OR x.government_share IS DISTINCT FROM
           greatest(-x.current_balance, 0) - x.covered_by_surplus - coalesce(x.covered_by_adjustment_fund, 0)
        OR x.surplus_after IS DISTINCT FROM
           x.surplus_before + x.current_balance + coalesce(x.adjustment_receipts, 0) + x.government_share
        OR x.outstanding_after IS DISTINCT FROM x.outstanding_before - x.share_receipts + x.government_share
        OR x.surplus_after_on_books IS DISTINCT FROM x.surplus_after - x.outstanding_after
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_result', format(
        'the shortfall table for book %s does not match the books or the rule (unit %s); nothing was closed',
        bk.code, bad.unit));
    END IF;

    SELECT array_agg(x.unit ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.chart_code ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.component ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.kind ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.amount ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.ord ORDER BY x.unit, x.kind, x.chart_code, x.component)
      INTO b_unit, b_chart, b_comp, b_kind, b_amt, b_ord
      FROM (SELECT y.*, dense_rank() OVER (ORDER BY y.unit, y.kind)::int AS ord
              FROM (SELECT a.unit, a.chart_code, a.component, c.kind, sum(d.debits - d.credits)::bigint AS amount
                      FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
                     WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day <= v_end
                     GROUP BY 1, 2, 3, 4 HAVING sum(d.debits - d.credits) <> 0) y) x;

    SELECT array_agg(ROW(g.ord, bk.code, p_date,
                         format('年终结转 year-end close %s: unit %s %s to 3001', p_year, g.unit, g.kind),
                         'year_close', format('yearclose:%s:%s:%s:%s', p_year, bk.code, g.unit, g.kind),
                         NULL, '', jsonb_build_object('year', p_year), NULL)::fl.new_entry ORDER BY g.ord)
      INTO es FROM (SELECT DISTINCT ord, unit, kind FROM unnest(b_unit, b_chart, b_comp, b_kind, b_amt, b_ord) AS cb(unit, chart_code, component, kind, amount, ord)) g;
    SELECT array_agg(ROW(l.ord, l.pos, bk.code, l.chart_code, l.unit, '', l.component, l.side, l.amount, NULL, NULL)::fl.new_posting
                     ORDER BY l.ord, l.pos)
      INTO ps
      FROM (SELECT y.*, row_number() OVER (PARTITION BY y.ord ORDER BY y.o, y.chart_code, y.component)::int AS pos
              FROM (SELECT b.ord, b.chart_code, b.unit, b.component,
                           CASE WHEN b.amount > 0 THEN 'C' ELSE 'D' END AS side, abs(b.amount) AS amount,
                           CASE b.kind WHEN 'revenue' THEN 0 ELSE 2 END AS o
                      FROM unnest(b_unit, b_chart, b_comp, b_kind, b_amt, b_ord) AS b(unit, chart_code, component, kind, amount, ord)
                    UNION ALL
                    SELECT b.ord, '3001', b.unit, b.component,
                           CASE WHEN sum(b.amount) > 0 THEN 'D' ELSE 'C' END, abs(sum(b.amount))::bigint, 1
                      FROM unnest(b_unit, b_chart, b_comp, b_kind, b_amt, b_ord) AS b(unit, chart_code, component, kind, amount, ord) GROUP BY b.ord, b.unit, b.component HAVING sum(b.amount) <> 0) y) l;
    n_e := coalesce(cardinality(es), 0);
    IF n_e > 0 THEN
      PERFORM fl._post(es, ps);
    END IF;

    INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, fiscal_year, reference, note)
    SELECT 'government_share', x.unit, bk.code, bk.pooled_component, x.government_share, p_date, p_year,
           format('govshare:%s:%s:%s', p_year, bk.code, x.unit),
           format('缺口分担 local government share of the %s shortfall of unit %s (%s)', p_year, x.unit, bk.code)
      FROM jsonb_to_recordset(rows) AS x(unit text, government_share bigint)
     WHERE x.government_share > 0;
    GET DIAGNOSTICS n_g = ROW_COUNT;

    INSERT INTO fl.year_close (year, book, closed_on, result)
    VALUES (p_year, bk.code, p_date, jsonb_build_object('component', bk.pooled_component, 'rows', rows,
                                                        'rule', 'across_years_adjustment_fund'));
    book := bk.code; entries := n_e; government_items := n_g;
    RETURN NEXT;
  END LOOP;

  INSERT INTO fl.closed_period (month, reason)
  SELECT m::date, format('year-end close %s', p_year)
    FROM generate_series(v_start, make_date(p_year, 12, 1), interval '1 month') AS m
  ON CONFLICT (month) DO NOTHING;
END $function$;

-- fl.close_year_from_books(integer,date): marked
CREATE OR REPLACE FUNCTION fl.close_year_from_books(p_year integer, p_date date)
 RETURNS TABLE(book text, entries integer, government_items integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
  res jsonb;
BEGIN
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
  SELECT coalesce(jsonb_object_agg(b.code, t.rows_), '{}'::jsonb) INTO res
    FROM fl.book b
    CROSS JOIN LATERAL (
      SELECT coalesce(jsonb_agg(jsonb_build_object(
               'unit', f.unit, 'book', f.book, 'revenue', f.revenue, 'expenditure', f.expenditure,
               'current_balance', r.cur, 'surplus_before', f.surplus_before, 'covered_by_surplus', r.cov,
               'government_share', r.gov, 'surplus_after', r.aft,
               'revenue_on_books', f.revenue + f.share_receipts + f.adjustment_receipts,
               'share_receipts', f.share_receipts, 'surplus_before_on_books', f.surplus_before - f.outstanding_before,
               'outstanding_before', f.outstanding_before,
               'outstanding_after', f.outstanding_before - f.share_receipts + r.gov,
               'surplus_after_on_books', r.aft - (f.outstanding_before - f.share_receipts + r.gov),
               'adjustment_receipts', f.adjustment_receipts, 'covered_by_adjustment_fund', r.fund)
             ORDER BY f.unit), '[]'::jsonb) AS rows_
        FROM fl.year_figures_v3(p_year, b.code) f
        CROSS JOIN LATERAL (SELECT f.revenue - f.expenditure AS cur,
                                   greatest(f.expenditure - f.revenue, 0) AS gap) g
        CROSS JOIN LATERAL (SELECT least(g.gap, greatest(f.surplus_before, 0)) AS cov) c
        CROSS JOIN LATERAL (SELECT least(g.gap - c.cov, f.adjustment_receipts) AS fund) a
        CROSS JOIN LATERAL (SELECT g.cur AS cur, c.cov AS cov, a.fund AS fund, g.gap - c.cov - a.fund AS gov,
                                   f.surplus_before + g.cur + f.adjustment_receipts + (g.gap - c.cov - a.fund) AS aft) r
    ) t;
  RETURN QUERY SELECT x.book, x.entries, x.government_items FROM fl.close_year(p_year, p_date, res) x;
END $function$;

-- fl.monitor_ack_chain(): marked
CREATE OR REPLACE FUNCTION fl.monitor_ack_chain()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET "DateStyle" TO 'ISO, YMD'
 SET "TimeZone" TO 'UTC'
 SET "IntervalStyle" TO 'postgres'
AS $function$
DECLARE prev bytea;
BEGIN
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  LOCK TABLE fl.monitor_ack IN SHARE ROW EXCLUSIVE MODE;
  SELECT a.hash INTO prev FROM fl.monitor_ack a ORDER BY a.id DESC LIMIT 1;
  NEW.acknowledged_by := session_user;
  NEW.acknowledged_at := clock_timestamp();
  NEW.prev_hash := coalesce(prev, '\x'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|', NEW.id, NEW.unit, NEW.book, NEW.level, NEW.since,
                                                           NEW.acknowledged_on, NEW.acknowledged_by,
                                                           to_char(NEW.acknowledged_at AT TIME ZONE 'UTC',
                                                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                                           NEW.decision), 'UTF8'));
  RETURN NEW;
END $function$;

-- fl.operation_log_chain(): marked
CREATE OR REPLACE FUNCTION fl.operation_log_chain()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET "DateStyle" TO 'ISO, YMD'
 SET "TimeZone" TO 'UTC'
 SET "IntervalStyle" TO 'postgres'
AS $function$
DECLARE prev bytea;
BEGIN
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  LOCK TABLE fl.operation_log IN SHARE ROW EXCLUSIVE MODE;
  SELECT o.hash INTO prev FROM fl.operation_log o ORDER BY o.id DESC LIMIT 1;
  NEW.at := clock_timestamp();
  NEW.actor := session_user;
  NEW.client_addr := inet_client_addr();
  NEW.prev_hash := coalesce(prev, '\x'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|', NEW.id, NEW.at, NEW.actor, NEW.action, NEW.subject,
                                                           NEW.reason, NEW.detail::text), 'UTF8'));
  RETURN NEW;
END $function$;

-- fl.record_matches: no lock on the bank account
CREATE OR REPLACE FUNCTION fl.record_matches(p_bank integer, p_groups jsonb)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'record reconciliation matches');
  b   fl.bank_account;
  bad record;
  n   int := 0;
BEGIN
  SELECT * INTO b FROM fl.bank_account WHERE id = p_bank;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no bank account %s', p_bank), 'no_data_found');
  END IF;
  IF u.role = 'officer' AND b.unit IS DISTINCT FROM u.unit THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may reconcile only that unit''s own accounts',
      u.name, u.unit), 'insufficient_privilege');
  END IF;
  IF jsonb_typeof(p_groups) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'match groups must be a list');
  END IF;
  -- (0058, ATTACK7 U7) Serialise matchers of the same statement lines, never on the bank account's
  -- row: every posting on that account waits for its row, and a caller that kept it past this
  -- call stopped them all. The UNIQUE constraints on recon_match refuse a line or posting
  -- matched twice whatever the order; the library runs a transaction refused so once more.
  PERFORM 1 FROM fl.statement_line l
   WHERE l.id IN (SELECT r.line_id FROM fl._match_items(p_groups) r WHERE r.line_id IS NOT NULL)
     AND l.bank_account_id = p_bank
   ORDER BY l.id FOR UPDATE;

  SELECT r.g INTO bad FROM fl._match_items(p_groups) r
    LEFT JOIN fl.statement_line l ON l.id = r.line_id AND l.bank_account_id = p_bank
    LEFT JOIN fl.posting p ON p.id = r.posting_id
    LEFT JOIN fl.account a ON a.id = p.account_id AND a.bank_account_id = p_bank
   WHERE (r.line_id IS NOT NULL AND l.id IS NULL) OR (r.posting_id IS NOT NULL AND a.id IS NULL)
      OR r.method IS NULL OR r.method NOT IN ('reference', 'amount_date')
      OR EXISTS (SELECT 1 FROM fl.recon_match m WHERE m.statement_line_id = r.line_id OR m.posting_id = r.posting_id)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('recon_match', format(
      'match group %s names a line or posting that is not on this bank account or is already matched', bad.g));
  END IF;
  SELECT r.g INTO bad FROM fl._match_items(p_groups) r
    LEFT JOIN fl.statement_line l ON l.id = r.line_id
    LEFT JOIN fl.posting p ON p.id = r.posting_id
   GROUP BY r.g
  HAVING coalesce(sum(CASE l.direction WHEN 'in' THEN l.amount WHEN 'out' THEN -l.amount END), 0)
      <> coalesce(sum(CASE p.side WHEN 'D' THEN p.amount WHEN 'C' THEN -p.amount END), 0)
      OR count(r.line_id) = 0 OR count(r.posting_id) = 0
      OR count(DISTINCT r.line_id) <> count(r.line_id) OR count(DISTINCT r.posting_id) <> count(r.posting_id)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('recon_match', format('match group %s: the bank lines and postings do not agree in amount', bad.g));
  END IF;

  WITH items AS (SELECT * FROM fl._match_items(p_groups)),
  gs AS (SELECT x.g, nextval('fl.recon_group_seq') AS grp FROM (SELECT DISTINCT g FROM items ORDER BY g) x)
  INSERT INTO fl.recon_match (bank_account_id, match_group, method, statement_line_id, posting_id)
  SELECT p_bank, gs.grp, r.method, r.line_id, r.posting_id FROM items r JOIN gs ON gs.g = r.g ORDER BY r.g;
  SELECT count(DISTINCT g) INTO n FROM fl._match_items(p_groups);
  RETURN n;
END $function$;

-- fl._decider: the city confirms its figures
CREATE OR REPLACE FUNCTION fl._decider(p fl.pending_entry, p_action text)
 RETURNS fl.app_user
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['officer', 'reviewer', 'finance'], p_action || ' held entries');
  fig record;
BEGIN
  IF u.role = 'officer' AND (p.maker_role <> 'officer' OR p.units <> ARRAY[u.unit]) THEN
    PERFORM fl.refuse('permission_denied', format(
      '%s is an officer of unit %s and may %s only another officer''s held entry of that unit; held entry %s is %s''s '
      '(%s) for unit(s) %s', u.name, u.unit, p_action, p.id, p.made_by, p.maker_role, array_to_string(p.units, ', ')),
      'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND u.name = p.made_by THEN
    PERFORM fl.refuse('maker_checker', format(
      '%s made held entry %s and may not confirm it: a second person confirms (fundledger entry confirm %s, as another '
      'user)', u.name, p.id, p.id), 'insufficient_privilege');
  END IF;
  -- (0058, ATTACK7 U5) An officer's held entry on the city's bank accounts (1003 special, 1004
  -- city_exp, 1005 treasury: either side) or on revenue and fund balance (3xxx, 4xxx) is the
  -- city's figure: the city bureau or city finance confirms it, never an officer of the county.
  IF p_action = 'confirm' AND u.role = 'officer' AND p.maker_role = 'officer' THEN
    SELECT a.chart_code, a.holder INTO fig FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id
     WHERE pp.pending_id = p.id AND fl._city_figure(a.chart_code, a.holder) ORDER BY pp.pos LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('city_confirms', format(
        'held entry %s is on %s, the city''s figure (the city''s bank accounts 1003 special, 1004 city_exp and '
        '1005 treasury, revenue 4xxx, fund balance 3xxx): the city bureau (a reviewer) or city finance confirms it, '
        'not an officer (fundledger --as REVIEWER entry confirm %s)', p.id,
        fig.chart_code || coalesce(' ' || nullif(fig.holder, ''), ''), p.id),
        'insufficient_privilege');
    END IF;
  END IF;
  IF p_action = 'confirm' AND p.kind IN ('reversal', 'interest', 'opening', 'adjfund_remit', 'register_clear')
     AND u.role NOT IN ('reviewer', 'finance') THEN
    PERFORM fl.refuse('permission_denied', format('a held %s is confirmed by the city bureau (reviewer) or city finance',
      p.kind), 'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND p.kind = 'preallocation' AND u.role <> 'finance' THEN
    PERFORM fl.refuse('permission_denied', format(
      'held entry %s is a pre-allocation (预拨), a transfer out of the special account that city finance executes: '
      'a finance user confirms it (fundledger --as FINANCE entry confirm %s)', p.id, p.id), 'insufficient_privilege');
  END IF;
  RETURN u;
END $function$;

-- fl.manual_policy: the new rule
CREATE OR REPLACE FUNCTION fl.manual_policy()
 RETURNS TABLE(role text, rule text)
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
  VALUES
    ('officer', 'posts by hand only for its own unit'),
    ('officer', 'never credits (moves money out of) the special account 1003, the city expenditure account '
                '(1004 city_exp) or the treasury account 1005'),
    ('officer', 'confirms or rejects only another officer''s held entry of its own unit; never confirms one on the '
                'city''s figures (1003 special, 1004 city_exp, 1005 treasury: either side; revenue 4xxx; fund '
                'balance 3xxx): the city bureau (a reviewer) or city finance does'),
    ('officer', 'no manual entry on the city''s figures is ever written in an officer''s session, whichever '
                'path reaches the journal'),
    ('reviewer', 'posts by hand for any unit; confirms any held entry it did not make, but a pre-allocation'),
    ('reviewer', 'posts the city proper''s audited opening balance (opening post) and the counties'' (handover open), '
                 'both held; reverses entries'),
    ('reviewer', 'pre-allocates (held until a finance user confirms it); clears unpaid provider claims (held until '
                 'city finance or a second reviewer confirms it)'),
    ('finance', 'posts by hand for any unit; confirms any held entry it did not make; reverses entries'),
    ('finance', 'clears fiscal arrears, employer arrears and local-government shares (money arriving in the special '
                'account) at once, like a collection import'),
    ('auditor', 'posts nothing'),
    ('admin', 'posts nothing'),
    ('any', 'an entry posted by hand is always kind manual; its key is filed under manual:<user>:'),
    ('any', 'a manual entry, reversal, interest allocation or opening balance (the city proper''s opening post, a '
            'county''s handover open) that moves real money (1001-1005 or an account with a holder) is held until a '
            'different user confirms it; a county''s opening row is confirmed by city finance or a second reviewer, '
            'and refused once that county''s book was transferred up'),
    ('any', 'a clearing of unpaid provider claims (register clear: Dr 5001.other / Cr 1004 county expenditure account, '
            'money out of a county''s bank account) is held until city finance or a second reviewer confirms it; '
            'the clearing counts against the item only when confirmed'),
    ('any', 'the memo-register items of a county''s opening file (arrears, unpaid claims) are recorded at once: they '
            'move no money, and each payout from unpaid claims is held'),
    ('any', 'a pre-allocation (preallocate: Dr 1004 county expenditure / Cr 1003 special) is held until a finance user '
            'confirms it'),
    ('any', 'a manual entry on bond investment (1201) or borrowing (2101) is held until a different user '
            'confirms it, whoever makes it: buying bonds and borrowing move money; only temporary payments and '
            'receipts (1101/2001) post at once'),
    ('any', 'one call posts at most 1000 entries, 20000 postings and 8 MB; a user has at most 2000 held entries '
            'waiting for a second person'),
    ('any', 'a manual entry on revenue, expenditure or fund balance (3xxx-5xxx, the year-end rule''s inputs), '
            'and a reversal of a workflow entry (a year-end close, an import, a pre-allocation, a request''s '
            'step) or of an entry on 3xxx-5xxx, is held until a different user confirms it, whoever makes it'),
    ('any', 'a unit''s share of the city expenditure account (1004 city_exp) and of the treasury (1005) never '
            'goes below zero, whoever posts'),
    ('any', 'money out of a county''s own bank account (a credit on 1004 county expenditure or a legacy account) '
            'posts at once only for that county''s officer (its own claims: pay import, paid from county) or as '
            'finance''s transfer up of the legacy accounts; anyone else''s such entry (the city bureau''s payment '
            'import paid from county, a clearing of unpaid claims, a manual entry, a reversal) is held until a '
            'different user confirms it (city finance or a second reviewer for a city role''s entry), whatever '
            'command or statement writes it')
$function$;
