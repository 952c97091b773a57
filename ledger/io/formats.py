"""The import file formats: which columns each kind of file carries, in canonical order.

A file may list its columns in any order, in any letter case, and may leave out optional
columns; the reader (``ledger.io.tables``) hands rows back in the order of
``FileFormat.columns`` with absent optional columns as ``''``. Only the *structure* is
described here; the values (a known unit, an exact amount, a real date) are checked later,
set-based, in PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.i18n import N_, _


@dataclass(frozen=True)
class FileFormat:
    """One kind of import file: ``required`` columns must all be present, ``optional`` may be."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = self.required + self.optional
        if len(set(names)) != len(names):
            raise ValueError(f"format {self.name!r} names a column twice: {names}")
        if any(n != n.strip().lower() or not n for n in names):
            raise ValueError(f"format {self.name!r}: column names must be lower case and trimmed")

    @property
    def columns(self) -> tuple[str, ...]:
        """The canonical column order: required columns, then optional ones."""
        return self.required + self.optional

    def describe(self) -> str:
        """``date, unit, … (optional: component)``, for messages to the officer."""
        text = ", ".join(self.required)
        if self.optional:
            text += _(" (optional: {columns})").format(columns=", ".join(self.optional))
        return text


# 期初余额: audited opening balances at handover.
OPENING = FileFormat(
    "opening balances", ("unit", "book", "item", "amount", "reference"), ("note", "component")
)
# 征缴收入: contributions collected.
COLLECTIONS = FileFormat(
    "collections", ("date", "unit", "book", "source", "amount", "reference"), ("component",)
)
# 待遇支出: benefits paid to designated providers.
PAYMENTS = FileFormat(
    "payments",
    ("date", "unit", "book", "provider", "category", "amount", "reference"),
    ("component", "paid_from"),
)
# 预算: annual budget lines.
BUDGET = FileFormat("budget", ("year", "unit", "book", "line", "amount"), ("component",))
# 参保人数: insured headcounts per year, unit and book (a changed figure needs a reason).
INSURED = FileFormat("insured headcounts", ("year", "unit", "book", "insured"), ("reason",))
# 银行对账单: bank statement lines.
STATEMENT = FileFormat("bank statement", ("date", "amount", "direction", "reference"), ("balance",))

FORMATS: dict[str, FileFormat] = {
    "opening": OPENING,
    "collections": COLLECTIONS,
    "payments": PAYMENTS,
    "budget": BUDGET,
    "insured": INSURED,
    "statement": STATEMENT,
}


# (ATTACK10 X5, ATTACK11 Y6) What a reference column may not hold, for every kind that has one (the
# reader, ledger.io.tables, refuses it): a number as Excel changes it, and in an XLSX any cell that is
# not text. Here, not in the reader, so that the CLI's refusal patterns (cli.errors) name them without
# importing the reader.
SCIENTIFIC_REFERENCE = N_("'{value}' is a long number as Excel writes it in scientific form (it keeps 15 significant "
                          "digits: the rest of the number is lost); set the reference column's format to Text (文本) "
                          "before pasting the numbers, then save the file again")
NUMBER_REFERENCE = N_("'{value}' (worksheet '{sheet}') is a number cell Excel cannot hold exactly (more than 15 "
                      "digits, or a fraction): the reference may be another's; set the column's format to Text "
                      "(文本) and type or paste the references again (a number already in a cell stays a number), "
                      "then save the file again")

# (ATTACK12 Z3) A reference is what the duplicate check compares, so two references that read alike
# must be one text: a character that does not show (a zero-width space, a joiner, a BOM, a control,
# a line separator, a private-use or unassigned code point, a space other than the ordinary one) is
# refused, and so is a reference not in Unicode's NFKC form (full-width ``ＺＡ`` reads like ``ZA``).
# Refused, not normalised: the ledger stores what was filed. The database holds the same rule
# (fl.reference_form_ok, 0089).
INVISIBLE_REFERENCE = N_("'{value}' holds {char}, a character that does not show (or shows as a plain space) in a "
                         "report, a workbook or a terminal: two references that read alike would be two claims; "
                         "delete the reference cell, type the reference again in plain characters, then save the "
                         "file again")
COMPAT_REFERENCE = N_("'{value}' is not in its standard form (Unicode NFKC): it holds full-width or compatibility "
                      "characters and reads like '{fixed}', which is another reference; type it again in half-width "
                      "letters and digits, then save the file again")
# (ATTACK14 V1) A closed repertoire: printable ASCII, 汉字 and the punctuation of document numbers.
FOREIGN_REFERENCE = N_("'{value}' holds {char}: a reference is written in half-width letters, digits and marks, "
                       "Chinese characters (汉字) and the punctuation of document numbers (、。《》「」『』【】〔〕〖〗) "
                       "only, so that no two references read alike (a variation selector, a filler or a letter of "
                       "another script reads like a Latin one); type the reference again in those characters, "
                       "then save the file again")
