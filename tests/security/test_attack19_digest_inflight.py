"""ATTACK19 J3 (MED): check-digest accuses an honest ledger of a back-dated insertion when a writer's
transaction was in flight while the digest was taken.

An entry's ``created_at`` is ``now()`` — the start of its transaction (fl.entry_stamp, 0001 … 0147).
``audit digest`` reads ``taken_at`` from the auditor's clock just before its snapshot (ATTACK18b H2);
the snapshot holds only what was committed by then. An honest write whose transaction began before
the digest and committed after it — a payments import running when the auditor files a digest, an
officer's post in an open transaction — is neither in the digest nor queued in it, and its
``created_at`` is before ``taken_at``: ``audit check-digest`` names every such entry "not in the digest
but created at …, before the digest was taken: inserted after the fact, back-dated" and exits 1, on
that digest for ever. With perfectly synchronised clocks; the auditors' guide warns only of a server
clock that runs behind.

Safe behaviour asserted: the entry of a transaction in progress at the digest's snapshot, committed
after it, is no finding (e.g. the digest records its snapshot's in-progress transactions, or judges
"back-dated" by when the entry's transaction committed/was sealed, not when it began).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post, reclass

pytestmark = pytest.mark.db


def test_j3_a_write_in_flight_during_the_digest_is_not_called_back_dated(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    o = ledger_db.connect("o22")
    post(o, reclass("in-flight", "2024-01-11", "230822", "1.00"))     # its transaction is open: created_at = now()
    time.sleep(1.0)
    d = ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud")
    assert d.exit_code == 0, d
    o.commit()                                                        # the honest write commits after the digest
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "d.json"), "--json", user="aud")
    bad = [f["message"] for c in r.json()["checks"] for f in c["findings"]]
    # on main: exit 1, "not in the digest but created at …, before the digest was taken …: inserted after
    # the fact, back-dated"
    assert r.exit_code == 0 and not bad, bad
