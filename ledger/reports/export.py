"""Render a ``Report`` to JSON, CSV and XLSX. Formatting only: no arithmetic on money.

Each format has one job, and the choices below follow from it:

* **JSON** is for scripts and golden tests: stable keys, amounts as exact decimal strings
  (``"1234567.89"``; a JSON number would become a float in most readers), and a
  ``deterministic`` mode without the timestamp so two runs compare byte for byte.
* **CSV** is for re-import and quick looks in Excel: UTF-8 *with* BOM (Excel otherwise
  guesses the ANSI code page and shows 佳木斯 as mojibake), amounts as plain ``1234.56``
  (a thousands separator would turn the number into text, or split the field), one
  rectangular table, so notes are left out.
* **XLSX** is for finance officers: every label in the workbook's language (the message
  catalogue: a Chinese workbook has no English header, an English one no Chinese label),
  real numbers with ``#,##0.00``
  formatting, red negatives, frozen headers, autofilter, fitted widths, a bold totals row —
  and for printing as an office prints: A4 landscape, one page wide, the title and header
  rows on every page, warning cells filled red/yellow/green, the signature block
  (单位负责人 / 审核人 / 制表人, 日期) under each statement, a CJK font named.
"""

from __future__ import annotations

import csv
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ledger.core.money import decimal_text, format_yuan
from ledger.core.timezone import fund_time_zone
from ledger.i18n import N_, translate
from ledger.io import ooxml_text
from ledger.reports.labels import person_text
from ledger.reports.model import TOTAL_LABEL, Column, Report, Section, check_lang

__all__ = [
    "FONT_NAME",
    "SHEET_NAME_MAX",
    "SIGNATURE_FIELDS",
    "WARNING_FILLS",
    "XLSX_MAX_EXACT_FEN",
    "dumps",
    "sheet_names",
    "to_json_obj",
    "write_csv",
    "write_json",
    "write_xlsx",
]

PathLike = str | os.PathLike[str]

# --------------------------------------------------------------------------- JSON


def _decimal_plain(value: Decimal) -> str:
    """``Decimal`` as positional text: ``format(d, 'f')`` never gives ``1E+1`` like ``str`` can."""
    return format(value, "f")


def _json_value(col: Column, value: object) -> Any:
    if value is None:
        return None
    if col.kind == "money":
        assert isinstance(value, int)
        return decimal_text(value)
    if isinstance(value, Decimal):
        return _decimal_plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return value  # str (text) or int (int)


def _json_row(columns: Sequence[Column], row: Any) -> dict[str, Any]:
    return {c.key: _json_value(c, row.get(c.key)) for c in columns}


def to_json_obj(report: Report, *, deterministic: bool = False) -> dict[str, Any]:
    """The report as plain JSON-ready data. Keys, in this order (the order is part of the contract)::

        {"report": key, "title": title_en, "title_zh": ..., "region": ..., "period": ...,
         "generated_at": "2025-01-05T09:30:00+08:00",      # omitted when deterministic
         "columns": [key, ...],
         "sections": [{"title": title_en, "title_zh": ...,
                       "rows": [{key: value, ...}, ...],
                       "totals": {key: value, ...} | null}],
         "notes": [text, ...]}

    Every row and totals object lists every column key, in column order, with ``null`` for
    a blank cell (so the totals row's first, label column is ``null``). Money is a decimal
    string with two places (``"-1234.50"``), months and percent are decimal strings as
    given (``"4.25"``), dates ISO (``"2024-12-31"``), counts JSON integers.
    ``generated_at`` is ISO 8601 to the second.
    """
    cols = report.columns
    obj: dict[str, Any] = {
        "report": report.key,
        "title": report.title_en,
        "title_zh": report.title_zh,
        "region": report.region,
        "period": report.period,
    }
    if not deterministic:
        obj["generated_at"] = stamped(report.generated_at).isoformat(timespec="seconds")
    obj["columns"] = [c.key for c in cols]
    obj["sections"] = [
        {
            "title": s.title_en,
            "title_zh": s.title_zh,
            "rows": [_json_row(cols, r) for r in s.rows],
            "totals": None if s.totals is None else _json_row(cols, s.totals),
        }
        for s in report.sections
    ]
    obj["notes"] = list(report.notes)
    return obj


