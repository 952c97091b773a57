"""Year-end final accounts (决算), one unit's worked by hand, then the city's, and their
agreement with the ledger's other reports (trial balance, balance sheet, income).

Residents' book RES, all amounts yuan. 市本级 230800 holds the pool: 1,000,000.00 put
into the special account on 2023-01-05 (Dr 1003 special / Cr 3001), nothing else.

桦南县 230822:

    2023  01-05  opening              Dr 1003 special   / Cr 3001             200,000.00
          03-01  contributions        Dr 1003 special   / Cr 4001             500,000.00
          06-30  inpatient benefits   Dr 5001.inpatient / Cr 1003 special     450,000.00
          close 2023-12-31: C = 500,000 − 450,000 = 50,000; 3001 = 200,000 + 50,000 = 250,000
    2024  01-10  pre-allocation       Dr 1004 county_exp / Cr 1003 special    120,000.00
          03-01  contributions        Dr 1003 special   / Cr 4001             600,000.00
          03-15  central subsidy      Dr 1003 special   / Cr 4101.central     100,000.00
          04-30  inpatient            Dr 5001.inpatient / Cr 1004 county_exp   80,000.00
          06-20  interest             Dr 1003 special   / Cr 4201               3,000.00
          06-30  settlement           Dr 1004 county_exp / Cr 1003 special    500,000.00
          07-31  inpatient            Dr 5001.inpatient / Cr 1004 county_exp  430,000.00
          08-31  outpatient           Dr 5001.outpatient / Cr 1004 county_exp  60,000.00
          09-30  critical illness     Dr 5101 / Cr 1004 county_exp             40,000.00
          close 2024-12-31

230822's final accounts 2024, by hand:

资产负债表 (年初数 = 31 Dec 2023, 年末数 = 31 Dec 2024 after the close)
    1003 财政专户存款  年初 200,000 + 500,000 − 450,000 = 250,000
                       年末 250,000 − 120,000 + 600,000 + 100,000 + 3,000 − 500,000 = 333,000
    1004 支出户存款    年初 0;  年末 120,000 − 80,000 + 500,000 − 430,000 − 60,000 − 40,000 = 10,000
    资产合计 (line 8)  250,000 → 343,000; 负债合计 0 → 0
    3001 一般基金结余  250,000 → 250,000 + 93,000 (the 2024 result, closed into it) = 343,000
    负债和净资产合计 (line 14) 250,000 → 343,000 = 资产合计. Lines: seven asset lines (1001…1201),
    资产合计 8, 2001 9, 2101 10, 负债合计 11, 3001 12, 净资产合计 13, 负债和净资产合计 14.

收支表 (上年数 = 2023, 本年数 = 2024; without the close)
    4001 社会保险费收入  500,000 | 600,000
    4101 财政补贴收入          0 | 100,000
    4201 利息收入              0 |   3,000
    收入合计             500,000 | 703,000
    5001 社会保险待遇支出 450,000 | 80,000 + 430,000 + 60,000 = 570,000
    5101 大病保险支出          0 |  40,000
    支出合计             450,000 | 610,000
    本年收支结余          50,000 |  93,000
    年初基金结余               0 | 250,000
    其他增减 (the opening)  200,000 |       0
    年末基金结余         250,000 | 343,000  (= the balance sheet's net assets at both ends)

收支明细表: 4001 500,000 | 600,000; 4101 0 | 100,000 and 4101.central 0 | 100,000; 4201 0 | 3,000;
    收入合计 500,000 | 703,000; 5001 450,000 | 570,000, 5001.inpatient 450,000 | 510,000,
    5001.outpatient 0 | 60,000; 5101 0 | 40,000; 支出合计 450,000 | 610,000.

同江市 230881 pays 30,000.00 of inpatient benefits on 2024-05-31 from the special account
with nothing of its own there: its share is −30,000 (it draws on the pool). The 2024
close: C = −30,000, S before 0 → the government's share 30,000, owed at the end of 2024.

The city's balance sheet, 31 Dec 2024: 1003 = the physical special account = 1,000,000
(230800) + 333,000 (230822) − 30,000 (230881) = 1,303,000; 1004 10,000; assets 1,313,000;
3001 = 1,000,000 + 343,000 − 30,000 = 1,313,000. The government's share owed: 0 → 30,000.
2024 income: revenue 703,000; expenditure 610,000 + 30,000 = 640,000; result 63,000;
年初 1,250,000 (1,000,000 + 250,000) → 年末 1,313,000. Nothing to eliminate: no 5302/4402.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.db


def run(ledger_db, user: str, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    r = ledger_db.cli(*args, user=user, input=input)
    assert r.exit_code == 0, r
    return r


def post(ledger_db, *entries: dict) -> None:  # type: ignore[no-untyped-def]
    out = run(ledger_db, "fin", "entry", "post", "-", "--json", input=json.dumps(list(entries))).json()
    held = [str(o["held_id"]) for o in out if o["status"] == "held"]
    if held:
        run(ledger_db, "rev", "entry", "confirm", *held)


def move(key: str, date: str, unit: str, dr: str, cr: str, yuan: str) -> dict:
    def leg(ref: str, side: str) -> dict:
        code, _, holder = ref.partition(" ")
        return {"account": code, "unit": unit, "holder": holder or None, "side": side, "amount": yuan}
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [leg(dr, "debit"), leg(cr, "credit")]}


SPECIAL, COUNTY = "1003 special", "1004 county_exp"


def scenario(ledger_db) -> None:  # type: ignore[no-untyped-def]
    post(ledger_db,
         move("pool", "2023-01-05", "230800", SPECIAL, "3001", "1000000.00"),
         move("open22", "2023-01-05", "230822", SPECIAL, "3001", "200000.00"),
         move("c23", "2023-03-01", "230822", SPECIAL, "4001", "500000.00"),
         move("b23", "2023-06-30", "230822", "5001.inpatient", SPECIAL, "450000.00"))
    run(ledger_db, "rev", "close", "year", "--year", "2023", "--date", "2023-12-31")
    post(ledger_db,
         move("pre", "2024-01-10", "230822", COUNTY, SPECIAL, "120000.00"),
         move("c24", "2024-03-01", "230822", SPECIAL, "4001", "600000.00"),
         move("sub", "2024-03-15", "230822", SPECIAL, "4101.central", "100000.00"),
         move("in1", "2024-04-30", "230822", "5001.inpatient", COUNTY, "80000.00"),
         move("int", "2024-06-20", "230822", SPECIAL, "4201", "3000.00"),
         move("set", "2024-06-30", "230822", COUNTY, SPECIAL, "500000.00"),
         move("in2", "2024-07-31", "230822", "5001.inpatient", COUNTY, "430000.00"),
         move("out", "2024-08-31", "230822", "5001.outpatient", COUNTY, "60000.00"),
         move("ci", "2024-09-30", "230822", "5101", COUNTY, "40000.00"),
         move("tj", "2024-05-31", "230881", "5001.inpatient", SPECIAL, "30000.00"))


def lines(report: dict, statement: str, book: str = "RES") -> dict[str, tuple]:
    """code → (line_no, previous, current) of one statement of one fund."""
    [sec] = [s for s in report["sections"] if s["title"].startswith(book) and s["rows"]
             and s["rows"][0]["statement"] == statement]
    return {r["code"]: (r["line_no"], r["previous"], r["current"]) for r in sec["rows"]}


def test_one_units_final_accounts_by_hand(ledger_db, tmp_path: Path) -> None:
    scenario(ledger_db)
    # An open year is refused, naming the command that closes it.
    early = ledger_db.cli("report", "final-accounts", "--year", "2024", "--unit", "230822", user="aud")
    assert early.exit_code != 0 and "close year --year 2024" in early.stderr, early
    run(ledger_db, "rev", "close", "year", "--year", "2024", "--date", "2024-12-31")

    rep = run(ledger_db, "aud", "report", "final-accounts", "--year", "2024", "--unit", "230822", "--json",
              "--xlsx", str(tmp_path / "fa.xlsx"), "--csv", str(tmp_path / "fa.csv"), "--lang", "zh").json()
    assert rep["report"] == "final_accounts" and rep["period"] == "2024"
    assert rep["columns"] == ["statement", "code", "name", "line_no", "previous", "current"]
    assert [s["title_zh"] for s in rep["sections"]] == [
        "城乡居民基本医疗保险基金 资产负债表", "城乡居民基本医疗保险基金 收支表", "城乡居民基本医疗保险基金 收支明细表"]

    bs = lines(rep, "balance_sheet")
    assert bs["1003"] == (3, "250000.00", "333000.00")
    assert bs["1004"] == (4, "0.00", "10000.00")
    assert bs["1001"] == (1, "0.00", "0.00") and bs["1201"] == (7, "0.00", "0.00")
    assert bs["assets_total"] == (8, "250000.00", "343000.00")
    assert bs["liabilities_total"] == (11, "0.00", "0.00")
    assert bs["3001"] == (12, "250000.00", "343000.00")
    assert bs["net_assets_total"] == (13, "250000.00", "343000.00")
    assert bs["liabilities_and_net_assets"] == (14, "250000.00", "343000.00")
    assert "government_share_outstanding" not in bs and "unclosed_result" not in bs

    inc = lines(rep, "income")
    assert inc["4001"][1:] == ("500000.00", "600000.00")
    assert inc["4101"][1:] == ("0.00", "100000.00") and inc["4201"][1:] == ("0.00", "3000.00")
    assert inc["revenue_total"][1:] == ("500000.00", "703000.00")
    assert inc["5001"][1:] == ("450000.00", "570000.00") and inc["5101"][1:] == ("0.00", "40000.00")
    assert inc["expenditure_total"][1:] == ("450000.00", "610000.00")
    assert inc["result"][1:] == ("50000.00", "93000.00")
    assert inc["opening_fund_balance"][1:] == ("0.00", "250000.00")
    assert inc["other_movements"][1:] == ("200000.00", "0.00")
    assert inc["closing_fund_balance"][1:] == ("250000.00", "343000.00")
    assert "4601" not in inc                                     # 待转 lines: the employees' book only

    sch = lines(rep, "schedule")
    assert {c: v[1:] for c, v in sch.items()} == {
        "4001": ("500000.00", "600000.00"), "4101": ("0.00", "100000.00"), "4101.central": ("0.00", "100000.00"),
        "4201": ("0.00", "3000.00"), "revenue_total": ("500000.00", "703000.00"),
        "5001": ("450000.00", "570000.00"), "5001.inpatient": ("450000.00", "510000.00"),
        "5001.outpatient": ("0.00", "60000.00"), "5101": ("0.00", "40000.00"),
        "expenditure_total": ("450000.00", "610000.00")}
    assert [v[0] for v in sch.values()] == list(range(1, 11))
    assert any("2024-12-31" in n for n in rep["notes"])

    # The workbook: a portrait sheet per statement, one page wide, 年初数/上年数 headers,
    # and the signature block with the head of finance.
    wb = load_workbook(tmp_path / "fa.xlsx")
    assert len(wb.sheetnames) == 3
    ws = wb[wb.sheetnames[0]]
    assert (ws.page_setup.orientation, ws.page_setup.fitToWidth) == ("portrait", 1)
    assert [c.value for c in ws[3]] == ["项目", "行次", "年初数", "年末数"]
    assert [c.value for c in wb[wb.sheetnames[1]][3]] == ["项目", "行次", "上年数", "本年数"]
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    for word in ("单位负责人", "财务负责人", "复核", "制表", "日期"):
        assert word in text, word
    assert (tmp_path / "fa.csv").read_text("utf-8-sig").count("\n") > 30

    # The same in English on request; on an 80-column screen nothing is cut.
    en = ledger_db.cli("--lang", "en", "report", "final-accounts", "--year", "2024", "--unit", "230822", user="aud",
                       env={"COLUMNS": "80"})
    assert en.exit_code == 0, en
    assert "Final accounts 2024" in en.stdout and "343,000.00" in en.stdout
    assert max(len(x) for x in en.stdout.splitlines()) <= 80
    zh = ledger_db.cli("report", "final-accounts", "--year", "2024", "--unit", "230822", user="aud",
                       env={"COLUMNS": "80", "FUNDLEDGER_LANG": "zh"})
    assert zh.exit_code == 0 and "资产负债表" in zh.stdout and "年末基金结余" in zh.stdout, zh


def _bs_report(ledger_db, *unit: str) -> dict[tuple[str, str, str], tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(book, scope, line) → (year start, closing); a deposit's bank accounts summed."""
    rep = run(ledger_db, "aud", "report", "balance-sheet", "--as-of", "2024-12-31", *unit, "--json").json()
    out: dict[tuple[str, str, str], list[Decimal]] = {}
    for s in rep["sections"]:
        for r in s["rows"]:
            key = (s["title"], r["scope"], r["code"])
            prev = out.get(key, [Decimal(0), Decimal(0)])
            out[key] = [prev[0] + Decimal(r["year_start"]), prev[1] + Decimal(r["closing"])]
    return {k: (f"{v[0]:.2f}", f"{v[1]:.2f}") for k, v in out.items()}


