-- 0035: an import's references and a request's key are the unit's own (issue 14, ATTACK3 R6).
--
-- The import register (fl.import_line) filed every reference of a kind in one namespace for
-- the whole city, and a fund request's idempotency key was one key for the whole city. A
-- county officer could pre-post another county's provider or claim references (¥0.01 each)
-- and have that county's file refused by row ("already imported by another import"), and
-- learn from the answer whether a reference exists; likewise with another unit's request key.
--
-- Now a reference is filed under its row's unit: the register's namespace is
-- `<kind>:<unit>` (collections:230822, payments:230881, opening:230822), so its key
-- (namespace, reference) — the primary key and the chained history's key, both unchanged —
-- is unique per kind and unit. Every import looks its rows up, reports conflicts and finds
-- references used twice in the file within the row's unit; an import's entry key carries
-- the unit too (collections:<unit>:<reference>, opening:<unit>:<reference>; a payment
-- entry's key already did). A re-run is idempotent as before; within a unit the duplicate
-- rule is unchanged. A request's key is unique per unit (fund_request_unit_key).
--
-- Upgrade: each register row filed before (namespace = the kind alone) is copied into its
-- unit's namespace (the unit of its entry's postings, or of its register item), so a file
-- imported before the upgrade is still recognised, row by row, when it is imported again.
-- The old rows stay (the register is append-only); nothing reads them any more.
-- A register item's own reference (fl.register_item, opened by a reviewer's handover
-- import) stays unique city-wide: no officer can create one.

-- ---------------------------------------------------------------------------
-- 1. The register rows of before, in their unit's namespace.
-- ---------------------------------------------------------------------------
-- The handover-once check runs for new openings; the copies are the record of openings
-- already made (it would refuse every one of them), so it is re-created after the copy.
DROP TRIGGER import_line_handover_once ON fl.import_line;
INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
SELECT l.namespace || ':' || u.unit, l.reference, l.content_hash, l.entry_id, l.batch_id, l.row_no
  FROM fl.import_line l
  CROSS JOIN LATERAL (SELECT coalesce((SELECT p.unit FROM fl.posting p WHERE p.entry_id = l.entry_id LIMIT 1),
                                      (SELECT i.unit FROM fl.register_item i
                                        WHERE l.namespace = 'opening' AND i.reference = l.reference)) AS unit) u
 WHERE l.namespace IN ('collections', 'payments', 'opening') AND u.unit IS NOT NULL
 ORDER BY l.namespace || ':' || u.unit COLLATE "C", l.reference COLLATE "C";
CREATE TRIGGER import_line_handover_once BEFORE INSERT ON fl.import_line
  FOR EACH ROW WHEN (NEW.namespace = 'opening' OR NEW.namespace LIKE 'opening:%')
  EXECUTE FUNCTION fl.handover_once();

-- ---------------------------------------------------------------------------
-- 2. A request's key is its unit's.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.fund_request DROP CONSTRAINT fund_request_idempotency_key_key;
ALTER TABLE fl.fund_request ADD CONSTRAINT fund_request_unit_key UNIQUE (unit, idempotency_key);

