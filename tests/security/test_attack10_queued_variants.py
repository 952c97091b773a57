"""Variants of ATTACK10 X9 and X11 (a queued entry is evidence from its commit on).

0080 records each queued entry's content digest in the chained history at its commit;
``ledger.core.queued`` judges every entry so recorded against its seal or queue row (both
verdicts, and verify's first pass in SQL); a /2 digest records the entries queued when it
was taken and ``check-digest`` requires them sealed later with exactly that content.

* the red team's rewrite with a digest filed *while* the entry waited: check-digest names
  the entry (not as back-dated noise: as rewritten while it waited), and so does verify;
* the same rewrite seen offline, in an export's verdict;
* the queue row's digest alone rewritten while the entry still waits: named at once, in
  both passes, before any seal;
* an entry that waited past the bound for its seal while another commit queued is named (a held head);
* a /1 digest (from before) is still checked, and an unknown format refused plainly;
* the rules themselves, on rows as text (no database).
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
from tests.security.test_attack10_queued import TAMPER


def _queue_one(ledger_db: LedgerDB, key: str) -> tuple[Any, int]:
    """A session holding the chain head, and finance's entry queued behind it."""
    hold = ledger_db.connect(None)
    hold.execute("SELECT * FROM fl.chain_head FOR UPDATE").fetchall()
    fin = ledger_db.connect("fin", autocommit=True)
    row = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                      (json.dumps([reclass(key, "2024-03-20", "230822", "1.00")]),)).fetchone()
    assert row is not None and row["status"] == "posted"
    return hold, int(row["entry_id"])


def _tamper(ledger_db: LedgerDB, eid: int, script: str = TAMPER) -> None:
    admin = ledger_db.admin()
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute("SET LOCAL \"DateStyle\" = 'ISO, YMD'")
        for stmt in script.split(";\n"):
            if stmt.strip():
                admin.execute(stmt, {"e": eid})


def _seal(ledger_db: LedgerDB) -> None:
    ledger_db.connect("rev", autocommit=True).execute("SELECT fl.seal_pending()").fetchall()


@pytest.mark.db
def test_x9_a_rewrite_behind_a_digest_filed_while_it_waited_is_named_by_check_digest(ledger_db: LedgerDB,
                                                                                      tmp_path: Path) -> None:
    hold, eid = _queue_one(ledger_db, "x9v1")
    digest = tmp_path / "filed.json"
    assert ledger_db.cli("audit", "digest", "--out", str(digest), user="aud").exit_code == 0
    filed = json.loads(digest.read_text("utf-8"))
    assert filed["format"] == "fundledger-digest/4" and [q["entry_id"] for q in filed["queued"]] == [eid]
    _tamper(ledger_db, eid)
    hold.rollback()
    _seal(ledger_db)
    c = ledger_db.cli("audit", "check-digest", str(digest), "--json", user="aud")
    assert c.exit_code == 1, c
    msgs = [f["message"] for ch in json.loads(c.stdout)["checks"] for f in ch["findings"] if ch["name"] == "digest"]
    assert any(f"entry #{eid} was queued" in m and "rewritten while it waited" in m and "sealed so" in m
               for m in msgs), msgs
    assert not any("back-dated" in m for m in msgs), msgs
    first = ledger_db.cli("verify", "--json", user="aud")
    hist = [f for ch in json.loads(first.stdout)["checks"] if ch["name"] == "histories" for f in ch["findings"]]
    assert first.exit_code == 1 and any(f["entry_id"] == eid and "sealed with" in f["message"] for f in hist), hist


