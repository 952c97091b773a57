"""Read an import file (CSV or XLSX) strictly and as a stream: structure only, never values.

``open_table(path, fmt)`` checks what can be checked without knowing the ledger: the
file exists and is readable, it is text (UTF-8, with or without a BOM, or GB18030/GBK as
Excel saves "CSV" in a Chinese locale: read as such, with a notice) or a real .xlsx
workbook, the header names the columns of ``fmt`` (any order, any letter case, or by a
Chinese alias of ``ledger.io.normalise``; other columns are ignored with a notice), and
every row has as many cells as the header, none longer than ``MAX_CELL_CHARS``.
``reader.rows()`` then yields ``(row_number, cells)`` with ``cells`` in ``fmt.columns``
order, each stripped text, absent optional columns as ``''``, in canonical form (ISO
dates, unit and book codes when a ``Vocabulary`` is given; ``ledger.io.normalise``).
Value rules (a known unit, an exact amount, a real date, unique references) are checked
later, set-based, in PostgreSQL. ``reader.notices`` says what was read differently from
the plain format (the encoding, ignored columns), for the caller to show.

Row numbers are spreadsheet style: the header is row 1, the first data row is row 2,
and a blank line still counts as a row (so the number matches what Excel shows; a
quoted cell holding a line break does not start a new row). Blank rows are skipped.
Whole-file problems (missing file, empty file) are reported on row 0; encoding and
binary-data problems found while sniffing the first 64 KiB name the line they were seen on.

All-or-nothing: header problems raise ``BadFile`` from ``open_table``. Bad body rows
are *not* yielded; they are collected and ``rows()`` raises ``BadFile`` listing the first
``MAX_ERRORS`` and counting all of them when the file ends (or, for garbage, when
``MAX_COUNTED`` accumulate: "at least …"), so the caller must treat everything it
received as void when that happens (one transaction).

Memory stays bounded whatever the input: CSV is read line by line with a length cap
(``MAX_LINE_BYTES``) and a cap on one row's size (which also catches a quote that is
never closed), so a 1 GB line of garbage costs 64 KiB, not 1 GB. ``csv.field_size_limit``
is deliberately left alone: it is process-wide state, and the caps above bound memory
more tightly without changing other code's CSV parsing.
"""

from __future__ import annotations

import codecs
import csv
import functools
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

from ledger.core.references import CONFUSABLE_HANZI
from ledger.errors import BadFile, RowError
from ledger.i18n import N_, _
from ledger.io.formats import (
    COLUMN_HIDDEN,
    COMPAT_REFERENCE,
    CONFUSABLE_REFERENCE,
    CSV_FORMULA,
    CSV_FORMULA_STARTS,
    CSV_SIGNED_STARTS,
    DATE_CELL,
    FOREIGN_DIGIT,
    FOREIGN_REFERENCE,
    FREE_TEXT_COLUMNS,
    INVISIBLE_REFERENCE,
    LOGICAL_CELL,
    MERGED_CELLS,
    NUMBER_CELL,
    NUMBER_REFERENCE,
    ROW_HIDDEN,
    SCIENTIFIC_REFERENCE,
    SHEET_HIDDEN,
    SHEET_NOT_SHOWN,
    SIMPLIFIED_REFERENCE,
    TEXT_COLUMNS,
    XLSX_INFLATES,
    XLSX_PACKED_OTHERWISE,
    XLSX_TOO_BIG,
    FileFormat,
)
from ledger.io.infile import NotRegularFile, open_regular, shown_name
from ledger.io.normalise import ForeignDigit, Vocabulary, canonical_column, row_cleaner

if TYPE_CHECKING:
    from ledger.io.xlsx_shown import SheetLooks

MAX_CELL_CHARS = 1000
MAX_ERRORS = 200  # problems listed (the same cap as the database's list)
MAX_COUNTED = 10_000  # problems counted before reading stops (garbage is refused fast)
MAX_LINE_BYTES = 64 * 1024
MAX_ROW_BYTES = 64 * 1024  # a legal row is at most ~9 cells x 1,000 chars (x2 if every char is a quote)
SNIFF_BYTES = 64 * 1024

_BOM = codecs.BOM_UTF8
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary Office (.xls)
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_XLSX_BATCH = 256
EXCEL_ROWS = 1_048_576  # a worksheet's last row and column (Excel 2007 and later): a file past
EXCEL_COLUMNS = 16_384  # them was not made by Excel, and padding up to it costs time, not data
# (ATTACK13 W1, W2) A row lower than MIN_ROW_HEIGHT points or a column narrower than
# MIN_COLUMN_WIDTH characters shows nothing a person can read: hidden, as a height or width of 0.
MIN_ROW_HEIGHT = 2.0
MIN_COLUMN_WIDTH = 1.0

# (ATTACK10 X5) Claim numbers are 16-20 digits; Excel keeps 15 significant digits of a number
# and, in a General column, writes a long one in scientific form (``2.02403E+16`` in a CSV) or
# stores it rounded (an XLSX number cell): two claims then share a reference, and the second is
# skipped as already paid. Such a reference is refused where the file is read, whatever the kind.
EXCEL_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?[eE][+-][0-9]+")  # Excel always writes the sign
PG_EXCEL_SCIENTIFIC = f"^{EXCEL_SCIENTIFIC.pattern}$"  # the same, for the plain CSV path's scan in SQL
EXCEL_DIGITS = 15
# The reader's reasons are catalogue messages, worded where they are raised (ATTACK15 A3).
SAVE_AS_UTF8 = N_("save it as UTF-8 (CSV UTF-8) and try again")
NOT_UTF8_GBK = N_("the file is not UTF-8 (it looks like GBK/GB18030); save it as UTF-8 (CSV UTF-8) and try again")
BINARY = N_("the file holds binary data (NUL bytes), not a CSV")
EMPTY = N_("the file is empty")
ROW_PAST_EXCEL = (
    "the worksheet names row {row}, past Excel's last row (1048576): Excel does not make such a file; "
    "copy the table into a new workbook in Excel and save that"
)
COLUMN_PAST_EXCEL = (
    "the worksheet names column {column}, past Excel's last column (16384, XFD): Excel does not make such a "
    "file; copy the table into a new workbook in Excel and save that"
)

