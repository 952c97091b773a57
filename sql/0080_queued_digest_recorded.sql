-- fundledger migration 0080 (ATTACK10 X9, X11): a queued entry's digest is recorded in the
-- chained history at its commit.
--
-- A commit that finds the chain head taken queues its entries with their content digests
-- (fl.seal_queue, 0001/0065) and the next holder seals them from the queue's digest. Until
-- then nothing chained held what the writer committed: fl.posting is not in the history
-- (the seal covers it), the queue row is not chained, and a DBA who kept the head taken
-- (one SELECT … FOR UPDATE in its own session) could rewrite a queued entry's postings,
-- its accounts' totals and the queue row's digest with the triggers off, then let the
-- head go: the altered content was sealed, and both verdicts were whole.
--
-- Now each queue row's insert writes one history version in the writer's own transaction
-- (table fl.seal_queue, key {"entry_id"}, row {"entry_id", "digest" (hex), "queued_at"}),
-- sealed and chained like every other version. The verdicts (ledger.core.queued, online,
-- offline and in verify's first pass) require every entry so recorded to be sealed with
-- exactly that digest, or still queued with it: a queued entry rewritten before its seal
-- is named. fl.seal_queue is not a hooked table (its rows leave when sealed); its
-- versions are evidence only, judged by that check. The queue rows there now get their
-- version (op BACKFILL) from the queue as it is.

CREATE FUNCTION fl._record_queued() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC'
SET extra_float_digits = 3 SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
-- fl.seal_queue's AFTER INSERT statement trigger (0080): one history version per queued
-- entry, written and chained (if the history's head is free) in the queuing transaction.
BEGIN
  INSERT INTO fl.record_log (tbl, op, row_key, row_data)
  SELECT 'fl.seal_queue', 'INSERT', jsonb_build_object('entry_id', q.entry_id),
         jsonb_build_object('entry_id', q.entry_id, 'digest', encode(q.content_digest, 'hex'), 'queued_at', q.queued_at)
    FROM new_rows q
   ORDER BY q.entry_id;
  PERFORM fl._record_chain();
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl._record_queued() FROM PUBLIC;

CREATE TRIGGER seal_queue_recorded AFTER INSERT ON fl.seal_queue
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fl._record_queued();

-- The entries queued at the upgrade: their versions from the queue as it is (under the
-- history's pinned settings, as the trigger writes them).
CREATE FUNCTION fl._record_queued_backfill() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET TimeZone = 'UTC'
SET extra_float_digits = 3 SET bytea_output = 'hex' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' AS $$
DECLARE
  k bigint;
BEGIN
  INSERT INTO fl.record_log (tbl, op, row_key, row_data)
  SELECT 'fl.seal_queue', 'BACKFILL', jsonb_build_object('entry_id', q.entry_id),
         jsonb_build_object('entry_id', q.entry_id, 'digest', encode(q.content_digest, 'hex'), 'queued_at', q.queued_at)
    FROM fl.seal_queue q
   ORDER BY q.entry_id;
  GET DIAGNOSTICS k = ROW_COUNT;
  PERFORM fl._record_chain();
  RETURN k;
END $$;
SELECT fl._record_queued_backfill();
DROP FUNCTION fl._record_queued_backfill();
