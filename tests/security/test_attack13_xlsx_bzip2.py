"""ATTACK13 W3: a workbook part packed with bzip2 or LZMA unpacks whole, past its declared size.

ATTACK12 Z5 bounds what a workbook unpacks from the zip directory's sizes, trusting that
"Python's zipfile stops a part at its declared size". It does for DEFLATE (``decompress(data,
max_length)``) but not for bzip2 (method 12) or LZMA (14), which zipfile also reads: each chunk
of packed bytes is decompressed whole, then cut to the declared size. A 5.3 KB workbook whose
sheet declares 1,842 bytes (and the CRC of those) but packs 256 MiB of spaces with bzip2 passes
the ratio check (1842 from 800 bytes), costs the reader 548 MB of memory (ru_maxrss, from 15 MB)
and is imported: 2 rows. Excel writes only stored and deflated parts.

Fixed when a part packed by any other method than stored or DEFLATE is refused before openpyxl
unpacks it.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.errors import BadFile
from ledger.io import FORMATS, open_table

PAY = ["date", "unit", "book", "provider", "category", "amount", "reference", "component", "paid_from"]
SHEET = "xl/worksheets/sheet1.xml"
PAD = 8 << 20   # kept small for speed; the packed size does not grow with it (bzip2: ~800 bytes for 256 MiB)


def _honest(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY)
    ws.append(["2024-03-27", "230881", "RES", "某某医院", "inpatient", "900.00", "A-1", "", "county"])
    wb.save(path)
    return path


def _bomb(src: Path, out: Path, method: int) -> Path:
    """``src`` with its sheet packed by ``method`` followed by PAD spaces, the directory and
    local header declaring the sheet's real size and CRC (so it reads as the honest sheet)."""
    real = b""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == SHEET:
                real = data
                zi = zipfile.ZipInfo(SHEET, date_time=info.date_time)
                zi.compress_type = method
                zout.writestr(zi, data + b" " * PAD)
            else:
                zout.writestr(info, data)
    raw = bytearray(out.read_bytes())
    name, crc = SHEET.encode(), zlib.crc32(real)
    for magic, name_at, crc_at, size_at, base in ((b"PK\x03\x04", 26, 14, 22, 30), (b"PK\x01\x02", 28, 16, 24, 46)):
        pos = raw.find(magic)
        while pos >= 0:
            n = struct.unpack_from("<H", raw, pos + name_at)[0]
            if raw[pos + base:pos + base + n] == name:
                struct.pack_into("<I", raw, pos + crc_at, crc)
                struct.pack_into("<I", raw, pos + size_at, len(real))
            pos = raw.find(magic, pos + 4)
    out.write_bytes(bytes(raw))
    return out


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_w3_a_part_packed_otherwise_than_excel_packs_is_refused_unread(tmp_path: Path, method: int) -> None:
    f = _bomb(_honest(tmp_path / "honest.xlsx"), tmp_path / "p.xlsx", method)
    with zipfile.ZipFile(f) as z:
        info = z.getinfo(SHEET)
        assert info.file_size < 4096 and info.compress_size < info.file_size * 100   # the Z5 check's view: harmless
    try:
        with open_table(f, FORMATS["payments"]) as t:
            rows = list(t.rows())
    except BadFile:
        return                                                # refused: fixed
    pytest.fail(f"a {PAD:,}-byte part declared as {info.file_size} bytes was unpacked and {len(rows)} row(s) imported")
