"""The city-wide budget, an adjustment, the 略有结余 check and the annual plan, by hand.

Residents' book RES, budget 2025, three units (all amounts yuan):

    line            230800 市本级   230822 桦南县   230881 同江市   city total
    4001 征缴收入      300,000.00  1,000,000.00    500,000.00   1,800,000.00
    4101 财政补贴               —    200,000.00             —     200,000.00
    5001 待遇支出      320,000.00  1,100,000.00    450,000.00   1,870,000.00
    5101 其他支出               —     40,000.00             —      40,000.00
    revenue            300,000.00  1,200,000.00    500,000.00   2,000,000.00
    expenditure        320,000.00  1,140,000.00    450,000.00   1,910,000.00
    balance            −20,000.00     60,000.00     50,000.00      90,000.00

略有结余, range 0–5 % of revenue (the default):
    230800: balance −20,000 < 0                      → planned_deficit (rate −20,000 ÷ 300,000
            = −6.666…, shown −6.67)
    230822: 60,000 ÷ 1,200,000 = 5.00 % (= the top)  → within range, no finding
    230881: 50,000 ÷   500,000 = 10.00 % > 5 %       → surplus_above_range (rate 10.00)
    city:   90,000 ÷ 2,000,000 = 4.50 %              → within range

Adjustment (预算调整) of 230822: 5001 1,100,000.00 → 1,150,000.00, reason given.
    version 2: expenditure 1,190,000.00, balance 10,000.00 = 0.83 % (10,000 ÷ 1,200,000 =
    0.8333…) → within range; history: v1 (import), v2 (adjusted, reason, 5001 before/after).
    City after: expenditure 1,960,000.00, balance 40,000.00 = 2.00 %; line 5001 city
    1,920,000.00.

Annual plan of 230822 by quarter: expenditure Q1 300,000.00, Q2 280,000.00,
Q3 280,000.00, Q4 290,000.00 (= 1,150,000.00, the adjusted 5001; 5101 is not planned).
    A Q1 request's justification: budget for the quarter 300,000.00 (plan), where annual ÷ 4
    would be 1,190,000 ÷ 4 = 297,500.00. 230881 has no plan: 450,000 ÷ 4 = 112,500.00.
    Pre-allocation (3 months, budget basis, nothing held): 230822 target = the plan's Q1 =
    300,000.00 (not 3 × 1,190,000 ÷ 12 = 297,500.00); 230881 3 × 37,500.00 = 112,500.00.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

BUDGET = """year,unit,book,line,amount
2025,230800,RES,4001,"300,000.00"
2025,230800,RES,5001,"320,000.00"
2025,230822,RES,4001,"1,000,000.00"
2025,230822,RES,4101,"200,000.00"
2025,230822,RES,5001,"1,100,000.00"
2025,230822,RES,5101,"40,000.00"
2025,230881,RES,4001,"500,000.00"
2025,230881,RES,5001,"450,000.00"
"""
PLAN = """year,unit,book,period,kind,amount
2025,230822,RES,Q1,expenditure,"300,000.00"
2025,230822,RES,Q2,expenditure,"280,000.00"
2025,230822,RES,Q3,expenditure,"280,000.00"
2025,230822,RES,Q4,expenditure,"290,000.00"
"""


def _codes(checks: list[dict]) -> set[tuple[str, str, str | None]]:
    return {(c["scope"], c["code"], c["rate"]) for c in checks}


def test_city_budget_adjustment_and_plan(ledger_db, tmp_path: Path) -> None:
    f = tmp_path / "budget_2025.csv"
    f.write_text(BUDGET, "utf-8")
    imp = ledger_db.cli("budget", "import", str(f), "--json", user="rev")
    assert imp.exit_code == 0, imp
    by_unit = {b["unit"]: b for b in imp.json()["budgets"]}
    assert {u: _codes(b["checks"]) for u, b in by_unit.items()} == {
        "230800": {("230800", "planned_deficit", "-6.67")},
        "230822": set(),
        "230881": {("230881", "surplus_above_range", "10.00")}}

    city = ledger_db.cli("budget", "city", "--year", "2025", "--json", user="rev")
    assert city.exit_code == 0, city
    [res] = city.json()["books"]
    lines = {ln["line"]: (ln["by_unit"], ln["city"]) for ln in res["lines"]}
    assert lines["4001"] == ({"230800": "300000.00", "230822": "1000000.00", "230881": "500000.00"}, "1800000.00")
    assert lines["4101"][1] == "200000.00" and lines["4101"][0]["230800"] == "0.00"
    assert lines["5001"][1] == "1870000.00" and lines["5101"][1] == "40000.00"
    assert res["city_totals"] == {"revenue": "2000000.00", "expenditure": "1910000.00", "balance": "90000.00"}
    assert [c for c in res["checks"] if c["scope"] == "city"] == []
    assert _codes(res["checks"]) == {("230800", "planned_deficit", "-6.67"), ("230881", "surplus_above_range", "10.00")}
    text = ledger_db.cli("budget", "show", "--year", "2025", user="rev", env={"FUNDLEDGER_LANG": "zh"})
    assert "略有结余" in text.stdout and "10.00 %" in text.stdout

    adj = ["budget", "adjust", "--year", "2025", "--unit", "230822", "--book", "RES", "--set", "5001=1,150,000.00",
           "--reason", "住院人次增长, 县医保局申请追加", "--key", "adj-2025-230822-1", "--json"]
    a = ledger_db.cli(*adj, user="rev")
    assert a.exit_code == 0, a
    assert (a.json()["version"], a.json()["status"], a.json()["checks"]) == (2, "adjusted", [])
    again = ledger_db.cli(*adj, user="rev")
    assert (again.json()["version"], again.json()["status"]) == (2, "duplicate")
    other = ledger_db.cli(*[x if x != "5001=1,150,000.00" else "5001=1,160,000.00" for x in adj], user="rev")
    assert other.exit_code != 0 and "adj-2025-230822-1" in other.stderr
    assert ledger_db.cli(*adj, user="o22").exit_code != 0          # officers do not adjust budgets

    hist = ledger_db.cli("budget", "history", "--year", "2025", "--unit", "230822", "--book", "RES", "--json",
                         user="o22").json()
    assert [(h["version"], h["adjusted"], h["expenditure"], h["balance"]) for h in hist] == [
        (1, False, "1140000.00", "60000.00"), (2, True, "1190000.00", "10000.00")]
    assert hist[1]["reason"] == "住院人次增长, 县医保局申请追加" and hist[1]["adjusted_by"] == "rev"
    assert hist[1]["changes"] == [{"component": "", "line": "5001", "before": "1100000.00", "after": "1150000.00"}]

    after = ledger_db.cli("budget", "city", "--year", "2025", "--json", user="rev").json()["books"][0]
    assert after["city_totals"] == {"revenue": "2000000.00", "expenditure": "1960000.00", "balance": "40000.00"}
    assert {ln["line"]: ln["city"] for ln in after["lines"]}["5001"] == "1920000.00"
    assert Decimal(40000) * 100 / Decimal(2000000) == Decimal("2")   # within 0–5 %: no city finding
    assert [c for c in after["checks"] if c["scope"] == "city"] == []

    p = tmp_path / "plan_2025.csv"
    p.write_text(PLAN, "utf-8")
    pl = ledger_db.cli("budget", "plan", "import", str(p), "--json", user="rev")
    assert pl.exit_code == 0, pl
    assert pl.json() == [{"year": 2025, "unit": "230822", "book": "RES", "version": 1, "status": "created"}]

    # Row security: an officer sees only their own unit's plan.
    assert ledger_db.cli("budget", "plan", "show", "--year", "2025", "--json", user="o81").json() == []
    assert [p["unit"] for p in ledger_db.cli("budget", "plan", "show", "--year", "2025", "--json",
                                             user="o22").json()] == ["230822"]

    pre = ledger_db.cli("preallocate", "--year", "2025", "--date", "2025-01-05", "--dry-run", "--json",
                        user="rev")
    assert pre.exit_code == 0, pre
    got = {r["unit"]: (r["target"], r["target_basis"]) for r in pre.json() if r["book"] == "RES"}
    assert got["230822"] == ("300000.00", "plan") and got["230881"] == ("112500.00", "budget")

    for user, unit, want, basis in (("o22", "230822", "300000.00", "plan"),
                                    ("o81", "230881", "112500.00", "annual_div_4")):
        r = ledger_db.cli("request", "submit", "--year", "2025", "--quarter", "1", "--amount", "1000.00",
                          "--key", f"q1-{unit}", "--json", user=user)
        assert r.exit_code == 0, r
        j = r.json()["justification"]
        assert (j["budget_for_quarter"], j["quarter_basis"]) == (want, basis)

    # The execution report: no actuals yet, so every line is 0 % executed; the city block
    # comes first with the totals above, and each result line carries its checks.
    rep = ledger_db.cli("report", "city-budget", "--year", "2025", "--json", "--xlsx", str(tmp_path / "c.xlsx"),
                        user="rev")
    assert rep.exit_code == 0, rep
    rows = rep.json()["sections"][0]["rows"]
    city_rows = {r["line"]: r for r in rows if r["unit"] == "all"}
    assert (city_rows["5001"]["budget"], city_rows["5001"]["actual"], city_rows["5001"]["executed_pct"]) == \
        ("1920000.00", "0.00", "0.00")
    assert (city_rows["result"]["budget"], city_rows["result"]["flag"]) == ("40000.00", None)
    assert rows[0]["unit"] == "all" and len(city_rows) == 7      # 4 lines, 2 totals, result
    flags = {r["unit"]: r["flag"] for r in rows if r["line"] == "result"}
    assert flags == {"all": None, "230800": "planned_deficit", "230822": None, "230881": "surplus_above_range"}
    assert (tmp_path / "c.xlsx").stat().st_size > 0

    # (ATTACK20b M4's sweep) a re-run of adjustment 1 after another one replaced it is still a duplicate
    # (nothing written) but never says its version is the budget in force
    swap = {"adj-2025-230822-1": "adj-2025-230822-2", "5001=1,150,000.00": "5001=1,170,000.00"}
    assert ledger_db.cli(*[swap.get(x, x) for x in adj][:-1], user="rev").exit_code == 0          # version 3
    rerun = ledger_db.cli(*adj[:-1], user="rev", env={"FUNDLEDGER_LANG": "en"})
    assert rerun.exit_code == 0 and "version 2" in rerun.stdout and "version 3 is in force" in rerun.stdout, rerun
    assert "is now version 2" not in rerun.stdout
