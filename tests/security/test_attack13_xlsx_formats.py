"""ATTACK13 W2: an XLSX cell shows a person another value than the one imported.

The import takes a cell's stored value; whoever opens the filed workbook sees it through the
cell's style. The red team's three: ``0.00,`` shows 90,000 as ``90.00``, ``;;;`` shows
nothing, ``;;;"A-1"`` shows the reference A-2 as ``A-1``; the same by a conditional format,
or white text on white. The class (ledger.io.xlsx_shown, ledger.io.xlsx_number_formats): in
every imported cell, header and rows, a number format that scales, hides, replaces, rounds
away, adds to, or dates a value, a condition in a format, text in (nearly) its background's
colour (RGB, theme with tint, indexed, a ``[White]`` section), too small, struck through or
repeated to fill the cell, a rich text run doing any of it, a conditional format over the
table (Excel 2007's or 2010's), a custom table style, a drawing or a comment always shown:
each refused naming file, worksheet, row and column, Chinese first, nothing written. What
Excel and WPS write for plain figures and dates stays accepted.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Color, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.worksheet.table import Table, TableStyleInfo

from ledger.errors import BadFile
from ledger.io import FORMATS, open_table
from ledger.io.xlsx_number_formats import format_problem
from tests.conftest import LedgerDB
from tests.security.test_attack11_excel_short_refs import _paid, funded  # noqa: F401 - the fixture

PAY = ["date", "unit", "book", "provider", "category", "amount", "reference", "component", "paid_from"]
SHEET = "xl/worksheets/sheet1.xml"
STYLES = "xl/styles.xml"
AMOUNT, REF, DATE = "F3", "G3", "A3"


def _row(ref: str, amount: object = 900) -> list[object]:
    return [dt.date(2024, 3, 27), "230881", "RES", "某某医院", "outpatient", amount, ref, "", "county"]


def _book(path: Path, change: Callable[[object], None] | None = None, amount: object = 90000) -> Path:
    """Two payment rows on a sheet '三月' (the second, row 3, is the one attacked)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "三月"
    ws.append(PAY)
    ws.append(_row("A-1"))
    ws.append(_row("A-2", amount))
    if change is not None:
        change(ws)
    wb.save(path)
    return path


def _edit(path: Path, part: str, change: Callable[[str], str]) -> Path:
    out = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                new = change(data.decode())
                assert new != data.decode(), "the edit did not apply"
                data = new.encode()
            zout.writestr(info, data)
    return out


def _read(path: Path) -> list[tuple[str, ...]]:
    with open_table(path, FORMATS["payments"]) as t:
        return [tuple(c) for _, c in t.rows()]


def _refused(path: Path) -> BadFile:
    try:
        rows = _read(path)
    except BadFile as e:
        return e
    pytest.fail(f"imported although Excel shows another value than the one imported: {rows}")


def _fmt(cell: str, code: str) -> Callable[[object], None]:
    def change(ws: object) -> None:
        ws[cell].number_format = code  # type: ignore[index]
    return change


# ---- number formats ------------------------------------------------------------------------------

