"""ATTACK17b F9 (LOW/MED): 0138 made a closed year's reference records final so that its reports
stay as the close saw them, and named fund requests "not a reference record: a workflow whose
money is posted as entries, which the closed periods and the year close hold". But the performance
review (预算绩效考核) of a year reads the year's *approved requests* themselves
(``requests_vs_spending`` = approved requests ÷ expenditure, ``ledger.store.performance``), not
entries — and a request for a closed year is still submitted and approved after the close: the
closed year's scores and ranking change after its close.

Reproduction: 230822 collects 2,000,000 and spends 600,000 in 2023 on a 2023 budget; 2023 closed;
``report performance --year 2023`` scores requests_vs_spending 100 (no requests). Then the officer
submits a request for 2023 Q4 of 1,200,000 and the bureau approves it (dated within 0133's bound):
the same closed year's review now scores it 0 (200 % of spending), its total and rank move.

Safe behaviour asserted: the closed year's performance review is unchanged by a request submitted
and approved after its close (a request for a closed year refused, or the review reading the
requests approved by the close).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U = "230822"


def _review(ledger_db: LedgerDB) -> Any:
    r = ledger_db.cli("report", "performance", "--year", "2023", "--book", "RES", "--json", user="aud")
    assert r.exit_code == 0, r
    return [(x.get("indicator"), x.get("value"), x.get("score")) for s in r.json()["sections"] for x in s["rows"]
            if x.get("unit") == U]


def test_a_closed_years_review_does_not_move_with_a_request_approved_after_its_close(ledger_db: LedgerDB,
                                                                                      tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("r-c", "2023-03-01", U, "2000000.00"), pay_from_special("r-p", "2023-06-15", U, "600000.00"))
    b = tmp_path / "budget_2023.csv"
    b.write_text(f"year,unit,book,line,amount\n2023,{U},RES,4001,2000000.00\n2023,{U},RES,5001,600000.00\n", "utf-8")
    assert ledger_db.cli("budget", "import", str(b), user="rev").exit_code == 0
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r
    before = _review(ledger_db)
    assert before, "the unit is reviewed"

    sub = ledger_db.cli("request", "submit", "--year", "2023", "--quarter", "4", "--amount", "1200000.00",
                        "--note", "late", user="o22")
    if sub.exit_code != 0:
        return                                           # refused for a closed year: secure
    rid = ledger_db.admin().execute("SELECT max(id) AS id FROM fl.fund_request").fetchone()["id"]
    ap = ledger_db.cli("request", "approve", str(rid), "--date", "2024-01-05", user="rev")
    assert ap.exit_code == 0, ap                          # approved, after the close, for the closed year
    # On main: requests_vs_spending 200.00 / score 0 — the closed year's review rewritten
    assert _review(ledger_db) == before
