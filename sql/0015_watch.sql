-- fundledger migration 0015: acknowledgements of the monitor's response plans (风险处置预案).
--
-- fl.monitor_ack: who acknowledged a unit's yellow or red warning, on which day, and what
-- they decided. Append-only (never updated or deleted), hash-chained like the journal and
-- the operations log: hash = sha256(prev_hash || the row's content), one writer at a time,
-- so an auditor can tell a removed or rewritten acknowledgement. Officers see and write
-- their own unit's rows (row security like the registers); the city bureau (reviewer) and
-- finance any unit's; auditors read all. Written only through fl.monitor_acknowledge.

CREATE TABLE fl.monitor_ack (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  unit             text NOT NULL REFERENCES fl.unit (code),
  book             text NOT NULL REFERENCES fl.book (code),
  level            text NOT NULL CHECK (level IN ('yellow', 'red')),
  since            date NOT NULL,               -- the start of the warning it answers
  acknowledged_on  date NOT NULL,
  decision         text NOT NULL CHECK (btrim(decision) <> '' AND length(decision) <= 2000),
  acknowledged_by  text NOT NULL DEFAULT session_user,
  acknowledged_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  prev_hash        bytea NOT NULL,
  hash             bytea NOT NULL,
  CONSTRAINT monitor_ack_since CHECK (since <= acknowledged_on)
);
CREATE INDEX monitor_ack_unit ON fl.monitor_ack (unit, book, acknowledged_on);

CREATE FUNCTION fl.monitor_ack_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE prev bytea;
BEGIN
  LOCK TABLE fl.monitor_ack IN SHARE ROW EXCLUSIVE MODE;
  SELECT a.hash INTO prev FROM fl.monitor_ack a ORDER BY a.id DESC LIMIT 1;
  NEW.acknowledged_by := session_user;
  NEW.acknowledged_at := clock_timestamp();
  NEW.prev_hash := coalesce(prev, '\x'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|', NEW.id, NEW.unit, NEW.book, NEW.level, NEW.since,
                                                           NEW.acknowledged_on, NEW.acknowledged_by,
                                                           to_char(NEW.acknowledged_at AT TIME ZONE 'UTC',
                                                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                                           NEW.decision), 'UTF8'));
  RETURN NEW;
END $$;

CREATE TRIGGER monitor_ack_chain BEFORE INSERT ON fl.monitor_ack
  FOR EACH ROW EXECUTE FUNCTION fl.monitor_ack_chain();
CREATE TRIGGER monitor_ack_append_only BEFORE UPDATE OR DELETE ON fl.monitor_ack
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER monitor_ack_no_truncate BEFORE TRUNCATE ON fl.monitor_ack
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

ALTER TABLE fl.monitor_ack ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.monitor_ack FOR SELECT
  USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));

-- Record an acknowledgement. Reviewers and finance for any unit, an officer for their own.
CREATE FUNCTION fl.monitor_acknowledge(p_unit text, p_book text, p_level text, p_since date, p_on date,
                                       p_decision text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['reviewer', 'finance', 'officer'], 'acknowledge a monitoring warning');
  v_id bigint;
BEGIN
  IF u.role = 'officer' AND u.unit IS DISTINCT FROM p_unit THEN
    PERFORM fl.refuse('unit_scope', format('an officer of %s cannot acknowledge a warning of unit %s',
                                           coalesce(u.unit, '?'), p_unit), 'insufficient_privilege');
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
  INSERT INTO fl.monitor_ack (unit, book, level, since, acknowledged_on, decision, prev_hash, hash)
  VALUES (p_unit, p_book, p_level, p_since, p_on, btrim(p_decision), '\x', '\x')
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;

REVOKE ALL ON fl.monitor_ack FROM PUBLIC;
GRANT SELECT ON fl.monitor_ack TO fl_officer, fl_reviewer, fl_finance, fl_auditor;
REVOKE ALL ON FUNCTION fl.monitor_ack_chain(), fl.monitor_acknowledge(text, text, text, date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.monitor_acknowledge(text, text, text, date, date, text)
  TO fl_officer, fl_reviewer, fl_finance;
