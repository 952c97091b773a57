"""ATTACK15 (e): the monitor and the performance review give one unit two balance rates for the
same year — V4's class, through the adjustment fund.

ATTACK14 V4 made the monitor read C's receipts as the shortfall rule does: the register clearings
of government-share items (whatever account their entry credits — "a late adjustment-fund
allocation clears on 4401, which the account-based reading missed too") and the year's in-year
allocations. The performance review (``report performance``, 当期结余率 balance_rate, and its
revenue execution) still reads them by account: it leaves out 4101.shortfall ("shortfall receipts,
which settle an earlier year") but counts 4401, so a late allocation for 2023 arriving in 2024 —
which settles 2023's government share exactly as a government payment does — is 2024 revenue in
the performance review and not in the monitor or the shortfall rule. At 31 December 2024 the
monitor says 230822's balance rate is 10.00 %, the performance review a different figure, and the
revenue the review scores is not the revenue C is computed from. The forecast (``subsidies``
include 4401) projects the late allocation forward as recurring subsidy for the same reason.

Fixed when every report reads the year's receipts through one definition (the rule's: the
clearings of government-share items and the year's allocations), or says which it uses and
reconciles them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post
from tests.security.test_adjfund import _fund, _year_with_gaps

pytestmark = pytest.mark.db


def test_a15_monitor_and_performance_agree_on_the_balance_rate(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    _year_with_gaps(ledger_db)                       # 2023: 230822 gap 600, 230881 gap 200
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r
    fin = ledger_db.connect("fin", autocommit=True)
    late = fin.execute("SELECT unit, amount FROM fl.adjfund_allocate(2023, 'RES', 40000, '2024-02-01', 'late1')"
                       ).fetchall()
    assert {x["unit"]: x["amount"] for x in late}["230822"] > 0, late
    post(fin, entry("r24", "2024-03-01", "RES", leg("1003", "230822", "D", "1000.00", "special"),
                    leg("4001", "230822", "C", "1000.00")),
         entry("e24", "2024-04-30", "RES", leg("5001.inpatient", "230822", "D", "900.00"),
               leg("1003", "230822", "C", "900.00", "special")))
    budget = tmp_path / "budget_2024.csv"
    budget.write_text("year,unit,book,line,amount\n2024,230822,RES,4001,1000.00\n2024,230822,RES,5001,900.00\n",
                      "utf-8")
    r = ledger_db.cli("budget", "import", str(budget), user="rev")
    assert r.exit_code == 0, r
    mon = ledger_db.cli("monitor", "--as-of", "2024-12-31", "--json", user="aud")
    assert mon.exit_code in (0, 3), mon            # 3: the monitor's warnings
    units = mon.json()["rows"]
    m = next(u for u in units if u["unit"] == "230822" and u["book"] == "RES")
    perf = ledger_db.cli("report", "performance", "--year", "2024", "--json", user="aud")
    assert perf.exit_code == 0, perf
    p = next(x for x in perf.json()["sections"][0]["rows"]
             if x["unit"] == "230822" and x["indicator"] == "balance_rate")
    assert m["balance_rate"] is not None
    assert float(p["value"]) == pytest.approx(float(m["balance_rate"]), abs=0.01), (
        f"31 December 2024, unit 230822: the monitor's balance rate is {m['balance_rate']} % (current balance "
        f"{m['current_balance']} of revenue {m['year_revenue']}), the performance review's {p['value']} % "
        f"({p.get('evidence')}): the late adjustment-fund allocation for 2023 ({late}) is 2024 revenue in one "
        f"and a settlement of 2023's government share in the other")
