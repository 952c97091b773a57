-- 0172 (after 0167): the table locks of a later joining-date registration carry 0044's busy-holder mark.
--
-- 0167's fl.register_unit_joined and the table's BEFORE INSERT trigger fl.unit_joined_later_chain() lock
-- fl.unit_joined_later IN SHARE ROW EXCLUSIVE MODE (one registration at a time, the chain) and the trigger
-- fl.account_day IN SHARE MODE (no posting commits while the bound is read): both stop writers — every
-- posting writes its day rows under ROW EXCLUSIVE on fl.account_day. Neither took the mark (0058's
-- fl._contended_mark(), an advisory lock keyed by the statement's start) that fl_guard.end_stuck_writers
-- reads from pg_locks: a reviewer's session that registered a date and then kept its transaction open
-- (or computing) held every posting of every unit back until it ended of its own accord, and the guard
-- could not tell it from an innocent reader (ATTACK7 U7's sweep, test_attack7_duties, named both).
--
-- Now both take the mark before their first lock, as every other function whose lock stops writers
-- (0068's fl._rule_takes_effect, 0132's posting path). The definitions are 0167's otherwise, every SET
-- clause kept (search_path, lock_timeout = 5s; the trigger's TimeZone and DateStyle, which the hash's
-- text depends on): no row, no hash, no refusal changes.

CREATE OR REPLACE FUNCTION fl.unit_joined_later_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' AS $$
DECLARE
  prev  bytea;
  fp    date;
  lo    date := make_date(coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000), 1, 1);
  was   record;
BEGIN
  -- One writer at a time (the chain), and no posting on any unit commits while the bound is read:
  -- a posting's day row is written under ROW EXCLUSIVE on fl.account_day, which SHARE waits for.
  -- (0172) Both locks stop writers: marked first (0058), so fl_guard.end_stuck_writers ends a holder
  -- that keeps its transaction open and every posting waiting.
  PERFORM fl._contended_mark();
  LOCK TABLE fl.unit_joined_later IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.account_day IN SHARE MODE;
  IF NEW.joined_on IS NULL OR NEW.joined_on < lo THEN
    PERFORM fl.refuse('joined_later_date', format(
      'unit %s: a joining date of %s is before the ledger''s first year (%s); nothing was registered: the joining '
      'date is the unit''s first day in the ledger, on or after %s', NEW.unit, coalesce(NEW.joined_on::text, 'none'),
      lo, lo));
  END IF;
  SELECT min(d.day) INTO fp FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id WHERE a.unit = NEW.unit;
  IF fp IS NOT NULL AND NEW.joined_on > fp THEN
    PERFORM fl.refuse('joined_later_after_posting', format(
      'unit %s: a joining date of %s is after its first posting, %s dated %s; nothing was registered: nothing is '
      'ever posted on a unit before it joined, so register a date on or before %s (the day its document says it '
      'joined the pooled fund); if that posting itself is dated wrong, reverse it (fundledger entry reverse) and '
      'ask the auditor — a reversal keeps the date on the books', NEW.unit, NEW.joined_on,
      fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
                       WHERE a.unit = NEW.unit AND p.entry_date = fp)), fp, fp));
  END IF;
  SELECT j.joined_on, j.source INTO was FROM fl.unit_joining j WHERE j.unit = NEW.unit;
  SELECT l.hash INTO prev FROM fl.unit_joined_later l ORDER BY l.id DESC LIMIT 1;
  NEW.was_on := was.joined_on;
  NEW.was_source := was.source;
  NEW.first_posting := fp;
  NEW.registered_by := session_user;
  NEW.registered_at := clock_timestamp();
  NEW.prev_hash := coalesce(prev, '\x'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|', NEW.id, NEW.unit, to_char(NEW.joined_on, 'YYYY-MM-DD'),
                                                           NEW.reason, NEW.document, NEW.idempotency_key,
                                                           coalesce(to_char(NEW.was_on, 'YYYY-MM-DD'), ''),
                                                           coalesce(NEW.was_source, ''),
                                                           coalesce(to_char(NEW.first_posting, 'YYYY-MM-DD'), ''),
                                                           NEW.registered_by,
                                                           to_char(NEW.registered_at AT TIME ZONE 'UTC',
                                                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), 'UTF8'));
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.unit_joined_later_chain() FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.register_unit_joined(p_unit text, p_joined date, p_reason text, p_document text, p_key text)
RETURNS TABLE (id bigint, status text, unit text, joined_on date, was_on date, was_source text, first_posting date)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
#variable_conflict use_column
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer'], 'register a unit''s joining date (加入统筹日期)');
  r fl.unit_joined_later;
BEGIN
  IF coalesce(btrim(p_key), '') = '' OR length(p_key) > 200 THEN
    PERFORM fl.refuse('idempotency_key', 'a joining-date registration needs an idempotency key (at most 200 characters)');
  END IF;
  -- One registration at a time: a second one under the same key waits, then finds the first.
  -- (0172) A lock that stops writers: marked first (0058) for the busy-holder guard.
  PERFORM fl._contended_mark();
  LOCK TABLE fl.unit_joined_later IN SHARE ROW EXCLUSIVE MODE;
  SELECT * INTO r FROM fl.unit_joined_later x WHERE x.idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.joined_on, r.reason, r.document, r.registered_by)
       IS DISTINCT FROM (p_unit, p_joined, btrim(p_reason), btrim(p_document), session_user::text) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by joining-date registration %s (unit %s, %s, by %s) with other '
        'content; nothing was written', p_key, r.id, r.unit, r.joined_on, r.registered_by), 'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text, r.unit, r.joined_on, r.was_on, r.was_source, r.first_posting;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit x WHERE x.code = p_unit) THEN
    PERFORM fl.refuse('not_found', format('unknown unit %s', p_unit), 'no_data_found');
  END IF;
  IF coalesce(btrim(p_reason), '') = '' OR length(p_reason) > 2000 THEN
    PERFORM fl.refuse('unit_joined_later_reason', 'a joining-date registration needs its reason (at most 2000 '
      'characters): why the date in force is not the unit''s real one; it is kept in the record');
  END IF;
  IF coalesce(btrim(p_document), '') = '' OR length(p_document) > 200 THEN
    PERFORM fl.refuse('unit_joined_later_document', 'a joining-date registration needs the reference of the '
      'document that gives the date (文号, at most 200 characters); it is kept in the record');
  END IF;
  INSERT INTO fl.unit_joined_later (unit, joined_on, reason, document, idempotency_key, prev_hash, hash)
  VALUES (p_unit, p_joined, btrim(p_reason), btrim(p_document), p_key, '\x', '\x')
  RETURNING * INTO r;
  RETURN QUERY SELECT r.id, 'registered'::text, r.unit, r.joined_on, r.was_on, r.was_source, r.first_posting;
END $$;
REVOKE ALL ON FUNCTION fl.register_unit_joined(text, date, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.register_unit_joined(text, date, text, text, text) TO fl_reviewer;
