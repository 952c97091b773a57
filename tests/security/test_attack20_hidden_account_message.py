"""ATTACK20 L6 (LOW): an officer asking for another county's account is told the account does not
exist and "is created by its first posting" — a misleading refusal.

``fundledger balance RES:1003:230881:special`` and ``report ledger RES:1003:230881:special`` run by
230822's officer: row security hides the account, and ``ledger.store.accounts`` answers
``[account_not_found] no account 'RES:1003:230881:special' (it is created by its first posting; see
fundledger account list)`` — a false statement (the account exists and holds money) with a next
step that cannot help. Every other reader refusing a row the officer may not see says so: ``request
show`` "an officer sees only unit 230822's requests", ``audit trail`` / ``reconcile report`` "or it
belongs to a unit you cannot see".

Safe behaviour asserted: the refusal says the account may belong to a unit the user cannot see
(without confirming it exists), as the other readers do.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


@pytest.mark.parametrize("cmd", [("balance",), ("report", "ledger")], ids=["balance", "report-ledger"])
def test_l6_another_units_account_is_not_said_to_be_missing(ledger_db: LedgerDB, cmd: tuple[str, ...]) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2024-01-05", "230881", "5000.00"))
    fin.commit()
    r = ledger_db.cli(*cmd, "RES:1003:230881:special", user="o22")
    assert r.exit_code == 1, r
    said = " ".join(r.stderr.split())
    # on main: "no account 'RES:1003:230881:special' (it is created by its first posting; …)"
    assert "created by its first posting" not in said, said
    assert "cannot see" in said or "may not see" in said, said
