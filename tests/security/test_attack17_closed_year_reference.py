"""ATTACK17 E6: a closed year's annual plan and insured headcounts still take new versions after its
year-end close, while its budget is final.

``budget import`` / ``budget adjust`` for a closed year are refused by the database itself
(``budget_year_closed``: "its budget is final"). The same year's other reference records are not:
``budget plan import`` writes a new plan version for the closed year, and ``insured import`` a new
headcount version (a first one needs no reason at all) — so ``report funding --year <closed year>``
(per-insured subsidy and contribution, the standard's flags) changes after the final accounts were
made: in the demo, one reviewer's row ``2023,230822,RES,5`` turned 2023's ``no_headcount`` warning for
桦南县 into a clean row with ¥35,554,000 of subsidy per insured person, nothing in the year's close
saying so.

Safe behaviour asserted: once a year is closed, a changed plan or headcount for it (a version after
the one in force) is refused in words like the budget's adjustment (nothing written).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def _closed_2023(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("e6-c", "2023-03-01", "230822", "1000.00"))
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r


def _count(ledger_db: LedgerDB, table: str) -> int:
    return int(ledger_db.admin().execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])


def test_e6_the_budget_of_a_closed_year_is_final_baseline(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text("year,unit,book,line,amount\n2023,230822,RES,4001,1000.00\n", "utf-8")
    assert ledger_db.cli("budget", "import", str(f), user="rev").exit_code == 0
    _closed_2023(ledger_db)
    f.write_text("year,unit,book,line,amount\n2023,230822,RES,4001,1200.00\n", "utf-8")
    r = ledger_db.cli("budget", "import", str(f), "--reason", "late", user="rev")
    assert r.exit_code == 1 and "budget_year_closed" in r.stderr, r


@pytest.mark.parametrize(("command", "first", "later", "table"), [
    (("budget", "plan", "import"), "year,unit,book,period,kind,amount\n2023,230822,RES,Q1,expenditure,10.00\n",
     "year,unit,book,period,kind,amount\n2023,230822,RES,Q1,expenditure,99.00\n", "fl.budget_plan"),
    (("insured", "import"), "year,unit,book,insured,reason\n2023,230822,RES,100000,\n",
     "year,unit,book,insured,reason\n2023,230822,RES,5,late correction\n", "fl.insured_count"),
])
def test_e6_a_closed_years_plan_and_headcount_are_final_too(ledger_db: LedgerDB, tmp_path: Path,
                                                             command: tuple[str, ...], first: str, later: str,
                                                             table: str) -> None:
    f = tmp_path / "f.csv"
    f.write_text(first, "utf-8")
    assert ledger_db.cli(*command, str(f), user="rev").exit_code == 0
    _closed_2023(ledger_db)
    before = _count(ledger_db, table)
    f.write_text(later, "utf-8")
    r = ledger_db.cli(*command, str(f), user="rev")
    # On main: exit 0, a version 2 for the closed year (the budget's is refused: budget_year_closed)
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    assert _count(ledger_db, table) == before
