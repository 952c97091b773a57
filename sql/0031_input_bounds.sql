-- 0031: what a caller stores is bounded in shape as well as size, and the bounds of 0029
-- bind new text only (issue 14; ATTACK4 Q2, Q4, Q6, Q7; ATTACK3 R20).
--
-- Q7. A NOT VALID check still applies to every UPDATE of an old row: a held entry written
--     before 0029 with a memo past the cap could be neither confirmed nor rejected (the
--     decision rewrites the row), a fund request with a long note could not be approved.
--     On the four tables whose rows are updated (pending_entry, fund_request,
--     register_item, import_batch) the caps move from CHECKs to one BEFORE INSERT OR
--     UPDATE row trigger per table that holds a new row, and a changed value, to the cap,
--     and lets an old value stand unchanged — exactly the promise of NOT VALID, kept on
--     updates too. The refusal carries the same constraint name (ledger/store/translate.py
--     words it as before). The journal (fl.entry) is never updated; a legacy held entry's
--     confirmation copies its memo, reason and source into it, so its caps let a copy
--     through that names its held entry (source.held: only fl.confirm_entry writes it,
--     fl.entry_stamp checks it names the undecided held entry of this very key, and a
--     caller's source may not carry it, 0027's source_reserved). A posting's memo past
--     2,000 characters in a legacy held entry is not let through (fl.posting cannot see
--     its entry in a CHECK, and a row trigger on every posting would cost every import):
--     such an entry is rejected and posted again with a shorter memo.
-- Q2. A 5,000-deep `source` was accepted and then `entry show` and the confirmation
--     failed on it. Every caller-supplied jsonb is held, where it is stored, to 64 levels
--     of nesting (ledger.io.infile.parse_json's limit): entry.source, pending_entry.source,
--     operation_log.detail.
-- Q4. bank_statement.file_sha256 took anything ('' too): it is 64 lowercase hex digits
--     (the statement import digests the file it reads).
-- Q6. operation_log.subject and .detail had no cap.
-- R20. An entry that moves real money (1001–1005, or an account with a holder) could be
--     dated up to 31 December of next year: a payout hidden from this year's reports.
--     Its date is at most today in the region's time zone (fl.setting region.time_zone,
--     the one the period calendar uses) plus cash_date_allowance_days (a setting, 0 when
--     absent); the journal and held entries alike. Other entries keep 0009's range.

-- ---------------------------------------------------------------------------
-- Q2: nesting depth of a jsonb value.
-- ---------------------------------------------------------------------------
-- Strings are removed, then every innermost pair of brackets, once per level: a value
-- nests within p_max levels when p_max rounds leave nothing. A value past 1 MB of text
-- is the size caps' business (NULL: a CHECK lets it through to them).
-- (standard_conforming_strings pinned: the patterns' backslashes must not depend on the caller's
-- session, which may turn it off.)
CREATE FUNCTION fl._json_depth_within(p jsonb, p_max int) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp SET standard_conforming_strings = on AS $$
DECLARE
  t text;
  i int := 0;
BEGIN
  IF p IS NULL OR jsonb_typeof(p) NOT IN ('object', 'array') THEN
    RETURN true;
  END IF;
  t := p::text;
  IF octet_length(t) > 1048576 THEN
    RETURN NULL;
  END IF;
  t := regexp_replace(regexp_replace(t, '"(?:[^"\\]|\\.)*"', '', 'g'), '[^][{}]', '', 'g');
  WHILE t <> '' LOOP
    i := i + 1;
    IF i > p_max THEN
      RETURN false;
    END IF;
    t := regexp_replace(t, '\[\]|\{\}', '', 'g');
  END LOOP;
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION fl._json_depth_within(jsonb, int) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Q7: the caps of the four updated tables, on new rows and changed values only.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.pending_entry
  DROP CONSTRAINT pending_entry_memo_size,
  DROP CONSTRAINT pending_entry_reason_size,
  DROP CONSTRAINT pending_entry_decision_reason_size,
  DROP CONSTRAINT pending_entry_source_size;
ALTER TABLE fl.fund_request DROP CONSTRAINT fund_request_note_size;
ALTER TABLE fl.register_item
  DROP CONSTRAINT register_item_note_size,
  DROP CONSTRAINT register_item_reference_size;
ALTER TABLE fl.import_batch
  DROP CONSTRAINT import_batch_file_name_size,
  DROP CONSTRAINT import_batch_file_sha256_form;

