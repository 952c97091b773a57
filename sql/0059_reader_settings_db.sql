-- 0059 (ATTACK7 U13), the part that needs the migrating login's rights: the groups that run
-- the verifier (auditor, reviewers, finance) may read every setting. shared_preload_libraries
-- and session_preload_libraries are readable only with pg_read_all_settings; without it
-- pg_settings left their rows out and the settings check, seeing none, said "no preloaded
-- library" while code a superuser chose ran in every session, the verifier's included. The
-- verifier now names an unreadable setting as a finding; this grant lets it read them. A
-- login that is not a superuser cannot grant it: the WARNING names the statement for the DBA.
DO $$
BEGIN
  IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
    IF NOT (pg_catalog.pg_has_role('fl_auditor', 'pg_read_all_settings', 'MEMBER')
            AND pg_catalog.pg_has_role('fl_reviewer', 'pg_read_all_settings', 'MEMBER')
            AND pg_catalog.pg_has_role('fl_finance', 'pg_read_all_settings', 'MEMBER')) THEN
      BEGIN
        GRANT pg_read_all_settings TO fl_auditor, fl_reviewer, fl_finance;
      EXCEPTION WHEN internal_error OR unique_violation THEN
        NULL;   -- another database's migration granted it a moment ago (roles are the cluster's)
      END;
    END IF;
  ELSE
    RAISE WARNING 'fundledger 0059: the verifier cannot read the preloaded libraries; a superuser runs: GRANT pg_read_all_settings TO fl_auditor, fl_reviewer, fl_finance';
  END IF;
END $$;