# (ATTACK12 Z5) An .xlsx is a zip of XML parts; openpyxl reads the shared strings whole before
# the first row, and one cell's text whole before MAX_CELL_CHARS can look at it. A 515 KB
# workbook holding 512 MB of one repeated character (DEFLATE ~1000:1) cost 1.08 GB of memory
# and was imported. Before openpyxl opens it, the zip's directory is read: a part that inflates
# more than XLSX_MAX_RATIO times its packed size (past the first MiB), or past
# XLSX_MAX_PART_BYTES, or a workbook past XLSX_MAX_BYTES inflated or XLSX_MAX_PARTS parts, is
# refused unread. Excel's XML packs 5-30:1; a full sheet (1,048,576 rows of nine cells) is
# about 0.4 GiB. The directory's sizes are the sender's word, and they hold: Python's zipfile
# (openpyxl's reader) stops a part at its declared size and then fails its CRC.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM = 1 << 20
XLSX_MAX_PART_BYTES = 1 << 30
XLSX_MAX_BYTES = 2 << 30
XLSX_MAX_PARTS = 10_000
# (ATTACK12 Z6) The rows imported are the rows a person opening the file sees: the first
# worksheet, visible, the one the workbook opens on, with no hidden row or column holding
# a value. A hidden first sheet was imported while Excel showed the second; the batch files
# the workbook's SHA-256, so the filed evidence itself showed other payments.

Kind = Literal["csv", "xlsx"]
Cells = tuple[str, ...]
DATE_COLUMNS = frozenset({"date"})  # a date format shows these columns' values (ATTACK13 W2)
_Plan = tuple[int, "Callable[[list[str]], Cells] | None", bool]  # width, reorder (None: as is), pad


