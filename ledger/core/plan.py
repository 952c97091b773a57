"""The annual plan file (年度收支计划), read row by row: pure checks, every problem listed.

A plan file has the columns ``year, unit, book, period, kind, amount`` and optionally
``component``. ``period`` is ``Q1``…``Q4`` (a quarterly plan) or ``1``…``12`` / ``M1``…``M12``
(a monthly plan); one (year, unit, book) uses one or the other. ``kind`` is ``revenue`` or
``expenditure`` (收入/支出). The same (year, unit, book, component, kind, period) twice is
refused: it would count twice. Amounts are yuan text, parsed exactly into fen (0 allowed).

The database holds the same rules as constraints (sql/0024_budget.sql); the checks here
only name the file, row and column for the officer first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledger.core.money import parse_fen
from ledger.errors import BadAmount, RowError
from ledger.i18n import N_, _

# The words a row's refusal names a kind and a plan's grain by, in the user's language.
_WORDS = {"revenue": N_("revenue"), "expenditure": N_("expenditure"), "quarter": N_("quarter"), "month": N_("month")}

COLUMNS = ("year", "unit", "book", "period", "kind", "amount")
OPTIONAL = ("component",)
_KINDS = {"revenue": "revenue", "收入": "revenue", "expenditure": "expenditure", "支出": "expenditure"}
_QUARTER = re.compile(r"^[Qq]([1-4])$")
_MONTH = re.compile(r"^[Mm]?(0?[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class PlanRow:
    year: int
    unit: str
    book: str
    component: str
    granularity: str   # quarter | month
    kind: str          # revenue | expenditure
    period: int
    amount: int        # fen

    def as_json(self) -> dict[str, object]:
        return {"year": self.year, "unit": self.unit, "book": self.book, "component": self.component,
                "granularity": self.granularity, "kind": self.kind, "period": self.period, "amount": self.amount}


def _period(text: str) -> tuple[str, int] | None:
    if m := _QUARTER.match(text.strip()):
        return "quarter", int(m.group(1))
    if m := _MONTH.match(text.strip()):
        return "month", int(m.group(1))
    return None


def read_plan(file: str, rows: Iterable[tuple[int, tuple[str, ...]]], units: set[str],
              books: Mapping[str, tuple[str, ...]]) -> tuple[list[PlanRow], list[RowError]]:
    """Check each row (cells in ``COLUMNS + OPTIONAL`` order) against the ledger's units and
    books (book -> its components); return the good rows and every problem."""
    good: list[PlanRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[object, ...], int] = {}
    grain: dict[tuple[int, str, str], tuple[str, int]] = {}
    for row_no, cells in rows:
        t_year, unit, t_book, t_period, t_kind, t_amount, t_comp = (c.strip() for c in cells[:7])
        bad = len(errors)

        def err(col: str, why: str, row_no: int = row_no) -> None:
            errors.append(RowError(file, row_no, col, why))

        year = int(t_year) if re.fullmatch(r"[0-9]{4}", t_year) and 2000 <= int(t_year) <= 2100 else None
        if year is None:
            err("year", _("'{value}' is not a year (2000-2100)").format(value=t_year))
        if unit not in units:
            err("unit", _("unknown unit '{unit}'").format(unit=unit))
        book = t_book.upper()
        comps = books.get(book)
        comp = t_comp.lower()
        if comps is None:
            err("book", _("unknown book '{book}'").format(book=t_book))
        elif comps and comp not in comps:
            err("component", _("book {book} needs a component ({components}); got '{value}'").format(
                book=book, components=_(" or ").join(comps), value=t_comp))
        elif not comps and comp:
            err("component", _("book {book} has no components; leave component empty (got '{value}')").format(
                book=book, value=t_comp))
        period = _period(t_period)
        if period is None:
            err("period", _("'{value}' is not a quarter (Q1-Q4) or a month (1-12)").format(value=t_period))
        kind = _KINDS.get(t_kind.lower())
        if kind is None:
            err("kind", _("'{value}' is not revenue or expenditure").format(value=t_kind))
        try:
            fen = parse_fen(t_amount)
        except BadAmount as e:
            err("amount", e.message)
            fen = None
        if len(errors) > bad or year is None or period is None or kind is None or fen is None:
            continue
        key = (year, unit, book, comp, kind, period)
        if key in seen:
            err("period", _("{kind} for period {period} of {year} {unit} {book} appears again (first on row {first})").format(
                kind=_(_WORDS.get(kind, kind)), period=t_period, year=year, unit=unit, book=book, first=seen[key]))
            continue
        seen[key] = row_no
        first = grain.setdefault((year, unit, book), (period[0], row_no))
        if first[0] != period[0]:
            err("period", _("the plan {year} {unit} {book} is by {grain} (row {row}); one plan uses quarters or months, "
                            "not both").format(year=year, unit=unit, book=book, grain=_(_WORDS.get(first[0], first[0])), row=first[1]))
            continue
        good.append(PlanRow(year, unit, book, comp, period[0], kind, period[1], fen))
    return good, errors
