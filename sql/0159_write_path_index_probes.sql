-- 0159 (issue 24): less server work per entry written, with the same rules, refusals and proof
-- (bench/history/2026-12-07-write-path-probes.md measures each part with bench.entry_cost).
--
-- 1. The small tables of an entry's path are read by their indexes. On a ledger with few
--    accounts (bench 2a's: 23) the generic plans of the write path read fl.account, fl.setting,
--    fl.account_day, fl.voucher_counter, fl.chain_head and fl.record_head by sequential scans, each
--    row's filter evaluated: ~590 rows per posted-at-once entry, 7 % of its instructions, for
--    statements written (LATERAL … OFFSET 0, by key) to be index probes "whatever a cached generic
--    plan thinks of table sizes". fl.post_entries(jsonb) and fl.confirm_entry(bigint) — the calls
--    an entry is posted and confirmed by, whose triggers run inside them — and fl.seal_transaction
--    (the commit's seal, and fl._seal under it) plan with enable_seqscan off: a table with an index
--    for the condition is probed by it, one without is still scanned (the setting makes a scan the
--    last choice, never an impossible one). A larger ledger's plans were these already.
-- 2. fl.posting_inserted and fl.seal_transaction take 0044's busy mark written out, as
--    fl.contended_written has since 0076 (the same advisory key: the statement's start in the
--    transaction), instead of `PERFORM fl._contended_mark()`: one statement, not a statement, a
--    SECURITY DEFINER call and its statement — two statements and two PL/pgSQL calls per entry.
--    The mark is still taken before the locks it marks; test_attack7_duties' sweep knows the
--    written-out form (fl._contended_mark() stays for every other caller).
-- 3. The caller's fl.app_user row by its key (fl.caller(), fl.entry_inserted, fl.posting_inserted:
--    four lookups per entry). session_user is of type name, whose collation is C: `name =
--    session_user` compared in C, which the primary key (the column's default collation) cannot
--    serve, so each lookup scanned every user. `session_user::text COLLATE "default"` is the same
--    equality (both collations are deterministic: byte equality) in the index's collation.
--
-- The three trigger functions and fl.caller() below are their definitions as migrated
-- (pg_get_functiondef of a database at 0156), changed only where "(0159)" says; their SET clauses,
-- owners and grants are kept.

ALTER FUNCTION fl.post_entries(jsonb) SET enable_seqscan = off;
ALTER FUNCTION fl.confirm_entry(bigint) SET enable_seqscan = off;

CREATE OR REPLACE FUNCTION fl.seal_transaction()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
 SET "DateStyle" TO 'ISO, YMD'
 SET enable_seqscan TO 'off'
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
  queued  boolean;
  us       bigint;     -- (0159) the busy mark's key: the statement's start, in µs after the transaction's
BEGIN
  -- (0132) An entry the first event of its transaction sealed or queued (every entry of a batch
  -- after the first: 2,554 of an import's 2,555 events) returns here, on two index probes, before
  -- the gather query below is started at all — its executor start-up (~0.4 M instructions: the
  -- plan's every LATERAL node) was most of what each of those events cost. The same test as that
  -- query's one-time filter, which keeps it for the first event.
  IF EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = NEW.id)
     OR EXISTS (SELECT 1 FROM fl.seal_queue q WHERE q.entry_id = NEW.id) THEN
    RETURN NULL;
  END IF;
  -- 0. (0065) The commit hook is each entry's own deferred row event (there is no gate row
  --    any more). The first event of a transaction to fire seals (or queues) every entry the
  --    transaction wrote that is neither sealed nor queued — found by its created_xid, which
  --    fl.entry_stamp sets from the transaction itself, and NEW.id whatever it says. Every
  --    later event finds its own entry sealed or queued: the two probes on NEW.id are the
  --    query's one-time filter, so it reads nothing else and returns before any lock. NEW is
  --    the row as inserted (an entry is never updated or deleted: fl.refuse_change).
  -- 1. Before taking any shared lock, one pass over those entries and their postings: at
  --    least two postings, debits = credits per unit and component, and the content digest
  --    (the canonical text of fl.entry_canonical, computed set-based). LATERAL … OFFSET 0: each entry
  --    and its postings by index, whatever a cached generic plan thinks of table sizes.
  FOR r IN
    SELECT e.id, e.book, extract(year FROM e.entry_date)::int AS y, e.reverses, pc.n,
           ub.unit, ub.component, ub.dr, ub.cr,
           sha256(convert_to(
             concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''),
                       e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))
             || '#' || pc.lines, 'UTF8')) AS digest
      FROM (SELECT x.id
              FROM (SELECT e0.id FROM fl.entry e0 WHERE e0.created_xid = pg_current_xact_id()
                    UNION
                    SELECT NEW.id) x
             WHERE NOT EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = NEW.id)
               AND NOT EXISTS (SELECT 1 FROM fl.seal_queue q WHERE q.entry_id = NEW.id)
               AND NOT EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = x.id)
               AND NOT EXISTS (SELECT 1 FROM fl.seal_queue q WHERE q.entry_id = x.id)) mi
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

  IF cardinality(ids) = 0 THEN
    RETURN NULL;   -- (0065) sealed or queued by an earlier event of this transaction
  END IF;

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
  -- (0058) the lock below is marked for the busy-holder guard. (0159) 0044's mark written out, as
  -- fl.contended_written takes it since 0076 (the same key: the statement's start in the transaction):
  -- one statement, not a statement, a SECURITY DEFINER call and its statement.
  us := (EXTRACT(epoch FROM pg_catalog.statement_timestamp() - pg_catalog.transaction_timestamp()) * 1000000)::bigint;
  PERFORM pg_catalog.pg_advisory_xact_lock_shared((1179404375 + us / 2147483648)::int, (us % 2147483648)::int);
  -- (0065) With it, whether anything is queued: a queue row committed after this statement
  -- began is sealed by the next holder or fl.seal_pending(), as one committed just after
  -- fl._seal's own read of the queue always was.
  SELECT ch.seq, ch.hash, EXISTS (SELECT 1 FROM fl.seal_queue) INTO n, h, queued
    FROM fl.chain_head ch WHERE ch.id FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    INSERT INTO fl.seal_queue (entry_id, book, fiscal_year, content_digest)
    SELECT * FROM unnest(ids, books, years, digests);
    RETURN NULL;
  END IF;
  IF queued OR cardinality(ids) > 1 THEN
    PERFORM fl._seal(NULL, n, h, ids, books, years, digests);
    RETURN NULL;
  END IF;
  -- (0065) One entry and an empty queue (a single entry's commit): what fl._seal does, in one
  -- statement — its voucher number (gapless per book and fiscal year), its seal linked to the
  -- head, sha256(prev_hash || content digest || voucher number text), and the head moved.
  -- (0096) The counter by a plain UPDATE: INSERT … ON CONFLICT DO UPDATE locked the existing row
  -- before updating it, one more WAL record per commit. A book and year with no counter yet (its
  -- first voucher) seals nothing here and goes through fl._seal, which inserts it. Only the holder
  -- of the chain head writes the counters, so nothing races.
  WITH v AS (UPDATE fl.voucher_counter vc SET last_no = vc.last_no + 1
              WHERE vc.book = books[1] AND vc.fiscal_year = years[1]
             RETURNING vc.last_no),
  s AS (INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
        SELECT ids[1], n + 1, books[1], years[1], v.last_no, digests[1], h,
               sha256(h || digests[1] || convert_to(v.last_no::text, 'UTF8'))
          FROM v
        RETURNING hash)
  UPDATE fl.chain_head SET seq = n + 1, hash = s.hash FROM s WHERE id;
  IF NOT FOUND THEN
    PERFORM fl._seal(NULL, n, h, ids, books, years, digests);
  END IF;
  RETURN NULL;
END $function$;

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
  us       bigint;     -- (0159) the busy mark's key: the statement's start, in µs after the transaction's
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
  -- (0132) The statement's constants (the region's cash-date limit, whether the caller is an officer
  -- and its unit) in a materialized CTE: as a plain subquery in FROM the planner pulled it up and
  -- evaluated fl._cash_date_limit() — a SQL function with a SET clause, never inlined — once per
  -- group of the statement (12,125 calls in a 100,000-line import); now once, when a group needs it.
  WITH s AS MATERIALIZED (
         SELECT fl._cash_date_limit() AS lim,
                -- (0058) the city's figures are an officer's to hold, not to post
                -- (0159) the caller's row by its key (fl.caller() says why the COLLATE)
                EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user::text COLLATE "default" AND u.role = 'officer') AS officer,
                (SELECT u.unit FROM fl.app_user u WHERE u.name = session_user::text COLLATE "default" AND u.role = 'officer') AS ounit)
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
    FROM s
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

  -- (0058) the lock below is marked for the busy-holder guard. (0159) 0044's mark written out, as
  -- fl.contended_written takes it since 0076 (the same key: the statement's start in the transaction):
  -- one statement, not a statement, a SECURITY DEFINER call and its statement.
  us := (EXTRACT(epoch FROM pg_catalog.statement_timestamp() - pg_catalog.transaction_timestamp()) * 1000000)::bigint;
  PERFORM pg_catalog.pg_advisory_xact_lock_shared((1179404375 + us / 2147483648)::int, (us % 2147483648)::int);
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

CREATE OR REPLACE FUNCTION fl.entry_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  first     int;
  last      int;
  bad_id    bigint;
  bad_date  date;
  bad_month date;
  yc_id     bigint;
  yc_date   date;
  yc_book   text;
  yc_y      int;
  bad_kind  text;
  bad_book  text;   -- (0105) a book that does not exist (entry_book_fkey's check)
  closed_max date;  -- (0139) the latest closed month
  near      boolean; -- (0139) an entry of the statement dated outside the ledger's years or on or before the
                    -- last day of the latest closed month: only then can the closed-month query find one
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  -- (0096) The three checks below read in one statement, not five (the first year's setting,
  -- the region's today, the closed month or date range, the closed year, the officer's kinds):
  -- each is the query it was, refused in the same order with the same words.
  -- (0139) The closed-month query (0128's b1) is its own statement, run only when an entry of this
  -- statement is dated outside the ledger's years or on or before the last day of the latest closed
  -- month (lim.near): every closed month is at most the latest, so an entry dated after that day is
  -- in no closed month and under none, and the query would find nothing. The executor initialises
  -- every node of a cached plan at each execution, taken or not: 0128's lateral rows made the one
  -- statement +0.13 M instructions per entry (bench/history/2026-12-07-write-path-conditions.md).
  SELECT l.first, l.last, l.closed_max, l.near, b2.id, b2.entry_date, b2.book, b2.y, b3.kind, l.bad_book
    INTO first, last, closed_max, near, yc_id, yc_date, yc_book, yc_y, bad_kind, bad_book
    FROM (SELECT lim.first, lim.last, lim.closed_max, lim.bad_book,
                 EXISTS (SELECT 1 FROM new_entries n
                          WHERE n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31)
                             OR n.entry_date < (lim.closed_max + interval '1 month')::date) AS near
            FROM (SELECT coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000) AS first,
                 extract(year FROM fl._region_today())::int + 1 AS last,
                 -- (0128, ATTACK16b D1) the latest closed month: nothing is dated before it either
                 (SELECT max(cp.month) FROM fl.closed_period cp) AS closed_max,
                 -- (0105) entry_book_fkey, checked here: the foreign key's FOR KEY SHARE lock on the
                 -- book's row was a WAL record per entry, and a MultiXact once two writers held it.
                 -- Books are never deleted and their codes never change (fl.reference_guard), so
                 -- "the book exists when the entry is inserted" is all the key guaranteed.
                 (SELECT d.book FROM (SELECT DISTINCT n.book FROM new_entries n) d
                   WHERE NOT EXISTS (SELECT 1 FROM fl.book bk WHERE bk.code = d.book)
                   ORDER BY d.book LIMIT 1) AS bad_book
           OFFSET 0) lim OFFSET 0) l   -- (once, not per entry: a pulled-up subquery is evaluated where it is used)
    -- (0039, ATTACK5 S4) Nothing is dated in a year before the last year its book closed:
    -- that year can never be closed again, and one fen there stopped every later year's close.
    -- A reversal dated in the same year as the entry it reverses is how such an entry is undone.
    LEFT JOIN LATERAL (
      SELECT n.id, n.entry_date, n.book, c.y
        FROM new_entries n
        JOIN (SELECT yc0.book, max(yc0.year) AS y FROM fl.year_close yc0 GROUP BY yc0.book) c ON c.book = n.book
       WHERE n.entry_date < make_date(c.y, 1, 1)
         AND NOT (n.kind = 'reversal' AND EXISTS (SELECT 1 FROM fl.entry r WHERE r.id = n.reverses
                                                    AND date_trunc('year', r.entry_date) = date_trunc('year', n.entry_date)))
       LIMIT 1) b2 ON true
    -- (0039, ATTACK5 S1) An officer posts by hand (manual entries, held when they move money or
    -- touch revenue, expenditure or the fund balance) and imports its unit's payments.
    -- Every other kind — collections and subsidies into the special account, openings,
    -- pre-allocations, disbursements, settlements, interest, closes — is a city role's record,
    -- whichever function or path wrote it.
    LEFT JOIN LATERAL (
      SELECT n.kind
        FROM new_entries n
       WHERE n.kind NOT IN ('manual', 'payments')
         -- (0159) the caller's row by its key (fl.caller() says why the COLLATE)
         AND EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user::text COLLATE "default" AND u.role = 'officer')
       LIMIT 1) b3 ON true;
  IF near THEN   -- (0139) 0128's closed-month query, as it was
      SELECT n.id, n.entry_date,
             -- a date outside the ledger's years is told as such (entry_date_range), as before
             CASE WHEN n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31) THEN NULL
                  ELSE coalesce(c.month, CASE WHEN n.entry_date < lim.closed_max AND NOT yc.own AND NOT yc.undo
                                              THEN lim.closed_max END) END AS month
        INTO bad_id, bad_date, bad_month
        FROM (SELECT first AS first, last AS last, closed_max AS closed_max) lim
       CROSS JOIN new_entries n
         -- (0128, ATTACK16b D3) a year close's own closing entries, dated 31 December of the year it
         -- closes, go into that December whoever closed it (before 0123 the monthly routine could)
         -- ... and (0128) under a closed month, as under a closed year (0039), the one way out of an
         -- entry left there by a ledger written before: its reversal dated in the same year
         CROSS JOIN LATERAL (SELECT (n.kind = 'year_close' AND extract(month FROM n.entry_date) = 12
                                     AND extract(day FROM n.entry_date) = 31) AS own,
                                    (n.kind = 'reversal' AND EXISTS (SELECT 1 FROM fl.entry r WHERE r.id = n.reverses
                                       AND date_trunc('year', r.entry_date) = date_trunc('year', n.entry_date))) AS undo) yc
         LEFT JOIN fl.closed_period c ON c.month = date_trunc('month', n.entry_date)::date AND NOT yc.own
       WHERE c.month IS NOT NULL OR (n.entry_date < lim.closed_max AND NOT yc.own AND NOT yc.undo)
          OR n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31)
       LIMIT 1;
  END IF;
  -- (0105) First, as the foreign key's check (an AFTER ROW event) came before this trigger.
  IF bad_book IS NOT NULL THEN
    PERFORM fl.refuse('entry_book_fkey', format('an entry refers to book %s, which does not exist', bad_book),
                      'foreign_key_violation');
  END IF;
  -- (0128) an entry under a closed month in a year before a closed year is told by the year's
  -- refusal below (the more telling one, as before 0128)
  IF bad_id IS NOT NULL AND NOT coalesce(bad_month > bad_date AND yc_id IS NOT NULL, false) THEN
    IF bad_month IS NULL THEN
      PERFORM fl.refuse('entry_date_range', format(
        'entry dated %s refused: this ledger takes dates from %s (the region''s first handover year) to %s',
        bad_date, first, last));
    END IF;
    IF bad_month > bad_date THEN    -- (0128, ATTACK16b D1) an open month under a closed one
      PERFORM fl.refuse('period_closed', format(
        'entry dated %s refused: %s is closed, and nothing is dated on or before the last day of a closed month; '
        'date it in an open period after %s (a correction is a reversal dated there)',
        bad_date, to_char(bad_month, 'YYYY-MM'), to_char(bad_month, 'YYYY-MM')));
    END IF;
    PERFORM fl.refuse('period_closed',
      format('entry dated %s refused: the period %s is closed', bad_date, to_char(bad_date, 'YYYY-MM')));
  END IF;
  IF yc_id IS NOT NULL THEN
    PERFORM fl.refuse('entry_date_range', format(
      'entry dated %s refused: book %s closed year %s, and nothing may be dated in a year before it (such a year '
      'can no longer be closed); date it in an open period',
      yc_date, yc_book, yc_y));
  END IF;
  IF bad_kind IS NOT NULL THEN
    PERFORM fl.refuse('permission_denied', format(
      '%s is an officer and may not post %s entries: collections and subsidies, openings and the workflow''s '
      'money are recorded by finance or the bureau (an officer posts manual entries and its unit''s payments)',
      session_user, bad_kind), 'insufficient_privilege');
  END IF;
  -- (0065) No gate row: each entry's own deferred event (fl.seal_transaction) is the commit hook.
  RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION fl.caller()
 RETURNS fl.app_user
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl'
AS $function$
DECLARE
  u     fl.app_user;
  login text;
