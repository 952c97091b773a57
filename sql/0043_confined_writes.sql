-- 0043: issue 14, the write-side findings of the fifth attack (ATTACK5) left by 0039-0041:
-- S7's payment variant, S11, and S9's acknowledgement start. docs/security.md says what each
-- closes and what is left.

-- ---------------------------------------------------------------------------
-- 1. ATTACK5 S7, the payment variant: a reference is the importing side's.
-- ---------------------------------------------------------------------------
-- 0035 filed every payment reference of a unit in one namespace (payments:<unit>) shared by
-- the unit's officer and the city bureau. The bureau's references are predictable (the
-- claims system's settlement numbers); a county officer posted a cheap payment of its own
-- unit under one first, and the bureau's city-paid file was then refused by row ("already
-- imported ... conflict"), the claim unpaid in the books. The class: a namespace written by
-- two sides of unequal standing, where the lesser can pre-empt the greater. Now each side
-- files under its own namespace: an officer's rows under payments:<unit> (as before), the
-- bureau's under payments:<unit>:bureau, and an import's entry key says the side too
-- (payments:<date>:<unit>:<book>:<component>:<paid_from>:bureau:<hash> for the bureau).
-- A re-run by either side is idempotent as before. Across sides (fl.import_payments):
--   * an officer's row whose reference the bureau already imported is that row: skipped
--     when the same, refused as a conflict naming the bureau's row when not;
--   * a bureau's row whose reference the unit's officer already imported with the same
--     content is skipped (the claim is paid once); with other content it is the bureau's
--     own: nothing an officer writes can make the bureau's file refused.
-- Upgrade: each register row of a payment imported by someone who is not an officer is
-- copied into its unit's bureau namespace (the old rows stay: the register is append-only).
INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
SELECT l.namespace || ':bureau', l.reference, l.content_hash, l.entry_id, l.batch_id, l.row_no
  FROM fl.import_line l
  JOIN fl.import_batch b ON b.id = l.batch_id
 WHERE l.namespace ~ '^payments:[^:]+$'
   AND NOT EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = b.imported_by AND u.role = 'officer')
 ORDER BY l.namespace COLLATE "C", l.reference COLLATE "C";

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
  -- (0043, ATTACK5 S7) The importer's side: an officer files its unit's references under
  -- payments:<unit>, the city bureau under payments:<unit>:bureau.
  ns_own   text := CASE WHEN u.role = 'officer' THEN '' ELSE ':bureau' END;
  ns_other text := CASE WHEN u.role = 'officer' THEN ':bureau' ELSE '' END;
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
         l.content_hash AS reg_h, false AS reg_other, 0 AS chunk,
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
    LEFT JOIN fl.import_line l ON l.namespace = 'payments:' || y.unit || ns_own AND l.reference = y.reference;
  -- (0043, ATTACK5 S7) The other side's references of the same units. An officer's row whose
  -- reference the bureau already imported is that row (skipped when the same, a conflict
  -- naming the bureau when not); a bureau's row whose reference the unit's officer already
  -- imported with the same content is skipped (the claim is paid once), and with other
  -- content it is the bureau's own row: an officer's earlier row can no longer pre-empt it.
  -- Looked up only when the other side has references for a unit of the file.
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT w.unit FROM pg_temp.fl_imp_work w WHERE w.valid) x
              WHERE EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit || ns_other)) THEN
    UPDATE pg_temp.fl_imp_work w SET reg_h = l.content_hash, reg_other = true
      FROM fl.import_line l
     WHERE w.valid AND w.reg_h IS NULL AND l.namespace = 'payments:' || w.unit || ns_other
       AND l.reference = w.reference AND (u.role = 'officer' OR l.content_hash = w.h);
  END IF;

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
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, 'reference',
           CASE WHEN w.reg_other THEN
             format('reference ''%s'' of unit %s was already imported by the city bureau with different content (batch '
                    '%s, row %s): conflict; the bureau''s row stands: correct your row to match it, or ask the bureau '
                    'to reverse its entry', w.reference, w.unit, l.batch_id, l.row_no)
           WHEN b.imported_by = session_user OR fl.my_unit() IS NULL OR fl.my_unit() = '' THEN
             format('reference ''%s'' was already imported (batch %s, %s, row %s) with different content: conflict; '
                    'correct the row or give it a new reference', w.reference, l.batch_id, b.file_name, l.row_no)
           ELSE
             format('reference ''%s'' was already imported by another import with different content: conflict; '
                    'give the row a new reference', w.reference) END,
           'conflict'
      FROM pg_temp.fl_imp_work w
      JOIN fl.import_line l ON l.namespace = 'payments:' || w.unit || CASE WHEN w.reg_other THEN ns_other ELSE ns_own END
                           AND l.reference = w.reference
      LEFT JOIN fl.import_batch b ON b.id = l.batch_id
     WHERE w.valid AND l.content_hash <> w.h;
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
         format('payments:%s:%s:%s:%s:%s:%s%s', g.d, g.unit, g.book, coalesce(nullif(g.comp, ''), '-'), g.paid_from,
                CASE WHEN ns_own <> '' THEN 'bureau:' ELSE '' END, left(encode(c.refs, 'hex'), 32)) AS key
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
    SELECT 'payments:' || m.unit || ns_own, w.reference, w.h, m.entry_id, bid, w.row_no
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

