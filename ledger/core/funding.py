"""Funding standards (筹资标准): what each insured person's money should be, per year.

The national notice for 2022 (医保发〔2022〕20号) sets the residents' funding at 960 yuan per
insured person: a fiscal subsidy of at least 610 and an individual contribution of 350.
Shandong's city measures keep the fiscal subsidy to the individual contribution within
2 : 1. Both change every year, so they are region settings (``[[funding_standards]]`` in the
region file, one table per year and book; docs/region.md).

The check, per unit, book and year, on the cash basis: the fiscal subsidy *received* (4101
and its sources, without the government's receipts of its share of a gap, which is not
funding: the register's clearings, as the shortfall rule reads them) and the individual contributions received (4001), both net of reversals and
without the year-end close, against the insured headcount (参保人数) of that unit, book and
year. Every comparison is exact, in fen: ``subsidy ≥ subsidy_min × insured``, never a
rounded per-person figure against the standard (a unit 0.004 yuan short per person over a
million people is 4,000 yuan short). The per-person figures shown are rounded half-up to
the fen, for reading only.

Flags (codes; words in the catalogue):

* ``no_headcount`` — no headcount recorded (or zero): nothing per person can be said;
* ``subsidy_below_standard`` — subsidy < ``subsidy_min`` × insured;
* ``individual_below_standard`` — contributions < ``individual`` × insured;
* ``total_below_standard`` — subsidy + contributions < ``per_insured`` × insured;
* ``ratio_out_of_range`` — subsidy : contributions above ``ratio_max`` : 1 (subsidy >
  ``ratio_max`` × contributions; any subsidy with no contributions at all).

Worked example (2022 standard, 1,000 insured): subsidy 600,000.00, contributions
350,000.00 → 600.00 and 350.00 per person, total 950.00: ``subsidy_below_standard``
(610 × 1,000 = 610,000.00 > 600,000.00) and ``total_below_standard`` (960,000.00 >
950,000.00); ratio 600,000 : 350,000 = 1.71 ≤ 2, in range.

Pure: settings and figures in, values out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledger.core.money import decimal_text, parse_fen
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _

FLAGS = ("no_headcount", "subsidy_below_standard", "individual_below_standard", "total_below_standard",
         "ratio_out_of_range")


@dataclass(frozen=True, slots=True)
class FundingStandard:
    """One year's standard for one book, amounts in fen per insured person."""

    year: int
    book: str
    per_insured: int
    subsidy_min: int
    individual: int
    ratio_max: Decimal   # subsidy : individual at most ratio_max : 1

    def __post_init__(self) -> None:
        if self.subsidy_min + self.individual > self.per_insured:
            raise BadInput(_("funding standard {year} {book}: subsidy_min + individual ({sum}) exceeds per_insured "
                             "({per_insured})").format(year=self.year, book=self.book,
                                                       sum=decimal_text(self.subsidy_min + self.individual),
                                                       per_insured=decimal_text(self.per_insured)))


# 医保发〔2022〕20号 and Shandong's 2 : 1; later years come from the region file.
DEFAULT_STANDARDS: tuple[FundingStandard, ...] = (
    FundingStandard(2022, "RES", 96000, 61000, 35000, Decimal(2)),
)


def _yuan(it: Mapping[str, Any], key: str, where: str) -> int:
    v = it.get(key)
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise BadInput(_("{where}: '{key}' must be an amount in yuan (like \"610\" or \"610.00\")").format(
            where=where, key=key))
    try:
        return parse_fen(str(v), allow_zero=False)
    except BadAmount as e:
        raise BadInput(f"{where}: '{key}': {e.message}") from None


def parse_standards(items: Sequence[Mapping[str, Any]] | None, source: str = "region") -> tuple[FundingStandard, ...]:
    """``[[funding_standards]]`` tables (year, book, per_insured, subsidy_min, individual,
    ratio_max); the defaults when there are none. A year and book given twice is refused."""
    if not items:
        return DEFAULT_STANDARDS
    out: list[FundingStandard] = []
    seen: set[tuple[int, str]] = set()
    for i, it in enumerate(items, 1):
        where = f"{source}: funding_standards[{i}]"
        if not isinstance(it, Mapping):
            raise BadInput(_("{where}: must be a table").format(where=where))
        year = it.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise BadInput(_("{where}: 'year' must be a year (2000-2100), got {year}").format(where=where, year=repr(year)))
        book = it.get("book", "RES")
        if not isinstance(book, str) or not book.strip():
            raise BadInput(_("{where}: 'book' must be a book code (like RES)").format(where=where))
        book = book.strip().upper()
        if (year, book) in seen:
            raise BadInput(_("{where}: {year} {book} is given twice").format(where=where, year=year, book=book))
        seen.add((year, book))
        try:
            ratio = Decimal(str(it.get("ratio_max", "2")))
        except InvalidOperation:
            raise BadInput(_("{where}: 'ratio_max' must be a number (2 for 2 : 1)").format(where=where)) from None
        if not ratio.is_finite() or ratio <= 0:
            raise BadInput(_("{where}: 'ratio_max' must be a positive number (2 for 2 : 1)").format(where=where))
        out.append(FundingStandard(year, book, _yuan(it, "per_insured", where), _yuan(it, "subsidy_min", where),
                                   _yuan(it, "individual", where), ratio))
    return tuple(sorted(out, key=lambda s: (s.year, s.book)))


