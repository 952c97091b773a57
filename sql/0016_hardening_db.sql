-- 0016, the database part (run as the migrating login: it needs the database owner's rights).
--
-- Application roles create no temporary objects. Every login had TEMP through PUBLIC, so it could
-- make tables, types, domains, functions, casts and collations in its temp schema. 0008 keeps such
-- objects away from the definer functions' own work, but one kind cannot be kept away: a collation.
-- A plpgsql parameter takes the call's collation, and against a column of the default collation the
-- caller's wins, so `fl.request_submit('230881' COLLATE pg_temp.x, ...)` has the officer check
-- `p_unit IS DISTINCT FROM u.unit` decided by rules the caller wrote (PostgreSQL 16+ with ICU takes
-- tailoring rules that make any two codes equal). Without TEMP nothing of the caller's exists to be
-- handed in. fl_owner keeps TEMP: the import stage and work tables are made inside the definer
-- functions, as fl_owner; the caller still inserts into the owner's stage (a session always has
-- USAGE on its own temp schema).
--
-- Database privileges belong to the database's owner: on the embedded server (a superuser migrates)
-- and where the DBA who runs init owns the database this is done here; otherwise a WARNING names the
-- two statements for the DBA, and `docs/security.md` lists them.
DO $$
DECLARE
  me  pg_catalog.pg_roles;
  dba oid;
BEGIN
  SELECT * INTO me FROM pg_catalog.pg_roles WHERE rolname = current_user;
  SELECT d.datdba INTO dba FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database();
  IF me.rolsuper OR pg_catalog.pg_has_role(current_user, dba, 'USAGE') THEN
    EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', pg_catalog.current_database());
    EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO fl_owner', pg_catalog.current_database());
  ELSE
    RAISE WARNING 'fundledger: the database owner must run: REVOKE TEMPORARY ON DATABASE % FROM PUBLIC; '
                  'GRANT TEMPORARY ON DATABASE % TO fl_owner;  (application roles must not create temporary objects)',
                  quote_ident(pg_catalog.current_database()), quote_ident(pg_catalog.current_database());
  END IF;
END $$;
