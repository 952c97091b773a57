"""ATTACK21 N9 (MED): a registered joining date long before a unit's first figures made months payable
a short span's spending ÷ 12 (16.77 → 68.00 in March, ~12× in January).

0157 (G5/G9) took a REGISTERED joining date (the region file's `joined`, or the city bureau's later
registration, 0167) as the unit's first day in the ledger. The joining date only bounds postings from
below: a county that joined the pooling on 2021-01-01 (佳政办发〔2021〕2号) whose figures begin in the
ledger in January 2024 was "12 months in the ledger" and the monitor divided a quarter's spending by 12
(basis last_12_months) — BRIEF §5's forbidden overstatement. Registering the date ALREADY in force (the
region's default, first_year's 1 January) quadrupled the figure; a red county read yellow or green and
`monitor` lost its exit code 3; verify stayed green.

Safe behaviour asserted (sql/0176, ledger.store.monitor._BASIS): in the book a registered unit joined
with, its first day is the later of its joining date in force and its earliest fund figure there.
Registering any date on or before the unit's first figures changes no figure; a red county stays red
(exit 3) in January and in March; the monitor, the forecast and the chart agree, at month ends over two
years, with a first day re-derived here from the journal alone; the verdict is whole.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack7_rules import verdict
from tests.security.test_g5_g9_joined_basis import NEW, _agree, _register

pytestmark = pytest.mark.db

UNIT = "230822"


def _monitor(db: LedgerDB, as_of: str = "2024-03-31", unit: str = UNIT) -> tuple[Any, ...]:
    r = db.cli("monitor", "--as-of", as_of, "--unit", unit, "--book", "RES", "--json", user="rev")
    assert r.exit_code in (0, 3), r.stdout[-800:] + r.stderr[-800:]
    row = next(x for x in r.json()["rows"] if x["unit"] == unit and x["book"] == "RES")
    return row["months_payable"], row["basis"], row["colour"], r.exit_code


def _later(db: LedgerDB, on: str, key: str, unit: str = UNIT) -> None:
    rev = db.connect("rev", autocommit=True)
    rev.execute("SELECT * FROM fl.register_unit_joined(%s, %s, 'the plan', '佳政办发〔2021〕2号', %s)", (unit, on, key))
    rev.close()


def test_registering_the_date_in_force_does_not_change_months_payable(ledger_db: LedgerDB) -> None:
    """The red team's case: 1,000,000.00 collected on 2 January 2024, 50,000.00 paid each month; as of
    31 March 16.77 (daily since 2 January) before and after registering 2021-01-01 — and after each
    later registration of another date on or before the first figure (the latest is in force)."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("n9-c", "2024-01-02", UNIT, "1000000.00"))
    for m in ("01", "02", "03"):
        post(fin, pay_from_special(f"n9-p{m}", f"2024-{m}-25", UNIT, "50000.00"))
    before = _monitor(ledger_db)
    assert before[:2] == ("16.77", "daily_since_first_day"), before
    for i, on in enumerate(("2021-01-01", "2022-06-30", "2023-12-31", "2024-01-02")):
        _later(ledger_db, on, f"n9-{i}")
        assert _monitor(ledger_db) == before, on
    assert verdict(ledger_db) == {}


