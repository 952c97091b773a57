"""Tables stay readable at 80 and 120 columns: amounts, unit codes and names whole (never
cut with '…'), no line wider than the terminal; a table too wide becomes records."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from rich.cells import cell_len

from cli import context
from cli.exports import render_report
from ledger import i18n
from ledger.reports.model import Column, Report, Section

UNITS = [("230800", "市本级"), ("230822", "桦南县"), ("230826", "桦川县"), ("230881", "同江市"), ("230883", "抚远市")]


def monitor_like() -> Report:
    cols = (Column("unit", "Unit"), Column("unit_name", "Unit name"),
            Column("surplus", "Accumulated surplus", "money"),
            Column("trailing_12m_expenditure", "Expenditure, last 12 months", "money"),
            Column("months_payable", "Months payable", "months"),
            Column("colour", "Colour"),
            Column("year_result", "Year result to date", "money"),
            Column("special_share", "Special-account share", "money"),
            Column("planned_result", "Planned result", "money"),
            Column("warnings", "Warnings"))
    rows = tuple({"unit": code, "unit_name": name, "surplus": 752_480_412_345 + i, "trailing_12m_expenditure": -9_876_543_21,
                  "months_payable": Decimal("12.34"), "colour": ("red", "yellow", "green", "excess", "red")[i],
                  "year_result": -123_456_789_00, "special_share": 5_000_000_00, "planned_result": None,
                  "warnings": "negative_share, running_deficit"} for i, (code, name) in enumerate(UNITS))
    return Report("monitor", "基金运行风险监测", "Risk monitoring", "佳木斯市 230800", "..2024-03-31",
                  dt.datetime(2024, 4, 1, tzinfo=dt.UTC), cols, (Section("城乡居民", "Residents", rows),))


def render(width: int, lang: str, draw) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    saved = context.console.file, context.console.width
    context.console.file, context.console.width = buf, width
    i18n.set_lang(lang)
    try:
        draw()
    finally:
        context.console.file, context.console.width = saved
        i18n.set_lang("zh")
    return buf.getvalue()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [80, 120])
def test_a_wide_report_keeps_every_key_cell_whole(width, lang):
    out = render(width, lang, lambda: render_report(monitor_like(), lang))
    assert "…" not in out
    assert max(cell_len(line) for line in out.splitlines()) <= width, out
    for code, name in UNITS:
        assert code in out and (name in out or lang == "en")
    assert out.count("7,524,804,123.4") == len(UNITS) and "-123,456,789.00" in out and "5,000,000.00" in out
    if lang == "zh":
        assert "红" in out and "结余过多" in out and "专户份额为负、本年累计赤字" in out
        assert "negative_share" not in out and "excess" not in out
    else:
        assert "negative special-account share" in out


@pytest.mark.parametrize("width", [80, 120, 200])
def test_a_narrow_table_stays_a_table(width):
    rows = [{"code": c, "name": n, "amount": 1_234_567_89} for c, n in UNITS]
    out = render(width, "zh", lambda: context.table("单位", [("code", "编码"), ("name", "名称"), ("amount", "金额")],
                                                     rows, money=["amount"]))
    assert "┃ 编码" in out and "1,234,567.89" in out and "…" not in out
    assert all(f"│ {c} │ {n}" in out for c, n in UNITS)


def test_a_table_rich_would_crop_becomes_records():
    """The forecast's summary at 120 columns: long headers over short folding cells need
    more than the estimated widths, and rich cut the last column off; now it is records."""
    cols = [("unit", "Unit"), ("name", "Unit name"), ("book", "Book"), ("surplus", "Accumulated surplus"),
            ("months", "Months payable"), ("colour", "Colour"), ("first_yellow", "First yellow"),
            ("first_red", "First red"), ("end_surplus", "Surplus at the end"),
            ("end_months", "Months payable at the end"), ("end_colour", "Colour at the end")]
    rows = [{"unit": c, "name": n, "book": "RES", "surplus": 75_034_861, "months": "34.73", "colour": "excess",
             "first_yellow": "—", "first_red": "2026-12", "end_surplus": 225_104_583, "end_months": "108.05",
             "end_colour": "red"} for c, n in UNITS]
    out = render(120, "en", lambda: context.table("Fund forecast", cols, rows, money=["surplus", "end_surplus"]))
    assert max(cell_len(line) for line in out.splitlines()) <= 120, out
    assert out.count("Colour at the end") == len(UNITS) and out.count("2,251,045.83") == len(UNITS), out


@pytest.mark.parametrize("width", [80, 200])
def test_the_consolidated_row_is_named_once(width):
    """The monitor's row for the whole region (unit code ``all``) reads 全市, not 全市 全市."""
    from ledger.core.monitor import Thresholds
    from ledger.reports import builders_fund
    from tests.unit.test_builders import AT, LABELS, figures

    f = [figures("RES", "230822", 300, 1200, 5, 1, None)]
    rows, cons = builders_fund.monitor_rows(f, Thresholds())
    for lang, name in (("zh", "全市"), ("en", "Whole region")):
        rep = builders_fund.monitor_report(rows, cons, as_of=dt.date(2023, 12, 31), t=Thresholds(), labels=LABELS,
                                           generated_at=AT, lang=lang)
        out = render(width, lang, lambda rep=rep, lang=lang: render_report(rep, lang))
        assert out.count(name) == 1, out
        assert "all units" not in out and "全市 全市" not in out
