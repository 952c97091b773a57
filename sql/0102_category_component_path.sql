-- 0102: fl.category_component_problem (0099), which the definer trigger fl.account_category_component
-- runs, pins the search_path every function a definer runs pins (pg_catalog, fl, pg_temp:
-- tests/security/test_sweep.py); 0099 had left fl out. Its body names nothing unqualified from fl,
-- so what it answers is unchanged.
ALTER FUNCTION fl.category_component_problem(text, text, text) SET search_path = pg_catalog, fl, pg_temp;
