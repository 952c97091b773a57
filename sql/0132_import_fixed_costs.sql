-- 0132 (issue 24, bulk import): three costs an import paid per group or per entry, not per line, cut.
--
-- Measured on a 100,000-line payments file (2,555 entries, 9,569 groups) with callgrind on the import's
-- backend: 29.6 G instructions, of which ~2.5 G went to work repeated once per group or per entry that
-- gives the same answer each time (bench/history/2026-12-07-import-fixed-costs.md):
--
-- * fl.import_payments judged 0106's category-component rule (fl.imp_category_component_problem)
--   once per group of the file. It is a SQL function with a SET clause, so PostgreSQL never inlines
--   it: each call started an executor for it and for fl.category_component_problem inside it
--   (~70 k instructions a call, 9,569 calls). Now the groups' resolved values are a materialized
--   CTE and the rule is judged once per distinct (chart, category, component, pooled, components)
--   — a handful — and each group reads its answer. Same function, same arguments, same answer; the
--   refusal of a row (its reason, its kind) is built as before.
-- * fl.posting_inserted's first statement took the statement's constants (the region's cash-date
--   limit, whether the caller is an officer, its unit) from a subquery in FROM, which the planner
--   pulled up: fl._cash_date_limit() (a SQL function with a SET clause) ran once per distinct
--   (entry, account, date, unit, side) of the statement — 12,125 times in that import. Now they are
--   a materialized CTE, read once. A single entry's statement called it once before as now (counted).
-- * fl.seal_transaction is each entry's deferred row event; the first event of a transaction seals
--   or queues all its entries, every later one found its entry sealed by the gather query's
--   one-time filter — after that query's executor start-up (~0.4 M instructions: every LATERAL node
--   of its plan), 2,554 times for one import. Now a later event returns on the same two index probes
--   before the query is started. A single entry's commit runs those two probes once more (one small
--   statement) before its gather query.
--
-- Every check is where it was and says what it said: the import's rows, the postings' rules, the
-- seal's balance, digest and chain are unchanged (the tests compare a file's entries, seals,
-- digests and refusals before and after). Each function below is its latest migrated definition
-- with all its SET clauses — fl.import_payments 0106's, fl.posting_inserted 0125's,
-- fl.seal_transaction 0096's — changed only where marked (0132).

CREATE OR REPLACE FUNCTION fl.import_payments(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '256MB'
 SET enable_mergejoin TO 'off'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'import benefit payments');
  probs jsonb;
  bid   bigint;
  n_new int;
  bad   boolean;
  has_reg boolean;
  differs boolean;
  con   text;
  pool  record;
  -- (0043, ATTACK5 S7) The importer's side: an officer files its unit's references under
  -- payments:<unit>, the city bureau under payments:<unit>:bureau.
  ns_own   text := CASE WHEN u.role = 'officer' THEN '' ELSE ':bureau' END;
  ns_other text := CASE WHEN u.role = 'officer' THEN ':bureau' ELSE '' END;
  held     bigint[];
  n_held   int := 0;
