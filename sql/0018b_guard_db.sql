-- 0018b, the database part (a superuser's, like 0018_duties_db.sql): fl_guard.idle_lockers names the
-- fundledger sessions idle in a transaction whose xid is among p_xids (the xmax of rows a writer is
-- about to lock); fl.posting_inserted ends those idle for over 2 s through fl_guard.end_idle_holders.
DO $$
BEGIN
  IF pg_catalog.to_regnamespace('fl_guard') IS NULL
     OR NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;   -- 0018_duties_db.sql warned already
  END IF;
  CREATE OR REPLACE FUNCTION fl_guard.idle_lockers(p_xids xid[]) RETURNS TABLE (pid int, idle_for interval)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
    SELECT a.pid, pg_catalog.clock_timestamp() - a.state_change
      FROM pg_catalog.pg_stat_activity a JOIN pg_catalog.pg_roles ro ON ro.oid = a.usesysid
     WHERE a.backend_xid = ANY (p_xids) AND a.pid <> pg_catalog.pg_backend_pid()
       AND a.datname = pg_catalog.current_database()
       AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
       AND NOT ro.rolsuper
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                    WHERE m.member = ro.oid
                      AND g.rolname IN ('fl_officer', 'fl_reviewer', 'fl_finance', 'fl_auditor', 'fl_admin'))
  $f$;
  ALTER FUNCTION fl_guard.idle_lockers(xid[]) OWNER TO fl_guard;
  REVOKE ALL ON FUNCTION fl_guard.idle_lockers(xid[]) FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION fl_guard.idle_lockers(xid[]) TO fl_owner;
END $$;
