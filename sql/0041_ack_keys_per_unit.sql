-- 0041: monitor acknowledgement keys are filed under the acknowledged unit (ATTACK5 S9).
--
-- fl.monitor_ack's idempotency keys were one city-wide key space (UNIQUE (idempotency_key)):
-- an officer recorded an acknowledgement of its own unit under the key `monitor ack` makes
-- for another unit's warning, so that unit's own acknowledgement was refused
-- (idempotency_conflict), and the refusal told a prober, by id, whether any guessed key
-- existed anywhere in the city. Now a key is unique per unit (UNIQUE (unit,
-- idempotency_key), the same constraint name, so a concurrent retry is still recognised)
-- and fl.monitor_acknowledge looks a key up in the acknowledged unit's keys only; an officer
-- may acknowledge only its own unit (unit_scope, before the lookup), so it neither squats
-- nor probes another unit's keys. Existing rows keep their keys (one city-wide key space
-- is also unique per unit) and their hash chain (fl.monitor_ack_chain: unchanged rows).
--
-- The warning itself (level and since) is computed in Python from the reports' figures
-- and the region's thresholds (ledger/core/monitor.py), not in the database, so the
-- database still checks only what it can: the level is yellow or red, since <= the day of
-- acknowledgement <= today, the unit and book exist, and who may acknowledge which level.

ALTER TABLE fl.monitor_ack DROP CONSTRAINT monitor_ack_key;
ALTER TABLE fl.monitor_ack ADD CONSTRAINT monitor_ack_key UNIQUE (unit, idempotency_key);

CREATE OR REPLACE FUNCTION fl.monitor_acknowledge(p_unit text, p_book text, p_level text, p_since date, p_on date,
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
  IF p_on IS NULL OR p_since IS NULL OR p_since > p_on OR p_on > current_date THEN
    PERFORM fl.refuse('ack_date', format('the acknowledgement day %s must be on or after the warning''s start %s '
                                         'and not in the future', p_on, p_since));
  END IF;
  INSERT INTO fl.monitor_ack (unit, book, level, since, acknowledged_on, decision, idempotency_key, prev_hash, hash)
  VALUES (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), p_key, '\x', '\x')
  RETURNING * INTO r;
  RETURN QUERY SELECT r.id, 'recorded'::text;
END $$;

