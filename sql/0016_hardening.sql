-- 0016 hardening: what a hostile re-test of 0008 found (/work/coord/ATTACK.md, tests/security/test_hardening.py).
--
-- 1. Writes only at READ COMMITTED. fl.entry_inserted takes ROW EXCLUSIVE on fl.closed_period and then
--    reads it: sound only if that read takes a fresh snapshot, i.e. under READ COMMITTED. A writer who
--    ran `BEGIN ISOLATION LEVEL REPEATABLE READ` (or SET default_transaction_isolation) before a month
--    was closed still posted into it after the close, with a created_at older than the close; after a
--    year-end close the same left revenue in the closed year, and the next year's close refused forever.
--    Every check a definer function makes by reading committed rows has the same weakness, so the
--    tables the API writes refuse any statement run under an older snapshot (REPEATABLE READ,
--    SERIALIZABLE). Readers are unaffected: verify and audit keep their REPEATABLE READ, READ ONLY
--    snapshots. A statement trigger per table: one check per statement, not per row.
-- 2. The operations log: `fundledger db check` trusts the last *verified backup* recorded there, so
--    backups and restores are recorded only by an operator (the schema's owner or a superuser: the
--    seat that ran them), whatever function inserts; an admin forged one with fl.log_operation.
-- 3. The operations log's hash covers its timestamp as text: pinned DateStyle and TimeZone, so the
--    writer's session settings cannot make a row's hash depend on a zone the verifier must guess.
-- (The database part, TEMP revoked from PUBLIC, is 0016_hardening_db.sql: it needs the database
-- owner's rights, not fl_owner's.)

CREATE FUNCTION fl.refuse_old_snapshot() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE iso text := pg_catalog.current_setting('transaction_isolation');
BEGIN
  IF iso <> 'read committed' THEN
    PERFORM fl.refuse('read_committed', pg_catalog.format(
      'the ledger is written only at READ COMMITTED isolation; this transaction is %s, so its snapshot '
      'may predate a period close or another writer''s commit (%s on %s refused; nothing was written)',
      upper(iso), TG_OP, TG_TABLE_NAME), 'invalid_transaction_state');
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['entry', 'closed_period', 'year_close', 'fund_request', 'request_event', 'register_item',
                           'register_clearing', 'budget', 'budget_line', 'bank_statement', 'statement_line',
                           'recon_match', 'import_batch', 'app_user', 'operation_log'] LOOP
    IF pg_catalog.to_regclass('fl.' || t) IS NOT NULL THEN
      EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON fl.%I '
                                'FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_old_snapshot()',
                                t || '_read_committed', t);
    END IF;
  END LOOP;
END $$;

CREATE FUNCTION fl.operation_log_operator_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NEW.action IN ('backup', 'restore') AND NOT fl._is_operator() THEN
    PERFORM fl.refuse('permission_denied', pg_catalog.format(
      '%s may not record a %s: backups and restores are recorded by the operator who runs them (the database '
      'owner''s seat), and db check trusts that record', session_user, NEW.action), 'insufficient_privilege');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER operation_log_operator_only BEFORE INSERT ON fl.operation_log
  FOR EACH ROW EXECUTE FUNCTION fl.operation_log_operator_only();

ALTER FUNCTION fl.operation_log_chain() SET "DateStyle" = 'ISO, YMD';
ALTER FUNCTION fl.operation_log_chain() SET "TimeZone" = 'UTC';
ALTER FUNCTION fl.operation_log_chain() SET "IntervalStyle" = 'postgres';

REVOKE ALL ON FUNCTION fl.refuse_old_snapshot(), fl.operation_log_operator_only() FROM PUBLIC;
