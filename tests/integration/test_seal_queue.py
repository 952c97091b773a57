"""A commit that finds the chain head held by another commit does not wait for it: it
queues its entries (checked, with their content digests) and the next commit that takes
the head, or ``fl.seal_pending()``, seals them first. Vouchers stay gapless, the chain
whole, and ``verify`` accepts a queued entry only while its content matches its digest."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest

from ledger.errors import PermissionDenied
from ledger.store import journal, verify
from ledger.store.db import run_tx, translated
from tests.helpers import background, collect, post, reclass

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db


def _post_in_thread(conn: psycopg.Connection, doc: dict[str, Any], timeout: float = 15.0) -> list[dict[str, Any]]:
    t, out = background(lambda: run_tx(conn, lambda c: post(c, doc)))
    t.join(timeout)
    assert not t.is_alive(), "the commit waited for the chain head instead of queueing its entry"
    if "error" in out:
        raise out["error"]
    return out["result"]  # type: ignore[no-any-return]


def _queue_one(ledger_db: Any, key: str) -> tuple[psycopg.Connection, int]:
    """Hold the chain head in an open transaction and post one entry meanwhile: it commits
    queued. Returns the holder (still holding) and the queued entry's id."""
    holder = ledger_db.connect()
    holder.execute("SELECT seq FROM fl.chain_head FOR UPDATE")
    rows = _post_in_thread(ledger_db.connect("fin"), reclass(key, "2023-03-15", "230822", "10.00"))
    return holder, rows[0]["entry_id"]


def _sealed(ledger_db: Any) -> list[dict[str, Any]]:
    return ledger_db.admin().execute(
        "SELECT entry_id, voucher_no, seq FROM fl.seal ORDER BY seq").fetchall()


@pytest.mark.server
def test_a_busy_chain_head_queues_the_commit_and_the_next_commit_seals_it_first(ledger_db):
    post(ledger_db.cached("fin"), collect("before", "2023-03-01", "230822", "5.00"))
    holder, queued = _queue_one(ledger_db, "while-busy")
    admin = ledger_db.admin()
    assert [r["entry_id"] for r in admin.execute("SELECT entry_id FROM fl.seal_queue")] == [queued]
    assert queued not in {r["entry_id"] for r in _sealed(ledger_db)}

    aud = ledger_db.connect("aud")
    rep = verify.verify(aud)
    assert rep.ok, [f.message for f in rep.findings]
    assert rep.extra["queued"] == 1
    shown = ledger_db.cli("verify", user="aud")
    assert shown.exit_code == 0, shown
    assert "1 entry committed but not yet sealed" in shown.stdout

    holder.rollback()          # the head is free again
    after = post(ledger_db.cached("fin"), collect("after", "2023-03-20", "230822", "7.00"))[0]["entry_id"]
    assert admin.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] == 0
    seals = _sealed(ledger_db)
    assert [r["entry_id"] for r in seals][-2:] == [queued, after]          # the queued one first
    assert [r["voucher_no"] for r in seals] == list(range(1, len(seals) + 1))
    rep = verify.verify(aud)
    assert rep.ok, [f.message for f in rep.findings]
    assert rep.extra["queued"] == 0


@pytest.mark.server
def test_seal_pending_seals_the_queue_and_is_for_writers_only(ledger_db):
    holder, queued = _queue_one(ledger_db, "while-busy")
    holder.rollback()
    aud = ledger_db.connect("aud")
    with pytest.raises(PermissionDenied), translated():
        aud.execute("SELECT fl.seal_pending()")
    fin = ledger_db.connect("fin")
    assert journal.seal_queued(fin) == 1
    assert journal.seal_queued(fin) == 0
    assert queued in {r["entry_id"] for r in _sealed(ledger_db)}
    assert verify.verify(aud).ok


@pytest.mark.parametrize("sql", [
    "DELETE FROM fl.seal_queue",
    "UPDATE fl.seal_queue SET content_digest = '\\x00'",
    "TRUNCATE fl.seal_queue",
])
def test_a_queued_entry_cannot_be_dropped_from_the_queue(ledger_db, sql):
    holder, _queued = _queue_one(ledger_db, "while-busy")
    holder.rollback()
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match=r"seal_queue|append-only"):
        ledger_db.admin().execute(sql)


@pytest.mark.server
def test_verify_names_a_queued_entry_changed_after_its_commit(ledger_db):
    holder, queued = _queue_one(ledger_db, "while-busy")
    holder.rollback()
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.entry SET memo = 'edited while queued' WHERE id = %s", (queued,))
    c.execute("SET session_replication_role = origin")
    rep = verify.verify(ledger_db.connect("aud"))
    found = [f for f in rep.findings if f.check == "vouchers"]
    assert [f.entry_id for f in found] == [queued]
    assert "changed since it was queued" in found[0].message


@pytest.mark.server
def test_verify_names_an_entry_neither_sealed_nor_queued(ledger_db):
    holder, queued = _queue_one(ledger_db, "while-busy")
    holder.rollback()
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")      # the queue's own trigger off too
    c.execute("DELETE FROM fl.seal_queue WHERE entry_id = %s", (queued,))
    c.execute("SET session_replication_role = origin")
    rep = verify.verify(ledger_db.connect("aud"))
    found = [f for f in rep.findings if f.check == "vouchers"]
    assert [f.entry_id for f in found] == [queued]
    assert "no seal" in found[0].message and "not queued" in found[0].message


@pytest.mark.server
def test_a_write_command_returns_its_voucher_even_when_its_commit_was_queued(ledger_db, tmp_path):
    """The command's entry commits queued (the head is held); the command then waits for
    the head, seals it, and prints its voucher number."""
    holder = ledger_db.connect()
    holder.execute("SELECT seq FROM fl.chain_head FOR UPDATE")
    f = tmp_path / "entry.json"
    f.write_text(json.dumps(reclass("cli-busy", "2023-03-15", "230822", "10.00")), "utf-8")
    t, out = background(lambda: ledger_db.cli("entry", "post", str(f), "--json", user="fin"))
    admin = ledger_db.admin()
    deadline = time.monotonic() + 15
    while admin.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] == 0:
        assert time.monotonic() < deadline, "the command's entry was never committed to the queue"
        time.sleep(0.05)
    assert t.is_alive(), "the command returned before its entry was sealed"
    holder.rollback()
    t.join(15)
    assert not t.is_alive()
    res = out["result"]
    assert res.exit_code == 0, res
    assert res.json()[0]["voucher"] == "2023-000001"
    assert admin.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] == 0


@pytest.mark.parametrize("args", [
    ("entry", "show", "while-busy"),
    ("entry", "show", "while-busy", "--json"),
    ("audit", "trail", "while-busy"),
    ("report", "vouchers", "--book", "RES", "--year", "2023"),
    ("report", "vouchers", "--book", "RES", "--year", "2023", "--json"),
    ("report", "ledger", "RES:1101:230822", "--year", "2023"),
    ("report", "ledger", "RES:1101:230822", "--year", "2023", "--json"),
    ("report", "subledger", "--unit", "230822", "--year", "2023", "--json"),
    ("audit", "digest", "--json"),
])
def test_read_commands_show_a_queued_entry_without_a_voucher(ledger_db, args):
    """Until it is sealed a queued entry has no voucher number; every read command still
    works and shows it as unsealed rather than failing on the missing number."""
    holder, _queued = _queue_one(ledger_db, "while-busy")
    holder.rollback()
    res = ledger_db.cli(*args, user="aud")
    assert res.exit_code == 0, res
    assert "Traceback" not in res.stdout + res.stderr
