-- 0013 deploy: people's passwords and logins in server mode, and the operations log.
--
-- * fl.set_password(name, verifier): stores a SCRAM-SHA-256 verifier computed by the
--   client (the password itself never reaches the server, a log or pg_stat_activity).
--   An admin (or the owner) sets anyone's; every user may change their own. Only
--   fundledger's user roles (rows of fl.app_user that are plain login roles) are touched.
-- * fl.set_login(name, enabled, reason): LOGIN / NOLOGIN (a person leaves; nothing is
--   deleted: the journal keeps their name). Admins only; nobody disables themselves.
-- * fl.operation_log: append-only, hash-chained record of privileged operations
--   (passwords set, logins enabled/disabled, verified base backups, standby decisions,
--   promotions). `fundledger db check` reads the last verified backup from it.

CREATE TABLE fl.operation_log (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor     text NOT NULL DEFAULT session_user,
  client_addr inet DEFAULT inet_client_addr(),
  action    text NOT NULL CHECK (action IN ('password', 'login_enabled', 'login_disabled', 'backup',
                                            'standby_async', 'standby_sync', 'promote', 'fence', 'rejoin', 'restore')),
  subject   text,
  reason    text NOT NULL DEFAULT '',
  detail    jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash bytea NOT NULL,
  hash      bytea NOT NULL
);

-- Chained like the journal: hash = sha256(prev_hash || the row's content as text).
-- One writer at a time (operations are rare), so the chain has no forks.
CREATE FUNCTION fl.operation_log_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE prev bytea;
BEGIN
  LOCK TABLE fl.operation_log IN SHARE ROW EXCLUSIVE MODE;
  SELECT o.hash INTO prev FROM fl.operation_log o ORDER BY o.id DESC LIMIT 1;
  NEW.at := clock_timestamp();
  NEW.actor := session_user;
  NEW.client_addr := inet_client_addr();
  NEW.prev_hash := coalesce(prev, '\x'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|', NEW.id, NEW.at, NEW.actor, NEW.action, NEW.subject,
                                                           NEW.reason, NEW.detail::text), 'UTF8'));
  RETURN NEW;
END $$;

CREATE TRIGGER operation_log_chain BEFORE INSERT ON fl.operation_log
  FOR EACH ROW EXECUTE FUNCTION fl.operation_log_chain();
CREATE TRIGGER operation_log_append_only BEFORE UPDATE OR DELETE ON fl.operation_log
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER operation_log_no_truncate BEFORE TRUNCATE ON fl.operation_log
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

-- Is the caller the schema's owner (or a superuser)? They bootstrap and operate the server.
CREATE FUNCTION fl._is_operator() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce((SELECT r.rolsuper OR pg_has_role(session_user, (SELECT n.nspowner FROM pg_namespace n
                                                                   WHERE n.nspname = 'fl'), 'USAGE')
                     FROM pg_roles r WHERE r.rolname = session_user), false)
$$;

-- A fundledger user role this module may alter: in fl.app_user, a login-capable plain role,
-- never a superuser, never a role that can create roles or replicate, never the owner.
CREATE FUNCTION fl._user_role(p_name text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = p_name) THEN
    PERFORM fl.refuse('user_unknown', format('%s is not a fundledger user', p_name), 'undefined_object');
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = p_name
              AND (r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls
                   OR r.oid = (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'fl'))) THEN
    PERFORM fl.refuse('user_privileged', format('%s is a privileged role; manage it with PostgreSQL''s own tools', p_name),
                      'insufficient_privilege');
  END IF;
END $$;

CREATE FUNCTION fl.log_operation(p_action text, p_subject text, p_reason text, p_detail jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE v_id bigint;
BEGIN
  IF NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'record operations');
  END IF;
  IF p_action IN ('standby_async', 'promote', 'fence') AND coalesce(btrim(p_reason), '') = '' THEN
    PERFORM fl.refuse('reason_required', format('%s needs a reason (it is kept in the operations log)', p_action));
  END IF;
  INSERT INTO fl.operation_log (action, subject, reason, detail, prev_hash, hash)
  VALUES (p_action, p_subject, coalesce(p_reason, ''), coalesce(p_detail, '{}'::jsonb), '\x', '\x')
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;

CREATE FUNCTION fl.set_password(p_name text, p_verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF p_name IS DISTINCT FROM session_user::text AND NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'set another user''s password');
  END IF;
  PERFORM fl._user_role(p_name);
  IF p_verifier !~ '^SCRAM-SHA-256\$[0-9]{4,7}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$' THEN
    PERFORM fl.refuse('scram_only', 'a password is stored only as a SCRAM-SHA-256 verifier computed by the client');
  END IF;
  EXECUTE format('ALTER ROLE %I PASSWORD %L', p_name, p_verifier);
  PERFORM fl.log_operation('password', p_name, '', '{}'::jsonb);
END $$;

CREATE FUNCTION fl.set_login(p_name text, p_enabled boolean, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'enable or disable logins');
  END IF;
  IF p_name = session_user::text AND NOT p_enabled THEN
    PERFORM fl.refuse('not_yourself', 'you cannot disable your own login');
  END IF;
  PERFORM fl._user_role(p_name);
  EXECUTE format('ALTER ROLE %I %s', p_name, CASE WHEN p_enabled THEN 'LOGIN' ELSE 'NOLOGIN' END);
  PERFORM fl.log_operation(CASE WHEN p_enabled THEN 'login_enabled' ELSE 'login_disabled' END, p_name,
                           coalesce(p_reason, ''), '{}'::jsonb);
END $$;

-- Who may log in, as PostgreSQL sees it (user list shows it).
CREATE VIEW fl.user_login AS
  SELECT u.name, r.rolcanlogin AS can_login
    FROM fl.app_user u JOIN pg_roles r ON r.rolname = u.name;

REVOKE ALL ON fl.operation_log, fl.user_login FROM PUBLIC;
GRANT SELECT ON fl.operation_log TO fl_auditor, fl_admin;
GRANT SELECT ON fl.user_login TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
REVOKE ALL ON FUNCTION fl.operation_log_chain(), fl._is_operator(), fl._user_role(text),
  fl.log_operation(text, text, text, jsonb), fl.set_password(text, text), fl.set_login(text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl._is_operator() TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
GRANT EXECUTE ON FUNCTION fl.set_password(text, text) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
GRANT EXECUTE ON FUNCTION fl.set_login(text, boolean, text), fl.log_operation(text, text, text, jsonb) TO fl_admin;
