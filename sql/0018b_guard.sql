-- 0018b: what 0018 left of the second attack (/work/coord/ATTACK2.md) in issue 14's classes.
--
-- B12: a fund request's amounts are capped like a posting's (10^15 fen): 9×10^18 fen was accepted
-- and listed. NOT VALID: rows already stored are not re-checked (verify reports what it finds).
ALTER TABLE fl.fund_request ADD CONSTRAINT request_amount_cap
  CHECK (amount_requested <= 1000000000000000 AND coalesce(amount_approved, 0) <= 1000000000000000) NOT VALID;

-- Two test runs (or two databases' migrations) adding the same cluster-wide login at once race on
-- its first pg_db_role_setting row: unique_violation, meaning the other one has set it (seen on the
-- CI server). Caught like 'tuple concurrently updated'.
CREATE OR REPLACE FUNCTION fl._apply_login_limits(p_name text, p_connections int) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  n     int := coalesce(p_connections,
                        (SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'login_connection_limit'), 10);
  rl    pg_catalog.pg_roles;
  have  text[];
  done  int := 0;
BEGIN
  SELECT r.* INTO rl FROM fl.app_user u JOIN pg_catalog.pg_roles r ON r.rolname = u.name
   WHERE u.name = p_name AND NOT r.rolsuper;
  IF NOT FOUND THEN
    RETURN 0;                                       -- not a fundledger login (or a superuser's)
  END IF;
  SELECT s.setconfig INTO have FROM pg_catalog.pg_db_role_setting s WHERE s.setrole = rl.oid AND s.setdatabase = 0;
  -- Each only when it differs: roles are the cluster's, and two databases' migrations (or users
  -- added at once) altering the same role at the same moment fail with "tuple concurrently
  -- updated" — then the other one has set it.
  IF rl.rolconnlimit IS DISTINCT FROM n THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', p_name, n);
      done := done + 1;
    EXCEPTION WHEN internal_error OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE WARNING 'fundledger: the DBA must run: ALTER ROLE % CONNECTION LIMIT %;', quote_ident(p_name), n;
    END;
  END IF;
  IF NOT coalesce('temp_file_limit=4GB' = ANY (have), false) THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I SET temp_file_limit = %L', p_name, '4GB');
      done := done + 1;
    EXCEPTION WHEN internal_error OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE WARNING 'fundledger: a superuser must run: ALTER ROLE % SET temp_file_limit = ''4GB'';', quote_ident(p_name);
    END;
  END IF;
  IF NOT coalesce('idle_in_transaction_session_timeout=5min' = ANY (have), false) THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', p_name, '5min');
      done := done + 1;
    EXCEPTION WHEN internal_error OR unique_violation OR insufficient_privilege THEN
      NULL;   -- a default the user may change anyway: not worth the DBA's time
    END;
  END IF;
  RETURN done;
END $$;
REVOKE ALL ON FUNCTION fl._apply_login_limits(text, int) FROM PUBLIC;