# (ATTACK15b B3) A reference's 汉字 are GB2312's 6,763 simplified characters: the basic block also
# holds the traditional and Japanese forms drawn almost like them (內 for 内), another reference.
SIMPLIFIED_REFERENCE = N_("'{value}' holds {char}, a Chinese character outside the 6,763 simplified characters of "
                          "GB2312: a traditional or Japanese form reads like an everyday character (內 like 内, 呂 "
                          "like 吕, 戸 like 户) but is another reference, and a paid claim would be paid again; write "
                          "the character in its simplified form (简体字), as the fund's documents do, then save the "
                          "file again")
# (ATTACK16b D5) GB2312's radicals drawn like a common character or mark (ledger.io.tables.CONFUSABLE_HANZI).
CONFUSABLE_REFERENCE = N_("'{value}' holds {char}, a radical (偏旁) drawn like {like}: it would be another reference "
                          "read alike, and a paid claim would be paid again; write {write} instead, then save the "
                          "file again")
# (ATTACK14 V5) A number the reader parses (a date's year, month and day) is written in ASCII 0-9:
# a Bengali ৪ reads like 8, and int() would read it as 4.
FOREIGN_DIGIT = N_("'{value}' holds {char}, a digit other than 0-9 (it may read like another digit): "
                   "dates and numbers are written in the digits 0-9 only; type the cell again in "
                   "half-width digits, then save the file again")

# (ATTACK11 Y6) The columns of an XLSX that name something by free text nothing else checks: a
# reference (业务编号, 凭证号, 流水号: what the duplicate check compares) and a payment's provider
# (定点医药机构: who was paid). They are text; a number, date or logical cell in them is refused,
# whatever its size: Excel drops a number's leading zeros (``0012345678`` opened and saved again is
# ``12345678``, a reference never imported, so the claim is paid a second time) and takes
# ``2024-03-01`` or ``3-1`` for a date. Columns checked against a closed list (unit, book, budget
# line, the enumerations) and the genuinely numeric ones (amount, balance, year, insured) may hold
# number cells: a changed code there is refused as unknown, never taken as another's.
TEXT_COLUMNS = ("reference", "provider")

# (ATTACK15 A2) A CSV cell has no type: Excel and WPS run a cell that starts with ``=`` or ``@`` as a
# formula when they open the file, and a free-text cell that starts with ``+`` or ``-`` as a formula
# or a signed number — ``="V15-1"`` (the common trick to keep a reference as text) is shown as
# ``V15-1``, ``=HYPERLINK(…,"某某医院")`` as 某某医院. The ledger would record the formula's text, which
# is not what the filed file shows: another reference (paid again) or another provider. The XLSX
# reader refuses a formula cell; the CSV reader refuses these starts. The free-text columns are the
# ones no closed list or number check judges.
CSV_FORMULA_STARTS = "=@"
CSV_SIGNED_STARTS = "+-"
FREE_TEXT_COLUMNS = ("reference", "provider", "note", "reason")
CSV_FORMULA = N_("'{value}' starts with '{char}': Excel and WPS run a CSV cell that starts with = or @ (and a "
                 "text cell that starts with + or -) as a formula when they open the file, and show its result, "
                 "not this text: the ledger would record another value than the one the filed file shows; type "
                 "the value as it should read, without the formula (to keep a reference as text, save the table "
                 "as an XLSX workbook with the column's format set to Text (文本)), then save the file again")
NUMBER_CELL = N_("'{value}' (worksheet '{sheet}') is a number cell, not text: Excel drops a number's leading zeros "
                 "(0012345678 becomes 12345678): the value may then be another's, or a reference never imported whose "
                 "claim is paid twice; set the "
                 "column's format to Text (文本) and type or paste the values again (a number already in a cell "
                 "stays a number), then save the file again")
DATE_CELL = N_("'{value}' (worksheet '{sheet}') is a date or time cell, not text: Excel took the value for a date; "
               "set the column's format to Text (文本) and type or paste the values again (a date already in a "
               "cell stays a date), then save the file again")
LOGICAL_CELL = N_("'{value}' (worksheet '{sheet}') is a logical (TRUE/FALSE) cell, not text; set the column's "
                  "format to Text (文本) and type or paste the values again, then save the file again")