def test_a_red_county_registered_years_before_its_figures_stays_red_in_january_and_march(ledger_db: LedgerDB) -> None:
    """200,000.00 collected on 2 January 2024, 50,000.00 paid on the 25th of each month. With 2021-01-01
    registered: as of 31 January the daily basis since 2 January (never ÷ 12): 150,000 ÷ (50,000 × 365 ÷
    (12 × 30)) = 2.96, red; as of 31 March 0.99, red; `monitor` exits 3 both times (on 0157's basis:
    36.00 "excess" in January, 4.00 yellow in March, exit 0)."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("n9r-c", "2024-01-02", UNIT, "200000.00"))
    post(fin, pay_from_special("n9r-p01", "2024-01-25", UNIT, "50000.00"))
    _later(ledger_db, "2021-01-01", "n9r")
    assert _monitor(ledger_db, "2024-01-31") == ("2.96", "daily_since_first_day", "red", 3)
    for m in ("02", "03"):
        post(fin, pay_from_special(f"n9r-p{m}", f"2024-{m}-25", UNIT, "50000.00"))
    assert _monitor(ledger_db, "2024-03-31") == ("0.99", "daily_since_first_day", "red", 3)
    assert verdict(ledger_db) == {}


def _derived_first_day(db: LedgerDB, unit: str, book: str = "RES") -> dt.date:
    """The first day re-derived from the journal alone (not through ledger.store.monitor): the later of
    the unit's joining date as the region file registered it and the earliest date of a posting on one
    of its fund figures in the book (the pooled component's net assets, revenue and expenditure)."""
    c = db.admin()
    joined = c.execute("SELECT joined_on FROM fl.unit_joined WHERE unit = %s", (unit,)).fetchone()["joined_on"]
    first = c.execute(
        """SELECT min(p.entry_date) AS d FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
             JOIN fl.chart ch ON ch.code = a.chart_code JOIN fl.book b ON b.code = a.book
              AND a.component = b.pooled_component
            WHERE a.unit = %s AND a.book = %s AND ch.kind IN ('net_assets', 'revenue', 'expenditure')""",
        (unit, book)).fetchone()["d"]
    return max(joined, first)


def _expected(surplus: int, spent_since: int, last12: int, first: dt.date, as_of: dt.date) -> str:
    """BRIEF §5 by hand, in fen: the daily basis while the ledger holds less than 12 months of the unit."""
    from decimal import Decimal
    from fractions import Fraction

    from ledger.core.monitor import year_before

    if first <= year_before(as_of):
        monthly = Fraction(last12, 12)
    else:
        monthly = Fraction(spent_since * 365, 12 * ((as_of - first).days + 1))
    return str(Decimal(f"{round(Fraction(surplus * 100) / monthly)}E-2"))


def test_months_payable_agree_across_two_years_with_a_first_day_derived_from_the_journal(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A county the region file registers as joined on 2021-01-01 whose figures begin on 1 October 2023:
    2,000,000.00 collected then, 100,000.00 paid on the 15th of each month to December 2024. At month
    ends over two years the monitor, the forecast's origin and the chart agree (one basis), the figure is
    BRIEF §5's computed by hand from a first day re-derived from the journal (1 October 2023: the daily
    basis to 30 September 2024, the last 12 months from 1 October 2024 — never ÷ 12 over a short span),
    and the verdict is whole."""
    _register(ledger_db, tmp_path, "2021-01-01")
    fin = ledger_db.connect("fin")
    months = [dt.date(2023, m, 15) for m in (10, 11, 12)] + [dt.date(2024, m, 15) for m in range(1, 13)]
    rows = post(fin, collect("x-c", "2023-10-01", NEW, "2000000.00"),
                *[pay_from_special(f"x-p{d:%Y%m}", d.isoformat(), NEW, "100000.00") for d in months])
    fin.commit()
    assert all(r["status"] == "posted" for r in rows), rows
    from ledger.core.monitor import year_before

    first = _derived_first_day(ledger_db, NEW)
    assert first == dt.date(2023, 10, 1)
    for end in ("2023-10-31", "2023-12-31", "2024-01-31", "2024-06-30", "2024-09-30", "2024-10-31", "2024-12-31"):
        as_of = dt.date.fromisoformat(end)
        paid = [d for d in months if d <= as_of]
        last12 = [d for d in paid if d > year_before(as_of)]
        want = _expected(200_000_000 - 10_000_000 * len(paid), 10_000_000 * len(paid), 10_000_000 * len(last12),
                         first, as_of)
        got = _agree(ledger_db, end)
        assert got[0] == want, (end, got, want)
        assert got[1] == ("daily_since_first_day" if as_of < dt.date(2024, 10, 1) else "last_12_months"), (end, got)
    assert verdict(ledger_db) == {}
