"""ATTACK12: an XLSX import reads a hidden first sheet, not the sheet Excel shows.

``ledger/io/tables.py`` reads "the first worksheet only" (``load_workbook(...).worksheets[0]``),
whatever its visibility and whichever sheet the workbook opens on. A payments workbook whose first
sheet is hidden (``sheet_state = 'hidden'``, or ``'veryHidden'``: not even listed under Unhide) and
whose second, active sheet holds the rows everybody reviews, is imported from the hidden sheet: the
colleague, reviewer or auditor who opens the filed file (the batch records its SHA-256) in Excel
or WPS sees other claims, providers and amounts than the ones paid. The file's digest matches, so
the filed evidence itself misleads.

Fixed when a workbook is refused unless the sheet read is visible and is the one it opens on (or
it has one worksheet), naming the sheets and what to do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.io.formats import FORMATS
from ledger.io.tables import BadFile, open_table

PAY = ["date", "unit", "book", "provider", "category", "amount", "reference", "component", "paid_from"]


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_z_a_hidden_first_sheet_is_not_what_is_imported(tmp_path: Path, state: str) -> None:
    wb = Workbook()
    hidden = wb.active
    assert hidden is not None
    hidden.title = "data"
    hidden.append(PAY)
    hidden.append(["2024-03-27", "230881", "RES", "亲戚药店", "other", "90000.00", "Z-H1", "", "county"])
    hidden.sheet_state = state
    shown = wb.create_sheet("付款明细")
    shown.append(PAY)
    shown.append(["2024-03-27", "230881", "RES", "某某医院", "inpatient", "900.00", "Z-H1", "", "county"])
    wb.active = 1
    f = tmp_path / "payments.xlsx"
    wb.save(f)
    try:
        with open_table(f, FORMATS["payments"]) as t:
            rows = [tuple(c) for _, c in t.rows()]
    except BadFile:
        return                                           # refused: fixed
    assert rows == [("2024-03-27", "230881", "RES", "某某医院", "inpatient", "900.00", "Z-H1", "", "county")], (
        f"the import read the {state} first sheet, not the sheet Excel opens on: {rows}")
