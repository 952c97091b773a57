"""ATTACK14 V2: ATTACK13 W1's fix counts a row or column as hidden only at a size of exactly 0 or
less. Excel draws sizes in whole pixels: a row of height 0.1 pt (``ht="0.1" customHeight="1"``)
or a column of width 0.05 characters is drawn 0 pixels high or wide — as hidden as ``hidden="1"``
— and the reader imports the value in it (a second payment of ¥90,000 nobody opening the filed
workbook sees).

Fixed when a row shorter than Excel's smallest visible height (about 0.75 pt = one pixel at 96 DPI;
a tolerance such as "< 2 pt" for rows and "< 0.5 characters" for columns is safer) or a column
narrower than a character is treated as hidden, like height 0.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.security.test_attack13_xlsx_shown import SHEET, _book, _edit, _not_imported_unseen, _read, _row

EDITS: dict[str, Callable[[str], str]] = {
    "row_height_0.1pt": lambda s: s.replace('<row r="3">', '<row r="3" ht="0.1" customHeight="1">'),
    "row_height_0.5pt": lambda s: s.replace('<row r="3">', '<row r="3" ht="0.5" customHeight="1">'),
    "column_width_0.05": lambda s: s.replace(
        "<sheetData>", '<cols><col min="6" max="6" width="0.05" customWidth="1"/></cols><sheetData>'),
    "column_width_0.1": lambda s: s.replace(
        "<sheetData>", '<cols><col min="6" max="6" width="0.1" customWidth="1"/></cols><sheetData>'),
}


@pytest.mark.parametrize("how", sorted(EDITS))
def test_v2_a_row_or_column_drawn_zero_pixels_is_not_imported(tmp_path: Path, how: str) -> None:
    f = _book(tmp_path / "p.xlsx", _row("A-1"), _row("A-2", "90000.00"))
    _not_imported_unseen(_edit(f, SHEET, EDITS[how]))


def test_v2_an_ordinary_small_row_is_still_read(tmp_path: Path) -> None:
    f = _book(tmp_path / "p.xlsx", _row("A-1"), _row("A-2", "90000.00"))
    g = _edit(f, SHEET, lambda s: s.replace('<row r="3">', '<row r="3" ht="9" customHeight="1">'))
    assert [r[6] for r in _read(g)] == ["A-1", "A-2"]
