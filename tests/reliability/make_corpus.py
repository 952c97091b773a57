"""Regenerate ``tests/reliability/corpus/`` byte for byte: ``python tests/reliability/make_corpus.py``.

Every file is built from literals (no clock, no randomness), and the XLSX files are
re-zipped with fixed timestamps and fixed document properties, so a rerun rewrites
identical bytes and ``git diff`` stays empty. ``--check`` compares instead of writing
(exit 1 on a difference); ``tests/unit/test_tables.py`` runs the same comparison.

Layout: files directly in ``corpus/`` are structurally bad (the reader must refuse them);
``corpus/valid/`` holds good files; ``corpus/values/`` holds files whose structure is fine
but whose *values* the PostgreSQL validation must refuse. ``corpus/README.md`` says, for
each file, what is wrong and which rule refuses it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

COLLECTIONS_HEADER = "date,unit,book,source,amount,reference"
# The valid first row of every values/ case: the payer lives in the reference, the source is a real kind.
VALUE_BASE = "2023-01-05,230881,RES,contribution,\"1,234,567.89\",ZS-2023-0001同江"
PAYMENTS_HEADER = "date,unit,book,provider,category,amount,reference"
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)
_FIXED_ISO = "2024-01-01T00:00:00Z"


def _csv(*lines: str, newline: str = "\r\n", encoding: str = "utf-8", bom: bool = False) -> bytes:
    """Lines joined the way Excel's "CSV UTF-8" writes them (CRLF, final newline)."""
    data = (newline.join(lines) + newline).encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def _collections(*rows: str, newline: str = "\r\n", encoding: str = "utf-8", bom: bool = False) -> bytes:
    return _csv(COLLECTIONS_HEADER, *rows, newline=newline, encoding=encoding, bom=bom)


GOOD_COLLECTIONS = (
    '2023-01-05,230881,RES,同江市税务局,"1,234,567.89",ZS-2023-0001',
    "2023-01-06,230882,RES,富锦市税务局,980000.00,ZS-2023-0002",
    "2023-01-09,230828,RES,汤原县税务局,15.5,ZS-2023-0003",
)


def _xlsx(rows: list[list[object]], *, formula: tuple[str, str] | None = None) -> bytes:
    """A small workbook, re-zipped deterministically (openpyxl stamps the time of saving)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "payments"
    for row in rows:
        ws.append(row)
    if formula is not None:
        ws[formula[0]] = formula[1]
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w") as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + _FIXED_ISO.encode(), data
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, data, compresslevel=6)
    return out.getvalue()


def _payments_rows() -> list[list[object]]:
    return [
        ["Date", "Unit", "Book", "Provider", "Category", "Amount", "Reference"],
        [dt.date(2023, 3, 1), 230881, "RES", "同江市人民医院", "inpatient", 1234.5, "ZF-0001"],
        [dt.datetime(2023, 3, 2, 0, 0), "230882", "RES", "富锦市中心医院", "outpatient", 88, "ZF-0002"],
        [dt.date(2023, 3, 3), "230883", "RES", "抚远市人民医院", "inpatient", 1e7, "0000001003"],
    ]


def _number_reference_rows() -> list[list[object]]:
    """(ATTACK11 Y6) ``_payments_rows`` after Excel: row 3's reference ``0000001003`` is the number 1003."""
    rows = _payments_rows()
    rows[3][6] = 1003
    return rows