BEGIN
  PERFORM fl._imp_open('payments');
  -- 1. The groups: each distinct (date, unit, book, component, paid_from) text of the
  --    file, resolved once — a year's file has a few thousand; resolving each of a
  --    million rows cost seconds (parsing its date alone 1.2 s). gk numbers the raw
  --    texts; eg numbers the entry groups (the resolved values: 'res' and 'RES' are one).
  --    A NULL cell (only a hand-made stage has one) reads as empty, like an absent column.
  CREATE TEMP TABLE fl_imp_grp ON COMMIT DROP AS
  -- (0132) The groups' resolved values first (r0), then 0106's rule judged once per distinct
  -- (chart, category, component, pooled, components) of them (cc: a few, not one per group —
  -- fl.imp_category_component_problem is a SQL function with a SET clause, so it is never
  -- inlined and each call started an executor: 9,569 calls for a year's file).
  WITH r0 AS MATERIALIZED (
         SELECT row_number() OVER ()::int AS gk, t.t_date, t.unit, t.t_book, t.t_comp, t.t_paid, t.t_cat, q.d,
                EXISTS (SELECT 1 FROM fl.closed_period cp WHERE cp.month = date_trunc('month', q.d)::date) AS closed,
                un.kind AS ukind, upper(t.t_book) AS book, bk.components AS bcomps, lower(t.t_comp) AS comp,
                bk.pooled_component AS pooled,   -- (0106)
                lower(t.t_cat) AS category, cat.no AS cat, cat.chart,
                CASE lower(t.t_paid) WHEN 'county' THEN 'county' WHEN 'city' THEN 'city'
                     WHEN '' THEN CASE WHEN un.kind = 'county' THEN 'county' ELSE 'city' END END AS paid_from
           FROM (SELECT DISTINCT coalesce(s.date, '') AS t_date, coalesce(s.unit, '') AS unit,
                        coalesce(s.book, '') AS t_book, coalesce(s.component, '') AS t_comp,
                        coalesce(s.paid_from, '') AS t_paid, coalesce(s.category, '') AS t_cat
                   FROM pg_temp.fl_imp_src s) t
           CROSS JOIN LATERAL (SELECT fl.imp_date(t.t_date) AS d) q
           LEFT JOIN (VALUES (1, 'inpatient', '5001.inpatient'), (2, 'outpatient', '5001.outpatient'),
                             (3, 'chronic', '5001.chronic'), (4, 'outpatient_pooled', '5001.outpatient_pooled'),
                             (5, 'maternity_medical', '5001.maternity_medical'),
                             (6, 'maternity_allowance', '5001.maternity_allowance'),
                             (7, 'pharmacy', '5001.pharmacy'), (8, 'other', '5001.other'),
                             (9, 'critical_illness', '5101')) cat(no, name, chart) ON cat.name = lower(t.t_cat)
           LEFT JOIN fl.unit un ON un.code = t.unit
           LEFT JOIN fl.book bk ON bk.code = upper(t.t_book)),
       cc AS MATERIALIZED (
         SELECT k.chart, k.category, k.comp, k.pooled, k.bcomps,
                fl.imp_category_component_problem(k.chart, k.category, k.comp, k.pooled, k.bcomps) AS problem
           FROM (SELECT DISTINCT r1.chart, r1.category, r1.comp, r1.pooled, r1.bcomps FROM r0 r1) k)
  SELECT x.*,
         -- (0066) Whether the register holds any reference of this unit on the importer's
         -- side: if not (a unit's first file), no row of the group is looked up in it.
         EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit || ns_own) AS probe,
         dense_rank() OVER (ORDER BY x.d, x.unit COLLATE "C", x.book COLLATE "C", x.comp COLLATE "C",
                                          x.paid_from COLLATE "C")::int AS eg
    FROM (SELECT r.*, CASE r.paid_from WHEN 'county' THEN 'county_exp' WHEN 'city' THEN 'city_exp' END AS holder,
                 coalesce(r.d IS NOT NULL AND NOT r.closed AND r.ukind IS NOT NULL
                  AND (u.role <> 'officer' OR r.unit = u.unit) AND r.bcomps IS NOT NULL
                  AND fl.imp_component_ok(r.bcomps, r.comp)
                  -- (0106, ATTACK14 V6) the category decides the component: the row, not the account
                  -- (0132) looked up in cc: the same function's answer for the same arguments
                  AND (SELECT c.problem FROM cc c
                        WHERE c.chart IS NOT DISTINCT FROM r.chart AND c.category IS NOT DISTINCT FROM r.category
                          AND c.comp IS NOT DISTINCT FROM r.comp AND c.pooled IS NOT DISTINCT FROM r.pooled
                          AND c.bcomps IS NOT DISTINCT FROM r.bcomps) IS NULL
                  AND r.paid_from IS NOT NULL AND NOT (r.paid_from = 'county' AND r.ukind <> 'county')
                  AND NOT (u.role = 'officer' AND r.paid_from = 'city' AND r.ukind = 'county'), false) AS ok
            FROM r0 r) x;
  ANALYZE pg_temp.fl_imp_grp;

  -- 2. Every row, in one pass over the stage: its group, category (a small integer),
  --    amount, whether it is valid, its content hash, and the hash the register holds
  --    for its reference (NULL: a new row). The raw texts that only error messages need
  --    are kept for invalid rows alone (a NULL costs no space).
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT y.row_no, y.reference, y.unit, y.gk, y.eg, y.cat, y.provider, y.fen, y.valid,
         CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.provider, y.chart, y.fen,
                                                     y.comp, y.paid_from)), 'hex') END AS h,
         CASE WHEN y.probe THEN (SELECT l.content_hash FROM fl.import_line l
                                  WHERE l.namespace = 'payments:' || y.unit || ns_own AND l.reference = y.reference)
              END AS reg_h, false AS reg_other, 0 AS chunk,
         CASE WHEN NOT y.valid THEN y.category END AS category, CASE WHEN NOT y.valid THEN y.t_amount END AS t_amount
    FROM (SELECT x.*, coalesce(x.ok AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.provider <> ''
                               AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, coalesce(s.reference, '') AS reference, g.gk, g.eg, g.ok, g.probe, g.t_date, g.unit,
                         g.book, g.comp, g.paid_from, coalesce(s.provider, '') AS provider, g.category, g.cat, g.chart,
                         coalesce(s.amount, '') AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    JOIN pg_temp.fl_imp_grp g ON g.t_date = coalesce(s.date, '') AND g.unit = coalesce(s.unit, '')
                                             AND g.t_book = coalesce(s.book, '') AND g.t_comp = coalesce(s.component, '')
                                             AND g.t_paid = coalesce(s.paid_from, '') AND g.t_cat = coalesce(s.category, '')
                  OFFSET 0) x
          OFFSET 0) y;
  -- (0043, ATTACK5 S7) The other side's references of the same units. An officer's row whose
  -- reference the bureau already imported is that row (skipped when the same, a conflict
  -- naming the bureau when not); a bureau's row whose reference the unit's officer already
  -- imported with the same content is skipped (the claim is paid once), and with other
  -- content it is the bureau's own row: an officer's earlier row can no longer pre-empt it.
  -- Looked up only when the other side has references for a unit of the file.
  -- (0066: the units from the groups, a few thousand rows, not from the million rows.)
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit FROM pg_temp.fl_imp_grp g WHERE g.ok) x
              WHERE EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit || ns_other)) THEN
    UPDATE pg_temp.fl_imp_work w SET reg_h = l.content_hash, reg_other = true
      FROM fl.import_line l
     WHERE w.valid AND w.reg_h IS NULL AND l.namespace = 'payments:' || w.unit || ns_other
       AND l.reference = w.reference AND (u.role = 'officer' OR l.content_hash = w.h);
  END IF;
  -- (0063, ATTACK8 V2) A claim the bureau imported paid from the county's account, whose held
  -- entry was then rejected (or withdrawn by its maker), was never paid: its reference stays in
  -- the bureau's register (history, and the bureau's own re-run of its file skips it, as the
  -- rejected key may not be held again), but it no longer stands for the county's officer,
  -- whose own import of the claim posts it (fl._claims_released).
  IF u.role = 'officer' AND EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE w.reg_other) THEN
    UPDATE pg_temp.fl_imp_work w SET reg_h = NULL, reg_other = false
      FROM fl._claims_released((SELECT array_agg(DISTINCT w0.unit) FROM pg_temp.fl_imp_work w0 WHERE w0.reg_other)) r
     WHERE w.reg_other AND r.unit = w.unit AND r.reference = w.reference;
  END IF;

  -- (0092) One pass over the row table answers the three questions the checks below ask of
  -- it: whether a row is invalid, whether any row's reference is registered already, and
  -- whether a valid row's registered content differs. Each was a scan of a million rows of
  -- its own (the two EXISTS found nothing in a clean file, so they read it all), and the
  -- repeats among registered rows grouped the million rows to find none. Nothing below
  -- changes the row table before the last of them is used.
  SELECT coalesce(bool_or(NOT w.valid), false), coalesce(bool_or(w.reg_h IS NOT NULL), false),
         coalesce(bool_or(w.valid AND w.reg_h <> w.h), false)
    INTO bad, has_reg, differs
    FROM pg_temp.fl_imp_work w;
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
        -- (0106, ATTACK14 V6) named by row and column, with its rule, before any account is made
        ('component', fl.imp_category_component_problem(g.chart, g.category, g.comp, g.pooled, g.bcomps),
         'category_component'),
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
  -- (0092) Among registered rows only when there is one (the same answer: no row to group).
  IF bad OR has_reg THEN
    PERFORM fl._imp_repeats(NOT bad);
  END IF;
  -- (0070, ATTACK9 W5) A claim is paid once: the bureau's row paid from the county's account
  -- whose unit + reference the county's officer already paid with other content (its entry not
  -- reversed) is a conflict naming the county's entry. (Same content: skipped above, 0043; a
  -- city-paid row stands, 0043 S7.)
  IF u.role <> 'officer'
     AND EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit FROM pg_temp.fl_imp_grp g WHERE g.ok) x
                  WHERE EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit)) THEN
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, 'reference',
           format('reference ''%s'' of unit %s was already paid by the county''s own import (%s, batch %s, row %s) '
                  'with different content: conflict; a claim is paid once: have that entry reversed first (the city '
                  'bureau or city finance reverses it), then import again, or correct your row to match it',
                  w.reference, w.unit, fl.entry_label(l.entry_id), l.batch_id, l.row_no),
           'conflict'
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
      JOIN fl.import_line l ON l.namespace = 'payments:' || w.unit AND l.reference = w.reference
     WHERE w.valid AND w.reg_h IS NULL AND g.paid_from = 'county' AND l.content_hash <> w.h AND l.entry_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM fl.entry r WHERE r.reverses = l.entry_id);
  END IF;
  -- References already imported with other content (the row table carries the
  -- register's hash, so the join runs only when there is one).
  IF differs THEN   -- (0092: from the one pass above)
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
         -- (0060, ATTACK7 U11) Money out of a county's expenditure account at once is its own
         -- officer's alone (its claims); the bureau's rows paid from it are held (below).
         (u.role <> 'officer' AND g.holder = 'county_exp') AS held,
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
           FROM pg_temp.fl_imp_ent e WHERE NOT e.held$q$, p_file, bid, p_file));
    -- (0060, ATTACK7 U11) The bureau's rows paid from a county's expenditure account
    -- (Dr 5001.<category> / Cr 1004 county_exp) are held, as 0051 holds register clear: the
    -- entry posts only when city finance or a second reviewer confirms it (fl.confirm_entry).
    -- Their references are registered now (no entry yet, as 0052's held openings): the same
    -- file again skips them, and the county's officer cannot import the claim a second time.
    IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_ent e WHERE e.held) THEN
      SELECT array_agg(h.held_id ORDER BY h.ord) INTO held
        FROM fl._hold(u, 'payments',
               (SELECT array_agg(ROW(e.ord, e.book, e.d,
                                     format('待遇支出 benefit payments %s unit %s from %s: %s rows (%s)', e.d, e.unit,
                                            e.holder, e.n_rows, p_file),
                                     'payments', e.key, NULL, NULL,
                                     jsonb_build_object('import_batch', bid, 'file', p_file, 'rows', e.n_rows),
                                     e.chash)::fl.new_entry ORDER BY e.ord)
                  FROM pg_temp.fl_imp_ent e WHERE e.held),
               (SELECT array_agg(x.p ORDER BY (x.p).ord, (x.p).pos) FROM (
                  SELECT ROW(e.ord, 0, e.book, '1004', e.unit, e.holder, e.comp, 'C', e.total, NULL, NULL)::fl.new_posting AS p
                    FROM pg_temp.fl_imp_ent e WHERE e.held
                  UNION ALL
                  SELECT ROW(m.ord, (row_number() OVER (PARTITION BY m.ord ORDER BY w.row_no))::int, m.book, m.chart,
                             m.unit, '', m.comp, 'D', w.fen, w.reference, w.provider)::fl.new_posting
                    FROM pg_temp.fl_imp_work w
                    JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
                    JOIN pg_temp.fl_imp_ent e ON e.ord = m.ord AND e.held
                   WHERE w.reg_h IS NULL) x)) h;
      SELECT coalesce(sum(e.n_rows), 0)::int INTO n_held FROM pg_temp.fl_imp_ent e WHERE e.held;
    END IF;
    -- The map the million rows join to, on integers: (entry group, chunk, category) ->
    -- (entry, debit account).
    UPDATE pg_temp.fl_imp_map m SET entry_id = r.entry_id, posted = (r.status = 'posted'), account_id = a.id
      FROM pg_temp.fl_imp_res r, pg_temp.fl_imp_acc a
     WHERE r.ord = m.ord AND a.book = m.book AND a.chart = m.chart AND a.unit = m.unit AND a.holder = ''
       AND a.comp = m.comp;
    ANALYZE pg_temp.fl_imp_map;

    -- (0075) The register in the file's order (the row table's), not sorted by key: the
    -- batch digest (fl._record_import_lines) orders the lines by row_no, so rows that come
    -- in row_no order make its sort a single pass, and the sort of a million references by
    -- key (their first eight bytes alike, every comparison a full one) is gone.
    INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
    SELECT 'payments:' || m.unit || ns_own, w.reference, w.h, m.entry_id, bid, w.row_no
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
     WHERE w.reg_h IS NULL;
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
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('held', to_jsonb(coalesce(held, '{}')), 'rows_held', n_held));
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
                EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') AS officer,
                (SELECT u.unit FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') AS ounit)
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
  queued  boolean;
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
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
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

