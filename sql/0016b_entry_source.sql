-- 0016b: an officer reads nothing of another unit's figures through an entry it shares.
--
-- fl.entry's row policy shows an entry to every unit with a posting on it. Its postings are
-- filtered, but the entry's own `source` is not: `fl.allocate_interest` posts all units' interest
-- in one entry and keeps every unit's share there ({"shares": [{"unit": …, "amount": …}, …]}), so
-- each county read every other county's interest (and so their relative daily balances). Officers
-- lose SELECT on fl.entry.source (column privileges: every other column stays readable) and read
-- it through fl.entry_source(id), which gives a unit-bound caller only the entries it may see, with
-- every element of a list that names another unit taken out. City roles get the whole value.
-- (A column added to fl.entry later is not readable by officers until granted: grant it here too.)

CREATE FUNCTION fl.entry_source(p_entry bigint) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE WHEN m.unit IS NULL OR pg_catalog.jsonb_typeof(e.source) IS DISTINCT FROM 'object' THEN e.source
         ELSE (SELECT coalesce(pg_catalog.jsonb_object_agg(k.key,
                 CASE WHEN pg_catalog.jsonb_typeof(k.value) = 'array' THEN
                        (SELECT coalesce(pg_catalog.jsonb_agg(x.value ORDER BY x.o), '[]'::jsonb)
                           FROM pg_catalog.jsonb_array_elements(k.value) WITH ORDINALITY x(value, o)
                          WHERE NOT (pg_catalog.jsonb_typeof(x.value) = 'object' AND x.value ? 'unit'
                                     AND (x.value ->> 'unit') IS DISTINCT FROM m.unit))
                      ELSE k.value END), '{}'::jsonb)
                 FROM pg_catalog.jsonb_each(e.source) k
                WHERE NOT (k.key = 'unit' AND (k.value #>> '{}') IS DISTINCT FROM m.unit)) END
    FROM fl.entry e
    CROSS JOIN (SELECT u.unit FROM fl.app_user u WHERE u.name = session_user) m
   WHERE e.id = p_entry
     AND (m.unit IS NULL OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = e.id AND p.unit = m.unit))
$$;
REVOKE ALL ON FUNCTION fl.entry_source(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.entry_source(bigint) TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

REVOKE SELECT ON fl.entry FROM fl_officer;
DO $$
DECLARE cols text;
BEGIN
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = 'fl.entry'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'source';
  EXECUTE pg_catalog.format('GRANT SELECT (%s) ON fl.entry TO fl_officer', cols);
END $$;

-- The stored year-end shortfall table is the one the books and the rule give, nothing more.
-- fl.close_year checks the caller's table against fl.year_figures with a FULL JOIN on unit, so a
-- unit listed twice matched twice and passed, and fields of the caller's own were kept: a
-- reviewer stored 8 rows for 7 units with "note": "approved by the mayor" in the permanent
-- record that reports and fl.year_closes show. One row per unit, the known fields only.
CREATE FUNCTION fl.year_close_result_shape() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad text;
BEGIN
  SELECT coalesce(r.value ->> 'unit', r.value::text) INTO bad
    FROM pg_catalog.jsonb_array_elements(coalesce(NEW.result -> 'rows', '[]'::jsonb)) r
   GROUP BY 1 HAVING count(*) > 1 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('year_close_result', pg_catalog.format(
      'the shortfall table for book %s lists unit %s more than once; nothing was closed', NEW.book, bad));
  END IF;
  SELECT CASE WHEN pg_catalog.jsonb_typeof(r.value) <> 'object' THEN r.value::text ELSE k.key END INTO bad
    FROM pg_catalog.jsonb_array_elements(coalesce(NEW.result -> 'rows', '[]'::jsonb)) r
    LEFT JOIN LATERAL pg_catalog.jsonb_object_keys(CASE WHEN pg_catalog.jsonb_typeof(r.value) = 'object'
                                                        THEN r.value END) k(key) ON true
   WHERE pg_catalog.jsonb_typeof(r.value) <> 'object'
      OR k.key NOT IN ('unit', 'book', 'revenue', 'expenditure', 'current_balance', 'surplus_before',
                       'covered_by_surplus', 'government_share', 'surplus_after',
                       -- 0011's reconciling columns (the rule across years)
                       'revenue_on_books', 'share_receipts', 'surplus_before_on_books',
                       'outstanding_before', 'outstanding_after', 'surplus_after_on_books')
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('year_close_result', pg_catalog.format(
      'the shortfall table for book %s holds %s, which is not one of its fields; nothing was closed', NEW.book, bad));
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER year_close_result_shape BEFORE INSERT ON fl.year_close
  FOR EACH ROW EXECUTE FUNCTION fl.year_close_result_shape();
REVOKE ALL ON FUNCTION fl.year_close_result_shape() FROM PUBLIC;