class _Fatal(Exception):
    """Reading cannot go on (line too long, damaged workbook): report on the current row and stop."""

    def __init__(self, reason: str, row: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row  # 0: the exact row is unknown


def open_table(path: Path | str, fmt: FileFormat, vocab: Vocabulary | None = None) -> TableReader:
    """Open ``path`` as a ``fmt`` file and check its header; use as a context manager.
    ``vocab`` (the ledger's units and books) lets cells name a unit or book by name.

    Raises ``BadFile`` (every header problem listed) when the file cannot be used at all.
    """
    reader = TableReader(path, fmt, vocab)
    try:
        reader._open()
    except BaseException:
        reader.close()
        raise
    return reader


class TableReader:
    """An open import file whose header has been checked. Iterate ``rows()`` once."""

    def __init__(self, path: Path | str, fmt: FileFormat, vocab: Vocabulary | None = None) -> None:
        self.path = Path(path)
        # The name as given (``data/q1.csv``, or the full path when given one): named in every error and
        # recorded with the batch and its entries' memos — what the officer typed, the same on any
        # machine, not the working directory of the one that read it (readable, storable).
        self.name = shown_name(self.path)
        self.fmt = fmt
        self.kind: Kind = "csv"
        self.header: tuple[str, ...] = ()  # canonical names (or the file's, trimmed and lower-cased) in file order
        self.encoding = "utf-8"
        self.notices: list[str] = []  # what was read differently from the plain format, for the officer
        self.ignored: tuple[str, ...] = ()  # header cells of columns the format does not have
        self._clean = row_cleaner(fmt.columns, vocab or Vocabulary())
        self._fh: IO[bytes] | None = None
        self._wb: Any = None
        self._stream: Iterator[Any] | None = None
        self._plan: _Plan | None = None
        self._started = False

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> TableReader:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not None and hasattr(self._stream, "close"):
            self._stream.close()
        if self._wb is not None:
            self._wb.close()
            self._wb = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @property
    def plain_columns(self) -> list[str] | None:
        """The canonical column names in file order when the file's bytes can go to
        ``COPY`` as they are (UTF-8 CSV, every column one of the format's); else None."""
        if self.kind != "csv" or self.encoding != "utf-8" or self.ignored:
            return None
        return list(self.header)

    def rows(self) -> Iterator[tuple[int, Cells]]:
        """Yield ``(row_number, cells)`` for each good, non-blank row; raise ``BadFile`` at the end
        if any row was bad (those rows are never yielded)."""
        if self._stream is None or self._started:
            raise RuntimeError("rows() reads the file once, inside `with open_table(...)`")
        self._started = True
        return self._stream

    # -- opening and sniffing --------------------------------------------------------
    def _refuse(self, reason: str, row: int = 0, column: str = "") -> BadFile:
        return BadFile(self.name, [RowError(self.name, row, column, reason)])

    def _open(self) -> None:
        try:
            fh = self._fh = open_regular(self.path)  # closed by close()
            sample = fh.read(SNIFF_BYTES)
            fh.seek(0)
        except NotRegularFile as e:
            if os.path.isdir(self.path):
                raise self._refuse(_("this is a folder, not a file")) from None
            raise self._refuse(_("{reason}; fundledger reads only regular files").format(reason=e.reason)) from None
        except FileNotFoundError:
            raise self._refuse(_("the file does not exist")) from None
        except IsADirectoryError:
            raise self._refuse(_("this is a folder, not a file")) from None
        except PermissionError:
            raise self._refuse(_("the file cannot be read (permission denied)")) from None
        except OSError as e:
            raise self._refuse(_("the file cannot be read ({error})").format(error=e.strerror or e)) from None
        body = sample[3:] if sample.startswith(_BOM) else sample
        if len(sample) < SNIFF_BYTES and not body.strip(b" \t\r\n\x0b\x0c"):
            raise self._refuse(_(EMPTY))
        if self.path.suffix.lower() == ".xls" or sample.startswith(_OLE2_MAGIC):
            raise self._refuse(_("this is an old Excel .xls file; save it as .xlsx or CSV (UTF-8) and try again"))
        if sample.startswith(_ZIP_MAGIC):
            self.kind = "xlsx"
            self._stream = self._xlsx_stream()
        elif self.path.suffix.lower() in _XLSX_SUFFIXES:
            raise self._refuse(_("the file is named .xlsx but is not an Excel workbook (damaged or renamed); open it in "
                                 "Excel and save it again as .xlsx"))
        else:
            self._sniff_text(sample)
            self._stream = self._csv_stream(fh)
        raw_header = next(self._stream)  # the stream raises BadFile itself when it must
        self._plan = self._check_header(raw_header)

    def _sniff_text(self, sample: bytes) -> None:
        """Refuse UTF-16/32, binary data, old Mac line endings and non-UTF-8 text early."""
        if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            raise self._refuse(_("the file is UTF-32 text; {next}").format(next=_(SAVE_AS_UTF8)))
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise self._refuse(_("the file is UTF-16 text (Excel 'Unicode Text'); {next}").format(next=_(SAVE_AS_UTF8)))
        nul = sample.find(b"\x00")
        if nul >= 0:
            even, odd = sample[0::2].count(0), sample[1::2].count(0)
            mostly = len(sample) // 5  # ASCII text in UTF-16 has a NUL in every other byte
            if (odd > mostly and not even) or (even > mostly and not odd):
                raise self._refuse(_("the file is UTF-16 text (Excel 'Unicode Text'); {next}").format(next=_(SAVE_AS_UTF8)))
            raise self._refuse(_(BINARY), row=sample.count(b"\n", 0, nul) + 1)
        final = len(sample) < SNIFF_BYTES
        try:
            codecs.getincrementaldecoder("utf-8")().decode(sample, final)
        except UnicodeDecodeError as e:
            if _is_gb18030(sample, final):
                self._read_as_gb18030()
            else:
                raise self._refuse(_not_utf8(sample, e, final), row=sample.count(b"\n", 0, e.start) + 1) from None
        if b"\n" not in sample and b"\r" in sample.rstrip(b"\r"):
            raise self._refuse(_("the lines end in a bare CR (old Mac format); {next}").format(next=_(SAVE_AS_UTF8)))

    def _read_as_gb18030(self) -> None:
        self.encoding = "gb18030"
        self.notices.append(
            "the file is not UTF-8; read as GB18030/GBK (Excel's \"CSV\" in a Chinese locale)"
        )

    def _check_header(self, raw: Sequence[str]) -> _Plan:
        """Map the file's columns onto ``fmt.columns`` (by name or alias); ignore other columns
        with a notice; refuse with every header problem at once."""
        fmt = self.fmt
        names = [canonical_column(n.strip().lower(), fmt.columns) for n in raw]
        self.header = tuple(names)
        expected = _("expected columns: {columns}").format(columns=fmt.describe())
        errors: list[RowError] = []
        first_at: dict[str, int] = {}
        ignored: list[str] = []
        for pos, name in enumerate(names):
            letter = column_letter(pos)
            if not name:
                errors.append(
                    RowError(self.name, 1, letter, _("column {letter} has no name in the header; {expected}").format(
                        letter=letter, expected=expected))
                )
            elif name in first_at:
                if names.index(name, first_at[name] + 1) == pos:  # report each duplicate once
                    where = ", ".join(
                        f"{column_letter(i)} {raw[i].strip()!r}" for i, n in enumerate(names) if n == name
                    )
                    errors.append(
                        RowError(
                            self.name, 1, name, _("duplicate column {name} (columns {where}); {expected}").format(
                                name=repr(name), where=where, expected=expected)
                        )
                    )
            else:
                first_at[name] = pos
                if name not in fmt.columns:
                    ignored.append(f"{letter} {raw[pos].strip()!r}")
        if ignored:
            self.ignored = tuple(ignored)
            self.notices.append(
                f"column(s) {', '.join(ignored)} ignored: not a column of a {fmt.name} file ({fmt.describe()})"
            )
        for name in fmt.required:
            if name not in first_at:
                errors.append(
                    RowError(self.name, 1, name, _("required column {name} is missing; {expected}").format(
                        name=repr(name), expected=expected))
                )
        if errors:
            raise BadFile(self.name, errors)
        width = len(names)
        index = [first_at.get(c, width) for c in fmt.columns]  # position ``width`` is the padding ''
        pad = width in index
        pick: Callable[[list[str]], Cells] | None
        if index == list(range(width)):
            pick = None  # already in canonical order: the common case, and the fastest
        elif len(index) == 1:
            only = index[0]

            def pick_one(rec: list[str]) -> Cells:
                return (rec[only],)

            pick = pick_one
        else:
            pick = itemgetter(*index)
        return width, pick, pad

    def _take_plan(self) -> _Plan:
        assert self._plan is not None
        return self._plan

    # -- CSV -------------------------------------------------------------------------
    def _csv_stream(self, fh: IO[bytes]) -> Iterator[Any]:
        """First yields the raw header, then ``(row, cells)``; the hot loop of the whole layer."""
        file = self.name
        readline = fh.readline
        bad: list[str] = []  # a reason per line that failed to decode, for the row being read
        consumed = 0  # bytes handed to the csv parser so far
        row_start = 0  # ``consumed`` when the current row began

        # UTF-8 until a line is not; if every line before it was ASCII (both encodings
        # agree there) and it reads as GB18030, the rest is read as GB18030 too. GB18030
        # never uses a line break, comma or quote byte inside a character.
        ascii_so_far = self.encoding == "utf-8"

        def lines() -> Iterator[str]:
            nonlocal consumed, ascii_so_far
            encoding = self.encoding
            b = readline(MAX_LINE_BYTES)
            if b.startswith(_BOM):
                b = b[3:]
            while b:
                n = len(b)
                if n >= MAX_LINE_BYTES and b[-1] != 10:
                    raise _Fatal(_("a line is longer than {bytes} bytes (no valid row is); reading stopped").format(
                        bytes=f"{MAX_LINE_BYTES:,}"))
                consumed += n
                if consumed - row_start > MAX_ROW_BYTES:
                    raise _Fatal(_('the row runs past {bytes} bytes: a quote (") is probably never closed; reading '
                                   "stopped").format(bytes=f"{MAX_ROW_BYTES:,}"))
                if b"\x00" in b:
                    bad.append(_(BINARY))
                    b = b.replace(b"\x00", b"")
                if ascii_so_far and not b.isascii():
                    ascii_so_far = False
                    try:
                        b.decode()
                    except UnicodeDecodeError:
                        if _is_gb18030(b, True):
                            self._read_as_gb18030()
                            encoding = self.encoding
                try:
                    s = b.decode(encoding)
                except UnicodeDecodeError as e:
                    bad.append(_not_utf8(b, e, True) if encoding == "utf-8" else
                               _("byte 0x{byte} cannot be read as GB18030; {next}").format(
                                   byte=f"{b[e.start]:02X}", next=_(SAVE_AS_UTF8)))
                    s = b.decode(encoding, errors="replace")  # keeps the parser in step; the row is refused
                yield s
                b = readline(MAX_LINE_BYTES)

        reader = csv.reader(lines(), strict=True)  # a quote never closed is an error, not data
        try:
            header = next(reader, None)
        except (_Fatal, csv.Error, OSError) as e:
            raise self._refuse(_reason(e), row=1) from None
        if bad:
            raise self._refuse(bad[0], row=1)
        if header is None:
            raise self._refuse(_(EMPTY))
        if not "".join(header).strip():
            try:
                if not any("".join(rec).strip() for rec in reader):
                    raise self._refuse(_(EMPTY))
            except (_Fatal, csv.Error, OSError):
                pass
            raise self._refuse(_("row 1 is blank: the first row must name the columns ({columns})").format(
                columns=self.fmt.describe()), row=1)
        yield header

        width, pick, pad = self._take_plan()
        strip = str.strip
        clean = self._clean
        errors = _Problems(file)
        bad_row = errors.add
        columns = self.fmt.columns
        ref = columns.index("reference") if "reference" in columns else -1

        row = 1
        row_start = consumed
        while True:
            try:
                for rec in reader:
                    row += 1
                    size = consumed - row_start
                    row_start = consumed
                    if bad:
                        bad_row(row, "", bad[0])
                        bad.clear()
                        continue
                    if len(rec) != width:
                        if "".join(rec).strip():
                            bad_row(row, "", _("row {row} has {n} cells, the header has {width}").format(row=row, n=len(rec), width=width))
                        continue
                    if size > MAX_CELL_CHARS and max(map(len, rec)) > MAX_CELL_CHARS:
                        pos = next(i for i, c in enumerate(rec) if len(c) > MAX_CELL_CHARS)
                        name = self.header[pos] if self.header[pos] in columns else column_letter(pos)
                        bad_row(row, name, _("the cell is longer than {n:,} characters").format(n=MAX_CELL_CHARS))
                        continue
                    if pad:
                        rec.append("")
                    cells = tuple(map(strip, pick(rec) if pick else rec))
                    if _MAY_RUN.search("\x00".join(cells)) and (run := csv_formula_problem(cells, columns)):
                        bad_row(row, *run)
                        continue
                    if ref >= 0 and (excel := excel_reference_problem(cells[ref])):
                        bad_row(row, "reference", excel)
                        continue
                    if any(cells) and (kept := _cleaned(row, cells, clean, errors)) is not None:
                        yield row, kept
                break
            except csv.Error as e:
                row += 1
                row_start = consumed
                bad.clear()
                bad_row(row, "", _reason(e))
            except (_Fatal, OSError) as e:
                raise errors.fatal(row + 1, _reason(e)) from None
        if errors:
            raise errors.refusal()

    # -- XLSX ------------------------------------------------------------------------
    def _xlsx_stream(self) -> Iterator[Any]:
        """First yields the header texts, then ``(row, cells)``; the first worksheet only."""
        from ledger.io.xlsx_shown import SheetLooks, open_workbook  # CSV-only callers never import openpyxl

        file = self.name
        damaged = _("the workbook is damaged or incomplete ({}); open it in Excel and save it again as .xlsx")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert self._fh is not None
                _check_packed(self._fh, self._refuse)
                # the open file, not the path: openpyxl would refuse a workbook not named .xlsx
                self._wb, string_runs = open_workbook(self._fh)
            sheets = self._wb.worksheets
            if not sheets:
                raise self._refuse(_("the workbook has no worksheet"))
            sheet = sheets[0]
            _check_shown(sheet, self._wb, self._refuse)
            # (ATTACK13 W2) what each imported cell shows a person is its value: drawings over
            # the sheet and custom table styles here, each cell's style below, conditional
            # formats after the rows
            looks = SheetLooks(self._wb, sheet, string_runs)
            drawn = looks.sheet_problem()
            if drawn:
                raise self._refuse(drawn)
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # never trust <dimension>: rows end at their last cell
            source = _stored_rows(sheet, looks) if hasattr(sheet, "_get_source") else _numbered(sheet.iter_rows())
        except BadFile:
            raise
        except Exception as e:  # openpyxl raises many types for a damaged file; all mean the same
            raise self._refuse(damaged.format(_describe(e))) from None

        def cells_by_row() -> Iterator[tuple[Any, ...]]:
            while True:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        batch = list(islice(source, _XLSX_BATCH))
                    except _Fatal:
                        raise
                    except Exception as e:
                        raise _Fatal(damaged.format(_describe(e))) from None
                if not batch:
                    return
                yield from batch

        rows = cells_by_row()
        clean = self._clean
        errors = _Problems(file)
        bad_row = errors.add

        row = 0
        try:
            numbered = next(rows, None)
            row = 1
            if numbered is None:
                raise self._refuse(_(EMPTY))
            # Row 1 is the header; a workbook whose first stored row is further down has a
            # blank row 1 (that row is then read again below, as the first row of data).
            first = numbered[1] if numbered[0] == 1 else ()
            if numbered[0] != 1:
                rows = chain([numbered], rows)
            header = []
            for pos, cell in enumerate(first):
                text, problem = _cell_text(cell)
                if problem:
                    raise self._refuse(problem, 1, column_letter(pos))
                header.append(text)
            while header and not header[-1]:
                header.pop()
            if not header:
                if any(any(_cell_text(c)[0] for c in r) for _, r in rows):
                    raise self._refuse(_("row 1 is blank: the first row must name the columns ({columns})").format(
                        columns=self.fmt.describe()), 1)
                raise self._refuse(_(EMPTY))
            yield header

            width, pick, pad = self._take_plan()
            names = [n if n in self.fmt.columns else column_letter(i) for i, n in enumerate(self.header)]
            # (ATTACK13 W2) the imported columns' cells are judged as shown: 2 a date column, 1 another
            shown = [(2 if n in DATE_COLUMNS else 1) if n in self.fmt.columns else 0 for n in names]
            for pos, cell in enumerate(first[:width]):
                if shown[pos] and cell.value is not None:
                    # a date column's header may carry the column's date format (the whole column formatted)
                    seen = looks.cell_problem(cell, shown[pos] == 2, _cell_text(cell)[0])
                    if seen:
                        bad_row(1, names[pos], seen)
            # (ATTACK11 Y6) a reference or provider column holds text cells only
            text_only = frozenset(i for i, n in enumerate(names) if n in TEXT_COLUMNS)
            ref = names.index("reference") if "reference" in names else -1
            title = str(getattr(sheet, "title", "") or "")
            epoch = getattr(self._wb, "epoch", None)
            for row, cells in rows:
                texts: list[str] = []
                problem = ""
                for pos, cell in enumerate(cells):
                    text, problem = _cell_text(cell)
                    if not problem and pos < width and shown[pos] == 2:
                        text = _serial_on_calendar(cell.value, epoch, text)
                    if pos in text_only and not problem:
                        problem = text_cell_problem(text, cell.value, title)
                        if pos == ref and not problem:
                            problem = excel_reference_problem(text)
                    if not problem and pos < width and shown[pos] and cell.value is not None:
                        problem = looks.cell_problem(cell, shown[pos] == 2, text)
                    if problem:
                        bad_row(row, names[pos] if pos < width else column_letter(pos), problem)
                        break
                    texts.append(text)
                if problem:
                    continue
                while texts and not texts[-1]:
                    texts.pop()
                if len(texts) > width:
                    bad_row(row, "", _("row {row} has {n} cells, the header has {width}").format(row=row, n=len(texts), width=width))
                    continue
                if not texts:
                    continue
                long = next((i for i, t in enumerate(texts) if len(t) > MAX_CELL_CHARS), -1)
                if long >= 0:
                    bad_row(row, names[long], _("the cell is longer than {n:,} characters").format(n=MAX_CELL_CHARS))
                    continue
                texts.extend([""] * (width - len(texts) + pad))
                if (kept := _cleaned(row, pick(texts) if pick else tuple(texts), clean, errors)) is not None:
                    yield row, kept
        except _Fatal as e:
            raise errors.fatal(e.row, e.reason) from None  # batched reading: the row, where known
        if errors:
            raise errors.refusal()


class _Problems:
    """A file's bad rows: the first ``MAX_ERRORS`` listed, every one counted; reading stops
    (``at least …``) when ``MAX_COUNTED`` accumulate, so garbage is refused fast."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.listed: list[RowError] = []
        self.count = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, row: int, column: str, reason: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_ERRORS:
            self.listed.append(RowError(self.file, row, column, reason))
        if self.count >= MAX_COUNTED:
            raise self.refusal(complete=False)

    def fatal(self, row: int, reason: str) -> BadFile:
        """Reading cannot go on: the reason is listed even past the cap."""
        self.count += 1
        self.listed.append(RowError(self.file, row, "", reason))
        return self.refusal()

    def refusal(self, complete: bool = True) -> BadFile:
        return BadFile(self.file, self.listed, total=self.count, complete=complete)


def _cell_text(cell: Any) -> tuple[str, str]:
    """``(text, problem)`` for one XLSX cell: exact text for numbers and dates, or why it is refused."""
    value = cell.value
    if value is None:
        return "", ""
    kind = getattr(cell, "data_type", "n")
    if kind == "f":
        return "", "formula in cell; paste values only"
    if kind == "e":
        return "", f"the cell holds an Excel error ({value}); paste values only"
    if isinstance(value, str):
        return value.strip(), ""
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), ""
    if isinstance(value, int):
        return str(value), ""
    if isinstance(value, float):
        return float_text(value), ""
    if isinstance(value, datetime):
        return value.date().isoformat(), ""
    if isinstance(value, date):
        return value.isoformat(), ""
    return str(value).strip(), ""  # a time or duration: the value check refuses it


def _serial_on_calendar(value: Any, epoch: Any, text: str) -> str:
    """A number in a date column of a workbook on the 1904 date system, as the date Excel shows
    for it (ATTACK16 C6). The reader takes a bare serial (a date cell whose format was lost) on
    the 1900 calendar (``ledger.io.normalise.iso_date``); a 1904 workbook (Excel for Mac's old
    default, still an option in every Excel) counts from 1904-01-01, 1,462 days later, and 45000
    was posted 2023-03-15 where Excel shows 2027-03-16. openpyxl already reads date-formatted
    cells on the workbook's calendar; this is the number cell beside them. Anything else is left
    as it was (a fraction or an out-of-range number: the date check refuses it)."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel

    if epoch != CALENDAR_MAC_1904 or isinstance(value, bool) or not isinstance(value, (int, float)):
        return text
    if value != int(value) or not 1 <= value <= 2_958_465:
        return text
    try:    # (ATTACK16b D2) the bound above is the 1900 calendar's: past 9999-12-31 on the 1904 one
        return str(from_excel(int(value), CALENDAR_MAC_1904).date().isoformat())   # (openpyxl is untyped: Any)
    except (OverflowError, ValueError):
        return text                     # as it was: the date check refuses it, row and column named


def text_cell_problem(text: str, value: Any, sheet: str) -> str:
    """Why an XLSX cell of a column that must be text (``TEXT_COLUMNS``: a reference, a provider)
    is refused, or ``''`` (ATTACK11 Y6): every number, date, time or logical cell, whatever its
    size or display format (a column formatted as Text (文本) after the numbers were typed still
    stores numbers). ``text`` is the cell as ``_cell_text`` reads it, ``value`` what openpyxl
    stored. A text cell is the common case: one type test (a reference's text is then judged by
    ``excel_reference_problem``)."""
    if isinstance(value, str) or value is None:
        return ""
    if isinstance(value, bool):
        return LOGICAL_CELL.format(value=text, sheet=sheet)
    if isinstance(value, (int, float)):
        if not (math.isfinite(value) and float(value).is_integer()) or abs(value) >= 10**EXCEL_DIGITS:
            return NUMBER_REFERENCE.format(value=text, sheet=sheet)  # ATTACK10 X5: digits already lost
        return NUMBER_CELL.format(value=text, sheet=sheet)
    if isinstance(value, (datetime, date, time, timedelta)):
        return DATE_CELL.format(value=text, sheet=sheet)
    return NUMBER_CELL.format(value=text, sheet=sheet)


# A cell that starts with a character Excel may run (ATTACK15 A2): one search of the row's cells
# joined by NUL (a cell holds no NUL: the line's NULs refuse the row first), so the hot loop pays one
# regex call per row and looks at the columns only when one may be a formula.
_MAY_RUN = re.compile("(?:^|\x00)[" + re.escape(CSV_FORMULA_STARTS + CSV_SIGNED_STARTS) + "]")


def csv_formula_problem(cells: Sequence[str], columns: Sequence[str]) -> tuple[str, str] | None:
    """``(column, reason)`` for the first CSV cell Excel would run as a formula (``=``, ``@`` in
    any column; ``+``, ``-`` in a free-text one, where a sign is no amount's), or None.
    ``cells`` are in ``columns``' order, stripped."""
    for name, text in zip(columns, cells, strict=False):
        c = text[:1]
        if c and (c in CSV_FORMULA_STARTS or (c in CSV_SIGNED_STARTS and name in FREE_TEXT_COLUMNS)):
            return name, CSV_FORMULA.format(value=text, char=c)
    return None


def excel_reference_problem(text: str) -> str:
    """Why a reference's text is refused, or ``''``: a number Excel has changed (ATTACK10 X5:
    Excel's scientific form, a CSV saved from a General column; an XLSX cell's type is judged by
    ``text_cell_problem``), or a character that makes it read like another (ATTACK12 Z3:
    ``reference_form_problem``). Cheap for an ordinary reference: printable ASCII is one test."""
    if ("E" in text or "e" in text) and EXCEL_SCIENTIFIC.fullmatch(text):
        return SCIENTIFIC_REFERENCE.format(value=text)
    if _PLAIN_ASCII.fullmatch(text):
        return ""
    return reference_form_problem(text)


_PLAIN_ASCII = re.compile(r"[ -~]*")
PG_NOT_PLAIN_ASCII = "[^ -~]"  # the plain CSV path's scan: a reference with any other character goes to the reader
# Unicode categories a reference may not hold: controls, format characters (zero-width space,
# joiners, BOM, bidi marks), line and paragraph separators, private use, surrogates, unassigned.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_CHAR_NAMES_ZH = {
    0x09: "制表符", 0x0A: "换行符", 0x0D: "回车符", 0x00A0: "不换行空格", 0x00AD: "软连字符", 0x200B: "零宽空格",
    0x200C: "零宽不连字", 0x200D: "零宽连字", 0x200E: "从左到右标记", 0x200F: "从右到左标记", 0x2028: "行分隔符",
    0x2029: "段分隔符", 0x202F: "窄不换行空格", 0x2060: "字连接符", 0x3000: "全角空格", 0xFEFF: "零宽不换行空格（BOM）",
}
_CATEGORY_ZH = {"Cc": "控制字符", "Cf": "格式字符", "Zl": "行分隔符", "Zp": "段分隔符", "Co": "私用区字符",
                "Cs": "代理码位", "Cn": "未分配码位", "Zs": "非普通空格", "Mn": "单独的组合符号", "Me": "单独的组合符号"}


