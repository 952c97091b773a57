-- fundledger migration 0057: one history version per import batch (issue 24).
--
-- Every import line had a history version of its own (0020: the line's key and row as
-- jsonb, sealed, chained, three index entries): at a million payment lines that was half
-- and more of the import's server CPU (bench/history/2026-12-06-lean-peer-and-history.md:
-- 49-63 %), and a million versions for the verdict to read back.
--
-- An import line is written once and never changed (its guard refuses UPDATE, DELETE and
-- TRUNCATE). Now each statement that writes lines records one version per batch it
-- writes: table fl.import_line, key {"batch_id": b}, row {"batch_id", "lines": n,
-- "digest"}: SHA-256 over the SHA-256 of each line's text (to_jsonb(line)::text, what the
-- line's own version held until now, under the history's pinned settings), in line order
-- (row_no, then namespace and reference byte-wise). The version is chained and sealed
-- like every other. The verifiers (ledger.core.histories.with_batches) read the lines in
-- that order and recompute each batch's digest with hashlib: a line rewritten, removed,
-- added or moved to another batch behind the history changes its batch's digest (and a
-- batch's count), and the batch is named.
--
-- The per-line versions written before 0057 stay and are still judged line by line
-- against the lines they recorded (a line changed behind its history before the upgrade
-- is still named). Each batch written before 0057 gets its version now (op BACKFILL,
-- from its lines as they are), so that every line is covered by a batch version.

CREATE FUNCTION fl._record_import_batches_backfill() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC'
SET extra_float_digits = 3 SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
DECLARE
  k bigint;
BEGIN
  INSERT INTO fl.record_log (tbl, op, row_key, row_data)
  SELECT 'fl.import_line', 'BACKFILL', jsonb_build_object('batch_id', b.batch_id),
         jsonb_build_object('batch_id', b.batch_id, 'lines', b.n, 'digest', encode(b.d, 'hex'))
    FROM (SELECT x.batch_id, count(*) AS n,
                 sha256(string_agg(x.h, ''::bytea ORDER BY x.row_no, x.namespace COLLATE "C", x.reference COLLATE "C")) AS d
            FROM (SELECT l.batch_id, l.row_no, l.namespace, l.reference,
                         sha256(convert_to(to_jsonb(l)::text, 'UTF8')) AS h
                    FROM fl.import_line l) x
           GROUP BY x.batch_id) b
   ORDER BY b.batch_id;
  GET DIAGNOSTICS k = ROW_COUNT;
  PERFORM fl._record_chain();
  RETURN k;
END $$;
SELECT fl._record_import_batches_backfill();
DROP FUNCTION fl._record_import_batches_backfill();

-- fl._record_rows as migrated (0055), with the import lines' branch.
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
  again bigint[];
BEGIN
  IF t = 'fl.import_line' THEN
    -- (0057) One version per import batch, not one per line: key {"batch_id"}, the number
    -- of the batch's lines and their digest — SHA-256 over the SHA-256 of each line's row
    -- as jsonb prints it (to_jsonb, as a line's own version recorded it until 0057), in line
    -- order (row_no, then namespace and reference byte-wise). A batch whose lines all come
    -- in one statement (every import) is digested from the statement's rows; a batch
    -- recorded before, or lines updated (never by the release), from all its lines.
    SELECT array_agg(b) INTO again
      FROM (SELECT DISTINCT n.batch_id AS b FROM new_rows n) d(b)
     WHERE TG_OP <> 'INSERT'
        OR EXISTS (SELECT 1 FROM fl.record_log r
                    WHERE r.tbl = 'fl.import_line' AND r.row_key = pg_catalog.jsonb_build_object('batch_id', d.b));
    SELECT array_agg(pg_catalog.jsonb_build_object('batch_id', b.batch_id) ORDER BY b.batch_id),
           array_agg(pg_catalog.jsonb_build_object('batch_id', b.batch_id, 'lines', b.n, 'digest', encode(b.d, 'hex'))
                     ORDER BY b.batch_id)
      INTO ks, ds
      FROM (SELECT x.batch_id, count(*) AS n,
                   sha256(string_agg(x.h, ''::bytea ORDER BY x.row_no, x.namespace COLLATE "C", x.reference COLLATE "C")) AS d
              FROM (SELECT n.batch_id, n.row_no, n.namespace, n.reference, sha256(convert_to(to_jsonb(n)::text, 'UTF8')) AS h
                      FROM new_rows n
                     WHERE again IS NULL OR n.batch_id <> ALL (again)
                    UNION ALL
                    SELECT l.batch_id, l.row_no, l.namespace, l.reference, sha256(convert_to(to_jsonb(l)::text, 'UTF8'))
                      FROM fl.import_line l
                     WHERE l.batch_id = ANY (again)) x
             GROUP BY x.batch_id) b;
  END IF;
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
    IF t = 'fl.import_line' THEN
      INSERT INTO fl.record_log (tbl, op, row_key, row_data)
      SELECT t, TG_OP, u.k, u.d FROM unnest(ks, ds) WITH ORDINALITY AS u(k, d, i) ORDER BY u.i;
    ELSIF t = 'fl.posting' THEN
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
  IF t = 'fl.import_line' THEN
    IF ks IS NOT NULL THEN
      SELECT p.n, p.h INTO hn, hh FROM fl._record_put(t, TG_OP, ks, ds, hn, hh) p;
    END IF;
  ELSIF (SELECT count(*) FROM new_rows) <= 5000 THEN
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
