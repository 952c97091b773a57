"""ATTACK19 J3's fix, held from both sides: a ``fundledger-digest/4`` records the snapshot it was
taken in (xmin, xmax, the transactions in progress, ``next``), and check-digest names an entry
"back-dated" unless its transaction (``created_xid``) was in progress at that snapshot *and* its row
(``xmin``, the id PostgreSQL stamped it with, never chosen by SQL) was written by then.

* a DBA who inserts an entry after the digest and gives it an early ``created_at`` — and even the
  ``created_xid`` of a transaction that really was in flight at the digest — is still named: the
  row's xmin is past the snapshot's ``next``;
* an older digest (/3, no snapshot) is judged as before;
* a /4 digest that lost or damaged its snapshot is the file's fault (``bad_input``), never read
  as "nothing was in flight".
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ledger.store.audit import in_flight
from tests.conftest import LedgerDB
from tests.helpers import collect, post, reclass

pytestmark = pytest.mark.db


def _in_flight_digest(ledger_db: LedgerDB, tmp_path: Path) -> tuple[Path, int, int]:
    """J3's scene: o22's reclass in flight while the auditor files a digest, committed after it.
    Returns the digest file, the in-flight entry's id and its transaction id."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    o = ledger_db.connect("o22")
    eid = post(o, reclass("in-flight", "2024-01-11", "230822", "1.00"))[0]["entry_id"]
    xid = int(o.execute("SELECT pg_catalog.pg_current_xact_id()::text AS x").fetchone()["x"])
    time.sleep(0.5)
    d = ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud")
    assert d.exit_code == 0, d
    o.commit()
    return tmp_path / "d.json", eid, xid


def _findings(ledger_db: LedgerDB, path: Path) -> tuple[int, list[dict]]:
    r = ledger_db.cli("audit", "check-digest", str(path), "--json", user="aud")
    return r.exit_code, [f for c in r.json()["checks"] for f in c["findings"]]


def test_the_digest_records_the_transaction_in_flight_and_check_digest_lists_it(ledger_db: LedgerDB,
                                                                                 tmp_path: Path) -> None:
    path, eid, xid = _in_flight_digest(ledger_db, tmp_path)
    filed = json.loads(path.read_text())
    assert filed["format"] == "fundledger-digest/4" and xid in filed["snapshot"]["in_progress"], filed["snapshot"]
    assert filed["snapshot"]["next"] > xid
    r = ledger_db.cli("audit", "check-digest", str(path), "--json", user="aud")
    assert r.exit_code == 0, r
    assert [x["entry_id"] for x in r.json()["in_flight_at_digest"]] == [eid]


@pytest.mark.parametrize("borrow_xid", [False, True], ids=["own-xid", "in-flight-xid"])
def test_an_entry_written_after_the_digest_and_stamped_early_is_still_back_dated(
        ledger_db: LedgerDB, tmp_path: Path, borrow_xid: bool) -> None:
    path, _, xid = _in_flight_digest(ledger_db, tmp_path)
    o = ledger_db.connect("o22")
    late = post(o, reclass("after", "2024-01-12", "230822", "2.00"))[0]["entry_id"]
    o.commit()
    # The DBA stamps it an hour before the digest (and, worse, as of the transaction that was in
    # flight then), with the triggers off: the row's xmin is the DBA's, past the snapshot's next.
    adm = ledger_db.admin()
    adm.execute("SET session_replication_role = replica")
    adm.execute("UPDATE fl.entry SET created_at = created_at - interval '1 hour'"
                + (", created_xid = %s::text::xid8" if borrow_xid else "") + " WHERE id = %s",
                ((xid, late) if borrow_xid else (late,)))
    code, found = _findings(ledger_db, path)
    back = [f for f in found if "back-dated" in f["message"]]
    assert code == 1 and [f["entry_id"] for f in back] == [late], found


def test_an_older_digest_without_its_snapshot_is_judged_as_before(ledger_db: LedgerDB, tmp_path: Path) -> None:
    path, eid, _ = _in_flight_digest(ledger_db, tmp_path)
    d = json.loads(path.read_text())
    d["format"] = "fundledger-digest/3"
    del d["snapshot"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(d))
    code, found = _findings(ledger_db, old)
    # /3 did not record its snapshot: the in-flight entry reads as before (the guide says so)
    assert code == 1 and [f["entry_id"] for f in found if "back-dated" in f["message"]] == [eid], found


@pytest.mark.parametrize("change", [None, {"xmin": -1}, {"xmax": "5"}, {"next": 0}, {"in_progress": {}},
                                    {"in_progress": [10 ** 30]}], ids=["lost", "xmin", "xmax", "next", "list", "id"])
def test_a_v4_digest_whose_snapshot_is_lost_or_damaged_is_the_files_fault(ledger_db: LedgerDB, tmp_path: Path,
                                                                          change: dict | None) -> None:
    path, _, _ = _in_flight_digest(ledger_db, tmp_path)
    d = json.loads(path.read_text())
    if change is None:
        del d["snapshot"]
    else:
        d["snapshot"] = {**d["snapshot"], **change}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    r = ledger_db.cli("audit", "check-digest", str(bad), user="aud")
    assert r.exit_code != 0 and "bad_input" in r.stderr and "back-dated" not in r.stdout + r.stderr, r


def test_in_flight_compares_row_ids_as_postgresql_does_across_the_wrap() -> None:
    snap = {"in_progress": frozenset({2 ** 32 + 5, 3 * 2 ** 32 - 2}), "next": 2 ** 32 + 9}
    assert in_flight(snap, 2 ** 32 + 5, 5)            # the transaction's own id
    assert in_flight(snap, 2 ** 32 + 5, 8)            # a subtransaction's, assigned before the snapshot
    assert not in_flight(snap, 2 ** 32 + 5, 9)        # assigned at or after next: written later
    assert not in_flight(snap, 2 ** 32 + 5, 4)        # before its own transaction: not its row
    assert not in_flight(snap, 2 ** 32 + 6, 6)        # a transaction not in progress then
    wrap = {"in_progress": frozenset({3 * 2 ** 32 - 2}), "next": 3 * 2 ** 32 + 3}
    assert in_flight(wrap, 3 * 2 ** 32 - 2, 2 ** 32 - 1) and in_flight(wrap, 3 * 2 ** 32 - 2, 2)
    assert not in_flight(wrap, 3 * 2 ** 32 - 2, 3)
