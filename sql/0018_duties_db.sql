-- 0018, the part that needs the migrating login's rights (a superuser's, or the DBA's who owns the
-- database and administers roles), not fl_owner's. Each step is done where that login may, and
-- otherwise named in a WARNING for the DBA (docs/security.md lists them).
--
-- A8  Large objects: any login could fill the server's disk with lo_create / lo_from_bytea (or
--     psql's \lo_import, which calls them) — objects outside every table, quota and row policy.
--     EXECUTE on the functions that create one is revoked from PUBLIC in this database (function
--     privileges are per database; the functions belong to the bootstrap superuser).
--     temp_file_limit is superuser-only: fl_owner gets SET on it, to give each new login its limit.
-- A11 Group roles never log in; every fundledger login, existing ones included, gets a connection
--     limit and its limits (fl._apply_login_limits).
DO $$
DECLARE
  me  pg_catalog.pg_roles;
  u   record;
  n   int;
  pg16 boolean := pg_catalog.current_setting('server_version_num')::int >= 160000;
BEGIN
  SELECT * INTO me FROM pg_catalog.pg_roles WHERE rolname = current_user;
  IF me.rolsuper THEN
    REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
      pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
    -- (Roles and parameter grants are the cluster's, shared by every database: another database's
    -- migration may make the same grant at the same moment — "tuple concurrently updated" — and
    -- then it is made.)
    IF NOT pg_catalog.has_parameter_privilege('fl_owner', 'temp_file_limit', 'SET') THEN
      BEGIN
        EXECUTE 'GRANT SET ON PARAMETER temp_file_limit TO fl_owner';
      EXCEPTION WHEN internal_error OR unique_violation THEN NULL;
      END;
    END IF;
    -- ATTACK2 B4: the close ends fundledger sessions idle in a transaction that hold its lock. What
    -- ends them is one definer function of its own role, fl_guard (no login, no other rights), so
    -- fl_owner gets EXECUTE on that function, not the predefined roles' rights.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'fl_guard') THEN
      BEGIN
        CREATE ROLE fl_guard NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;   -- another database's migration made it a moment ago (roles are the cluster's)
      END;
    END IF;
    IF NOT (pg_catalog.pg_has_role('fl_guard', 'pg_signal_backend', 'MEMBER')
            AND pg_catalog.pg_has_role('fl_guard', 'pg_read_all_stats', 'MEMBER')) THEN
      BEGIN
        GRANT pg_signal_backend, pg_read_all_stats TO fl_guard;
      EXCEPTION WHEN internal_error OR unique_violation THEN NULL;
      END;
    END IF;
    CREATE SCHEMA IF NOT EXISTS fl_guard AUTHORIZATION fl_guard;
    REVOKE ALL ON SCHEMA fl_guard FROM PUBLIC;
    GRANT USAGE ON SCHEMA fl_guard TO fl_owner;
    -- Ends the sessions among p_pids that are fundledger logins (members of an fl_ group, never a
    -- superuser) in this database, idle in a transaction that wrote (holds an xid) for over 2 s.
    CREATE OR REPLACE FUNCTION fl_guard.end_idle_holders(p_pids int[]) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
    DECLARE
      r record;
      n int := 0;
    BEGIN
      FOR r IN SELECT a.pid, a.usename, a.state_change FROM pg_catalog.pg_stat_activity a
                 JOIN pg_catalog.pg_roles ro ON ro.oid = a.usesysid
                WHERE a.pid = ANY (p_pids) AND a.pid <> pg_catalog.pg_backend_pid()
                  AND a.datname = pg_catalog.current_database()
                  AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
                  AND a.backend_xid IS NOT NULL
                  AND a.state_change < pg_catalog.clock_timestamp() - interval '2 seconds'
                  AND NOT ro.rolsuper
                  AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                               WHERE m.member = ro.oid
                                 AND g.rolname IN ('fl_officer', 'fl_reviewer', 'fl_finance', 'fl_auditor', 'fl_admin')) LOOP
        IF pg_catalog.pg_terminate_backend(r.pid, 2000) THEN
          n := n + 1;
          RAISE WARNING 'fundledger ended session % of %: it held the ledger''s lock idle in a transaction since %',
            r.pid, r.usename, r.state_change;
        END IF;
      END LOOP;
      RETURN n;
    END $f$;
    ALTER FUNCTION fl_guard.end_idle_holders(int[]) OWNER TO fl_guard;
    REVOKE ALL ON FUNCTION fl_guard.end_idle_holders(int[]) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION fl_guard.end_idle_holders(int[]) TO fl_owner;
    -- Advisory locks (ATTACK2 B5): any login held the migration's lock id in a session left open,
    -- and `fundledger init` (an upgrade) waited forever. Only the owner's members (the DBA, who
    -- migrates) take advisory locks in this database; the ledger's roles never need one.
    FOR u IN SELECT p.oid::regprocedure AS f FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname ~ '^pg_(try_)?advisory_' LOOP
      EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', u.f);
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO fl_owner', u.f);
    END LOOP;
  ELSE
    RAISE WARNING 'fundledger: a superuser must run, in database %: REVOKE EXECUTE ON FUNCTION lo_create(oid), '
                  'lo_creat(integer), lo_from_bytea(oid, bytea) FROM PUBLIC; GRANT SET ON PARAMETER temp_file_limit '
                  'TO fl_owner; and REVOKE EXECUTE on every pg_advisory_* and pg_try_advisory_* function FROM PUBLIC, GRANT it TO fl_owner  (application roles must not create large objects or hold advisory locks); the guard of a month close against idle writers (role and schema fl_guard) is not installed',
                  quote_ident(pg_catalog.current_database());
  END IF;
  -- The groups and the owner are NOLOGIN (0002 and 0008 made them so; a DBA may have changed it).
  FOR u IN SELECT r.rolname FROM pg_catalog.pg_roles r
            WHERE r.rolname IN ('fl_owner', 'fl_officer', 'fl_reviewer', 'fl_finance', 'fl_auditor', 'fl_admin')
              AND r.rolcanlogin LOOP
    BEGIN
      EXECUTE format('ALTER ROLE %I NOLOGIN', u.rolname);
    EXCEPTION WHEN internal_error THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE WARNING 'fundledger: the DBA must run: ALTER ROLE % NOLOGIN;  (a group role must not log in)',
        quote_ident(u.rolname);
    END;
  END LOOP;
  -- Existing logins get their limits (new ones get them from the app_user trigger).
  FOR u IN SELECT a.name FROM fl.app_user a ORDER BY a.name LOOP
    n := fl._apply_login_limits(u.name, NULL);
  END LOOP;
END $$;
