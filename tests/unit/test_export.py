"""Report model and its JSON / CSV / XLSX renderers, read back with csv and openpyxl."""

from __future__ import annotations

import csv
import json
import re
import warnings
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.money import format_yuan, parse_fen
from ledger.reports.export import (
    SHEET_NAME_MAX,
    XLSX_MAX_EXACT_FEN,
    dumps,
    sheet_names,
    to_json_obj,
    write_csv,
    write_json,
    write_xlsx,
)
from ledger.reports.model import Column, Report, Section

CST = timezone(timedelta(hours=8))
GENERATED = datetime(2025, 1, 5, 9, 30, tzinfo=CST)

COLUMNS = (
    Column("unit", "Unit name"),
    Column("revenue", "Revenue", "money"),
    Column("balance", "Current balance", "money"),
    Column("months", "Months payable", "months"),
    Column("rate", "Executed %", "percent"),
    Column("as_of", "Opened", "date"),
    Column("vouchers", "Age (days)", "int"),
)

RESIDENTS = Section(
    "城乡居民基本医疗保险基金",
    "Residents' fund",
    (
        {
            "unit": "佳木斯市本级",
            "revenue": 123456789,
            "balance": -4567890,
            "months": Decimal("4.25"),
            "rate": Decimal("87.5"),
            "as_of": date(2024, 12, 31),
            "vouchers": 1234,
        },
        {"unit": "桦南县", "revenue": 5, "balance": 0, "months": None},
    ),
    totals={"revenue": 123456794, "balance": -4567890, "vouchers": 1234},
)
EMPLOYEES = Section(
    "职工基本医疗保险基金",
    "Employees' fund",
    ({"unit": "同江市", "revenue": 100, "balance": 100, "months": Decimal("16.00")},),
)


def make_report(*sections: Section, generated_at: datetime = GENERATED) -> Report:
    return Report(
        key="monitor",
        title_zh="基金运行监测",
        title_en="Fund monitoring",
        region="佳木斯市 230800",
        period="2024",
        generated_at=generated_at,
        columns=COLUMNS,
        sections=sections or (RESIDENTS, EMPLOYEES),
        notes=("可支付月数按统筹基金计算（本地口径）",),
    )


# --------------------------------------------------------------------------- model