CREATE FUNCTION fl.pending_entry_caps() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  fresh boolean := TG_OP = 'INSERT';
BEGIN
  IF (fresh OR NEW.memo IS DISTINCT FROM OLD.memo) AND length(NEW.memo) > 8000 THEN
    PERFORM fl.refuse('pending_entry_memo_size', 'an entry''s memo is longer than 8000 characters');
  END IF;
  IF (fresh OR NEW.reason IS DISTINCT FROM OLD.reason) AND length(NEW.reason) > 2000 THEN
    PERFORM fl.refuse('pending_entry_reason_size', 'an entry''s reason is longer than 2000 characters');
  END IF;
  IF (fresh OR NEW.decision_reason IS DISTINCT FROM OLD.decision_reason) AND length(NEW.decision_reason) > 2000 THEN
    PERFORM fl.refuse('pending_entry_decision_reason_size', 'the reason for a decision is longer than 2000 characters');
  END IF;
  IF fresh OR NEW.source IS DISTINCT FROM OLD.source THEN
    IF octet_length(NEW.source::text) > 32000 THEN
      PERFORM fl.refuse('pending_entry_source_size', 'an entry''s source document is longer than 32000 bytes');
    END IF;
    IF NOT fl._json_depth_within(NEW.source, 64) THEN
      PERFORM fl.refuse('pending_entry_source_depth', 'an entry''s source document nests deeper than 64 levels');
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER pending_entry_caps BEFORE INSERT OR UPDATE ON fl.pending_entry
  FOR EACH ROW EXECUTE FUNCTION fl.pending_entry_caps();

CREATE FUNCTION fl.fund_request_caps() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF (TG_OP = 'INSERT' OR NEW.note IS DISTINCT FROM OLD.note) AND length(NEW.note) > 2000 THEN
    PERFORM fl.refuse('fund_request_note_size', 'a fund request''s note is longer than 2000 characters');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fund_request_caps BEFORE INSERT OR UPDATE ON fl.fund_request
  FOR EACH ROW EXECUTE FUNCTION fl.fund_request_caps();

CREATE FUNCTION fl.register_item_caps() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  fresh boolean := TG_OP = 'INSERT';
BEGIN
  IF (fresh OR NEW.note IS DISTINCT FROM OLD.note) AND length(NEW.note) > 2000 THEN
    PERFORM fl.refuse('register_item_note_size', 'a register item''s note is longer than 2000 characters');
  END IF;
  IF (fresh OR NEW.reference IS DISTINCT FROM OLD.reference) AND length(NEW.reference) > 200 THEN
    PERFORM fl.refuse('register_item_reference_size', 'a register item''s reference is longer than 200 characters');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER register_item_caps BEFORE INSERT OR UPDATE ON fl.register_item
  FOR EACH ROW EXECUTE FUNCTION fl.register_item_caps();

CREATE FUNCTION fl.import_batch_caps() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  fresh boolean := TG_OP = 'INSERT';
BEGIN
  IF (fresh OR NEW.file_name IS DISTINCT FROM OLD.file_name) AND length(NEW.file_name) > 4500 THEN
    PERFORM fl.refuse('import_batch_file_name_size', 'the file''s name is longer than 4500 characters');
  END IF;
  -- A batch's file digest is the client's claim (ATTACK3 R19): at least it has the form of
  -- one (64 hex digits; empty when the rows came from a pipe and no file was digested).
  IF (fresh OR NEW.file_sha256 IS DISTINCT FROM OLD.file_sha256)
     AND NOT (NEW.file_sha256 = '' OR NEW.file_sha256 ~ '^[0-9a-f]{64}$') THEN
    PERFORM fl.refuse('import_batch_file_sha256_form', 'a file''s SHA-256 digest is 64 hexadecimal digits');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER import_batch_caps BEFORE INSERT OR UPDATE ON fl.import_batch
  FOR EACH ROW EXECUTE FUNCTION fl.import_batch_caps();

REVOKE ALL ON FUNCTION fl.pending_entry_caps(), fl.fund_request_caps(), fl.register_item_caps(),
  fl.import_batch_caps() FROM PUBLIC;

-- The journal's caps let through the confirmation of a held entry written before 0029
-- (source.held names it; see Q7 above); every other new entry is held to them as before.
ALTER TABLE fl.entry
  DROP CONSTRAINT entry_memo_size,
  DROP CONSTRAINT entry_reason_size,
  DROP CONSTRAINT entry_source_size;
