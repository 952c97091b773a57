"""ATTACK10 X12: reversing a register clearing leaves the item cleared — the arrears vanish from the register.

``register clear`` (finance) posts Dr 1003 special / Cr 4101.county and raises the item's ``cleared``; nothing
lowers it again. When the clearing entry is reversed (a workflow entry: held, a second person confirms — the
ordinary correction of a payment booked by mistake or returned by the bank), the money is gone from the books
but the register still says the county's fiscal arrears (or an employer's, or a local government's share of a
deficit) were paid: its outstanding amount stays reduced for ever, no report shows it owed, nobody collects
it, and ``register clear`` refuses to clear it again (over-clearing). Nothing in either verdict compares a
register item's cleared amount with its *live* clearings (``actors`` sums every clearing, reversed or not).
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.integration.test_registers_budget import items, open_handover

pytestmark = pytest.mark.db


def test_x12_a_reversed_clearing_puts_the_arrears_back_on_the_register(ledger_db: LedgerDB) -> None:
    open_handover(ledger_db)
    fid = str(items(ledger_db)["HN-REG-1"]["id"])                         # fiscal arrears ¥300,000 of 230822
    r = ledger_db.cli("register", "clear", fid, "--amount", "100000.00", "--date", "2023-03-01", "--json", user="fin")
    assert r.exit_code == 0 and r.json()["outstanding"] == "200000.00", r
    eid = str(r.json()["entry_id"])
    rev = ledger_db.cli("entry", "reverse", eid, "--reason", "bank returned the transfer", "--date", "2023-03-02",
                        "--json", user="fin")
    assert rev.exit_code == 0, rev
    if rev.json()["status"] == "held":
        assert ledger_db.cli("entry", "confirm", str(rev.json()["held_id"]), user="rev").exit_code == 0
    after = items(ledger_db)["HN-REG-1"]
    found = ledger_db.cli("verify", user="aud")
    assert after["outstanding"] == "300000.00" or found.exit_code == 1, (
        f"the clearing entry {eid} was reversed (the ¥100,000 never arrived), yet the register says "
        f"cleared {after['cleared']}, outstanding {after['outstanding']}, and verify exits {found.exit_code}")