def describe_char(c: str) -> str:
    """``U+200B (ZERO WIDTH SPACE, 零宽空格)``: a character named so that a person can find it."""
    cat = unicodedata.category(c)
    zh = _CHAR_NAMES_ZH.get(ord(c)) or _CATEGORY_ZH.get(cat, cat)
    name = unicodedata.name(c, "") or {"Cc": "CONTROL", "Co": "PRIVATE USE", "Cn": "UNASSIGNED"}.get(cat, cat)
    return f"U+{ord(c):04X} ({name}, {zh})"


def _foreign_digit(e: ForeignDigit) -> str:
    return FOREIGN_DIGIT.format(value=e.text, char=describe_char(e.char))


def _cleaned(row: int, cells: Cells, clean: Callable[[Cells], Cells] | None, problems: _Problems) -> Cells | None:
    """The row in canonical text (``row_cleaner``), or None with the row named in ``problems``
    when a cell holds a digit other than ASCII 0-9 (ATTACK14 V5): one rule for the CSV and the
    XLSX readers."""
    if clean is None:
        return cells
    try:
        return clean(cells)
    except ForeignDigit as e:
        problems.add(row, e.column, _foreign_digit(e))
        return None


def shown_reference(text: str) -> str:
    """The reference with every character a reader cannot see written as ``<U+200B>``."""
    return "".join(f"<U+{ord(c):04X}>" if _hidden(c) else c for c in text)