FORMATS_SHOWN: list[tuple[str, str, str, str]] = [   # (label, cell, format, phrase of the reason)
    ("thousands scaling 0.00,", AMOUNT, "0.00,", "scales"),
    ("thousands scaling #,##0,", AMOUNT, "#,##0,", "scales"),
    ("millions scaling", AMOUNT, '#,##0.00,,"万"', "scales"),
    ("percent (built-in 9)", AMOUNT, "0%", "scales"),
    ("percent 0.00%", AMOUNT, "0.00%", "scales"),
    ("hidden ;;;", AMOUNT, ";;;", "shows nothing"),
    ("hidden reference ;;;", REF, ";;;", "shows nothing"),
    ("replaced reference ;;;\"A-1\"", REF, ';;;"A-1"', "shows nothing, or other text"),
    ("replaced amount text section", AMOUNT, '#,##0.00;-#,##0.00;0;"A-1"', "shows nothing, or other text"),
    ("literal before text", REF, '"A-"@', "adds text"),
    ("escaped literal", REF, "\\A@", "adds text"),
    ("literal digit", AMOUNT, '0"0"', "adds text"),
    ("literal prefix digit", AMOUNT, '"1"#,##0.00', "adds text"),
    ("escaped digit", AMOUNT, "#,##0\\0", "adds text"),
    ("minus on a positive", AMOUNT, "-0.00", "adds text"),
    ("fill with digits", AMOUNT, "*1#,##0.00", "adds text"),
    ("scientific", AMOUNT, "0.00E+00", "scientific"),
    ("scientific reference", REF, "0E+0;@", "scientific"),
    ("fraction", AMOUNT, "# ?/?", "fraction"),
    ("condition", AMOUNT, '[>100]"100";0', "condition"),
    ("condition with sections", AMOUNT, "[<1000000]0.00,;0.00", "condition"),
    ("date on an amount", AMOUNT, "yyyy-mm-dd", "date or a time"),
    ("elapsed hours", AMOUNT, "[h]:mm", "date or a time"),
    ("time", AMOUNT, "h:mm", "date or a time"),
    ("negative without sign", AMOUNT, "#,##0.00;#,##0.00", "without its minus"),
    ("zero hidden", AMOUNT, "#,##0.00;-#,##0.00;", "shows nothing"),
    ("Chinese numerals", AMOUNT, "[DBNum2]0", "not one the import accepts"),
    ("foreign currency", AMOUNT, "[$€-407]#,##0.00", "not one the import accepts"),
    ("date without year", DATE, "m-d", "four-digit year"),
    ("two-digit year", DATE, "yy-m-d", "four-digit year"),
    ("month and year only", DATE, "yyyy-mm", "four-digit year"),
    ("weekday only", DATE, "dddd", "four-digit year"),
    ("built-in d-mmm (16)", DATE, "d-mmm", "four-digit year"),
    ("elapsed days", DATE, "[h]", "four-digit year"),
    ("date with text", DATE, 'yyyy-mm-dd "A"', "adds text"),
]


@pytest.mark.parametrize(("label", "cell", "code", "phrase"), FORMATS_SHOWN, ids=[f[0] for f in FORMATS_SHOWN])
def test_w2_a_number_format_that_shows_another_value_is_refused(tmp_path: Path, label: str, cell: str, code: str,
                                                                 phrase: str) -> None:
    f = _book(tmp_path / "p.xlsx", _fmt(cell, code))
    err = _refused(f)
    [e] = err.errors
    column = {"F": "amount", "G": "reference", "A": "date"}[cell[0]]
    assert (e.file, e.row, e.column) == (str(f), 3, column), e
    assert phrase in e.reason and "'三月'" in e.reason and code in e.reason, e.reason
    assert "清除格式" in e.reason and "import again" in e.reason, e.reason


def test_w2_a_header_cell_shown_as_another_column_is_refused(tmp_path: Path) -> None:
    """Columns F and G swapped to the eye: F's header 'amount' shown as 'reference'."""
    f = _book(tmp_path / "p.xlsx", _fmt("F1", ';;;"reference"'))
    [e] = _refused(f).errors
    assert (e.row, e.column) == (1, "amount") and "shows nothing, or other text" in e.reason, e


def test_w2_an_optional_column_left_empty_but_shown_filled_is_refused(tmp_path: Path) -> None:
    """An empty text in 'component' shown as 统筹 by its format's text section."""
    def change(ws: object) -> None:
        ws["H3"].value = ""  # type: ignore[index]
        ws["H3"].number_format = '"统筹"'  # type: ignore[index]
    try:
        rows = _read(_book(tmp_path / "p.xlsx", change))
    except BadFile as e:
        assert e.errors[0].row == 3, e.errors
        return
    assert all(r[7] == "" for r in rows)   # openpyxl drops the empty string: nothing imported unseen


