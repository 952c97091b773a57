"""The report value model: what a report *says*, before anyone decides how to show it.

A ``Report`` is a frozen value built by a domain function (budget execution, shortfall
sharing, months payable, ...) and handed to a renderer: ``ledger.reports.export`` for
JSON, CSV and XLSX, the CLI for a rich table. Renderers never compute; they only format.

Cell values by column kind (``None`` is always allowed and means "blank / not applicable"):

=========  ==========================  =====================================================
kind       Python type                 meaning
=========  ==========================  =====================================================
text       ``str``                     a name, code or remark
money      ``int``                     fen (分); never a float, never ``Money`` or yuan
int        ``int``                     a count (vouchers, requests, ...)
date       ``datetime.date``           a day (a ``datetime`` is refused: say which day)
months     ``Decimal``                 months payable (可支付月数), e.g. ``Decimal('4.25')``
percent    ``Decimal``                 percentage *points*: ``Decimal('87.5')`` is 87.5 %
ratio      ``Decimal``                 a ratio ``x : 1``: ``Decimal('1.74')`` is 1.74 : 1 (subsidy : individual)
=========  ==========================  =====================================================

The model checks these types when the report is built, so a float that slipped into a money
column fails at the domain boundary with the column named, not as a wrong cent in Excel.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, get_args

from ledger.i18n import N_, translate

ColumnKind = Literal["text", "money", "int", "date", "months", "percent", "ratio"]
Lang = Literal["zh", "en"]

COLUMN_KINDS: frozenset[str] = frozenset(get_args(ColumnKind))
LANGS: frozenset[str] = frozenset(get_args(Lang))

class _TotalLabel(Mapping[str, str]):
    """``TOTAL_LABEL``: each language's word looked up when asked, not at import — a
    catalogue is loaded whole the first time one of its words is asked for, and building
    both at import made every English command that imports the report model (``monitor
    --json``) read and parse the Chinese catalogue (0.03 G instructions) it never shows."""

    def __getitem__(self, lang: str) -> str:
        if lang not in LANGS:
            raise KeyError(lang)
        return translate(N_("Total"), lang)

    def __iter__(self) -> Iterator[str]:
        return iter(("zh", "en"))

    def __len__(self) -> int:
        return len(LANGS)


#: What a totals row is called (合计/Total, from the catalogue); its label goes into the first
#: column (which must be ``text``).
TOTAL_LABEL: Mapping[str, str] = _TotalLabel()


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is ``'zh'`` or ``'en'``; raise ``ValueError`` otherwise."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: a stable machine ``key`` (used in JSON), its header, a kind.

    ``label`` is the header as a message id of the catalogue (English, marked ``N_("…")``):
    it is translated where the report is shown, so a header has one spelling in the code
    and its Chinese lives in the ``.po`` file with every other text. ``data_only`` marks a code kept for scripts (an account key, a holder code): it is in
    JSON and CSV, while the printed form (XLSX) shows its label column instead. ``only``
    names the one language whose printed form shows the column (the Chinese name of an
    account in a Chinese workbook, the English one in an English workbook)."""

    key: str
    label: str
    kind: ColumnKind = "text"
    data_only: bool = False
    only: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError("column key must be non-empty text")
        if self.kind not in COLUMN_KINDS:
            raise ValueError(
                f"column {self.key!r}: unknown kind {self.kind!r} (one of {sorted(COLUMN_KINDS)})"
            )

    def header(self, lang: str) -> str:
        """The header in ``lang`` (``'zh'`` or ``'en'``), from the catalogue."""
        return translate(self.label, check_lang(lang))


