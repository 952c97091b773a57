"""Denial of service by any login (issue 14 A8 and A11; ATTACK2 B5, B9), through the role's own
login and the CLI (migration 0018):

* large objects (lo_create, lo_from_bytea, psql's \\lo_import) filled the disk outside every table;
* temp_file_limit was unlimited, and the per-login limits are set where the user cannot undo them;
* advisory locks: any login held the migration's lock and `init` waited forever;
* a FIFO, a device, a folder or a symbolic link given as an input file hung or misled the CLI;
* a login had no connection limit, and group roles must never log in."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def _refused(conn: psycopg.Connection, query: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e, conn.transaction():
        conn.execute(query)
    return e.value


def test_no_login_creates_large_objects_or_takes_advisory_locks(ledger_db: LedgerDB) -> None:
    for who in ("o22", "rev", "fin", "aud", "admin"):
        c = ledger_db.connect(who, autocommit=True)
        for q in ("SELECT lo_create(0)", "SELECT lo_creat(-1)",
                  "SELECT lo_from_bytea(0, convert_to(repeat('x', 1000), 'UTF8'))",
                  "SELECT lo_import('/etc/hostname')",
                  "SELECT pg_advisory_lock(7345001)", "SELECT pg_try_advisory_lock(7345001)",
                  "SELECT pg_advisory_xact_lock(1)", "SELECT pg_try_advisory_lock_shared(1, 2)"):
            e = _refused(c, q)
            assert e.sqlstate == "42501", (who, q, e)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM pg_largeobject_metadata").fetchone()["n"] == 0


def test_per_login_limits_the_user_cannot_undo(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    assert o22.execute("SHOW temp_file_limit").fetchone()["temp_file_limit"] == "4GB"
    for q in ("SET temp_file_limit = -1", "SET temp_file_limit = '1TB'", "ALTER ROLE o22 SET temp_file_limit = -1",
              "ALTER ROLE o22 CONNECTION LIMIT -1"):
        e = _refused(o22, q)
        assert e.sqlstate == "42501", (q, e)
    assert o22.execute("SHOW temp_file_limit").fetchone()["temp_file_limit"] == "4GB"
    # A default for accidents, which the user may change (docs/security.md says so).
    assert o22.execute("SHOW idle_in_transaction_session_timeout").fetchone()[
        "idle_in_transaction_session_timeout"] == "5min"
    limits = ledger_db.admin().execute("""
        SELECT r.rolname, r.rolconnlimit, r.rolcanlogin FROM pg_roles r
         WHERE r.rolname IN (SELECT name FROM fl.app_user) OR r.rolname LIKE 'fl\\_%'""").fetchall()
    assert {r["rolname"]: r["rolconnlimit"] for r in limits if not r["rolname"].startswith("fl_")} == {
        n: 10 for n in ("admin", "rev", "rev2", "fin", "aud", "o22", "o81", "ocity")}
    assert [r["rolname"] for r in limits if r["rolname"].startswith("fl_") and r["rolcanlogin"]] == []


def test_a_login_holds_no_more_sessions_than_its_limit(ledger_db: LedgerDB) -> None:
    r = ledger_db.cli("user", "add", "limited.rev", "--role", "auditor", "--connection-limit", "2")
    assert r.exit_code == 0, r
    assert ledger_db.admin().execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'limited.rev'"
                                     ).fetchone()["rolconnlimit"] == 2
    held = [ledger_db.connect("limited.rev") for _ in range(2)]
    with pytest.raises(psycopg.OperationalError, match="too many connections"):
        ledger_db.connect("limited.rev")
    for c in held:
        c.close()
    r = ledger_db.cli("user", "add", "limited.two", "--role", "auditor", "--connection-limit", "0")
    assert r.exit_code != 0 and "Traceback" not in r.stderr, r
    # A group role is no login, whatever a DBA attempts through the ledger.
    with pytest.raises(psycopg.OperationalError):
        ledger_db.connect("fl_officer")


# ---- input files: regular files only ------------------------------------------------------

@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe; if a command wrongly opens it to read, a writer gives it EOF after 10 s,
    so a regression fails the test instead of hanging the suite."""
    p = tmp_path / "pipe.csv"
    os.mkfifo(p)
    done = threading.Event()

    def unblock() -> None:
        if not done.wait(10):
            try:
                fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
    t = threading.Thread(target=unblock, daemon=True)
    t.start()
    yield p
    done.set()
    t.join()