def test_w2_a_file_defined_format_for_a_built_in_id_is_what_is_judged(tmp_path: Path) -> None:
    """Excel reads a numFmt the file defines for a built-in id (2: 0.00) as the file says."""
    f = _book(tmp_path / "p.xlsx", _fmt(AMOUNT, "0.00"))
    edited = _edit(f, STYLES, lambda s: re.sub(r'<numFmts count="(\d+)">', lambda m: (
        f'<numFmts count="{int(m[1]) + 1}"><numFmt numFmtId="2" formatCode="0.00,"/>'), s, count=1))
    [e] = _refused(edited).errors
    assert e.row == 3 and "0.00," in e.reason and "scales" in e.reason, e


def test_w2_an_unknown_built_in_id_is_refused(tmp_path: Path) -> None:
    """Ids 27-36 and 50-81 are East Asian dates in some locales, General in others."""
    f = _book(tmp_path / "p.xlsx", _fmt(AMOUNT, "0.00"))
    edited = _edit(f, STYLES, lambda s: s.replace('numFmtId="2"', 'numFmtId="28"'))
    [e] = _refused(edited).errors
    assert e.row == 3 and e.column == "amount" and "not one the import accepts" in e.reason, e


@pytest.mark.parametrize(("code", "amount"), [("#,##0", 90000.5), ("#,##0.0", 900.55), ("0", 0.5)])
def test_w2_a_format_showing_fewer_decimals_than_the_cell_holds_is_refused(tmp_path: Path, code: str,
                                                                            amount: float) -> None:
    f = _book(tmp_path / "p.xlsx", _fmt(AMOUNT, code), amount=amount)
    [e] = _refused(f).errors
    assert e.row == 3 and "decimal place(s) of" in e.reason and str(amount) in e.reason, e


# ---- colours, sizes, strikes, alignment ------------------------------------------------------------


def _style(cell: str, **kw: object) -> Callable[[object], None]:
    def change(ws: object) -> None:
        for k, v in kw.items():
            setattr(ws[cell], k, v)  # type: ignore[index]
    return change


WHITE = "FFFFFFFF"
LOOKS: list[tuple[str, Callable[[object], None], str]] = [
    ("white on no fill", _style(AMOUNT, font=Font(color=WHITE)), "colour of its background"),
    ("white on white", _style(REF, font=Font(color=WHITE), fill=PatternFill("solid", start_color=WHITE)),
     "colour of its background"),
    ("red on red", _style(AMOUNT, font=Font(color="FFFF0000"), fill=PatternFill("solid", start_color="FFFF0000")),
     "colour of its background"),
    ("nearly white", _style(AMOUNT, font=Font(color="FFF4F4F4")), "colour of its background"),
    ("theme white (bg1)", _style(AMOUNT, font=Font(color=Color(theme=0))), "colour of its background"),
    ("theme on the same theme", _style(AMOUNT, font=Font(color=Color(theme=4)),
                                       fill=PatternFill("solid", fgColor=Color(theme=4))), "colour of its background"),
    ("theme tint lightened to white", _style(AMOUNT, font=Font(color=Color(theme=1, tint=0.99))),
     "colour of its background"),
    ("indexed white", _style(AMOUNT, font=Font(color=Color(indexed=9))), "colour of its background"),
    ("black on black", _style(REF, fill=PatternFill("solid", start_color="FF000000")), "colour of its background"),
    ("format colour [White]", _fmt(AMOUNT, "[White]#,##0.00"), "colour of its background"),
    ("format colour [Color2]", _fmt(AMOUNT, "[Color2]#,##0.00"), "colour of its background"),
    ("tiny font", _style(AMOUNT, font=Font(size=1)), "too small"),
    ("struck through", _style(REF, font=Font(strike=True)), "struck through"),
    ("fill alignment", _style(REF, alignment=Alignment(horizontal="fill")), "repeated to fill"),
]


