"""What a person opening an imported workbook sees in the table's cells (ATTACK13 W2).

The import takes each cell's stored value; the filed workbook (its SHA-256 in the batch) is
what an officer, a reviewer or an auditor opens. A cell shows another value than the one
imported when its number format scales, hides or replaces it (``ledger.io.xlsx_number_formats``),
when its text is painted in its background's colour (white on white, a ``[White]`` format,
a theme colour on the same theme fill), too small to read, struck through (it reads as
void) or repeated to fill the cell, when part of a rich text is, when a conditional format
over the table may change any of that for some values, when a custom table style colours
it, or when a picture, shape or always-shown comment lies over it. Each is refused, naming
the worksheet, the row and the column and saying what to clear; the import is all or nothing.

The styles are read as openpyxl reads ``styles.xml`` (``cellXfs`` → numFmtId, fontId, fillId,
alignment; a file's own ``numFmt`` for a built-in id wins, as in Excel). Colours are resolved
to RGB through the workbook's theme (``clrScheme``, with its tint), its indexed palette
(``<colors>`` or the default) or their own ``rgb``; one that cannot be resolved is compared
as written. A style's verdict is computed once per (style, date column or not).
"""

from __future__ import annotations

import colorsys
import posixpath
import re
from collections.abc import Iterator
from typing import IO, Any

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._reader import WorkSheetParser

from ledger.io import ooxml_text
from ledger.io.formats import (
    CELL_UNSEEN,
    CONDITIONAL_FORMAT,
    FORMAT_FEWER_PLACES,
    FORMAT_SHOWN,
    SHEET_DRAWING,
    STYLE_MISSING,
    TABLE_STYLE,
    TEXT_REPEATED,
    TEXT_RUN,
    TEXT_SAME_COLOUR,
    TEXT_STRUCK,
    TEXT_TINY,
)
from ledger.io.xlsx_number_formats import BUILTIN_LIMIT, format_problem

RGB = tuple[int, int, int]
BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)
MIN_CONTRAST = 1.5    # WCAG contrast ratio below which text is not read against its background
MIN_FONT_SIZE = 6.0   # points: Excel's default is 11, a Chinese office's 10 to 12
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_X14 = "{http://schemas.microsoft.com/office/spreadsheetml/2009/9/main}"
_XM = "{http://schemas.microsoft.com/office/excel/2006/main}"
_DRAWINGML = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_THEME_ORDER = ("lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6",
                "hlink", "folHlink")  # SpreadsheetML's theme="0" is lt1 (bg1), theme="1" dk1 (tx1)

_VML_VISIBLE = re.compile(rb"<(?:[\w.-]+:)?visible\b")  # <x:Visible/>: a comment always shown
Run = tuple[Any, float | None, bool]  # a rich text run's colour (openpyxl Color or None), size, struck


class _Reader(ExcelReader):  # type: ignore[misc]
    """openpyxl's workbook reader, its shared strings read as openpyxl reads them (the same
    text), noting besides which strings are rich text with runs of their own colour, size or
    strike (``runs``: string index → runs)."""

    runs: dict[int, tuple[Run, ...]]

    def read_strings(self) -> None:
        from openpyxl.xml.constants import SHARED_STRINGS
        from openpyxl.xml.functions import iterparse

        self.runs = {}
        ct = self.package.find(SHARED_STRINGS)
        if ct is None:
            return
        strings: list[str] = []
        tag = f"{_MAIN}si"
        with self.archive.open(ct.PartName[1:]) as src:
            for _, node in iterparse(src):
                if node.tag == tag:
                    text = Text.from_tree(node)
                    if text.r:
                        runs = _runs(text)
                        if runs:
                            self.runs[len(strings)] = runs
                    # (ATTACK19 J7) as Excel shows it: every _xHHHH_ decoded (openpyxl's
                    # read_string_table strips only x005F_)
                    strings.append(_shown(text))
                    node.clear()
        self.shared_strings = strings


