"""ATTACK17b F5 (MED): E9 made budget execution "show every actual" — an actual no budget line covers
is a line of its own inside the totals — but only for a unit that has a budget. A unit with no
budget for the year (a county whose budget is not yet approved or imported, a unit joining
mid-year, every unit of a second year before its budgets are in) is left out of ``report
budget-execution`` entirely, and ``report city-budget``'s city block sums only the units that have
a budget: the city's actual revenue, expenditure and result there are not the city's.

Reproduction: 230822 and 230881 each collect 1,000.00 and pay 900.00 in 2024; only 230822 has a
2024 budget. budget-execution --year 2024: 230822's block only. city-budget --year 2024: city block
revenue_total 1,000.00, expenditure_total 900.00, result 100.00 — while the monitor's all row, the
income statement and the shortfall rule say 2,000.00 / 1,800.00 / 200.00. tests/acceptance/
_agreement.py encodes the gap ("the city block sums the units that have a budget").

Safe behaviour asserted: a unit with actuals and no budget is in budget execution (its actuals on
unbudgeted lines, budget 0), and the city block's actual totals are the whole city's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db


def _year(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    for u in ("230822", "230881"):
        post(fin, entry(f"c{u}", "2024-03-01", "RES", leg("1003", u, "D", "1000.00", "special"),
                        leg("4001", u, "C", "1000.00")),
             entry(f"e{u}", "2024-04-30", "RES", leg("5001.inpatient", u, "D", "900.00"),
                   leg("1003", u, "C", "900.00", "special")))
    budget = tmp_path / "budget_2024.csv"
    budget.write_text("year,unit,book,line,amount\n2024,230822,RES,4001,1000.00\n2024,230822,RES,5001,900.00\n",
                      "utf-8")
    assert ledger_db.cli("budget", "import", str(budget), user="rev").exit_code == 0


def _totals(ledger_db: LedgerDB, command: str, unit: str) -> tuple[str, ...] | None:
    r = ledger_db.cli("report", command, "--year", "2024", "--book", "RES", "--json", user="aud")
    assert r.exit_code == 0, r
    rows = {x["line"]: x for s in r.json()["sections"] for x in s["rows"] if x["unit"] == unit}
    if not rows:
        return None
    return tuple(rows[k]["actual"] for k in ("revenue_total", "expenditure_total", "result"))


def test_the_city_blocks_actuals_are_the_whole_citys(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _year(ledger_db, tmp_path)
    m = ledger_db.cli("monitor", "--as-of", "2024-12-31", "--book", "RES", "--json", user="aud")
    [all_row] = [x for x in m.json()["consolidated"] if x["unit"] == "all"]
    assert (all_row["year_revenue"], all_row["year_result"]) == ("2000.00", "200.00")
    # On main: ('1000.00', '900.00', '100.00') — 230881's year missing from the city's budget execution
    assert _totals(ledger_db, "city-budget", "all") == ("2000.00", "1800.00", "200.00")


def test_a_unit_without_a_budget_is_in_budget_execution(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _year(ledger_db, tmp_path)
    # On main: None — no block at all for 230881
    assert _totals(ledger_db, "budget-execution", "230881") == ("1000.00", "900.00", "100.00")