@pytest.mark.parametrize(("label", "change", "phrase"), LOOKS, ids=[x[0] for x in LOOKS])
def test_w2_text_a_person_cannot_read_is_refused(tmp_path: Path, label: str, change: Callable[[object], None],
                                                 phrase: str) -> None:
    f = _book(tmp_path / "p.xlsx", change)
    [e] = _refused(f).errors
    assert e.row == 3 and e.column in ("amount", "reference"), e
    assert phrase in e.reason and "'三月'" in e.reason, e.reason


def test_w2_a_rich_text_run_in_white_is_refused(tmp_path: Path) -> None:
    """The reference A-12 with its '2' in white reads as A-1."""
    def change(ws: object) -> None:
        ws[REF].value = CellRichText(["A-1", TextBlock(InlineFont(color=WHITE), "2")])  # type: ignore[index]
    [e] = _refused(_book(tmp_path / "p.xlsx", change)).errors
    assert (e.row, e.column) == (3, "reference") and "part of its text" in e.reason, e


def test_w2_a_rich_text_shared_string_run_tiny_is_refused(tmp_path: Path) -> None:
    """The same in the shared strings (as Excel writes rich text): the '2' at size 1."""
    f = _book(tmp_path / "p.xlsx")
    shared = f.with_name("shared.xlsx")
    with zipfile.ZipFile(f) as zin, zipfile.ZipFile(shared, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename).decode()
            if info.filename == SHEET:
                data = data.replace('<c r="G3" t="inlineStr"><is><t>A-2</t></is></c>', '<c r="G3" t="s"><v>0</v></c>')
                assert 't="s"' in data, data
            elif info.filename == "[Content_Types].xml":
                data = data.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            zout.writestr(info, data)
        zout.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                      ' count="1" uniqueCount="1"><si><r><t>A-1</t></r><r><rPr><sz val="1"/></rPr><t>2</t></r></si>'
                      '</sst>')
    [e] = _refused(shared).errors
    assert (e.row, e.column) == (3, "reference") and "too small" in e.reason, e


# ---- conditional formats, table styles, drawings ----------------------------------------------------


def _conditional(dxf: DifferentialStyle | None = None, **kw: object) -> Callable[[object], None]:
    def change(ws: object) -> None:
        ws.conditional_formatting.add("F2:F100", CellIsRule(operator="greaterThan", formula=["100"], **kw))  # type: ignore[attr-defined]
    return change


def test_w2_a_conditional_font_colour_over_the_table_is_refused(tmp_path: Path) -> None:
    f = _book(tmp_path / "p.xlsx", _conditional(font=Font(color=WHITE)))
    [e] = _refused(f).errors
    assert "conditional formatting on F2:F100" in e.reason and "'三月'" in e.reason and "清除规则" in e.reason, e


def test_w2_a_conditional_number_format_over_the_table_is_refused(tmp_path: Path) -> None:
    """A dxf with numFmt ``0.00,``: 90000 shown as 90.00 only when it is more than 100."""
    f = _book(tmp_path / "p.xlsx", _conditional(fill=PatternFill("solid", end_color="FFFFFFFF")))
    edited = _edit(f, STYLES, lambda s: s.replace("<dxf>", '<dxf><numFmt numFmtId="200" formatCode="0.00,"/>', 1))
    [e] = _refused(edited).errors
    assert "conditional formatting" in e.reason, e


