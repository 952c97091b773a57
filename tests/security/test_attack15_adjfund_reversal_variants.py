"""ATTACK15 A4 and A7, the class: a figure read by entry kind miscounts once an entry of that kind
is reversed, and every report reads "the year's receipts that are not C" by the rule's one
definition (``fl.year_figures_at``, migration 0114).

Variants of ``test_attack15_adjfund_reversal`` / ``test_attack15_balance_rate_reports``:

* after an in-year allocation's reversal, the caps of the corrective allocation no longer count
  the reversed one (``fl.adjfund_allocate`` reads v3's adjustment_receipts), and the independent
  verdict (``ledger.core.fund_rules``), which re-derives those caps, finds nothing;
* the close made after a reversed allocation stores the books' revenue and C, and the verdict's
  re-derivation of the close agrees;
* an in-year allocation not reversed: the performance review scores the revenue C is computed
  from (the books' less the allocation), so its balance rate is the monitor's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirmed, entry, leg, post
from tests.security.test_adjfund import _fund, _year_with_gaps
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db


def _reversed_allocation(db: LedgerDB) -> None:
    """2023: 230822 gap 600, 230881 gap 200; 400.00 allocated on 1 May (300 / 100), 230822's reversed."""
    _fund(db)
    _year_with_gaps(db)
    fin = db.connect("fin", autocommit=True)
    rows = fin.execute("SELECT unit, amount, entry_id FROM fl.adjfund_allocate(2023, 'RES', 40000, '2023-05-01', 'a1')"
                       ).fetchall()
    mine = next(r for r in rows if r["unit"] == "230822")
    assert mine["amount"] == 30000
    confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'recorded by mistake', '2023-05-02', 'a15v-rev')",
              (mine["entry_id"],), checker="rev")


def test_a15_the_corrective_allocation_is_capped_without_the_reversed_one(ledger_db: LedgerDB) -> None:
    _reversed_allocation(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    # Gaps after the reversal: 230822 600 (nothing allocated now), 230881 200 − 100 = 100: 700 in all.
    # Counting the reversed allocation the caps were 300 + 100 = 400, and 700 was refused.
    got = {r["unit"]: r["amount"] for r in fin.execute(
        "SELECT unit, amount FROM fl.adjfund_allocate(2023, 'RES', 70000, '2023-06-01', 'a2')").fetchall()}
    assert got == {"230822": 60000, "230881": 10000}, got
    assert verdict(ledger_db) == {}


def test_a15_the_close_after_a_reversed_allocation_reads_the_books(ledger_db: LedgerDB) -> None:
    _reversed_allocation(ledger_db)
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r
    row = ledger_db.admin().execute(
        "SELECT * FROM fl.year_figures_v3(2023, 'RES') WHERE unit = '230822'").fetchone()
    assert (row["revenue"], row["adjustment_receipts"]) == (100000, 0), row
    s = ledger_db.cli("report", "shortfall", "--year", "2023", "--json", user="aud")
    assert s.exit_code == 0, s
    mine = next(x for x in s.json() if x["unit"] == "230822" and x["book"] == "RES")
    assert (mine["current_balance"], mine["government_share"]) == ("-600.00", "600.00"), mine
    assert verdict(ledger_db) == {}


def test_a15_an_in_year_allocation_is_not_revenue_in_the_performance_review(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    _fund(ledger_db)
    fin = ledger_db.cached("fin")
    post(fin, entry("o00", "2023-12-31", "RES", leg("1003", "230800", "D", "100000.00", "special"),
                    leg("3001", "230800", "C", "100000.00")),
         entry("r24", "2024-03-01", "RES", leg("1003", "230822", "D", "1000.00", "special"),
               leg("4001", "230822", "C", "1000.00")),
         entry("e24", "2024-04-30", "RES", leg("5001.inpatient", "230822", "D", "1300.00"),
               leg("1003", "230822", "C", "1300.00", "special")))
    got = ledger_db.connect("fin", autocommit=True).execute(
        "SELECT unit, amount FROM fl.adjfund_allocate(2024, 'RES', 20000, '2024-05-01', 'in24')").fetchall()
    assert {r["unit"]: r["amount"] for r in got} == {"230822": 20000}, got
    budget = tmp_path / "budget_2024.csv"
    budget.write_text("year,unit,book,line,amount\n2024,230822,RES,4001,1000.00\n2024,230822,RES,5001,1300.00\n",
                      "utf-8")
    assert ledger_db.cli("budget", "import", str(budget), user="rev").exit_code == 0
    mon = ledger_db.cli("monitor", "--as-of", "2024-12-31", "--json", user="aud")
    assert mon.exit_code in (0, 3), mon
    m = next(u for u in mon.json()["rows"] if u["unit"] == "230822" and u["book"] == "RES")
    perf = ledger_db.cli("report", "performance", "--year", "2024", "--json", user="aud")
    assert perf.exit_code == 0, perf
    rows = perf.json()["sections"][0]["rows"]
    p = next(x for x in rows if x["unit"] == "230822" and x["indicator"] == "balance_rate")
    assert m["year_revenue"] == "1000.00", m          # the books' 1,200.00 less the fund's 200.00
    assert float(p["value"]) == pytest.approx(float(m["balance_rate"]), abs=0.01), (m, p)
    ex = next(x for x in rows if x["unit"] == "230822" and x["indicator"] == "revenue_execution")
    assert str(ex["evidence"]).startswith("1,000.00 ÷"), ex
