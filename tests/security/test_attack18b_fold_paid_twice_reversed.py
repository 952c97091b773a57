"""ATTACK18b H5: an honest ledger on which G3 happened before 0146 is accused for ever by
``claims_once``, even after the second payment is reversed.

0146 made the verdict's ``claims_once`` fold references (``reference_fold``) for every claim ever
imported — no rule point. A ledger that stored the county's 囗腔-1 before 0134 and then, under a
release before 0146 (exact comparison, the release's own rule then), took the bureau's 口腔-1 from
the county's account with the same content (held, confirmed by city finance: G3) is named by
``claims_once`` after the upgrade: "paid again by the city bureau's import … with the content the
county's own import had paid it with". The office does what the guide says — city finance reverses
the bureau's duplicate entry — and the verdict still names it: ``Rules._paid_twice``'s same-content
branch has no reversal exemption (its county-account branch, 0070's, has one), because with exact
references such a pair could never be written. With the fold, an honest history writes it.

The history before 0146 is made as that release made it: 0146's fold switched off for the one
import (``suspended``, as test_claim_paid_once_folded does), the stored radical as 0134's
predecessor wrote it.

Safe behaviour asserted: once the duplicate is reversed, the verdict holds (no ``claims_once``
finding); a fold applied to history written before it took effect binds from a rule point or
accepts a reversed duplicate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirmed
from tests.security.test_attack7_rules import suspended, verdict
from tests.security.test_claim_paid_once_folded import (
    FOLD_OFF,
    NEW,
    STORED,
    _before_0134,
    _claim,
    _fund,
    _paid,
)

pytestmark = pytest.mark.db


def test_h5_a_duplicate_paid_before_0146_and_reversed_is_not_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    _before_0134(ledger_db, "o81", STORED, "800.00")
    # the release before 0146: 0043's skip compared the other register's references exactly
    with suspended(ledger_db.admin(), "fl.import_payments(text,text)", *FOLD_OFF):
        r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", NEW, "800.00"), "--json", user="rev")
    assert r.exit_code == 0 and len(r.json()["held"]) == 1, r
    c = ledger_db.cli("entry", "confirm", str(r.json()["held"][0]), "--json", user="fin")
    assert c.exit_code == 0, c
    assert [p[0] for p in _paid(ledger_db)] == [STORED, NEW]                     # G3: paid twice, honestly
    dup = ledger_db.admin().execute("SELECT p.entry_id FROM fl.posting p WHERE p.line_ref = %s", (NEW,)
                                    ).fetchone()["entry_id"]
    rv = confirmed(ledger_db.connect("fin", autocommit=True),
                   "SELECT * FROM fl.reverse_entry(%s, 'claim paid twice (G3)', DATE '2024-03-28', 'h5-undo')",
                   (dup,), checker="rev")
    assert rv["status"] == "posted", rv
    found = verdict(ledger_db)
    # On main: claims_once "claim 口腔-1 of unit 230881 paid again by the city bureau's import (batch …) with the
    # content the county's own import had paid it with …" — though the duplicate is reversed
    assert not found.get("claims_once"), [f["message"] for f in found["claims_once"]]
