-- 0027, the part that needs the migrating login's rights (a superuser's): the guard that ends a
-- stuck writer (0027_confinement.sql says why). fl_guard (0018) sees and signals sessions; fl_owner
-- gets EXECUTE on this one function, not the predefined roles' rights.
DO $$
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
     OR pg_catalog.to_regnamespace('fl_guard') IS NULL THEN
    RAISE WARNING 'fundledger: the guard against writers stuck in a transaction (fl_guard.end_stuck_writers) '
                  'needs a superuser to migrate database %; without it a stuck writer stays until the operator '
                  'ends it', quote_ident(pg_catalog.current_database());
    RETURN;
  END IF;
  -- Ends the fundledger sessions (members of an fl_ group, never a superuser) in this database whose
  -- write transaction (an xid, and a lock on a table of schema fl) began p_age ago or more and that
  -- are idle in it since p_idle or more, or asleep in pg_sleep.
  CREATE OR REPLACE FUNCTION fl_guard.end_stuck_writers(p_age interval, p_idle interval) RETURNS int
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
  DECLARE
    r record;
    n int := 0;
  BEGIN
    IF p_age < interval '5 seconds' OR p_idle < interval '1 second' THEN
      RAISE EXCEPTION 'fl_guard.end_stuck_writers: a writer is given at least 5 s and 1 s idle';
    END IF;
    FOR r IN SELECT a.pid, a.usename, a.xact_start, a.state FROM pg_catalog.pg_stat_activity a
               JOIN pg_catalog.pg_roles ro ON ro.oid = a.usesysid
              WHERE a.pid <> pg_catalog.pg_backend_pid()
                AND a.datname = pg_catalog.current_database()
                AND a.backend_xid IS NOT NULL
                AND a.xact_start < pg_catalog.clock_timestamp() - p_age
                AND ((a.state IN ('idle in transaction', 'idle in transaction (aborted)')
                      AND a.state_change < pg_catalog.clock_timestamp() - p_idle)
                     OR (a.state = 'active' AND a.wait_event = 'PgSleep'))
                AND NOT ro.rolsuper
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                             WHERE m.member = ro.oid
                               AND g.rolname IN ('fl_officer', 'fl_reviewer', 'fl_finance', 'fl_auditor', 'fl_admin'))
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
                             WHERE l.pid = a.pid AND l.granted AND c.relnamespace = 'fl'::regnamespace
                               AND l.mode IN ('RowExclusiveLock', 'RowShareLock')) LOOP
      IF pg_catalog.pg_terminate_backend(r.pid, 2000) THEN
        n := n + 1;
        RAISE WARNING 'fundledger ended session % of %: it held the ledger''s rows in a transaction open since % (%)',
          r.pid, r.usename, r.xact_start, r.state;
      END IF;
    END LOOP;
    RETURN n;
  END $f$;
  ALTER FUNCTION fl_guard.end_stuck_writers(interval, interval) OWNER TO fl_guard;
  REVOKE ALL ON FUNCTION fl_guard.end_stuck_writers(interval, interval) FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION fl_guard.end_stuck_writers(interval, interval) TO fl_owner;
END $$;

-- B1b (0027_confinement.sql says why): CONNECT on this database only for its own logins. The
-- database owner's (or a superuser's) right: done here when the migrating login has it, otherwise
-- a WARNING names the statements for the DBA. (A database cloned with CREATE DATABASE … TEMPLATE
-- does not inherit database privileges: run them there too.)
DO $$
DECLARE
  db   text := pg_catalog.current_database();
  u    record;
BEGIN
  IF NOT pg_catalog.has_database_privilege(current_user, db, 'CREATE WITH GRANT OPTION')
     AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
    RAISE WARNING 'fundledger: the DBA must run, in database %: REVOKE CONNECT ON DATABASE % FROM PUBLIC; '
                  'GRANT CONNECT ON DATABASE % TO fl_owner WITH GRANT OPTION; and GRANT CONNECT ON DATABASE % '
                  'TO each fundledger login (another ledger''s logins on this server can connect otherwise)',
                  quote_ident(db), quote_ident(db), quote_ident(db), quote_ident(db);
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', db);
  EXECUTE pg_catalog.format('GRANT CONNECT ON DATABASE %I TO fl_owner WITH GRANT OPTION', db);
  FOR u IN SELECT a.name FROM fl.app_user a JOIN pg_catalog.pg_roles r ON r.rolname = a.name ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('GRANT CONNECT ON DATABASE %I TO %I', db, u.name);
  END LOOP;
END $$;