def _hidden(c: str) -> bool:
    cat = unicodedata.category(c)
    return cat in _REFUSED_CATEGORIES or (cat == "Zs" and c != " ")


# (ATTACK14 V1) What a reference may hold, by name: printable ASCII, the basic block's CJK unified
# ideographs (U+4E00–U+9FFF) and 〇, and the CJK punctuation of document numbers
# (、。《》「」『』【】〔〕〖〗). The same ranges as fl.reference_form_ok (0098, 0111); a closed
# repertoire ends the class "a character that reads like another" (a variation selector, a Hangul
# filler, a Braille blank, a Cyrillic А) that a list of refused categories left open. (ATTACK15 A5)
# Not the extension blocks A–G: ~90,000 rare characters outside GBK, among them glyph variants of
# everyday ones (𠮷 U+20BB7 is drawn like 吉); no office's document numbers use them.
_BASIC_REPERTOIRE = " -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u4e00-\u9fff"
_REFERENCE_REPERTOIRE = re.compile(f"[{_BASIC_REPERTOIRE}]*")


# (ATTACK15b B6) The widest repertoire any release admitted (0098's: 汉字 of every CJK block): what a
# stored posting's line reference is held to (CHECK posting_line_ref_form, fl.line_ref_form_ok, 0118),
# since the rows it names were written under it. New references meet the narrower rule above first.
_WIDE_REPERTOIRE = re.compile(f"[{_BASIC_REPERTOIRE}\u3400-\u4dbf\U00020000-\U0002ebef\U00030000-\U0003134f]*")


