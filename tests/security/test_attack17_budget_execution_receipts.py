"""ATTACK17 E2: the budget execution report (预算执行情况表) counts the government's payment of an
earlier year's shortfall share as this year's fiscal-subsidy revenue: its revenue executed, its
subsidy line and its year result disagree with the performance review's, the monitor's and the
shortfall rule's for the same unit and year.

BRIEF §5: the share of year Y paid in Y+1 "settles Y's item: it is not revenue of the year it
arrives for computing that year's C"; "the reports agree with each other at every date". Since 0104
one definition (``fl.government_receipts`` / ``fl.year_figures_at``) is read by the monitor, the
forecast, ``report funding`` and ``report performance`` (docs/reports.md, "One definition of the
government's receipts"); ``report budget-execution`` and ``report city-budget`` still read the
postings on 4101, the receipt included. In the demo (桦川县 230826, RES, 2024) the government pays
2023's 6,390,682.88 in January 2024: budget execution says 4101 executed 103,990,682.88 of 97.6 M
(106.55 %), revenue 159,990,682.88 (104.16 %) and a result of −8,405,373.44; the performance review
scores revenue executed 153,600,000.00 (100.00 %), the rule's C is −14,796,056.32. A county's
2024 subsidy budget looks over-executed, and its 2024 deficit smaller, by money that belongs to 2023.

Safe behaviour asserted: for the unit and year, budget execution's revenue total is the rule's
revenue (the receipts left out, or shown on a line of their own and out of the total), so its
result is the rule's C and its revenue executed is the performance review's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

U = "230822"


def test_e2_budget_execution_leaves_an_earlier_years_government_share_out_of_the_year(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    # 2023: revenue 1,000, expenditure 1,600 → gap 600, no surplus: the government owes 600.
    post(fin, entry("o00", "2022-12-31", "RES", leg("1003", "230800", "D", "100000.00", "special"),
                    leg("3001", "230800", "C", "100000.00")),
         entry("c23", "2023-02-01", "RES", leg("1003", U, "D", "1000.00", "special"), leg("4001", U, "C", "1000.00")),
         entry("e23", "2023-04-30", "RES", leg("5001.inpatient", U, "D", "1600.00"),
               leg("1003", U, "C", "1600.00", "special")))
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r
    # 2024: the government pays 2023's 600 in January; the year's own revenue 1,000, expenditure 900.
    r = ledger_db.cli("government", "pay", "--unit", U, "--book", "RES", "--amount", "600.00", "--date", "2024-01-20",
                      "--key", "gp23", user="fin")
    assert r.exit_code == 0, r
    post(fin, entry("c24", "2024-03-01", "RES", leg("1003", U, "D", "1000.00", "special"), leg("4001", U, "C", "1000.00")),
         entry("e24", "2024-04-30", "RES", leg("5001.inpatient", U, "D", "900.00"),
               leg("1003", U, "C", "900.00", "special")))
    budget = tmp_path / "budget_2024.csv"
    budget.write_text(f"year,unit,book,line,amount\n2024,{U},RES,4001,1000.00\n2024,{U},RES,4101,0.01\n"
                      f"2024,{U},RES,5001,900.00\n", "utf-8")
    r = ledger_db.cli("budget", "import", str(budget), user="rev")
    assert r.exit_code == 0, r

    sf = ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="aud")
    assert sf.exit_code == 0, sf
    rule = next(x for x in sf.json() if x["unit"] == U and x["book"] == "RES")
    assert (rule["revenue"], rule["current_balance"], rule["share_receipts"]) == ("1000.00", "100.00", "600.00"), rule

    perf = ledger_db.cli("report", "performance", "--year", "2024", "--unit", U, "--json", user="aud")
    assert perf.exit_code == 0, perf
    p = next(x for s in perf.json()["sections"] for x in s["rows"]
             if x["unit"] == U and x["indicator"] == "revenue_execution")

    be = ledger_db.cli("report", "budget-execution", "--year", "2024", "--unit", U, "--book", "RES", "--json",
                       user="aud")
    assert be.exit_code == 0, be
    rows = {x["line"]: x for s in be.json()["sections"] for x in s["rows"] if x["unit"] == U}
    got = (rows["revenue_total"]["actual"], rows["result"]["actual"], rows["revenue_total"]["executed_pct"])
    # On main: ('1600.00', '700.00', '160.00'): 2023's government share is 2024's revenue here only.
    assert got == (rule["revenue"], rule["current_balance"], p["value"]), (
        f"{U} RES 2024: budget execution's revenue / result / executed % {got}; the shortfall rule's revenue "
        f"{rule['revenue']} and C {rule['current_balance']}, the performance review's revenue executed {p['value']} % "
        f"({p['evidence']}); the difference is 2023's government share received in 2024 ({rule['share_receipts']})")


def test_e9_budget_execution_totals_keep_the_actuals_of_unbudgeted_lines(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """ATTACK17 E9 (beside E2, same report): ``revenue_total`` / ``expenditure_total`` / ``result`` of budget
    execution add only the actuals that fall on a budget line. Revenue or spending on a line the
    budget did not plan — interest 4201 (in the demo 1,188,112.99 for 市本级 RES 2024), the
    adjustment-fund remittance 5301, other expenditure 5401 — is in the income statement, the
    shortfall rule and the performance review, and nowhere in the budget execution report, whose
    result is then better (or worse) than the year's. Safe: every actual is shown (an unbudgeted
    line with budget 0) and the totals equal the income statement's."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, entry("b-o0", "2023-12-31", "RES", leg("1003", "230800", "D", "100000.00", "special"),
                    leg("3001", "230800", "C", "100000.00")),
         entry("b-c", "2024-03-01", "RES", leg("1003", U, "D", "1000.00", "special"), leg("4001", U, "C", "1000.00")),
         entry("b-i", "2024-03-31", "RES", leg("1003", U, "D", "50.00", "special"), leg("4201", U, "C", "50.00")),
         entry("b-e", "2024-04-30", "RES", leg("5001.inpatient", U, "D", "900.00"),
               leg("1003", U, "C", "900.00", "special")),
         entry("b-o", "2024-05-31", "RES", leg("5401", U, "D", "300.00"), leg("1003", U, "C", "300.00", "special")))
    budget = tmp_path / "budget_2024.csv"
    budget.write_text(f"year,unit,book,line,amount\n2024,{U},RES,4001,1000.00\n2024,{U},RES,5001,900.00\n", "utf-8")
    assert ledger_db.cli("budget", "import", str(budget), user="rev").exit_code == 0

    inc = ledger_db.cli("report", "income", "--year", "2024", "--unit", U, "--book", "RES", "--json", user="aud")
    assert inc.exit_code == 0, inc
    totals = {x["code"]: x["total"] for s in inc.json()["sections"] for x in s["rows"]}
    assert (totals["revenue_total"], totals["expenditure_total"], totals["result"]) == ("1050.00", "1200.00", "-150.00")

    be = ledger_db.cli("report", "budget-execution", "--year", "2024", "--unit", U, "--book", "RES", "--json",
                       user="aud")
    assert be.exit_code == 0, be
    rows = {x["line"]: x for s in be.json()["sections"] for x in s["rows"] if x["unit"] == U}
    got = tuple(rows[k]["actual"] for k in ("revenue_total", "expenditure_total", "result"))
    # On main: ('1000.00', '900.00', '100.00') — a surplus of 100 for a year that lost 150
    assert got == ("1050.00", "1200.00", "-150.00"), (got, sorted(rows))