def _not_regular(r, what: str) -> None:  # type: ignore[no-untyped-def]
    assert r.exit_code != 0 and "Traceback" not in r.stdout + r.stderr, r
    assert what in r.stderr and ("regular files" in r.stderr or what == "folder"), r


@pytest.mark.parametrize("args,user", [
    (["pay", "import", "{f}"], "o22"),
    (["collect", "import", "{f}"], "fin"),
    (["budget", "import", "{f}"], "rev"),
    (["entry", "post", "{f}"], "fin"),
    (["audit", "check-digest", "{f}"], "aud"),
])
def test_input_files_must_be_regular(refusals_db: LedgerDB, fifo: Path, tmp_path: Path, args: list[str],
                                     user: str) -> None:
    good = tmp_path / "real.json"
    good.write_text(json.dumps({}), "utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(good)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    for target, what in ((fifo, "named pipe"), (Path("/dev/zero"), "device"), (folder, "folder"),
                         (link, "symbolic link")):
        r = refusals_db.cli(*[a.replace("{f}", str(target)) for a in args], user=user)
        _not_regular(r, what)


def test_a_password_file_must_be_regular(ledger_db: LedgerDB, fifo: Path) -> None:
    r = ledger_db.cli("user", "add", "pw.fifo", "--role", "auditor", "--password-file", str(fifo), user="admin")
    _not_regular(r, "named pipe")
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.app_user WHERE name = 'pw.fifo'").fetchone()["n"] == 0


# ---- locks held past a call (ATTACK2 B4) ------------------------------------------------------

def test_an_idle_writer_does_not_stop_a_close(ledger_db: LedgerDB) -> None:
    """An officer posts, turns its idle timeout off and waits with the transaction open: it holds
    ROW EXCLUSIVE on fl.closed_period. The close ends that session (it was idle in a write
    transaction past 2 s) instead of waiting forever with every later writer queued behind it."""
    import time

    o22 = ledger_db.connect("o22")
    o22.execute("SET idle_in_transaction_session_timeout = 0")
    o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        {"date": "2023-05-10", "book": "RES", "idempotency_key": "b4-idle", "postings": [
            {"account": "1101", "unit": "230822", "side": "D", "amount": 100},
            {"account": "2001", "unit": "230822", "side": "C", "amount": 100}]}),))
    pid = o22.execute("SELECT pg_backend_pid() AS p").fetchone()["p"]
    rev = ledger_db.connect("rev", autocommit=True)
    t0 = time.monotonic()
    assert rev.execute("SELECT fl.close_period('2023-04-01', 'month end') AS ok").fetchone()["ok"] is True
    assert time.monotonic() - t0 < 12
    admin = ledger_db.admin()
    assert admin.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()["n"] == 0
    with pytest.raises(psycopg.OperationalError):
        o22.execute("SELECT 1")
    assert admin.execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:o22:b4-idle'").fetchone()["n"] == 0
    # A writer at work (not idle: a long statement) is waited for, never ended: the close commits after it.
    fin = ledger_db.connect("fin")
    fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        {"date": "2023-06-10", "book": "RES", "idempotency_key": "b4-busy", "postings": [
            {"account": "1101", "unit": "230800", "side": "D", "amount": 100},
            {"account": "2001", "unit": "230800", "side": "C", "amount": 100}]}),))

    def work() -> None:
        fin.execute("SELECT pg_sleep(3)")
        fin.commit()
    t = threading.Thread(target=work)
    t.start()
    time.sleep(0.3)
    assert rev.execute("SELECT fl.close_period('2023-05-01', 'month end') AS ok").fetchone()["ok"] is True
    t.join()
    assert admin.execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:fin:b4-busy'").fetchone()["n"] == 1
