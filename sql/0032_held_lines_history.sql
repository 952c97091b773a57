-- fundledger migration 0032: a held entry's lines are recorded as one history version (issue 15).
--
-- 0017 hooked fl.pending_posting into the chained history per line: one version per held
-- posting, each scanned, hashed and compared by the independent verifier. A settlement
-- entry of 100 postings, held for a second person, wrote 100 versions — two thirds of the
-- verdict's time at scale went to them (bench/history/2026-12-06-independent-verdict-
-- after-red-team.md). Held lines never change (pending_posting_append_only) and are
-- written by one statement per held entry (fl._hold), so from now on they are recorded
-- like fl.posting's memos: one version per held entry, key {pending_id}, row
--   {"pending_id": N, "lines": [[pos, account_id, unit, side, amount, line_ref, memo], …]}
-- (lines in pos order). The verifier builds the same jsonb from the table and compares.
-- fl._record_rows is 0034's (versions written chained when the writer holds the head),
-- with fl.pending_posting grouped per held entry in each of its three paths.
--
-- The held entries already there are recorded so once more (op BACKFILL, in this
-- migration's transaction); their per-line versions stay in the chain, and the verifier
-- judges each against its entry's backfilled lines, so a line changed before this
-- migration is still named.

CREATE OR REPLACE FUNCTION fl._record_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC'
SET extra_float_digits = 3 SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
DECLARE
  t     text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
  keys  text[];
  extra jsonb := '{}';
  hn    bigint;
  hh    bytea;
  cur   refcursor;
  rk    jsonb;
  rd    jsonb;
  ks    jsonb[] := '{}';
  ds    jsonb[] := '{}';
  i     int := 0;
BEGIN
  IF t NOT IN ('fl.posting', 'fl.pending_posting') THEN
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
  END IF;

  -- (A head this transaction already moved is its own until it ends: taking it again
  -- would write one more row lock to the WAL for nothing.)
  SELECT rh.seq, rh.hash INTO hn, hh FROM fl.record_head rh WHERE rh.id AND rh.xmin = pg_current_xact_id()::xid;
  IF NOT FOUND THEN
    SELECT rh.seq, rh.hash INTO hn, hh FROM fl.record_head rh WHERE rh.id FOR UPDATE SKIP LOCKED;
  END IF;
  IF NOT FOUND THEN
    -- The head is taken: unchained, for the next writer to chain.
    IF t = 'fl.posting' THEN
      INSERT INTO fl.record_log (tbl, op, row_key, row_data)
      SELECT t, TG_OP, jsonb_build_object('entry_id', n.entry_id),
             jsonb_build_object('entry_id', n.entry_id,
                                'memos', coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL),
                                                  '{}'::jsonb))
        FROM new_rows n GROUP BY n.entry_id ORDER BY n.entry_id;
    ELSIF t = 'fl.pending_posting' THEN
      INSERT INTO fl.record_log (tbl, op, row_key, row_data)
      SELECT t, TG_OP, jsonb_build_object('pending_id', n.pending_id),
             jsonb_build_object('pending_id', n.pending_id,
                                'lines', jsonb_agg(jsonb_build_array(n.pos, n.account_id, n.unit, n.side, n.amount,
                                                                     n.line_ref, n.memo) ORDER BY n.pos))
        FROM new_rows n GROUP BY n.pending_id ORDER BY n.pending_id;
    ELSE
      INSERT INTO fl.record_log (tbl, op, row_key, row_data)
      SELECT t, TG_OP, (SELECT jsonb_object_agg(kc, x.d -> kc) FROM unnest(keys) kc), x.d || extra
        FROM (SELECT to_jsonb(n) AS d FROM new_rows n) x
       ORDER BY 3::text;
    END IF;
    RETURN NULL;
  END IF;

  -- Ours: what others left unchained first (their seals checked), then these versions.
  IF EXISTS (SELECT 1 FROM fl.record_log l WHERE l.seq IS NULL) AND fl._record_chain() > 0 THEN
    SELECT rh.seq, rh.hash INTO hn, hh FROM fl.record_head rh WHERE rh.id;
  END IF;
  IF (SELECT count(*) FROM new_rows) <= 5000 THEN
    -- A few versions (one entry's): gathered, linked and written in one statement.
    IF t = 'fl.posting' THEN
      SELECT array_agg(x.k ORDER BY x.e), array_agg(x.d ORDER BY x.e) INTO ks, ds
        FROM (SELECT n.entry_id AS e, jsonb_build_object('entry_id', n.entry_id) AS k,
                     jsonb_build_object('entry_id', n.entry_id,
                                        'memos', coalesce(jsonb_object_agg(n.id::text, n.memo)
                                                            FILTER (WHERE n.memo IS NOT NULL), '{}'::jsonb)) AS d
                FROM new_rows n GROUP BY n.entry_id) x;
    ELSIF t = 'fl.pending_posting' THEN
      SELECT array_agg(x.k ORDER BY x.e), array_agg(x.d ORDER BY x.e) INTO ks, ds
        FROM (SELECT n.pending_id AS e, jsonb_build_object('pending_id', n.pending_id) AS k,
                     jsonb_build_object('pending_id', n.pending_id,
                                        'lines', jsonb_agg(jsonb_build_array(n.pos, n.account_id, n.unit, n.side, n.amount,
                                                                                     n.line_ref, n.memo) ORDER BY n.pos)) AS d
                FROM new_rows n GROUP BY n.pending_id) x;
    ELSE
      SELECT array_agg(y.k), array_agg(y.d) INTO ks, ds
        FROM (SELECT (SELECT jsonb_object_agg(kc, x.d -> kc) FROM unnest(keys) kc) AS k, x.d || extra AS d
                FROM (SELECT to_jsonb(n) AS d FROM new_rows n) x) y;
    END IF;
    IF ks IS NOT NULL THEN
      SELECT p.n, p.h INTO hn, hh FROM fl._record_put(t, TG_OP, ks, ds, hn, hh) p;
    END IF;
  ELSE
    -- A million import lines: read in order and written in chunks of 5,000, so the
    -- server holds one chunk at a time.
    IF t = 'fl.posting' THEN
      OPEN cur FOR
        SELECT jsonb_build_object('entry_id', n.entry_id),
               jsonb_build_object('entry_id', n.entry_id,
                                  'memos', coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL),
                                                    '{}'::jsonb))
          FROM new_rows n GROUP BY n.entry_id ORDER BY n.entry_id;
    ELSIF t = 'fl.pending_posting' THEN
      OPEN cur FOR
        SELECT jsonb_build_object('pending_id', n.pending_id),
               jsonb_build_object('pending_id', n.pending_id,
                                'lines', jsonb_agg(jsonb_build_array(n.pos, n.account_id, n.unit, n.side, n.amount,
                                                                     n.line_ref, n.memo) ORDER BY n.pos))
          FROM new_rows n GROUP BY n.pending_id ORDER BY n.pending_id;
    ELSE
      OPEN cur FOR
        SELECT y.k, y.d
          FROM (SELECT (SELECT jsonb_object_agg(kc, x.d -> kc) FROM unnest(keys) kc) AS k, x.d || extra AS d
                  FROM (SELECT to_jsonb(n) AS d FROM new_rows n) x) y;
    END IF;
    LOOP
      FETCH cur INTO rk, rd;
      EXIT WHEN NOT FOUND;
      i := i + 1;
      ks[i] := rk;
      ds[i] := rd;
      IF i = 5000 THEN
        SELECT p.n, p.h INTO hn, hh FROM fl._record_put(t, TG_OP, ks, ds, hn, hh) p;
        ks := '{}'; ds := '{}'; i := 0;
      END IF;
    END LOOP;
    CLOSE cur;
    IF i > 0 THEN
      SELECT p.n, p.h INTO hn, hh FROM fl._record_put(t, TG_OP, ks, ds, hn, hh) p;
    END IF;
  END IF;
  UPDATE fl.record_head SET seq = hn, hash = hh WHERE id AND seq <> hn;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl._record_rows() FROM PUBLIC;

-- The hooked list says how the history keys the table now (the list is append-only; this
-- migration, as its owner, changes the one row and puts the guard back).
ALTER TABLE fl.chained_table DISABLE TRIGGER chained_table_no_delete;
UPDATE fl.chained_table SET key_cols = ARRAY['pending_id'] WHERE tbl = 'fl.pending_posting';
ALTER TABLE fl.chained_table ENABLE TRIGGER chained_table_no_delete;

INSERT INTO fl.record_log (tbl, op, row_key, row_data)
SELECT 'fl.pending_posting', 'BACKFILL', jsonb_build_object('pending_id', p.pending_id),
       jsonb_build_object('pending_id', p.pending_id,
                          'lines', jsonb_agg(jsonb_build_array(p.pos, p.account_id, p.unit, p.side, p.amount,
                                                               p.line_ref, p.memo) ORDER BY p.pos))
  FROM fl.pending_posting p GROUP BY p.pending_id ORDER BY p.pending_id;
SELECT fl._record_chain();
