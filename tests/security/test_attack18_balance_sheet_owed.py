"""ATTACK18 G10 (LOW/MED): the balance sheet and the income statement show a unit's accumulated surplus
without the government share owed to it — the one report that states net assets reads "−200.00"
where the shortfall rule's S is 0.00 (200.00 owed by the local government).

BRIEF §5 (corrected 2026-12): "Every report shows the outstanding share beside the surplus, and the
reports agree with each other at every date (they differ exactly by the outstanding share where one
counts it and the other does not)". The subledger (``government_share_outstanding``, "Government
share owed (register; not on the books)") and the final accounts' balance sheet show the line; the
monitor and ``report shortfall`` show it too. ``report balance-sheet`` (its Fund balance 3001 and
Total net assets, per unit and consolidated) and ``report income`` (Fund balance at start/end) show
no such line, in text, JSON, CSV or XLSX: 230822 RES after the 2023 close (R 1,000, E 1,200, C −200,
S before 0 → government 200): balance sheet as of 2024-06-30, Fund balance −200.00, nothing beside
it; the register says 200.00 outstanding.

Safe behaviour asserted: the balance sheet's unit block and the income statement's section carry
the government share owed beside the fund balance (as the subledger does).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U = "230822"


def _mentions_owed(ledger_db: LedgerDB, *args: str) -> bool:
    r = ledger_db.cli(*args, "--json", user="aud")
    assert r.exit_code == 0, r
    rows = [row for s in r.json().get("sections", []) for row in s.get("rows", [])]
    return any("government_share" in json.dumps(row) or "owed" in json.dumps(row) for row in rows)


def test_g10_the_balance_sheet_and_income_statement_show_the_share_owed_beside_the_surplus(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("pool", "2023-01-05", "230800", "100000.00"), collect("r23", "2023-02-01", U, "1000.00"),
         pay_from_special("p23", "2023-05-01", U, "1200.00"))
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    assert _mentions_owed(ledger_db, "report", "subledger", "--year", "2024", "--unit", U, "--book", "RES")
    # On main: no row of either report names the 200.00 owed
    assert _mentions_owed(ledger_db, "report", "balance-sheet", "--as-of", "2024-06-30", "--unit", U, "--book", "RES")
    assert _mentions_owed(ledger_db, "report", "income", "--year", "2024", "--unit", U, "--book", "RES")
