"""ATTACK17 E1: in the employees' book the performance review's balance rate (当期结余率) is the
whole book's, the monitor's (and the shortfall rule's C) the pooled fund's — two figures for one
unit and year, and the review scores and ranks the counties on the wrong one.

docs/reports.md (report performance): "the revenue scored is the revenue C is computed from, so
the balance rate is the monitor's". In the EMP book C is the pooled component's (BRIEF §5: "for
employees, the pooled component"); the monitor's ``year_revenue`` / ``current_balance`` /
``balance_rate`` are the pooled fund's. ``report performance`` adds the personal-account
component's revenue and expenditure to it: in the demo (2023, 桦南县 230822, EMP) the monitor says
5.12 %, the review 8.33 % (153,921,230.42 − 141,098,392.79 of the whole book, against the pooled
fund's 107,627,291.48 of revenue) and scores the unit 83.35 instead of 99.4 on the indicator, for a
surplus "above the range" that the pooled fund does not have; every EMP unit of the demo differs. Personal-account money
(个人账户) is the insured's own and never the pool's surplus (不得相互挤占).

Safe behaviour asserted: for a unit of the employees' book, the performance review's balance rate
at a year equals the monitor's at 31 December of that year (the same revenue and C).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

U = "230822"


def test_e1_performance_and_monitor_agree_on_the_emp_balance_rate(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    # 2023, employees' book: pooled 1,000 in, 950 out (C = 50, 5 %); personal 1,000 in, nothing out.
    post(fin,
         entry("e1-rp", "2023-03-01", "EMP", leg("1003", U, "D", "1000.00", "special", "pooled"),
               leg("4001", U, "C", "1000.00", component="pooled")),
         entry("e1-rq", "2023-03-01", "EMP", leg("1003", U, "D", "1000.00", "special", "personal"),
               leg("4001", U, "C", "1000.00", component="personal")),
         entry("e1-ep", "2023-06-30", "EMP", leg("5001.inpatient", U, "D", "950.00", component="pooled"),
               leg("1003", U, "C", "950.00", "special", "pooled")))
    budget = tmp_path / "budget_2023.csv"
    budget.write_text("year,unit,book,line,amount,component\n"
                      f"2023,{U},EMP,4001,1000.00,pooled\n2023,{U},EMP,5001,950.00,pooled\n"
                      f"2023,{U},EMP,4001,1000.00,personal\n", "utf-8")
    r = ledger_db.cli("budget", "import", str(budget), user="rev")
    assert r.exit_code == 0, r

    mon = ledger_db.cli("monitor", "--as-of", "2023-12-31", "--unit", U, "--book", "EMP", "--json", user="aud")
    assert mon.exit_code in (0, 3), mon
    m = next(x for x in mon.json()["rows"] if x["unit"] == U and x["book"] == "EMP")
    assert m["balance_rate"] == "5.00", m          # the pooled fund's: 50 of 1,000

    perf = ledger_db.cli("report", "performance", "--year", "2023", "--book", "EMP", "--json", user="aud")
    assert perf.exit_code == 0, perf
    p = next(x for s in perf.json()["sections"] for x in s["rows"]
             if x["unit"] == U and x["indicator"] == "balance_rate")
    # On main: 52.50 ((2,000 − 950) ÷ 2,000: the personal accounts' money counted as the pool's surplus)
    assert p["value"] == m["balance_rate"], (
        f"31 December 2023, {U} EMP: the monitor's balance rate is {m['balance_rate']} % (C {m['current_balance']} "
        f"of revenue {m['year_revenue']}), the performance review's {p['value']} % ({p['evidence']})")