def test_the_city_and_the_agreement_with_the_other_reports(ledger_db) -> None:
    scenario(ledger_db)
    run(ledger_db, "rev", "close", "year", "--year", "2024", "--date", "2024-12-31")
    city = run(ledger_db, "aud", "report", "final-accounts", "--year", "2024", "--json").json()
    bs = lines(city, "balance_sheet")
    assert bs["1003"][1:] == ("1250000.00", "1303000.00")        # 1,000,000 + 250,000 → 1,303,000
    assert bs["assets_total"][1:] == ("1250000.00", "1313000.00")
    assert bs["3001"][1:] == ("1250000.00", "1313000.00")
    assert bs["government_share_outstanding"] == (None, "0.00", "30000.00")
    inc = lines(city, "income")
    assert inc["expenditure_total"][2] == "640000.00" and inc["result"][2] == "63000.00"
    assert (inc["opening_fund_balance"][2], inc["closing_fund_balance"][2]) == ("1250000.00", "1313000.00")
    assert any("none" in n or "无" in n for n in city["notes"])     # nothing eliminated

    # An officer gets their own unit's statements, never a "city" made of their rows only.
    refused = ledger_db.cli("report", "final-accounts", "--year", "2024", user="o22")
    assert refused.exit_code != 0 and "--unit 230822" in refused.stderr, refused
    own = run(ledger_db, "o22", "report", "final-accounts", "--year", "2024", "--unit", "230822", "--json").json()
    other = ledger_db.cli("report", "final-accounts", "--year", "2024", "--unit", "230881", user="o22")
    assert other.exit_code != 0 and "--unit 230822" in other.stderr, other
    assert lines(own, "balance_sheet")["3001"][2] == "343000.00"

    # Agreement with the balance sheet, the income statement and the trial balance.
    for unit, scope in ((None, "all"), ("230822", "230822"), ("230881", "230881")):
        args = ("--unit", unit) if unit else ()
        fa = run(ledger_db, "aud", "report", "final-accounts", "--year", "2024", *args, "--json").json()
        fbs, finc = lines(fa, "balance_sheet"), lines(fa, "income")
        sheet = _bs_report(ledger_db, *args)
        for code in ("1003", "1004", "assets_total", "liabilities_total", "net_assets_total",
                     "liabilities_and_net_assets"):
            assert fbs[code][1:] == sheet.get(("RES", scope, code), ("0.00", "0.00")), (unit, code)
        income = run(ledger_db, "aud", "report", "income", "--year", "2024", "--period", "year", *args,
                     "--json").json()
        by_code = {r["code"]: r["total"] for s in income["sections"] for r in s["rows"]}
        for code in ("revenue_total", "expenditure_total", "result", "opening_fund_balance", "closing_fund_balance",
                     "4001", "4101", "5001", "5101"):
            assert finc[code][2] == by_code.get(code, "0.00"), (unit, code)
        tb = run(ledger_db, "aud", "report", "trial-balance", "--year", "2024", *args, "--book", "RES",
                 "--json").json()
        closing: dict[str, Decimal] = {}
        for r in tb["rows"]:
            closing[r["chart_code"]] = closing.get(r["chart_code"], Decimal(0)) + Decimal(r["closing"])
        assert fbs["1003"][2] == f"{closing.get('1003', Decimal(0)):.2f}", unit
        assert fbs["3001"][2] == f"{-closing.get('3001', Decimal(0)):.2f}", unit   # Dr − Cr: a credit balance
