-- 0085 (ATTACK10 X15): monitoring acknowledgements and fund requests are bounded per user and
-- region day, through 0073's counter row.
--
-- X15 (LOW). 0064 (withdrawals), 0073 and 0078 (manual entries and their postings) bounded what
-- one login appends for ever; fl.monitor_acknowledge and fl.request_submit were left out. An
-- officer appended 2,500 acknowledgements of its own unit's yellow warnings (no warning needs to
-- exist: only the dates are checked), each a self-chained fl.monitor_ack row hooked into the
-- history, and 2,500 fund requests of 0.01 yuan (each a fund_request row and its submit event,
-- both in the history), in seconds: every verify reads them and every export carries them, for
-- ever, and the bureau's approval queue (request list) is flooded, each request rejected or
-- voided one by one.
--
-- Now each (and each bank statement, below) is counted in the caller's fl.manual_day row for the region's day (fl._region_today(),
-- 0056: the session's TimeZone plays no part), incremented and read by the statement that checks
-- the cap (INSERT ... ON CONFLICT DO UPDATE ... RETURNING): O(1) per call, one user's concurrent
-- calls queue on that user's row, and a refused call rolls its increment back. Two columns of the
-- same row, not a table per kind: one row per user and day, as 0073 wanted.
--
-- The bounds are ones a real office never meets:
-- * acknowledgements: 200 a region day for an officer, 1,000 for the city bureau and city
--   finance. A warning is acknowledged once per unit, book, level and start (the monitor shows a
--   handful at a time); Jiamusi has seven units and a few books, so a county acknowledges a few a
--   month and the city (every unit's red warnings) tens on its busiest day.
-- * fund requests: 200 a region day for an officer, 1,000 for the city bureau (which submits for
--   any unit). A unit asks once or a few times a quarter per book and component; even a
--   quarter's requests re-entered after a mistake are tens.
-- Only a new acknowledgement or request counts: a call under a key already there writes nothing
-- and is answered 'duplicate' before the count. The refusals (ack_daily_cap, request_daily_cap,
-- Chinese first) say how many, when to retry (00:00 of the region's next day) and who else may
-- write it (the city bureau, or city finance for acknowledgements). Rows of the counter written
-- before this migration count 0 of each (the columns' default).
--
-- Text is already bounded: fl.monitor_ack.decision by its CHECK (0015, 2,000 characters) and
-- fl.fund_request.note by fl.fund_request_caps (0031, 2,000 characters).
--
-- The acknowledgement day's bound is the region's day: 0056 had already rewritten
-- fl.monitor_acknowledge's current_date to fl._region_today() (by pg_get_functiondef); the text
-- below writes it out.
--
-- Swept (the other API functions that append a history row for a caller):
-- * bank statements (fl.import_statement, an officer's own unit's accounts too) were unbounded
--   the same way: every call appends a chained fl.bank_statement row, even when all its lines
--   were there already, and lines under fresh references are new chained fl.statement_line rows
--   (and unmatched lines in every reconciliation). Now bounded in the same row: 200 statements a
--   region day for an officer (a unit has a few accounts and imports each once a day or a month)
--   and 50,000 new lines (a county account's busiest day is hundreds of lines; a year of history
--   at onboarding is tens of thousands, over two days or through the city); 1,000 statements
--   and 500,000 lines for the city bureau and city finance. Only new lines count (a statement
--   imported again adds none). Refusal statement_daily_cap.
-- * request events past submit (approve, reject, void, disburse, settle) each move a request to
--   a later state, so they are bounded by the submissions; reconciliation matches by the
--   statement lines and postings (each matched once, never unmatched); held entries by 0050
--   (2,000 open per maker) and 0064 (withdrawals); manual entries by 0073/0078.
-- * not bounded per day here: the imports of payments (an officer's, entries of real money under
--   references unique per unit) and the city's own writes (budgets, plans, insured counts,
--   collections, openings, clearings, pre-allocations, finance's workflows): see NOTE-fix10e.
--
-- fl.monitor_acknowledge below is its latest migrated definition (0043's, as 0056 rewrote its
-- date), fl.request_submit its latest (0035's), fl.import_statement its latest (0007's, with
-- the settings 0027 and 0056 gave it: pg_get_functiondef of a database at 0084); each changed
-- only in the block marked 0085.

ALTER TABLE fl.manual_day
  ADD COLUMN acks integer NOT NULL DEFAULT 0 CHECK (acks >= 0),
  ADD COLUMN requests integer NOT NULL DEFAULT 0 CHECK (requests >= 0),
  ADD COLUMN statements integer NOT NULL DEFAULT 0 CHECK (statements >= 0),
  ADD COLUMN statement_lines bigint NOT NULL DEFAULT 0 CHECK (statement_lines >= 0);

CREATE OR REPLACE FUNCTION fl.monitor_acknowledge(p_unit text, p_book text, p_level text, p_since date, p_on date, p_decision text, p_key text)
 RETURNS TABLE(id bigint, status text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer', 'finance', 'officer'], 'acknowledge a monitoring warning');
  r fl.monitor_ack;
BEGIN
  IF coalesce(btrim(p_key), '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'an acknowledgement needs an idempotency key');
  END IF;
  IF u.role = 'officer' AND u.unit IS DISTINCT FROM p_unit THEN
    PERFORM fl.refuse('unit_scope', format('an officer of %s cannot acknowledge a warning of unit %s',
                                           coalesce(u.unit, '?'), p_unit), 'insufficient_privilege');
  END IF;
  IF u.role = 'officer' AND p_level = 'red' THEN
    PERFORM fl.refuse('ack_role', format('a red warning of %s is acknowledged by the city bureau (reviewer) or city '
                                         'finance, not by the unit''s own officer (%s)', p_unit, u.name),
                      'insufficient_privilege');
  END IF;
  -- (0041) The key is looked up in the acknowledged unit's own key space only.
  SELECT * INTO r FROM fl.monitor_ack a WHERE a.unit = p_unit AND a.idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.book, r.level, r.since, r.acknowledged_on, r.decision, r.acknowledged_by)
       IS DISTINCT FROM (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), session_user::text) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by acknowledgement %s with different content; nothing was written',
        p_key, r.id), 'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit x WHERE x.code = p_unit) THEN
    PERFORM fl.refuse('not_found', format('unknown unit %s', p_unit), 'no_data_found');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.book x WHERE x.code = p_book) THEN
    PERFORM fl.refuse('not_found', format('unknown book %s', p_book), 'no_data_found');
  END IF;
  IF p_level IS NULL OR p_level NOT IN ('yellow', 'red') THEN
    PERFORM fl.refuse('ack_level', format('the level must be yellow or red, not %s', coalesce(p_level, 'none')));
  END IF;
  IF coalesce(btrim(p_decision), '') = '' THEN
    PERFORM fl.refuse('ack_decision', 'an acknowledgement needs the decision taken (it is kept in the record)');
  END IF;
  IF p_on IS NULL OR p_since IS NULL OR p_since > p_on OR p_on > fl._region_today() THEN
    PERFORM fl.refuse('ack_date', format('the acknowledgement day %s must be on or after the warning''s start %s '
                                         'and not in the future', p_on, p_since));
  END IF;
  -- (0043, ATTACK5 S9) The warning's start as the monitor computes it (ledger.core.response.since):
  -- a month end of the unit's history, or the acknowledged day itself; and never before the
  -- unit's first figures in the book (no warning before there is anything to warn about).
  IF p_since <> p_on AND p_since <> (date_trunc('month', p_since) + interval '1 month - 1 day')::date THEN
    PERFORM fl.refuse('ack_since', format(
      'the warning''s start %s is neither a month end nor the acknowledgement day %s: a warning starts at the month '
      'end from which the unit stayed at its level, or on the day itself; acknowledge with the start that '
      '''fundledger monitor --as-of %s'' shows', p_since, p_on, p_on));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id AND d.day <= p_since
                  WHERE a.unit = p_unit AND a.book = p_book) THEN
    PERFORM fl.refuse('ack_since', format(
      'unit %s has no figures in book %s on or before %s, so no warning can have started then; acknowledge with '
      'the start that ''fundledger monitor --as-of %s'' shows', p_unit, p_book, p_since, p_on));
  END IF;
  -- (0085, ATTACK10 X15) Acknowledgements per user and region day: 200 for an officer, 1000
  -- for the city bureau and city finance. Counted here, after every other check and only for a
  -- new acknowledgement (a duplicate key above writes nothing); 0073's counter row, incremented
  -- and read in one statement.
  DECLARE
    cap   int := CASE WHEN u.role = 'officer' THEN 200 ELSE 1000 END;
    today date := fl._region_today();
    sofar int;
  BEGIN
    INSERT INTO fl.manual_day AS m (user_name, day, n, acks) VALUES (u.name, today, 0, 1)
      ON CONFLICT (user_name, day) DO UPDATE SET acks = m.acks + 1
      RETURNING m.acks INTO sofar;
    IF sofar > cap THEN
      PERFORM fl.refuse('ack_daily_cap', format(
        '%s has already recorded %s monitoring acknowledgements today (%s, the region''s day; at most %s a day for a '
        '%s), and nothing was written. Record it tomorrow (from 00:00 of %s, the region''s time), or have the city '
        'bureau (a reviewer) or city finance record it',
        u.name, sofar - 1, today, cap, u.role, today + 1), 'program_limit_exceeded');
    END IF;
  END;
  INSERT INTO fl.monitor_ack (unit, book, level, since, acknowledged_on, decision, idempotency_key, prev_hash, hash)
  VALUES (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), p_key, '\x', '\x')
  RETURNING * INTO r;
  RETURN QUERY SELECT r.id, 'recorded'::text;
END $function$;

CREATE OR REPLACE FUNCTION fl.request_submit(p_unit text, p_book text, p_component text, p_year integer, p_quarter integer, p_amount bigint, p_note text, p_key text)
 RETURNS TABLE(id bigint, status text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
#variable_conflict use_column
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'submit fund requests');
  bk   fl.book;
  r    fl.fund_request;
  comp text := coalesce(p_component, '');
BEGIN
  IF u.role = 'officer' AND p_unit IS DISTINCT FROM u.unit THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may not submit requests for unit %s',
      u.name, u.unit, p_unit), 'insufficient_privilege');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit WHERE code = p_unit) THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  END IF;
  SELECT * INTO bk FROM fl.book WHERE code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF cardinality(bk.components) > 0 AND NOT comp = ANY (bk.components) THEN
    PERFORM fl.refuse('account_component', format('book %s needs a component (%s) on a request; got ''%s''',
      p_book, array_to_string(bk.components, ' or '), comp));
  ELSIF cardinality(bk.components) = 0 AND comp <> '' THEN
    PERFORM fl.refuse('account_component', format('book %s has no components; got ''%s''', p_book, comp));
  END IF;
  IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2100 OR p_quarter IS NULL OR p_quarter NOT BETWEEN 1 AND 4 THEN
    PERFORM fl.refuse('request_period', format('a request is for a year 2000–2100 and a quarter 1–4; got %s Q%s',
      p_year, p_quarter));
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the amount requested must be positive');
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a request needs an idempotency key');
  END IF;

  SELECT * INTO r FROM fl.fund_request WHERE unit = p_unit AND idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested, r.note)
       IS DISTINCT FROM (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, '')) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by request %s with different content; nothing was written', p_key, r.id),
        'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text;
    RETURN;
  END IF;

  -- (0085, ATTACK10 X15) Requests per user and region day: 200 for an officer, 1000 for the
  -- city bureau. Counted only for a new request (a duplicate key above writes nothing); 0073's
  -- counter row, incremented and read in one statement.
  DECLARE
    cap   int := CASE WHEN u.role = 'officer' THEN 200 ELSE 1000 END;
    today date := fl._region_today();
    sofar int;
  BEGIN
    INSERT INTO fl.manual_day AS m (user_name, day, n, requests) VALUES (u.name, today, 0, 1)
      ON CONFLICT (user_name, day) DO UPDATE SET requests = m.requests + 1
      RETURNING m.requests INTO sofar;
    IF sofar > cap THEN
      PERFORM fl.refuse('request_daily_cap', format(
        '%s has already submitted %s fund requests today (%s, the region''s day; at most %s a day for a %s), and '
        'nothing was written. Submit it tomorrow (from 00:00 of %s, the region''s time), or have the city bureau (a '
        'reviewer) submit it',
        u.name, sofar - 1, today, cap, u.role, today + 1), 'program_limit_exceeded');
    END IF;
  END;

  INSERT INTO fl.fund_request (unit, book, component, year, quarter, amount_requested, note, justification,
                               idempotency_key)
  VALUES (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, ''),
          fl.request_justification(p_unit, p_book, comp, p_year, p_quarter), p_key)
  RETURNING * INTO r;
  PERFORM fl._request_event(r, 'submit', 'submitted', p_amount, p_note, NULL);
  RETURN QUERY SELECT r.id, 'submitted'::text;
