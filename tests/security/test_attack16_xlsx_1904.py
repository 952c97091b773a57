"""ATTACK16 C6: a number in an XLSX date column is read as an Excel serial on the 1900 calendar,
whatever calendar the workbook says it uses.

The reader (``ledger.io.normalise.iso_date``) turns a five- or six-digit number in a date column
into a date from 1899-12-30 (``_EXCEL_EPOCH``): a convenience for a date cell whose format was
lost (shown General, ``0`` or ``@``). A workbook saved with the 1904 date system
(``<workbookPr date1904="1"/>``: Excel for Mac's old default, still a File ▸ Options setting in every
Excel) counts its serials from 1904-01-01: the same number is a date 1,462 days (four years and a
day) later there. openpyxl reads *date-formatted* cells on the workbook's own calendar, so those
are right; a number cell in the date column is converted by the reader alone, on the wrong
calendar: 45000 is posted 2023-03-15 while Excel, formatting that cell as a date, shows
2027-03-16. A person opening the filed workbook sees a number, not a date — and the date the
ledger made of it is not the one Excel makes.

Safe behaviour asserted: in a 1904 workbook such a cell is refused naming the row and column (or,
at the least, read on the workbook's calendar — never 1,462 days off).
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel

from ledger.io.formats import PAYMENTS
from ledger.io.tables import BadFile, open_table


def test_a_serial_in_a_1904_workbook_is_not_read_on_the_1900_calendar(tmp_path):
    wb = Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["date", "unit", "book", "provider", "category", "amount", "reference"])
    ws.append([45000, "230822", "RES", "某某医院", "inpatient", 1.5, "R-1"])
    path = tmp_path / "payments.xlsx"
    wb.save(path)
    excel_says = from_excel(45000, CALENDAR_MAC_1904).date().isoformat()   # 2027-03-16
    try:
        with open_table(path, PAYMENTS) as t:
            rows = list(t.rows())
    except BadFile:
        return                                   # refused: safe
    # On main: '2023-03-15', the 1900 calendar's reading of the 1904 workbook's serial
    assert rows[0][1][0] == excel_says, rows


def test_the_same_serial_in_a_1900_workbook_keeps_its_reading_and_a_1904_date_cell_is_right(tmp_path):
    """The other side: a 1900 workbook's bare serial is still read on its calendar, and a real
    date cell of a 1904 workbook (which openpyxl already reads on its calendar) is not moved."""
    import datetime as dt

    from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900

    for epoch, value, want in ((CALENDAR_WINDOWS_1900, 45000, "2023-03-15"),
                               (CALENDAR_MAC_1904, dt.date(2024, 4, 15), "2024-04-15")):
        wb = Workbook()
        wb.epoch = epoch
        ws = wb.active
        ws.append(["date", "unit", "book", "provider", "category", "amount", "reference"])
        ws.append([value, "230822", "RES", "某某医院", "inpatient", 1.5, "R-1"])
        if isinstance(value, dt.date):
            ws["A2"].number_format = "yyyy-mm-dd"
        path = tmp_path / f"payments-{epoch.year}.xlsx"
        wb.save(path)
        with open_table(path, PAYMENTS) as t:
            rows = list(t.rows())
        assert rows[0][1][0] == want, (epoch, rows)
