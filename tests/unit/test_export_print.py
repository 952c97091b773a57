"""XLSX as a Chinese finance office prints it (issue 18), read back with openpyxl: page
setup, print titles, the signature block, warning fills, the CJK font, codes left to JSON
and CSV, times in the fund's time zone. (The PDF itself: tests/acceptance/test_print.py.)"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from ledger.core.region import DEFAULT_TIME_ZONE, fund_time_zone, parse_region
from ledger.errors import BadInput
from ledger.i18n import code_text
from ledger.reports.builders import Labels, account_label, now, trial_balance_report
from ledger.reports.export import FONT_NAME, WARNING_FILLS, to_json_obj, write_csv, write_xlsx
from ledger.reports.model import Column, Report, Section
from ledger.store.accounts import TrialBalanceLine
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

GENERATED = datetime(2025, 1, 5, 1, 30, tzinfo=UTC)   # 09:30 in Jiamusi
COLS = (
    Column("account", "Account key", data_only=True),
    Column("unit_name", "Unit name"),
    Column("colour", "Colour"),
    Column("amount", "Amount", "money"),
)
ROWS = ({"account": "RES:1003:230822:special", "unit_name": "桦南县", "colour": "red", "amount": 100},
        {"account": "RES:1003:230881:special", "unit_name": "同江市", "colour": "yellow", "amount": 200},
        {"account": "RES:1003:230800:special", "unit_name": "市本级", "colour": "green", "amount": 300},
        {"account": "RES:1003:230828:special", "unit_name": "汤原县", "colour": "excess", "amount": 400})


def report(notes: tuple[str, ...] = ("注：测试",)) -> Report:
    return Report("monitor", "基金运行风险监测", "Risk monitoring", "佳木斯市 230800", "2024", GENERATED, COLS,
                  (Section("城乡居民", "RES", ROWS, {"amount": 1000}),), notes)


@pytest.fixture
def sheet(tmp_path: Path) -> openpyxl.worksheet.worksheet.Worksheet:
    write_xlsx(report(), tmp_path / "r.xlsx")
    return openpyxl.load_workbook(tmp_path / "r.xlsx").active


def test_a4_landscape_one_page_wide_with_print_titles(sheet) -> None:
    ps = sheet.page_setup
    assert (ps.paperSize, ps.orientation, ps.fitToWidth, ps.fitToHeight) == (9, "landscape", 1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$1:$3"
    assert str(sheet.print_area).endswith(f"$A$1:$C${sheet.max_row}")


def test_codes_are_left_to_json_and_csv(sheet, tmp_path: Path) -> None:
    assert [c.value for c in sheet[3]][:3] == ["单位", "预警", "金额"]
    assert sheet.max_column == 3
    assert sheet["A8"].value == "合计"   # the label goes into the first printed column
    write_csv(report(), tmp_path / "r.csv")
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as f:
        head, first = list(csv.reader(f))[:2]
    assert head[0] == "账户代码" and first[0] == "RES:1003:230822:special"
    assert to_json_obj(report())["sections"][0]["rows"][0]["account"] == "RES:1003:230822:special"


def test_signature_block_under_the_statement_within_its_width(sheet) -> None:
    last = sheet.max_row
    texts = [sheet.cell(row=last, column=j).value for j in range(1, 4)]
    assert texts[0].startswith("单位负责人（签章）：") and texts[1].startswith("审核人：")
    assert "制表人：" in texts[2] and "日期： ____年__月__日" in texts[2]   # 3 columns: the last two share one
    assert sheet.cell(row=last - 2, column=1).value == "注：测试"        # notes, a blank row, then the block
    assert all(r.max_col <= 3 for r in sheet.merged_cells.ranges)


def test_warning_cells_are_filled_and_every_cell_names_the_cjk_font(sheet) -> None:
    fills = {sheet.cell(row=r, column=2).value: sheet.cell(row=r, column=2).fill.fgColor.rgb for r in range(4, 8)}
    # the colour codes are shown as words (红/黄/绿/结余过多), filled as the code says
    assert fills == {code_text(k, "zh"): v.fgColor.rgb for k, v in WARNING_FILLS.items()}
    assert fills["红"] == "FFFFC7CE" and fills["绿"] == "FFC6EFCE"
    fonts = {c.font.name for row in sheet.iter_rows() for c in row if c.value is not None}
    assert fonts == {FONT_NAME}


def test_times_are_in_the_funds_time_zone(sheet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert sheet["A2"].value.endswith("2025-01-05T09:30:00+08:00")
    assert to_json_obj(report())["generated_at"] == "2025-01-05T09:30:00+08:00"
    monkeypatch.setenv("FUNDLEDGER_TIME_ZONE", "Asia/Urumqi")
    assert to_json_obj(report())["generated_at"] == "2025-01-05T07:30:00+06:00"
    # a time already stamped in a local zone is kept as given
    local = Report("k", "t", "t", "r", "p", datetime(2025, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=8))),
                   COLS, ())
    assert to_json_obj(local)["generated_at"] == "2025-01-05T09:30:00+08:00"
    monkeypatch.setenv("FUNDLEDGER_TIME_ZONE", "Mars/Olympus")
    with pytest.raises(BadInput, match="FUNDLEDGER_TIME_ZONE: unknown time zone 'Mars/Olympus'"):
        fund_time_zone()


def test_reports_are_stamped_by_the_region_files_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUNDLEDGER_TIME_ZONE", raising=False)
    assert str(fund_time_zone()) == DEFAULT_TIME_ZONE == "Asia/Shanghai"
    assert now().utcoffset() == timedelta(hours=8)
    assert now(Labels(time_zone="Asia/Urumqi")).utcoffset() == timedelta(hours=6)
    doc = {"region": {"code": "1", "name_zh": "甲", "name_en": "A", "time_zone": "Asia/Urumqi"},
           "units": [{"code": "1", "name_zh": "甲", "name_en": "A", "kind": "city"}],
           "books": [{"code": "RES", "name_zh": "居民", "name_en": "R"}]}
    assert parse_region(doc).time_zone == "Asia/Urumqi"
    doc["region"]["time_zone"] = "Nowhere/Town"
    with pytest.raises(BadInput, match="time_zone 'Nowhere/Town' is not a time zone"):
        parse_region(doc)


LABELS = Labels(units={"230881": {"name_zh": "同江市", "name_en": "Tongjiang"}},
                holders={"special": {"name_zh": "市财政专户", "name_en": "Special account"}})


def test_accounts_print_with_unit_names_not_keys() -> None:
    assert account_label(LABELS, "EMP:5001.pharmacy:230881::personal", "zh") == "同江市 5001.pharmacy 个人账户基金"
    assert account_label(LABELS, "RES:1003:230881:special", "en") == "Tongjiang 1003 Special account"
    assert account_label(LABELS, "#42", "zh") == "#42"
    row = TrialBalanceLine("EMP:5001.pharmacy:230881::personal", "EMP", "5001.pharmacy", "药店", "Pharmacy", "230881",
                           "", "personal", 0, 5, 0, 5)
    tb = trial_balance_report([row], year=2024, labels=LABELS)
    assert tb.sections[0].rows[0]["account_name"] == "同江市 5001.pharmacy 个人账户基金"
    assert next(c.key for c in tb.printed_columns) == "account_name"
    assert tb.columns[0].key == "account" and tb.columns[0].data_only


def test_event_times_in_reports_are_in_the_funds_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.reports.builders_fund import requests_report

    monkeypatch.delenv("FUNDLEDGER_TIME_ZONE", raising=False)
    row = {"request_id": 1, "unit": "230822", "book": "RES", "component": "", "quarter": 2,
           "amount_requested": 100, "amount_approved": None, "state": "submitted", "action": "submit",
           "from_state": None, "to_state": "submitted", "amount": 100, "reason": None, "actor": "hn",
           "at": datetime(2024, 3, 31, 17, 0, tzinfo=UTC), "entry_id": None}
    rep = requests_report([row], year=2024, labels=Labels())
    assert rep.sections[0].rows[0]["at"] == "2024-04-01T01:00:00+08:00"   # the next morning in Jiamusi
    rep = requests_report([row], year=2024, labels=Labels(time_zone="Asia/Urumqi"))
    assert rep.sections[0].rows[0]["at"] == "2024-03-31T23:00:00+06:00"


def test_the_english_workbook_signs_and_numbers_its_pages_in_english(tmp_path: Path) -> None:
    write_xlsx(report(), tmp_path / "en.xlsx", "en")
    ws = openpyxl.load_workbook(tmp_path / "en.xlsx").active
    assert ws.oddFooter.center.text == "Page &P of &N"
    assert ws.cell(row=ws.max_row, column=1).value.startswith("Head of unit (signature and seal):")
    assert ws.cell(row=ws.max_row - 0, column=3).value.startswith("Prepared by:")
    assert ws["B4"].value == "red" and ws["B4"].fill.fgColor.rgb == "FFFFC7CE"
    assert openpyxl.load_workbook(tmp_path / "en.xlsx").active.page_setup.fitToWidth == 1
