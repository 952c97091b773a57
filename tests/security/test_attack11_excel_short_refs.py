"""ATTACK11 Y6: an XLSX reference cell that is a number of 15 digits or fewer is a reference.

ATTACK10 X5 refused a reference number cell of 16+ digits (Excel has already rounded it) and the
scientific form, and took a shorter number cell as its digits. But a number cell loses more than
trailing digits: Excel drops its leading zeros. The county's claim file carries the reference
``0012345678`` as text; it is imported and paid. The file is opened in Excel (or the claims are
copied into a new workbook whose reference column is General) and saved again: the reference is
now the number ``12345678``, a reference never imported, and the claim is paid a second time —
the duplicate check compares references, and ``12345678`` is not ``0012345678``.

The fix (the class): in every import that reads XLSX, a column naming something by free text
(``TEXT_COLUMNS``: reference, and a payment's provider) holds text cells only — every number,
date, time or logical cell is refused, whatever its size or display format, naming the file,
the worksheet, the row and the column and saying to set the column's format to Text (文本)
and type the values again.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from ledger.errors import BadFile
from ledger.io import FORMATS, open_table
from ledger.io.formats import TEXT_COLUMNS
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack9_claims import PAY

REF_KINDS = sorted(k for k, f in FORMATS.items() if "reference" in f.columns)


def _row(kind: str, ref: object, provider: object = "某某医院") -> list[object]:
    """One row of ``kind``, every column filled plausibly, ``ref`` as its reference."""
    sample: dict[str, object] = {
        "date": dt.date(2024, 3, 27), "unit": 230881, "book": "RES", "provider": provider,
        "category": "outpatient", "amount": 35.0, "source": "contribution", "item": "special_account",
        "direction": "in", "note": "", "component": "", "paid_from": "county", "balance": None}
    return [ref if c == "reference" else sample.get(c, "") for c in FORMATS[kind].columns]


def _workbook(path: Path, kind: str, *rows: list[object], title: str = "三月", number_format: str = "") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    ws.append(list(FORMATS[kind].columns))
    for r in rows:
        ws.append(r)
    if number_format:
        col = FORMATS[kind].columns.index("reference") + 1
        for r in range(2, len(rows) + 2):
            ws.cell(r, col).number_format = number_format
    wb.save(path)
    return path


def _with_cached_formula(path: Path, cell: str, formula: str, cached: str) -> Path:
    """Rewrite ``cell`` of the first sheet as a formula whose cached result is the number ``cached``
    (what Excel saves; openpyxl writes no cached value)."""
    src = zipfile.ZipFile(path)
    members = {n: src.read(n) for n in src.namelist()}
    src.close()
    name = "xl/worksheets/sheet1.xml"
    xml = members[name].decode()
    xml, n = re.subn(rf'<c r="{cell}"[^>]*?(?:/>|>.*?</c>)', f'<c r="{cell}"><f>{formula}</f><v>{cached}</v></c>', xml)
    assert n == 1, xml
    members[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for n_, data in members.items():
            dst.writestr(n_, data)
    return path


def _refusal(path: Path, kind: str) -> BadFile:
    with pytest.raises(BadFile) as e, open_table(path, FORMATS[kind]) as t:
        list(t.rows())
    return e.value


# ---- the attack, through the command -------------------------------------------------------------


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("y6-col", "2024-03-01", "230881", "1000000.00"),
         entry("y6-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    return ledger_db


def _paid(db: LedgerDB) -> list[str]:
    return [r["reference"] for r in db.admin().execute(
        "SELECT reference FROM fl.import_line WHERE namespace = 'payments:230881' ORDER BY reference").fetchall()]


def _pay_row(ref: object) -> list[object]:
    return ["2024-03-27", "230881", "RES", "某某医院", "outpatient", 800.00, ref, None, "county"]


@pytest.mark.db
def test_y6_a_claim_whose_reference_lost_its_leading_zeros_is_not_paid_again(funded: LedgerDB,
                                                                             tmp_path: Path) -> None:
    """The county's file, reference ``0012345678`` as text: paid. The same file after Excel
    (the reference now the number 12345678): refused, the claim is not paid a second time."""
    first = _workbook(tmp_path / "march.xlsx", "payments", _pay_row("0012345678"))
    r = funded.cli("pay", "import", str(first), "--json", user="o81")
    assert r.exit_code == 0 and _paid(funded) == ["0012345678"], r
    again = _workbook(tmp_path / "march-excel.xlsx", "payments", _pay_row(12345678))
    r = funded.cli("pay", "import", str(again), "--json", user="o81")
    assert r.exit_code == 1 and _paid(funded) == ["0012345678"], (
        f"the claim 0012345678, saved again by Excel as the number 12345678, was paid a second time: {_paid(funded)}")


@pytest.mark.db
def test_y6_the_refusal_is_chinese_first_naming_file_sheet_row_column_and_what_to_do(funded: LedgerDB,
                                                                                    tmp_path: Path) -> None:
    f = _workbook(tmp_path / "march.xlsx", "payments", _pay_row("Y6-OK"), _pay_row(12345678), title="三月报销")
    r = funded.cli("--lang", "zh", "pay", "import", str(f), user="o81")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and _paid(funded) == [], r
    assert all(w in text for w in ("march.xlsx", "三月报销", "12345678", "3", "文本")), text
    assert "数字" in text and "Traceback" not in r.stderr, text


# ---- the class, at the reader: every kind with a reference column, every cell that is not text ---


NOT_TEXT: list[tuple[str, object, str]] = [
    ("short number", 12345678, "number cell, not text"),
    ("leading zeros lost", 12345, "number cell, not text"),       # 00012345 once
    ("zero", 0, "number cell, not text"),
    ("15 digits", 999999999999999, "number cell, not text"),
    ("float integral", 1003.0, "number cell, not text"),
    ("16 digits (X5)", 2024030001234567, "15 digits"),
    ("fraction (X5)", 12.5, "15 digits"),
    ("date", dt.datetime(2024, 3, 1), "date or time cell"),
    ("date only", dt.date(2024, 3, 1), "date or time cell"),
    ("time", dt.time(12, 30), "date or time cell"),
    ("logical", True, "logical (TRUE/FALSE) cell"),
]


@pytest.mark.parametrize("kind", REF_KINDS)
@pytest.mark.parametrize(("label", "value", "phrase"), NOT_TEXT, ids=[n[0] for n in NOT_TEXT])
def test_y6_every_non_text_reference_cell_is_refused_in_every_kind(tmp_path: Path, kind: str, label: str,
                                                                   value: object, phrase: str) -> None:
    f = _workbook(tmp_path / f"{kind}.xlsx", kind, _row(kind, "OK-1"), _row(kind, value), title="Sheet 7")
    [err] = _refusal(f, kind).errors
    assert (err.file, err.row, err.column) == (str(f), 3, "reference"), err
    assert phrase in err.reason and "'Sheet 7'" in err.reason and "Text (文本)" in err.reason, err.reason
    assert "again" in err.reason, err.reason


@pytest.mark.parametrize("kind", REF_KINDS)
def test_y6_a_number_in_a_column_formatted_as_text_afterwards_is_still_a_number(tmp_path: Path, kind: str) -> None:
    """Formatting the column as Text (@) after typing leaves the numbers numbers (Excel's green
    triangle): refused, and the message says to type them again."""
    f = _workbook(tmp_path / f"{kind}.xlsx", kind, _row(kind, 12345678), number_format="@")
    [err] = _refusal(f, kind).errors
    assert (err.row, err.column) == (2, "reference") and "number cell" in err.reason, err
    assert "a number already in a cell stays a number" in err.reason, err.reason


@pytest.mark.parametrize("kind", REF_KINDS)
def test_y6_a_formula_with_a_cached_number_is_refused(tmp_path: Path, kind: str) -> None:
    """A formula whose saved result is a number (``="00"&12345678`` would be text; ``=A1`` a number):
    refused as a formula, never read as its cached value."""
    f = _workbook(tmp_path / f"{kind}.xlsx", kind, _row(kind, "placeholder"))
    letter = "ABCDEFGHI"[FORMATS[kind].columns.index("reference")]
    _with_cached_formula(f, f"{letter}2", "12345678", "12345678")
    [err] = _refusal(f, kind).errors
    assert (err.row, err.column) == (2, "reference") and "formula in cell" in err.reason, err


def test_y6_a_payments_provider_is_text_too(tmp_path: Path) -> None:
    """Who was paid: a provider code as a number cell loses its zeros alike (another provider)."""
    f = _workbook(tmp_path / "p.xlsx", "payments", _row("payments", "R-1", provider=10023))
    [err] = _refusal(f, "payments").errors
    assert (err.row, err.column) == (2, "provider") and "number cell" in err.reason, err


def test_y6_text_columns_are_the_reference_and_provider_of_every_format() -> None:
    """Every kind with a reference column is covered; the columns that must be text are those."""
    assert REF_KINDS == ["collections", "opening", "payments", "statement"]
    assert set(TEXT_COLUMNS) == {"reference", "provider"}
    assert [k for k, f in FORMATS.items() if "provider" in f.columns] == ["payments"]


@pytest.mark.parametrize("kind", REF_KINDS)
def test_y6_every_bad_cell_of_a_file_is_named_at_once(tmp_path: Path, kind: str) -> None:
    f = _workbook(tmp_path / f"{kind}.xlsx", kind, _row(kind, 1), _row(kind, "R-2"), _row(kind, dt.date(2024, 1, 2)),
                  _row(kind, False))
    assert [(e.row, e.column) for e in _refusal(f, kind).errors] == [(2, "reference"), (4, "reference"),
                                                                      (5, "reference")]


@pytest.mark.parametrize("kind", REF_KINDS)
def test_y6_text_references_are_read_exactly_and_other_columns_may_be_numbers(tmp_path: Path, kind: str) -> None:
    """Text cells — leading zeros, digits only, 20 digits, a date's look — are references as they
    are; the unit, amount and date columns stay number and date cells (a changed unit code is
    refused downstream as unknown, never taken as another's)."""
    refs = ["0012345678", "12345678", "20240300012345678901", "2024-03-01", "00"]
    f = _workbook(tmp_path / f"{kind}.xlsx", kind, *[_row(kind, r) for r in refs])
    with open_table(f, FORMATS[kind]) as t:
        rows = list(t.rows())
    at = FORMATS[kind].columns.index("reference")
    assert [cells[at] for _, cells in rows] == refs
    if "unit" in FORMATS[kind].columns:
        assert {cells[FORMATS[kind].columns.index("unit")] for _, cells in rows} == {"230881"}


def test_y6_csv_cannot_tell_and_is_read_as_written(tmp_path: Path) -> None:
    """A CSV has no cell types: ``12345678`` is read as the reference it spells (docs/imports.md
    says so: only the scientific form is caught in a CSV)."""
    f = tmp_path / "p.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,outpatient,35.00,12345678,,county\n", "utf-8")
    with open_table(f, FORMATS["payments"]) as t:
        [(_, cells)] = list(t.rows())
    assert cells[FORMATS["payments"].columns.index("reference")] == "12345678"
