"""ATTACK10 X8: an XLSX row index past Excel's last row pads the read with empty rows, without bound.

A worksheet holds at most 1,048,576 rows (Excel's limit; "files as Excel makes them" never go past it).
openpyxl's read-only reader, which ``ledger/io/tables.py`` streams, yields an empty row for every index
a ``<row r="N">`` skips, and the reader drops empty rows without counting them. A 5 KB workbook whose
second row says ``r="1000000000000"`` keeps the importing user's ``pay import`` (or any import)
spinning at full CPU for days (measured: 2,000,000 skipped rows 1.7 s, linear), before the database is
even called; an LZMA-compressed sheet of repeated empty rows does the same at ~350:1.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.io.formats import FORMATS
from ledger.io.tables import BadFile, open_table
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the reader's English wording; its reasons are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _far_row(tmp_path: Path, r: int) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    ws.append(["2024-03-27", "230881", "RES", "某某医院", "inpatient", "1.00", "X8-1", "", "county"])
    base = tmp_path / "base.xlsx"
    wb.save(base)
    out = tmp_path / f"far{r}.xlsx"
    with zipfile.ZipFile(base) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        for n in z.namelist():
            data = z.read(n)
            if n == "xl/worksheets/sheet1.xml":
                text = data.decode()
                row = f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>2024-03-27</t></is></c></row>'
                data = text.replace("</sheetData>", row + "</sheetData>").encode()
            w.writestr(n, data)
    return out


def test_x8_a_row_past_excels_last_row_is_refused_before_it_is_reached(tmp_path: Path) -> None:
    f = _far_row(tmp_path, 1_048_577)           # one past Excel's last row; r="1000000000000" is the attack
    with pytest.raises(BadFile), open_table(f, FORMATS["payments"]) as t:
        for _ in t.rows():
            pass


def _rows(f: Path) -> list[tuple[int, tuple[str, ...]]]:
    with open_table(f, FORMATS["payments"]) as t:
        return [(r, tuple(c)) for r, c in t.rows()]


def test_x8_the_attack_row_is_refused_with_its_number_and_what_to_do(tmp_path: Path) -> None:
    """The red team's row r="1000000000000": refused when met (the rows before it are not walked)."""
    f = _far_row(tmp_path, 1_000_000_000_000)
    with pytest.raises(BadFile) as e:
        _rows(f)
    text = str(e.value)
    assert "1000000000000" in text and "1048576" in text and "new workbook" in text


def test_x8_a_cell_past_excels_last_column_is_refused(tmp_path: Path) -> None:
    """The column variant: a cell past XFD (openpyxl itself takes columns up to ZZZ, 18,278) would
    make openpyxl pad the row with that many cells."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    base = tmp_path / "base.xlsx"
    wb.save(base)
    out = tmp_path / "wide.xlsx"
    with zipfile.ZipFile(base) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        for n in z.namelist():
            data = z.read(n)
            if n == "xl/worksheets/sheet1.xml":
                row = '<row r="2"><c r="XFE2" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.decode().replace("</sheetData>", row + "</sheetData>").encode()
            w.writestr(n, data)
    with pytest.raises(BadFile) as e:
        _rows(out)
    assert "16384" in str(e.value)


def test_x8_rows_after_a_gap_keep_excels_row_numbers(tmp_path: Path) -> None:
    """Gaps are skipped, not walked, and a row's number is still the one Excel shows: a bad cell
    in row 7 after four blank rows is reported as row 7."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    ws.append(["2024-03-27", "230881", "RES", "某某医院", "inpatient", "1.00", "X8-2", "", "county"])
    for col, v in enumerate(["2024-03-27", "230881", "RES", "某某医院", "inpatient", "1.00", "X8-3", "", "county"], 1):
        ws.cell(row=7, column=col, value=v)
    f = tmp_path / "gap.xlsx"
    wb.save(f)
    assert [r for r, _ in _rows(f)] == [2, 7]
    ws.cell(row=7, column=12, value="多出的一格")   # more cells than the header names
    wb.save(f)
    with pytest.raises(BadFile) as e:
        _rows(f)
    assert [x.row for x in e.value.errors] == [7]


def test_x8_a_blank_first_row_is_still_named(tmp_path: Path) -> None:
    """A workbook whose table starts in row 2 (row 1 blank) is refused as before: row 1 must name
    the columns."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for col, v in enumerate(PAY.split(","), 1):
        ws.cell(row=2, column=col, value=v)
    f = tmp_path / "blank1.xlsx"
    wb.save(f)
    with pytest.raises(BadFile) as e:
        _rows(f)
    assert "row 1 is blank" in str(e.value)
