"""ATTACK3 R11 (issue 14 item 6): a writer that keeps a statement *running* while it holds the
contended rows. 0027's guard ended only a writer idle in its transaction or asleep in pg_sleep;
a login that called an API function and then ran a CPU-bound query in the same transaction
(its statement_timeout, lock_timeout and idle timeout switched off) held the pooled special
account's rows for as long as it liked. Since 0044 every statement that writes a contended row
leaves a mark the caller cannot forge (when that statement began), and the guard ends an active
writer that keeps the rows past the call that took them, or inside a statement that is more
than one API call; a statement that is one API call is never ended while it runs
(sql/0044_busy_holders.sql). Every attacker here works through its own login."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.store import imports
from ledger.store.db import run_tx
from tests.conftest import CLONE, LedgerDB, Server
from tests.helpers import reclass

pytestmark = pytest.mark.db

HEADER = "date,unit,book,source,amount,reference,component\n"
LIMITS = ["idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout"]


def _file(tmp: Path, name: str, unit: str, ref: str) -> Path:
    f = tmp / name
    f.write_text(HEADER + f"2023-03-10,{unit},RES,contribution,100.00,{ref},\n", "utf-8")
    return f


def _no_limits(c: psycopg.Connection) -> None:
    """Every timeout the user may set, switched off in its own session."""
    limits = list(LIMITS)
    if int(c.execute("SHOW server_version_num").fetchone()["server_version_num"]) >= 170000:  # type: ignore[index]
        limits.append("transaction_timeout")
    for s in limits:
        c.execute(f"SET {s} = 0")


def _busy(c: psycopg.Connection, sql: str, params: tuple[Any, ...] = ()) -> dict[str, BaseException | None]:
    """Run ``sql`` on ``c`` in a thread (it does not return while the attack lasts); the
    returned dict gets the exception that ended it."""
    out: dict[str, BaseException | None] = {"error": None}

    def run() -> None:
        try:
            c.execute(sql, params)
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    out["thread"] = t  # type: ignore[assignment]
    return out


def _alive(db: LedgerDB, pid: int) -> bool:
    return bool(db.admin().execute("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s",
                                   (pid,)).fetchone()["n"])  # type: ignore[index]


def _ended(db: LedgerDB, pid: int, busy: dict[str, Any]) -> None:
    busy["thread"].join(10)
    assert not _alive(db, pid), "the busy holder still holds the rows"
    assert isinstance(busy["error"], psycopg.OperationalError), busy["error"]


# CPU without end and without disk: a join of two short series (10^11 rows counted, each series a
# few MB) — one series of 10^11 is written to a temporary file first, and on an idle machine it
# reached temp_file_limit (4 GB) and ended itself before the guard did (the holder then sat
# aborted in its transaction, alive: the test failed for a reason of its own).
SPIN_ROWS = "generate_series(1, 100000) a, generate_series(1, 1000000) b"
SPIN = f"SELECT count(*) FROM {SPIN_ROWS}"


def test_a_writer_computing_after_its_call_is_ended(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The second reviewer imports a collection (the pooled special account's rows), then keeps a
    CPU-bound query running in the same transaction, not asleep. Finance's import goes through
    within the library's retries; the holder is ended and its import undone."""
    hog = ledger_db.connect("rev2")
    _no_limits(hog)
    imports.import_file(hog, "collections", _file(tmp_path, "mine.csv", "230822", "BUSY-1"))
    pid = int(hog.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]
    busy = _busy(hog, SPIN)
    fin = ledger_db.connect("fin")
    t0 = time.monotonic()
    out = run_tx(fin, lambda c: imports.import_file(c, "collections", _file(tmp_path, "other.csv", "230881", "OK-1")))
    assert out.rows_posted == 1
    assert time.monotonic() - t0 < 40
    _ended(ledger_db, pid, busy)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_line WHERE reference = 'BUSY-1'"
                                     ).fetchone()["n"] == 0  # type: ignore[index]


