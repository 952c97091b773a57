"""The pure report builders: rows in, ``Report`` values out (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.monitor import Thresholds
from ledger.reports import builders, builders_detail, builders_fund
from ledger.reports.builders import Labels
from ledger.reports.export import to_json_obj
from ledger.store.accounts import TrialBalanceLine

CHART = {
    "1003": {"name_zh": "财政专户存款", "name_en": "Special account deposit", "kind": "asset", "parent": None},
    "2001": {"name_zh": "暂收款", "name_en": "Temporary receipt", "kind": "liability", "parent": None},
    "3001": {"name_zh": "一般基金结余", "name_en": "Fund balance", "kind": "net_assets", "parent": None},
    "4001": {"name_zh": "社会保险费收入", "name_en": "Contribution revenue", "kind": "revenue", "parent": None},
    "4101": {"name_zh": "财政补贴收入", "name_en": "Fiscal subsidy revenue", "kind": "revenue", "parent": None},
    "4101.city": {"name_zh": "财政补贴收入-市级", "name_en": "Fiscal subsidy: city", "kind": "revenue", "parent": "4101"},
    "5001": {"name_zh": "社会保险待遇支出", "name_en": "Benefit expenditure", "kind": "expenditure", "parent": None},
    "5001.inpatient": {"name_zh": "待遇支出-住院", "name_en": "Benefits: inpatient", "kind": "expenditure",
                       "parent": "5001"},
}
LABELS = Labels(
    region="佳木斯市 230800",
    units={"230800": {"name_zh": "市本级", "name_en": "City proper"},
           "230822": {"name_zh": "桦南县", "name_en": "Huanan"}},
    books={"RES": {"name_zh": "城乡居民基本医疗保险基金", "name_en": "Residents", "pooled_component": ""}},
    holders={"special": {"name_zh": "市财政专户", "name_en": "City finance special account"}},
    chart=CHART,
)
AT = dt.datetime(2024, 1, 5, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def bs_row(unit, code, holder, kind, start, closing):
    return {"book": "RES", "unit": unit, "component": "", "chart_code": code, "holder": holder, "kind": kind,
            "year_start": start, "closing": closing}


def test_balance_sheet_blocks_and_tie():
    rows = [bs_row("230822", "1003", "special", "asset", 100, 700),
            bs_row("230822", "2001", "", "liability", 0, -50),
            bs_row("230822", "3001", "", "net_assets", -100, -100),
            bs_row("230822", "4001", "", "revenue", 0, -800),
            bs_row("230822", "5001.inpatient", "", "expenditure", 0, 250),
            bs_row("230800", "1003", "special", "asset", 0, -20),
            bs_row("230800", "5001.inpatient", "", "expenditure", 0, 20)]
    r = builders.balance_sheet_report(rows, as_of=dt.date(2023, 12, 31), labels=LABELS, generated_at=AT)
    obj = to_json_obj(r, deterministic=True)
    got = [(x["scope"], x["code"], x["closing"]) for x in obj["sections"][0]["rows"]]
    assert got[:9] == [("all", "1003", "6.80"), ("all", "assets_total", "6.80"), ("all", "2001", "0.50"),
                       ("all", "liabilities_total", "0.50"), ("all", "3001", "1.00"),
                       ("all", "unclosed_result", "5.30"), ("all", "net_assets_total", "6.30"),
                       ("all", "liabilities_and_net_assets", "6.80"), ("230800", "1003", "-0.20")]
    assert r.notes[0] == "资产 = 负债 + 净资产：各单位均平衡"   # Chinese only: no English in a Chinese report
    one = builders.balance_sheet_report(rows[:5], as_of=dt.date(2023, 12, 31), labels=LABELS, unit="230822",
                                        generated_at=AT)
    assert {x["scope"] for x in one.sections[0].rows} == {"230822"}
    broken = builders.balance_sheet_report(rows[:1], as_of=dt.date(2023, 12, 31), labels=LABELS, generated_at=AT)
    assert broken.notes[0] == "不平衡：RES 全市合并、RES 桦南县"   # in words, no English in a Chinese report
    # --lang en: no Chinese in the footnote
    en = builders.balance_sheet_report(rows, as_of=dt.date(2023, 12, 31), labels=LABELS, generated_at=AT, lang="en")
    assert en.notes == ("assets = liabilities + net assets: ties for every block",)


def test_the_share_owed_stands_beside_the_fund_balance():
    """(ATTACK18 G10) with the register's figures, every balance-sheet block of a pooled fund ends
    with the memo line government_share_outstanding (outside the tie: assets = liabilities + net
    assets still), the consolidated block the units' sum; the income statement carries it at each
    column's opening and closing fund balance, after the statement's last line; a note says why
    it is not in the fund balance."""
    rows = [bs_row("230822", "1003", "special", "asset", -200, -200), bs_row("230822", "3001", "", "net_assets", 200, 200),
            bs_row("230800", "1003", "special", "asset", 900, 900), bs_row("230800", "3001", "", "net_assets", -900, -900)]
    owed = {("RES", "230822"): (200, 150), ("RES", "230800"): (0, 7), ("EMP", "230822"): (99, 99)}
    r = builders.balance_sheet_report(rows, as_of=dt.date(2024, 6, 30), labels=LABELS, generated_at=AT, owed=owed,
                                      lang="en")
    memo = [(x["scope"], x["year_start"], x["closing"]) for x in r.sections[0].rows
            if x["code"] == "government_share_outstanding"]
    assert memo == [("all", 200, 157), ("230800", 0, 7), ("230822", 200, 150)]
    blocks = [x["code"] for x in r.sections[0].rows if x["scope"] == "230822"]
    assert blocks[-2:] == ["liabilities_and_net_assets", "government_share_outstanding"]
    assert r.notes[0] == "assets = liabilities + net assets: ties for every block" and "register" in r.notes[1]
    assert not any(x["code"] == "government_share_outstanding" for x in builders.balance_sheet_report(
        rows, as_of=dt.date(2024, 6, 30), labels=LABELS, generated_at=AT).sections[0].rows)   # no owed: no memo
    # the income statement: the days it states a balance on, and the share owed at each
    start, end = dt.date(2024, 1, 1), dt.date(2024, 5, 15)
    assert builders.fund_balance_days("quarter", start, end) == [dt.date(2023, 12, 31), dt.date(2024, 3, 31),
                                                                 dt.date(2024, 5, 15)]
    assert builders.period_spans("month", start, dt.date(2024, 2, 10))["m02"] == (dt.date(2024, 2, 1), dt.date(2024, 2, 10))
    assert builders.period_spans("quarter", start, dt.date(2024, 12, 31))["q4"] == (dt.date(2024, 10, 1),
                                                                                   dt.date(2024, 12, 31))
    at = {("RES", "230822", dt.date(2023, 12, 31)): 200, ("RES", "230822", dt.date(2024, 3, 31)): 120,
          ("RES", "230800", dt.date(2024, 3, 31)): 5, ("RES", "230822", dt.date(2024, 5, 15)): 100}
    data = {"movements": [], "opening": [{"book": "RES", "unit": "230822", "component": "", "net_assets": -200}]}
    inc = builders.income_report(data, start=start, end=end, period="quarter", labels=LABELS, generated_at=AT,
                                 owed=at)
    rows_i = {x["code"]: x for x in inc.sections[0].rows}
    assert list(rows_i)[-3:] == ["closing_fund_balance", "opening_government_share_outstanding",
                                 "closing_government_share_outstanding"]
    assert [rows_i["opening_government_share_outstanding"][k] for k in ("q1", "q2", "total")] == [200, 125, 200]
    assert [rows_i["closing_government_share_outstanding"][k] for k in ("q1", "q2", "total")] == [125, 100, 100]
    assert inc.notes and "备查簿" in inc.notes[0]


def test_income_parents_sum_children_and_fund_balance_rolls():
    mv = [{"book": "RES", "unit": "230822", "component": "", "chart_code": c, "kind": k, "month": dt.date(2023, m, 1),
           "debits": d, "credits": cr}
          for c, k, m, d, cr in (("4001", "revenue", 1, 0, 1000), ("4101.city", "revenue", 4, 0, 300),
                                 ("5001.inpatient", "expenditure", 2, 400, 0),
                                 ("5001.inpatient", "expenditure", 5, 0, 100),   # a refund
                                 ("3001", "net_assets", 7, 0, 50))]
    data = {"movements": mv, "opening": [{"book": "RES", "unit": "230822", "component": "", "net_assets": 200}]}
    r = builders.income_report(data, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), period="quarter",
                               labels=LABELS, generated_at=AT)
    assert [c.key for c in r.columns] == ["code", "name", "q1", "q2", "q3", "q4", "total"]
    rows = {x["code"]: x for x in r.sections[0].rows}
    assert list(rows) == ["4001", "4101", "4101.city", "revenue_total", "5001", "5001.inpatient",
                          "expenditure_total", "result", "opening_fund_balance", "other_movements",
                          "closing_fund_balance"]
    assert rows["4101"]["q2"] == rows["4101.city"]["q2"] == 300
    assert rows["5001"]["q2"] == -100 and rows["expenditure_total"]["total"] == 300
    assert [rows["opening_fund_balance"][q] for q in ("q1", "q2", "q3", "q4", "total")] == [200, 800, 1200, 1250, 200]
    assert rows["closing_fund_balance"]["total"] == 200 + 1000 + 300 - 300 + 50
    assert [c.key for c in builders.income_report(data, start=dt.date(2023, 1, 1), end=dt.date(2023, 3, 31),
                                                  period="month", labels=LABELS).columns][2:] == \
        ["m01", "m02", "m03", "total"]
    with pytest.raises(ValueError, match="period"):
        builders.period_keys("week", dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    # (ATTACK17) an earlier year's government share received: the statement keeps it (the books), and
    # reconciling lines after it lead to the shortfall rule's C; closing = opening + result + other still
    aside = {"pooled": {"RES": ""}, "adjustments": [],
             "receipts": [{"book": "RES", "unit": "230822", "day": dt.date(2023, 4, 20), "quarter": 2,
                           "chart_code": "4101.shortfall", "amount": 120}]}
    rec = {x["code"]: x for x in builders.income_report(
        {**data, "aside": aside}, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), period="quarter",
        labels=LABELS, generated_at=AT).sections[0].rows}
    assert list(rec)[-3:] == ["closing_fund_balance", "share_receipts", "rule_result"]
    assert (rec["share_receipts"]["q2"], rec["share_receipts"]["total"]) == (120, 120)
    assert rec["rule_result"]["total"] == rows["result"]["total"] - 120 and rec["rule_result"]["q1"] == rows["result"]["q1"]
    assert rec["closing_fund_balance"] == rows["closing_fund_balance"]


def test_trial_balance_report_totals_per_book():
    rows = [TrialBalanceLine("RES:1003:230822:special", "RES", "1003", "财政专户存款", "x", "230822", "special", "",
                             0, 500, 0, 500),
            TrialBalanceLine("RES:4001:230822", "RES", "4001", "社会保险费收入", "y", "230822", "", "", 0, 0, 500, -500)]
    r = builders.trial_balance_report(rows, year=2023, generated_at=AT)
    assert r.period == "2023" and dict(r.sections[0].totals) == {"opening": 0, "period_debits": 500,
                                                                 "period_credits": 500, "closing": 0}


def test_ledger_brought_forward_follows_the_page():
    acc = {"account": "RES:1003:230822:special", "kind": "asset", "holder": "special", "name_zh": "财政专户存款",
           "name_en": "Special account deposit"}
    line = {"entry_date": dt.date(2023, 3, 1), "fiscal_year": 2023, "voucher_no": 4, "memo": "", "side": "C",
            "amount": 30, "balance": 70, "entry_id": 9, "reverses": None, "reversed_by": None, "created_by": "fin"}
    r = builders_detail.ledger_report({"account": acc, "opening": 0, "date_from": dt.date(2023, 1, 1),
                                       "date_to": dt.date(2023, 12, 31), "rows": [line]}, labels=LABELS)
    rows = r.sections[0].rows
    assert rows[0]["balance"] == 100 and rows[1]["balance"] == 70 and rows[1]["voucher"] == "2023-000004"
    assert dict(r.sections[0].totals) == {"debit": 0, "credit": 30, "balance": 70}


@pytest.mark.parametrize(("age", "bucket"), [(0, "b0_90"), (90, "b0_90"), (91, "b91_180"), (180, "b91_180"),
                                             (181, "b181_365"), (365, "b181_365"), (366, "over_365")])
def test_ageing_buckets(age, bucket):
    assert builders_fund.bucket_of(age) == bucket


def test_budget_lines_match_most_specific_and_flag_deficits():
    data = {"budget": [{"unit": "230822", "book": "RES", "component": "", "line": line, "kind": kind, "amount": amt,
                        "version": 1}
                       for line, kind, amt in (("4001", "revenue", 1000), ("5001", "expenditure", 900),
                                               ("5001.inpatient", "expenditure", 300))],
            "actual": [{"book": "RES", "unit": "230822", "component": "", "chart_code": code, "kind": kind,
                        "quarter": q, "debits": d, "credits": c}
                       for code, kind, q, d, c in (("4001", "revenue", 1, 0, 500), ("5001.inpatient", "expenditure",
                                                                                     2, 150, 0),
                                                   ("5001.outpatient", "expenditure", 3, 200, 0),
                                                   ("4101.city", "revenue", 1, 0, 999))],  # no budget line: other
            "end": dt.date(2023, 12, 31)}
    r = builders_fund.budget_execution_report(data, year=2023, labels=LABELS, generated_at=AT)
    en = builders_fund.budget_execution_report(data, year=2023, labels=LABELS, generated_at=AT, lang="en")
    assert "执行" in r.notes[0] and not any("\u4e00" <= ch <= "\u9fff" for ch in en.notes[0])
    rows = {x["line"]: x for x in r.sections[0].rows}
    assert rows["5001"]["actual"] == 200 and rows["5001.inpatient"]["q2"] == 150
    # (ATTACK17 E2) an actual no budget line covers is in the totals, on its own line: the totals are the rule's
    assert rows["4001"]["executed_pct"] == Decimal("50.00") and rows["4101.city"]["actual"] == 999
    assert (rows["4101.city"]["budget"], rows["4101.city"]["flag"], rows["4101.city"]["executed_pct"]) == \
        (0, "unbudgeted", None)
    assert rows["revenue_total"]["actual"] == 1499 and "5001.outpatient" not in rows   # 5001 covers it
    assert [x["line"] for x in r.sections[0].rows][:3] == ["4001", "4101.city", "revenue_total"]
    assert rows["result"]["budget"] == -200 and rows["result"]["flag"] == "planned_deficit"


def test_budget_execution_sets_aside_what_the_rule_sets_aside():
    """(ATTACK17 E2) an earlier year's government share received and an in-year adjustment-fund
    allocation come out of the lines they are in and stand after the result, outside the totals."""
    data = {"budget": [{"unit": "230822", "book": "RES", "component": "", "line": line, "kind": kind, "amount": amt,
                        "version": 1}
                       for line, kind, amt in (("4001", "revenue", 1000), ("4101", "revenue", 1),
                                               ("5001", "expenditure", 900))],
            "actual": [{"book": "RES", "unit": "230822", "component": "", "chart_code": code, "kind": kind,
                        "quarter": q, "debits": d, "credits": c}
                       for code, kind, q, d, c in (("4001", "revenue", 2, 0, 1000), ("4101.shortfall", "revenue", 1, 0,
                                                                                     600),
                                                   ("4401", "revenue", 3, 0, 50), ("5001", "expenditure", 2, 900, 0))],
            "receipts": [{"book": "RES", "unit": "230822", "quarter": 1, "chart_code": "4101.shortfall", "amount": 600}],
            "adjustments": [{"book": "RES", "unit": "230822", "quarter": 3, "chart_code": "4401", "amount": 50}],
            "pooled": {"RES": ""}, "end": dt.date(2024, 12, 31)}
    rows = {x["line"]: x for x in builders_fund.budget_execution_report(
        data, year=2024, labels=LABELS, generated_at=AT).sections[0].rows}
    assert rows["4101"]["actual"] == 0 and "4401" not in rows   # 4401 unbudgeted, its 50 all set aside
    assert (rows["revenue_total"]["actual"], rows["result"]["actual"]) == (1000, 100)
    assert (rows["share_receipts"]["q1"], rows["share_receipts"]["actual"], rows["share_receipts"]["budget"]) \
        == (600, 600, None)
    assert (rows["adjustment_receipts"]["q3"], rows["adjustment_receipts"]["variance"]) == (50, None)
    lines = [x["line"] for x in builders_fund.budget_execution_report(
        data, year=2024, labels=LABELS, generated_at=AT).sections[0].rows]
    assert lines[-3:] == ["result", "share_receipts", "adjustment_receipts"]


@given(part=st.integers(-10**12, 10**12), whole=st.integers(-10**12, 10**12))
def test_percent_exact(part, whole):
    p = builders_fund.percent(part, whole)
    if whole == 0:
        assert p is None
    else:
        assert abs(p * whole - Decimal(part) * 100) <= abs(Decimal(whole)) / 200


def figures(book: str, unit: str, surplus: int, trailing_12m_expenditure: int, year_result: int, special_share: int,
            planned_result: int | None, **more):
    """A ``MonitorFigures`` row as ``ledger.store.monitor.figures`` reads it: no revenue in
    the year and the year's result as its balance, nothing owed, unless ``more`` says so."""
    from ledger.store.monitor import MonitorFigures

    return MonitorFigures(**{"book": book, "unit": unit, "surplus": surplus,
                             "trailing_12m_expenditure": trailing_12m_expenditure, "year_result": year_result,
                             "year_revenue": 0, "current_balance": year_result, "share_receipts": 0,
                             "special_share": special_share,
                             "planned_result": planned_result, "first_day": None, "outstanding_share": 0,
                             "overdue_share": 0, **more})


