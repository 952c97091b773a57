-- 0076 (issue 24): a single entry's history version in one statement, and the busy-holder mark
-- of a contended table's statement without a nested call.
--
-- Measured load-free (valgrind callgrind, the posting backend's instructions per posted-at-once
-- entry, bench/history/2026-12-06-write-path-statements.md): at ~6.7 M instructions per entry
-- the cost is the number of SQL statements and trigger calls each entry runs (~14 k
-- instructions for the smallest statement in a PL/pgSQL body, far more for a joined one), not
-- the rows written. Two places ran more statements than their work needs:
--
-- 1. fl._record_rows (the postings' statement trigger that writes the entry's history version,
--    0055) took the history head in two statements (this transaction's own, else FOR UPDATE SKIP
--    LOCKED), probed for unchained versions in a third, counted the statement's rows in a fourth,
--    built the version in a fifth, then called fl._record_put (a function call, its INSERT) and
--    moved the head in an eighth. Now the head and the unchained probe are one statement (the
--    lock branch runs only when the head is not already this transaction's: a one-time filter
--    under the row lock); and a postings statement of one entry whose version is not written yet
--    (every single entry's call, fl.post_entries of one document) writes the version, its
--    record_log row and the moved head in one more: the same key ({"id"}, table fl.entry), row
--    (the entry's row with its postings' memos under "_m"), actor, seq and hash
--    (sha256(prev_hash || seq|tbl|op|actor|key|row)) as fl._record_put writes, so verify and the
--    offline proof read it unchanged. Several entries in one statement (imports), postings added
--    to an entry already recorded, and the unchained path go the way they went.
-- 2. fl.contended_written (the AFTER statement trigger of fl.account, fl.account_day,
--    fl.bank_account, fl.voucher_counter, fl.chain_head, fl.statement_line: five fire per
--    posted entry) took the mark by PERFORM fl._contended_mark(): one statement calling a
--    SECURITY DEFINER function that ran a second statement. It now takes the same advisory lock
--    itself (the same key: the statement's start in microseconds after its transaction's, 0044;
--    fl_guard.end_stuck_writers reads it back unchanged). fl._contended_mark() stays for the
--    functions that mark before their own row locks.
--
-- Every invariant is where it was: the history is chained by the same head under the same lock,
-- its versions are sealed by fl.record_log_seal as before, and every contended statement is marked.
-- Both functions below start from their latest migrated definitions (fl._record_rows: 0057's;
-- fl.contended_written: 0044's, its body 0058's).

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
AS $function$
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
  loose boolean;
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
  -- (0076) The head (this transaction's own, else taken if free) and whether any version waits
  -- unchained, in one statement, not three: the lock branch runs only when the head is not
  -- already this transaction's (a one-time filter under the row lock).
  WITH own AS MATERIALIZED (SELECT rh.seq, rh.hash FROM fl.record_head rh
                             WHERE rh.id AND rh.xmin = pg_current_xact_id()::xid),
       lk AS (SELECT rh.seq, rh.hash FROM fl.record_head rh
               WHERE rh.id AND NOT EXISTS (SELECT 1 FROM own) FOR UPDATE SKIP LOCKED)
  SELECT h.seq, h.hash, EXISTS (SELECT 1 FROM fl.record_log l WHERE l.seq IS NULL) INTO hn, hh, loose
    FROM (SELECT o.seq, o.hash FROM own o UNION ALL SELECT k.seq, k.hash FROM lk k) h;
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
  IF loose AND fl._record_chain() > 0 THEN
    SELECT rh.seq, rh.hash INTO hn, hh FROM fl.record_head rh WHERE rh.id;
  END IF;
  IF t = 'fl.posting' THEN
    -- (0076) One entry's postings, the entry's first version (every single entry's call): its
    -- version, its record_log row and the moved head in one statement, written as
    -- fl._record_put writes them (key {"id"}, table fl.entry, the entry's row with its
    -- postings' memos under "_m", seq hn + 1, sha256(prev || seq|tbl|op|actor|key|row)). A
    -- statement of several entries, or postings added to an entry already recorded, writes
    -- nothing here and goes the general way below.
    WITH x AS (SELECT min(n.entry_id) AS e, max(n.entry_id) AS e2,
                      coalesce(jsonb_object_agg(n.id::text, n.memo) FILTER (WHERE n.memo IS NOT NULL), '{}'::jsonb) AS m
                 FROM new_rows n),
         v AS (SELECT jsonb_build_object('id', x.e) AS k,
                      (SELECT to_jsonb(en) FROM fl.entry en WHERE en.id = x.e) || jsonb_build_object('_m', x.m) AS d
                 FROM x
                WHERE x.e = x.e2
                  AND NOT EXISTS (SELECT 1 FROM fl.record_log l
                                   WHERE l.tbl = 'fl.entry' AND l.row_key = jsonb_build_object('id', x.e))),
         ins AS (INSERT INTO fl.record_log (tbl, op, row_key, row_data, actor, seq, prev_hash, hash)
                 SELECT 'fl.entry', TG_OP, v.k, v.d, session_user, hn + 1, hh,
                        sha256(hh || convert_to(concat_ws('|', hn + 1, 'fl.entry', TG_OP, session_user, v.k::text,
                                                          v.d::text), 'UTF8'))
                   FROM v
                 RETURNING hash)
    UPDATE fl.record_head SET seq = hn + 1, hash = ins.hash FROM ins WHERE id;
    IF FOUND THEN
      RETURN NULL;
    END IF;
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
END $function$

;
REVOKE ALL ON FUNCTION fl._record_rows() FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.contended_written()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  us bigint := (EXTRACT(epoch FROM pg_catalog.statement_timestamp() - pg_catalog.transaction_timestamp())
                * 1000000)::bigint;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared((1179404375 + us / 2147483648)::int, (us % 2147483648)::int);
  RETURN NULL;
END $function$;
REVOKE ALL ON FUNCTION fl.contended_written() FROM PUBLIC;
