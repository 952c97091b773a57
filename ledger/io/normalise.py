"""Files as a Chinese finance office makes them: header aliases, dates as Excel writes them,
units and books by name, and the valid values named in every "unknown …" message.

The reader (``ledger.io.tables``) maps a file's header through ``canonical_column`` and
passes each row through the ``row_cleaner`` of its format, so what reaches PostgreSQL
is canonical text: ISO dates (``2024-04-15``), unit and book codes, enumeration codes.
Only the *shape* changes here: a value that matches no known form is passed on as it
is, and the validation in PostgreSQL refuses it by file, row and column, as before.
``with_valid_values`` then appends the valid values to each "unknown …" reason.

Pure: no I/O. The ledger's own units and books come in as a ``Vocabulary`` (the store
reads them from the database; ``Vocabulary()`` knows none and converts no names).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ledger.i18n import N_, _

Cells = tuple[str, ...]

# Header aliases (lower-cased, trimmed) -> canonical column. Chinese as county offices head
# their sheets; docs/imports.md lists them. An alias applies only when the format has the
# canonical column; a column that maps to none is ignored with a notice.
HEADER_ALIASES: dict[str, str] = {
    # date
    "日期": "date", "业务日期": "date", "入账日期": "date", "记账日期": "date", "交易日期": "date",
    "缴费日期": "date", "支付日期": "date", "结算日期": "date",
    # unit
    "单位": "unit", "单位编码": "unit", "单位代码": "unit", "单位名称": "unit", "统筹区": "unit",
    "统筹区编码": "unit", "统筹区名称": "unit", "行政区划": "unit", "区划编码": "unit",
    # book
    "账套": "book", "险种": "book", "账套编码": "book", "险种类型": "book",
    # collections
    "来源": "source", "收入来源": "source", "收入类型": "source", "资金来源": "source",
    # payments
    "定点机构": "provider", "定点医药机构": "provider", "医疗机构": "provider", "机构名称": "provider",
    "收款单位": "provider",
    "类别": "category", "支出类别": "category", "待遇类别": "category", "支出类型": "category",
    "支付方": "paid_from", "支付渠道": "paid_from", "付款账户": "paid_from",
    # all
    "金额": "amount", "金额(元)": "amount", "金额（元）": "amount", "发生额": "amount",
    "业务编号": "reference", "凭证号": "reference", "编号": "reference", "流水号": "reference",
    "单据号": "reference", "交易流水号": "reference",
    "组成": "component", "基金类型": "component", "基金组成": "component", "基金构成": "component",
    # opening, budget
    "项目": "item", "余额项目": "item", "备注": "note", "说明": "note",
    "年度": "year", "预算年度": "year", "科目": "line", "预算科目": "line", "科目编码": "line",
    # bank statement
    "方向": "direction", "收支方向": "direction", "借贷方向": "direction", "余额": "balance",
}

# Enumeration values as offices write them -> codes (compared trimmed, lower-cased).
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "component": {"统筹": "pooled", "统筹基金": "pooled", "统筹账户": "pooled",
                  "个人": "personal", "个人账户": "personal"},
    "source": {"征缴": "contribution", "征缴收入": "contribution", "缴费收入": "contribution",
               "保险费收入": "contribution",
               "中央财政补助": "subsidy_central", "中央补助": "subsidy_central",
               "省级财政补助": "subsidy_provincial", "省级补助": "subsidy_provincial",
               "市级财政补助": "subsidy_city", "市级补助": "subsidy_city",
               "县级财政补助": "subsidy_county", "县级补助": "subsidy_county",
               "其他": "other", "其他收入": "other"},
    "category": {"住院": "inpatient", "门诊": "outpatient", "慢特病": "chronic", "门诊慢特病": "chronic",
                 "门诊统筹": "outpatient_pooled", "生育医疗费": "maternity_medical",
                 "生育津贴": "maternity_allowance", "药店": "pharmacy", "定点药店": "pharmacy",
                 "大病保险": "critical_illness", "其他": "other", "其他支出": "other"},
    "paid_from": {"县级": "county", "县": "county", "县支出户": "county",
                  "市级": "city", "市": "city", "市支出户": "city"},
}

# What a date cell may look like. Parsed for shape only; PostgreSQL says whether it is a real date.
DATE_FORMS = N_("2024-04-15, 2024/4/15, 2024-4-15, 2024.4.15, 2024年4月15日, 20240415, or an Excel date")
# (ATTACK14 V5) re.ASCII: a digit is 0-9. Without it \d takes every Unicode decimal digit and int()
# reads them, so 2024/0৪/15 (BENGALI DIGIT FOUR, which reads like 8) would be posted as April.
_ISO_LIKE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})", re.ASCII)
_CHINESE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", re.ASCII)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_MIDNIGHT = re.compile(r"\s+0{1,2}:00(?::00(?:\.0+)?)?$", re.ASCII)  # "2024/4/15 0:00": Excel's date-time display
_SERIAL = re.compile(r"\d{5,6}(?:\.0+)?", re.ASCII)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900-02-29 bug folded in
_SERIAL_RANGE = (18264, 109574)  # 1950-01-01 .. 2199-12-31: anything else is not a date


class ForeignDigit(ValueError):
    """(ATTACK14 V5) A cell the reader parses as a number holds a digit other than ASCII 0-9
    (a Bengali ৪ reads like 8, a full-width ４ like 4): refused, the character named."""

    def __init__(self, column: str, text: str, char: str) -> None:
        super().__init__(column, text, char)
        self.column, self.text, self.char = column, text, char


def ascii_digits_only(column: str, text: str) -> None:
    """Raise ``ForeignDigit`` when ``text`` holds a digit that is not ASCII 0-9."""
    if not text.isascii():
        for c in text:
            if not c.isascii() and c.isdigit():
                raise ForeignDigit(column, text, c)


def iso_date(text: str) -> str:
    """``2024/4/15``, ``2024年4月15日``, ``20240415``, a serial (``45397``) → ``2024-04-15``;
    text of no known form comes back unchanged (PostgreSQL names it). A digit other than ASCII
    0-9 raises ``ForeignDigit``."""
    ascii_digits_only("date", text)
    if (len(text) == 10 and text[4] == "-" and text[7] == "-") or not text:
        return text
    t = _MIDNIGHT.sub("", text.strip())
    if m := _ISO_LIKE.fullmatch(t):
        y, mo, d = m.group(1), m.group(3), m.group(4)
    elif (m := _CHINESE.fullmatch(t)) or (m := _COMPACT.fullmatch(t)):
        y, mo, d = m.group(1), m.group(2), m.group(3)
    elif _SERIAL.fullmatch(t) and _SERIAL_RANGE[0] <= int(float(t)) <= _SERIAL_RANGE[1]:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(float(t)))).isoformat()
    else:
        return text
    return f"{y}-{int(mo):02d}-{int(d):02d}"


@dataclass(frozen=True)
class Named:
    """A unit or book of the ledger: its code and names."""

    code: str
    name_zh: str
    name_en: str = ""

    def label(self) -> str:
        return f"{self.code} {self.name_zh}" if self.name_zh else self.code


@dataclass(frozen=True)
class Vocabulary:
    """The ledger's units and books, so a file may name them as an office does."""

    units: tuple[Named, ...] = ()
    books: tuple[Named, ...] = ()
    _lookup: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for column, known in (("unit", self.units), ("book", self.books)):
            names: dict[str, str] = {}
            for n in known:
                for alias in (n.name_zh, n.name_en):
                    if alias.strip():
                        names.setdefault(alias.strip().lower(), n.code)
            for n in known:  # a code always means itself
                names[n.code.lower()] = n.code
            self._lookup[column] = names

    def code(self, column: str, text: str) -> str:
        """The code for a unit or book given by code or name; ``text`` itself when unknown."""
        return self._lookup.get(column, {}).get(text.strip().lower(), text)

    def valid(self, column: str) -> str:
        """``230800 市本级, 230881 同江市, …`` for messages; '' when the vocabulary is empty."""
        known = self.units if column == "unit" else self.books if column == "book" else ()
        return ", ".join(n.label() for n in known)