def build() -> dict[str, bytes]:
    """Every corpus file, by path relative to ``corpus/``."""
    c = COLLECTIONS_HEADER
    good = _payments_rows()
    valid_xlsx = _xlsx(good)
    files: dict[str, bytes] = {
        # --- structurally bad: the reader refuses these --------------------------------
        "valid/gbk_collections.csv": _collections(
            "2023-01-05,230881,RES,同江市税务局,1000.00,ZS-1",
            "2023-01-06,230882,RES,富锦市医疗保障局,2000.00,ZS-2",
            "2023-01-09,230828,RES,佳木斯市第一人民医院,3000.00,ZS-3",
            encoding="gbk",
        ),
        "utf16_collections.csv": b"\xff\xfe" + _collections(*GOOD_COLLECTIONS, encoding="utf-16-le"),
        "missing_column.csv": _csv(
            "date,unit,book,provider,category,reference",
            "2023-03-01,230881,RES,同江市人民医院,inpatient,ZF-1",
        ),
        "valid/extra_column.csv": _csv(c + ",remark", "2023-01-05,230881,RES,同江市税务局,100.00,ZS-1,late"),
        "duplicate_column.csv": _csv(
            "date,unit,book,source,amount,reference,Amount",
            "2023-01-05,230881,RES,同江市税务局,100.00,ZS-1,100.00",
        ),
        "blank_column_name.csv": _csv(c + ",", "2023-01-05,230881,RES,同江市税务局,100.00,ZS-1,"),
        "short_row.csv": _collections(GOOD_COLLECTIONS[0], "2023-01-06,230882,RES,980000.00,ZS-2"),
        "long_row.csv": _collections(
            GOOD_COLLECTIONS[0], "2023-01-06,230882,RES,富锦市税务局,980,000.00,ZS-2"
        ),
        "long_cell.csv": _collections(
            GOOD_COLLECTIONS[0], "2023-01-06,230882,RES," + "富" * 1001 + ",1.00,ZS-2"
        ),
        "unclosed_quote.csv": _collections(
            GOOD_COLLECTIONS[0], '2023-01-06,230882,RES,"富锦市税务局,1.00,ZS-2', GOOD_COLLECTIONS[2]
        ),
        "text_after_quote.csv": _collections(GOOD_COLLECTIONS[0], '2023-01-06,230882,RES,"富锦"市,1.00,ZS-2'),
        "empty.csv": b"",
        "bom_only.csv": b"\xef\xbb\xbf\r\n",
        "blank_first_row.csv": b"\r\n" + _collections(*GOOD_COLLECTIONS),
        "nul_bytes.csv": _collections(GOOD_COLLECTIONS[0])
        + b"2023-01-06,230882,RES,\x00\x00\x00,1.00,ZS-2\r\n",
        "mac_line_endings.csv": _collections(*GOOD_COLLECTIONS, newline="\r"),
        "formula.xlsx": _xlsx(good, formula=("F3", "=F2*2")),
        "number_reference.xlsx": _xlsx(_number_reference_rows()),
        "truncated.xlsx": valid_xlsx[: len(valid_xlsx) // 2],
        "csv_named.xlsx": _collections(*GOOD_COLLECTIONS),
        "old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(504),  # OLE2 header stub, as .xls files begin
        # --- valid ------------------------------------------------------------------------
        "valid/bom_collections.csv": _collections(*GOOD_COLLECTIONS, bom=True),
        "valid/header_only.csv": _csv(c),
        "valid/quoted_cells.csv": _collections(
            GOOD_COLLECTIONS[0],
            '2023-01-06,230882,RES,"富锦市税务局 ""二分局"", 城区","1,234.56", ZS-2 ',
            '2023-01-07,230882,RES,"第一行\r\n第二行",0.01,ZS-3',
        ),
        "valid/reordered_columns.csv": _csv(
            " Reference , AMOUNT,Source,Book,Unit,Date,Component",
            "ZS-1,100.00,同江市税务局,EMP,230881,2023-01-05,pooled",
            "ZS-2,200.00,富锦市税务局,EMP,230882,2023-01-06,personal",
        ),
        "valid/blank_lines.csv": _collections(GOOD_COLLECTIONS[0], "", ",,,,,", "  ,  ", GOOD_COLLECTIONS[1]),
        "valid/payments.xlsx": valid_xlsx,
        # --- structurally fine, values wrong: PostgreSQL validation refuses these ---------
        # Row 2 is valid in every case (a real source), so row 3 is the only thing wrong.
        "values/three_decimals.csv": _collections(
            VALUE_BASE, "2023-01-06,230882,RES,contribution,12.345,ZS-2"
        ),
        "values/negative_amount.csv": _collections(
            VALUE_BASE, "2023-01-06,230882,RES,contribution,-500.00,ZS-2"
        ),
        "values/huge_number.csv": _collections(
            VALUE_BASE, "2023-01-06,230882,RES,contribution,123456789012345678901234567890,ZS-2"
        ),
        "values/date_2023_02_30.csv": _collections(
            VALUE_BASE, "2023-02-30,230882,RES,contribution,1.00,ZS-2"
        ),
        "values/unknown_unit.csv": _collections(
            VALUE_BASE, "2023-01-06,230899,RES,contribution,1.00,ZS-2"
        ),
        "values/unknown_book.csv": _collections(
            VALUE_BASE, "2023-01-06,230882,XYZ,contribution,1.00,ZS-2"
        ),
        # References are the unit's own (0035): the repeat is within one unit.
        "values/duplicate_reference.csv": _collections(
            VALUE_BASE, "2023-01-06,230881,RES,contribution,1.00,ZS-2023-0001同江"
        ),
        "values/blank_amount.csv": _collections(
            VALUE_BASE, "2023-01-06,230882,RES,contribution,,ZS-2"
        ),
    }
    return files


def _same(path: Path, data: bytes) -> bool:
    if not path.exists():
        return False
    old = path.read_bytes()
    if old == data or path.suffix != ".xlsx" or not zipfile.is_zipfile(io.BytesIO(data)):
        return old == data
    # A different zlib may compress differently; the workbook is the same if its members are.
    try:
        with zipfile.ZipFile(io.BytesIO(old)) as a, zipfile.ZipFile(io.BytesIO(data)) as b:
            return a.namelist() == b.namelist() and all(a.read(n) == b.read(n) for n in a.namelist())
    except zipfile.BadZipFile:
        return False


def differences(root: Path = CORPUS) -> list[str]:
    """Corpus files that are missing or differ from what ``build()`` makes (README and extras ignored)."""
    return [name for name, data in build().items() if not _same(root / name, data)]


def write(root: Path = CORPUS, log: Callable[[str], object] = print) -> None:
    for name, data in build().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not _same(path, data):
            path.write_bytes(data)
            log(f"wrote {path.relative_to(root)} ({len(data):,} bytes)")


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = differences()
        for name in stale:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if stale else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
