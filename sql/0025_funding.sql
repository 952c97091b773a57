-- fundledger migration 0025: funding standards (issue 22, part 1).
--
-- The national notice for 2022 (医保发〔2022〕20号) sets residents' funding per insured person
-- (960 yuan: a fiscal subsidy of at least 610, an individual contribution of 350), and
-- Shandong's measures keep subsidy : individual within 2 : 1. To hold each unit's money
-- received against the year's standard the ledger needs the number of insured people per
-- unit, scheme (book) and year. The standards themselves are region settings
-- ([[funding_standards]] in the region file, fl.setting); the report is computed in Python
-- (ledger/core/funding.py) from the books and the headcounts here.
--
-- fl.insured_count: one row per version of a (year, unit, book) headcount. Append-only: a
-- correction is a new version, and it needs a reason (who would otherwise tell a typo from a
-- quiet change of the denominator?). Chained in the record history (fl._chain_table), so
-- verify names a rewritten or removed version. Imported as a file (year, unit, book,
-- insured[, reason]) by the city bureau (reviewer), through the stage the owner makes
-- (fl.import_stage('insured')), like every other import.

CREATE TABLE fl.insured_count (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year        int    NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  unit        text   NOT NULL REFERENCES fl.unit (code),
  book        text   NOT NULL REFERENCES fl.book (code),
  version     int    NOT NULL CHECK (version >= 1),
  insured     bigint NOT NULL CHECK (insured >= 0 AND insured <= 100000000),
  reason      text   NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
  batch_id    bigint NOT NULL REFERENCES fl.import_batch (id),
  row_no      int    NOT NULL,
  recorded_by text   NOT NULL DEFAULT session_user,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (year, unit, book, version),
  CONSTRAINT insured_correction_reason CHECK (version = 1 OR btrim(reason) <> '')
);

CREATE TRIGGER insured_count_append_only BEFORE UPDATE OR DELETE ON fl.insured_count
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER insured_count_no_truncate BEFORE TRUNCATE ON fl.insured_count
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

ALTER TABLE fl.insured_count ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.insured_count FOR SELECT
  USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
REVOKE ALL ON fl.insured_count FROM PUBLIC;
GRANT SELECT ON fl.insured_count TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

SELECT fl._chain_table('fl.insured_count', ARRAY['id']);

