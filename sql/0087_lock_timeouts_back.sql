-- 0087: fl.reverse_entry gets its lock_timeout back (and the sweep that keeps every writer so).
--
-- 0082 (ATTACK10 X13) redefined fl.reverse_entry from a text that did not carry the
-- `SET lock_timeout = '5s'` the 0050 sweep had given it, so a reversal waited on a held lock
-- without end (test_stuck_writers' sweep named it). As 0027/0050 do after a redefinition, every
-- SECURITY DEFINER function an application role may call that has no lock_timeout gets 5 s;
-- on a database where nothing lost it, this changes nothing.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef AND p.provolatile = 'v'
              AND NOT coalesce(pg_catalog.array_to_string(p.proconfig, ',') LIKE '%lock_timeout=%', false)
              AND EXISTS (SELECT 1 FROM pg_catalog.unnest(ARRAY['fl_officer', 'fl_reviewer', 'fl_finance', 'fl_admin']) g
                           WHERE pg_catalog.has_function_privilege(g, p.oid, 'EXECUTE'))
            ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('ALTER FUNCTION %s SET lock_timeout = %L', f, '5s');
  END LOOP;
END $$;