@dataclass(frozen=True, slots=True)
class Section:
    """One table of a report (one sheet in XLSX), e.g. one per book (账套).

    The title is carried in both languages because the JSON form gives both (``title``,
    ``title_zh``); builders make it from the catalogue (``ledger.i18n.both``) and the
    region's names (a book, a unit), never from hand-written pairs.

    ``rows`` map column keys to cell values; a missing key is a blank cell. ``totals`` is
    the optional totals row (合计): it must leave the first column empty, because every
    renderer writes the label ``合计``/``Total`` there. Rows and totals are copied into
    read-only mappings, so a built report cannot change under a renderer.
    """

    title_zh: str
    title_en: str
    rows: tuple[Mapping[str, object], ...]
    totals: Mapping[str, object] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(MappingProxyType(dict(r)) for r in self.rows))
        if self.totals is not None:
            object.__setattr__(self, "totals", MappingProxyType(dict(self.totals)))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    def title(self, lang: str) -> str:
        return self.title_zh if check_lang(lang) == "zh" else self.title_en

    def header(self, col: Column, lang: str) -> str:
        """``col``'s header on this section's sheet or table: the section's own wording
        where it gives one (``headers``: column key → message id; a balance sheet's 年初数
        where the income statement beside it says 上年数 in the same column), else the
        column's."""
        msg = self.headers.get(col.key)
        return col.header(lang) if msg is None else translate(msg, check_lang(lang))


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report: metadata, the columns shared by every section, the sections, notes.

    ``key`` is a stable identifier for scripts (``"shortfall"``, ``"monitor"``);
    ``region`` names the pooling region as it should be printed (``"佳木斯市 230800"``);
    ``period`` is free text (``"2024"``, ``"2024Q3"``, ``"2024-01-01..2024-06-30"``);
    ``generated_at`` should be timezone-aware (it is printed as ISO 8601 as given).
    ``notes`` are footnotes (for example where a figure rests on *our reading* of a rule).
    """

    key: str
    title_zh: str
    title_en: str
    region: str
    period: str
    generated_at: datetime
    columns: tuple[Column, ...]
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = field(default=())
    #: The signature block's fields (message ids) under each printed statement; empty: the
    #: default (``ledger.reports.export.SIGNATURE_FIELDS``).
    signatures: tuple[str, ...] = field(default=())
    #: How the printed form is laid out: ``landscape`` (the default) or ``portrait`` (a
    #: narrow statement, as the final accounts).
    orientation: Literal["landscape", "portrait"] = "landscape"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "signatures", tuple(self.signatures))
        if self.orientation not in ("landscape", "portrait"):
            raise ValueError(f"report {self.key!r}: orientation must be landscape or portrait")
        object.__setattr__(self, "sections", tuple(self.sections))
        object.__setattr__(self, "notes", tuple(self.notes))
        if not isinstance(self.generated_at, datetime):
            raise TypeError("generated_at must be a datetime")
        if not self.columns:
            raise ValueError(f"report {self.key!r} has no columns")
        keys = [c.key for c in self.columns]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"report {self.key!r}: duplicate column keys {dupes}")
        by_key = {c.key: c for c in self.columns}
        for s in self.sections:
            where = f"report {self.key!r}, section {s.title_en!r}"
            for i, row in enumerate(s.rows, start=1):
                _check_row(row, by_key, f"{where}, row {i}")
            if s.totals is not None:
                first = self.columns[0]
                if first.kind != "text":
                    raise ValueError(
                        f"{where}: a totals row needs a first column of kind 'text' for its label"
                    )
                if s.totals.get(first.key) is not None:
                    raise ValueError(
                        f"{where}: totals must leave column {first.key!r} empty; renderers write the totals label there"
                    )
                _check_row(s.totals, by_key, f"{where}, totals")

    def title(self, lang: str) -> str:
        return self.title_zh if check_lang(lang) == "zh" else self.title_en

    @property
    def printed_columns(self) -> tuple[Column, ...]:
        """The columns the printed form (XLSX) shows: ``data_only`` codes left out."""
        return tuple(c for c in self.columns if not c.data_only)

    def printed_in(self, lang: str) -> tuple[Column, ...]:
        """The columns a workbook in ``lang`` shows: no ``data_only`` code, no column of
        the other language only."""
        return tuple(c for c in self.printed_columns if c.only in (None, check_lang(lang)))


def _check_row(row: Mapping[str, object], columns: Mapping[str, Column], where: str) -> None:
    unknown = sorted(set(row) - set(columns))
    if unknown:
        raise ValueError(f"{where}: keys {unknown} are not columns of the report")
    for key, value in row.items():
        if value is not None:
            _check_cell(columns[key], value, where)


def _check_cell(col: Column, value: object, where: str) -> None:
    kind = col.kind
    ok: bool
    if kind in ("money", "int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "text":
        ok = isinstance(value, str)
    elif kind == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
    else:  # months, percent, ratio
        ok = isinstance(value, Decimal) and value.is_finite()
    if not ok:
        expected = {
            "money": "int fen",
            "int": "int",
            "text": "str",
            "date": "datetime.date",
            "months": "a finite Decimal",
            "percent": "a finite Decimal",
            "ratio": "a finite Decimal",
        }[kind]
        raise TypeError(f"{where}, column {col.key!r} ({kind}): expected {expected}, got {value!r}")