def dumps(report: Report, *, deterministic: bool = False) -> str:
    """``to_json_obj`` as text: UTF-8-ready (``ensure_ascii=False``: 佳木斯 stays readable),
    indent 2, keys in the documented order (not sorted: rows keep column order). No
    trailing newline; ``write_json`` adds one."""
    return json.dumps(to_json_obj(report, deterministic=deterministic), ensure_ascii=False, indent=2)


def write_json(report: Report, path: PathLike, *, deterministic: bool = False) -> None:
    """Write ``dumps(report)`` plus a newline to ``path`` as UTF-8 (no BOM)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps(report, deterministic=deterministic))
        f.write("\n")


def stamped(when: datetime) -> datetime:
    """A report's time as the office reads it: a time stamped in UTC (or without a zone)
    is shown in the fund's time zone (``ledger.core.timezone.fund_time_zone``); a time
    already in a local zone is kept as given."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when.utcoffset() == UTC.utcoffset(None):
        return when.astimezone(fund_time_zone())
    return when


# --------------------------------------------------------------------------- CSV

#: Header of the leading column that says which section a CSV row belongs to.
SECTION_HEADER = N_("section")

# A text cell starting with one of these is run as a formula by Excel and friends
# ("CSV injection"); OWASP's advice is to prefix a single quote. Only text columns are
# touched: a negative amount like -5.00 lives in a money column and is written as is.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(col: Column, value: object) -> str:
    """The JSON cell rules as text, plus the formula guard on text cells."""
    if isinstance(value, str) and col.kind != "money":
        return "'" + value if value.startswith(_FORMULA_START) else value
    out = _json_value(col, value)
    return "" if out is None else str(out)


def write_csv(report: Report, path: PathLike, lang: str = "zh") -> None:
    """Write the report as one CSV table, UTF-8 with BOM, CRLF line ends (what Excel expects).

    * One header line, in ``lang``. With more than one section a leading column
      (``分表``/``section``) holds each row's section title, so the file stays one table.
    * Money is plain decimal text with two places (``-1234.50``), no thousands separator,
      so ``parse_fen`` or Excel read it back exactly. Months/percent as given, dates ISO,
      blank cells empty.
    * A totals row follows its section's rows, with ``合计``/``Total`` in the first
      report column.
    * Text starting with ``= + - @`` (or a tab/CR) gets a leading ``'`` so a spreadsheet
      shows it instead of running it as a formula; text in the report never round-trips
      through CSV byte-exact in that one case. Notes are not written.
    """
    lang = check_lang(lang)
    cols = report.columns
    with_section = len(report.sections) > 1
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        header = [c.header(lang) for c in cols]
        w.writerow([translate(SECTION_HEADER, lang), *header] if with_section else header)
        for s in report.sections:
            lead = [s.title(lang)] if with_section else []
            for row in s.rows:
                w.writerow([*lead, *(_csv_text(c, row.get(c.key)) for c in cols)])
            if s.totals is not None:
                cells = [_csv_text(c, s.totals.get(c.key)) for c in cols]
                cells[0] = TOTAL_LABEL[lang]
                w.writerow([*lead, *cells])


# --------------------------------------------------------------------------- XLSX

SHEET_NAME_MAX = 31  # Excel's limit, counted in UTF-16 code units
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_SHEET_EDGES = re.compile(r"^[\s']+|[\s']+$")  # blanks and apostrophes at either end
_SHEET_RESERVED = "history"  # Excel reserves "History" (any case) for change tracking

