-- 0147 (issue 24): less work per entry written that found nothing to do — two PL/pgSQL calls, a
-- trigger's WHEN read for every statement that moves an account's totals, and seven of
-- fl.manual_day's eight CHECKs. The same rules, refused by the same names and words (but one
-- CHECK's, below), against raw SQL as before.
--
-- 1. fl.entry_stamp called fl._json_depth_within(NEW.source, 64) for every entry without a source
--    document (every manual entry posted by hand: source is NULL). Its guard read
--    `jsonb_typeof(NEW.source) IN ('object', 'array') AND …`: for a NULL source the IN is NULL, and
--    AND evaluates its second argument whenever the first is not false — a PL/pgSQL call with two
--    SET clauses, which returned true for NULL on its first line. The guard is now
--    coalesce(…, false): a source that is an object or an array is measured as before; NULL, a
--    string or a number are not (the function returned true for them without measuring).
-- 2. fl.entry's READ COMMITTED guard (entry_read_committed, 0016) is the trigger's WHEN:
--    fl.refuse_old_snapshot ran for every statement that writes fl.entry to find the transaction at
--    READ COMMITTED. The trigger now fires only when it is not, and the function refuses then, with
--    the same words (it still reads the isolation itself). The other tables' guards are unchanged
--    (no entry's path writes them). A WHEN's text is read again by each statement that fires the
--    trigger (bench/history/2026-12-06-write-path-commit.md): this one is a single comparison.
-- 3. fl.account's identity guard (account_identity_fixed, 0001; its WHEN 0136) fires for an UPDATE
--    that names one of the six identity columns (UPDATE OF book, chart_code, unit, holder, component,
--    bank_account_id), with the same WHEN and function. Every posting statement updates its accounts'
--    debits, credits and balance and nothing else; PostgreSQL read the WHEN's 2.9 kB of node text
--    again for each of those statements (TriggerEnabled → stringToNode) to find no identity changed.
--    An UPDATE that does not name a column cannot change it (no other BEFORE UPDATE row trigger is on
--    fl.account to rewrite NEW), so every raw UPDATE of an identity column by the owner is still
--    refused (append_only), as test_upgrade_0136 and 0147 hold.
-- 4. fl.manual_day's eight counter CHECKs (each column's own >= 0, 0073–0122) are one,
--    manual_day_counts_check (least of the eight >= 0): PostgreSQL reads every CHECK's node text,
--    plans and prepares it for each statement that writes the table, and every manual call
--    updates its poster's row. The same rows are refused; the constraint's name is the one change
--    (the eight were column constraints named by PostgreSQL, which no refusal or test names).
--
-- fl.entry_stamp below is 0090's definition (its latest), changed only where "(0147)" says.

CREATE OR REPLACE FUNCTION fl.entry_stamp()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  maker text;
  held  boolean;