def test_w2_an_excel_2010_conditional_format_is_refused(tmp_path: Path) -> None:
    """Excel 2010's rules (data bars without the value, rules on other sheets) live in extLst."""
    ext = ('<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}" xmlns:x14="http://schemas.microsoft.com/'
           'office/spreadsheetml/2009/9/main"><x14:conditionalFormattings><x14:conditionalFormatting '
           'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><x14:cfRule type="dataBar" '
           'id="{00000000-0000-0000-0000-000000000001}"><x14:dataBar showValue="0"/></x14:cfRule><xm:sqref>G2:G9'
           '</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings></ext></extLst></worksheet>')
    f = _edit(_book(tmp_path / "p.xlsx"), SHEET, lambda s: s.replace("</worksheet>", ext))
    [e] = _refused(f).errors
    assert "conditional formatting on G2:G9" in e.reason, e


def test_w2_a_conditional_format_away_from_the_table_is_not_refused(tmp_path: Path) -> None:
    def change(ws: object) -> None:
        ws.conditional_formatting.add("M1:M5", CellIsRule(operator="greaterThan", formula=["1"],  # type: ignore[attr-defined]
                                                          font=Font(color=WHITE)))
    assert len(_read(_book(tmp_path / "p.xlsx", change))) == 2


def test_w2_a_custom_table_style_is_refused(tmp_path: Path) -> None:
    def change(ws: object) -> None:
        ws.add_table(Table(displayName="付款表", ref="A1:I3",  # type: ignore[attr-defined]
                           tableStyleInfo=TableStyleInfo(name="Evil", showRowStripes=True)))
    f = _book(tmp_path / "p.xlsx", change)
    edited = _edit(f, STYLES, lambda s: re.sub(
        r'<tableStyles count="0"([^>]*?) ?/>',
        r'<tableStyles count="1"\1><tableStyle name="Evil" pivot="0" count="0"/></tableStyles>', s))
    [e] = _refused(edited).errors
    assert "custom table style 'Evil'" in e.reason and "付款表" in e.reason, e


def test_w2_a_table_in_a_built_in_style_is_read(tmp_path: Path) -> None:
    def change(ws: object) -> None:
        ws.add_table(Table(displayName="T1", ref="A1:I3",  # type: ignore[attr-defined]
                           tableStyleInfo=TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)))
    assert len(_read(_book(tmp_path / "p.xlsx", change))) == 2


def test_w2_a_drawing_over_the_sheet_is_refused(tmp_path: Path) -> None:
    """A chart (any drawing: a picture, a text box reading 'A-1') may lie over the cells."""
    def change(ws: object) -> None:
        chart = BarChart()
        chart.add_data(Reference(ws, min_col=6, min_row=1, max_row=3))  # type: ignore[arg-type]
        ws.add_chart(chart, "F3")  # type: ignore[attr-defined]
    [e] = _refused(_book(tmp_path / "p.xlsx", change)).errors
    assert "pictures, shapes or text boxes" in e.reason and "'三月'" in e.reason, e


def test_w2_a_comment_always_shown_is_refused_a_hidden_one_read(tmp_path: Path) -> None:
    def change(ws: object) -> None:
        ws["G3"].comment = Comment("核对过", "县医保局")  # type: ignore[index]
    f = _book(tmp_path / "p.xlsx", change)
    assert len(_read(f)) == 2                                      # a comment shown on hover: read
    vml = next(n for n in zipfile.ZipFile(f).namelist() if n.endswith(".vml"))
    shown = _edit(f, vml, lambda s: s.replace("<ns2:AutoFill>", "<ns2:Visible/><ns2:AutoFill>"))
    [e] = _refused(shown).errors
    assert "comments always shown" in e.reason, e


# ---- what stays accepted ---------------------------------------------------------------------------

