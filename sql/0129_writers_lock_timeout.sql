-- 0129: every writer an application role may call has its lock_timeout again (0087's rule).
--
-- CREATE OR REPLACE FUNCTION replaces a function's SET clauses with the ones it names: 0122
-- (fl.plan_import), 0123 (fl.close_period) and 0126 (fl.request_approve, a new signature) wrote
-- theirs without 0087's lock_timeout, so each could wait on a lock without end, holding what it
-- had taken (test_upgrade_0087 names them). The class is fixed as 0087 fixed it: every SECURITY
-- DEFINER volatile function an application group may execute that sets no lock_timeout gets 5 s.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef AND p.provolatile = 'v'
       AND NOT coalesce(pg_catalog.array_to_string(p.proconfig, ',') LIKE '%lock_timeout=%', false)
       AND EXISTS (SELECT 1 FROM unnest(ARRAY['fl_officer', 'fl_reviewer', 'fl_finance', 'fl_admin']) g
                    WHERE pg_catalog.has_function_privilege(g, p.oid, 'EXECUTE'))
     ORDER BY 1::text
  LOOP
    EXECUTE pg_catalog.format('ALTER FUNCTION %s SET lock_timeout = %L', f, '5s');
  END LOOP;
END $$;
