"""ATTACK11 Y8 (a false finding): 0080's 15-minute bound named an honest entry in an idle ledger.

A commit that finds the chain head taken queues its entries; its command then seals the queue
as it returns. When its client dies in between (the connection dropped, the process killed)
and nobody writes for 15 minutes, the entry waits for the next write — and both verdicts named
it "waited 20 minutes … the chain head was held that long", although no head was held: the
ledger was idle. The wait means a held head only when other commits queued during it (every
commit that takes the head seals the whole queue, so others queuing meanwhile could not take
it).

* the red team's case: an entry queued behind a busy head whose writer died, sealed 20 minutes
  later by the next write in an otherwise idle ledger: no finding online (the independent verdict),
  in verify's first pass (SQL), nor offline (``verify --offline`` on an ``audit export``);
* the head really held while another commit queued behind it: still named, in all three;
* the rules on rows as text: a queuing of the same commit (within a second) or one racing the seal
  that ends the wait (within a minute of it) is not another commit; one in between is.

The waits are made by moving the seal's time (``sealed_at`` is in no hash) rather than waiting
15 minutes; the queuing times are the chained history's own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.core import queued
from tests.conftest import LedgerDB
from tests.helpers import reclass
from tests.security.test_attack7_rules import verdict
from tests.security.test_attack10_queued_variants import _seal, _tamper

LATER = "UPDATE fl.seal SET sealed_at = sealed_at + interval '20 minutes' WHERE entry_id = ANY(%(e)s)"


def _hold(db: LedgerDB) -> Any:
    """A session holding the journal's chain head (a busy head)."""
    hold = db.connect(None)
    hold.execute("SELECT * FROM fl.chain_head FOR UPDATE").fetchall()
    return hold


def _queued_by_a_writer_that_dies(db: LedgerDB, key: str) -> int:
    """finance's entry committed behind the busy head; its client then dies before sealing."""
    fin = db.connect("fin", autocommit=True)
    row = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                      (json.dumps([reclass(key, "2024-03-20", "230822", "1.00")]),)).fetchone()
    assert row is not None and row["status"] == "posted"
    fin.close()                                   # died: no fl.seal_pending() after the commit
    eid = int(row["entry_id"])
    assert db.admin().execute("SELECT count(*) AS n FROM fl.seal_queue WHERE entry_id = %s", (eid,)
                              ).fetchone()["n"] == 1
    return eid


def _waited(db: LedgerDB, eids: list[int]) -> None:
    """The entries' seals moved 20 minutes on (they are the chain's last), as if the wait had lasted."""
    assert db.admin().execute("SELECT max(entry_id) AS m FROM fl.seal").fetchone()["m"] == max(eids)
    _tamper(db, eids, LATER)  # type: ignore[arg-type]


def _first_pass(db: LedgerDB) -> list[dict[str, Any]]:
    r = db.cli("verify", "--json", user="aud")
    assert r.stdout, r
    return [f for ch in json.loads(r.stdout)["checks"] if ch["name"] == "histories" for f in ch["findings"]]


def _offline(db: LedgerDB, tmp_path: Path) -> tuple[int, list[dict[str, Any]]]:
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    r = db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    return r.exit_code, list(next(c for c in r.json()["checks"] if c["name"] == "histories")["findings"])


def _waits(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in found if "waited" in str(f["message"])]


@pytest.mark.db
def test_y8_an_entry_queued_in_an_idle_ledger_by_a_writer_that_died_is_no_finding(ledger_db: LedgerDB,
                                                                                    tmp_path: Path) -> None:
    hold = _hold(ledger_db)
    eid = _queued_by_a_writer_that_dies(ledger_db, "y8-idle")
    hold.rollback()                               # the busy head is free again; nobody writes
    _seal(ledger_db)                              # the next write, 20 minutes later
    _waited(ledger_db, [eid])
    found = verdict(ledger_db)
    assert "histories" not in found, found
    assert _waits(_first_pass(ledger_db)) == []
    assert ledger_db.cli("verify", user="aud").exit_code == 0
    code, off = _offline(ledger_db, tmp_path)
    assert _waits(off) == [] and code == 0, off


