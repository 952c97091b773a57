"""ATTACK12 Z-xlsx: an XLSX whose parts decompress without bound is read whole into memory.

``ledger/io/tables.py`` hands the workbook to openpyxl (``load_workbook(read_only=True)``), which
reads ``xl/sharedStrings.xml`` completely into a Python list before the first row is streamed, and
parses each cell's text whole before ``MAX_CELL_CHARS`` looks at it. Nothing bounds a part's
uncompressed size or its compression ratio: a DEFLATE part of one repeated character compresses
~1000:1, so a 1 MB "payments.xlsx" an officer hands to ``pay import`` (or anyone to any import)
makes the reader hold a ~1 GB string (measured 2026-12-06: a 515 KB workbook with 512 MB of one
shared string: 16 s and a peak RSS of 1.08 GB, and its one payment row accepted — the string is never
referenced by a cell, so nothing is even refused; a 5 MB file is ~10 GB, the whole shared machine). X8 bounded rows and columns; the bytes inside them were left out.

Fixed when a workbook is refused (BadFile, with a message) before its parts are inflated past a
bound an honest workbook never reaches (Excel's own ~1,048,576 rows x a few cells of <= 1,000
characters: tens of MB), read from the zip's directory and enforced while reading.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.io.formats import FORMATS
from ledger.io.tables import BadFile, open_table

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_TYPE = ('<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
ROW = ["2024-03-27", "230881", "RES", "某某医院", "inpatient", "1.00", "Z-1", "", "county"]


def _bomb(tmp_path: Path, part: str, megabytes: int) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    ws.append(ROW)
    base = tmp_path / "base.xlsx"
    wb.save(base)
    out = tmp_path / "bomb.xlsx"
    blob = "A" * (megabytes * 1024 * 1024)
    sst = f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>{blob}</t></si></sst>'
    with zipfile.ZipFile(base) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as w:
        for n in z.namelist():
            data = z.read(n)
            if n == "[Content_Types].xml":      # openpyxl finds the shared strings by their content type
                data = data.decode().replace("</Types>", SST_TYPE + "</Types>").encode()
            w.writestr(n, data)
        w.writestr(part, sst)
    assert out.stat().st_size < megabytes * 1024 * 1024 // 200, "not a compression bomb"
    return out


def test_z_an_xlsx_part_that_inflates_past_any_honest_workbook_is_refused_unread(tmp_path: Path) -> None:
    f = _bomb(tmp_path, "xl/sharedStrings.xml", 64)          # 64 MB of one character in a ~70 KB file
    with pytest.raises(BadFile), open_table(f, FORMATS["payments"]) as t:
        for _ in t.rows():
            pass
