-- 0083 (ATTACK10 X6): fl.seal_pending names a prepared transaction that holds the chain head.
--
-- X6 (MED, a server setting). Any login may PREPARE TRANSACTION where the server allows it
-- (max_prepared_transactions > 0: off by default, on wherever an XA application shares the
-- server). The ledger's deferred seal fires at PREPARE, so an officer that posts one entry and
-- prepares its transaction keeps, with no session: the journal's chain head (FOR UPDATE), ROW
-- EXCLUSIVE on fl.closed_period, its accounts' rows. The busy-holder guard judges sessions
-- (pg_stat_activity) and cannot see or end it; only its owner or a superuser can ROLLBACK
-- PREPARED (not from inside a function: it cannot run in a transaction block). Every later
-- commit queued its entries and fl.seal_pending returned 0 after its lock timeout, silently,
-- for ever (across restarts); no month or year could be closed.
--
-- The setting is the fix: `fundledger db check` fails while max_prepared_transactions > 0 or a
-- prepared transaction exists (naming it), the embedded server pins it to 0 (fundledger.conf
-- and, when a later setting wins, ALTER SYSTEM and a restart), and docs/deployment.md's table
-- says why. Here, where the ledger meets such a holder anyway (a server set up otherwise):
-- fl.seal_pending, when it cannot take the head, looks for a prepared transaction of this
-- database holding a lock on fl.chain_head (its transaction id's lock and the relation lock
-- share the prepared transaction's virtual transaction; a prepared transaction's locks have no
-- pid) and refuses, naming it (chain_head_prepared, Chinese first: its gid, owner, when; what
-- was written is kept; a superuser runs ROLLBACK PREPARED and sets the setting to 0). The
-- entries stay queued, as before, and are sealed by the next write once the head is free.
-- pg_prepared_xacts and pg_locks are readable by every role; the function stays SECURITY
-- DEFINER with 0058's search_path and lock_timeout.
--
-- fl.seal_pending below is its latest migrated definition (0058's), changed only in its
-- lock_not_available branch.

CREATE OR REPLACE FUNCTION fl.seal_pending()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '2s'
AS $function$
DECLARE
  h bytea;
  n bigint;
  prep record;
BEGIN
  PERFORM fl.require_role(ARRAY['officer','reviewer','finance','admin'], 'seal queued entries');
  IF NOT EXISTS (SELECT 1 FROM fl.seal_queue) THEN
    RETURN 0;
  END IF;
  BEGIN
    PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
    SELECT ch.seq, ch.hash INTO n, h FROM fl.chain_head ch WHERE ch.id FOR UPDATE;
  EXCEPTION WHEN lock_not_available THEN
    -- Held past a commit's flush: by a session that sealed early and stayed. The entries stay
    -- queued (sealed by the next commit that takes the head); the holder is ended if stuck.
    -- (0083, ATTACK10 X6) Or by a prepared transaction, which has no session for the guard to
    -- end and keeps the head across restarts: named, with what to do, instead of silence.
    SELECT p.gid, p.owner, p.prepared INTO prep
      FROM pg_catalog.pg_prepared_xacts p
     WHERE p.database = current_database()
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks t JOIN pg_catalog.pg_locks l
                                 ON l.virtualtransaction = t.virtualtransaction
                    WHERE t.locktype = 'transactionid' AND t.transactionid = p.transaction AND t.pid IS NULL
                      AND l.locktype = 'relation' AND l.relation = 'fl.chain_head'::regclass)
     ORDER BY p.prepared LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('chain_head_prepared', format(
        'the journal''s chain head is held by prepared transaction %s of %s (prepared %s; it has no session, so the '
        'busy-holder guard cannot end it): entries committed since stay queued without voucher numbers and no period '
        'can be closed. What was written is kept. A superuser ends it: ROLLBACK PREPARED %s (or COMMIT PREPARED), and '
        'sets max_prepared_transactions = 0 (fundledger db check); the next write then seals the queue',
        quote_literal(prep.gid), prep.owner, to_char(prep.prepared, 'YYYY-MM-DD HH24:MI:SS'), quote_literal(prep.gid)),
        'object_in_use');
    END IF;
    PERFORM fl.end_stuck_writers();
    RETURN 0;
  END;
  RETURN fl._seal(NULL, n, h, '{}', '{}', '{}', '{}');
END $function$;
