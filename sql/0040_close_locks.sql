-- 0040: the year-end close computes its table under the close's own locks (ATTACK5 S10).
--
-- `close year` computed the shortfall table in one statement and handed it to
-- fl.close_year in the next; fl.close_year took its locks only then and refused any table
-- that no longer matched the books. A writer committing in between (an officer importing
-- 1-fen collections in a loop) made every close refuse (year_close_result).
-- fl.close_year_lock takes fl.close_year's locks first, in the caller's transaction:
-- SHARE ROW EXCLUSIVE on fl.year_close and fl.closed_period, which every posting writer's
-- ROW EXCLUSIVE on fl.closed_period (fl.entry_inserted, held until its commit) conflicts
-- with. The statements after it (READ COMMITTED: each its own snapshot) see every writer
-- that committed before, and no writer commits a posting until the close's transaction
-- ends; fl.close_year takes the same locks again (already held). Reviewers only (fl.require_role).
CREATE FUNCTION fl.close_year_lock(p_year int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
BEGIN
  LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
END $$;
REVOKE ALL ON FUNCTION fl.close_year_lock(int) FROM PUBLIC;
-- Every role may call it (as fl.close_year): fl.require_role refuses the others by name.
GRANT EXECUTE ON FUNCTION fl.close_year_lock(int) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
