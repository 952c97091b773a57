-- fundledger migration 0038: the reference data every figure depends on is chained and
-- guarded (issue 15, ATTACK5 S3).
--
-- Every report, the year-end rule (fl.year_figures: revenue − expenditure, who pays a
-- deficit), the monitor and the final accounts read how the chart classifies each code
-- (kind, normal side, parent), which holders are pooled or counties-only, which units
-- are the city and which counties, each book's components, and the region's settings.
-- None of it was chained: one `UPDATE fl.chart SET kind = 'liability'` by the DBA moved
-- ¥93 M of expenditure out of the income statement, and `verify`, the independent verdict
-- and `audit check-digest` against a digest filed before all said the books were whole.
--
-- Now:
--   * fl.chart, fl.holder, fl.unit, fl.book and fl.setting are hooked into the record
--     history (fl._chain_table, sql/0010): each row's versions are chained in
--     fl.record_log, and the independent verdict (online and `verify --offline`) names a
--     row that differs from its latest version (a change made with the triggers off).
--   * fl.reference_guard refuses a DELETE or TRUNCATE of any of them, and an UPDATE that
--     changes more than a row's names (unit: and its display order; setting: its value).
--     A code's classification never changes: a new classification is a new code. Region
--     settings are legitimately changed by reloading the region file (`fundledger init
--     --region FILE`): each change is a version in the history (who, when, the value), and
--     `audit check-digest` names every change of a classification or setting made after
--     the digest it is given (ledger/store/audit.py).
-- fl.account needs none of this: each posting's leg in the sealed canonical text carries
-- its account's book, chart code, unit, holder and component (ledger/core/proof.py).

CREATE FUNCTION fl.reference_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  free    text[] := CASE TG_TABLE_NAME WHEN 'unit' THEN ARRAY['name_zh', 'name_en', 'sort']
                                       WHEN 'setting' THEN ARRAY['value']
                                       ELSE ARRAY['name_zh', 'name_en'] END;
  o       jsonb;
  n       jsonb;
  changed text;
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'reference data is never removed: % on fl.% is refused (postings, reports and the year-end rule refer to it)',
      TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'reference_fixed';
  END IF;
  o := to_jsonb(OLD) - free;
  n := to_jsonb(NEW) - free;
  IF o IS DISTINCT FROM n THEN
    SELECT string_agg(k, ', ' ORDER BY k) INTO changed
      FROM jsonb_object_keys(o) k WHERE o -> k IS DISTINCT FROM n -> k;
    RAISE EXCEPTION 'fl.% %: % may not change (every report and the year-end rule read it); a new classification is a new code',
      TG_TABLE_NAME, coalesce(to_jsonb(OLD) ->> 'code', to_jsonb(OLD) ->> 'key'), changed
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'reference_fixed';
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.reference_guard() FROM PUBLIC;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['chart', 'holder', 'unit', 'book', 'setting'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.reference_guard()',
                   t || '_reference_guard', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.reference_guard()',
                   t || '_no_truncate', t);
  END LOOP;
END $$;

SELECT fl._chain_table(t.name, t.keys) FROM (VALUES
  ('fl.book', ARRAY['code']),
  ('fl.chart', ARRAY['code']),
  ('fl.holder', ARRAY['code']),
  ('fl.setting', ARRAY['key']),
  ('fl.unit', ARRAY['code'])
) AS t(name, keys) ORDER BY t.name;