def test_column_header_by_language() -> None:
    c = Column("revenue", "Revenue", "money")
    assert (c.header("zh"), c.header("en")) == ("收入", "Revenue")
    with pytest.raises(ValueError, match="lang"):
        c.header("fr")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"revenue": 12.5}, "revenue.*int fen"),
        ({"revenue": True}, "revenue.*int fen"),
        ({"revenue": Decimal("1.00")}, "revenue.*int fen"),
        ({"months": 4.25}, "months.*Decimal"),
        ({"months": Decimal("Infinity")}, "months.*finite Decimal"),
        ({"as_of": datetime(2024, 1, 1)}, "as_of.*date"),
        ({"unit": 230822}, "unit.*str"),
    ],
)
def test_model_refuses_wrong_cell_types(row: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make_report(Section("x", "x", (row,)))


def test_model_refuses_unknown_keys_duplicate_columns_and_labelled_totals() -> None:
    with pytest.raises(ValueError, match="not columns"):
        make_report(Section("x", "x", ({"nope": 1},)))
    with pytest.raises(ValueError, match="duplicate column keys"):
        Report("k", "t", "t", "r", "p", GENERATED, (Column("a", "a"), Column("a", "b")), ())
    with pytest.raises(ValueError, match="leave column 'unit' empty"):
        make_report(Section("x", "x", (), totals={"unit": "合计"}))
    money_first = (Column("amount", "Amount", "money"),)
    with pytest.raises(ValueError, match="first column of kind 'text'"):
        Report("k", "t", "t", "r", "p", GENERATED, money_first, (Section("x", "x", (), {"amount": 1}),))
    with pytest.raises(ValueError, match="unknown kind"):
        Column("a", "a", "float")  # type: ignore[arg-type]


def test_rows_are_read_only_copies() -> None:
    source = {"unit": "抚远市", "revenue": 1}
    section = Section("x", "x", (source,))
    source["revenue"] = 2
    assert section.rows[0]["revenue"] == 1
    with pytest.raises(TypeError):
        section.rows[0]["revenue"] = 3  # type: ignore[index]


# --------------------------------------------------------------------------- JSON

GOLDEN_JSON = """\
{
  "report": "monitor",
  "title": "Fund monitoring",
  "title_zh": "基金运行监测",
  "region": "佳木斯市 230800",
  "period": "2024",
  "columns": [
    "unit",
    "revenue",
    "balance",
    "months",
    "rate",
    "as_of",
    "vouchers"
  ],
  "sections": [
    {
      "title": "Residents' fund",
      "title_zh": "城乡居民基本医疗保险基金",
      "rows": [
        {
          "unit": "佳木斯市本级",
          "revenue": "1234567.89",
          "balance": "-45678.90",
          "months": "4.25",
          "rate": "87.5",
          "as_of": "2024-12-31",
          "vouchers": 1234
        },
        {
          "unit": "桦南县",
          "revenue": "0.05",
          "balance": "0.00",
          "months": null,
          "rate": null,
          "as_of": null,
          "vouchers": null
        }
      ],
      "totals": {
        "unit": null,
        "revenue": "1234567.94",
        "balance": "-45678.90",
        "months": null,
        "rate": null,
        "as_of": null,
        "vouchers": 1234
      }
    },
    {
      "title": "Employees' fund",
      "title_zh": "职工基本医疗保险基金",
      "rows": [
        {
          "unit": "同江市",
          "revenue": "1.00",
          "balance": "1.00",
          "months": "16.00",
          "rate": null,
          "as_of": null,
          "vouchers": null
        }
      ],
      "totals": null
    }
  ],
  "notes": [
    "可支付月数按统筹基金计算（本地口径）"
  ]
}"""


def test_json_golden_deterministic() -> None:
    assert dumps(make_report(), deterministic=True) == GOLDEN_JSON


def test_json_deterministic_is_byte_identical_across_runs_and_full_form_has_timestamp() -> None:
    later = make_report(generated_at=GENERATED + timedelta(days=3, microseconds=7))
    assert dumps(make_report(), deterministic=True) == dumps(later, deterministic=True)
    obj = to_json_obj(make_report())
    assert list(obj) == [
        "report", "title", "title_zh", "region", "period", "generated_at", "columns", "sections", "notes",
    ]  # fmt: skip
    assert obj["generated_at"] == "2025-01-05T09:30:00+08:00"
    assert json.loads(dumps(make_report())) == obj


def test_json_decimal_never_in_exponent_form(tmp_path: Path) -> None:
    report = make_report(Section("x", "x", ({"months": Decimal("1E+1"), "rate": Decimal("5E-3")},)))
    row = to_json_obj(report)["sections"][0]["rows"][0]
    assert (row["months"], row["rate"]) == ("10", "0.005")
    write_json(report, tmp_path / "r.json", deterministic=True)
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert text == dumps(report, deterministic=True) + "\n"


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_csv_several_sections_zh(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_csv(make_report(), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8 Chinese"
    assert b"\r\n" in raw
    assert read_csv(path) == [
        ["分表", "单位", "收入", "当期结余", "可支付月数", "执行率%", "登记日期", "账龄(天)"],
        [
            "城乡居民基本医疗保险基金",
            "佳木斯市本级",
            "1234567.89",
            "-45678.90",
            "4.25",
            "87.5",
            "2024-12-31",
            "1234",
        ],
        ["城乡居民基本医疗保险基金", "桦南县", "0.05", "0.00", "", "", "", ""],
        ["城乡居民基本医疗保险基金", "合计", "1234567.94", "-45678.90", "", "", "", "1234"],
        ["职工基本医疗保险基金", "同江市", "1.00", "1.00", "16.00", "", "", ""],
    ]


def test_csv_single_section_en_has_no_section_column(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_csv(make_report(RESIDENTS), path, lang="en")
    rows = read_csv(path)
    assert rows[0] == [
        "Unit name",
        "Revenue",
        "Current balance",
        "Months payable",
        "Executed %",
        "Opened",
        "Age (days)",
    ]
    assert rows[-1][:3] == ["Total", "1234567.94", "-45678.90"]
    assert len(rows) == 4
    # Money re-imports through the project's own strict parser.
    assert [parse_fen(r[1]) for r in rows[1:]] == [123456789, 5, 123456794]
    with pytest.raises(ValueError, match="lang"):
        write_csv(make_report(), path, lang="ZH")


def test_csv_text_that_looks_like_a_formula_is_defused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    section = Section("x", "x", ({"unit": '=HYPERLINK("http://x")', "balance": -500},))
    write_csv(make_report(section), path)
    row = read_csv(path)[1]
    assert row[0] == '\'=HYPERLINK("http://x")'
    assert row[2] == "-5.00", "negative money is a number, not a formula: left alone"


# --------------------------------------------------------------------------- XLSX

MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"


def money_fen(value: object) -> int:
    """What a reader gets back from a money cell: openpyxl returns int or float."""
    assert isinstance(value, int | float) and not isinstance(value, bool)
    fen = round(value * 100)
    assert Decimal(repr(value)) * 100 == fen, f"{value!r} is not a whole number of fen"
    return fen


def test_xlsx_layout_zh(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_xlsx(make_report(), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["城乡居民基本医疗保险基金", "职工基本医疗保险基金"]
    ws = wb["城乡居民基本医疗保险基金"]

    assert ws["A1"].value == "基金运行监测 — 城乡居民基本医疗保险基金 — 佳木斯市 230800"
    assert ws["A1"].font.b
    assert ws["A2"].value == "期间：2024    生成时间：2025-01-05T09:30:00+08:00"
    assert [c.value for c in ws[3]] == ["单位", "收入", "当期结余", "可支付月数", "执行率%", "登记日期", "账龄(天)"]
    for cell in ws[3]:
        assert cell.font.b and cell.fill.fill_type == "solid"

    first = ws[4]
    assert first[0].value == "佳木斯市本级"
    assert money_fen(first[1].value) == 123456789
    assert Decimal(str(first[1].value)) == Decimal("1234567.89")
    assert money_fen(first[2].value) == -4567890
    assert first[1].number_format == MONEY_FORMAT and first[2].number_format == MONEY_FORMAT
    assert first[3].value == 4.25 and first[3].number_format == "0.00"
    assert first[4].value == 87.5 and first[4].number_format == '0.00"%"'
    assert first[5].value == datetime(2024, 12, 31) and first[5].number_format == "yyyy-mm-dd"
    assert first[6].value == 1234 and first[6].number_format == "#,##0"

    second = ws[5]
    assert money_fen(second[1].value) == 5 and money_fen(second[2].value) == 0
    assert second[3].value is None, "None months is a blank cell, not 0"

    totals = ws[6]
    assert totals[0].value == "合计"
    assert money_fen(totals[1].value) == 123456794
    assert all(c.font.b for c in totals)
    assert totals[1].number_format == MONEY_FORMAT

    assert ws["A8"].value == "可支付月数按统筹基金计算（本地口径）"
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == "A3:G5", "filter covers headers and data, never the totals row"
    # 佳木斯市本级 is 6 CJK characters = 12 Latin widths, plus padding.
    assert ws.column_dimensions["A"].width == 14
    assert ws.column_dimensions["B"].width == len("1,234,567.89") + 2


def test_xlsx_english_first_and_section_without_totals(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_xlsx(make_report(), path, lang="en")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Residents' fund", "Employees' fund"]
    ws = wb["Employees' fund"]
    assert ws["A1"].value == "Fund monitoring — Employees' fund — 佳木斯市 230800"
    assert ws["A2"].value == "Period: 2024    Generated: 2025-01-05T09:30:00+08:00"
    assert ws["A3"].value == "Unit name" and ws["A4"].value == "同江市" and money_fen(ws["B4"].value) == 100
    assert ws["A5"].value is None and ws["A6"].value == "可支付月数按统筹基金计算（本地口径）"
    assert ws.auto_filter.ref == "A3:G4"


def test_xlsx_text_is_never_a_formula_and_huge_money_is_exact_text(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_xlsx(make_report(Section("x", "x", ({"unit": "=1+1"},))), path)
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    cell = ws["A4"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")
    for fen in (XLSX_MAX_EXACT_FEN + 1, -(2**63), 2**63 - 1):
        write_xlsx(make_report(Section("x", "x", ({"revenue": fen},))), path)
        ws = openpyxl.load_workbook(path).active
        assert ws is not None
        cell = ws["B4"]
        assert cell.data_type == "s" and cell.value == format_yuan(fen)


def test_xlsx_report_without_sections_still_has_a_sheet(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    report = Report("empty", "空报表", "Empty", "佳木斯市", "2024", GENERATED, COLUMNS, ())
    write_xlsx(report, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["空报表"]
    assert wb.active is not None and wb.active.auto_filter.ref == "A3:G3"


# --------------------------------------------------------------------------- sheet names


def test_sheet_names_examples() -> None:
    assert sheet_names(["a/b[c]:d*e?f\\g", "'quoted'", "", "history", "Sheet", "SHEET"]) == [
        "a_b_c__d_e_f_g",
        "quoted",
        "Sheet",
        "history_",
        "Sheet (2)",
        "SHEET (3)",
    ]
    long = "职工基本医疗保险基金（含生育保险）统筹基金与个人账户基金合并核算表"
    first, second = sheet_names([long, long])
    assert len(first) == SHEET_NAME_MAX and first == long[:SHEET_NAME_MAX]
    assert second == long[: SHEET_NAME_MAX - 4] + " (2)"
    # Excel counts UTF-16 units: an emoji outside the BMP takes two of the 31.
    assert sheet_names(["😀" * 20]) == ["😀" * 15]


_EXCEL_BAD = re.compile(r"[\[\]:*?/\\]")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=8))
def test_any_titles_give_valid_unique_sheet_names(titles: list[str]) -> None:
    names = sheet_names(titles)
    assert len(names) == len(titles)
    assert len({n.casefold() for n in names}) == len(names), "unique ignoring case, as Excel compares"
    for n in names:
        assert 0 < len(n.encode("utf-16-le")) // 2 <= SHEET_NAME_MAX
        assert not _EXCEL_BAD.search(n)
        assert not n.startswith("'") and not n.endswith("'")
        assert n.casefold() != "history"
        assert all(ch.isprintable() or ch == " " or ch.isspace() for ch in n)
    # openpyxl takes them as they are: no renaming, no "more than 31 characters" warning.
    wb = openpyxl.Workbook()
    wb.remove(wb.worksheets[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in names:
            wb.create_sheet(title=n)
    assert wb.sheetnames == names


# --------------------------------------------------------------------------- exact money round trips

amounts = st.integers(min_value=-XLSX_MAX_EXACT_FEN, max_value=XLSX_MAX_EXACT_FEN)
MONEY_ONLY = (Column("unit", "Unit name"), Column("amount", "Amount", "money"))


def money_report(fens: list[int]) -> Report:
    rows = tuple({"unit": f"u{i}", "amount": fen} for i, fen in enumerate(fens))
    return Report(
        "m", "金额", "Amounts", "佳木斯市", "2024", GENERATED, MONEY_ONLY, (Section("s", "s", rows),)
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=30))
def test_random_amounts_round_trip_exactly_through_csv_and_xlsx(
    tmp_path_factory: pytest.TempPathFactory, fens: list[int]
) -> None:
    fens = [*fens, XLSX_MAX_EXACT_FEN, -XLSX_MAX_EXACT_FEN, 1, -1, 0]
    report = money_report(fens)
    folder = tmp_path_factory.mktemp("money")

    write_csv(report, folder / "m.csv")
    assert [parse_fen(r[1], allow_negative=True) for r in read_csv(folder / "m.csv")[1:]] == fens

    write_xlsx(report, folder / "m.xlsx")
    ws = openpyxl.load_workbook(folder / "m.xlsx").active
    assert ws is not None
    rows = ws.iter_rows(min_row=4, max_row=3 + len(fens), values_only=True)  # the signature block follows
    back = [money_fen(row[1]) for row in rows]
    assert back == fens