HONEST_AMOUNT = [
    "General", "0", "0.00", "#,##0", "#,##0.00", "#,##0.00_ ", "#,##0.00_);[Red]\\(#,##0.00\\)",
    "#,##0.00_);(#,##0.00)", '"¥"#,##0.00;"¥"\\-#,##0.00', '"¥"#,##0.00;[Red]"¥"\\-#,##0.00',
    "¥#,##0.00;¥-#,##0.00", "￥#,##0.00;[Red]￥-#,##0.00", "[$¥-804]#,##0.00", '#,##0.00"元"',
    "#,##0.00;[Red]#,##0.00", "#,##0.00;[红色]-#,##0.00", "[Blue]#,##0.00;[Red]-#,##0.00",
    '_ "¥"* #,##0.00_ ;_ "¥"* \\-#,##0.00_ ;_ "¥"* "-"??_ ;_ @_ ',          # 会计专用 (Excel zh-CN's 44)
    '_ * #,##0.00_ ;_ * \\-#,##0.00_ ;_ * "-"??_ ;_ @_ ',                 # 千位分隔 (43)
    "#,##0.00;-#,##0.00;0.00;@", "0.00_ ;[Red]\\-0.00\\ ",
]
HONEST_DATE = ["yyyy/m/d", "yyyy/m/d;@", 'yyyy"年"m"月"d"日"', 'yyyy"年"m"月"d"日";@', "yyyy-mm-dd",
               "yyyy-mm-dd h:mm:ss", "m/d/yyyy", "[$-804]yyyy\"年\"m\"月\"d\"日\"", "[$-F800]dddd, mmmm dd, yyyy",
               "d-mmm-yyyy", "yyyy/m/d h:mm AM/PM", "mm-dd-yy"]   # the last: built-in 14, the locale's short date


@pytest.mark.parametrize("code", HONEST_AMOUNT)
def test_w2_an_honest_amount_format_is_read(tmp_path: Path, code: str) -> None:
    amount = 90000.5 if "0.0" in code or code == "General" else 90000    # 0, #,##0: whole yuan only
    f = _book(tmp_path / "p.xlsx", _fmt(AMOUNT, code), amount=amount)
    assert [r[5] for r in _read(f)] == ["900", str(amount)]


@pytest.mark.parametrize("code", HONEST_DATE)
def test_w2_an_honest_date_format_is_read(tmp_path: Path, code: str) -> None:
    """The whole column formatted, its header included (a text under a date format shows as it is)."""
    def change(ws: object) -> None:
        for r in (1, 2, 3):
            ws.cell(r, 1).number_format = code  # type: ignore[attr-defined]
    f = _book(tmp_path / "p.xlsx", change)
    assert [r[0] for r in _read(f)] == ["2024-03-27", "2024-03-27"]


def test_w2_honest_looks_are_read(tmp_path: Path) -> None:
    """A header white on dark blue (a table's), a bold header on the export's fill, red and
    blue figures, Excel's Good/Bad/Neutral styles, yellow highlight, a Text reference column."""
    def change(ws: object) -> None:
        for c in ws[1]:  # type: ignore[index]
            c.font = Font(bold=True, color=WHITE)
            c.fill = PatternFill("solid", start_color="FF1F4E79")
        ws["F2"].font = Font(color="FFFF0000")  # type: ignore[index]
        ws["F3"].font = Font(color="FF0000FF", size=9)  # type: ignore[index]
        ws["B2"].fill = PatternFill("solid", start_color="FFFFFF00")  # type: ignore[index]
        ws["D2"].font, ws["D2"].fill = Font(color="FF006100"), PatternFill("solid", start_color="FFC6EFCE")  # type: ignore[index]
        ws["D3"].font, ws["D3"].fill = Font(color="FF9C0006"), PatternFill("solid", start_color="FFFFC7CE")  # type: ignore[index]
        ws["E2"].font, ws["E2"].fill = Font(color="FF9C5700"), PatternFill("solid", start_color="FFFFEB9C")  # type: ignore[index]
        ws["C2"].fill = PatternFill("solid", start_color="FFD9E1F2")  # type: ignore[index]
        ws["H2"].font = Font(color=Color(theme=1))  # type: ignore[index]
        ws["I2"].fill = PatternFill("solid", fgColor=Color(theme=4, tint=0.7999))  # type: ignore[index]
        for r in (2, 3):
            ws.cell(r, 7).number_format = "@"  # type: ignore[attr-defined]
    rows = _read(_book(tmp_path / "p.xlsx", change))
    assert [(r[5], r[6]) for r in rows] == [("900", "A-1"), ("90000", "A-2")]


