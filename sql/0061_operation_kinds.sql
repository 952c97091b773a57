-- 0061 (ATTACK7 U9): an admin wrote operator events that never happened into the chained
-- operations log through fl.log_operation ("rev_wang's password was reset", a promotion).
-- Each action kind is now written only by what performs it:
--   * password, login_enabled, login_disabled: by fl.set_password / fl.set_login themselves,
--     through the internal fl._log_operation (no application role may execute it);
--   * backup, restore, standby_async, standby_sync, promote, fence, rejoin: by the operator
--     (the database owner's seat: superuser or member of the owner), who runs them;
--   * fl.log_operation (the operator's and the DBA path's entry point) refuses every kind to
--     anyone else: every kind the log knows is one of the above, so an admin writes none.

CREATE FUNCTION fl._log_operation(p_action text, p_subject text, p_reason text, p_detail jsonb) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE v_id bigint;
BEGIN
  IF p_action IN ('standby_async', 'promote', 'fence') AND coalesce(btrim(p_reason), '') = '' THEN
    PERFORM fl.refuse('reason_required', format('%s needs a reason (it is kept in the operations log)', p_action));
  END IF;
  INSERT INTO fl.operation_log (action, subject, reason, detail, prev_hash, hash)
  VALUES (p_action, p_subject, coalesce(p_reason, ''), coalesce(p_detail, '{}'::jsonb), '\x', '\x')
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;
REVOKE ALL ON FUNCTION fl._log_operation(text, text, text, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.log_operation(p_action text, p_subject text, p_reason text, p_detail jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
BEGIN
  IF NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'record operations');
    PERFORM fl.refuse('permission_denied', format(
      '%s may not record a %s by hand: each operation is recorded by what performs it (a password or login change '
      'by fundledger user passwd / enable / disable, a backup, restore, standby change or promotion by the operator '
      'who runs it), so the operations log holds only what happened', session_user, p_action),
      'insufficient_privilege');
  END IF;
  RETURN fl._log_operation(p_action, p_subject, p_reason, p_detail);
END $function$;

CREATE OR REPLACE FUNCTION fl.set_password(p_name text, p_verifier text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
BEGIN
  IF p_name IS DISTINCT FROM session_user::text AND NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'set another user''s password');
  END IF;
  PERFORM fl._user_role(p_name);
  IF p_verifier !~ '^SCRAM-SHA-256\$[0-9]{4,7}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$' THEN
    PERFORM fl.refuse('scram_only', 'a password is stored only as a SCRAM-SHA-256 verifier computed by the client');
  END IF;
  EXECUTE format('ALTER ROLE %I PASSWORD %L', p_name, p_verifier);
  PERFORM fl._log_operation('password', p_name, '', '{}'::jsonb);
END $function$;

CREATE OR REPLACE FUNCTION fl.set_login(p_name text, p_enabled boolean, p_reason text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
BEGIN
  IF NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'enable or disable logins');
  END IF;
  IF p_name = session_user::text AND NOT p_enabled THEN
    PERFORM fl.refuse('not_yourself', 'you cannot disable your own login');
  END IF;
  PERFORM fl._user_role(p_name);
  EXECUTE format('ALTER ROLE %I %s', p_name, CASE WHEN p_enabled THEN 'LOGIN' ELSE 'NOLOGIN' END);
  PERFORM fl._log_operation(CASE WHEN p_enabled THEN 'login_enabled' ELSE 'login_disabled' END, p_name,
                           coalesce(p_reason, ''), '{}'::jsonb);
END $function$;