-- ---------------------------------------------------------------------------
-- 2. ATTACK5 S11: a physical bank account is never below zero on any day.
-- ---------------------------------------------------------------------------
-- The no-overdraft rule held the balance after each statement; a payment dated before the
-- unit's first money arrived (while no year is closed, so 0039's date rule does not reach
-- it) was accepted, and the account's balance at the end of the days in between (fl.account_day,
-- what every as-of report reads) was negative. Now the posting trigger also holds the running
-- balance at the end of each day from the credit's date on, for a physical bank account (the
-- sum of its ledger accounts) and for a unit's share of a pooled account where 0030 holds it
-- (1004 city_exp, 1005): a finance auditor reads "never below zero" at every day-end a report
-- can show, and a share below zero on a past day is a unit paying with other units' money on
-- that day, the harm 0030 refuses today. The special account's shares may go negative (BRIEF
-- §3), so they are not checked; its physical total is. Immediate, like no_overdraft (the
-- pooled share's current-balance rule stays deferred): no flow of the ledger credits an account
-- on a past day and brings it back in a later statement of the same transaction.
-- The accounts of a physical bank account, found by index (the check's only new read on the
-- write path of an entry dated today).
CREATE INDEX account_bank ON fl.account (bank_account_id) WHERE bank_account_id IS NOT NULL;

CREATE TYPE fl.day_move AS (day date, moved bigint);

-- The first day from p_from on whose end-of-day balance of the accounts p_ids (one ledger
-- account, or every account of one physical bank account) is below zero after the statement
-- and lower than before it (p_mine: the statement's own movement per day), with that balance;
-- no row when there is none. The balance at the end of day t is the accounts' balance now less
-- what moved after t (fl.account_day already holds the statement's rows), so only the days
-- from p_from on are read.
CREATE FUNCTION fl._day_low(p_ids int[], p_from date, p_mine fl.day_move[])
RETURNS TABLE (day date, balance bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT q.day, q.run::bigint
    FROM (SELECT m.day,
                 tot.bal - coalesce(sum(m.moved) OVER (ORDER BY m.day DESC ROWS BETWEEN UNBOUNDED PRECEDING
                                                                              AND 1 PRECEDING), 0) AS run,
                 before.s + coalesce(sum(m.mine) OVER (ORDER BY m.day ROWS UNBOUNDED PRECEDING), 0) AS mine
            FROM (SELECT coalesce(d.day, s.day) AS day, coalesce(d.moved, 0) AS moved, coalesce(s.moved, 0) AS mine
                    FROM (SELECT d0.day, sum(d0.debits - d0.credits) AS moved FROM fl.account_day d0
                           WHERE d0.account_id = ANY (p_ids) AND d0.day >= p_from GROUP BY d0.day) d
                    FULL JOIN (SELECT x.day, x.moved FROM unnest(p_mine) x WHERE x.day >= p_from) s ON s.day = d.day) m
           CROSS JOIN (SELECT coalesce(sum(a.balance), 0) AS bal FROM fl.account a WHERE a.id = ANY (p_ids)) tot
           CROSS JOIN (SELECT coalesce(sum(x.moved), 0) AS s FROM unnest(p_mine) x WHERE x.day < p_from) before) q
   WHERE q.run < 0 AND q.mine < 0
   ORDER BY q.day LIMIT 1
$$;
REVOKE ALL ON FUNCTION fl._day_low(int[], date, fl.day_move[]) FROM PUBLIC;

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

-- ---------------------------------------------------------------------------
-- 3. ATTACK5 S9, in part: an acknowledgement's start is one the monitor can compute.
-- ---------------------------------------------------------------------------
-- (0041 made the keys the unit's.) The level and the start of a warning are computed in
-- Python from the monitor's figures and thresholds; the database checked only that the start
-- was not after the acknowledged day. Now it also holds the start's shape: a month end (the
-- monitor's history points) or the acknowledged day, never before the unit's first figures
-- in the book. Whether the unit was at that level from that start is still the Python's.
CREATE OR REPLACE FUNCTION fl.monitor_acknowledge(p_unit text, p_book text, p_level text, p_since date, p_on date, p_decision text, p_key text)
 RETURNS TABLE(id bigint, status text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer', 'finance', 'officer'], 'acknowledge a monitoring warning');
  r fl.monitor_ack;
BEGIN
  IF coalesce(btrim(p_key), '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'an acknowledgement needs an idempotency key');
  END IF;
  IF u.role = 'officer' AND u.unit IS DISTINCT FROM p_unit THEN
    PERFORM fl.refuse('unit_scope', format('an officer of %s cannot acknowledge a warning of unit %s',
                                           coalesce(u.unit, '?'), p_unit), 'insufficient_privilege');
  END IF;
  IF u.role = 'officer' AND p_level = 'red' THEN
    PERFORM fl.refuse('ack_role', format('a red warning of %s is acknowledged by the city bureau (reviewer) or city '
                                         'finance, not by the unit''s own officer (%s)', p_unit, u.name),
                      'insufficient_privilege');
  END IF;
  -- (0041) The key is looked up in the acknowledged unit's own key space only.
  SELECT * INTO r FROM fl.monitor_ack a WHERE a.unit = p_unit AND a.idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.book, r.level, r.since, r.acknowledged_on, r.decision, r.acknowledged_by)
       IS DISTINCT FROM (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), session_user::text) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by acknowledgement %s with different content; nothing was written',
        p_key, r.id), 'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit x WHERE x.code = p_unit) THEN
    PERFORM fl.refuse('not_found', format('unknown unit %s', p_unit), 'no_data_found');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.book x WHERE x.code = p_book) THEN
    PERFORM fl.refuse('not_found', format('unknown book %s', p_book), 'no_data_found');
  END IF;
  IF p_level IS NULL OR p_level NOT IN ('yellow', 'red') THEN
    PERFORM fl.refuse('ack_level', format('the level must be yellow or red, not %s', coalesce(p_level, 'none')));
  END IF;
  IF coalesce(btrim(p_decision), '') = '' THEN
    PERFORM fl.refuse('ack_decision', 'an acknowledgement needs the decision taken (it is kept in the record)');
  END IF;
  IF p_on IS NULL OR p_since IS NULL OR p_since > p_on OR p_on > current_date THEN
    PERFORM fl.refuse('ack_date', format('the acknowledgement day %s must be on or after the warning''s start %s '
                                         'and not in the future', p_on, p_since));
  END IF;
  -- (0043, ATTACK5 S9) The warning's start as the monitor computes it (ledger.core.response.since):
  -- a month end of the unit's history, or the acknowledged day itself; and never before the
  -- unit's first figures in the book (no warning before there is anything to warn about).
  IF p_since <> p_on AND p_since <> (date_trunc('month', p_since) + interval '1 month - 1 day')::date THEN
    PERFORM fl.refuse('ack_since', format(
      'the warning''s start %s is neither a month end nor the acknowledgement day %s: a warning starts at the month '
      'end from which the unit stayed at its level, or on the day itself; acknowledge with the start that '
      '''fundledger monitor --as-of %s'' shows', p_since, p_on, p_on));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id AND d.day <= p_since
                  WHERE a.unit = p_unit AND a.book = p_book) THEN
    PERFORM fl.refuse('ack_since', format(
      'unit %s has no figures in book %s on or before %s, so no warning can have started then; acknowledge with '
      'the start that ''fundledger monitor --as-of %s'' shows', p_unit, p_book, p_since, p_on));
  END IF;
  INSERT INTO fl.monitor_ack (unit, book, level, since, acknowledged_on, decision, idempotency_key, prev_hash, hash)
  VALUES (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), p_key, '\x', '\x')
  RETURNING * INTO r;
  RETURN QUERY SELECT r.id, 'recorded'::text;
END $function$;