def canonical_column(name: str, columns: Iterable[str]) -> str:
    """The canonical column a header cell names (already trimmed and lower-cased), or
    the name itself when it is neither a column nor an alias of one of ``columns``."""
    cols = set(columns)
    if name in cols:
        return name
    alias = HEADER_ALIASES.get(name)
    if alias is None:  # 金额（元） and 金额(元) both appear; so do full-width spaces
        alias = HEADER_ALIASES.get(name.replace("（", "(").replace("）", ")").replace("\u3000", ""))
    return alias if alias in cols else name


def _fixer(column: str, vocab: Vocabulary) -> Callable[[str], str] | None:
    if column == "date":
        return iso_date
    if column in ("unit", "book"):
        names = vocab._lookup.get(column, {})
        if not names:
            return None
        codes = frozenset(names.values())

        def by_name(text: str) -> str:
            return text if text in codes else names.get(text.strip().lower(), text)

        return by_name
    values = VALUE_ALIASES.get(column)
    if values is not None:
        def by_alias(text: str) -> str:
            return values.get(text, text) if text and not text.isascii() else text

        return by_alias
    return None


def row_cleaner(columns: tuple[str, ...], vocab: Vocabulary) -> Callable[[Cells], Cells] | None:
    """A function putting one row (cells in ``columns`` order) into canonical text, or None
    when the format has nothing to convert. Cheap when a row is already canonical."""
    fixes = [(i, f) for i, c in enumerate(columns) if (f := _fixer(c, vocab)) is not None]
    if not fixes:
        return None

    def clean(cells: Cells) -> Cells:
        out: list[str] | None = None
        for i, fix in fixes:
            text = cells[i]
            new = fix(text)
            if new is not text and new != text:
                if out is None:
                    out = list(cells)
                out[i] = new
        return cells if out is None else tuple(out)

    return clean


_UNKNOWN = re.compile(r"unknown (unit|book) '(.*)'$", re.DOTALL)
_NOT_A_DATE = re.compile(r"'(.*)' is not a date \(YYYY-MM-DD, like 2023-03-31\)$", re.DOTALL)


def with_valid_values(column: str, reason: str, vocab: Vocabulary) -> str:
    """A validation reason with the valid values named: ``unknown unit 'X'`` gains the list of
    units (code and name); a date that is not a date lists the accepted forms."""
    m = _UNKNOWN.match(reason)
    if m:
        valid = vocab.valid(m.group(1))
        if valid:
            # (ATTACK16 C3) catalogue messages: the reason reaches a Chinese officer in Chinese
            text = (_("unknown unit '{value}'; valid units (code or name): {valid}") if m.group(1) == "unit" else
                    _("unknown book '{value}'; valid books (code or name): {valid}"))
            return text.format(value=m.group(2), valid=valid)
    d = _NOT_A_DATE.match(reason)
    if column == "date" and d:
        return _("'{value}' is not a date (accepted: {forms})").format(value=d.group(1), forms=_(DATE_FORMS))
    return reason


def describe_aliases(columns: Iterable[str]) -> Mapping[str, list[str]]:
    """Canonical column -> its aliases, for documentation and messages."""
    out: dict[str, list[str]] = {c: [] for c in columns}
    for alias, col in HEADER_ALIASES.items():
        if col in out:
            out[col].append(alias)
    return out
