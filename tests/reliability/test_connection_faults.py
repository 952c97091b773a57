"""The backend is terminated while a multi-entry post is in flight (mid-statement, and
during COMMIT while the seal runs): the library reports a LedgerError (no raw psycopg
exception, no traceback from the CLI), nothing half-written remains, and posting the
same keys again writes them exactly once.

The pause is a scratch trigger added to the test database only, switched on per
session with ``SET fltest.slow_post = on`` / ``fltest.slow_commit = on``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from psycopg.rows import dict_row

from ledger.core.entries import parse_entries
from ledger.errors import DatabaseUnavailable, LedgerError
from ledger.store import journal
from ledger.store.db import Target, connect, run_tx
from tests.helpers import collect, post
from tests.reliability.invariants import ledger_violations

SCRATCH = """
CREATE FUNCTION public.fltest_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('fltest.' || TG_ARGV[0], true) = 'on' THEN PERFORM pg_sleep(30); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER fltest_slow_post AFTER INSERT ON fl.posting
  FOR EACH STATEMENT EXECUTE FUNCTION public.fltest_pause('slow_post');
CREATE CONSTRAINT TRIGGER fltest_slow_commit AFTER INSERT ON fl.entry
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.fltest_pause('slow_commit');
"""


def _docs(tag: str, n: int = 5) -> list[dict[str, Any]]:
    """Entry documents as `fundledger entry post` reads them (amounts in yuan text). No bank
    account moves (Dr 1101 / Cr 2001: no 3xxx–5xxx either, 0036), so each posts at once rather than being held for a
    second person: the write under test is the post itself."""
    legs = [{"account": "1101", "unit": "230881", "side": "D", "amount": "10.00"},
            {"account": "2001", "unit": "230881", "side": "C", "amount": "10.00"}]
    return [{"date": "2023-03-01", "book": "RES", "idempotency_key": f"{tag}-{i}", "postings": legs} for i in range(n)]


def _terminate_when_paused(admin: Any, pid: int | None = None, timeout: float = 15) -> int:
    """Wait until a backend sleeps in the scratch trigger, then terminate it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = admin.execute("""SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'
                                  AND (%s::int IS NULL OR pid = %s::int) LIMIT 1""", (pid, pid)).fetchone()
        if row:
            admin.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
            return int(row["pid"])
        time.sleep(0.02)
    raise TimeoutError("no backend paused in the scratch trigger")


def _present(admin: Any, tag: str) -> int:
    return int(admin.execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key LIKE %s",
                             (f"manual:fin:{tag}-%",)).fetchone()["n"])


@pytest.mark.parametrize("where", ["slow_post", "slow_commit"])
def test_backend_terminated_mid_post_is_reported_and_nothing_half_written(ledger_db: Any, where: str) -> None:
    admin = ledger_db.admin()
    admin.row_factory = dict_row
    admin.execute(SCRATCH)
    post(ledger_db.connect("fin", autocommit=True), collect("seed", "2023-03-01", "230881", "1000.00"))
    drafts = parse_entries(_docs(where), where)

    conn = connect(Target(url=ledger_db.url(), user="fin"))
    conn.execute(f"SET fltest.{where} = on")
    conn.commit()   # run_tx must open (and commit) the transaction itself
    pid = conn.info.backend_pid
    outcome: list[BaseException | object] = []

    def work() -> None:
        try:
            outcome.append(run_tx(conn, lambda c: journal.post(c, drafts)))
        except BaseException as e:
            outcome.append(e)

    t = threading.Thread(target=work)
    t.start()
    _terminate_when_paused(admin, pid)
    t.join(30)
    assert not t.is_alive()
    err = outcome[0]
    # Clean report: a LedgerError (DatabaseUnavailable), never a raw psycopg error.
    assert isinstance(err, DatabaseUnavailable), repr(err)
    assert "connection" in err.message or "terminat" in err.message
    conn.close()

    assert _present(admin, where) == 0                 # not one of the five entries
    assert ledger_violations(admin) == []

    # The caller retries with the same keys: written exactly once, then duplicates.
    with connect(Target(url=ledger_db.url(), user="fin")) as c2:
        first = run_tx(c2, lambda c: journal.post(c, drafts))
        again = run_tx(c2, lambda c: journal.post(c, drafts))
    assert {r.status for r in first} == {"posted"} and {r.status for r in again} == {"duplicate"}
    assert _present(admin, where) == 5
    assert ledger_violations(admin) == []


def test_cli_reports_a_dropped_connection_cleanly(ledger_db: Any, tmp_path: Path) -> None:
    admin = ledger_db.admin()
    admin.row_factory = dict_row
    admin.execute(SCRATCH)
    post(ledger_db.connect("fin", autocommit=True), collect("seed", "2023-03-01", "230881", "1000.00"))
    f = tmp_path / "entries.json"
    f.write_text(json.dumps(_docs("cli")), "utf-8")
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(
        ledger_db.cli("entry", "post", str(f), user="fin", env={"PGOPTIONS": "-c fltest.slow_commit=on"})))
    t.start()
    _terminate_when_paused(admin)
    t.join(30)
    r = result[0]
    assert r.exit_code == DatabaseUnavailable.exit_code, r
    assert "database_unavailable" in r.stderr and "Traceback" not in r.stderr + r.stdout, r
    assert _present(admin, "cli") == 0
    ok = ledger_db.cli("entry", "post", str(f), "--json", user="fin")   # rerun: posted once
    assert ok.exit_code == 0, ok
    assert {e["status"] for e in ok.json()} == {"posted"}
    assert _present(admin, "cli") == 5
    assert ledger_violations(admin) == []


def test_server_gone_is_a_clean_error(tmp_path: Path) -> None:
    """No server at all: DatabaseUnavailable, not a psycopg traceback."""
    with pytest.raises(LedgerError) as e:
        connect(Target(url=f"postgresql://fin@/nodb?host={tmp_path}"))
    assert isinstance(e.value, DatabaseUnavailable)
