-- 0069 (ATTACK9 W4): a row of a contended table inserted in a transaction is marked for the
-- busy-holder guard, whichever function or statement inserts it.
--
-- W4 (MED). fl.account and fl.bank_account rows are made on first use (fl.ensure_account:
-- INSERT … ON CONFLICT DO NOTHING on their unique keys). A session that inserted one and kept its
-- transaction open — an officer holding a manual entry on its unit's new accounts, then running a
-- long statement — made every other inserter of the same key wait for its transaction
-- (PostgreSQL's speculative insertion waits for the first inserter's end): city finance's
-- collection import for every unit was refused busy. 0044's mark (fl.contended_written) was set
-- by UPDATEs of those tables and 0058's by every row lock, but an INSERT left none, so
-- fl_guard.end_stuck_writers never ended the holder.
--
-- The class: a table whose unique keys other writers insert into on the same key. Every INSERT
-- … ON CONFLICT of the release (tests/security/test_attack9_locks.py sweeps the migrated
-- function bodies) targets fl.account, fl.bank_account, fl.account_day (the day rows of an
-- account: every posting on it that day), fl.voucher_counter (marked since 0044) or
-- fl.closed_period (whose writers take 0058's marked table lock first), fl.statement_line, or
-- fl.entry (a key in its writer's own namespace, 0035/0043: only the same caller inserts it, and
-- every posted entry updates fl.account in the same call). Now fl.account, fl.statement_line,
-- fl.bank_account and fl.account_day mark every statement that inserts into them (an AFTER
-- INSERT statement trigger, like 0044's AFTER UPDATE ones): the holder is ended once it keeps
-- the rows past the call that wrote them, as for an update. Accounts are not pre-created:
-- (book, chart leaf, unit, holder, component) is too many rows for a region and a new one is
-- legitimately first used by whoever posts it.

CREATE TRIGGER account_contended_insert AFTER INSERT ON fl.account
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
CREATE TRIGGER bank_account_contended_insert AFTER INSERT ON fl.bank_account
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
CREATE TRIGGER account_day_contended_insert AFTER INSERT ON fl.account_day
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
-- A bank statement's lines (statement_line_once: bank account, reference, date, direction,
-- amount): an officer's uncommitted import of its unit's statement kept the city's import of
-- the same lines waiting the same way.
CREATE TRIGGER statement_line_contended_insert AFTER INSERT ON fl.statement_line
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();