ALTER TABLE fl.entry
  ADD CONSTRAINT entry_memo_size
    CHECK (length(memo) <= 8000 OR coalesce((source ->> 'held') ~ '^[0-9]{1,18}$', false))
    NOT VALID,
  ADD CONSTRAINT entry_reason_size
    CHECK (length(reason) <= 2000 OR coalesce((source ->> 'held') ~ '^[0-9]{1,18}$', false))
    NOT VALID,
  ADD CONSTRAINT entry_source_size
    CHECK (octet_length(source::text) <= 32000
           OR coalesce((source ->> 'held') ~ '^[0-9]{1,18}$', false))
    NOT VALID,
  ADD CONSTRAINT entry_source_depth
    CHECK (fl._json_depth_within(source, 64)
           OR coalesce((source ->> 'held') ~ '^[0-9]{1,18}$', false))
    NOT VALID;

-- ---------------------------------------------------------------------------
-- Q4, Q6: the statement's digest; the operations log's subject and detail.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.bank_statement
  ADD CONSTRAINT bank_statement_file_sha256_form CHECK (file_sha256 ~ '^[0-9a-f]{64}$') NOT VALID;
ALTER TABLE fl.operation_log
  ADD CONSTRAINT operation_log_subject_size CHECK (length(subject) <= 4500) NOT VALID,
  ADD CONSTRAINT operation_log_detail_size CHECK (octet_length(detail::text) <= 32000) NOT VALID,
  ADD CONSTRAINT operation_log_detail_depth CHECK (fl._json_depth_within(detail, 64)) NOT VALID;

-- ---------------------------------------------------------------------------
-- R20: an entry that moves real money is dated no later than the region's today.
-- ---------------------------------------------------------------------------
-- The latest date a real-money entry may carry: today in the region's time zone (the
-- session's TimeZone plays no part) plus the configured allowance (days, 0–366).
CREATE FUNCTION fl._cash_date_limit() RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT (now() AT TIME ZONE coalesce((SELECT s.value ->> 'time_zone' FROM fl.setting s WHERE s.key = 'region'),
                                      'Asia/Shanghai'))::date
         + coalesce((SELECT least(greatest((s.value #>> '{}')::int, 0), 366) FROM fl.setting s
                      WHERE s.key = 'cash_date_allowance_days' AND (s.value #>> '{}') ~ '^[0-9]{1,3}$'), 0)
$$;

CREATE FUNCTION fl.posting_cash_date() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  lim date := fl._cash_date_limit();
  bad record;
BEGIN
  -- Only postings dated after the limit are looked at (none, in every ordinary import).
  SELECT p.entry_date, a.chart_code, a.holder INTO bad
    FROM (SELECT DISTINCT x.account_id, x.entry_date FROM new_postings x WHERE x.entry_date > lim) p
    JOIN LATERAL (SELECT y.chart_code, y.holder FROM fl.account y WHERE y.id = p.account_id OFFSET 0) a ON true
   WHERE fl._real_money(a.chart_code, a.holder)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('cash_date_future', format(
      'entry dated %s refused: an entry that moves real money (account %s) is dated no later than %s, today in '
      'the region; date it on the day the bank moved the money, or post it when that day has come',
      bad.entry_date, concat_ws(' ', bad.chart_code, nullif(bad.holder, '')), lim));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER posting_cash_date AFTER INSERT ON fl.posting
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_cash_date();

CREATE FUNCTION fl.pending_posting_cash_date() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  lim date := fl._cash_date_limit();
  bad record;
BEGIN
  SELECT pe.entry_date, a.chart_code, a.holder INTO bad
    FROM new_postings p
    JOIN fl.pending_entry pe ON pe.id = p.pending_id
    JOIN fl.account a ON a.id = p.account_id
   WHERE pe.entry_date > lim AND fl._real_money(a.chart_code, a.holder)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('cash_date_future', format(
      'entry dated %s refused: an entry that moves real money (account %s) is dated no later than %s, today in '
      'the region; date it on the day the bank moved the money, or post it when that day has come',
      bad.entry_date, concat_ws(' ', bad.chart_code, nullif(bad.holder, '')), lim));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER pending_posting_cash_date AFTER INSERT ON fl.pending_posting
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION fl.pending_posting_cash_date();

REVOKE ALL ON FUNCTION fl._cash_date_limit(), fl.posting_cash_date(), fl.pending_posting_cash_date() FROM PUBLIC;
