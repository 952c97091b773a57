-- 0044, the part that needs the migrating login's rights (a superuser's): the stuck-writer guard
-- (0027_db) also ends a session that holds the contended rows past its call while it keeps a
-- statement running (0044_busy_holders.sql says why and how it knows).
DO $$
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
     OR pg_catalog.to_regnamespace('fl_guard') IS NULL THEN
    RAISE WARNING 'fundledger: the guard against writers stuck in a transaction (fl_guard.end_stuck_writers) '
                  'needs a superuser to migrate database %; without it a stuck writer stays until the operator '
                  'ends it', quote_ident(pg_catalog.current_database());
    RETURN;
  END IF;

  -- A statement that is one call of a fundledger function and nothing else, in the shapes the
  -- library sends: it can do nothing once the call returns but hand back its rows. Literal
  -- arguments are not accepted (only parameters, optionally cast), nor comments, nor a second
  -- statement; a text the server truncated (track_activity_query_size) is not one call.
  CREATE OR REPLACE FUNCTION fl_guard.one_call(p_query text, p_text_max int) RETURNS boolean
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
    SELECT coalesce(pg_catalog.length(p_query) < p_text_max - 1
             AND (p_query ~ '^SELECT fl\.[a-z_]+\((\$[0-9]{1,2}(::[a-z_]+)?(, \$[0-9]{1,2}(::[a-z_]+)?)*)?\)( AS [a-z_]+)?$'
                  OR p_query ~ ('^SELECT (\*|[a-z_]+(\.[a-z_]+)?(, [a-z_]+(\.[a-z_]+)?)*) FROM fl\.[a-z_]+'
                                '\((\$[0-9]{1,2}(::[a-z_]+)?(, \$[0-9]{1,2}(::[a-z_]+)?)*)?\)( [a-z_]+)?$')), false)
  $f$;
  ALTER FUNCTION fl_guard.one_call(text, int) OWNER TO fl_guard;
  REVOKE ALL ON FUNCTION fl_guard.one_call(text, int) FROM PUBLIC;

  -- Why a fundledger writer (a transaction that wrote, holding a lock on a table of schema fl)
  -- is stuck, or NULL. p_first_mark: the start of the first statement of its transaction that
  -- wrote a contended row, in microseconds after the transaction's start (NULL: none).
  CREATE OR REPLACE FUNCTION fl_guard.stuck_reason(p_state text, p_wait text, p_query text,
      p_xact_start timestamptz, p_query_start timestamptz, p_state_change timestamptz, p_first_mark bigint,
      p_now timestamptz, p_age interval, p_idle interval, p_text_max int) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
    SELECT CASE
      WHEN p_xact_start IS NULL OR p_xact_start >= p_now - p_age THEN NULL       -- a young transaction: never
      WHEN p_state IN ('idle in transaction', 'idle in transaction (aborted)')
           AND p_state_change < p_now - p_idle THEN 'idle in its transaction'    -- 0027
      WHEN p_state IS NULL OR p_state NOT IN ('active', 'fastpath function call', 'idle in transaction',
                                              'idle in transaction (aborted)') THEN NULL
      WHEN p_state = 'active' AND p_wait = 'PgSleep' THEN 'asleep in its transaction'   -- 0027
      WHEN p_first_mark IS NULL THEN NULL                                         -- holds no contended row
      WHEN p_state = 'active' AND p_query ~* '^\s*(COMMIT|END)(\s+(WORK|TRANSACTION))?\s*;?\s*$' THEN
        CASE WHEN p_query_start < p_now - p_age THEN 'committing for too long' END
      -- The statement that wrote the rows is over: the caller keeps them. Judged once its next
      -- statement has run p_idle, or (a caller that pings) once the rows have been held p_age.
      WHEN (EXTRACT(epoch FROM p_query_start - p_xact_start) * 1000000)::bigint > p_first_mark THEN
        CASE WHEN (p_state <> 'idle in transaction' AND p_state <> 'idle in transaction (aborted)'
                   AND p_query_start < p_now - p_idle)
                  OR p_xact_start + p_first_mark * interval '1 microsecond' < p_now - p_age
             THEN 'holding the rows past its call' END
      WHEN p_state <> 'active' THEN NULL               -- idle just after the call: 0027's rule above
      WHEN p_query_start >= p_now - p_age THEN NULL
      WHEN p_wait = 'ClientWrite' THEN 'not reading its result'
      WHEN NOT fl_guard.one_call(p_query, p_text_max) THEN 'holding the rows in a statement that is not one call'
    END
  $f$;
  ALTER FUNCTION fl_guard.stuck_reason(text, text, text, timestamptz, timestamptz, timestamptz, bigint, timestamptz,
                                       interval, interval, int) OWNER TO fl_guard;
  REVOKE ALL ON FUNCTION fl_guard.stuck_reason(text, text, text, timestamptz, timestamptz, timestamptz, bigint,
                                               timestamptz, interval, interval, int) FROM PUBLIC;

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
                  AND a.backend_xid IS NOT NULL
                  AND a.xact_start < pg_catalog.clock_timestamp() - p_age
                  AND NOT ro.rolsuper
                  AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                               WHERE m.member = ro.oid
                                 AND g.rolname IN ('fl_officer', 'fl_reviewer', 'fl_finance', 'fl_auditor', 'fl_admin'))
                  AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
                               WHERE l.pid = a.pid AND l.granted AND c.relnamespace = 'fl'::regnamespace
                                 AND l.mode IN ('RowExclusiveLock', 'RowShareLock'))) x
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