# (ATTACK15b B3) The 汉字 a new reference may hold: GB2312's 6,763 (levels 1 and 2, all in the basic
# block). The basic block also keeps the traditional and Japanese forms drawn almost like everyday
# characters (內/内, 呂/吕, 戸/户): `內-1` was another reference than the paid `内-1`. The same set as
# fl.reference_hanzi_ok (0122, a bitmap written from this codec); 〇 and the punctuation are judged by
# the repertoire. Pairs GB2312 holds both of (乾/干, 於/于, 後/后 …) are drawn differently: distinct.
@functools.cache
def gb2312_hanzi() -> frozenset[str]:
    """GB2312's 6,763 汉字 (rows 16-87 of the code), read from Python's gb2312 codec."""
    out = set()
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(out)


# (0134, ATTACK16b D5) GB2312's radicals drawn like a common character or mark: refused in a new
# reference (``ledger.core.references.CONFUSABLE_HANZI``, the table fl.reference_confusable holds).
def _confusable(text: str) -> str | None:
    """The first radical of ``CONFUSABLE_HANZI`` in ``text``, or None."""
    return next((c for c in text if c in CONFUSABLE_HANZI), None)


def _not_simplified(text: str) -> str | None:
    """The first basic-block 汉字 of ``text`` outside GB2312, or None."""
    hanzi = gb2312_hanzi()
    return next((c for c in text if "\u4e00" <= c <= "\u9fff" and c not in hanzi), None)


