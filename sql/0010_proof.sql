-- fundledger migration 0010: everything an auditor relies on is chained (issue 15).
--
-- The journal's hash chain (fl.seal) certifies each entry's key fields and its postings'
-- accounts, sides, amounts and references. It does not cover what an auditor also relies
-- on: posting memos (the provider paid), an entry's source, reason, creation time and
-- client address, who submitted and approved a request, users and their roles, budget
-- versions, register items and clearings, period closes, year-close results, import
-- lines. Each of those now has an append-only history, chained the same way:
--
--   fl.record_log   one row per version of a row: the table, the row's key, the whole row
--                   as jsonb (to_jsonb, TimeZone pinned to UTC), who and when; chained
--                   hash = sha256(prev_hash || seq|table|op|actor|key|row), in chain order.
--   fl.record_head  the chain's head (seq, hash), like fl.chain_head.
--   fl.chained_table the tables whose rows are recorded, with their key columns.
--
-- Hooking a table is one call: SELECT fl._chain_table('fl.some_table', ARRAY['id']);
-- (AFTER INSERT and AFTER UPDATE statement triggers with transition tables; the rows
-- already there are backfilled as op 'BACKFILL'). The independent verifier compares
-- every hooked table with the latest version of each row in its history, and the history
-- with its chain; a row changed with the triggers off, a deleted row, or a rewritten
-- history is a finding naming the table and the row.
--
-- Writers never wait for the head: a statement that finds the head taken (another
-- transaction is recording) writes its versions unchained (seq NULL); the next one that
-- takes the head chains them first, in id order (the journal's seal queue, same idea).
-- fl.posting is recorded per entry (its memos, by posting id), not per posting.

CREATE TABLE fl.record_log (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seq       bigint UNIQUE,                 -- chain position, NULL until chained
  tbl       text   NOT NULL,               -- 'fl.app_user'
  op        text   NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'BACKFILL')),
  row_key   jsonb  NOT NULL,               -- the key columns of the row
  row_data  jsonb  NOT NULL,               -- the whole row (for fl.posting: {entry_id, memos})
  actor     text   NOT NULL DEFAULT session_user,
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  prev_hash bytea,
  hash      bytea,
  CONSTRAINT record_chained_whole CHECK ((seq IS NULL) = (hash IS NULL) AND (seq IS NULL) = (prev_hash IS NULL))
);
CREATE INDEX record_log_unchained ON fl.record_log (id) WHERE seq IS NULL;
CREATE INDEX record_log_key ON fl.record_log (tbl, row_key);

CREATE TABLE fl.record_head (
  id   boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq  bigint NOT NULL,
  hash bytea  NOT NULL
);
INSERT INTO fl.record_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');
ALTER TABLE fl.record_head SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

CREATE TABLE fl.chained_table (
  tbl      text PRIMARY KEY,
  key_cols text[] NOT NULL
);

-- The history is append-only; the only change ever made to a row is chaining it once.
CREATE FUNCTION fl.record_log_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
     AND (NEW.id, NEW.tbl, NEW.op, NEW.row_key, NEW.row_data, NEW.actor, NEW.at)
         IS NOT DISTINCT FROM (OLD.id, OLD.tbl, OLD.op, OLD.row_key, OLD.row_data, OLD.actor, OLD.at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the record history is append-only: % on fl.record_log is refused', TG_OP
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'append_only';
END $$;
CREATE TRIGGER record_log_append_only BEFORE UPDATE OR DELETE ON fl.record_log
  FOR EACH ROW EXECUTE FUNCTION fl.record_log_guard();
CREATE TRIGGER record_log_no_truncate BEFORE TRUNCATE ON fl.record_log
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER record_head_no_delete BEFORE DELETE ON fl.record_head
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER record_head_no_truncate BEFORE TRUNCATE ON fl.record_head
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER chained_table_no_delete BEFORE UPDATE OR DELETE ON fl.chained_table
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();

-- Chain every unchained version, oldest first, if the head is free (never waits).
-- The link text: seq|table|op|actor|key|row, the jsonb printed by PostgreSQL.
CREATE FUNCTION fl._record_chain() RETURNS int
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
            WHERE l.seq IS NULL ORDER BY l.id FOR UPDATE SKIP LOCKED LOOP
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

-- The statement trigger every hooked table shares: one version per new or changed row.
CREATE FUNCTION fl._record_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC'
SET extra_float_digits = 3 SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
DECLARE
  t     text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
  keys  text[];
  extra jsonb := '{}';
BEGIN
  IF t = 'fl.posting' THEN
    INSERT INTO fl.record_log (tbl, op, row_key, row_data)
    SELECT t, TG_OP, jsonb_build_object('entry_id', n.entry_id),
           jsonb_build_object('entry_id', n.entry_id,
                              'memos', coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL),
                                                '{}'::jsonb))
      FROM new_rows n GROUP BY n.entry_id ORDER BY n.entry_id;
  ELSE
    -- A period close also records how far the journal's chain reached (sealed and queued
    -- entries) and its transaction: an entry of the month sealed beyond it and written by
    -- another transaction (a year close posts its closing entries in the closing one) was
    -- written after the close, whatever its timestamps say. Keys starting with '_' are the
    -- history's own.
    IF t = 'fl.closed_period' THEN
      extra := jsonb_build_object('_sealed_by', (SELECT ch.seq FROM fl.chain_head ch WHERE ch.id)
                                               + (SELECT count(*) FROM fl.seal_queue),
                                  '_xid', pg_current_xact_id()::text);
    END IF;
    SELECT c.key_cols INTO keys FROM fl.chained_table c WHERE c.tbl = t;
    INSERT INTO fl.record_log (tbl, op, row_key, row_data)
    SELECT t, TG_OP, (SELECT jsonb_object_agg(kc, x.d -> kc) FROM unnest(keys) kc), x.d || extra
      FROM (SELECT to_jsonb(n) AS d FROM new_rows n) x
     ORDER BY 3::text;
  END IF;
  PERFORM fl._record_chain();
  RETURN NULL;
