-- 0109 (issue 24, the 8-client case): a queued entry's history version is written chained when
-- its transaction holds the history's head (or finds it free), not inserted unchained and then
-- chained by an UPDATE of the same row.
--
-- At 8 clients a commit that finds the chain head taken queues its entry, and 0080 (ATTACK10 X9)
-- records the queued digest as a history version in the queuing transaction: fl._record_queued
-- inserted it unchained (seq NULL) and called fl._record_chain, which takes the history head FOR
-- UPDATE SKIP LOCKED and chains every unchained version by an UPDATE of its row. The queuing
-- transaction usually holds the history head already (its postings' statement took it for the
-- entry's own version, 0076): it then locked it again (a heap lock record), locked its own new
-- version (another), and wrote the version twice — the insert and a non-HOT update with its index
-- entries — before moving the head (bench/history/2026-12-07-write-path-locks.md).
--
-- Now the head is taken as fl._record_rows takes it (0076: this transaction's own, else FOR UPDATE
-- SKIP LOCKED), versions others left unchained are chained first (fl._record_chain, as before),
-- and the queue rows' versions are written chained by fl._record_put — the same table, op, key,
-- row, actor, seq and hash (sha256(prev || seq|tbl|op|actor|key|row)) that chaining them wrote —
-- and the head moved once. A head another transaction holds leaves them unchained as before, for
-- the next holder to chain. The verdicts read the versions as before.
--
-- fl._record_queued below starts from its latest migrated definition (0080's, identical to
-- pg_get_functiondef at 0102), changed only where "(0109)" says.

CREATE OR REPLACE FUNCTION fl._record_queued() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC'
SET extra_float_digits = 3 SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
-- fl.seal_queue's AFTER INSERT statement trigger (0080): one history version per queued
-- entry, written and chained (if the history's head is free) in the queuing transaction.
DECLARE
  hn    bigint;
  hh    bytea;
  loose boolean;
  ks    jsonb[];
  ds    jsonb[];
BEGIN
  -- (0109) The head: this transaction's own (its postings' statement took it), else taken if
  -- free — with whether any version waits unchained — in one statement, as fl._record_rows.
  WITH own AS MATERIALIZED (SELECT rh.seq, rh.hash FROM fl.record_head rh
                             WHERE rh.id AND rh.xmin = pg_current_xact_id()::xid),
       lk AS (SELECT rh.seq, rh.hash FROM fl.record_head rh
               WHERE rh.id AND NOT EXISTS (SELECT 1 FROM own) FOR UPDATE SKIP LOCKED)
  SELECT h.seq, h.hash, EXISTS (SELECT 1 FROM fl.record_log l WHERE l.seq IS NULL) INTO hn, hh, loose
    FROM (SELECT o.seq, o.hash FROM own o UNION ALL SELECT k.seq, k.hash FROM lk k) h;
  IF NOT FOUND THEN
    -- The head is taken: unchained, for the next writer to chain (as 0080 wrote them).
    INSERT INTO fl.record_log (tbl, op, row_key, row_data)
    SELECT 'fl.seal_queue', 'INSERT', jsonb_build_object('entry_id', q.entry_id),
           jsonb_build_object('entry_id', q.entry_id, 'digest', encode(q.content_digest, 'hex'), 'queued_at', q.queued_at)
      FROM new_rows q
     ORDER BY q.entry_id;
    RETURN NULL;
  END IF;
  -- Ours: what others left unchained first (their seals checked), then these versions, chained.
  IF loose AND fl._record_chain() > 0 THEN
    SELECT rh.seq, rh.hash INTO hn, hh FROM fl.record_head rh WHERE rh.id;
  END IF;
  SELECT array_agg(jsonb_build_object('entry_id', q.entry_id) ORDER BY q.entry_id),
         array_agg(jsonb_build_object('entry_id', q.entry_id, 'digest', encode(q.content_digest, 'hex'),
                                      'queued_at', q.queued_at) ORDER BY q.entry_id)
    INTO ks, ds
    FROM new_rows q;
  IF ks IS NOT NULL THEN
    SELECT p.n, p.h INTO hn, hh FROM fl._record_put('fl.seal_queue', 'INSERT', ks, ds, hn, hh) p;
    UPDATE fl.record_head SET seq = hn, hash = hh WHERE id;
  END IF;
  RETURN NULL;
END $$;
