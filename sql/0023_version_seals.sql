-- fundledger migration 0023: every history version sealed by the trigger that wrote it (issue 15, B17).
--
-- A writer that finds fl.record_head taken leaves its versions unchained (seq NULL) and the
-- next writer chains every unchained version (sql/0010). A superuser could insert a
-- version of their own with the triggers off (session_replication_role = replica) — a
-- user's role, who approved a request — and the next legitimate write chained it: from
-- then on it looked genuine.
--
-- Now every version is sealed as it is inserted, by a BEFORE INSERT trigger on the history:
--   vxid  = the inserting transaction (pg_current_xact_id()),
--   vseal = sha256(id|tbl|op|actor|row_key|row_data|vxid).
-- fl._record_chain chains only versions whose seal recomputes. A version inserted with the
-- triggers off has no seal: it is never chained, and the independent verdict names it
-- (history_chain), as it names any chained version whose own seal does not recompute.
-- (A superuser who computes the seal by hand in their own transaction is not stopped:
-- only a digest filed before exposes what they write — docs/security.md.) The versions
-- already there are sealed by this migration (their vxid is this migration's transaction).

ALTER TABLE fl.record_log ADD COLUMN vxid xid8, ADD COLUMN vseal bytea;

CREATE FUNCTION fl._record_vseal(p_id bigint, p_tbl text, p_op text, p_actor text, p_key jsonb, p_row jsonb,
                                 p_xid xid8) RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat_ws('|', p_id, p_tbl, p_op, p_actor,
           p_key::pg_catalog.text, p_row::pg_catalog.text, p_xid::pg_catalog.text), 'UTF8'))
$$;
REVOKE ALL ON FUNCTION fl._record_vseal(bigint, text, text, text, jsonb, jsonb, xid8) FROM PUBLIC;

CREATE FUNCTION fl.record_log_seal() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  NEW.vxid := pg_current_xact_id();
  NEW.vseal := fl._record_vseal(NEW.id, NEW.tbl, NEW.op, NEW.actor, NEW.row_key, NEW.row_data, NEW.vxid);
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.record_log_seal() FROM PUBLIC;

-- The versions there now: sealed in this transaction (the append-only guard is the
-- owner's own; it is back on before the migration commits).
ALTER TABLE fl.record_log DISABLE TRIGGER record_log_append_only;
UPDATE fl.record_log l SET vxid = pg_current_xact_id(),
       vseal = fl._record_vseal(l.id, l.tbl, l.op, l.actor, l.row_key, l.row_data, pg_current_xact_id());
ALTER TABLE fl.record_log ENABLE TRIGGER record_log_append_only;

CREATE TRIGGER record_log_seal BEFORE INSERT ON fl.record_log
  FOR EACH ROW EXECUTE FUNCTION fl.record_log_seal();

-- Chaining never changes a version's seal.
CREATE OR REPLACE FUNCTION fl.record_log_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
     AND (NEW.id, NEW.tbl, NEW.op, NEW.row_key, NEW.row_data, NEW.actor, NEW.at, NEW.vxid, NEW.vseal)
         IS NOT DISTINCT FROM (OLD.id, OLD.tbl, OLD.op, OLD.row_key, OLD.row_data, OLD.actor, OLD.at, OLD.vxid,
                               OLD.vseal) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the record history is append-only: % on fl.record_log is refused', TG_OP
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'append_only';
END $$;

-- Chain every unchained version that its own trigger sealed, oldest first, if the head
-- is free (never waits). A version without a right seal stays unchained for verify to name.
CREATE OR REPLACE FUNCTION fl._record_chain() RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  n  bigint;
  h  bytea;
  r  record;
  k  int := 0;
BEGIN
  SELECT rh.seq, rh.hash INTO n, h FROM fl.record_head rh WHERE rh.id FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  FOR r IN SELECT l.id, l.tbl, l.op, l.actor, l.row_key, l.row_data FROM fl.record_log l
            WHERE l.seq IS NULL
              AND l.vseal = fl._record_vseal(l.id, l.tbl, l.op, l.actor, l.row_key, l.row_data, l.vxid)
            ORDER BY l.id FOR UPDATE SKIP LOCKED LOOP
    n := n + 1;
    UPDATE fl.record_log l SET seq = n, prev_hash = h,
           hash = sha256(h || convert_to(concat_ws('|', n, r.tbl, r.op, r.actor, r.row_key::text, r.row_data::text),
                                         'UTF8'))
     WHERE l.id = r.id RETURNING l.hash INTO h;
    k := k + 1;
  END LOOP;
  IF k > 0 THEN
    UPDATE fl.record_head SET seq = n, hash = h WHERE id;
  END IF;
  RETURN k;
END $$;
REVOKE ALL ON FUNCTION fl._record_chain() FROM PUBLIC;
