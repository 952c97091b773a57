"""A unit with actuals and no budget for the year (ATTACK17b F5): its block is in budget execution
and the city budget in every output (JSON, the Chinese table at 80 columns, CSV, XLSX), every line
unbudgeted with budget 0, and the city block's totals are the whole city's — the monitor's all row.

The year: 230822 and 230881 each collect 1,000.00 and pay 900.00 in 2024; only 230822 has a 2024
budget (1,000.00 revenue on 4001, 900.00 expenditure on 5001).
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db


@pytest.fixture
def year(ledger_db: LedgerDB, tmp_path: Path) -> LedgerDB:
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
    return ledger_db


def _rows(ledger_db: LedgerDB, *args: str) -> list[dict[str, str]]:
    r = ledger_db.cli("report", *args, "--year", "2024", "--book", "RES", "--json", user="aud")
    assert r.exit_code == 0, r
    return [x for s in r.json()["sections"] for x in s["rows"]]


def test_the_unit_without_a_budget_has_its_block_every_line_unbudgeted(year: LedgerDB) -> None:
    rows = [(r["line"], r["budget"], r["actual"], r["executed_pct"], r["variance"], r["flag"])
            for r in _rows(year, "budget-execution") if r["unit"] == "230881"]
    assert rows == [
        ("4001", "0.00", "1000.00", None, "1000.00", "unbudgeted"),
        ("revenue_total", "0.00", "1000.00", None, "1000.00", None),
        ("5001.inpatient", "0.00", "900.00", None, "900.00", "unbudgeted"),
        ("expenditure_total", "0.00", "900.00", None, "900.00", None),
        ("result", "0.00", "100.00", None, "100.00", None)]
    # --unit reads the same block
    assert [r["unit"] for r in year.cli("report", "budget-execution", "--year", "2024", "--unit", "230881",
                                        "--json", user="aud").json()["sections"][0]["rows"]] == ["230881"] * 5


def test_the_city_block_is_the_whole_city_and_matches_the_monitor(year: LedgerDB) -> None:
    rows = _rows(year, "city-budget")
    city = {r["line"]: r for r in rows if r["unit"] == "all"}
    assert [(k, city[k]["budget"], city[k]["actual"]) for k in ("revenue_total", "expenditure_total", "result")] == [
        ("revenue_total", "1000.00", "2000.00"), ("expenditure_total", "900.00", "1800.00"), ("result", "100.00", "200.00")]
    # the city block sums the units' lines as shown: 230822's 5001 (budgeted) and 230881's
    # 5001.inpatient (budget 0 — no unit budgeted it: unbudgeted)
    assert (city["5001"]["actual"], city["5001.inpatient"]["actual"], city["5001.inpatient"]["flag"]) == (
        "900.00", "900.00", "unbudgeted")
    assert {r["unit"] for r in rows} == {"all", "230822", "230881"}
    m = year.cli("monitor", "--as-of", "2024-12-31", "--book", "RES", "--json", user="aud").json()
    [all_row] = [x for x in m["consolidated"] if x["unit"] == "all"]
    assert (all_row["year_revenue"], all_row["current_balance"]) == (city["revenue_total"]["actual"],
                                                                    city["result"]["actual"])


def test_table_csv_and_xlsx_show_the_block(year: LedgerDB, tmp_path: Path) -> None:
    zh = year.cli("--lang", "zh", "report", "budget-execution", "--year", "2024", "--book", "RES", user="aud",
                  env={"COLUMNS": "80"})
    assert zh.exit_code == 0, zh
    assert "230881" in zh.stdout and "未列入预算" in zh.stdout and "unbudgeted" not in zh.stdout
    assert "…" not in zh.stdout
    assert max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
               for line in zh.stdout.splitlines()) <= 80
    out = tmp_path / "b.csv"
    assert year.cli("report", "city-budget", "--year", "2024", "--csv", str(out), user="aud").exit_code == 0
    with out.open(encoding="utf-8-sig") as f:
        got = list(csv.reader(f))
    assert any(r[:1] == ["230881"] and "5001.inpatient" in r for r in got)
    xlsx = tmp_path / "b.xlsx"
    assert year.cli("--lang", "zh", "report", "city-budget", "--year", "2024", "--xlsx", str(xlsx),
                    user="aud").exit_code == 0
    values = [[c.value for c in r] for r in load_workbook(xlsx).active.iter_rows()]
    assert any(v[0] == "230881" and "未列入预算" in v for v in values)