def test_monitor_rows_consolidate_from_sums():
    f = [figures("RES", "230800", 300, 1200, -5, -1, None),
         figures("RES", "230822", 1500, 2400, 10, 7, 4, year_revenue=40, outstanding_share=3, overdue_share=2)]
    rows, cons = builders_fund.monitor_rows(f, Thresholds())
    assert [(r.months_payable, r.colour.value) for r in rows] == [(Decimal("3.00"), "yellow"),
                                                                 (Decimal("7.50"), "green")]
    # No revenue in the year yet and money already out: the balance rate is red too.
    assert [w.code for w in rows[0].warnings] == ["negative_share", "running_deficit", "balance_rate_red"]
    (c,) = cons
    assert (c.unit, c.surplus, c.months_payable, c.planned_result) == ("all", 1800, Decimal("6.00"), 4)
    # Every figure of the consolidated row is its units' sum.
    assert (c.trailing_12m_expenditure, c.year_result, c.special_share, c.year_revenue, c.current_balance,
            c.outstanding_share, c.overdue_share) == (3600, 5, 6, 40, 5, 3, 2)
    assert c.balance_rate == Decimal("12.50")
    report = builders_fund.monitor_report(rows, cons, as_of=dt.date(2023, 12, 31), t=Thresholds(), labels=LABELS,
                                          generated_at=AT)
    en = builders_fund.monitor_report(rows, cons, as_of=dt.date(2023, 12, 31), t=Thresholds(), labels=LABELS,
                                      generated_at=AT, lang="en")
    assert "可支付月数" in report.notes[0] and not any("\u4e00" <= ch <= "\u9fff" for ch in en.notes[0])
    assert [x["unit"] for x in report.sections[0].rows] == ["all", "230800", "230822"]


