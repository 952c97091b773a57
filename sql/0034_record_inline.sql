-- fundledger migration 0034: history versions chained as they are written (issue 24).
--
-- Every hooked table's statement trigger (fl._record_rows, sql/0010) wrote its versions
-- unchained and then fl._record_chain updated each one to set its link (seq, prev_hash,
-- hash): a second heap tuple and three more index entries per version, and a row lock,
-- for every entry (two versions: the entry and its postings' memos) and for every line
-- of a payments import. Measured on one posted entry (bench 2a): 2 of its 7 inserts, 2
-- non-HOT updates, 6 of its 28 index entries and 2 of its 12 row locks were this, and
-- ~200 µs of its server CPU the version-by-version loop.
--
-- Now, when the writer gets the history's head (FOR UPDATE SKIP LOCKED, as before), it
-- first chains what others left unchained (fl._record_chain, unchanged: only versions
-- whose own seal recomputes), then computes its own versions' links in order and inserts
-- them already chained, in chunks of 5,000 (the server's memory stays flat on a
-- million-line import). When the head is taken it writes them unchained as before, and
-- the next writer chains them. The links are the same function of the same values
-- (seq|tbl|op|actor|row_key|row_data, sha256 over the previous hash) and every version is
-- still sealed by its BEFORE INSERT trigger (sql/0023), so verify and the independent
-- verdict judge them exactly as before. Only the schema owner may insert into the
-- history (as before); the actor written is session_user, the column's default.
--
-- The versions of one statement keep the order in which the statement wrote its rows (as
-- sql/0010's did: its ORDER BY 3::text sorted by a constant); sorting a million import
-- lines' keys by their text took ~30 % of the import backend's perf samples when tried.

CREATE OR REPLACE FUNCTION fl._record_put(p_tbl text, p_op text, p_keys jsonb[], p_rows jsonb[],
                                          INOUT n bigint, INOUT h bytea)
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
-- The caller holds fl.record_head (seq n, hash h): writes the versions chained, in order,
-- and returns the new head (which the caller stores).
DECLARE
  me     text := session_user;
  k      int := cardinality(p_keys);
  seqs   bigint[] := array_fill(NULL::bigint, ARRAY[k]);
  prevs  bytea[] := array_fill(NULL::bytea, ARRAY[k]);
  hashes bytea[] := array_fill(NULL::bytea, ARRAY[k]);
BEGIN
  FOR i IN 1 .. k LOOP
    n := n + 1;
    seqs[i] := n;
    prevs[i] := h;
    h := sha256(h || convert_to(concat_ws('|', n, p_tbl, p_op, me, p_keys[i]::text, p_rows[i]::text), 'UTF8'));
    hashes[i] := h;
  END LOOP;
  INSERT INTO fl.record_log (tbl, op, row_key, row_data, actor, seq, prev_hash, hash)
  SELECT p_tbl, p_op, u.k, u.d, me, u.s, u.p, u.h
    FROM unnest(p_keys, p_rows, seqs, prevs, hashes) WITH ORDINALITY AS u(k, d, s, p, h, i)
   ORDER BY u.i;
END $$;
REVOKE ALL ON FUNCTION fl._record_put(text, text, jsonb[], jsonb[], bigint, bytea) FROM PUBLIC;

-- The statement trigger every hooked table shares: one version per new or changed row
-- (the same versions as sql/0010's, in the same order).
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
  IF t <> 'fl.posting' THEN
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

-- The version's seal (sql/0023), computed in place: the same expression as
-- fl._record_vseal, without a call into a SQL function with its own settings per version.
CREATE OR REPLACE FUNCTION fl.record_log_seal() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  NEW.vxid := pg_current_xact_id();
  NEW.vseal := sha256(convert_to(concat_ws('|', NEW.id, NEW.tbl, NEW.op, NEW.actor, NEW.row_key::text,
                                           NEW.row_data::text, NEW.vxid::text), 'UTF8'));
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.record_log_seal() FROM PUBLIC;