def reference_form_problem(text: str, *, wide: bool = False, worded: bool = False) -> str:
    """Why a reference is refused as reading like another (ATTACK12 Z3, ATTACK14 V1), or ``''``:
    it holds a character that does not show (``_REFUSED_CATEGORIES``, a space other than U+0020, a
    combining mark with nothing to combine with), it is not in NFKC form (full-width ``ＺＡ``,
    ``Ⅻ``, a decomposed accent), it holds a character outside the repertoire of references
    (``_REFERENCE_REPERTOIRE``: a default-ignorable mark, a blank, a letter of another script), or
    it begins or ends with a space. The same rule as the database's ``fl.reference_form_ok``
    (0098), which cannot tell unassigned code points: the reader is the precise check. ``worded``:
    in the user's language (a refusal raised with it; the reader's English is worded at the CLI)."""
    t: Callable[[str], str] = _ if worded else str
    for i, c in enumerate(text):
        cat = unicodedata.category(c)
        if _hidden(c) or (cat in ("Mn", "Me") and (i == 0 or _hidden(text[i - 1]) or text[i - 1] == " ")):
            return t(INVISIBLE_REFERENCE).format(value=shown_reference(text), char=describe_char(c))
    if not unicodedata.is_normalized("NFKC", text):
        return t(COMPAT_REFERENCE).format(value=text, fixed=unicodedata.normalize("NFKC", text))
    repertoire = _WIDE_REPERTOIRE if wide else _REFERENCE_REPERTOIRE
    if not repertoire.fullmatch(text):
        c = next(c for c in text if not repertoire.fullmatch(c))
        return t(FOREIGN_REFERENCE).format(value=shown_foreign(text), char=describe_char(c))
    if text != text.strip(" "):
        return t(INVISIBLE_REFERENCE).format(value=shown_reference(text), char=describe_char(" "))
    if not wide and (radical := _confusable(text)) is not None:
        like = CONFUSABLE_HANZI[radical]
        return t(CONFUSABLE_REFERENCE).format(value=text, char=f"{radical} (U+{ord(radical):04X})",
                                              like=f"{like} (U+{ord(like):04X})", write=like)
    if not wide and (other := _not_simplified(text)) is not None:
        return t(SIMPLIFIED_REFERENCE).format(value=text, char=f"{other} (U+{ord(other):04X})")
    return ""


def shown_foreign(text: str) -> str:
    """The reference with every character outside the repertoire written as ``<U+FE0F>``."""
    return "".join(c if _REFERENCE_REPERTOIRE.fullmatch(c) else f"<U+{ord(c):04X}>" for c in text)


def float_text(value: float) -> str:
    """Exact text for a spreadsheet number: ``1234.5`` → ``'1234.5'``, ``1e20`` → digits.

    Shortest-repr with at most two decimals is written out in plain digits; anything finer
    (``12.345``, binary noise like ``0.30000000000000004``) keeps its repr text so the
    amount check refuses it instead of this layer rounding money.
    """
    text = repr(value)
    if not math.isfinite(value):
        return text
    exact = Decimal(text)
    exponent = exact.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -2:
        return text
    if exact == exact.to_integral_value():
        return str(int(exact))
    return format(exact, "f")


