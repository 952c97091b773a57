-- fundledger migration 0175: the region's first year never moves past what the books already hold
-- (ATTACK21 N6; docs/security.md N6; docs/region.md).
--
-- A region reload (init --region) wrote first_year = 2024 on a ledger holding entries dated 2023 and
-- units whose registered joining date is 2021-01-01: nothing refused it, and from then on the verdict
-- named every earlier entry "before the region's first year" for ever. fl.entry_inserted refuses an
-- entry dated before first_year at the entry's INSERT; nothing held the other half — the setting
-- moved after the entries. Now a constraint trigger DEFERRABLE INITIALLY DEFERRED on fl.setting (as
-- 0166's fl._closed_year_settings: it judges what the transaction leaves, at COMMIT) refuses a
-- first_year after the earliest of: an entry's date, a held entry's date, a unit's joining date
-- (fl.unit_joined, fl.unit_joined_later) and the year of a budget, budget plan, fund request or
-- 参保人数 on the books — naming it, nothing written (entry_date_range). It first takes SHARE on those
-- tables, so a write committing beside the reload is seen, not raced. Moving first_year earlier is
-- not refused (nothing on the books becomes wrong); `audit check-digest` names the change, and the
-- verdict judges each entry by the first_year in force when it was written (ledger.core.rules,
-- Rules.setting_at) and names a first_year version recorded after an entry dated before it.
-- fl._first_year_blocker is the reader `init --region` asks first, to refuse before writing.

CREATE FUNCTION fl._first_year_blocker(p_first int) RETURNS TABLE (kind text, what text, day date)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
  -- the earliest of each kind dated before p_first's 1 January, entries first (what the verdict
  -- would judge), then held entries, joining dates and the years of budgets and counts
  SELECT b.kind, b.what, b.day FROM (
    (SELECT 1 AS ord, 'fl.entry'::text AS kind, e.id::text AS what, e.entry_date AS day FROM fl.entry e
      WHERE e.entry_date < make_date(p_first, 1, 1) ORDER BY e.entry_date, e.id LIMIT 1)
    UNION ALL
    (SELECT 2, 'fl.pending_entry', p.id::text, p.entry_date FROM fl.pending_entry p
      WHERE p.state = 'held' AND p.entry_date < make_date(p_first, 1, 1) ORDER BY p.entry_date, p.id LIMIT 1)
    UNION ALL
    (SELECT 3, 'fl.unit_joined', j.unit, j.joined_on FROM fl.unit_joined j
      WHERE j.joined_on < make_date(p_first, 1, 1) ORDER BY j.joined_on, j.unit LIMIT 1)
    UNION ALL
    (SELECT 4, 'fl.unit_joined_later', j.unit, j.joined_on FROM fl.unit_joined_later j
      WHERE j.joined_on < make_date(p_first, 1, 1) ORDER BY j.joined_on, j.unit LIMIT 1)
    UNION ALL
    (SELECT 5, x.t, x.unit || '/' || x.book, make_date(x.year, 1, 1) FROM (
        SELECT 'fl.budget' AS t, year, unit, book FROM fl.budget WHERE year < p_first
        UNION ALL SELECT 'fl.budget_plan', year, unit, book FROM fl.budget_plan WHERE year < p_first
        UNION ALL SELECT 'fl.fund_request', year, unit, book FROM fl.fund_request WHERE year < p_first
        UNION ALL SELECT 'fl.insured_count', year, unit, book FROM fl.insured_count WHERE year < p_first) x
      ORDER BY x.year, x.t, x.unit, x.book LIMIT 1)
  ) b ORDER BY b.ord
$$;
REVOKE ALL ON FUNCTION fl._first_year_blocker(int) FROM PUBLIC;

CREATE FUNCTION fl._first_year_covers_books() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  fy int;
  b record;
  keep date;
BEGIN
  IF TG_OP = 'DELETE' OR NEW.key <> 'first_year' THEN
    RETURN NULL;                       -- removed: the default 2000, before anything the ledger takes
  END IF;
  -- a write committing beside this one is waited for and seen (its own check read the old first_year)
  LOCK TABLE fl.entry, fl.pending_entry, fl.unit_joined, fl.unit_joined_later, fl.budget, fl.budget_plan,
    fl.fund_request, fl.insured_count IN SHARE MODE;
  SELECT (s.value #>> '{}')::int INTO fy FROM fl.setting s WHERE s.key = 'first_year';
  IF fy IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT * INTO b FROM fl._first_year_blocker(fy) LIMIT 1;
  IF FOUND THEN
    SELECT min(x.day) INTO keep FROM fl._first_year_blocker(fy) x;
    PERFORM fl.refuse('entry_date_range', format(
      'first_year %s is after what the books already hold: %s %s is dated %s; the region''s first year '
      'never moves past an entry, a held entry, a joining date or a budget year on the books, and nothing '
      'was changed; keep first_year = %s or an earlier year in the region file', fy, b.kind, b.what, b.day,
      extract(year FROM keep)::int));
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl._first_year_covers_books() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER setting_first_year_covers_books AFTER INSERT OR UPDATE ON fl.setting
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fl._first_year_covers_books();
