-- fundledger migration 0047: every API call is made by the login that authenticated the
-- connection, with the ledger's triggers on (ATTACK6 T4, T12).
--
-- T4: "who" in fundledger is session_user. A superuser may `SET SESSION AUTHORIZATION
-- <user>` (no DDL, nothing logged under log_statement = 'ddl'): session_user — and every
-- DEFAULT session_user, every made_by/decided_by/actor the functions write — then names
-- the impersonated user, so one DBA could be maker and checker of one payment under two
-- real people's names. The login that authenticated the backend is fixed at connection
-- start in the backend's status entry (pg_stat_get_backend_userid; SET SESSION
-- AUTHORIZATION and SET ROLE never change it, on PostgreSQL 15 to 18): fl.caller() — which
-- fl.require_role and so every API function calls first — now refuses a session whose
-- session_user is not that login. (SET ROLE leaves session_user the login: a superuser who
-- SETs ROLE to a user is still itself, not a fundledger user, and is refused as before.)
--
-- T12: a superuser's `ALTER ROLE <login> IN DATABASE … SET session_replication_role =
-- replica` switches every trigger off for that login's writes, inside definer functions
-- too (balances, seals, histories, closed periods, overdraft and pooled-share guards).
-- fl.caller() refuses unless session_replication_role is 'origin'.
--
-- Cost: the backend status lookup copies the server's backend status table once per call
-- (server-side, 4,000 one-call transactions in a procedure, on the shared 2-core machine at
-- load 11: fl.caller() 43 → 113-138 µs, i.e. ~70-95 µs more, ~5 % of a 1.6 ms single entry;
-- pg_stat_activity's row for the backend cost ~140 µs more than this); the copy is
-- cleared again at once (pg_stat_clear_snapshot) so that a later read of pg_stat_activity in
-- the same transaction — the stuck-writer guards after a lock wait (0018, 0027) — sees the
-- server as it is then, not as it was at the call.
--
-- Not prevented (docs/security.md): a superuser can still reset a user's password and log
-- in as that user; the server's connection log (log_connections) is the evidence.

CREATE OR REPLACE FUNCTION fl.caller() RETURNS fl.app_user
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
DECLARE
  u     fl.app_user;
  login text;
BEGIN
  IF pg_catalog.current_setting('session_replication_role') <> 'origin' THEN
    PERFORM fl.refuse('session_replica', format(
      'this session runs with session_replication_role = %s, which switches the ledger''s triggers off; fundledger '
      'refuses every call until it is origin (RESET session_replication_role; the administrator removes any ALTER '
      'ROLE or ALTER DATABASE … SET session_replication_role)', pg_catalog.current_setting('session_replication_role')),
      'insufficient_privilege');
  END IF;
  SELECT pg_catalog.pg_get_userbyid(pg_catalog.pg_stat_get_backend_userid(b))::text INTO login
    FROM pg_catalog.pg_stat_get_backend_idset() b
   WHERE pg_catalog.pg_stat_get_backend_pid(b) = pg_catalog.pg_backend_pid();
  PERFORM pg_catalog.pg_stat_clear_snapshot();
  IF login IS DISTINCT FROM session_user::text THEN
    PERFORM fl.refuse('session_impersonated', format(
      'this connection was authenticated as %s but acts as %s (SET SESSION AUTHORIZATION): fundledger records who '
      'did what by the login, so it refuses; connect as %s with that user''s own credentials',
      coalesce(login, '?'), session_user, session_user), 'insufficient_privilege');
  END IF;
  SELECT * INTO u FROM fl.app_user WHERE name = session_user;
  IF NOT FOUND THEN
    PERFORM fl.refuse('permission_denied',
      format('%s is not a fundledger user; an admin adds users with `fundledger user add`', session_user),
      'insufficient_privilege');
  END IF;
  RETURN u;
END $$;