END $function$;

CREATE OR REPLACE FUNCTION fl.import_statement(p_book text, p_holder text, p_unit text, p_file text, p_sha256 text, p_lines jsonb)
 RETURNS TABLE(statement_id bigint, bank_account_id integer, lines_total integer, lines_new integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
 SET "DateStyle" TO 'ISO, YMD'
AS $function$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'import bank statements');
  bank int := fl._statement_account(u, p_book, p_holder, p_unit);
  sid  bigint;
  n    int;
  k    int;
BEGIN
  IF jsonb_typeof(p_lines) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'statement lines must be a list');
  END IF;
  n := jsonb_array_length(p_lines);
  INSERT INTO fl.bank_statement (bank_account_id, file_name, file_sha256, lines_total)
  VALUES (bank, p_file, p_sha256, n) RETURNING id INTO sid;
  INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, reference, balance)
  SELECT bank, sid, (l->>'row')::int, (l->>'date')::date, l->>'direction', (l->>'amount')::bigint, l->>'reference',
         (l->>'balance')::bigint
    FROM jsonb_array_elements(p_lines) l
  ON CONFLICT ON CONSTRAINT statement_line_once DO NOTHING;
  GET DIAGNOSTICS k = ROW_COUNT;
  -- (0085, ATTACK10 X15) Statements and their new lines per user and region day: 200
  -- statements and 50000 new lines for an officer, 1000 and 500000 for the city bureau and
  -- city finance. Counted after the lines went in (only new lines count: a statement imported
  -- again adds none); 0073's counter row, incremented and read in one statement. A refused
  -- call rolls back its statement, its lines and its increment.
  DECLARE
    cap   int := CASE WHEN u.role = 'officer' THEN 200 ELSE 1000 END;
    lcap  bigint := CASE WHEN u.role = 'officer' THEN 50000 ELSE 500000 END;
    today date := fl._region_today();
    sofar int;
    lines bigint;
  BEGIN
    INSERT INTO fl.manual_day AS m (user_name, day, n, statements, statement_lines) VALUES (u.name, today, 0, 1, k)
      ON CONFLICT (user_name, day) DO UPDATE
        SET statements = m.statements + 1, statement_lines = m.statement_lines + EXCLUDED.statement_lines
      RETURNING m.statements, m.statement_lines INTO sofar, lines;
    IF sofar > cap THEN
      PERFORM fl.refuse('statement_daily_cap', format(
        '%s has already imported %s bank statements today (%s, the region''s day; at most %s a day for a %s), and '
        'nothing was written. Import it tomorrow (from 00:00 of %s, the region''s time), or have the city bureau (a '
        'reviewer) or city finance import it',
        u.name, sofar - 1, today, cap, u.role, today + 1), 'program_limit_exceeded');
    END IF;
    IF lines > lcap THEN
      PERFORM fl.refuse('statement_daily_cap', format(
        '%s has already imported %s new bank statement lines today (%s, the region''s day; at most %s a day for a '
        '%s); this statement''s %s new lines would pass that, and nothing was written. Import the rest tomorrow (from '
        '00:00 of %s, the region''s time), in shorter statements, or have the city bureau (a reviewer) or city '
        'finance import it',
        u.name, lines - k, today, lcap, u.role, k, today + 1), 'program_limit_exceeded');
    END IF;
  END;
  RETURN QUERY SELECT sid, bank, n, k;
END $function$;