def test_w2_the_reliability_corpus_payments_workbook_is_read() -> None:
    corpus = Path(__file__).parents[1] / "reliability" / "corpus" / "valid" / "payments.xlsx"
    assert _read(corpus)


def test_w2_the_format_judge_is_a_closed_list() -> None:
    """The parser on its own: a few codes Excel writes, each side of the line."""
    assert not format_problem("#,##0.00", False).why and format_problem("#,##0.00", False).places == 2
    assert format_problem("General", False).places is None
    assert format_problem("0.00,", False).why and format_problem('0.00"%"', False).why
    assert not format_problem(None, True, 14).why and format_problem(None, False, 14).why
    assert format_problem(None, True, 57).why                       # not a whole date in every locale
    assert not format_problem("@", False).why and format_problem("@@", False).why


# ---- through the command: refused, Chinese first, nothing written --------------------------------


@pytest.mark.db
def test_w2_the_reference_shown_as_another_is_not_paid(funded: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    """The red team's: reference A-2 shown as A-1 (A-1 is on the row above: a reviewer sees a
    duplicate Excel itself would flag, or a claim already paid). Refused, nothing paid."""
    f = _book(tmp_path / "三月.xlsx", _fmt(REF, ';;;"A-1"'))
    r = funded.cli("--lang", "zh", "pay", "import", str(f), user="o81")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and _paid(funded) == [], r
    reason = text[text.index("第 3 行"):]
    assert reason.index("请清除该单元格的自定义格式") < reason.index("“;;;\"A-1\"”"), text   # what to do first
    assert all(w in text for w in ("三月.xlsx", "工作表“三月”", "reference", "未写入")), text
    assert "Traceback" not in r.stderr, r.stderr
    honest = _book(tmp_path / "honest.xlsx", _fmt(AMOUNT, "#,##0.00"))
    r = funded.cli("pay", "import", str(honest), "--json", user="o81")
    assert r.exit_code == 0 and _paid(funded) == ["A-1", "A-2"], r


# ---- W1's class, narrower than zero: a column or row too thin to read --------------------------

THIN: dict[str, Callable[[str], str]] = {
    "column 0.1 wide": lambda s: s.replace(
        "<sheetData>", '<cols><col min="6" max="6" width="0.1" customWidth="1"/></cols><sheetData>'),
    "default column width 0": lambda s: s.replace('<sheetFormatPr ', '<sheetFormatPr defaultColWidth="0" '),
    "base column width 0": lambda s: s.replace('baseColWidth="8"', 'baseColWidth="0"'),
    "row 0.5 high": lambda s: s.replace('<row r="3">', '<row r="3" ht="0.5" customHeight="1">'),
    "default row height 0.5": lambda s: s.replace('defaultRowHeight="15"', 'defaultRowHeight="0.5"'),
}


@pytest.mark.parametrize("how", sorted(THIN))
def test_w2_a_row_or_column_too_thin_to_read_is_refused(tmp_path: Path, how: str) -> None:
    err = _refused(_edit(_book(tmp_path / "p.xlsx"), SHEET, THIN[how]))
    assert "hidden in Excel" in err.errors[0].reason, err.errors


def test_w2_a_default_width_of_zero_with_every_column_widened_is_read(tmp_path: Path) -> None:
    f = _edit(_book(tmp_path / "p.xlsx"), SHEET, lambda s: s.replace(
        '<sheetFormatPr ', '<sheetFormatPr defaultColWidth="0" ').replace(
        "<sheetData>", '<cols><col min="1" max="9" width="12" customWidth="1"/></cols><sheetData>'))
    assert len(_read(f)) == 2
