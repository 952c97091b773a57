-- fundledger migration 0022: each monitor acknowledgement written once (idempotency key),
-- and a red warning acknowledged by the city.
--
-- 1. An idempotency key: a retried `monitor ack` (a lost reply, a rerun script) returns the
--    acknowledgement already recorded instead of recording the decision twice; the same key
--    with different content is refused. Rows from before this migration have none. (The
--    table is in the record's history since 0020, so `verify` names a rewritten or deleted
--    acknowledgement; the new column is recorded with the rest of each row.)
-- 2. Who may acknowledge, by role (the response plan's own reading): a yellow warning — the
--    unit's own officer, the city bureau (reviewer) or city finance; a red one — only the
--    city bureau or city finance, whom the red plan's first step tells. A county officer
--    acknowledging their own county's red would silence the flag that asks the city to act.

ALTER TABLE fl.monitor_ack ADD COLUMN idempotency_key text;
ALTER TABLE fl.monitor_ack ADD CONSTRAINT monitor_ack_key UNIQUE (idempotency_key);
ALTER TABLE fl.monitor_ack ADD CONSTRAINT monitor_ack_key_text
  CHECK (idempotency_key IS NULL OR (btrim(idempotency_key) <> '' AND length(idempotency_key) <= 200));

REVOKE ALL ON FUNCTION fl.monitor_acknowledge(text, text, text, date, date, text) FROM fl_officer, fl_reviewer, fl_finance;
DROP FUNCTION fl.monitor_acknowledge(text, text, text, date, date, text);

CREATE FUNCTION fl.monitor_acknowledge(p_unit text, p_book text, p_level text, p_since date, p_on date,
                                       p_decision text, p_key text) RETURNS TABLE (id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
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
  SELECT * INTO r FROM fl.monitor_ack a WHERE a.idempotency_key = p_key;
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
  IF p_on IS NULL OR p_since IS NULL OR p_since > p_on OR p_on > current_date THEN
    PERFORM fl.refuse('ack_date', format('the acknowledgement day %s must be on or after the warning''s start %s '
                                         'and not in the future', p_on, p_since));
  END IF;
  INSERT INTO fl.monitor_ack (unit, book, level, since, acknowledged_on, decision, idempotency_key, prev_hash, hash)
  VALUES (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), p_key, '\x', '\x')
  RETURNING * INTO r;
  RETURN QUERY SELECT r.id, 'recorded'::text;
END $$;

REVOKE ALL ON FUNCTION fl.monitor_acknowledge(text, text, text, date, date, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.monitor_acknowledge(text, text, text, date, date, text, text)
  TO fl_officer, fl_reviewer, fl_finance;