def test_monitor_series_uses_a_rolling_twelve_month_window():
    from ledger.store.monitor import MonthFigures

    monthly = [MonthFigures("230822", dt.date(2022, 12, 1), 1200, 1200),
               MonthFigures("230822", dt.date(2023, 1, 1), 0, 0)]
    s = builders_fund.monitor_series(monthly, year=2023, through=dt.date(2023, 12, 31), labels=LABELS)
    points = s["桦南县"]
    assert len(points) == 12 and points[0] == (dt.date(2023, 1, 31), Decimal("12.00"))
    assert points[10] == (dt.date(2023, 11, 30), Decimal("12.00")) and points[11] == (dt.date(2023, 12, 31), None)


def test_balances_series_steps_from_the_brought_forward_balance():
    from ledger.store.monitor import SpecialDay

    daily = [SpecialDay("230822", dt.date(2022, 5, 1), 100), SpecialDay("230822", dt.date(2023, 2, 1), -300)]
    s = builders_fund.balances_series(daily, year=2023, end=dt.date(2023, 12, 31), labels=LABELS)
    assert s == {"桦南县": [(dt.date(2023, 1, 1), 100), (dt.date(2023, 2, 1), -200), (dt.date(2023, 12, 31), -200)]}


def test_subledger_reconciles_its_year_result_with_the_rule():
    """(ATTACK17) the year result is the books'; an earlier year's share received and an in-year
    allocation lead from it to the rule's C on lines of their own (the pooled component only)."""
    rows = [{"book": "RES", "component": "", "chart_code": code, "holder": "", "kind": kind, "opening": 0,
             "debits": d, "credits": c, "op_debits": d, "op_credits": c}
            for code, kind, d, c in (("4101.shortfall", "revenue", 0, 600), ("4001", "revenue", 0, 1000),
                                     ("5001", "expenditure", 900, 0))]
    r = builders_detail.subledger_report(rows, unit="230822", as_of=dt.date(2024, 12, 31), labels=LABELS,
                                         generated_at=AT, owed={"RES": (600, 0)}, aside={"RES": (600, 0)})
    lines = {x["code"]: x["closing"] for x in r.sections[0].rows}
    assert (lines["year_result"], lines["share_receipts"], lines["rule_result"]) == (700, 600, 100)
    assert "adjustment_receipts" not in lines
    plain = builders_detail.subledger_report(rows, unit="230822", as_of=dt.date(2024, 12, 31), labels=LABELS,
                                             generated_at=AT, aside={"RES": (0, 0)})
    assert "rule_result" not in {x["code"] for x in plain.sections[0].rows}