def _shown(text: Any) -> str:
    """A string item as Excel shows it: each run's text decoded on its own (ATTACK19b K7: an
    escape is a property of one ``<t>``; ``_x00`` in one run and ``31_`` in the next are no escape)."""
    parts = [] if text.plain is None else [ooxml_text.shown(text.plain)]
    parts += [ooxml_text.shown(b.t) for b in text.formatted if b.t is not None]
    return "".join(parts)


def open_workbook(fh: IO[bytes]) -> tuple[Any, dict[int, tuple[Run, ...]]]:
    """``load_workbook(fh, read_only=True)`` and the rich text runs of its shared strings."""
    reader = _Reader(fh, read_only=True, data_only=False)
    reader.read()
    return reader.wb, reader.runs


def _runs(text: Any) -> tuple[Run, ...]:
    """The runs of a rich text that set a colour, a size or a strike, and show something."""
    out: list[Run] = []
    for r in text.r or ():
        font = r.rPr
        if font is None or not (r.t or "").strip():
            continue
        size = _float(getattr(font, "sz", None))
        if font.color is not None or size is not None or font.strike:
            out.append((font.color, size, bool(font.strike)))
    return tuple(out)


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class SheetParser(WorkSheetParser):  # type: ignore[misc]
    """openpyxl's worksheet parser, noting what it skips: the rich text runs of a cell (shared
    or inline), and the conditional formats of Excel 2010 (``x14``, in the sheet's ``extLst``)."""

    def __init__(self, *args: Any, runs: dict[int, tuple[Run, ...]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.string_runs = runs
        self.rich: dict[tuple[int, int], tuple[Run, ...]] = {}
        self.x14_ranges: list[str] = []

    def parse_row(self, row: Any) -> tuple[int, list[dict[str, Any]]]:
        n, cells = super().parse_row(row)
        shared = self.string_runs
        for el, cell in zip(row, cells, strict=False):
            kind = el.get("t")
            if kind == "str" and cell["data_type"] == "s" and isinstance(cell["value"], str):
                cell["value"] = ooxml_text.shown(cell["value"])   # (ATTACK19 J7) as Excel shows it
            elif kind == "inlineStr" and cell["data_type"] == "s" and isinstance(cell["value"], str):
                node = el.find(f"{_MAIN}is")
                if node is not None:
                    cell["value"] = _shown(Text.from_tree(node))
            if kind == "s" and shared:
                try:
                    runs = shared.get(int(el.findtext(f"{_MAIN}v") or -1))
                except ValueError:
                    runs = None
                if runs:
                    self.rich[(n, cell["column"])] = runs
            elif kind == "inlineStr":
                node = el.find(f"{_MAIN}is")
                if node is not None:
                    runs = _runs(Text.from_tree(node))
                    if runs:
                        self.rich[(n, cell["column"])] = runs
        return n, cells

    def parse_extensions(self, element: Any) -> None:
        for cf in element.iter(f"{_X14}conditionalFormatting"):
            for ref in cf.iter(f"{_XM}sqref"):
                self.x14_ranges.append(ref.text or "")


class SheetLooks:
    """The looks of one worksheet's cells, judged per style (see the module's docstring)."""

    def __init__(self, wb: Any, sheet: Any, runs: dict[int, tuple[Run, ...]]) -> None:
        self.wb = wb
        self.sheet = sheet
        self.title = str(getattr(sheet, "title", "") or "")
        self.string_runs = runs
        self.parser: SheetParser | None = None
        self.width = 0                       # the header's columns, once read: the table's width
        self._verdicts: dict[tuple[int, bool], tuple[str, int | None]] = {}
        self._palette = [str(c) for c in (getattr(wb, "_colors", None) or ())]
        self._theme: list[RGB] | bool | None = False   # False: not read yet

    # -- the parser -------------------------------------------------------------------------
    def parser_for(self, src: Any) -> SheetParser:
        book = self.sheet.parent
        self.parser = SheetParser(src, self.sheet._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                  date_formats=book._date_formats, timedelta_formats=book._timedelta_formats,
                                  runs=self.string_runs)
        return self.parser

    # -- a cell ------------------------------------------------------------------------------
    def cell_problem(self, cell: Any, date_column: bool, text: str) -> str:
        """Why ``cell`` (a value imported as ``text``) shows a person another value, or ``''``."""
        sid = getattr(cell, "_style_id", 0) or 0
        key = (sid, date_column)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._judge(sid, date_column)
        why, places = verdict
        if why:
            return why
        if places is not None and type(cell.value) is float and "." in text:
            shown = len(text) - text.index(".") - 1
            if shown > places:
                code = self._format_code(self.wb._cell_styles[sid].numFmtId)
                return FORMAT_SHOWN.format(format=code, sheet=self.title,
                                           why=FORMAT_FEWER_PLACES.format(places=places, value=text))
        parser = self.parser
        if parser is not None and parser.rich:
            runs = parser.rich.get((cell.row, cell.column))
            if runs:
                return self._runs_problem(sid, runs)
        return ""

    def _format_code(self, fmt_id: int) -> str:
        from ledger.io.xlsx_number_formats import BUILTIN

        if fmt_id >= BUILTIN_LIMIT:
            return str(self.wb._number_formats[fmt_id - BUILTIN_LIMIT])
        return BUILTIN.get(fmt_id, f"#{fmt_id}")

    def _judge(self, sid: int, date_column: bool) -> tuple[str, int | None]:
        wb = self.wb
        try:
            xf = wb._cell_styles[sid]
            fmt_id = int(xf.numFmtId)
            code = wb._number_formats[fmt_id - BUILTIN_LIMIT] if fmt_id >= BUILTIN_LIMIT else None
            font = wb._fonts[xf.fontId]
            fill = wb._fills[xf.fillId]
            alignment = wb._alignments[xf.alignmentId] if xf.alignmentId < len(wb._alignments) else None
        except (IndexError, TypeError, ValueError):
            return STYLE_MISSING.format(sheet=self.title, style=sid), None
        shown = format_problem(code, date_column, None if code is not None else fmt_id)
        if shown.why:
            return FORMAT_SHOWN.format(format=self._format_code(fmt_id), sheet=self.title, why=shown.why), None
        inks = [self._font_colour(font)]
        for c in shown.colours:
            inks.append(c if isinstance(c, tuple) else self._indexed(c))
        look = self._font_problem(font, inks, fill)
        if not look and alignment is not None and getattr(alignment, "horizontal", None) == "fill":
            look = TEXT_REPEATED
        if look:
            return CELL_UNSEEN.format(sheet=self.title, why=look), None
        return "", shown.places

    def _font_problem(self, font: Any, inks: list[RGB | None], fill: Any) -> str:
        size = _float(getattr(font, "sz", None))
        if size is not None and size < MIN_FONT_SIZE:
            return TEXT_TINY.format(size=f"{size:g}")
        if getattr(font, "strike", None):
            return TEXT_STRUCK
        return self._contrast_problem(inks, fill, font)

    def _contrast_problem(self, inks: list[RGB | None], fill: Any, font: Any) -> str:
        for ground, ground_spec in self._backgrounds(fill):
            for ink in inks:
                if ink is not None and ground is not None and _contrast(ink, ground) < MIN_CONTRAST:
                    return TEXT_SAME_COLOUR.format(font=_hex(ink), fill=_hex(ground))
            if ground is None and ground_spec is not None and _spec(getattr(font, "color", None)) == ground_spec:
                return TEXT_SAME_COLOUR.format(font=ground_spec, fill=ground_spec)
        return ""

    def _runs_problem(self, sid: int, runs: tuple[Run, ...]) -> str:
        xf = self.wb._cell_styles[sid]
        font, fill = self.wb._fonts[xf.fontId], self.wb._fills[xf.fillId]
        for colour, size, struck in runs:
            if size is not None and size < MIN_FONT_SIZE:
                why = TEXT_TINY.format(size=f"{size:g}")
            elif struck:
                why = TEXT_STRUCK
            else:
                # a run's own colour; a run without one is read as the cell's font or as automatic
                inks = [self._colour(colour, BLACK)] if colour is not None else [self._font_colour(font), BLACK]
                why = self._contrast_problem(inks, fill, _Inked(colour) if colour is not None else font)
            if why:
                return CELL_UNSEEN.format(sheet=self.title, why=TEXT_RUN.format(why=why))
        return ""

    # -- colours -----------------------------------------------------------------------------
    def _font_colour(self, font: Any) -> RGB | None:
        return self._colour(getattr(font, "color", None), BLACK)

    def _backgrounds(self, fill: Any) -> Iterator[tuple[RGB | None, str | None]]:
        """The colours a cell's text is drawn on: white without a fill, the pattern's colour
        for a solid one, both colours of another pattern, every stop of a gradient."""
        kind = getattr(fill, "patternType", None)
        if hasattr(fill, "stop"):
            for stop in fill.stop or ():
                yield self._colour(stop.color, WHITE), _spec(stop.color)
            return
        if kind in (None, "none"):
            yield WHITE, None
            return
        yield self._colour(fill.fgColor, BLACK), _spec(fill.fgColor)
        if kind != "solid":
            yield self._colour(fill.bgColor, WHITE), _spec(fill.bgColor)

    def _colour(self, colour: Any, automatic: RGB) -> RGB | None:
        """An openpyxl ``Color`` as RGB; ``automatic`` for none or ``auto``; None when unknown."""
        if colour is None:
            return automatic
        kind = getattr(colour, "type", None)
        if kind == "rgb":
            return _rgb(str(colour.rgb))
        if kind == "indexed":
            return self._indexed(int(colour.indexed))
        if kind == "theme":
            theme = self._theme_colours()
            index = int(colour.theme)
            if theme is None or not 0 <= index < len(theme):
                return None
            return _tinted(theme[index], float(colour.tint or 0))
        return automatic

    def _indexed(self, index: int) -> RGB | None:
        if index == 64:
            return BLACK      # the system's foreground
        if index == 65:
            return WHITE      # the system's background
        palette = self._palette
        return _rgb(palette[index]) if 0 <= index < len(palette) else None

    def _theme_colours(self) -> list[RGB] | None:
        if self._theme is False:
            self._theme = _read_theme(self.wb)
        return self._theme if isinstance(self._theme, list) else None

    # -- the worksheet -----------------------------------------------------------------------
    def sheet_problem(self) -> str:
        """A drawing over the sheet, a comment always shown, a table in a custom style."""
        archive = getattr(self.wb, "_archive", None)
        path = getattr(self.sheet, "_worksheet_path", None)
        if archive is None or not path:
            return ""
        from openpyxl.packaging.relationship import get_dependents, get_rels_path

        rels_path = get_rels_path(path)
        if rels_path not in archive.namelist():
            return ""
        custom_styles = {str(s.name) for s in getattr(getattr(self.wb, "_table_styles", None), "tableStyle", ())}
        for rel in get_dependents(archive, rels_path):
            kind = str(rel.Type or "").rsplit("/", 1)[-1]
            if rel.TargetMode == "External":
                continue
            if kind == "drawing":
                return SHEET_DRAWING.format(sheet=self.title)
            if kind == "vmlDrawing" and _vml_shows(_read(archive, rel.target)):
                return SHEET_DRAWING.format(sheet=self.title)
            if kind == "table" and custom_styles:
                style, name = _table_style(_read(archive, rel.target))
                if style in custom_styles:
                    return TABLE_STYLE.format(sheet=self.title, table=name, style=style)
        return ""

    def after_rows(self, last_row: int) -> str:
        """A conditional format over the table (rows 1 to ``last_row``, the header's columns):
        known only after the rows (``<conditionalFormatting>`` follows ``<sheetData>``)."""
        parser = self.parser
        if parser is None:
            return ""
        from openpyxl.worksheet.cell_range import MultiCellRange

        width = self.width or 16_384
        refs: list[Any] = []
        for cf in parser.formatting:
            refs.extend(cf.sqref.ranges)
        for text in parser.x14_ranges:
            try:
                refs.extend(MultiCellRange(text.strip()).ranges)
            except (ValueError, TypeError):
                return CONDITIONAL_FORMAT.format(ref=text.strip(), sheet=self.title)
        for r in refs:
            if r.min_row <= max(last_row, 1) and r.min_col <= width:
                return CONDITIONAL_FORMAT.format(ref=r.coord, sheet=self.title)
        return ""


class _Inked:
    """A run's font as the contrast check reads one: its colour only."""

    def __init__(self, color: Any) -> None:
        self.color = color


def _read(archive: Any, name: str) -> bytes:
    try:
        return bytes(archive.read(name))
    except KeyError:
        return b""


def _vml_shows(vml: bytes) -> bool:
    """A legacy drawing (VML) shows something over the cells: a comment always shown, or a
    shape that is not a comment (a text box, a form control)."""
    low = vml.lower()
    if _VML_VISIBLE.search(low) or b"visibility:visible" in low.replace(b" ", b""):
        return True
    return any(not part[1:].startswith(b"note") for part in low.split(b"objecttype=")[1:])


def _table_style(xml: bytes) -> tuple[str, str]:
    from openpyxl.xml.functions import fromstring

    try:
        root = fromstring(xml)
    except Exception:  # a damaged table part names no style
        return "", ""
    info = root.find(f"{_MAIN}tableStyleInfo")
    style = info.get("name", "") if info is not None else ""
    return style, root.get("displayName", "") or root.get("name", "")


def _read_theme(wb: Any) -> list[RGB] | None:
    """The theme's twelve colours, in SpreadsheetML's index order, from the theme the workbook
    part names (as Excel reads it), or openpyxl's ``xl/theme/theme1.xml``."""
    from openpyxl.xml.functions import fromstring

    data = _workbook_theme(wb) or getattr(wb, "loaded_theme", None)
    if not data:
        return None
    try:
        scheme = fromstring(data).find(f".//{_DRAWINGML}clrScheme")
    except Exception:  # a damaged theme resolves nothing
        return None
    if scheme is None:
        return None
    out: list[RGB] = []
    for name in _THEME_ORDER:
        el = scheme.find(f"{_DRAWINGML}{name}")
        value = None
        if el is not None and len(el):
            child = el[0]
            value = child.get("val") if child.tag.endswith("srgbClr") else child.get("lastClr")
        rgb = _rgb(value or "")
        if rgb is None:
            return None
        out.append(rgb)
    return out


def _workbook_theme(wb: Any) -> bytes | None:
    archive = getattr(wb, "_archive", None)
    if archive is None:
        return None
    try:
        from openpyxl.packaging.manifest import Manifest
        from openpyxl.packaging.relationship import get_dependents, get_rels_path
        from openpyxl.reader.excel import _find_workbook_part
        from openpyxl.xml.constants import ARC_CONTENT_TYPES
        from openpyxl.xml.functions import fromstring

        manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
        part = _find_workbook_part(manifest).PartName[1:]
        for rel in get_dependents(archive, get_rels_path(part)).find(_REL + "theme"):
            return bytes(archive.read(posixpath.normpath(rel.target)))
    except Exception:  # no theme found: openpyxl's own
        return None
    return None


def _rgb(text: str) -> RGB | None:
    text = text.strip()
    if len(text) == 8:
        text = text[2:]        # ARGB: Excel ignores the alpha of a cell's colours
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _tinted(rgb: RGB, tint: float) -> RGB:
    """ECMA-376 §18.8.19: a tint lightens (>0) or darkens (<0) the colour's luminance."""
    if not tint:
        return rgb
    h, lum, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    lum = lum * (1 + tint) if tint < 0 else lum * (1 - tint) + tint
    r, g, b = colorsys.hls_to_rgb(h, min(max(lum, 0.0), 1.0), s)
    return round(r * 255), round(g * 255), round(b * 255)


def _luminance(rgb: RGB) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio: 1 (the same colour) to 21 (black on white)."""
    la, lb = _luminance(a), _luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _hex(rgb: RGB) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _spec(colour: Any) -> str | None:
    """A colour as written (``theme 0 tint 0.5``), to compare two that cannot be resolved."""
    if colour is None:
        return None
    kind = getattr(colour, "type", None)
    value = getattr(colour, kind, None) if kind else None
    return f"{kind} {value} tint {getattr(colour, 'tint', 0) or 0}"