def test_a_writer_computing_inside_the_statement_of_its_call_is_ended(ledger_db: LedgerDB) -> None:
    """The same in one statement: the API call in a WITH, a CPU-bound join after it returns.
    The statement is not one API call, so the rows it wrote are not its call's."""
    hog = ledger_db.connect("rev2")
    _no_limits(hog)
    pid = int(hog.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]
    busy = _busy(hog, "WITH p AS MATERIALIZED (SELECT * FROM fl.post_entries(%s::jsonb)) "
                      f"SELECT count(*) FROM p, {SPIN_ROWS}",
                 (json.dumps([reclass("hog", "2023-03-01", "230800", "1.00")]),))
    time.sleep(0.5)
    rev = ledger_db.connect("rev")
    t0 = time.monotonic()
    rows = run_tx(rev, lambda c: c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        [reclass("after", "2023-03-02", "230800", "2.00")]),)).fetchall())
    assert rows[0]["status"] == "posted"
    assert time.monotonic() - t0 < 40
    _ended(ledger_db, pid, busy)


@pytest.fixture(scope="module")
def judge(pg_server: Server, template_db: str) -> Iterator[Any]:
    """fl_guard.stuck_reason on a session described by its pg_stat_activity figures: its
    transaction and statement began ``xact_age`` and ``stmt_age`` seconds ago; the first
    statement that wrote a contended row began ``mark`` seconds after the transaction (by
    default the current statement; None: no such statement)."""
    name = f"fl_judge_{uuid.uuid4().hex[:10]}"   # its own clone: a session on the template blocks cloning it
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}" {CLONE}')
    adm = psycopg.connect(pg_server.url(name), autocommit=True, row_factory=dict_row)
    now = dt.datetime(2026, 1, 5, 10, 0, 0, tzinfo=dt.UTC)

    def why(query: str, *, xact_age: float = 60, stmt_age: float, mark: float | str | None = "this",
            state: str = "active", wait: str | None = None) -> str | None:
        xact = now - dt.timedelta(seconds=xact_age)
        qs = now - dt.timedelta(seconds=stmt_age)
        at = xact_age - stmt_age if mark == "this" else mark
        first = None if at is None else round(float(at) * 1_000_000)
        r = adm.execute("SELECT fl_guard.stuck_reason(%s, %s, %s, %s, %s, %s, %s, %s, interval '10 s', "
                        "interval '2 s', 1024) AS why", (state, wait, query, xact, qs, qs, first, now)).fetchone()
        return r["why"]  # type: ignore[index, no-any-return]

    yield why
    adm.close()
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The statements the library sends for its calls (psycopg's %s become $n).
LIBRARY_CALLS = [
    "SELECT fl.import_collections($1, $2) AS r",
    "SELECT fl.import_opening($1, $2, $3::date) AS r",
    "SELECT ord, entry_id, status, held_id FROM fl.post_entries($1::jsonb)",
    "SELECT * FROM fl.preallocate($1, $2, $3::jsonb)",
    "SELECT * FROM fl.close_year($1, $2, $3::jsonb)",
    "SELECT * FROM fl.close_year_from_books($1, $2::date)",
    "SELECT a.id, a.status FROM fl.monitor_acknowledge($1, $2, $3, $4, $5, $6, $7) a",
    "SELECT fl.seal_pending() AS n",
]


@pytest.mark.parametrize("call", LIBRARY_CALLS)
def test_one_api_call_is_never_ended_while_it_runs(judge: Any, call: str) -> None:
    # A million-line import runs for minutes: its rows are its call's.
    assert judge(call, xact_age=900, stmt_age=899, mark=1.0) is None
    # Once it has returned, the next statement may not keep them.
    assert judge("SELECT 1", xact_age=900, stmt_age=3, mark=1.0) == "holding the rows past its call"


ATTACKS = [
    "WITH p AS MATERIALIZED (SELECT * FROM fl.post_entries($1::jsonb)) SELECT count(*) FROM p, generate_series(1, 1e10)",
    "SELECT * FROM fl.post_entries($1::jsonb), generate_series(1, 1e10)",
    "SELECT fl.seal_pending() AS n, (SELECT count(*) FROM generate_series(1, 1e10))",
    "SELECT fl.seal_pending(); SELECT count(*) FROM generate_series(1, 1e10)",
    "SELECT * FROM fl.post_entries('[]'::jsonb)",                      # a literal: anything may hide there
    "SELECT * FROM fl.post_entries($1::jsonb) /* */",
    "select * from fl.post_entries($1::jsonb) x where pg_temp.slow()",
    "SELECT " + ", ".join(["ord"] * 240) + " FROM fl.post_entries($1::jsonb)",  # past the text the server keeps
    "EXECUTE hog",
]


@pytest.mark.parametrize("stmt", ATTACKS)
def test_a_statement_that_is_more_than_one_call_is_ended(judge: Any, stmt: str) -> None:
    assert judge(stmt, stmt_age=11) == "holding the rows in a statement that is not one call"
    assert judge(stmt, stmt_age=9) is None                             # 10 s before it is judged


def test_what_the_guard_never_ends_and_what_else_it_does(judge: Any) -> None:
    spin = "SELECT count(*) FROM generate_series(1, 1e10)"
    assert judge(spin, xact_age=9, stmt_age=8.9) is None               # a young transaction
    assert judge(spin, stmt_age=50, mark=None) is None                 # a writer of no contended row
    assert judge(spin, stmt_age=50, mark=None, state="idle") is None   # a session between transactions
    assert judge(spin, stmt_age=1, mark=55.0) is None                  # 1 s after a call 5 s ago
    assert judge("COMMIT", stmt_age=5, mark=1.0) is None               # a commit's own deferred work
    assert judge("COMMIT", stmt_age=11, mark=1.0) == "committing for too long"
    assert judge("SELECT fl.seal_pending() AS n", stmt_age=11, wait="ClientWrite") == "not reading its result"
    assert judge("SELECT pg_sleep(100)", stmt_age=11, mark=None, wait="PgSleep") == "asleep in its transaction"
    assert judge("SELECT 1", stmt_age=3, mark=None, state="idle in transaction") == "idle in its transaction"
    assert judge(spin, stmt_age=3, mark=1.0, state="fastpath function call") == "holding the rows past its call"
    # A caller that pings (SELECT 1 every second: never idle 2 s, no statement 2 s long) holds
    # the rows past its call: judged once they have been held 10 s. A quick statement after the
    # call (the rows held 5 s) is not.
    ping = "SELECT 1"
    assert judge(ping, stmt_age=0.2, mark=1.0, state="idle in transaction") == "holding the rows past its call"
    assert judge(ping, stmt_age=0.01, mark=1.0) == "holding the rows past its call"
    assert judge(ping, stmt_age=0.2, mark=55.0, state="idle in transaction") is None
    assert judge(ping, stmt_age=0.01, mark=55.0) is None


def test_the_mark_is_the_statement_that_wrote_the_rows(ledger_db: LedgerDB) -> None:
    """The mark equals what pg_stat_activity reports as that statement's start; a caller cannot
    take or drop it (advisory locks are the owner's)."""
    rev = ledger_db.connect("rev")
    rev.execute("SELECT 1")
    rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([reclass("m", "2023-03-01", "230800", "1.00")]),))
    pid = int(rev.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]
    seen = ledger_db.admin().execute("""
        SELECT (SELECT min((l.classid::bigint - 1179404375) * 2147483648 + l.objid::bigint) FROM pg_locks l
                 WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.objsubid = 2) AS mark,
               (extract(epoch FROM a.query_start - a.xact_start) * 1000000)::bigint AS last
          FROM pg_stat_activity a WHERE a.pid = %s""", (pid,)).fetchone()
    assert seen is not None and seen["mark"] is not None and 0 < seen["mark"] < seen["last"]
    for f in ("pg_advisory_unlock_all()", "pg_advisory_xact_lock_shared(1179404375, 1)"):
        rev.execute("SAVEPOINT s")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rev.execute(f"SELECT {f}")
        rev.execute("ROLLBACK TO SAVEPOINT s")
    rev.rollback()