@pytest.mark.db
def test_x9_the_rewrite_is_named_offline_in_an_export(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from ledger.io import archive

    hold, eid = _queue_one(ledger_db, "x9v2")
    _tamper(ledger_db, eid)
    hold.rollback()
    _seal(ledger_db)
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    rep = archive.verify_offline(out, filed)
    got = [f for f in rep.findings if f.check == "histories" and f.entry_id == eid]
    assert got and "rewritten while it waited" in got[0].message, rep.findings


@pytest.mark.db
def test_x9_a_queue_row_rewritten_while_its_entry_waits_is_named_before_any_seal(ledger_db: LedgerDB) -> None:
    hold, eid = _queue_one(ledger_db, "x9v3")
    _tamper(ledger_db, eid, "UPDATE fl.seal_queue SET content_digest = sha256('x'::bytea) WHERE entry_id = %(e)s")
    found = verdict(ledger_db)
    assert any(f["entry_id"] == eid and "queue row was rewritten" in str(f["message"]) for f in found["histories"]), found
    first = ledger_db.cli("verify", "--json", user="aud")
    hist = [f for ch in json.loads(first.stdout)["checks"] if ch["name"] == "histories" for f in ch["findings"]]
    assert first.exit_code == 1 and any(f["entry_id"] == eid and "queue row" in f["message"] for f in hist), hist
    hold.rollback()


@pytest.mark.db
def test_an_entry_that_waited_past_the_bound_for_its_seal_is_named(ledger_db: LedgerDB) -> None:
    """The wait is measured from the queuing the history recorded to the seal: here the seal's
    time is moved past the bound (sealed_at is in no hash) instead of waiting that long. Another
    commit queues behind the held head meanwhile (ATTACK11 Y8: a wait alone, in an idle ledger,
    is none)."""
    hold, eid = _queue_one(ledger_db, "x9v4")
    time.sleep(1.2)
    fin = ledger_db.connect("fin", autocommit=True)
    later = int(fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                            (json.dumps([reclass("x9v4b", "2024-03-20", "230822", "1.00")]),)).fetchone()["entry_id"])
    hold.rollback()
    _seal(ledger_db)
    assert "histories" not in verdict(ledger_db)
    _tamper(ledger_db, eid, "UPDATE fl.seal SET sealed_at = sealed_at + interval '20 minutes' "
            f"WHERE entry_id IN (%(e)s, {later})")
    found = verdict(ledger_db)
    assert any(f["entry_id"] == eid and "waited 2" in str(f["message"]) for f in found.get("histories", [])), found
    first = ledger_db.cli("verify", "--json", user="aud")
    hist = [f for ch in json.loads(first.stdout)["checks"] if ch["name"] == "histories" for f in ch["findings"]]
    assert any(f["entry_id"] == eid and "waited" in f["message"] for f in hist), hist


@pytest.mark.db
def test_x11_a_format_1_digest_is_still_checked_and_an_unknown_format_refused(ledger_db: LedgerDB,
                                                                              tmp_path: Path) -> None:
    digest = tmp_path / "filed.json"
    assert ledger_db.cli("audit", "digest", "--out", str(digest), user="aud").exit_code == 0
    d = json.loads(digest.read_text("utf-8"))
    d["format"] = "fundledger-digest/1"
    del d["queued"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(d), "utf-8")
    assert ledger_db.cli("audit", "check-digest", str(old), user="aud").exit_code == 0
    d["format"] = "fundledger-digest/9"
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(d), "utf-8")
    r = ledger_db.cli("--lang", "en", "audit", "check-digest", str(odd), user="aud")
    assert r.exit_code == 1 and "bad_input" in r.stderr and "fundledger-digest/9" in r.stderr, r


def _rows(eid: int, digest: bytes, at: dt.datetime) -> dict[str, dict[str, str]]:
    text = json.dumps({"digest": digest.hex(), "entry_id": eid, "queued_at": at.isoformat()})
    return {queued.TABLE: {json.dumps({"entry_id": eid}): text}}


def test_the_queued_rules_on_rows_as_text() -> None:
    d, other = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    at = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)

    def seal(eid: int, dig: bytes, minutes: int) -> list[str]:
        return ["1", str(eid), "RES", "2024", "1", "\\x" + dig.hex(), "\\x00", "\\x00",
                (at + dt.timedelta(minutes=minutes)).isoformat(sep=" ")]

    assert queued.findings(_rows(7, d, at), [seal(7, d, 1)], []) == (1, [])
    n, f = queued.findings(_rows(7, d, at), [seal(7, other, 1)], [])
    assert n == 1 and len(f) == 1 and "sealed with" in f[0].message and f[0].entry_id == 7
    # (ATTACK11 Y8) a wait past the bound alone is no finding (an idle ledger); with another
    # commit queued behind it, a held head (tests/security/test_attack11_idle_head.py)
    assert queued.findings(_rows(7, d, at), [seal(7, d, 16)], []) == (1, [])
    both = {queued.TABLE: {**_rows(7, d, at)[queued.TABLE],
                           **_rows(8, d, at + dt.timedelta(minutes=5))[queued.TABLE]}}
    assert "waited 16 minutes" in queued.findings(both, [seal(7, d, 16), seal(8, d, 16)], [])[1][0].message
    assert queued.findings(_rows(7, d, at), [], [["7", "RES", "2024", "\\x" + d.hex()]]) == (1, [])
    assert "queue row was rewritten" in queued.findings(_rows(7, d, at), [],
                                                        [["7", "RES", "2024", "\\x" + other.hex()]])[1][0].message
    assert "removed without a seal" in queued.findings(_rows(7, d, at), [], [])[1][0].message
    assert "triggers off" in queued.findings({}, [], [["8", "RES", "2024", "\\x" + d.hex()]])[1][0].message