-- ---------------------------------------------------------------------------
-- 3. The functions (main's latest definitions: 0026, 0018, 0028; the lookups by unit).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fl._imp_conflicts(p_namespace text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
BEGIN
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference',
         CASE WHEN b.imported_by = session_user OR fl.my_unit() IS NULL OR fl.my_unit() = '' THEN
           format('reference ''%s'' was already imported (batch %s, %s, row %s) with different content: conflict; '
                  'correct the row or give it a new reference', w.reference, l.batch_id, b.file_name, l.row_no)
         ELSE
           format('reference ''%s'' was already imported by another import with different content: conflict; '
                  'give the row a new reference', w.reference) END,
         'conflict'
    FROM pg_temp.fl_imp_work w
    JOIN fl.import_line l ON l.namespace = p_namespace || ':' || w.unit AND l.reference = w.reference
    LEFT JOIN fl.import_batch b ON b.id = l.batch_id
   WHERE w.valid AND l.content_hash <> w.h;
END $function$;

CREATE OR REPLACE FUNCTION fl._imp_repeats(p_registered boolean)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
BEGIN
  EXECUTE format($q$
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, 'reference',
           format('reference ''%%s'' is used again (first on row %%s); each row needs its own reference',
                  w.reference, d.first),
           'bad'
      FROM pg_temp.fl_imp_work w
      JOIN (SELECT unit, reference, min(row_no) AS first FROM pg_temp.fl_imp_work
             WHERE reference <> '' %s GROUP BY unit, reference HAVING count(*) > 1) d
        ON d.unit IS NOT DISTINCT FROM w.unit AND d.reference = w.reference
     WHERE w.row_no > d.first$q$,
    CASE WHEN p_registered THEN 'AND reg_h IS NOT NULL' END);
END $function$;

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

CREATE OR REPLACE FUNCTION fl.import_collections(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '64MB'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'import collections and subsidies');
  probs jsonb;
  bid   bigint;
  n_new int;
BEGIN
  PERFORM fl._imp_open('collections');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, t_date text, d date, closed boolean, unit text, ukind text, book text, bcomps text[],
    source text, chart text, comp text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.chart, y.fen, y.comp)), 'hex') END
    FROM (SELECT x.*,
                 coalesce(x.d IS NOT NULL AND NOT x.closed AND x.ukind IS NOT NULL AND (u.role <> 'officer' OR x.unit = u.unit)
                  AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND NOT (x.book = 'EMP' AND x.chart LIKE '4101.%' AND x.comp = 'personal')
                  AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.date AS t_date, dd.d, (cp.month IS NOT NULL) AS closed,
                         s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.source) AS source, src.chart, lower(s.component) AS comp,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM (SELECT s0.*, fl.imp_date(s0.date) AS d
                            FROM pg_temp.fl_imp_src s0 OFFSET 0) s
                    CROSS JOIN LATERAL (SELECT s.d) dd
                    LEFT JOIN fl.closed_period cp ON cp.month = date_trunc('month', dd.d)::date
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('contribution', '4001'), ('subsidy_central', '4101.central'),
                                      ('subsidy_provincial', '4101.provincial'), ('subsidy_city', '4101.city'),
                                      ('subsidy_county', '4101.county'), ('other', '4501')) src(name, chart)
                           ON src.name = lower(s.source) OFFSET 0) x OFFSET 0) y;
  ANALYZE pg_temp.fl_imp_work;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, x.kind
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (
      SELECT * FROM fl._imp_row_problems(w.t_date, w.d, w.closed, w.unit, w.ukind, w.book, w.bcomps, w.t_amount,
                                         w.reference, u)
      UNION ALL VALUES
      ('component', coalesce(fl.imp_component_problem(w.book, w.bcomps, w.comp),
                    CASE WHEN w.book = 'EMP' AND w.chart LIKE '4101.%' AND w.comp = 'personal'
                         THEN 'fiscal subsidies (4101) go wholly to the pooled fund (统筹基金) in the employees'' book; '
                              'component must be pooled' END), 'bad'),
      ('source', CASE WHEN w.chart IS NULL THEN format('unknown source ''%s'' (contribution, subsidy_central, '
                    'subsidy_provincial, subsidy_city, subsidy_county, other)', w.source) END, 'bad')) x(col, why, kind)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('collections');
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT q.*, q.ord AS grp, ((q.ord - 1) / 50000)::int AS chunk
    FROM (SELECT row_number() OVER (ORDER BY w.row_no)::int AS ord, w.row_no, w.reference, w.h, w.d, w.unit, w.book,
                 w.source, w.chart, w.comp, w.fen
            FROM pg_temp.fl_imp_work w
           WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l
                              WHERE l.namespace = 'collections:' || w.unit AND l.reference = w.reference)) q;
  CREATE INDEX ON pg_temp.fl_imp_ent (chunk);
  ANALYZE pg_temp.fl_imp_ent;

  bid := fl._imp_batch('collections', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, e.d, format('征缴收入 collection %%s %%s (%%s row %%s)', e.source, e.reference, %L, e.row_no),
                 'collections', 'collections:' || e.unit || ':' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, '1003', e.unit, 'special', e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, e.chart, e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'collections:' || e.unit, e.reference, e.h, r.entry_id, bid, e.row_no
    FROM pg_temp.fl_imp_ent e JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  RETURN fl._imp_finish(bid, n_new);
END $function$;

CREATE OR REPLACE FUNCTION fl.import_opening(p_file text, p_sha256 text, p_date date)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'record handover opening balances');
  probs jsonb;
  bid   bigint;
  n_new int;
  n_reg int;