BEGIN
  IF TG_OP = 'INSERT' AND NOT coalesce(fl._key_in_namespace(NEW.kind, NEW.idempotency_key, NEW.source), false) THEN
    PERFORM fl.refuse('key_namespace', format(
      'idempotency key %s is not in the namespace of %s entries (%s…); a key of another operation cannot be taken',
      NEW.idempotency_key, NEW.kind, fl._key_namespace(NEW.kind)), 'insufficient_privilege');
  END IF;
  -- (0090) what the CHECKs entry_kind_known (0017, 0025b) and entry_memo_size, entry_reason_size,
  -- entry_source_size and entry_source_depth (0031) held, by the same names: a held entry's
  -- confirmation (its source names it) keeps the texts it was held with.
  IF NEW.kind NOT IN ('manual', 'reversal', 'opening', 'collections', 'payments', 'handover_transfer',
                      'preallocation', 'request_disburse', 'request_settle', 'interest', 'register_clear',
                      'year_close', 'adjfund_remit', 'adjfund_alloc') THEN
    PERFORM fl.refuse('entry_kind_known', format(
      'entry kind %s is not one the ledger knows; an entry is written by the command of its kind (fundledger entry '
      'post writes manual entries)', NEW.kind));
  END IF;
  held := coalesce((NEW.source ->> 'held') ~ '^[0-9]{1,18}$', false);
  IF NOT held THEN
    IF length(NEW.memo) > 8000 THEN
      PERFORM fl.refuse('entry_memo_size', 'an entry''s memo is longer than 8000 characters');
    END IF;
    IF length(NEW.reason) > 2000 THEN
      PERFORM fl.refuse('entry_reason_size', 'an entry''s reason is longer than 2000 characters');
    END IF;
    IF octet_length(NEW.source::text) > 32000 THEN
      PERFORM fl.refuse('entry_source_size', 'an entry''s source document is longer than 32000 bytes');
    END IF;
    -- (0147) coalesce: for a NULL source the IN is NULL, and AND called the depth function anyway
    IF coalesce(jsonb_typeof(NEW.source) IN ('object', 'array'), false)
       AND fl._json_depth_within(NEW.source, 64) IS FALSE THEN
      PERFORM fl.refuse('entry_source_depth', 'an entry''s source document nests deeper than 64 levels');
    END IF;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    RETURN NEW;   -- (0090) refused by entry_append_only before this; checked here should that ever be off
  END IF;
  IF jsonb_typeof(NEW.source) = 'object' AND (NEW.source ->> 'held') ~ '^[0-9]{1,18}$' THEN
    SELECT pe.made_by INTO maker FROM fl.pending_entry pe
     WHERE pe.id = (NEW.source ->> 'held')::bigint AND pe.idempotency_key = NEW.idempotency_key AND pe.state = 'held';
  END IF;
  NEW.created_by  := coalesce(maker, session_user);
  NEW.created_at  := now();
  NEW.client_addr := inet_client_addr();
  NEW.created_xid := pg_current_xact_id();
  RETURN NEW;
END $function$;

-- (0147) 0016's trigger, firing only when there is something to refuse.
DROP TRIGGER entry_read_committed ON fl.entry;
CREATE TRIGGER entry_read_committed BEFORE INSERT OR UPDATE OR DELETE ON fl.entry
  FOR EACH STATEMENT
  WHEN (pg_catalog.current_setting('transaction_isolation') <> 'read committed')
  EXECUTE FUNCTION fl.refuse_old_snapshot();

-- (0147) 0136's trigger, for the UPDATEs that name an identity column.
DROP TRIGGER account_identity_fixed ON fl.account;
CREATE TRIGGER account_identity_fixed BEFORE UPDATE OF book, chart_code, unit, holder, component, bank_account_id
  ON fl.account
  FOR EACH ROW
  WHEN ((NEW.book, NEW.chart_code, NEW.unit, NEW.holder, NEW.component, NEW.bank_account_id)
        IS DISTINCT FROM (OLD.book, OLD.chart_code, OLD.unit, OLD.holder, OLD.component, OLD.bank_account_id))
  EXECUTE FUNCTION fl.account_identity_fixed();

-- (0147) fl.manual_day's counters, none below zero: one CHECK instead of eight.
ALTER TABLE fl.manual_day
  DROP CONSTRAINT manual_day_n_check,
  DROP CONSTRAINT manual_day_postings_check,
  DROP CONSTRAINT manual_day_acks_check,
  DROP CONSTRAINT manual_day_requests_check,
  DROP CONSTRAINT manual_day_statements_check,
  DROP CONSTRAINT manual_day_statement_lines_check,
  DROP CONSTRAINT manual_day_import_rows_check,
  DROP CONSTRAINT manual_day_reference_rows_check,
  ADD CONSTRAINT manual_day_counts_check
    CHECK (least(n, postings, acks, requests, statements, statement_lines, import_rows, reference_rows) >= 0);