BEGIN
  IF pg_catalog.current_setting('session_replication_role') <> 'origin' THEN
    PERFORM fl.refuse('session_replica', format(
      'this session runs with session_replication_role = %s, which switches the ledger''s triggers off; fundledger '
      'refuses every call until it is origin (RESET session_replication_role; the administrator removes any ALTER '
      'ROLE or ALTER DATABASE … SET session_replication_role)', pg_catalog.current_setting('session_replication_role')),
      'insufficient_privilege');
  END IF;
  SELECT pg_catalog.pg_get_userbyid(pg_catalog.pg_stat_get_backend_userid(b))::text INTO login
    FROM pg_catalog.pg_stat_get_backend_idset() b
   WHERE pg_catalog.pg_stat_get_backend_pid(b) = pg_catalog.pg_backend_pid();
  PERFORM pg_catalog.pg_stat_clear_snapshot();
  IF login IS DISTINCT FROM session_user::text THEN
    PERFORM fl.refuse('session_impersonated', format(
      'this connection was authenticated as %s but acts as %s (SET SESSION AUTHORIZATION): fundledger records who '
      'did what by the login, so it refuses; connect as %s with that user''s own credentials',
      coalesce(login, '?'), session_user, session_user), 'insufficient_privilege');
  END IF;
  -- (0159) by its key: session_user is a name (collation C), so `name = session_user` compared in C and
  -- no index of the column's collation served it (a scan of every user); equality is the same in both.
  SELECT * INTO u FROM fl.app_user WHERE name = session_user::text COLLATE "default";
  IF NOT FOUND THEN
    PERFORM fl.refuse('permission_denied',
      format('%s is not a fundledger user; an admin adds users with `fundledger user add`', session_user),
      'insufficient_privilege');
  END IF;
  RETURN u;
END $function$;

REVOKE ALL ON FUNCTION fl.seal_transaction() FROM PUBLIC;
REVOKE ALL ON FUNCTION fl.posting_inserted() FROM PUBLIC;
REVOKE ALL ON FUNCTION fl.entry_inserted() FROM PUBLIC;
REVOKE ALL ON FUNCTION fl.caller() FROM PUBLIC;