BEGIN
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the handover date is missing (--date)');
  END IF;
  IF EXISTS (SELECT 1 FROM fl.closed_period c WHERE c.month = date_trunc('month', p_date)::date) THEN
    PERFORM fl.refuse('period_closed', format('%s falls in the closed period %s; choose an open date',
                                              p_date, to_char(p_date, 'YYYY-MM')));
  END IF;
  PERFORM fl._imp_open('opening');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, unit text, ukind text, book text, bcomps text[], item text, chart text, holder text,
    comp text, note text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN sha256(convert_to(concat_ws('|', p_date, y.unit, y.book, y.item, y.fen, y.comp, y.note),
                                                       'UTF8')) END
    FROM (SELECT x.*,
                 coalesce(x.ukind = 'county' AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.item) AS item, it.chart, it.holder, lower(s.component) AS comp, s.note,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('special_account', '1003', 'legacy_special'),
                                      ('revenue_account', '1002', 'legacy_revenue'),
                                      ('expenditure_account', '1004', 'legacy_expenditure'),
                                      ('fiscal_arrears', 'register', ''), ('employer_arrears', 'register', ''),
                                      ('unpaid_claims', 'register', '')) it(name, chart, holder)
                           ON it.name = lower(s.item)) x) y;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit)
                    WHEN w.ukind <> 'county' THEN format('unit %s is the city proper: handover openings are for counties '
                         '(county-level cities) whose funds move up to the city', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('item', CASE WHEN w.chart IS NULL THEN format('unknown item ''%s'' (special_account, revenue_account, '
                    'expenditure_account, fiscal_arrears, employer_arrears, unpaid_claims)', w.item) END),
      ('amount', fl.imp_amount_problem(w.t_amount)),
      ('reference', fl.imp_reference_problem(w.reference))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('opening');
  -- A register reference is also the item's own unique key.
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference', format('reference ''%s'' already names register item %s', w.reference, r.id), 'conflict'
    FROM pg_temp.fl_imp_work w JOIN fl.register_item r ON r.reference = w.reference
   WHERE w.valid AND w.chart = 'register'
     AND NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening:' || w.unit AND l.reference = w.reference);
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.* FROM pg_temp.fl_imp_work w
   WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening:' || w.unit AND l.reference = w.reference);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY n.row_no)::int AS ord, 0 AS chunk, n.*
    FROM pg_temp.fl_imp_new n WHERE n.chart <> 'register';

  bid := fl._imp_batch('opening', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, %L::date,
                 format('期初余额 handover opening balance %%s of unit %%s%%s (%%s row %%s)', e.item, e.unit,
                        CASE WHEN e.note <> '' THEN ': ' || e.note ELSE '' END, %L, e.row_no),
                 'opening', 'opening:' || e.unit || ':' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_date, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, e.chart, e.unit, e.holder, e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, '3001', e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, reference, note)
  SELECT n.item, n.unit, n.book, n.comp, n.fen, p_date, n.reference, n.note
    FROM pg_temp.fl_imp_new n WHERE n.chart = 'register' ORDER BY n.row_no;
  GET DIAGNOSTICS n_reg = ROW_COUNT;

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'opening:' || n.unit, n.reference, n.h, r.entry_id, bid, n.row_no
    FROM pg_temp.fl_imp_new n
    LEFT JOIN pg_temp.fl_imp_ent e ON e.row_no = n.row_no
    LEFT JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('register_items', n_reg));
END $function$;

CREATE OR REPLACE FUNCTION fl.request_submit(p_unit text, p_book text, p_component text, p_year integer, p_quarter integer, p_amount bigint, p_note text, p_key text)
 RETURNS TABLE(id bigint, status text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
#variable_conflict use_column
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'submit fund requests');
  bk   fl.book;
  r    fl.fund_request;
  comp text := coalesce(p_component, '');
BEGIN
  IF u.role = 'officer' AND p_unit IS DISTINCT FROM u.unit THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may not submit requests for unit %s',
      u.name, u.unit, p_unit), 'insufficient_privilege');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit WHERE code = p_unit) THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  END IF;
  SELECT * INTO bk FROM fl.book WHERE code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF cardinality(bk.components) > 0 AND NOT comp = ANY (bk.components) THEN
    PERFORM fl.refuse('account_component', format('book %s needs a component (%s) on a request; got ''%s''',
      p_book, array_to_string(bk.components, ' or '), comp));
  ELSIF cardinality(bk.components) = 0 AND comp <> '' THEN
    PERFORM fl.refuse('account_component', format('book %s has no components; got ''%s''', p_book, comp));
  END IF;
  IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2100 OR p_quarter IS NULL OR p_quarter NOT BETWEEN 1 AND 4 THEN
    PERFORM fl.refuse('request_period', format('a request is for a year 2000–2100 and a quarter 1–4; got %s Q%s',
      p_year, p_quarter));
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the amount requested must be positive');
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a request needs an idempotency key');
  END IF;

  SELECT * INTO r FROM fl.fund_request WHERE unit = p_unit AND idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested, r.note)
       IS DISTINCT FROM (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, '')) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by request %s with different content; nothing was written', p_key, r.id),
        'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text;
    RETURN;
  END IF;

  INSERT INTO fl.fund_request (unit, book, component, year, quarter, amount_requested, note, justification,
                               idempotency_key)
  VALUES (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, ''),
          fl.request_justification(p_unit, p_book, comp, p_year, p_quarter), p_key)
  RETURNING * INTO r;
  PERFORM fl._request_event(r, 'submit', 'submitted', p_amount, p_note, NULL);
  RETURN QUERY SELECT r.id, 'submitted'::text;
END $function$;