@pytest.mark.db
def test_y8_a_head_held_while_another_commit_queues_is_still_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    hold = _hold(ledger_db)
    first = _queued_by_a_writer_that_dies(ledger_db, "y8-held-1")
    time.sleep(1.2)                               # another commit, past the first's own
    second = _queued_by_a_writer_that_dies(ledger_db, "y8-held-2")
    hold.rollback()
    _seal(ledger_db)
    _waited(ledger_db, [first, second])
    found = verdict(ledger_db)
    [f] = _waits(found.get("histories", []))
    assert f["entry_id"] == first and "waited 20 minutes" in str(f["message"]), f
    assert "1 other entry was committed and queued behind it" in str(f["message"]), f
    # the last one queued saw no other commit queue after it: the head is named once, by the first
    assert [f["entry_id"] for f in _waits(_first_pass(ledger_db))] == [first]
    assert ledger_db.cli("verify", user="aud").exit_code == 1
    code, off = _offline(ledger_db, tmp_path)
    assert code == 1 and [f["entry_id"] for f in _waits(off)] == [first], off


@pytest.mark.db
def test_y8_one_commit_of_several_entries_waiting_alone_is_no_finding(ledger_db: LedgerDB) -> None:
    """Several entries of one commit are queued in one statement (queuing times microseconds apart):
    they are one commit, not others that queued behind it."""
    hold = _hold(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    rows = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                       (json.dumps([reclass(f"y8-one-{i}", "2024-03-20", "230822", "1.00") for i in range(3)]),)
                       ).fetchall()
    fin.close()
    eids = [int(r["entry_id"]) for r in rows]
    assert len(eids) == 3
    hold.rollback()
    _seal(ledger_db)
    _waited(ledger_db, eids)
    assert "histories" not in verdict(ledger_db)
    assert _waits(_first_pass(ledger_db)) == []


def _rows(queuings: dict[int, dt.datetime], digest: bytes) -> dict[str, dict[str, str]]:
    return {queued.TABLE: {json.dumps({"entry_id": e}): json.dumps({"digest": digest.hex(), "entry_id": e,
                                                                    "queued_at": at.isoformat()})
                           for e, at in queuings.items()}}


def test_y8_the_rules_on_rows_as_text() -> None:
    d = hashlib.sha256(b"a").digest()
    at = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)

    def seal(eid: int, minutes: float) -> list[str]:
        return ["1", str(eid), "RES", "2024", "1", "\\x" + d.hex(), "\\x00", "\\x00",
                (at + dt.timedelta(minutes=minutes)).isoformat(sep=" ")]

    def judged(others: dict[int, dt.timedelta]) -> list[str]:
        qs = {7: at, **{e: at + off for e, off in others.items()}}
        return [f.message for f in queued.findings(_rows(qs, d), [seal(7, 20), *(seal(e, 20) for e in others)],
                                                   [])[1] if f.entry_id == 7]

    assert judged({}) == []                                            # idle: nobody else wrote
    assert judged({8: dt.timedelta(milliseconds=3)}) == []             # its own commit's other entry
    assert judged({8: dt.timedelta(minutes=19, seconds=30)}) == []     # a commit racing the seal
    [m] = judged({8: dt.timedelta(minutes=5)})                         # queued behind a held head
    assert "waited 20 minutes" in m and "1 other entry was" in m
    [m] = judged({8: dt.timedelta(minutes=5), 9: dt.timedelta(minutes=6)})
    assert "2 other entries were" in m
    # within the bound, whatever else happened: no finding
    qs = {7: at, 8: at + dt.timedelta(minutes=2)}
    assert queued.findings(_rows(qs, d), [seal(7, 14), seal(8, 14)], []) == (2, [])
