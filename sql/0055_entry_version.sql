-- fundledger migration 0055: one history version per entry (issue 24).
--
-- Until now a posted entry wrote two history versions: its row (fl.entry's statement
-- trigger, key {"id"}) and its postings' memos by posting id (fl.posting's, key
-- {"entry_id"}): two trigger runs that each took the history's head, two inserts into
-- fl.record_log with their seal trigger and index entries — about a quarter of a single
-- entry's server CPU and all the WAL beyond the journal's own (bench/history,
-- 2026-12-06-lean-peer-and-history.md).
--
-- Now the postings' statement writes one version per entry it starts: table fl.entry, key
-- {"id"}, the entry's row as fl.entry's own trigger recorded it, and the postings' memos
-- by posting id under the history's own key "_m" (keys starting with '_' are the
-- history's: every comparison of a row with its version leaves them out). jsonb prints
-- the shortest keys first, so the version's text is {"_m": {...}, <the row's text>}:
-- the verifiers (ledger.core.histories.split_entry_version) take the row and the memos
-- apart without parsing, and compare each as before — the row with fl.entry, the memos
-- with the postings'. Postings added to an entry that already has its version (a second
-- statement of the same transaction: an import's debits after its credits) are recorded
-- as before (table fl.posting, key {"entry_id"}, their memos). The chain, the link text
-- and each version's own seal are unchanged.
--
-- An entry is never committed without postings (fl.seal_transaction refuses an entry with
-- fewer than two), so every entry still gets its version; an entry written with the
-- triggers off still has none (a finding). fl.entry stays hooked: its AFTER INSERT
-- trigger keeps its name (the release's list of hooked tables is read from it) and now
-- runs a function that records nothing — without a transition table to fill. UPDATE
-- versions of entries (a DBA's; the release never updates one) are written as before.
--
-- Versions written before 0055 stay as they are and are read as before: nothing to convert.

CREATE FUNCTION fl._record_entry_with_postings() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
-- fl.entry's AFTER INSERT history trigger since 0055: the entry's version is written by
-- its postings' statement (fl._record_rows), one version for the entry and its postings.
BEGIN
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl._record_entry_with_postings() FROM PUBLIC;

DROP TRIGGER entry_record_insert ON fl.entry;
CREATE TRIGGER entry_record_insert AFTER INSERT ON fl.entry
  FOR EACH STATEMENT EXECUTE FUNCTION fl._record_entry_with_postings();

-- fl._record_rows as migrated (0034, then 0032's held lines), its fl.posting branches
-- writing the entry's version.
CREATE OR REPLACE FUNCTION fl._record_rows()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET "TimeZone" TO 'UTC'
 SET extra_float_digits TO '3'
 SET bytea_output TO 'hex'
 SET "DateStyle" TO 'ISO, YMD'
 SET "IntervalStyle" TO 'postgres'
AS $$
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
  ks2   jsonb[];
  ds2   jsonb[];
  fr    boolean;
  was_fresh boolean;
  got   boolean;
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
      -- (0055) An entry's one version (its row and its postings' memos), or the memos of
      -- postings added to an entry already recorded.
      INSERT INTO fl.record_log (tbl, op, row_key, row_data)
      SELECT CASE WHEN q.fresh THEN 'fl.entry' ELSE t END, TG_OP, q.k, q.d
        FROM (SELECT x.fresh, CASE WHEN x.fresh THEN jsonb_build_object('id', x.e) ELSE jsonb_build_object('entry_id', x.e) END AS k,
                     CASE WHEN x.fresh THEN (SELECT to_jsonb(en) FROM fl.entry en WHERE en.id = x.e) || jsonb_build_object('_m', x.m)
                          ELSE jsonb_build_object('entry_id', x.e, 'memos', x.m) END AS d, x.e
                FROM (SELECT n.entry_id AS e,
                             coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL), '{}'::jsonb) AS m,
                             NOT EXISTS (SELECT 1 FROM fl.record_log l
                                          WHERE l.tbl = 'fl.entry' AND l.row_key = jsonb_build_object('id', n.entry_id)) AS fresh
                        FROM new_rows n GROUP BY n.entry_id) x) q
       ORDER BY q.fresh DESC, q.e;
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
      -- (0055) One version per entry: written by its postings' statement, the entry's row
      -- (key {"id"}, table fl.entry, as its own trigger wrote it until 0055) with the
      -- postings' memos by posting id under the history's own key "_m". Postings added
      -- to an entry that already has its version (a second statement of the same
      -- transaction: an import's debits after its credits) are recorded as before.
      SELECT array_agg(q.k ORDER BY q.e) FILTER (WHERE q.fresh), array_agg(q.d ORDER BY q.e) FILTER (WHERE q.fresh),
             array_agg(q.k ORDER BY q.e) FILTER (WHERE NOT q.fresh), array_agg(q.d ORDER BY q.e) FILTER (WHERE NOT q.fresh)
        INTO ks, ds, ks2, ds2
        FROM (SELECT x.fresh, CASE WHEN x.fresh THEN jsonb_build_object('id', x.e) ELSE jsonb_build_object('entry_id', x.e) END AS k,
                     CASE WHEN x.fresh THEN (SELECT to_jsonb(en) FROM fl.entry en WHERE en.id = x.e) || jsonb_build_object('_m', x.m)
                          ELSE jsonb_build_object('entry_id', x.e, 'memos', x.m) END AS d, x.e
                FROM (SELECT n.entry_id AS e,
                             coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL), '{}'::jsonb) AS m,
                             NOT EXISTS (SELECT 1 FROM fl.record_log l
                                          WHERE l.tbl = 'fl.entry' AND l.row_key = jsonb_build_object('id', n.entry_id)) AS fresh
                        FROM new_rows n GROUP BY n.entry_id) x) q;
      IF ks IS NOT NULL THEN
        SELECT p.n, p.h INTO hn, hh FROM fl._record_put('fl.entry', TG_OP, ks, ds, hn, hh) p;
      END IF;
      ks := ks2; ds := ds2;
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
        SELECT q.fresh, q.k, q.d
          FROM (SELECT x.fresh, CASE WHEN x.fresh THEN jsonb_build_object('id', x.e) ELSE jsonb_build_object('entry_id', x.e) END AS k,
                     CASE WHEN x.fresh THEN (SELECT to_jsonb(en) FROM fl.entry en WHERE en.id = x.e) || jsonb_build_object('_m', x.m)
                          ELSE jsonb_build_object('entry_id', x.e, 'memos', x.m) END AS d, x.e
                FROM (SELECT n.entry_id AS e,
                             coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL), '{}'::jsonb) AS m,
                             NOT EXISTS (SELECT 1 FROM fl.record_log l
                                          WHERE l.tbl = 'fl.entry' AND l.row_key = jsonb_build_object('id', n.entry_id)) AS fresh
                        FROM new_rows n GROUP BY n.entry_id) x) q
         ORDER BY q.fresh DESC, q.e;
    ELSIF t = 'fl.pending_posting' THEN
      OPEN cur FOR
        SELECT false, jsonb_build_object('pending_id', n.pending_id),
               jsonb_build_object('pending_id', n.pending_id,
                                'lines', jsonb_agg(jsonb_build_array(n.pos, n.account_id, n.unit, n.side, n.amount,
                                                                     n.line_ref, n.memo) ORDER BY n.pos))
          FROM new_rows n GROUP BY n.pending_id ORDER BY n.pending_id;
    ELSE
      OPEN cur FOR
        SELECT false, y.k, y.d
          FROM (SELECT (SELECT jsonb_object_agg(kc, x.d -> kc) FROM unnest(keys) kc) AS k, x.d || extra AS d
                  FROM (SELECT to_jsonb(n) AS d FROM new_rows n) x) y;
    END IF;
    LOOP
      FETCH cur INTO fr, rk, rd;
      got := FOUND;
      -- (0055) A chunk is written when full, at the end, and where the postings' versions
      -- turn from entries' versions (table fl.entry) to memos of entries recorded before.
      IF i > 0 AND (NOT got OR fr IS DISTINCT FROM was_fresh) THEN
        SELECT p.n, p.h INTO hn, hh
          FROM fl._record_put(CASE WHEN was_fresh THEN 'fl.entry' ELSE t END, TG_OP, ks, ds, hn, hh) p;
        ks := '{}'; ds := '{}'; i := 0;
      END IF;
      EXIT WHEN NOT got;
      was_fresh := fr;
      i := i + 1;
      ks[i] := rk;
      ds[i] := rd;
      IF i = 5000 THEN
        SELECT p.n, p.h INTO hn, hh
          FROM fl._record_put(CASE WHEN was_fresh THEN 'fl.entry' ELSE t END, TG_OP, ks, ds, hn, hh) p;
        ks := '{}'; ds := '{}'; i := 0;
      END IF;
    END LOOP;
    CLOSE cur;
  END IF;
  UPDATE fl.record_head SET seq = hn, hash = hh WHERE id AND seq <> hn;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl._record_rows() FROM PUBLIC;
