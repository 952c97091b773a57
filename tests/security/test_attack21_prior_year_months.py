"""ATTACK21 N10 (LOW-MED): `preallocate --basis prior-year` divided last year's spending by 12 whatever part
of last year the county was in the ledger; the budget basis divided a half year's budget by 12 the same way.

ledger.core.preallocation.monthly_basis_from_prior_year takes `months` ("a county that joined the city pool
in April has 9"), but ledger.store.cycle never passed it: a county that joined on 1 July and spent
60,000.00 a month got a monthly basis of 30,000.00 — its three months' pre-allocation was a month and a
half of payable funds (BRIEF §5: "last year's average monthly expenditure").

Safe behaviour asserted: last year's spending is divided by the months of last year the county was in
the ledger in that book (from its first day there, the months-payable basis, to 31 December; its
first month counted whole), the budget by the months of the year from its joining date; a county with fewer
months than are pre-allocated gets at most the whole of what it spent, within the database's cap
(fl.preallocate refuses the city's whole pre-allocation past it), and its pre-allocation is held.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

UNIT = "230822"


def _join(db: LedgerDB, on: str, key: str) -> None:
    rev = db.connect("rev", autocommit=True)
    rev.execute("SELECT * FROM fl.register_unit_joined(%s, %s, 'joined mid-year', 'doc-1', %s)", (UNIT, on, key))
    rev.close()


def _paid(db: LedgerDB, first: str, months: list[str], each: str = "60000.00") -> None:
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("n10-c", first, UNIT, "1000000.00"),
         *[pay_from_special(f"n10-p{m}", f"2023-{m}-25", UNIT, each) for m in months])
    fin.close()


def _line(db: LedgerDB, *args: str, dry: bool = True) -> dict[str, Any]:
    r = db.cli("preallocate", "--year", "2024", *args, *(("--dry-run",) if dry else ()), "--json", user="rev")
    assert r.exit_code == 0, r.stdout[-1000:] + r.stderr[-1000:]
    rows = r.json()
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    return next(x for x in rows if x["unit"] == UNIT and x["book"] == "RES")


def test_prior_year_basis_averages_the_months_the_county_was_in(ledger_db: LedgerDB) -> None:
    """The red team's case: joined 1 July 2023, 60,000.00 paid each month from July: basis 60,000.00."""
    _join(ledger_db, "2023-07-01", "n10")
    _paid(ledger_db, "2023-07-03", ["07", "08", "09", "10", "11", "12"])
    line = _line(ledger_db, "--date", "2024-01-15", "--basis", "prior-year")
    assert (line["monthly_basis"], line["target"]) == ("60000.00", "180000.00"), line


def test_prior_year_counts_from_the_first_figure_not_from_an_earlier_joining_date(ledger_db: LedgerDB) -> None:
    """Registered as joined on 1 January 2021 (the date in force), its figures begin on 1 July 2023: the
    months are July to December (N9's basis), 60,000.00 — not 30,000.00."""
    _join(ledger_db, "2021-01-01", "n10-early")
    _paid(ledger_db, "2023-07-01", ["07", "08", "09", "10", "11", "12"])
    line = _line(ledger_db, "--date", "2024-01-15", "--basis", "prior-year")
    assert line["monthly_basis"] == "60000.00", line


def test_a_part_month_counts_whole(ledger_db: LedgerDB) -> None:
    """In the ledger from 16 July: July to December, six months; 330,000.00 spent → 55,000.00 a month."""
    _join(ledger_db, "2023-07-16", "n10-part")
    _paid(ledger_db, "2023-07-16", ["07", "08", "09", "10", "11", "12"], "55000.00")
    line = _line(ledger_db, "--date", "2024-01-15", "--basis", "prior-year")
    assert line["monthly_basis"] == "55000.00", line


def test_fewer_months_than_preallocated_stay_within_the_cap_and_are_held(ledger_db: LedgerDB) -> None:
    """Joined 1 November 2023, 60,000.00 paid in November and December: 60,000.00 a month would make three
    months 180,000.00 — more than the database's cap (twelve months of 120,000 ÷ 12: the whole year's
    120,000.00), which refuses the city's whole pre-allocation. The basis is 40,000.00 (120,000.00 over
    the three months pre-allocated) and the pre-allocation is held for city finance."""
    _join(ledger_db, "2023-11-01", "n10-nov")
    _paid(ledger_db, "2023-11-01", ["11", "12"])
    line = _line(ledger_db, "--date", "2024-01-15", "--basis", "prior-year")
    assert (line["monthly_basis"], line["target"]) == ("40000.00", "120000.00"), line
    held = _line(ledger_db, "--date", "2024-01-15", "--basis", "prior-year", dry=False)
    assert held["status"] == "held", held


def test_the_budget_basis_divides_a_half_years_budget_by_its_months(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A county joining on 1 July 2024 budgets its half year, 360,000.00: its basis is 60,000.00 (÷ 6), and
    it is pre-allocated on or after its joining date (J5)."""
    _join(ledger_db, "2024-07-01", "n10-budget")
    budget = tmp_path / "budget_2024.csv"
    budget.write_text(f"year,unit,book,line,amount\n2024,{UNIT},RES,4001,400000.00\n2024,{UNIT},RES,5001,360000.00\n",
                      "utf-8")
    r = ledger_db.cli("budget", "import", str(budget), user="rev")
    assert r.exit_code == 0, r
    line = _line(ledger_db, "--date", "2024-07-01", "--basis", "budget")
    assert (line["monthly_basis"], line["target"]) == ("60000.00", "180000.00"), line