def standards_json(standards: Sequence[FundingStandard]) -> list[dict[str, Any]]:
    """As stored in ``fl.setting`` (and read back by ``parse_standards``)."""
    return [{"year": s.year, "book": s.book, "per_insured": decimal_text(s.per_insured),
             "subsidy_min": decimal_text(s.subsidy_min), "individual": decimal_text(s.individual),
             "ratio_max": str(s.ratio_max)} for s in standards]


_NUMBER = re.compile(r"\s*[0-9]{1,15}(\.[0-9]{1,15})?\s*")
StandardKey = tuple[int, str]
StandardText = tuple[tuple[Any, ...], ...]


def _number(v: Any) -> Any:
    """An amount or ratio as 0150's guard compares it (fl._standard_number): a number, or text
    that is one, as that number ("960" = "960.00" = 960); anything else as it stands."""
    if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
        return v
    text = str(v)
    return Decimal(text.strip()) if _NUMBER.fullmatch(text) else v


def standards_by_year(value: Any) -> dict[StandardKey, StandardText]:
    """The funding_standards setting's value (parsed JSON) per (year, book) as 0150's guard
    reads it (fl._funding_standards_of): each (year, book)'s entries as (per_insured,
    subsidy_min, individual, ratio_max) numbers in order, the book RES when none is given, the
    defaults when the value holds none (null, []). The verdict compares a closed year's with
    it, version by version (ledger.core.rules, year_closed_reference)."""
    if value is None or value == []:
        value = standards_json(DEFAULT_STANDARDS)
    if not isinstance(value, list):
        return {}
    out: dict[StandardKey, list[tuple[Any, ...]]] = {}
    for it in value:
        if not isinstance(it, dict):
            continue
        y = it.get("year")
        if isinstance(y, bool) or not isinstance(y, (int, str)) or not re.fullmatch(r"\s*[0-9]{1,4}\s*", str(y)):
            continue
        b = it.get("book")
        book = "RES" if b is None else (b if isinstance(b, str) else json.dumps(b)).strip(" ").upper()
        out.setdefault((int(str(y).strip()), book), []).append(tuple(
            _number(it.get(k, "2" if k == "ratio_max" else None))
            for k in ("per_insured", "subsidy_min", "individual", "ratio_max")))
    return {k: tuple(v) for k, v in out.items()}


def standard_for(standards: Sequence[FundingStandard], year: int, book: str) -> FundingStandard | None:
    for s in standards:
        if s.year == year and s.book == book:
            return s
    return None


def per_person(amount: int, insured: int) -> int | None:
    """``amount`` ÷ ``insured`` in fen, half-up; ``None`` without a headcount."""
    if insured <= 0:
        return None
    return int((Decimal(amount) / Decimal(insured)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ratio(subsidy: int, individual: int) -> Decimal | None:
    """subsidy : individual as a number to 0.01 (1.74 for 610 : 350); ``None`` with no contributions."""
    if individual <= 0:
        return None
    return (Decimal(subsidy) / Decimal(individual)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class FundingLine:
    """One unit's (or the region's) year against the standard; amounts in fen."""

    unit: str
    book: str
    year: int
    insured: int | None
    subsidy: int
    individual: int
    total: int
    subsidy_per_insured: int | None
    individual_per_insured: int | None
    total_per_insured: int | None
    ratio: Decimal | None
    standard: FundingStandard | None
    flags: tuple[str, ...]
    # (0142, closedyr) the day the headcount in force was recorded, when that was after the year's
    # close (a closed year's first headcount is taken: the close and its reports did not have it)
    headcount_after_close: dt.date | None = None


def funding_line(unit: str, book: str, year: int, insured: int | None, subsidy: int, individual: int,
                 standard: FundingStandard | None) -> FundingLine:
    """The check of one unit, book and year (see the module's docstring for each flag)."""
    for name, v in (("subsidy", subsidy), ("individual", individual)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise BadInput(_("funding {unit}/{book}: {name} must be a whole number of fen").format(unit=unit, book=book, name=name))
    n = insured if insured is not None and insured > 0 else None
    flags: list[str] = []
    if n is None:
        flags.append("no_headcount")
    elif standard is not None:
        if subsidy < standard.subsidy_min * n:
            flags.append("subsidy_below_standard")
        if individual < standard.individual * n:
            flags.append("individual_below_standard")
        if subsidy + individual < standard.per_insured * n:
            flags.append("total_below_standard")
    if standard is not None and subsidy > 0 and (individual <= 0 or Decimal(subsidy) > standard.ratio_max * individual):
        flags.append("ratio_out_of_range")
    return FundingLine(unit, book, year, insured, subsidy, individual, subsidy + individual,
                       per_person(subsidy, n or 0), per_person(individual, n or 0),
                       per_person(subsidy + individual, n or 0), ratio(subsidy, individual), standard, tuple(flags))
