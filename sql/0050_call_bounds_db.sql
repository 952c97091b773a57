-- 0050, the part that needs the migrating login's rights (a superuser's), ATTACK6 T6: the
-- stuck-writer guard (0027_db, 0044_db) also ends a fundledger session that holds a lock on a
-- table of fl stronger than ROW EXCLUSIVE (a table lock: SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE…)
-- whatever its xid: fl.close_year_lock (0040) left SHARE ROW EXCLUSIVE on fl.closed_period in a
-- reviewer's idle transaction with no xid, and every posting writer of the ledger waited while
-- the guard looked only at transactions with an xid. 0050 drops that function; no API leaves
-- such a lock behind, and a session that holds one idle 2 s in a transaction 10 s old is ended
-- like an idle writer (fl_guard.stuck_reason, 0044_db, unchanged).
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
  -- stuck_reason judges stuck: idle in it since p_idle, asleep in pg_sleep (0027), or keeping the
  -- contended rows past the call that wrote them (0044).
  CREATE OR REPLACE FUNCTION fl_guard.end_stuck_writers(p_age interval, p_idle interval) RETURNS int
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
  DECLARE
    r record;
    n int := 0;
    tmax int := (SELECT s.setting::int FROM pg_catalog.pg_settings s WHERE s.name = 'track_activity_query_size');
  BEGIN
    IF p_age < interval '5 seconds' OR p_idle < interval '1 second' THEN
      RAISE EXCEPTION 'fl_guard.end_stuck_writers: a writer is given at least 5 s and 1 s idle';
    END IF;
    FOR r IN SELECT x.* FROM (
               SELECT a.pid, a.usename, a.xact_start, a.state,
                      fl_guard.stuck_reason(a.state, a.wait_event, a.query, a.xact_start, a.query_start, a.state_change,
                        (SELECT pg_catalog.min((l.classid::bigint - 1179404375) * 2147483648 + l.objid::bigint)
                           FROM pg_catalog.pg_locks l
                          WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
                            AND l.classid::bigint BETWEEN 1179404375 AND 1179404375 + 1000
                            AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                               WHERE d.datname = pg_catalog.current_database())),
                        pg_catalog.clock_timestamp(), p_age, p_idle, tmax) AS why
                 FROM pg_catalog.pg_stat_activity a
                 JOIN pg_catalog.pg_roles ro ON ro.oid = a.usesysid
                WHERE a.pid <> pg_catalog.pg_backend_pid()
                  AND a.datname = pg_catalog.current_database()
                  -- (0050, ATTACK6 T6) a write transaction, or a lock stronger than ROW EXCLUSIVE
                  -- on a table of fl, which no call leaves behind (LOCK TABLE assigns no xid).
                  AND (a.backend_xid IS NOT NULL
                       OR EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
                                   WHERE l.pid = a.pid AND l.granted AND c.relnamespace = 'fl'::regnamespace
                                     AND l.mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')))
                  AND a.xact_start < pg_catalog.clock_timestamp() - p_age
                  AND NOT ro.rolsuper
                  AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                               WHERE m.member = ro.oid
                                 AND g.rolname IN ('fl_officer', 'fl_reviewer', 'fl_finance', 'fl_auditor', 'fl_admin'))
                  AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
                               WHERE l.pid = a.pid AND l.granted AND c.relnamespace = 'fl'::regnamespace
                                 AND l.mode <> 'AccessShareLock')) x
              WHERE x.why IS NOT NULL LOOP
      IF pg_catalog.pg_terminate_backend(r.pid, 2000) THEN
        n := n + 1;
        RAISE WARNING 'fundledger ended session % of %: it held the ledger''s rows in a transaction open since % (%: %)',
          r.pid, r.usename, r.xact_start, r.state, r.why;
      END IF;
    END LOOP;
    RETURN n;
  END $f$;
  ALTER FUNCTION fl_guard.end_stuck_writers(interval, interval) OWNER TO fl_guard;
  REVOKE ALL ON FUNCTION fl_guard.end_stuck_writers(interval, interval) FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION fl_guard.end_stuck_writers(interval, interval) TO fl_owner;
END $$;
