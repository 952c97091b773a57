-- fundledger migration 0048: who and when are the writer's, whatever a column's DEFAULT says
-- (ATTACK6 T8).
--
-- Every "who" and "when" column of the ledger was filled by its DEFAULT (session_user, now()):
-- pending_entry.made_by, request_event.actor, closed_period.closed_by, record_log.actor (the
-- histories' own "who") … A DBA's `ALTER TABLE … ALTER COLUMN made_by SET DEFAULT 'rev2'` then
-- filed the next held entry of rev under rev2's name, and rev confirmed its own payment "as a
-- second person"; a default on request_event.actor fooled the separation-of-duties trigger the
-- same way. Now a BEFORE INSERT trigger on each of these tables sets them to the writer's
-- session_user (since 0047 the authenticated login) and the statement's time, whatever the
-- default or the INSERT said; it is named `<table>_0who`, so it runs before every other BEFORE
-- trigger of its table (they fire in name order: the duties check, the self-chained tables'
-- links and the caps read what it set). The history's own actor is set the same way by the
-- version's seal trigger (no second trigger on the busiest table). Dropping or disabling a
-- trigger is a catalogue finding (fingerprints), and the independent verdict's `actors` check
-- compares every row's who-column with the history version that recorded it either way.
--
-- The stamp applies inside fundledger's functions (current_user, the schema's owner, is not
-- session_user): that is where a default decided. A superuser's own raw INSERT keeps what it
-- typed (test fixtures write rows so, and a superuser could switch the trigger off anyway):
-- the history version records the superuser as its actor, and verify's `actors` check names
-- the row. The history's own actor is stamped always.

CREATE FUNCTION fl._stamp_who() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
-- TG_ARGV[0]: the who column; TG_ARGV[1]: the when column and TG_ARGV[2] its clock ('statement'
-- for now(), 'clock' for clock_timestamp(), as the column's default was), or none.
BEGIN
  IF current_user = session_user THEN
    RETURN NEW;          -- not inside a fundledger function: the superuser's own INSERT, named by verify
  END IF;
  IF TG_NARGS >= 3 THEN
    NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], session_user::text, TG_ARGV[1],
             CASE TG_ARGV[2] WHEN 'clock' THEN clock_timestamp() ELSE now() END));
  ELSE
    NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], session_user::text));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl._stamp_who() FROM PUBLIC;

DO $$
DECLARE
  t text[];
BEGIN
  FOREACH t SLICE 1 IN ARRAY ARRAY[
      ['request_event', 'actor', 'at', 'statement'],
      ['fund_request', 'submitted_by', 'submitted_at', 'statement'],
      ['pending_entry', 'made_by', 'made_at', 'statement'],
      ['closed_period', 'closed_by', 'closed_at', 'statement'],
      ['year_close', 'closed_by', 'closed_at', 'statement'],
      ['register_item', 'created_by', 'created_at', 'statement'],
      ['register_clearing', 'created_by', 'created_at', 'statement'],
      ['import_batch', 'imported_by', 'imported_at', 'statement'],
      ['budget', 'imported_by', 'imported_at', 'statement'],
      ['budget_adjustment', 'adjusted_by', 'adjusted_at', 'statement'],
      ['budget_plan', 'imported_by', 'imported_at', 'statement'],
      ['bank_statement', 'imported_by', 'imported_at', 'statement'],
      ['recon_match', 'matched_by', 'matched_at', 'statement'],
      ['insured_count', 'recorded_by', 'recorded_at', 'statement'],
      ['monitor_ack', 'acknowledged_by', 'acknowledged_at', 'clock'],
      ['operation_log', 'actor', 'at', 'clock'],
      ['app_user', 'created_by', 'created_at', 'statement']] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl._stamp_who(%L, %L, %L)',
                   t[1] || '_0who', t[1], t[2], t[3], t[4]);
  END LOOP;
END $$;

-- The history's own actor and time (sql/0034's seal, the same expression, the actor set first).
CREATE OR REPLACE FUNCTION fl.record_log_seal() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  NEW.actor := session_user;
  NEW.at := clock_timestamp();
  NEW.vxid := pg_current_xact_id();
  NEW.vseal := sha256(convert_to(concat_ws('|', NEW.id, NEW.tbl, NEW.op, NEW.actor, NEW.row_key::text,
                                           NEW.row_data::text, NEW.vxid::text), 'UTF8'));
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.record_log_seal() FROM PUBLIC;
