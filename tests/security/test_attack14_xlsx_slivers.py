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


# -- variants of the class (ATTACK14 V2's fix): hidden by size is a floor, not a sign --------------

def _rows_shown(s: str) -> str:
    return (s.replace('<row r="1">', '<row r="1" ht="15" customHeight="1">')
            .replace('<row r="2">', '<row r="2" ht="15" customHeight="1">'))


def _wide(s: str) -> str:
    return s.replace("<sheetData>", '<cols><col min="1" max="9" width="12" customWidth="1"/></cols><sheetData>')


VARIANTS: dict[str, Callable[[str], str]] = {
    "row_height_1.9pt": lambda s: s.replace('<row r="3">', '<row r="3" ht="1.9" customHeight="1">'),
    "row_height_negative": lambda s: s.replace('<row r="3">', '<row r="3" ht="-5" customHeight="1">'),
    "column_width_0.99": lambda s: s.replace(
        "<sheetData>", '<cols><col min="6" max="6" width="0.99" customWidth="1"/></cols><sheetData>'),
    "column_in_a_narrow_span": lambda s: s.replace(
        "<sheetData>", '<cols><col min="5" max="7" width="0.2" customWidth="1"/></cols><sheetData>'),
    "default_row_height_0.1": lambda s: _rows_shown(
        s.replace('defaultRowHeight="15"', 'defaultRowHeight="0.1" customHeight="1"')),
    "default_column_width_0.1": lambda s: s.replace('defaultRowHeight="15"',
                                                    'defaultRowHeight="15" defaultColWidth="0.1"'),
}


@pytest.mark.parametrize("how", sorted(VARIANTS))
def test_v2_variants_a_sliver_is_hidden(tmp_path: Path, how: str) -> None:
    f = _book(tmp_path / "p.xlsx", _row("A-1"), _row("A-2", "90000.00"))
    _not_imported_unseen(_edit(f, SHEET, VARIANTS[how]))


@pytest.mark.parametrize("edit", [
    lambda s: s.replace('<row r="3">', '<row r="3" ht="2" customHeight="1">'),
    lambda s: s.replace("<sheetData>", '<cols><col min="6" max="6" width="1" customWidth="1"/></cols><sheetData>'),
    lambda s: _wide(s.replace('defaultRowHeight="15"', 'defaultRowHeight="15" defaultColWidth="0.1"')),
], ids=["row_2pt", "column_1", "narrow_default_every_column_wide"])
def test_v2_sizes_at_the_floor_are_still_read(tmp_path: Path, edit: Callable[[str], str]) -> None:
    f = _book(tmp_path / "p.xlsx", _row("A-1"), _row("A-2", "90000.00"))
    assert [r[6] for r in _read(_edit(f, SHEET, edit))] == ["A-1", "A-2"]