END $$;

-- Hook a table into the history: SELECT fl._chain_table('fl.some_table', ARRAY['id']);
-- Backfills its rows as they are now (op BACKFILL) and records every later insert and
-- update. Run by a migration (the schema owner).
CREATE FUNCTION fl._chain_table(p_table text, p_keys text[]) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC' SET extra_float_digits = 3
SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
DECLARE
  rel  regclass := p_table::regclass;
  name text := (SELECT c.relname FROM pg_class c WHERE c.oid = rel);
  k    int;
BEGIN
  IF (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel) <> 'fl'
     OR name IS NULL OR p_table <> 'fl.' || name THEN
    RAISE EXCEPTION 'fl._chain_table: give a table of the schema fl as fl.name (got %)', p_table;
  END IF;
  INSERT INTO fl.chained_table VALUES (p_table, p_keys);
  EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON fl.%I REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION fl._record_rows()', name || '_record_insert', name);
  IF p_table <> 'fl.posting' THEN
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON fl.%I REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION fl._record_rows()', name || '_record_update', name);
    EXECUTE format('INSERT INTO fl.record_log (tbl, op, row_key, row_data) '
                   'SELECT %L, ''BACKFILL'', (SELECT jsonb_object_agg(kc, x.d -> kc) FROM unnest(%L::text[]) kc), x.d '
                   '  FROM (SELECT to_jsonb(n) AS d FROM fl.%I n) x ORDER BY 3::text', p_table, p_keys, name);
  ELSE
    INSERT INTO fl.record_log (tbl, op, row_key, row_data)
    SELECT p_table, 'BACKFILL', jsonb_build_object('entry_id', p.entry_id),
           jsonb_build_object('entry_id', p.entry_id,
                              'memos', coalesce(jsonb_object_agg(p.id::text, p.memo) FILTER (WHERE p.memo IS NOT NULL),
                                                '{}'::jsonb))
      FROM fl.posting p GROUP BY p.entry_id ORDER BY p.entry_id;
  END IF;
  GET DIAGNOSTICS k = ROW_COUNT;
  PERFORM fl._record_chain();
  RETURN k;
END $$;
REVOKE ALL ON FUNCTION fl._chain_table(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION fl._record_chain() FROM PUBLIC;
REVOKE ALL ON FUNCTION fl._record_rows() FROM PUBLIC;

GRANT SELECT ON fl.record_log, fl.record_head, fl.chained_table TO fl_auditor, fl_reviewer, fl_finance;

SELECT fl._chain_table(t.name, t.keys) FROM (VALUES
  ('fl.entry', ARRAY['id']),
  ('fl.posting', ARRAY['entry_id']),
  ('fl.app_user', ARRAY['name']),
  ('fl.fund_request', ARRAY['id']),
  ('fl.request_event', ARRAY['id']),
  ('fl.budget', ARRAY['id']),
  ('fl.budget_line', ARRAY['budget_id', 'component', 'line']),
  ('fl.register_item', ARRAY['id']),
  ('fl.register_clearing', ARRAY['id']),
  ('fl.closed_period', ARRAY['month']),
  ('fl.year_close', ARRAY['year', 'book']),
  ('fl.import_batch', ARRAY['id']),
  ('fl.import_line', ARRAY['namespace', 'reference']),
  ('fl.bank_statement', ARRAY['id']),
  ('fl.statement_line', ARRAY['id']),
  ('fl.recon_match', ARRAY['id'])
) AS t(name, keys) ORDER BY t.name;