# The XLSX reader's refusals of a workbook that unpacks past what Excel makes (ATTACK12 Z5) and
# of rows a person opening the file does not see (Z6): ledger.io.tables says why.
XLSX_INFLATES = N_(
    "the workbook's part {part} unpacks to {size} bytes from {packed} ({ratio}:1), more than a workbook Excel "
    "makes holds; open the file in Excel, check what it holds, and save the table again as a new .xlsx"
)
XLSX_TOO_BIG = N_(
    "the workbook unpacks to more than {limit} bytes ({parts} parts), more than a workbook Excel makes holds; "
    "open the file in Excel, check what it holds, and save the table again as a new .xlsx"
)
SHEET_HIDDEN = N_(
    "the first worksheet '{sheet}' is hidden, and the import reads the first worksheet: unhide it "
    "(right-click a sheet tab, Unhide / 取消隐藏) or delete it, save, and import again"
)
SHEET_NOT_SHOWN = N_(
    "the workbook opens on worksheet '{shown}', but the import reads the first worksheet '{sheet}': put the "
    "table on the first worksheet, show that sheet, save, and import again"
)
ROW_HIDDEN = N_(
    "row {row} is hidden in Excel (hidden or filtered out) and holds values: what is imported must be what is "
    "shown; unhide it (or clear the filter) or delete it, save, and import again"
)
COLUMN_HIDDEN = N_(
    "column {column} is hidden in Excel and holds values: what is imported must be what is shown; unhide it "
    "or delete it, save, and import again"
)
XLSX_PACKED_OTHERWISE = N_(
    "the workbook's part {part} is packed as Excel never packs ({how}); open the file in Excel and save the "
    "table again as a new .xlsx"
)
MERGED_CELLS = N_(
    "cells {ref} are merged: Excel shows only the first cell's value, and a value under the others would be "
    "imported unseen; unmerge them (取消单元格合并), save, and import again"
)

# (ATTACK13 W2) A cell shows a person another value than the one imported: its number format
# scales, hides or replaces it, its text is in its background's colour, too small, struck through
# or repeated, a conditional format, a custom table style or a drawing may change what it shows
# (ledger.io.xlsx_shown, ledger.io.xlsx_number_formats). ``{why}`` is one of the sentences below.
FORMAT_SHOWN = N_(
    "the cell's number format '{format}' (worksheet '{sheet}') {why}: Excel shows another value than the one "
    "imported; clear the cell's own format (开始 → 清除 → 清除格式, or set it to 常规 General, 数值 Number or "
    "文本 Text), save, and import again"
)
FORMAT_SCALES = N_("scales the value (a percent sign, or a comma after the digits)")
FORMAT_HIDES = N_("shows nothing, or other text, in place of the value")
FORMAT_ADDS_TEXT = N_("adds text, digits or a sign to the value")
FORMAT_ROUNDS = N_("shows the number in scientific form or as a fraction")
FORMAT_CONDITION = N_("shows the value otherwise under a condition (like [>100])")
FORMAT_DATE_ON_NUMBER = N_("shows the number as a date or a time")
FORMAT_DATE_PARTIAL = N_("shows a date without its four-digit year, its month or its day")
FORMAT_NEGATIVE_UNSIGNED = N_("shows a negative value without its minus sign")
FORMAT_NOT_ACCEPTED = N_("is not one the import accepts (General, 0, 0.00, #,##0.00, a currency, a whole date, Text)")
FORMAT_FEWER_PLACES = N_("shows {places} decimal place(s) of {value}")
CELL_UNSEEN = N_(
    "the cell's text (worksheet '{sheet}') {why}: a person opening the file does not see the value imported; "
    "set the font colour to 自动 Automatic, the fill to 无填充 No Fill, the font size to 10 and no strikethrough "
    "or Fill alignment, save, and import again"
)
TEXT_SAME_COLOUR = N_("is in nearly the colour of its background ({font} on {fill})")
TEXT_TINY = N_("is too small to read (font size {size})")
TEXT_STRUCK = N_("is struck through (删除线) and reads as void")
TEXT_REPEATED = N_("is repeated to fill the cell (horizontal alignment Fill, 填充)")
TEXT_RUN = N_("has part of its text (rich text) that {why}")
STYLE_MISSING = N_(
    "the cell (worksheet '{sheet}') names style {style}, which the workbook does not define; open the file in "
    "Excel and save it again as .xlsx"
)
CONDITIONAL_FORMAT = N_(
    "conditional formatting on {ref} (worksheet '{sheet}') covers the imported table: it can show a cell in "
    "another number format or colour than its own, or hide it; clear its rules (开始 → 条件格式 → 清除规则 → "
    "清除整个工作表的规则), save, and import again"
)
SHEET_DRAWING = N_(
    "worksheet '{sheet}' holds pictures, shapes or text boxes (or comments always shown), which can cover cells "
    "of the table; delete them (or hide the comments), save, and import again"
)
TABLE_STYLE = N_(
    "worksheet '{sheet}' formats its table {table} in the custom table style '{style}', which can colour cells "
    "otherwise than their own format; choose a built-in table style or convert the table to a range (转换为区域), "
    "save, and import again"
)