-- The stage of each kind of file (0008's list and the headcount file).
CREATE OR REPLACE FUNCTION fl._imp_stage_columns(p_kind text) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE p_kind
    WHEN 'payments'    THEN ARRAY['date', 'unit', 'book', 'provider', 'category', 'amount', 'reference', 'component',
                                  'paid_from']
    WHEN 'collections' THEN ARRAY['date', 'unit', 'book', 'source', 'amount', 'reference', 'component']
    WHEN 'opening'     THEN ARRAY['unit', 'book', 'item', 'amount', 'reference', 'note', 'component']
    WHEN 'budget'      THEN ARRAY['year', 'unit', 'book', 'line', 'amount', 'component']
    WHEN 'insured'     THEN ARRAY['year', 'unit', 'book', 'insured', 'reason'] END
$$;

-- 0008's fl._imp_clear, with the headcount stage among the names it knows.
CREATE OR REPLACE FUNCTION fl._imp_clear(p_stage text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  names text[] := fl._imp_work_names();
  r     record;
BEGIN
  IF p_stage IS NOT NULL THEN
    IF NOT p_stage = ANY (ARRAY['fl_stage_payments', 'fl_stage_collections', 'fl_stage_opening', 'fl_stage_budget', 'fl_stage_insured']) THEN
      PERFORM fl.refuse('bad_document', format('no such stage %s', p_stage));
    END IF;
    names := names || p_stage;
  END IF;
  IF pg_catalog.pg_my_temp_schema() = 0 THEN
    RETURN;
  END IF;
  FOR r IN SELECT c.relname, c.relkind, pg_catalog.pg_get_userbyid(c.relowner) = current_user AS ours
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname = ANY (names)
            ORDER BY c.relkind = 'v' DESC, c.relname LOOP
    IF NOT r.ours OR r.relkind NOT IN ('r', 'v') THEN
      PERFORM fl.refuse('permission_denied', format(
        'this session has a temporary object named %s, which fundledger''s imports use for their own work; '
        'nothing was imported (reconnect, or drop it)', r.relname), 'insufficient_privilege');
    END IF;
    EXECUTE format(CASE r.relkind WHEN 'v' THEN 'DROP VIEW pg_temp.%I' ELSE 'DROP TABLE pg_temp.%I' END, r.relname);
  END LOOP;
  SELECT t.typname INTO r FROM pg_catalog.pg_type t
   WHERE t.typnamespace = pg_catalog.pg_my_temp_schema() AND t.typname = ANY (names) LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('permission_denied', format(
      'this session has a temporary type named %s, which fundledger''s imports use for their own work; '
      'nothing was imported (reconnect, or drop it)', r.typname), 'insufficient_privilege');
  END IF;
END $$;

-- ---------------------------------------------------------------------------
-- Insured headcounts (参保人数): year,unit,book,insured[,reason]. Per (year, unit, book) the
-- file's figure is new (version 1), the same as the version in force (unchanged, nothing
-- written), or different (a correction: a new version, which needs a reason). All rows or
-- none: every problem is reported by row and column.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.import_insured(p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'import insured headcounts');
  probs jsonb;
  bid   bigint;
  out   jsonb;
  n_new int;
BEGIN
  PERFORM fl._imp_open('insured');
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT x.*, (x.y IS NOT NULL AND x.ukind IS NOT NULL AND x.bkind IS NOT NULL AND x.n IS NOT NULL
               AND length(x.reason) <= 500) AS valid
    FROM (SELECT s.row_no, s.year AS t_year,
                 CASE WHEN btrim(s.year) ~ '^[0-9]{4}$' THEN
                   CASE WHEN btrim(s.year)::int BETWEEN 2000 AND 2100 THEN btrim(s.year)::int END END AS y,
                 s.unit, un.kind AS ukind, upper(btrim(s.book)) AS book, bk.code AS bkind,
                 s.insured AS t_insured,
                 CASE WHEN replace(btrim(s.insured), ',', '') ~ '^[0-9]{1,9}$' THEN
                   CASE WHEN replace(btrim(s.insured), ',', '')::bigint <= 100000000
                        THEN replace(btrim(s.insured), ',', '')::bigint END END AS n,
                 btrim(s.reason) AS reason
            FROM pg_temp.fl_imp_src s
            LEFT JOIN fl.unit un ON un.code = btrim(s.unit)
            LEFT JOIN fl.book bk ON bk.code = upper(btrim(s.book))) x;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('year', CASE WHEN w.y IS NULL THEN format('''%s'' is not a year (2000-2100)', w.t_year) END),
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit) END),
      ('book', CASE WHEN w.bkind IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('insured', CASE WHEN w.n IS NULL THEN format(
         '''%s'' is not a number of insured people (a whole number from 0 to 100,000,000)', w.t_insured) END),
      ('reason', CASE WHEN length(w.reason) > 500 THEN 'the reason is longer than 500 characters' END)) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'unit', format('%s %s %s appears again (first on row %s)', w.y, w.unit, w.book, f.first), 'bad'
    FROM pg_temp.fl_imp_work w
    JOIN (SELECT y, unit, book, min(row_no) AS first FROM pg_temp.fl_imp_work WHERE valid
           GROUP BY 1, 2, 3 HAVING count(*) > 1) f USING (y, unit, book)
   WHERE w.valid AND w.row_no > f.first;
  -- A changed figure is a correction: it needs a reason.
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reason', format(
           '%s %s %s already has %s insured (version %s); a different figure is a correction and needs a reason',
           w.y, w.unit, w.book, c.insured, c.version), 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (SELECT i.insured, i.version FROM fl.insured_count i
                         WHERE i.year = w.y AND i.unit = w.unit AND i.book = w.book
                         ORDER BY i.version DESC LIMIT 1) c
   WHERE w.valid AND c.insured <> w.n AND w.reason = '';
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  bid := fl._imp_batch('insured', p_file, p_sha256);
  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.row_no, w.y, w.unit, w.book, w.n, w.reason, cur.version AS cur_version, cur.insured AS cur_insured
    FROM pg_temp.fl_imp_work w
    LEFT JOIN LATERAL (SELECT i.version, i.insured FROM fl.insured_count i
                        WHERE i.year = w.y AND i.unit = w.unit AND i.book = w.book
                        ORDER BY i.version DESC LIMIT 1) cur ON true;
  INSERT INTO fl.insured_count (year, unit, book, version, insured, reason, batch_id, row_no)
  SELECT n.y, n.unit, n.book, coalesce(n.cur_version, 0) + 1, n.n, n.reason, bid, n.row_no
    FROM pg_temp.fl_imp_new n
   WHERE n.cur_insured IS DISTINCT FROM n.n
   ORDER BY n.y, n.unit, n.book;
  GET DIAGNOSTICS n_new = ROW_COUNT;

  SELECT jsonb_agg(jsonb_build_object(
           'year', n.y, 'unit', n.unit, 'book', n.book, 'insured', n.n,
           'version', CASE WHEN n.cur_insured IS DISTINCT FROM n.n THEN coalesce(n.cur_version, 0) + 1
                           ELSE n.cur_version END,
           'previous', CASE WHEN n.cur_insured <> n.n THEN n.cur_insured END,
           'status', CASE WHEN n.cur_insured IS NULL THEN 'created'
                          WHEN n.cur_insured <> n.n THEN 'corrected' ELSE 'unchanged' END)
           ORDER BY n.y, n.unit, n.book)
    INTO out FROM pg_temp.fl_imp_new n;
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('headcounts', coalesce(out, '[]'::jsonb)));
END $$;

REVOKE ALL ON FUNCTION fl.import_insured(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.import_insured(text, text) TO fl_officer, fl_reviewer, fl_finance;
