"""ATTACK13 W1, W2: an XLSX import still reads values a person opening the file does not see.

ATTACK12 Z6 refused a value in a row or column marked ``hidden="1"``. Excel hides rows and
columns, and shows other values than the stored ones, by other means the reader ignores:

W1 (hidden by other means): a row of height 0 (``ht="0" customHeight="1"``), every row not
given a height when the sheet says ``zeroHeight="1"``, a column of width 0, a value in a cell
covered by a merged range (Excel shows only the range's top-left cell).
W2 (shown otherwise): the cell's number format decides what Excel shows: ``0.00,`` shows
90000 as ``90.00``, ``;;;`` shows nothing, ``;;;"A-1"`` shows the text ``A-1`` for a
reference ``A-2``. The import takes the stored value.

W1 is fixed (refused, naming the row, the column or the merged range); W2 is open (docs/security.md,
the thirteenth attack), its tests on the red team's branch. An honest workbook is still read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.errors import BadFile
from ledger.io import FORMATS, open_table

PAY = ["date", "unit", "book", "provider", "category", "amount", "reference", "component", "paid_from"]
SHEET = "xl/worksheets/sheet1.xml"


def _row(ref: str, amount: object = "900.00") -> list[object]:
    return ["2024-03-27", "230881", "RES", "某某医院", "inpatient", amount, ref, "", "county"]


def _read(path: Path) -> list[tuple[str, ...]]:
    with open_table(path, FORMATS["payments"]) as t:
        return [tuple(c) for _, c in t.rows()]


def _book(path: Path, *rows: list[object], fmt: dict[str, str] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "付款"
    ws.append(PAY)
    for r in rows:
        ws.append(r)
    for ref, code in (fmt or {}).items():
        ws[ref].number_format = code
    wb.save(path)
    return path


def _edit(path: Path, part: str, change: Callable[[str], str]) -> Path:
    out = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                new = change(data.decode())
                assert new != data.decode(), "the edit did not apply"
                data = new.encode()
            zout.writestr(info, data)
    return out


def _not_imported_unseen(path: Path) -> None:
    try:
        rows = _read(path)
    except BadFile:
        return                                               # refused: fixed
    pytest.fail(f"the workbook was imported with values Excel does not show: {rows}")


W1_EDITS: dict[str, Callable[[str], str]] = {
    "zero_height_row": lambda s: s.replace('<row r="3">', '<row r="3" ht="0" customHeight="1">'),
    "zero_height_default": lambda s: s.replace('defaultRowHeight="15"', 'defaultRowHeight="15" zeroHeight="1"')
    .replace('<row r="1">', '<row r="1" ht="15" customHeight="1">')
    .replace('<row r="2">', '<row r="2" ht="15" customHeight="1">'),
    "zero_width_column": lambda s: s.replace(
        "<sheetData>", '<cols><col min="6" max="6" width="0" customWidth="1"/></cols><sheetData>'),
    "merged_over_amount": lambda s: s.replace(
        "</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="E3:F3"/></mergeCells>'),
}


@pytest.mark.parametrize("how", sorted(W1_EDITS))
def test_w1_a_row_or_column_hidden_by_other_means_is_not_imported(tmp_path: Path, how: str) -> None:
    f = _book(tmp_path / "p.xlsx", _row("A-1"), _row("A-2", "90000.00"))
    _not_imported_unseen(_edit(f, SHEET, W1_EDITS[how]))


def test_w1_w2_an_honest_workbook_is_still_read(tmp_path: Path) -> None:
    f = _book(tmp_path / "p.xlsx", _row("A-1", 900), _row("A-2", 90000.5), fmt={"F3": "#,##0.00"})
    assert [r[5:7] for r in _read(f)] == [("900", "A-1"), ("90000.5", "A-2")]