#: Largest |fen| written to XLSX as a number. Excel keeps 15 significant digits, so
#: 9,999,999,999,999.99 yuan is the last amount with fen precision; beyond it ``write_xlsx``
#: writes the exact amount as text rather than rounding a fen away. (Ten trillion yuan:
#: never reached by a city fund, but the ledger may hold totals up to 4×10^18 fen.)
XLSX_MAX_EXACT_FEN = 10**15 - 1


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate_utf16(text: str, limit: int) -> str:
    out, used = [], 0
    for ch in text:
        n = _utf16_len(ch)
        if used + n > limit:
            break
        out.append(ch)
        used += n
    return "".join(out)


def _clean_sheet_name(title: str) -> str:
    # Control and other unprintable characters (Cc, Cf, Cs, Co, Cn) cannot go into the XML
    # or confuse Excel; the forbidden punctuation becomes "_"; Excel refuses a name that
    # begins or ends with an apostrophe.
    text = "".join(ch for ch in title if not unicodedata.category(ch).startswith("C"))
    text = _SHEET_BAD.sub("_", text)
    text = _SHEET_EDGES.sub("", _truncate_utf16(text, SHEET_NAME_MAX))
    if not text:
        text = "Sheet"
    if text.casefold() == _SHEET_RESERVED:
        text += "_"
    return text


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Valid, unique Excel sheet names for ``titles``, in order.

    Excel rules enforced: at most 31 characters (UTF-16 units, so an emoji counts two),
    none of ``[ ] : * ? / \\``, no control characters, not empty, no apostrophe at either
    end, not ``History``, and unique *ignoring case* (Excel treats ``Sheet`` and ``SHEET``
    as the same sheet). A clash gets `` (2)``, `` (3)``... with the stem shortened to fit.
    """
    taken: set[str] = set()
    out: list[str] = []
    for title in titles:
        base = _clean_sheet_name(title)
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            stem = _truncate_utf16(base, SHEET_NAME_MAX - len(suffix)).rstrip()
            name = (stem or "Sheet") + suffix
        taken.add(name.casefold())
        out.append(name)
    return out


#: The font every cell names: Noto Sans CJK SC (Debian's fonts-noto-cjk), which
#: LibreOffice finds on a Linux machine; Excel on Windows substitutes a CJK font of its own
#: for a name it lacks, so the Chinese never falls back to boxes.
FONT_NAME = "Noto Sans CJK SC"
_PLAIN = Font(name=FONT_NAME, size=10)
_BOLD = Font(name=FONT_NAME, size=10, bold=True)
_TITLE_FONT = Font(name=FONT_NAME, bold=True, size=14)

#: Warning cells (the monitor's 预警 colour): filled as an office's own sheets are.
WARNING_COLUMNS = ("colour", "balance_rate_colour", "level")
WARNING_FILLS = {
    "red": PatternFill("solid", start_color="FFFFC7CE"),
    "yellow": PatternFill("solid", start_color="FFFFEB9C"),
    "green": PatternFill("solid", start_color="FFC6EFCE"),
    "excess": PatternFill("solid", start_color="FFDDEBF7"),
}

#: The signature block under every statement (单位负责人（签章） / 审核人 / 制表人 / 日期 in
#: Chinese, from the catalogue), a line to sign on each.
SIGNATURE_FIELDS = (N_("Head of unit (signature and seal):"), N_("Reviewed by:"), N_("Prepared by:"), N_("Date:"))
DATE_BLANK = N_("____-__-__")
_HEADER_FILL = PatternFill("solid", start_color="FFD9E1F2")
_THIN = Side(style="thin", color="FF808080")
_TOTAL_BORDER = Border(top=_THIN, bottom=Side(style="double", color="FF808080"))
_HEADER_BORDER = Border(bottom=_THIN)

NUMBER_FORMATS = {
    # Positive;negative. Red negatives: a unit's negative share of the special account
    # is the thing a reader must not miss.
    "money": "#,##0.00;[Red]-#,##0.00",
    "int": "#,##0",
    "months": "0.00",
    "ratio": '0.00" : 1"',
    # Percent values are percentage points (87.5 means 87.5 %), so the sign is a literal
    # and Excel does not multiply by 100.
    "percent": '0.00"%"',
    "date": "yyyy-mm-dd",
}

_HEADER_ROWS = 3  # title, period, headers
_FIRST_DATA_ROW = _HEADER_ROWS + 1
_WIDTH_MIN, _WIDTH_MAX = 8, 60


def _display_width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width view: CJK (wide/full-width) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


# Characters an XLSX cell cannot hold (XML 1.0 forbids C0 controls but tab, newline and CR):
# openpyxl raises on them, so one such character in a memo an officer wrote made every
# workbook holding it fail. Each is written as its visible stand-in (␛ for ESC), one for one.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_text(text: str) -> str:
    # (ATTACK19 J7) a literal _xHHHH_ stored as Excel protects it, or Excel shows another text
    return ooxml_text.stored(_XLSX_ILLEGAL.sub(lambda m: chr(0x2400 + ord(m.group())), text))


def _xlsx_value(col: Column, value: object, where: str) -> object:
    if isinstance(value, str):
        return _xlsx_text(value)
    if col.kind == "money" and value is not None:
        assert isinstance(value, int)
        if abs(value) > XLSX_MAX_EXACT_FEN:
            # Excel would round it to 15 significant digits: written as exact text instead
            # (``format_yuan``), right-aligned, so no fen is lost and no stored value makes
            # the export fail.
            return format_yuan(value)
        # The exact amount as a Decimal built from text (no float arithmetic of ours).
        # openpyxl stores numbers as "%.16g" of the nearest double; with at most 15
        # significant digits that double is the one nearest the exact amount, so Excel
        # shows it to the fen and a reader gets it back (repr(v) == "1234567.89").
        return Decimal(decimal_text(value))
    return value


def _shown(col: Column, value: object, lang: str = "zh") -> str:
    """Roughly what Excel displays, to size the column."""
    if value is None:
        return ""
    if isinstance(value, str):
        return person_text(col.key, value, lang)
    if col.kind == "money":
        assert isinstance(value, int)
        return format_yuan(value)
    if col.kind == "int":
        return f"{value:,}"
    if col.kind in ("months", "percent", "ratio"):
        assert isinstance(value, Decimal)
        return f"{value:.2f}" + {"percent": "%", "ratio": " : 1"}.get(col.kind, "")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_cell(ws: Worksheet, row: int, col_idx: int, col: Column, value: object, where: str,
                lang: str = "zh") -> None:
    # 红/黄/绿/结余过多, states, kinds in words (codes stay in CSV); then made fit for a cell.
    shown = _xlsx_value(col, person_text(col.key, value, lang) if isinstance(value, str) else value, where)
    cell = ws.cell(row=row, column=col_idx, value=shown)
    if isinstance(shown, str):
        # openpyxl turns any str starting with "=" into a formula; report text is data.
        cell.data_type = "s"
        if col.kind == "money":
            cell.alignment = Alignment(horizontal="right")
    fmt = NUMBER_FORMATS.get(col.kind)
    if fmt is not None:
        cell.number_format = fmt
    cell.font = _PLAIN
    if col.key in WARNING_COLUMNS and isinstance(value, str) and value in WARNING_FILLS:
        cell.fill = WARNING_FILLS[value]
        cell.font = _BOLD


def _signature_block(ws: Worksheet, row: int, ncols: int, lang: str,
                     signatures: Sequence[str] = SIGNATURE_FIELDS) -> int:
    """单位负责人 / 审核人 / 制表人 / 日期 (or the report's own fields, the date last),
    each with a line to sign on, spread over the table's width (so the block never widens
    the page); returns the row after it."""
    fields = [translate(f, lang) for f in signatures]
    blanks = ["_" * 12] * (len(fields) - 1) + [translate(DATE_BLANK, lang)]
    texts = [f"{f} {b}" for f, b in zip(fields, blanks, strict=True)]
    groups = min(len(texts), ncols)
    per = [ncols // groups + (1 if i < ncols % groups else 0) for i in range(groups)]
    if groups < len(texts):  # a narrow table: the fields share its cells
        texts = [*texts[:groups - 1], "    ".join(texts[groups - 1:])]
    col = 1
    for text, width in zip(texts, per, strict=True):
        cell = ws.cell(row=row, column=col, value=text)
        cell.data_type = "s"
        cell.font = _PLAIN
        cell.alignment = Alignment(horizontal="left", vertical="bottom", shrink_to_fit=True)
        if width > 1:
            ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + width - 1)
        col += width
    ws.row_dimensions[row].height = 30  # room to sign
    return row + 1


def _page_setup(ws: Worksheet, ncols: int, last_row: int, lang: str, orientation: str = "landscape") -> None:
    """A4 landscape (or the report's orientation), one page wide and as many pages long as it takes, the title and the
    header rows repeated on every page, centred, page numbers in the footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = orientation
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # 0: as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top, ws.page_margins.bottom = 0.5, 0.6
    ws.print_title_rows = f"1:{_HEADER_ROWS}"
    ws.print_area = f"A1:{get_column_letter(ncols)}{last_row}"
    ws.oddFooter.center.text = translate(N_("Page &P of &N"), lang)
    ws.oddFooter.center.font = FONT_NAME


def _write_sheet(ws: Worksheet, report: Report, section: Section, lang: str) -> None:
    cols = report.printed_in(lang)
    ncols = len(cols)
    last_letter = get_column_letter(ncols)
    stamp = stamped(report.generated_at).isoformat(timespec="seconds")

    title = ws.cell(row=1, column=1, value=_xlsx_text(f"{report.title(lang)} — {section.title(lang)} — {report.region}"))
    title.data_type = "s"
    title.font = _TITLE_FONT
    row2 = translate(N_("Period: {period}    Generated: {stamp}"), lang).format(period=report.period, stamp=stamp)
    ws.cell(row=2, column=1, value=row2).data_type = "s"
    ws.cell(row=2, column=1).font = _PLAIN

    for j, c in enumerate(cols, start=1):
        cell = ws.cell(row=_HEADER_ROWS, column=j, value=section.header(c, lang))
        cell.data_type = "s"
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _HEADER_BORDER

    # Headers wrap (at most ~2 lines), so a long English header does not widen its column.
    widths = [min(_display_width(section.header(c, lang)), 16) for c in cols]
    r = _FIRST_DATA_ROW
    for i, data in enumerate(section.rows, start=1):
        for j, c in enumerate(cols, start=1):
            value = data.get(c.key)
            _write_cell(ws, r, j, c, value, f"section {section.title_en!r}, row {i}", lang)
            widths[j - 1] = max(widths[j - 1], _display_width(_shown(c, value, lang)))
        r += 1
    last_data_row = r - 1

    if section.totals is not None:
        for j, c in enumerate(cols, start=1):
            value = TOTAL_LABEL[lang] if j == 1 else section.totals.get(c.key)
            _write_cell(ws, r, j, c, value, f"section {section.title_en!r}, totals", lang)
            cell = ws.cell(row=r, column=j)
            cell.font = _BOLD
            cell.border = _TOTAL_BORDER
            widths[j - 1] = max(widths[j - 1], _display_width(_shown(c, value, lang)))
        r += 1

    if report.notes:
        r += 1
        for note in report.notes:
            cell = ws.cell(row=r, column=1, value=_xlsx_text(note))
            cell.data_type = "s"
            cell.font = _PLAIN
            if ncols > 1:  # wrapped inside the table's width, never past the page's edge
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                total = sum(min(max(w + 2, _WIDTH_MIN), _WIDTH_MAX) for w in widths)
                lines = max(1, -(-_display_width(note) // max(total, 1)))
                ws.row_dimensions[r].height = 14 * lines
            r += 1

    r += 1
    last_row = _signature_block(ws, r, ncols, lang, report.signatures or SIGNATURE_FIELDS) - 1

    for j, w in enumerate(widths, start=1):
        # +2 for padding and the autofilter arrow; CJK text already counted double.
        ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, _WIDTH_MIN), _WIDTH_MAX)

    # Frozen below the header row, so headers stay visible while scrolling. The
    # autofilter sits on the header row right above the data and stops before the totals
    # row, so sorting or filtering never moves 合计 into the data.
    ws.freeze_panes = f"A{_FIRST_DATA_ROW}"
    ws.auto_filter.ref = f"A{_HEADER_ROWS}:{last_letter}{max(last_data_row, _HEADER_ROWS)}"
    _page_setup(ws, ncols, last_row, lang, report.orientation)


def write_xlsx(report: Report, path: PathLike, lang: str = "zh") -> None:
    """Write the report as an Excel workbook, one sheet per section.

    Layout of each sheet (``lang`` picks the language that comes first):

    * row 1: report title — section title — region (bold, larger);
    * row 2: period and generation time;
    * row 3: headers in ``lang``, bold with a fill (one language per workbook: every
      label, the totals row, the signature block and the footer come from the catalogue
      in ``lang``; the monitor's colour codes are shown as words, 红/黄/绿/结余过多);
    * row 4 on: data; then a bold totals row (``合计``/``Total``), then the notes (wrapped
      within the table's width), then the signature block: 单位负责人（签章） / 审核人 /
      制表人 / 日期, each with a line to sign on, spread over the table's columns.

    Printing: A4 landscape, fitted to one page wide (``fitToWidth=1``, ``fitToHeight=0``),
    rows 1–3 repeated on every page (print titles), page numbers in the footer. Every cell
    names ``FONT_NAME`` (Noto Sans CJK SC). The time in row 2 is in the fund's time zone
    (``stamped``). Warning cells (the monitor's ``colour``) are filled red, yellow, green
    (or blue for excess). Columns marked ``data_only`` (account keys, holder codes) are
    left out: the sheet shows their label columns; JSON and CSV keep both.

    Money cells are real numbers, not text, so officers can sum and chart them. An XLSX
    number is an IEEE double, so "exact" means: the cell holds the double nearest the
    exact amount ``Decimal(decimal_text(fen))``; with at most 15 significant digits (Excel's
    own precision) that double displays as the amount and reads back to it —
    ``Decimal(repr(value)) == Decimal('1234567.89')`` and ``round(value * 100) == fen``.
    Larger amounts (above ``XLSX_MAX_EXACT_FEN``) would lose fen as numbers, so they are
    written as exact text (``1,234,…,567.89``, right-aligned) instead of being rounded. Money shows as ``#,##0.00`` with negatives in
    red; months as ``0.00``; percent (points) as ``0.00"%"``; dates as ``yyyy-mm-dd``.
    Text cells are always stored as text (an ``=`` at the start never becomes a formula).

    Panes are frozen below the headers, the autofilter covers the header row 3 and the data
    (not the totals row), and column widths are fitted to the longest header or shown value
    with CJK characters counted double (Excel measures width in Latin digits), capped at 60.
    Sheet names come from ``sheet_names`` applied to the section titles in ``lang``. A
    report without sections still gets one sheet with the headers.
    """
    lang = check_lang(lang)
    sections = report.sections or (Section(report.title_zh, report.title_en, ()),)
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    wb.properties.title = report.title(lang)
    wb.properties.creator = "fundledger"
    for name, section in zip(sheet_names(s.title(lang) for s in sections), sections, strict=True):
        _write_sheet(wb.create_sheet(title=name), report, section, lang)
    wb.save(os.fspath(path))
