"""ATTACK16b D2: C6's fix crashes on a hostile 1904 workbook — a number in a date column between
2,957,004 and 2,958,465 is an OverflowError traceback, not a refusal naming the row.

``ledger.io.tables._serial_on_calendar`` (d0d0e66) reads a whole number in a date column of a
date1904 workbook as ``from_excel(int(value), CALENDAR_MAC_1904)`` when ``1 <= value <= 2_958_465``:
the bound is the *1900* calendar's last serial (9999-12-31). On the 1904 calendar that day is serial
2,957,003; any number from 2,957,004 to 2,958,465 makes ``datetime(1904, 1, 1) + timedelta(days=n)``
raise OverflowError ("date value out of range"). Nothing catches it: `pay import` (and every import
of a table: collections, openings, statements, budgets, headcounts) ends in a Python traceback on
the Chinese CLI — no row, no column, no next step — where the same number in a 1900 workbook is
refused with the row named (a date out of range).

Safe behaviour asserted: the file is refused in words (BadFile naming the row and the date column;
on the CLI exit 1 with an 错误 line, no traceback).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from ledger.io.formats import PAYMENTS
from ledger.io.tables import BadFile, open_table

HEADER = ["date", "unit", "book", "provider", "category", "amount", "reference"]


def _book(path: Path, serial: int) -> Path:
    wb = Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(HEADER)
    ws.append([serial, "230822", "RES", "某某医院", "inpatient", 1.5, "R-1"])
    wb.save(path)
    return path


@pytest.mark.parametrize("serial", [2_957_004, 2_958_000, 2_958_465])
def test_a_serial_past_the_1904_calendars_end_is_refused_not_a_traceback(tmp_path: Path, serial: int) -> None:
    path = _book(tmp_path / "payments.xlsx", serial)
    try:
        with open_table(path, PAYMENTS) as t:
            rows = list(t.rows())
    except BadFile:
        return                                   # refused in words: safe
    # (a date PostgreSQL refuses later, named, would do as well: the reader must not crash)
    assert rows, rows
    # On main: OverflowError: date value out of range, raised out of open_table


@pytest.mark.db
def test_pay_import_of_such_a_workbook_is_refused_in_chinese(ledger_db, tmp_path: Path) -> None:
    path = _book(tmp_path / "payments.xlsx", 2_958_000)
    r = ledger_db.cli("pay", "import", str(path), user="o22", env={"FUNDLEDGER_LANG": "zh"})
    out = r.stdout + r.stderr + repr(getattr(r, "exception", None))
    # On main: the run ends in OverflowError (a traceback), not a refusal
    assert r.exit_code == 1 and "Traceback" not in out and "OverflowError" not in out, out[-2000:]