def column_letter(pos: int) -> str:
    """Spreadsheet column name for a 0-based position: 0 → A, 26 → AA."""
    letters = ""
    pos += 1
    while pos:
        pos, rem = divmod(pos - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _is_gb18030(data: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("gb18030")().decode(data, final)
    except UnicodeDecodeError:
        return False
    return True


def _not_utf8(data: bytes, err: UnicodeDecodeError, final: bool) -> str:
    if _is_gb18030(data, final):
        return _(NOT_UTF8_GBK)
    return _("the file is not UTF-8 (byte 0x{byte} cannot be read); {next}").format(byte=f"{data[err.start]:02X}",
                                                                                     next=_(SAVE_AS_UTF8))


def _reason(e: BaseException) -> str:
    if isinstance(e, _Fatal):
        return e.reason
    if isinstance(e, csv.Error):
        text = str(e)
        if "end of data" in text:
            return _('a quote (") opened in this row is never closed')
        if "expected after" in text:
            return _('text follows the closing quote (") of a cell; quote the whole cell or remove the quote')
        if "new-line" in text:
            return _("a line break (CR) inside a cell that is not quoted; the line endings are damaged")
        return _("the row is not valid CSV ({error})").format(error=text)
    if isinstance(e, OSError):
        return _("the file could not be read ({error}); reading stopped").format(error=e.strerror or e)
    return str(e)


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0][:120] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _numbered(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Rows as ``(row number, cells)`` from a reader that pads every row (a writable sheet)."""
    for n, cells in enumerate(rows, start=1):
        if n > EXCEL_ROWS:
            raise _Fatal(_past_the_sheet(n, 0), n)
        yield n, cells


def _stored_rows(sheet: Any, looks: SheetLooks) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The rows a read-only worksheet stores, as ``(Excel's row number, cells)``.

    openpyxl's own ``iter_rows`` yields an empty row for every row number a ``<row r="N">``
    skips, and pads a row's cells up to its last column: a 5 KB workbook naming row
    1,000,000,000,000 (or column 10⁹) keeps the reader busy for days before anything is
    refused (ATTACK10 X8). Here gaps are skipped, not walked (an empty row is read as
    nothing anyway), and a row or column past Excel's last is refused when it is met. The
    parser and the row builder are openpyxl's own (``WorkSheetParser``, ``_get_row``), the
    ones ``iter_rows`` uses; ``looks`` makes the parser and notes what it skips (rich text
    runs, Excel 2010's conditional formats) for the cells' looks (ATTACK13 W2)."""
    with sheet._get_source() as src:
        parser = looks.parser_for(src)
        last_row = 0
        hidden_columns: _Columns | None = None
        rows_hidden: bool | None = None   # the sheet's zeroHeight: a row without a height of its own is hidden
        for n, cells in parser.parse():
            last = max((c["column"] for c in cells), default=0)
            if n > EXCEL_ROWS or last > EXCEL_COLUMNS:
                raise _Fatal(_past_the_sheet(n, last), n)
            if not cells:
                continue
            row = sheet._get_row(cells, 1, last)
            if n == 1:   # the header's width: the table a conditional format must keep off
                looks.width = max((c["column"] for c in cells if c["value"] not in (None, "")), default=0)
            held = [i for i, c in enumerate(row) if getattr(c, "value", None) not in (None, "")]
            if held:
                if rows_hidden is None:      # <sheetFormatPr> and <cols> precede <sheetData>: known by now
                    fmt = getattr(parser, "sheet_format", None)
                    rows_hidden = _is_true(getattr(fmt, "zeroHeight", None)) or _thin(
                        getattr(fmt, "defaultRowHeight", None), MIN_ROW_HEIGHT)
                    hidden_columns = _hidden_columns(parser.column_dimensions, _default_width(fmt))
                if _row_hidden(parser.row_dimensions.get(str(n)), rows_hidden):
                    raise _Fatal(ROW_HIDDEN.format(row=n), n)
                assert hidden_columns is not None
                shut = [i for i in held if (i + 1 in hidden_columns) != hidden_columns.inverted]
                if shut:
                    raise _Fatal(COLUMN_HIDDEN.format(column=column_letter(shut[0])), n)
                last_row = n
            yield n, row
        # <mergeCells> follows <sheetData>: known only now. The import is all or nothing, so a
        # refusal after the last row still writes nothing (ATTACK13 W1: F3 under E3:F3 was imported).
        for ref in _merged(getattr(parser, "merged_cells", None)):
            raise _Fatal(MERGED_CELLS.format(ref=ref), _first_row(ref))
        # <conditionalFormatting> too (ATTACK13 W2): a rule over the table may show any cell otherwise
        formatted = looks.after_rows(last_row)
        if formatted:
            raise _Fatal(formatted, 0)


def _is_true(value: Any) -> bool:
    return value is True or str(value or "").lower() in ("1", "true")


def _size(attrs: dict[str, Any], name: str) -> float | None:
    try:
        return float(attrs[name]) if name in attrs else None
    except (TypeError, ValueError):
        return None


def _is_hidden(attrs: Any) -> bool:
    return isinstance(attrs, dict) and _is_true(attrs.get("hidden"))


def _row_hidden(attrs: Any, by_default: bool) -> bool:
    """Hidden in Excel (ATTACK12 Z6, ATTACK13 W1): ``hidden``, a height of 0, or the sheet's
    ``zeroHeight`` for a row without a height of its own."""
    attrs = attrs if isinstance(attrs, dict) else {}
    if _is_hidden(attrs):
        return True
    height = _size(attrs, "ht")
    if height is not None and height < MIN_ROW_HEIGHT:
        return True
    return by_default and not (height is not None and height > 0)


def _merged(cells: Any) -> Iterator[str]:
    """The references of merged ranges of more than one cell."""
    for m in getattr(cells, "mergeCell", None) or ():
        ref = str(getattr(m, "ref", "") or "")
        if ":" in ref and ref.split(":")[0] != ref.split(":")[1]:
            yield ref


def _first_row(ref: str) -> int:
    digits = "".join(ch for ch in ref.split(":")[0] if ch.isdigit())
    return int(digits) if digits else 0


class _Columns(frozenset[int]):
    """Column numbers: the hidden ones, or (``inverted``) the only ones shown."""

    inverted = False


class _ShownColumns(_Columns):
    inverted = True


def _default_width(fmt: Any) -> float | None:
    """A column's width without a ``<col>`` of its own: ``defaultColWidth``, else ``baseColWidth``."""
    for name in ("defaultColWidth", "baseColWidth"):
        value = getattr(fmt, name, None)
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def _thin(value: Any, least: float) -> bool:
    try:
        return value is not None and float(value) < least
    except (TypeError, ValueError):
        return False


def _hidden_columns(dims: Any, default_width: float | None = None) -> _Columns:
    """The 1-based column numbers a worksheet's ``<cols>`` hides (a ``<col>`` spans min..max):
    hidden, or narrower than ``MIN_COLUMN_WIDTH`` characters (a width of 0.1 shows a pixel).
    When the sheet's default width is that narrow (``defaultColWidth="0"``), every column
    without a ``<col>`` of its own is hidden: the answer is then the columns shown."""
    hidden: set[int] = set()
    shown: set[int] = set()
    for attrs in (dims or {}).values():
        width = _size(attrs, "width") if isinstance(attrs, dict) else None
        try:
            lo, hi = int(attrs.get("min", 0)), int(attrs.get("max", 0))
        except (TypeError, ValueError, AttributeError):
            continue
        span = range(max(lo, 1), min(hi, EXCEL_COLUMNS) + 1)
        narrow = width is not None and width < MIN_COLUMN_WIDTH
        if _is_hidden(attrs) or narrow or (width is None and _thin(default_width, MIN_COLUMN_WIDTH)):
            hidden.update(span)
        else:
            shown.update(span)
    if _thin(default_width, MIN_COLUMN_WIDTH):
        return _ShownColumns(shown)
    return _Columns(hidden)


def _check_packed(fh: IO[bytes], refuse: Callable[[str], BadFile]) -> None:
    """Refuse a workbook whose parts unpack past what Excel makes (ATTACK12 Z5), from the zip's
    directory, before anything is unpacked. Not a zip: left to openpyxl's own message."""
    import zipfile

    try:
        parts = zipfile.ZipFile(fh).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        fh.seek(0)
        return
    fh.seek(0)
    total = 0
    for info in parts:
        # (ATTACK13 W3) Only DEFLATE stops at the declared size while unpacking (zipfile passes
        # it as max_length); bzip2 and LZMA unpack a part whole, then cut it: a 5.9 KB workbook
        # took 2.1 GB. Excel and WPS write stored or deflated parts, never encrypted ones.
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 1:
            how = "encrypted" if info.flag_bits & 1 else f"method {info.compress_type}"
            raise refuse(XLSX_PACKED_OTHERWISE.format(part=info.filename, how=how))
        size, packed = info.file_size, max(info.compress_size, 1)
        total += size
        if size > XLSX_MAX_PART_BYTES or (size > XLSX_RATIO_FROM and size > XLSX_MAX_RATIO * packed):
            raise refuse(XLSX_INFLATES.format(part=info.filename, size=size, packed=info.compress_size,
                                              ratio=size // packed))
    if total > XLSX_MAX_BYTES or len(parts) > XLSX_MAX_PARTS:
        raise refuse(XLSX_TOO_BIG.format(limit=XLSX_MAX_BYTES, parts=len(parts)))


def _check_shown(sheet: Any, book: Any, refuse: Callable[[str], BadFile]) -> None:
    """The first worksheet is read: it must be visible and the one the workbook opens on
    (ATTACK12 Z6), so that whoever opens the filed workbook sees the rows imported."""
    title = str(getattr(sheet, "title", "") or "")
    if getattr(sheet, "sheet_state", "visible") != "visible":
        raise refuse(SHEET_HIDDEN.format(sheet=title))
    shown = book.active
    if shown is not None and shown is not sheet:
        raise refuse(SHEET_NOT_SHOWN.format(shown=str(getattr(shown, "title", "") or ""), sheet=title))


def _past_the_sheet(row: int, column: int) -> str:
    if row > EXCEL_ROWS:
        return ROW_PAST_EXCEL.format(row=row)
    return COLUMN_PAST_EXCEL.format(column=column)
