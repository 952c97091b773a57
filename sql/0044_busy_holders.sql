-- 0044 (ATTACK3 R11, issue 14 item 6): a writer that keeps a statement running while it holds
-- the contended rows. 0027's guard ends a fundledger writer idle in its transaction or asleep in
-- pg_sleep; a session that called fl.post_entries on the special account and then ran
-- `SELECT count(*) FROM generate_series(1, 1e10)` in the same transaction (its own
-- statement_timeout, lock_timeout, idle_in_transaction_session_timeout switched off) held the
-- pooled special account's rows, and every other office's write waited, for as long as it liked.
--
-- The rule (issue 14): no caller holds the contended rows past its call, or a server-side guard
-- ends it. What the guard can trust about another session is what the server itself reports:
-- its transaction's and its current statement's start (pg_stat_activity.xact_start, query_start),
-- its state and wait event, its locks, and the text of the statement it is running (the caller
-- chose that text, but the server runs exactly that text: it proves what the statement can do).
-- What it could not see was *when* the session wrote the contended rows. It sees that now:
--
--  * every statement that updates a contended row (fl.account's running totals, fl.bank_account,
--    fl.voucher_counter, fl.chain_head) takes a shared transaction-level advisory lock whose key
--    is that statement's start, in microseconds after its transaction's start
--    (statement_timestamp() is exactly what pg_stat_activity reports as query_start). The
--    caller cannot take, release or forge it: advisory locks are fl_owner's alone (0018_db), and
--    the lock ends with the transaction. It never waits (shared, no one takes it exclusive).
--  * fl_guard.end_stuck_writers (0044_db) then also ends an *active* fundledger session whose
--    write transaction is 10 s old or more and which holds such a mark, when
--      - its current statement began after the statement that first wrote the contended rows
--        and has run 2 s: the call that took the rows has returned, and the caller kept them
--        (a CPU-bound query, a pipeline of statements, pg_sleep in another form), or
--      - its current statement is not one API call in the shape the library sends
--        (`SELECT fl.f($1, …) [AS x]`, `SELECT * | columns FROM fl.f($1, …) [x]`) and has run
--        10 s: the rows were written inside a larger statement that can go on computing after
--        the call returned (`WITH p AS (SELECT * FROM fl.post_entries($1)) SELECT … FROM p,
--        generate_series(…)`), or
--      - it is blocked sending its result to a client that does not read it (ClientWrite) for
--        10 s, or its COMMIT has run 10 s (a caller's own deferred trigger on a temp table).
--    A statement that is one API call is never ended while it runs, however long: a legitimate
--    import of a million lines holds the rows for minutes, and that is its call (bounded by its
--    stage: 0037). The guard runs only when another writer has waited 5 s for a lock (the
--    library, seal_pending, the close), as before.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.contended_written() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  -- The statement's start, in microseconds after its transaction's start: 31 bits in the second
  -- key, the rest added to the first (1179404375 = 'FLHW').
  us bigint := (EXTRACT(epoch FROM pg_catalog.statement_timestamp() - pg_catalog.transaction_timestamp())
                * 1000000)::bigint;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared((1179404375 + us / 2147483648)::int, (us % 2147483648)::int);
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.contended_written() FROM PUBLIC;

CREATE TRIGGER account_contended AFTER UPDATE ON fl.account
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
CREATE TRIGGER bank_account_contended AFTER UPDATE ON fl.bank_account
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
CREATE TRIGGER voucher_counter_contended AFTER INSERT OR UPDATE ON fl.voucher_counter
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
CREATE TRIGGER chain_head_contended AFTER UPDATE ON fl.chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
