-- 0030: issue 14 after the fourth attack (ATTACK4): the money-movement holes that were left.
-- Each part says what it closes; docs/security.md says what is left.

-- ---------------------------------------------------------------------------
-- ATTACK4 Q1: the pooled accounts' per-unit shares. The city fund expenditure account (1004
-- city_exp) is one bank account that holds every unit's money in transit: what city finance
-- disbursed for a county's approved request and the bureau has not yet settled onward. The
-- city proper's officer imported benefit payments for its own unit paid from the city account
-- (0028 left that path to it, rightly) beyond what its share held: the bank account's total
-- stayed positive — it was the counties' money — so no_overdraft said nothing, the officer's
-- share went negative, and the counties' settlements then failed for want of money. The bureau
-- paying a county's claims from the city account beyond that county's share did the same.
--
-- Rule (BRIEF §3, §4): a unit's share of the city expenditure account (1004 city_exp) and of the
-- treasury account (1005) is its own money; a posting never takes it below zero, whoever posts it
-- and by whatever path (imports, settlements, confirmed held entries, reversals, raw SQL through
-- any definer function): a constraint trigger on fl.account, checked at commit (a later statement
-- of the transaction may bring the share back), like components_separate. No flow of the BRIEF
-- draws on another unit's money there, so there is no exception.
-- The special account (1003) is the one pooled account where the BRIEF lets a unit's share go
-- negative during a year ("the unit drawing on the pool", settled by the year-end rule): it is
-- credited only by the workflow steps that draw on the pool, each with its own approval
-- (pre-allocation within its cap, an approved request's disbursement, a remittance to the
-- province held for a second person), by a city user's manual entry or reversal held for a
-- second person, never by an officer (0017's manual policy) or an import; docs/security.md.
-- ---------------------------------------------------------------------------
-- A definer function: a deferred trigger runs at commit as the committing user, outside the
-- definer function that posted (on a server, an application role may not call fl.refuse, and
-- row security would hide other units' rows from it). It reads only fl's own tables.
CREATE FUNCTION fl.pooled_share_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  a   record;
  bad record;
BEGIN
  SELECT x.id, x.book, x.unit, x.holder, x.component, x.balance, h.name_en AS holder_name
    INTO a
    FROM fl.account x JOIN fl.holder h ON h.code = x.holder
   WHERE x.id = NEW.id;
  IF a.balance >= 0 THEN
    RETURN NULL;   -- a later statement of the transaction brought it back
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

-- Queued only when a pooled share falls below zero (the WHEN clause runs in the executor:
-- nothing is queued on the write path otherwise); checked at commit, when the posting trigger
-- holds the physical account's row lock, so a concurrent writer on the same account has either
-- committed (and is seen) or waits for us.
CREATE CONSTRAINT TRIGGER account_pooled_share AFTER UPDATE OF balance ON fl.account
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.holder IN ('city_exp', 'treasury') AND NEW.balance < 0 AND NEW.balance < OLD.balance)
  EXECUTE FUNCTION fl.pooled_share_guard();

-- ---------------------------------------------------------------------------
-- The payment import (0035's, unchanged but for the check marked 0030): rows paid from the
-- city expenditure account are refused before anything is written or locked when they total
-- more than the unit's share holds.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fl.import_payments(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '64MB'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'import benefit payments');
  probs jsonb;
  bid   bigint;
  n_new int;
  bad   boolean;
  con   text;
  pool  record;
BEGIN
  PERFORM fl._imp_open('payments');
  -- 1. The groups: each distinct (date, unit, book, component, paid_from) text of the
  --    file, resolved once — a year's file has a few thousand; resolving each of a
  --    million rows cost seconds (parsing its date alone 1.2 s). gk numbers the raw
  --    texts; eg numbers the entry groups (the resolved values: 'res' and 'RES' are one).
  --    A NULL cell (only a hand-made stage has one) reads as empty, like an absent column.
  CREATE TEMP TABLE fl_imp_grp ON COMMIT DROP AS
  SELECT x.*, dense_rank() OVER (ORDER BY x.d, x.unit COLLATE "C", x.book COLLATE "C", x.comp COLLATE "C",
                                          x.paid_from COLLATE "C")::int AS eg
    FROM (SELECT r.*, CASE r.paid_from WHEN 'county' THEN 'county_exp' WHEN 'city' THEN 'city_exp' END AS holder,
                 coalesce(r.d IS NOT NULL AND NOT r.closed AND r.ukind IS NOT NULL
                  AND (u.role <> 'officer' OR r.unit = u.unit) AND r.bcomps IS NOT NULL
                  AND fl.imp_component_ok(r.bcomps, r.comp)
                  AND r.paid_from IS NOT NULL AND NOT (r.paid_from = 'county' AND r.ukind <> 'county')
                  AND NOT (u.role = 'officer' AND r.paid_from = 'city' AND r.ukind = 'county'), false) AS ok
            FROM (SELECT row_number() OVER ()::int AS gk, t.t_date, t.unit, t.t_book, t.t_comp, t.t_paid, q.d,
                         EXISTS (SELECT 1 FROM fl.closed_period cp WHERE cp.month = date_trunc('month', q.d)::date) AS closed,
                         un.kind AS ukind, upper(t.t_book) AS book, bk.components AS bcomps, lower(t.t_comp) AS comp,
                         CASE lower(t.t_paid) WHEN 'county' THEN 'county' WHEN 'city' THEN 'city'
                              WHEN '' THEN CASE WHEN un.kind = 'county' THEN 'county' ELSE 'city' END END AS paid_from
                    FROM (SELECT DISTINCT coalesce(s.date, '') AS t_date, coalesce(s.unit, '') AS unit,
                                 coalesce(s.book, '') AS t_book, coalesce(s.component, '') AS t_comp,
                                 coalesce(s.paid_from, '') AS t_paid
                            FROM pg_temp.fl_imp_src s) t
                    CROSS JOIN LATERAL (SELECT fl.imp_date(t.t_date) AS d) q
                    LEFT JOIN fl.unit un ON un.code = t.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(t.t_book)) r) x;
  ANALYZE pg_temp.fl_imp_grp;

  -- 2. Every row, in one pass over the stage: its group, category (a small integer),
  --    amount, whether it is valid, its content hash, and the hash the register holds
  --    for its reference (NULL: a new row). The raw texts that only error messages need
  --    are kept for invalid rows alone (a NULL costs no space).
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT y.row_no, y.reference, y.unit, y.gk, y.eg, y.cat, y.provider, y.fen, y.valid,
         CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.provider, y.chart, y.fen,
                                                     y.comp, y.paid_from)), 'hex') END AS h,
         l.content_hash AS reg_h, 0 AS chunk,
         CASE WHEN NOT y.valid THEN y.category END AS category, CASE WHEN NOT y.valid THEN y.t_amount END AS t_amount
    FROM (SELECT x.*, coalesce(x.ok AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.provider <> ''
                               AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, coalesce(s.reference, '') AS reference, g.gk, g.eg, g.ok, g.t_date, g.unit, g.book, g.comp,
                         g.paid_from, coalesce(s.provider, '') AS provider, lower(s.category) AS category, cat.no AS cat,
                         cat.chart, coalesce(s.amount, '') AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    JOIN pg_temp.fl_imp_grp g ON g.t_date = coalesce(s.date, '') AND g.unit = coalesce(s.unit, '')
                                             AND g.t_book = coalesce(s.book, '') AND g.t_comp = coalesce(s.component, '')
                                             AND g.t_paid = coalesce(s.paid_from, '')
                    LEFT JOIN (VALUES (1, 'inpatient', '5001.inpatient'), (2, 'outpatient', '5001.outpatient'),
                                      (3, 'chronic', '5001.chronic'), (4, 'outpatient_pooled', '5001.outpatient_pooled'),
                                      (5, 'maternity_medical', '5001.maternity_medical'),
                                      (6, 'maternity_allowance', '5001.maternity_allowance'),
                                      (7, 'pharmacy', '5001.pharmacy'), (8, 'other', '5001.other'),
                                      (9, 'critical_illness', '5101')) cat(no, name, chart) ON cat.name = lower(s.category)
                  OFFSET 0) x
          OFFSET 0) y
    LEFT JOIN fl.import_line l ON l.namespace = 'payments:' || y.unit AND l.reference = y.reference;

  bad := EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE NOT w.valid);
  IF bad THEN
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, x.col, x.why, x.kind
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
      CROSS JOIN LATERAL (
        SELECT * FROM fl._imp_row_problems(g.t_date, g.d, g.closed, g.unit, g.ukind, g.book, g.bcomps, w.t_amount,
                                           w.reference, u)
        UNION ALL VALUES
        ('component', fl.imp_component_problem(g.book, g.bcomps, g.comp), 'bad'),
        ('category', CASE WHEN w.cat IS NULL THEN format('unknown category ''%s'' (inpatient, outpatient, chronic, '
                      'outpatient_pooled, maternity_medical, maternity_allowance, pharmacy, other, critical_illness)', w.category) END, 'bad'),
        ('paid_from', CASE WHEN g.paid_from IS NULL THEN format('unknown paid_from ''%s'' (county or city)', g.t_paid)
                           WHEN g.paid_from = 'county' AND g.ukind IS NOT NULL AND g.ukind <> 'county'
                           THEN format('unit %s is not a county and has no county expenditure account; use paid_from city', g.unit)
                           END, 'bad'),
        ('paid_from', CASE WHEN u.role = 'officer' AND g.paid_from = 'city' AND g.ukind = 'county'
                           THEN format('a county officer pays from its own county expenditure account (paid_from county); '
                                       'claims the city pays for %s are imported by the city bureau', g.unit) END,
         'permission'),
        ('provider', CASE WHEN w.provider = '' THEN 'the provider is empty' END, 'bad')) x(col, why, kind)
     WHERE NOT w.valid AND x.why IS NOT NULL;
  END IF;
  -- References used twice in the file. Among new rows the register's primary key finds
  -- them when the register is written (below: a full GROUP BY here cost 0.55 s of every
  -- 1M-line import); checked here only among rows already registered, or in every row
  -- when the file has other problems, so that all are reported together.
  PERFORM fl._imp_repeats(NOT bad);
  -- References already imported with other content (the row table carries the
  -- register's hash, so the join runs only when there is one).
  IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE w.valid AND w.reg_h <> w.h) THEN
    PERFORM fl._imp_conflicts('payments');
  END IF;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  -- 3. The new rows per (entry group, chunk, category): count, total and the hash of
  --    their hashes in file order — one sort on integers. An entry is one entry group
  --    and chunk: past 50,000 rows a group is cut every 50,000 rows in file order, so an
  --    entry stays a bounded size (rare: re-aggregated only then).
  CREATE TEMP TABLE fl_imp_gc ON COMMIT DROP AS
  SELECT w.eg, w.chunk, w.cat, count(*)::int AS n_rows, sum(w.fen)::bigint AS total,
         sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)) AS chash,
         sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8')) AS refs
    FROM pg_temp.fl_imp_work w
   WHERE w.reg_h IS NULL
   GROUP BY w.eg, w.chunk, w.cat;
  IF (SELECT max(n) > 50000 FROM (SELECT sum(c.n_rows) AS n FROM pg_temp.fl_imp_gc c GROUP BY c.eg) m) THEN
    UPDATE pg_temp.fl_imp_work w SET chunk = r.chunk
      FROM (SELECT w0.row_no, ((row_number() OVER (PARTITION BY w0.eg ORDER BY w0.row_no) - 1) / 50000)::int AS chunk
              FROM pg_temp.fl_imp_work w0 WHERE w0.reg_h IS NULL) r
     WHERE r.row_no = w.row_no AND r.chunk > 0;
    TRUNCATE pg_temp.fl_imp_gc;
    INSERT INTO pg_temp.fl_imp_gc
    SELECT w.eg, w.chunk, w.cat, count(*)::int, sum(w.fen)::bigint, sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)),
           sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8'))
      FROM pg_temp.fl_imp_work w
     WHERE w.reg_h IS NULL
     GROUP BY w.eg, w.chunk, w.cat;
  END IF;
  ANALYZE pg_temp.fl_imp_gc;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY c.eg, c.chunk)::int AS ord, c.eg, c.chunk, g.d, g.unit, g.book, g.comp,
         g.paid_from, g.holder, c.n_rows, c.total, c.chash,
         format('payments:%s:%s:%s:%s:%s:%s', g.d, g.unit, g.book, coalesce(nullif(g.comp, ''), '-'), g.paid_from,
                left(encode(c.refs, 'hex'), 32)) AS key
    FROM (SELECT c.eg, c.chunk, sum(c.n_rows)::int AS n_rows, sum(c.total)::bigint AS total,
                 sha256(string_agg(c.chash, ''::bytea ORDER BY c.cat)) AS chash,
                 sha256(string_agg(c.refs, ''::bytea ORDER BY c.cat)) AS refs
            FROM pg_temp.fl_imp_gc c GROUP BY c.eg, c.chunk) c
    JOIN (SELECT DISTINCT ON (g0.eg) g0.* FROM pg_temp.fl_imp_grp g0 WHERE g0.ok ORDER BY g0.eg) g ON g.eg = c.eg;
  ANALYZE pg_temp.fl_imp_ent;

  -- (0030, ATTACK4 Q1, Q5) Rows paid from the pooled city expenditure account pay out of the
  -- unit's own share of it: checked here, before the batch, any posting or any lock (a caller
  -- that stays in its refused transaction holds nothing another office needs). Read without a
  -- lock: the constraint trigger account_pooled_share checks it again at commit.
  SELECT e.book, e.unit, e.comp, sum(e.total)::bigint AS total, coalesce(max(a.balance), 0)::bigint AS held INTO pool
    FROM pg_temp.fl_imp_ent e
    LEFT JOIN fl.account a ON a.book = e.book AND a.chart_code = '1004' AND a.unit = e.unit AND a.holder = 'city_exp'
                          AND a.component = e.comp
   WHERE e.holder = 'city_exp'
   GROUP BY e.book, e.unit, e.comp
  HAVING sum(e.total) > coalesce(max(a.balance), 0)
   ORDER BY 1, 2, 3 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('pooled_share', format(
      'unit %s''s share of the City fund expenditure account (%s%s) holds %s; the rows paid from it for that unit '
      'total %s: a unit pays out of a pooled account only the money it holds there, the rest is other units'' money '
      '(for a county: what city finance disbursed for it and the bureau has not settled yet); nothing was imported',
      pool.unit, pool.book, CASE WHEN pool.comp <> '' THEN ', ' || pool.comp ELSE '' END, fl.fmt_fen(pool.held),
      fl.fmt_fen(pool.total)), 'check_violation');
  END IF;

  -- 4. Batch, accounts, entries and the register, in a block that a reference used twice
  --    in the file undoes: then nothing is written and the duplicates are the answer.
  BEGIN
    bid := fl._imp_batch('payments', p_file, p_sha256);
    -- The accounts: each entry's debit accounts (one per category) and its credit account.
    CREATE TEMP TABLE fl_imp_map ON COMMIT DROP AS
    SELECT c.eg, c.chunk, c.cat, e.ord, e.d, e.book, cat.chart, e.unit, e.comp, NULL::bigint AS entry_id,
           NULL::int AS account_id, NULL::boolean AS posted
      FROM pg_temp.fl_imp_gc c
      JOIN pg_temp.fl_imp_ent e ON e.eg = c.eg AND e.chunk = c.chunk
      JOIN (VALUES (1, '5001.inpatient'), (2, '5001.outpatient'), (3, '5001.chronic'), (4, '5001.outpatient_pooled'),
                   (5, '5001.maternity_medical'), (6, '5001.maternity_allowance'), (7, '5001.pharmacy'),
                   (8, '5001.other'), (9, '5101')) cat(no, chart) ON cat.no = c.cat;
    INSERT INTO pg_temp.fl_imp_acc (book, chart, unit, holder, comp)
    SELECT DISTINCT m.book, m.chart, m.unit, '', m.comp FROM pg_temp.fl_imp_map m
    UNION
    SELECT DISTINCT e.book, '1004', e.unit, e.holder, e.comp FROM pg_temp.fl_imp_ent e;
    PERFORM fl._imp_accounts();
    PERFORM fl._imp_entries('payments', format(
      $q$SELECT e.ord, e.book, e.d,
                format('待遇支出 benefit payments %%s unit %%s from %%s: %%s rows (%%s)', e.d, e.unit, e.holder, e.n_rows, %L) AS memo,
                e.key, jsonb_build_object('import_batch', %s, 'file', %L, 'rows', e.n_rows) AS source, e.chash
           FROM pg_temp.fl_imp_ent e$q$, p_file, bid, p_file));
    -- The map the million rows join to, on integers: (entry group, chunk, category) ->
    -- (entry, debit account).
    UPDATE pg_temp.fl_imp_map m SET entry_id = r.entry_id, posted = (r.status = 'posted'), account_id = a.id
      FROM pg_temp.fl_imp_res r, pg_temp.fl_imp_acc a
     WHERE r.ord = m.ord AND a.book = m.book AND a.chart = m.chart AND a.unit = m.unit AND a.holder = ''
       AND a.comp = m.comp;
    ANALYZE pg_temp.fl_imp_map;

    -- The register, in key order (the primary key's B-tree is filled left to right),
    -- sorted byte-wise: COLLATE "C" compares with memcmp, the database's collation with
    -- strcoll — 1M references sorted and inserted in 2.9 s instead of 3.7-4.6 s (in a
    -- C or C.UTF-8 database, the default, it is the index's own order).
    INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
    SELECT 'payments:' || m.unit, w.reference, w.h, m.entry_id, bid, w.row_no
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
     WHERE w.reg_h IS NULL
     ORDER BY m.unit COLLATE "C", w.reference COLLATE "C";
    GET DIAGNOSTICS n_new = ROW_COUNT;
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS con = CONSTRAINT_NAME;
    IF con IS DISTINCT FROM 'import_line_pkey' THEN RAISE; END IF;
    PERFORM fl._imp_repeats(false);
    probs := fl._imp_problems();
    IF probs IS NULL THEN RAISE; END IF;  -- another import wrote the reference meanwhile
    RETURN probs;
  END;

  -- The postings: per entry its credit on 1004, then a debit per row (line_ref = the
  -- row's reference, memo = provider).
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT r.entry_id, a.id, 'C', e.total, e.d, e.unit, NULL, NULL
    FROM pg_temp.fl_imp_ent e
    JOIN pg_temp.fl_imp_res r ON r.ord = e.ord AND r.status = 'posted'
    JOIN pg_temp.fl_imp_acc a ON a.book = e.book AND a.chart = '1004' AND a.unit = e.unit AND a.holder = e.holder
                             AND a.comp = e.comp
   ORDER BY e.ord;
  -- The debits, one statement: the posting trigger checks them per distinct (entry,
  -- account), so the statement's size costs a hash aggregate, not a join per row.
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT m.entry_id, m.account_id, 'D', w.fen, m.d, m.unit, w.reference, w.provider
    FROM pg_temp.fl_imp_work w
    JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
   WHERE w.reg_h IS NULL AND m.posted;

  -- A large batch changes the journal's statistics more than autovacuum will notice for
  -- a while; plans made meanwhile (verify's, reports') assumed a small table and were
  -- slow enough not to finish. ANALYZE counts this transaction's own rows.
  IF n_new >= 100000 THEN
    ANALYZE fl.posting, fl.entry, fl.account_day, fl.import_line;
  END IF;
  RETURN fl._imp_finish(bid, n_new);
END $function$;

-- Waiters never hang (0027): every API function that writes runs with its own lock_timeout —
-- again after this migration's definitions (a CREATE OR REPLACE sets only the clauses it names;
-- 0028's import_payments had lost it).
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef AND p.provolatile = 'v'
              AND NOT coalesce(pg_catalog.array_to_string(p.proconfig, ',') LIKE '%lock_timeout=%', false)
              AND EXISTS (SELECT 1 FROM pg_catalog.unnest(ARRAY['fl_officer', 'fl_reviewer', 'fl_finance', 'fl_admin']) g
                           WHERE pg_catalog.has_function_privilege(g, p.oid, 'EXECUTE'))
            ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('ALTER FUNCTION %s SET lock_timeout = %L', f, '5s');
  END LOOP;
END $$;

