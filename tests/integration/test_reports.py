"""Reports over a small hand-built ledger, figures written out literally; identities on
random workloads (hypothesis); help text and docs for every report command.

The golden ledger (book RES, 2023; 230822 桦南县 and 230881 同江市; yuan):

  2022-12-31  handover opening 230822: Dr 1002 legacy_revenue / Cr 3001        500,000.00
  2023-01-10  collections 230822: Dr 1003 special / Cr 4001                  1,000,000.00
  2023-01-15  collections 230881                                               400,000.00
  2023-02-01  central subsidy 230822: Dr 1003 special / Cr 4101.central        200,000.00
  2023-02-10  pre-allocation 230822: Dr 1004 county_exp / Cr 1003 special      300,000.00
  2023-03-05  inpatient benefits 230822: Dr 5001.inpatient / Cr 1004 county_exp 120,000.00
  2023-04-20  outpatient benefits 230881: Dr 5001.outpatient / Cr 1003 special  50,000.00
  2023-05-06  critical-illness premium 230881: Dr 5101 / Cr 1003 special       480,000.00
  2023-06-01  collections 230881 10,000.00, reversed on 2023-06-02 (红字冲销)

So 230822 holds 900,000 on the special account, 180,000 on its expenditure account and
500,000 legacy: assets 1,580,000 = 3001 500,000 + this year's result 1,080,000
(1,200,000 − 120,000). 230881 has drawn 130,000 more than it put in: share −130,000 =
result 400,000 − 530,000. Region: assets 1,450,000; result 950,000.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ledger.reports import builders
from ledger.store import accounts, reports, reports_ledger
from tests.helpers import collect, confirmed, entry, leg, post

pytestmark = pytest.mark.db

U22, U81 = "230822", "230881"


def golden(ledger_db) -> None:
    c = ledger_db.connect("fin")
    post(c, entry("open-22", "2022-12-31", "RES", leg("1002", U22, "D", "500000.00", "legacy_revenue"),
                  leg("3001", U22, "C", "500000.00"), memo="handover opening"))
    post(c, collect("col-22", "2023-01-10", U22, "1000000.00"), collect("col-81", "2023-01-15", U81, "400000.00"))
    post(c, entry("sub-22", "2023-02-01", "RES", leg("1003", U22, "D", "200000.00", "special"),
                  leg("4101.central", U22, "C", "200000.00")))
    post(c, entry("pre-22", "2023-02-10", "RES", leg("1004", U22, "D", "300000.00", "county_exp"),
                  leg("1003", U22, "C", "300000.00", "special"), memo="预拨"))
    post(c, entry("pay-22", "2023-03-05", "RES", leg("5001.inpatient", U22, "D", "120000.00"),
                  leg("1004", U22, "C", "120000.00", "county_exp")))
    post(c, entry("pay-81", "2023-04-20", "RES", leg("5001.outpatient", U81, "D", "50000.00"),
                  leg("1003", U81, "C", "50000.00", "special")))
    post(c, entry("ci-81", "2023-05-06", "RES", leg("5101", U81, "D", "480000.00"),
                  leg("1003", U81, "C", "480000.00", "special")))
    [r] = post(c, collect("col-81-bad", "2023-06-01", U81, "10000.00"))
    confirmed(c, "SELECT * FROM fl.reverse_entry(%s, 'keyed twice', '2023-06-02', 'rev-col-81-bad')", (r["entry_id"],))
    c.commit()


def rows_of(report_json, section=0):
    return report_json["sections"][section]["rows"]


def by_code(rows, scope=None):
    return {(r["code"], r.get("holder")): r for r in rows if scope is None or r["scope"] == scope}


def test_golden_ledger_reports(ledger_db, tmp_path):
    golden(ledger_db)

    # ---- balance sheet: consolidated and per unit, lines tie
    res = ledger_db.cli("--lang", "zh", "report", "balance-sheet", "--year", "2023", "--book", "RES", "--json",
                        "--xlsx", str(tmp_path / "bs.xlsx"), user="aud")
    assert res.exit_code == 0, res
    bs = res.json()
    assert bs["report"] == "balance_sheet" and bs["region"] == "佳木斯市 230800"
    assert bs["period"] == "2023-01-01..2023-12-31"
    assert [s["title"] for s in bs["sections"]] == ["RES"]
    assert bs["notes"][0] in ("资产 = 负债 + 净资产：各单位均平衡", "assets = liabilities + net assets: ties for every block")
    expect = {
        "all": [("1002", "原县级收入户", "500000.00", "500000.00"), ("1003", "市财政专户", "0.00", "770000.00"),
                ("1004", "县(市)基金支出户", "0.00", "180000.00"), ("assets_total", None, "500000.00", "1450000.00"),
                ("liabilities_total", None, "0.00", "0.00"), ("3001", None, "500000.00", "500000.00"),
                ("unclosed_result", None, "0.00", "950000.00"), ("net_assets_total", None, "500000.00", "1450000.00"),
                ("liabilities_and_net_assets", None, "500000.00", "1450000.00"),
                ("government_share_outstanding", None, "0.00", "0.00")],   # memo, beside 3001 (BRIEF §5, G10)
        U22: [("1002", "原县级收入户", "500000.00", "500000.00"), ("1003", "市财政专户", "0.00", "900000.00"),
              ("1004", "县(市)基金支出户", "0.00", "180000.00"), ("assets_total", None, "500000.00", "1580000.00"),
              ("liabilities_total", None, "0.00", "0.00"), ("3001", None, "500000.00", "500000.00"),
              ("unclosed_result", None, "0.00", "1080000.00"),
              ("net_assets_total", None, "500000.00", "1580000.00"),
              ("liabilities_and_net_assets", None, "500000.00", "1580000.00"),
              ("government_share_outstanding", None, "0.00", "0.00")],
        U81: [("1003", "市财政专户", "0.00", "-130000.00"), ("assets_total", None, "0.00", "-130000.00"),
              ("liabilities_total", None, "0.00", "0.00"), ("unclosed_result", None, "0.00", "-130000.00"),
              ("net_assets_total", None, "0.00", "-130000.00"),
              ("liabilities_and_net_assets", None, "0.00", "-130000.00"),
              ("government_share_outstanding", None, "0.00", "0.00")],
    }
    got = {}
    for r in rows_of(bs):
        got.setdefault(r["scope"], []).append((r["code"], r["holder_name"], r["year_start"], r["closing"]))
    assert got == expect
    # holder is the bank account's stable code, beside its label (issue 18)
    assert {(r["holder"], r["holder_name"]) for r in rows_of(bs) if r["holder"]} >= {
        ("special", "市财政专户"), ("legacy_revenue", "原县级收入户")}
    wb = load_workbook(tmp_path / "bs.xlsx")
    ws = wb["城乡居民基本医疗保险基金"]
    assert ws["A1"].value.startswith("资产负债表") and "佳木斯市 230800" in ws["A1"].value
    assert [c.value for c in ws[3]] == ["范围", "单位", "项目", "名称", "银行账户", "年初数", "期末数"]
    # one header row, in the workbook's language: data from row 4
    assert ws["C4"].value == "1002" and ws["G5"].value == 770000 and ws["G5"].number_format.startswith("#,##0.00")
    assert ws.freeze_panes == "A4"

    # ---- income by quarter
    res = ledger_db.cli("--lang", "zh", "report", "income", "--year", "2023", "--book", "RES", "--json", "--lang", "en",
                        "--xlsx", str(tmp_path / "inc.xlsx"), user="rev")
    assert res.exit_code == 0, res
    inc = res.json()
    assert inc["columns"] == ["code", "name", "q1", "q2", "q3", "q4", "total"]
    table = {r["code"]: [r["q1"], r["q2"], r["q3"], r["q4"], r["total"]] for r in rows_of(inc)}
    z = "0.00"
    assert table == {
        "4001": ["1400000.00", z, z, z, "1400000.00"],
        "4101": ["200000.00", z, z, z, "200000.00"],
        "4101.central": ["200000.00", z, z, z, "200000.00"],
        "revenue_total": ["1600000.00", z, z, z, "1600000.00"],
        "5001": ["120000.00", "50000.00", z, z, "170000.00"],
        "5001.inpatient": ["120000.00", z, z, z, "120000.00"],
        "5001.outpatient": [z, "50000.00", z, z, "50000.00"],
        "5101": [z, "480000.00", z, z, "480000.00"],
        "expenditure_total": ["120000.00", "530000.00", z, z, "650000.00"],
        "result": ["1480000.00", "-530000.00", z, z, "950000.00"],
        "opening_fund_balance": ["500000.00", "1980000.00", "1450000.00", "1450000.00", "500000.00"],
        "other_movements": [z, z, z, z, z],
        "closing_fund_balance": ["1980000.00", "1450000.00", "1450000.00", "1450000.00", "1450000.00"],
        "opening_government_share_outstanding": [z, z, z, z, z],   # memo lines beside the fund balance (G10)
        "closing_government_share_outstanding": [z, z, z, z, z],
    }
    assert [r["code"] for r in rows_of(inc)][:4] == ["4001", "4101", "4101.central", "revenue_total"]
    ws = load_workbook(tmp_path / "inc.xlsx").active
    assert ws["A1"].value.startswith("Income and expenditure")
    assert [c.value for c in ws[3]] == ["Code", "Account name", "Q1", "Q2", "Q3", "Q4", "Total"]
    assert [c.value for c in ws[4]] == ["4001", "Contribution revenue", 1400000, 0, 0, 0, 1400000]   # no Chinese header

    month = ledger_db.cli("--lang", "zh", "report", "income", "--year", "2023", "--period", "month", "--unit", U81, "--json")
    assert month.exit_code == 0, month
    mt = {r["code"]: r for r in rows_of(month.json())}
    assert mt["5101"]["m05"] == "480000.00" and mt["4001"]["m06"] == "0.00" and mt["result"]["total"] == "-130000.00"

    # ---- subledger of 230822
    res = ledger_db.cli("--lang", "zh", "report", "subledger", "--unit", U22, "--as-of", "2023-12-31", "--book", "RES", "--json",
                        "--xlsx", str(tmp_path / "sub.xlsx"))
    assert res.exit_code == 0, res
    sub = [(r["code"], r["holder_name"], r["opening"], r["debits"], r["credits"], r["closing"])
           for r in rows_of(res.json())]
    assert {r["holder"] for r in rows_of(res.json())} >= {"special", "legacy_revenue", None}
    assert sub == [
        ("1002", "原县级收入户", "500000.00", "0.00", "0.00", "500000.00"),
        ("1003", "市财政专户", "0.00", "1200000.00", "300000.00", "900000.00"),
        ("1004", "县(市)基金支出户", "0.00", "300000.00", "120000.00", "180000.00"),
        ("3001", None, "500000.00", "0.00", "0.00", "500000.00"),
        ("4001", None, "0.00", "0.00", "1000000.00", "1000000.00"),
        ("4101.central", None, "0.00", "0.00", "200000.00", "200000.00"),
        ("5001.inpatient", None, "0.00", "120000.00", "0.00", "120000.00"),
        ("special_share", None, "0.00", None, None, "900000.00"),
        ("surplus", None, "500000.00", None, None, "1580000.00"),
        ("year_result", None, None, None, None, "1080000.00"),
        ("government_share_outstanding", None, "0.00", None, None, "0.00"),   # beside the surplus (BRIEF §5)
    ]
    ws = load_workbook(tmp_path / "sub.xlsx").active
    assert "230822" in ws.title and ws["G6"].value == 180000 and ws["G6"].number_format == "#,##0.00;[Red]-#,##0.00"

    # ---- trial balance exports through the builder (cmd_core calls it)
    res = ledger_db.cli("--lang", "zh", "report", "trial-balance", "--year", "2023", "--xlsx", str(tmp_path / "tb.xlsx"),
                        "--csv", str(tmp_path / "tb.csv"), "--json")
    assert res.exit_code == 0, res
    assert res.json()["totals"]["period_debits"] == res.json()["totals"]["period_credits"] == "2570000.00"
    ws = load_workbook(tmp_path / "tb.xlsx")["城乡居民基本医疗保险基金"]
    assert ws["A1"].value == "试算平衡表 — 城乡居民基本医疗保险基金 — 佳木斯市 230800"
    total = [r for r in ws.iter_rows(values_only=True) if r[0] == "合计"]
    assert total == [("合计", None, 0, 2570000, 2570000, 0)]   # account, Chinese name (no English name), money
    assert (tmp_path / "tb.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    # ---- account ledger with running balance (and paging keeps true balances)
    res = ledger_db.cli("--lang", "zh", "report", "ledger", "RES:1003:230881:special", "--year", "2023", "--json")
    assert res.exit_code == 0, res
    lines = [(r["entry_date"], r["debit"], r["credit"], r["balance"], r["reverses"] is not None)
             for r in rows_of(res.json())]
    assert lines == [
        ("2023-01-01", None, None, "0.00", False),
        ("2023-01-15", "400000.00", None, "400000.00", False),
        ("2023-04-20", None, "50000.00", "350000.00", False),
        ("2023-05-06", None, "480000.00", "-130000.00", False),
        ("2023-06-01", "10000.00", None, "-120000.00", False),
        ("2023-06-02", None, "10000.00", "-130000.00", True),
    ]
    paged = ledger_db.cli("--lang", "zh", "report", "ledger", "RES:1003:230881:special", "--year", "2023", "--offset", "2",
                          "--limit", "1", "--json").json()
    assert [(r["credit"], r["balance"]) for r in rows_of(paged)] == [(None, "350000.00"), ("480000.00", "-130000.00")]

    # ---- vouchers: lines, who posted, reversal links both ways
    res = ledger_db.cli("--lang", "zh", "report", "vouchers", "--book", "RES", "--year", "2023", "--first", "8", "--last", "9", "--json")
    assert res.exit_code == 0, res
    vs = rows_of(res.json())
    assert [(v["voucher"], v["account"], v["debit"], v["credit"], v["created_by"], v["reverses"], v["reversed_by"])
            for v in vs] == [
        ("RES/2023-000008", "RES:1003:230881:special", "10000.00", None, "fin", None, "RES/2023-000009"),
        ("RES/2023-000008", "RES:4001:230881", None, "10000.00", "fin", None, "RES/2023-000009"),
        ("RES/2023-000009", "RES:1003:230881:special", None, "10000.00", "fin", "RES/2023-000008", None),
        ("RES/2023-000009", "RES:4001:230881", "10000.00", None, "fin", "RES/2023-000008", None),
    ]
    assert res.json()["sections"][0]["totals"]["debit"] == "20000.00"
    shown = ledger_db.cli("--lang", "zh", "report", "vouchers", "--year", "2023", "--to", "3")
    assert shown.exit_code == 0 and "RES/2023-000003" in shown.stdout and "200,000.00" in shown.stdout

    # ---- an officer sees only their unit
    res = ledger_db.cli("--lang", "zh", "report", "balance-sheet", "--year", "2023", "--json", user="o81")
    scopes = {r["scope"] for r in rows_of(res.json())}
    # (ATTACK17 E10) and no 'Consolidated' block, which would be its own unit's under the city's label
    assert scopes == {U81}
    assert by_code(rows_of(res.json()), U81)[("assets_total", None)]["closing"] == "-130000.00"

    # ---- the year-end close (kind year_close, made only by close year) changes the balance
    # sheet's split, not the period figures
    closed = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert closed.exit_code == 0, closed.stdout + closed.stderr
    after = ledger_db.cli("--lang", "zh", "report", "balance-sheet", "--year", "2023", "--unit", U22, "--json").json()
    lines22 = by_code(rows_of(after))
    assert lines22[("3001", None)]["closing"] == "1580000.00"
    assert lines22[("unclosed_result", None)]["closing"] == "0.00"
    assert lines22[("net_assets_total", None)]["closing"] == "1580000.00"
    inc2 = ledger_db.cli("--lang", "zh", "report", "income", "--year", "2023", "--book", "RES", "--json").json()
    # the close opens 230881's government share (C −130,000): owed at the year's end, beside the fund
    # balance and not in it — the statement's figures are unchanged (G10)
    assert {r["code"]: r["total"] for r in rows_of(inc2)} == {
        **{k: v[4] for k, v in table.items()}, "closing_government_share_outstanding": "130000.00"}
    owed81 = ledger_db.cli("report", "balance-sheet", "--year", "2023", "--book", "RES", "--json").json()
    assert sorted((r["scope"], r["year_start"], r["closing"]) for r in rows_of(owed81)
                  if r["code"] == "government_share_outstanding") == [
        (U22, "0.00", "0.00"), (U81, "0.00", "130000.00"), ("all", "0.00", "130000.00")]
    sub81 = ledger_db.cli("report", "subledger", "--unit", U81, "--year", "2023", "--json").json()
    assert [(r["opening"], r["closing"]) for r in rows_of(sub81) if r["code"] == "government_share_outstanding"] == [
        ("0.00", "130000.00")]                                 # the same figure as the subledger's
    sub2 = {r["code"]: r for r in rows_of(ledger_db.cli("--lang", "zh", "report", "subledger", "--unit", U22, "--year", "2023",
                                                        "--book", "RES", "--json").json())}
    assert sub2["year_result"]["closing"] == "1080000.00" and sub2["4001"]["closing"] == "0.00"


def test_report_errors_are_one_line(ledger_db):
    res = ledger_db.cli("report", "income", "--year", "2023", "--period", "week")
    assert res.exit_code == 1 and "--period must be month, quarter or year" in res.stderr
    res = ledger_db.cli("report", "ledger", "RES:1003:230822:special", "--from", "2023-05-01", "--to", "2023-01-01")
    assert res.exit_code == 1 and "after" in res.stderr
    res = ledger_db.cli("report", "ledger", "RES:9999:230822")
    assert res.exit_code == 1 and "no account" in res.stderr
    res = ledger_db.cli("report", "vouchers", "--year", "2023")
    assert res.exit_code == 0 and "Traceback" not in res.stderr
    res = ledger_db.cli("report", "balance-sheet", "--lang", "fr")
    assert res.exit_code == 1 and "--lang" in res.stderr


# ---------------------------------------------------------------- identities on random workloads

UNITS = ["230800", "230822", "230881"]
_amount = st.integers(min_value=1, max_value=1_000_000)          # fen, at most 10,000 yuan
_day = st.dates(min_value=dt.date(2022, 7, 1), max_value=dt.date(2023, 12, 31))
_op = st.tuples(st.sampled_from(["collect", "subsidy", "prealloc", "pay", "opening", "emp"]),
                st.sampled_from(UNITS), _amount, _day)


def _doc(key: str, op: str, unit: str, fen: int, day: dt.date) -> dict:
    y = f"{fen // 100}.{fen % 100:02d}"
    d = day.isoformat()
    if op == "collect":
        return collect(key, d, unit, y)
    if op == "subsidy":
        return entry(key, d, "RES", leg("1003", unit, "D", y, "special"), leg("4101.provincial", unit, "C", y))
    if op == "prealloc":
        return entry(key, d, "RES", leg("1004", unit, "D", y, "city_exp"), leg("1003", unit, "C", y, "special"))
    if op == "pay":
        return entry(key, d, "RES", leg("5001.outpatient", unit, "D", y), leg("1003", unit, "C", y, "special"))
    if op == "opening":
        return entry(key, d, "RES", leg("1001", unit, "D", y), leg("3001", unit, "C", y))
    return entry(key, d, "EMP", leg("1003", unit, "D", y, "special", "personal"), leg("4001", unit, "C", y,
                 component="personal"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, min_size=1, max_size=10))
def test_identities_on_random_workloads(ledger_db, ops):
    run = uuid.uuid4().hex[:8]
    c = ledger_db.cached("fin", autocommit=False)
    # Enough money in the pooled special account first, so no random payment overdraws it.
    post(c, *(collect(f"{run}-seed-{u}", "2022-07-01", u, "100000.00") for u in UNITS))
    post(c, *(_doc(f"{run}-{i}", *op) for i, op in enumerate(ops)))
    c.commit()
    end = dt.date(2023, 12, 31)
    labels = reports.labels(c)

    # trial balance: debits = credits, closing sums to zero, per book
    tb = accounts.trial_balance(c, year=2023)
    for book in ("RES", "EMP"):
        rs = [r for r in tb if r.book == book]
        assert sum(r.period_debits for r in rs) == sum(r.period_credits for r in rs)
        assert sum(r.closing for r in rs) == 0

    # balance sheet: assets = liabilities + net assets in every block
    bs = builders.balance_sheet_report(reports_ledger.balance_sheet(c, as_of=end), as_of=end, labels=labels)
    assert bs.notes[0] == "资产 = 负债 + 净资产：各单位均平衡"
    for s in bs.sections:
        for scope in {r["scope"] for r in s.rows}:
            block = {r["code"]: r for r in s.rows if r["scope"] == scope}
            for col in ("year_start", "closing"):
                assert block["assets_total"][col] == block["liabilities_and_net_assets"][col]
                parts = [block[k][col] for k in ("3001", "unclosed_result") if k in block]
                assert block["net_assets_total"][col] == sum(parts)

    # income: closing fund balance = opening + revenue − expenditure (+ direct 3001 movements),
    # and equals the balance sheet's net assets at both ends
    inc = builders.income_report(reports_ledger.income(c, start=dt.date(2023, 1, 1), end=end), start=dt.date(2023, 1, 1),
                                 end=end, period="quarter", labels=labels)
    for s_inc, s_bs in zip(inc.sections, bs.sections, strict=True):
        assert s_inc.title_en == s_bs.title_en
        rows = {r["code"]: r for r in s_inc.rows}
        for k in ("q1", "q2", "q3", "q4", "total"):
            assert rows["result"][k] == rows["revenue_total"][k] - rows["expenditure_total"][k]
            assert rows["closing_fund_balance"][k] == (rows["opening_fund_balance"][k] + rows["result"][k]
                                                       + rows["other_movements"][k])
        assert rows["opening_fund_balance"]["q2"] == rows["closing_fund_balance"]["q1"]
        net = next(r for r in s_bs.rows if r["scope"] == "all" and r["code"] == "net_assets_total")
        assert rows["closing_fund_balance"]["total"] == net["closing"]
        assert rows["opening_fund_balance"]["total"] == net["year_start"]


# ---------------------------------------------------------------- help and docs


def _report_commands() -> list[list[str]]:
    from cli.main import full_app

    full_app()  # registers every command module
    from cli.cmd_core import report_app
    from cli.cmd_monitor import chart_app

    names = [["report", c.name or c.callback.__name__.replace("_", "-")] for c in report_app.registered_commands]
    return [*names, ["monitor"], *(["chart", c.name or ""] for c in chart_app.registered_commands)]


def test_every_report_command_has_help_and_docs():
    from pathlib import Path

    from tests.conftest import run_cli

    docs = (Path(__file__).parents[2] / "docs" / "reports.md").read_text("utf-8")
    commands = _report_commands()
    assert {" ".join(c) for c in commands} >= {
        "report trial-balance", "report balance-sheet", "report income", "report subledger", "report ledger",
        "report vouchers", "report budget-execution", "report requests", "report registers", "monitor",
        "chart monitor", "chart balances"}
    for cmd in commands:
        res = run_cli([*cmd, "--help"], url=None)
        assert res.exit_code == 0, (cmd, res)
        assert "Usage:" in res.stdout and len(res.stdout.split("Options")[0].split("Usage:")[1].strip()) > 40, cmd
        assert f"## fundledger {' '.join(cmd)}" in docs, f"{cmd} is not documented in docs/reports.md"
        if cmd[0] != "chart":
            assert "--json" in res.stdout, cmd
