-- fundledger migration 0004: file imports (openings, collections, payments, budgets),
-- the handover transfer up (上划) and the memo registers (备查簿).
--
-- How an import runs (docs/imports.md):
--   1. The client streams the file's cells with COPY into a session temp table it
--      created (the "stage": row_no int, then one text column per file column), and
--      GRANTs SELECT on it to the owner of schema fl. Why the client creates it: the
--      stage must exist before COPY, and COPY runs as the user; a definer-created
--      table would need INSERT granted back to every user instead. The grant is
--      needed because the SECURITY DEFINER function below reads it as the owner
--      (a temp schema is usable by any role of its own session; the table is not).
--   2. One call to fl.import_<kind>(stage, file, sha256) validates every row
--      set-based (no per-row exception blocks, no casts that can raise), returns all
--      problems as {"errors": [{row, column, reason, kind}]} without writing anything,
--      or posts (payments: set-based from its work tables, fl._imp_entries; others:
--      through fl._post in chunks) and records fl.import_batch/import_line.
--   Each row's reference is its idempotency key in fl.import_line (namespace = kind):
--   identical rows are skipped, a reference reused with other content is a conflict.

-- ---------------------------------------------------------------------------
-- Value checks that cannot raise. Inlinable SQL functions (IMMUTABLE, one expression).
-- The amount regex is ledger/core/money.py _AMOUNT, written with [0-9] (ASCII only).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.imp_days_in_month(y int, m int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
              WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END
$$;

-- YYYY-MM-DD (years 1900-2999) or NULL. Nested CASEs guarantee no cast runs on bad text.
CREATE FUNCTION fl.imp_date(t text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
           CASE WHEN substr(t, 1, 4)::int BETWEEN 1900 AND 2999 AND substr(t, 6, 2)::int BETWEEN 1 AND 12 THEN
             CASE WHEN substr(t, 9, 2)::int BETWEEN 1 AND fl.imp_days_in_month(substr(t, 1, 4)::int, substr(t, 6, 2)::int)
                  THEN make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, substr(t, 9, 2)::int) END END END
$$;

CREATE FUNCTION fl.imp_date_problem(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN coalesce(t, '') = '' THEN 'the date is empty'
              WHEN t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN format('''%s'' is not a date (YYYY-MM-DD, like 2023-03-31)', t)
              WHEN fl.imp_date(t) IS NULL THEN format('''%s'' is not a real date', t) END
$$;

-- Yuan text -> fen as numeric (exact), or NULL when the text is not an amount.
CREATE FUNCTION fl.imp_amount_num(t text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t ~ '^-?(0|[1-9][0-9]{0,2}(,[0-9]{3})+|[1-9][0-9]*)(\.[0-9]{1,2})?$'
              THEN replace(t, ',', '')::numeric * 100 END
$$;

-- A positive amount in fen (at most MAX_FEN), or NULL.
CREATE FUNCTION fl.imp_fen(n numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN n > 0 AND n <= 9000000000000000000 THEN n::bigint END
$$;

-- Yuan text -> positive fen, or NULL: fl.imp_fen(fl.imp_amount_num(t)), with a fast path
-- for the form nearly every row has (1234.56: no sign, no commas, no leading zero, two
-- decimals, at most 15 digits before the point) that skips the full regex and numeric
-- arithmetic (2.2 s -> 0.5 s a million rows). Same value wherever the fast path applies.
CREATE FUNCTION fl.imp_fen_of(t text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t ~ '^[1-9][0-9]*\.[0-9][0-9]$' AND length(t) <= 18 THEN replace(t, '.', '')::bigint
              ELSE fl.imp_fen(fl.imp_amount_num(t)) END
$$;

CREATE FUNCTION fl.imp_amount_problem(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN coalesce(t, '') = '' THEN 'the amount is empty'
              WHEN t ~ '^-?[0-9][0-9,]*\.[0-9]{3,}$'
                THEN format('''%s'' has more than two decimals; amounts are yuan with at most two decimals (like 1,234.56)', t)
              WHEN fl.imp_amount_num(t) IS NULL
                THEN format('''%s'' is not an amount in yuan with at most two decimals (like 1,234.56)', t)
              WHEN fl.imp_amount_num(t) < 0 THEN format('''%s'' is negative; amounts must be positive', t)
              WHEN fl.imp_amount_num(t) = 0 THEN format('''%s'' is zero; amounts must be positive', t)
              WHEN fl.imp_amount_num(t) > 9000000000000000000 THEN format('''%s'' is too large', t) END
$$;

-- The component rule of a book: EMP needs pooled|personal, RES none. NULL = fine.
CREATE FUNCTION fl.imp_component_problem(p_book text, p_components text[], p_comp text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_components IS NULL THEN NULL
              WHEN cardinality(p_components) = 0 AND p_comp <> ''
                THEN format('book %s has no components; leave component empty (got ''%s'')', p_book, p_comp)
              WHEN cardinality(p_components) > 0 AND NOT p_comp = ANY (p_components)
                THEN format('book %s needs a component (%s) on every row; got ''%s''', p_book,
                            array_to_string(p_components, ' or '), p_comp) END
$$;

-- The same rule as a boolean, inlinable (no format()): used on the fast path.
CREATE FUNCTION fl.imp_component_ok(p_components text[], p_comp text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN cardinality(p_components) = 0 THEN p_comp = '' ELSE p_comp = ANY (p_components) END
$$;

CREATE FUNCTION fl.imp_reference_problem(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN coalesce(t, '') = '' THEN 'the reference is empty; every row needs its own reference'
              WHEN length(t) > 150 THEN 'the reference is longer than 150 characters' END
$$;

-- ---------------------------------------------------------------------------
-- fl.import_line's references (table of 0003): the foreign keys' per-row checks cost
-- ~10 µs a line (2 s of a 200,000-line import for entry_id; 2.4 s of a 1,000,000-line one
-- for batch_id, one SPI query per row to find the same batch a million times). Entries
-- can never be deleted (append_only) nor batches (no_delete, no_truncate), so "the entry
-- and the batch exist when the line is inserted" is all the keys guarantee: checked here
-- once per statement over the transition table's DISTINCT ids, with the same names.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.import_line DROP CONSTRAINT IF EXISTS import_line_entry_id_fkey;
ALTER TABLE fl.import_line DROP CONSTRAINT IF EXISTS import_line_batch_id_fkey;

CREATE FUNCTION fl.import_line_entry_exists() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad bigint;
BEGIN
  SELECT d.entry_id INTO bad FROM (SELECT DISTINCT n.entry_id FROM new_lines n WHERE n.entry_id IS NOT NULL) d
   WHERE NOT EXISTS (SELECT 1 FROM fl.entry e WHERE e.id = d.entry_id) LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('import_line_entry_id_fkey', format('an import line refers to entry %s, which does not exist', bad),
                      'foreign_key_violation');
  END IF;
  SELECT d.batch_id INTO bad FROM (SELECT DISTINCT n.batch_id FROM new_lines n) d
   WHERE NOT EXISTS (SELECT 1 FROM fl.import_batch b WHERE b.id = d.batch_id) LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('import_line_batch_id_fkey', format('an import line refers to batch %s, which does not exist', bad),
                      'foreign_key_violation');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER import_line_entry_exists AFTER INSERT ON fl.import_line
  REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION fl.import_line_entry_exists();

-- The row checks every import shares — date (valid, not in a closed period), unit
-- (known; an officer's own), book, amount, reference — as rows (column, reason, kind).
-- LANGUAGE sql so the planner inlines it into each importer's CROSS JOIN LATERAL.
CREATE FUNCTION fl._imp_row_problems(p_t_date text, p_d date, p_closed boolean, p_unit text, p_ukind text,
                                     p_book text, p_bcomps text[], p_t_amount text, p_reference text, u fl.app_user)
RETURNS TABLE (col text, why text, kind text)
LANGUAGE sql STABLE AS $$
  VALUES
    ('date', CASE WHEN p_d IS NULL THEN fl.imp_date_problem(p_t_date)
                  WHEN p_closed THEN format('%s falls in the closed period %s', p_d, to_char(p_d, 'YYYY-MM')) END, 'bad'),
    ('unit', CASE WHEN p_ukind IS NULL THEN format('unknown unit ''%s''', p_unit) END, 'bad'),
    ('unit', CASE WHEN p_ukind IS NOT NULL AND u.role = 'officer' AND p_unit <> u.unit
                  THEN format('%s is an officer of unit %s and may not import rows of unit %s', u.name, u.unit, p_unit) END,
     'permission'),
    ('book', CASE WHEN p_bcomps IS NULL THEN format('unknown book ''%s''', p_book) END, 'bad'),
    ('amount', fl.imp_amount_problem(p_t_amount), 'bad'),
    ('reference', fl.imp_reference_problem(p_reference), 'bad')
$$;

-- ---------------------------------------------------------------------------
-- Shared steps of every import.
-- ---------------------------------------------------------------------------
-- Point the session view pg_temp.fl_imp_src at the caller's stage and start an
-- empty problem list. Static SQL in the import functions reads the view; dropping
-- and re-creating it invalidates their cached plans, so each call sees its stage.
CREATE FUNCTION fl._imp_open(p_stage regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF p_stage IS NULL THEN
    PERFORM fl.refuse('bad_document', 'no staged file was given');
  END IF;
  DROP VIEW IF EXISTS pg_temp.fl_imp_src;
  DROP TABLE IF EXISTS pg_temp.fl_imp_work, pg_temp.fl_imp_grp, pg_temp.fl_imp_new, pg_temp.fl_imp_ent, pg_temp.fl_imp_res,
                       pg_temp.fl_imp_err, pg_temp.fl_imp_acc, pg_temp.fl_imp_gc,
                       pg_temp.fl_imp_map;
  EXECUTE format('CREATE TEMP VIEW fl_imp_src AS SELECT * FROM %s', p_stage);
  CREATE TEMP TABLE fl_imp_err (row_no int, col text, why text, kind text) ON COMMIT DROP;
  CREATE TEMP TABLE fl_imp_res (ord int, entry_id bigint, status text) ON COMMIT DROP;
  CREATE TEMP TABLE fl_imp_acc (book text, chart text, unit text, holder text, comp text, id int) ON COMMIT DROP;
END $$;

-- The problems found, as the function's answer; NULL when there are none.
CREATE FUNCTION fl._imp_problems() RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  RETURN (SELECT CASE WHEN count(*) = 0 THEN NULL ELSE jsonb_build_object(
           'error_count', count(*),
           'errors', (SELECT jsonb_agg(jsonb_build_object('row', e.row_no, 'column', e.col, 'reason', e.why,
                                                          'kind', e.kind) ORDER BY e.row_no, e.col)
                        FROM (SELECT * FROM pg_temp.fl_imp_err ORDER BY row_no, col LIMIT 200) e)) END
    FROM pg_temp.fl_imp_err);
END $$;

-- Post the entries of pg_temp.fl_imp_ent (ord, chunk, ...) chunk by chunk through
-- fl._post, in this transaction; p_entries / p_postings are queries with $1 = the
-- chunk number returning one fl.new_entry[] / fl.new_posting[]. Results accumulate
-- in pg_temp.fl_imp_res. Chunks bound the backend's memory (~50,000 rows each).
CREATE FUNCTION fl._imp_post(p_entries text, p_postings text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  c  int;
  es fl.new_entry[];
  ps fl.new_posting[];
BEGIN
  FOR c IN SELECT DISTINCT e.chunk FROM pg_temp.fl_imp_ent e ORDER BY 1 LOOP
    EXECUTE p_entries INTO es USING c;
    EXECUTE p_postings INTO ps USING c;
    INSERT INTO pg_temp.fl_imp_res SELECT * FROM fl._post(es, ps);
  END LOOP;
END $$;

-- The bulk path of the large imports (payments, collections), beside fl._post: the
-- entries from one query, their postings from the importer's own INSERT over its work
-- tables with account ids resolved once (integer joins). Arrays of composite values
-- joined on text keys cost 12-20 s of a 1,000,000-line import; this costs a scan.
-- Nothing is checked less: the entry and posting triggers and the commit-time seal run
-- on these rows exactly as on fl._post's (they are the rules; _post's own checks are
-- friendly messages for hand-made documents, which an import's rows never are).
--
-- Accounts: pg_temp.fl_imp_acc (book, chart, unit, holder, comp) rows without an id get
-- one, found or created by fl.account_for in key order (two importers creating the same
-- accounts take their locks in the same order). One call per distinct account.
CREATE FUNCTION fl._imp_accounts() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE a record;
BEGIN
  FOR a IN SELECT DISTINCT x.book, x.chart, x.unit, x.holder, x.comp FROM pg_temp.fl_imp_acc x WHERE x.id IS NULL
            ORDER BY 1, 2, 3, 4, 5 LOOP
    UPDATE pg_temp.fl_imp_acc x SET id = fl.account_for(a.book, a.chart, a.unit, a.holder, a.comp)
     WHERE (x.book, x.chart, x.unit, x.holder, x.comp) = (a.book, a.chart, a.unit, a.holder, a.comp);
  END LOOP;
END $$;

-- Entries: p_entries is a query returning (ord, book, d, memo, key, source, chash), one
-- row per entry, posted through fl._post with no postings (the importer inserts those
-- itself): the same idempotency rule as every other write — same key and content hash =
-- the entry already posted ('duplicate'), other content = idempotency_conflict. A few
-- thousand entries make a small array; it is the million postings that must not.
-- Results (ord, entry_id, status) go to pg_temp.fl_imp_res.
CREATE FUNCTION fl._imp_entries(p_kind text, p_entries text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE es fl.new_entry[];
BEGIN
  EXECUTE format($q$SELECT array_agg(ROW(e.ord, e.book, e.d, e.memo, %L, e.key, NULL, NULL, e.source, e.chash)::fl.new_entry
                                     ORDER BY e.ord) FROM (%s) e$q$, p_kind, p_entries) INTO es;
  INSERT INTO pg_temp.fl_imp_res SELECT * FROM fl._post(coalesce(es, '{}'), '{}');
  ANALYZE pg_temp.fl_imp_res;
END $$;

CREATE FUNCTION fl._imp_batch(p_kind text, p_file text, p_sha256 text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bid bigint;
BEGIN
  INSERT INTO fl.import_batch (kind, file_name, file_sha256, rows_total)
  VALUES (p_kind, p_file, coalesce(p_sha256, ''), (SELECT count(*) FROM pg_temp.fl_imp_work))
  RETURNING id INTO bid;
  RETURN bid;
END $$;

-- References used twice in one file, each repeat reported with the row where the
-- reference first appears: among every row, or (p_registered) only among rows whose
-- reference the register already holds — the payments import lets the register's
-- primary key find repeats among new rows, and calls this for all rows only to word them.
CREATE FUNCTION fl._imp_repeats(p_registered boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  EXECUTE format($q$
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, 'reference',
           format('reference ''%%s'' is used again (first on row %%s); each row needs its own reference',
                  w.reference, d.first),
           'bad'
      FROM pg_temp.fl_imp_work w
      JOIN (SELECT reference, min(row_no) AS first FROM pg_temp.fl_imp_work
             WHERE reference <> '' %s GROUP BY reference HAVING count(*) > 1) d ON d.reference = w.reference
     WHERE w.row_no > d.first$q$,
    CASE WHEN p_registered THEN 'AND reg_h IS NOT NULL' END);
END $$;

-- References already imported with other content (a conflict, never a silent overwrite).
CREATE FUNCTION fl._imp_conflicts(p_namespace text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference',
         format('reference ''%s'' was already imported (batch %s, %s, row %s) with different content: conflict; '
                'correct the row or give it a new reference', w.reference, l.batch_id,
                (SELECT b.file_name FROM fl.import_batch b WHERE b.id = l.batch_id), l.row_no),
         'conflict'
    FROM pg_temp.fl_imp_work w
    JOIN fl.import_line l ON l.namespace = p_namespace AND l.reference = w.reference
   WHERE w.valid AND l.content_hash <> w.h;
END $$;

-- Both, for the importers that check every row up front.
CREATE FUNCTION fl._imp_reference_checks(p_namespace text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  PERFORM fl._imp_repeats(false);
  PERFORM fl._imp_conflicts(p_namespace);
END $$;

-- ---------------------------------------------------------------------------
-- Payments (待遇支出): date,unit,book,provider,category,amount,reference[,component,paid_from].
-- One entry per (date, unit, book, component, paid_from) and chunk: a debit per row
-- on 5001.<category> / 5101, one credit for the total on 1004 county_exp or city_exp.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.import_payments(p_stage regclass, p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp
-- Sorts and hashes over a million staged rows stay in memory (the default 4MB spilled them).
SET work_mem = '64MB' AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'import benefit payments');
  probs jsonb;
  bid   bigint;
  n_all int;
  n_new int;
  bad   boolean;
  con   text;
BEGIN
  PERFORM fl._imp_open(p_stage);
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
                  AND r.paid_from IS NOT NULL AND NOT (r.paid_from = 'county' AND r.ukind <> 'county'), false) AS ok
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
  SELECT y.row_no, y.reference, y.gk, y.eg, y.cat, y.provider, y.fen, y.valid,
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
    LEFT JOIN fl.import_line l ON l.namespace = 'payments' AND l.reference = y.reference;

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
                           THEN format('unit %s is not a county and has no county expenditure account; use paid_from city', g.unit) END, 'bad'),
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
    SELECT 'payments', w.reference, w.h, m.entry_id, bid, w.row_no
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
     WHERE w.reg_h IS NULL
     ORDER BY w.reference COLLATE "C";
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
  SELECT count(*) INTO n_all FROM pg_temp.fl_imp_work;
  UPDATE fl.import_batch SET rows_posted = n_new, rows_skipped = n_all - n_new,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res WHERE status = 'posted')
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

-- ---------------------------------------------------------------------------
-- Collections and subsidies (征缴收入, 财政补贴): date,unit,book,source,amount,reference[,component].
-- One entry per row: Dr 1003 special [unit] / Cr 4001 | 4101.<level> | 4501 [unit].
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.import_collections(p_stage regclass, p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp
-- Sorts and hashes over a million staged rows stay in memory (the default 4MB spilled them).
SET work_mem = '64MB' AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'import collections and subsidies');
  probs jsonb;
  bid   bigint;
  n_all int;
  n_new int;
BEGIN
  PERFORM fl._imp_open(p_stage);
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
           WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'collections' AND l.reference = w.reference)) q;
  CREATE INDEX ON pg_temp.fl_imp_ent (chunk);
  ANALYZE pg_temp.fl_imp_ent;

  bid := fl._imp_batch('collections', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, e.d, format('征缴收入 collection %%s %%s (%%s row %%s)', e.source, e.reference, %L, e.row_no),
                 'collections', 'collections:' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, '1003', e.unit, 'special', e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, e.chart, e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'collections', e.reference, e.h, r.entry_id, bid, e.row_no
    FROM pg_temp.fl_imp_ent e JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  SELECT count(*) INTO n_all FROM pg_temp.fl_imp_work;
  UPDATE fl.import_batch SET rows_posted = n_new, rows_skipped = n_all - n_new,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res WHERE status = 'posted')
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

-- ---------------------------------------------------------------------------
-- Handover openings (基金清算): unit,book,item,amount,reference[,note,component], dated p_date.
-- Legacy deposits: Dr 1003/1002/1004 legacy holder [unit] / Cr 3001 [unit] (one entry
-- per row); register kinds become fl.register_item rows (memo only, no entry).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.import_opening(p_stage regclass, p_file text, p_sha256 text, p_date date) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'record handover opening balances');
  probs jsonb;
  bid   bigint;
  n_all int;
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
  PERFORM fl._imp_open(p_stage);
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
     AND NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening' AND l.reference = w.reference);
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.* FROM pg_temp.fl_imp_work w
   WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening' AND l.reference = w.reference);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY n.row_no)::int AS ord, 0 AS chunk, n.*
    FROM pg_temp.fl_imp_new n WHERE n.chart <> 'register';

  bid := fl._imp_batch('opening', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, %L::date,
                 format('期初余额 handover opening balance %%s of unit %%s%%s (%%s row %%s)', e.item, e.unit,
                        CASE WHEN e.note <> '' THEN ': ' || e.note ELSE '' END, %L, e.row_no),
                 'opening', 'opening:' || e.reference, NULL, NULL,
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
  SELECT 'opening', n.reference, n.h, r.entry_id, bid, n.row_no
    FROM pg_temp.fl_imp_new n
    LEFT JOIN pg_temp.fl_imp_ent e ON e.row_no = n.row_no
    LEFT JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  SELECT count(*) INTO n_all FROM pg_temp.fl_imp_work;
  UPDATE fl.import_batch SET rows_posted = n_new, rows_skipped = n_all - n_new,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res WHERE status = 'posted')
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries,
                                    'register_items', n_reg)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

-- ---------------------------------------------------------------------------
-- Handover transfer up (上划): per (book, component) of a county, one entry
-- Dr 1003 special [unit] / Cr each legacy account with a balance, for all of it.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.handover_transfer(p_unit text, p_date date)
RETURNS TABLE (book text, component text, entry_id bigint, status text, amount bigint, idempotency_key text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['finance'], 'transfer a county''s legacy funds up to the special account (上划)');
  uk   text;
  es   fl.new_entry[];
  ps   fl.new_posting[];
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
  -- Lock the legacy accounts first: what we read is what we move.
  PERFORM 1 FROM fl.account a
   WHERE a.unit = p_unit AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
   ORDER BY a.id FOR UPDATE;

  CREATE TEMP TABLE fl_ho_acc ON COMMIT DROP AS
  SELECT a.id, a.book, a.chart_code, a.holder, a.component, a.balance,
         dense_rank() OVER (ORDER BY a.book, a.component)::int AS ord
    FROM fl.account a
   WHERE a.unit = p_unit AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure') AND a.balance > 0;
  IF NOT EXISTS (SELECT 1 FROM pg_temp.fl_ho_acc) THEN
    DROP TABLE pg_temp.fl_ho_acc;
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
            FROM pg_temp.fl_ho_acc a
            CROSS JOIN LATERAL (SELECT format('handover-transfer:%s:%s:%s', p_unit, a.book,
                                              coalesce(nullif(a.component, ''), '-')) AS base) k
           GROUP BY a.ord, a.book, a.component, k.base) g;
  SELECT array_agg(p) INTO ps FROM (
    SELECT ROW(a.ord, 0, a.book, '1003', p_unit, 'special', a.component, 'D', sum(a.balance)::bigint, NULL, NULL)::fl.new_posting AS p
      FROM pg_temp.fl_ho_acc a GROUP BY a.ord, a.book, a.component
    UNION ALL
    SELECT ROW(a.ord, row_number() OVER (PARTITION BY a.ord ORDER BY a.id)::int, a.book, a.chart_code, p_unit, a.holder,
               a.component, 'C', a.balance, NULL, NULL)::fl.new_posting
      FROM pg_temp.fl_ho_acc a) x;

  RETURN QUERY
  SELECT e.book, coalesce(e2.component, ''), r.entry_id, r.status,
         (SELECT sum(a.balance)::bigint FROM pg_temp.fl_ho_acc a WHERE a.ord = r.ord), e.idempotency_key
    FROM fl._post(es, ps) r
    JOIN unnest(es) e ON e.ord = r.ord
    LEFT JOIN (SELECT DISTINCT a.ord, a.component FROM pg_temp.fl_ho_acc a) e2 ON e2.ord = r.ord
   ORDER BY r.ord;
  DROP TABLE pg_temp.fl_ho_acc;
END $$;

-- ---------------------------------------------------------------------------
-- Memo registers: clearing an item posts the real entry and reduces what is owed.
--   fiscal_arrears   Dr 1003 special / Cr 4101.county       (finance)
--   employer_arrears Dr 1003 special / Cr 4001              (finance)
--   unpaid_claims    Dr 5001.other   / Cr 1004 county_exp   (reviewer; the county must hold it)
--   government_share Dr 1003 special / Cr 4101.shortfall    (finance; pooled component)
-- p_key NULL: register-clear:<item>:<n>, n = this item's clearings so far + 1.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.clear_register(p_item bigint, p_amount bigint, p_date date, p_key text)
RETURNS TABLE (item_id bigint, entry_id bigint, status text, cleared bigint, outstanding bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  me   fl.app_user := fl.caller();
  it   fl.register_item;
  prev fl.register_clearing;
  comp text;
  dr_code text; dr_holder text; cr_code text; cr_holder text;
  key  text;
  res  record;
BEGIN
  SELECT * INTO it FROM fl.register_item i WHERE i.id = p_item FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no register item %s (see fundledger register list)', p_item), 'no_data_found');
  END IF;
  IF it.kind = 'unpaid_claims' THEN
    PERFORM fl.require_role(ARRAY['reviewer'], 'clear unpaid provider claims');
  ELSE
    PERFORM fl.require_role(ARRAY['finance'], format('clear %s (money arriving in the special account)', replace(it.kind, '_', ' ')));
  END IF;
  key := coalesce(nullif(trim(p_key), ''),
                  format('register-clear:%s:%s', p_item, (SELECT count(*) + 1 FROM fl.register_clearing c WHERE c.item_id = p_item)));

  SELECT * INTO prev FROM fl.register_clearing c WHERE c.idempotency_key = key;
  IF FOUND THEN
    IF prev.item_id = p_item AND prev.amount = p_amount AND prev.cleared_on = p_date THEN
      RETURN QUERY SELECT it.id, prev.entry_id, 'duplicate'::text, it.cleared, it.amount - it.cleared;
      RETURN;
    END IF;
    PERFORM fl.refuse('idempotency_conflict', format(
      'key %s was already used to clear %s of item %s on %s; nothing was written', key, fl.fmt_fen(prev.amount),
      prev.item_id, prev.cleared_on), 'unique_violation');
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('bad_document', 'the amount cleared must be positive');
  END IF;
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the clearing date is missing (--date)');
  END IF;
  IF it.cleared >= it.amount THEN
    PERFORM fl.refuse('illegal_state', format('register item %s (%s of unit %s, %s) is already fully cleared',
      it.id, it.kind, it.unit, fl.fmt_fen(it.amount)));
  END IF;
  IF p_amount > it.amount - it.cleared THEN
    PERFORM fl.refuse('register_not_overcleared', format(
      'register item %s (%s of unit %s) has %s outstanding; clearing %s would clear more than is owed',
      it.id, it.kind, it.unit, fl.fmt_fen(it.amount - it.cleared), fl.fmt_fen(p_amount)));
  END IF;

  comp := CASE WHEN (SELECT cardinality(b.components) FROM fl.book b WHERE b.code = it.book) = 0 THEN ''
               WHEN it.kind = 'government_share' OR it.component = ''
                 THEN (SELECT b.pooled_component FROM fl.book b WHERE b.code = it.book)
               ELSE it.component END;
  CASE it.kind
    WHEN 'fiscal_arrears'   THEN dr_code := '1003'; dr_holder := 'special'; cr_code := '4101.county'; cr_holder := '';
    WHEN 'employer_arrears' THEN dr_code := '1003'; dr_holder := 'special'; cr_code := '4001'; cr_holder := '';
    WHEN 'government_share' THEN dr_code := '1003'; dr_holder := 'special'; cr_code := '4101.shortfall'; cr_holder := '';
    ELSE dr_code := '5001.other'; dr_holder := ''; cr_code := '1004'; cr_holder := 'county_exp';
  END CASE;

  SELECT * INTO res FROM fl._post(
    ARRAY[ROW(1, it.book, p_date,
              format('备查簿 register item %s (%s, %s) cleared: %s', it.id, it.kind, it.reference, fl.fmt_fen(p_amount)),
              'register_clear', key, NULL, NULL,
              jsonb_build_object('register_item', it.id, 'kind', it.kind), NULL)::fl.new_entry],
    ARRAY[ROW(1, 1, it.book, dr_code, it.unit, dr_holder, comp, 'D', p_amount, it.reference, NULL)::fl.new_posting,
          ROW(1, 2, it.book, cr_code, it.unit, cr_holder, comp, 'C', p_amount, it.reference, NULL)::fl.new_posting]);

  INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
  VALUES (it.id, p_amount, p_date, res.entry_id, key);
  UPDATE fl.register_item i SET cleared = i.cleared + p_amount WHERE i.id = it.id;
  RETURN QUERY SELECT it.id, res.entry_id, res.status, it.cleared + p_amount, it.amount - it.cleared - p_amount;
END $$;

-- ---------------------------------------------------------------------------
-- Budgets (预算): year,unit,book,line,amount[,component]. One budget per (year, unit,
-- book); a file whose lines differ from the budget in force adds a new version.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.import_budget(p_stage regclass, p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'import budgets');
  probs jsonb;
  bid   bigint;
  out   jsonb;
BEGIN
  PERFORM fl._imp_open(p_stage);
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, t_year text, y int, unit text, ukind text, book text, bcomps text[], line text,
    lkind text, comp text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT x.*, coalesce(x.y IS NOT NULL AND x.ukind IS NOT NULL AND x.bcomps IS NOT NULL
               AND fl.imp_component_ok(x.bcomps, x.comp)
               AND x.lkind IN ('revenue', 'expenditure') AND x.fen IS NOT NULL, false), NULL
    FROM (SELECT s.row_no, '' AS reference, s.year AS t_year,
                 CASE WHEN s.year ~ '^[0-9]{4}$' THEN CASE WHEN s.year::int BETWEEN 2000 AND 2100 THEN s.year::int END END AS y,
                 s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps, s.line, ch.kind AS lkind,
                 lower(s.component) AS comp, s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
            FROM pg_temp.fl_imp_src s
            LEFT JOIN fl.unit un ON un.code = s.unit
            LEFT JOIN fl.book bk ON bk.code = upper(s.book)
            LEFT JOIN fl.chart ch ON ch.code = s.line) x;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('year', CASE WHEN w.y IS NULL THEN format('''%s'' is not a year (2000-2100)', w.t_year) END),
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('line', CASE WHEN w.lkind IS NULL THEN format('unknown account ''%s'' (a chart code like 4001, 4101, 5001, 5101)', w.line)
                    WHEN w.lkind NOT IN ('revenue', 'expenditure')
                    THEN format('account %s is not a revenue (4xxx) or expenditure (5xxx) account', w.line) END),
      ('amount', fl.imp_amount_problem(w.t_amount))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'line', format('line %s appears again for %s %s %s%s (first on row %s)', w.line, w.y, w.unit, w.book,
                                  CASE WHEN w.comp <> '' THEN ' ' || w.comp ELSE '' END, f.first), 'bad'
    FROM pg_temp.fl_imp_work w
    JOIN (SELECT y, unit, book, comp, line, min(row_no) AS first FROM pg_temp.fl_imp_work WHERE valid
           GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) f USING (y, unit, book, comp, line)
   WHERE w.valid AND w.row_no > f.first;
  -- A parent line and one of its sub-accounts in one budget would count the money twice.
  INSERT INTO pg_temp.fl_imp_err
  SELECT c.row_no, 'line', format('line %s is a sub-account of line %s (row %s) in the same budget; give one or the other',
                                  c.line, p.line, p.row_no), 'bad'
    FROM pg_temp.fl_imp_work c
    JOIN fl.chart ch ON ch.code = c.line
    JOIN pg_temp.fl_imp_work p ON p.line = ch.parent AND p.y = c.y AND p.unit = c.unit AND p.book = c.book AND p.comp = c.comp
   WHERE c.valid AND p.valid;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  bid := fl._imp_batch('budget', p_file, p_sha256);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT g.*, cur.id AS cur_id, cur.version AS cur_version, (cur.content_hash IS NOT DISTINCT FROM g.chash) AS same
    FROM (SELECT w.y, w.unit, w.book,
                 sha256(convert_to(string_agg(w.comp || ':' || w.line || ':' || w.fen, ',' ORDER BY w.comp, w.line), 'UTF8')) AS chash
            FROM pg_temp.fl_imp_work w GROUP BY w.y, w.unit, w.book) g
    LEFT JOIN LATERAL (SELECT b.id, b.version, b.content_hash FROM fl.budget b
                        WHERE b.year = g.y AND b.unit = g.unit AND b.book = g.book
                        ORDER BY b.version DESC LIMIT 1) cur ON true;

  CREATE TEMP TABLE fl_imp_new (id bigint, year int, unit text, book text) ON COMMIT DROP;
  WITH ins AS (
    INSERT INTO fl.budget (year, unit, book, version, content_hash)
    SELECT e.y, e.unit, e.book, coalesce(e.cur_version, 0) + 1, e.chash FROM pg_temp.fl_imp_ent e WHERE NOT e.same
    ORDER BY e.y, e.unit, e.book
    RETURNING id, year, unit, book)
  INSERT INTO pg_temp.fl_imp_new SELECT * FROM ins;
  INSERT INTO fl.budget_line (budget_id, component, line, amount)
  SELECT n.id, w.comp, w.line, w.fen
    FROM pg_temp.fl_imp_new n JOIN pg_temp.fl_imp_work w ON w.y = n.year AND w.unit = n.unit AND w.book = n.book;

  SELECT jsonb_agg(jsonb_build_object(
           'year', b.year, 'unit', b.unit, 'book', b.book, 'version', b.version,
           'status', CASE WHEN n.id IS NOT NULL THEN 'created' ELSE 'unchanged' END,
           'revenue', t.revenue, 'expenditure', t.expenditure, 'deficit', t.deficit)
           ORDER BY b.year, b.unit, b.book)
    INTO out
    FROM pg_temp.fl_imp_ent e
    JOIN fl.budget b ON b.id = coalesce((SELECT n2.id FROM pg_temp.fl_imp_new n2
                                          WHERE n2.year = e.y AND n2.unit = e.unit AND n2.book = e.book), e.cur_id)
    LEFT JOIN pg_temp.fl_imp_new n ON n.id = b.id
    CROSS JOIN LATERAL fl.budget_totals(b.id) t;
  UPDATE fl.import_batch SET rows_posted = (SELECT count(*) FROM pg_temp.fl_imp_work w
                                             JOIN pg_temp.fl_imp_new n ON n.year = w.y AND n.unit = w.unit AND n.book = w.book),
         rows_skipped = rows_total - (SELECT count(*) FROM pg_temp.fl_imp_work w
                                       JOIN pg_temp.fl_imp_new n ON n.year = w.y AND n.unit = w.unit AND n.book = w.book)
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', 0,
                                    'budgets', out)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

-- Revenue and expenditure of one budget; deficit when, in any component, planned
-- expenditure exceeds planned revenue (components never pay for each other).
CREATE FUNCTION fl.budget_totals(p_budget bigint)
RETURNS TABLE (revenue bigint, expenditure bigint, deficit boolean)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce(sum(c.rev), 0)::bigint, coalesce(sum(c.exp), 0)::bigint, coalesce(bool_or(c.exp > c.rev), false)
    FROM (SELECT l.component,
                 coalesce(sum(l.amount) FILTER (WHERE ch.kind = 'revenue'), 0) AS rev,
                 coalesce(sum(l.amount) FILTER (WHERE ch.kind = 'expenditure'), 0) AS exp
            FROM fl.budget_line l JOIN fl.chart ch ON ch.code = l.line
           WHERE l.budget_id = p_budget GROUP BY l.component) c
$$;

-- ---------------------------------------------------------------------------
-- Privileges: every group may call the API (each function checks the role itself);
-- the helpers are internal.
-- ---------------------------------------------------------------------------
REVOKE ALL ON FUNCTION fl._imp_row_problems(text, date, boolean, text, text, text, text[], text, text, fl.app_user),
  fl.imp_days_in_month(int, int), fl.imp_date(text), fl.imp_date_problem(text),
  fl.imp_amount_num(text), fl.imp_fen(numeric), fl.imp_fen_of(text), fl.imp_amount_problem(text),
  fl.imp_component_problem(text, text[], text), fl.imp_component_ok(text[], text), fl.imp_reference_problem(text), fl._imp_open(regclass),
  fl._imp_problems(), fl._imp_post(text, text), fl._imp_repeats(boolean), fl._imp_conflicts(text), fl._imp_batch(text, text, text),
  fl._imp_reference_checks(text),
  fl.import_payments(regclass, text, text), fl.import_collections(regclass, text, text),
  fl.import_opening(regclass, text, text, date), fl.import_budget(regclass, text, text),
  fl.handover_transfer(text, date), fl.clear_register(bigint, bigint, date, text), fl.budget_totals(bigint)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.import_payments(regclass, text, text), fl.import_collections(regclass, text, text),
  fl.import_opening(regclass, text, text, date), fl.import_budget(regclass, text, text),
  fl.handover_transfer(text, date), fl.clear_register(bigint, bigint, date, text), fl.budget_totals(bigint)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
