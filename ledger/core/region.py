"""A pooling region (统筹区): its units, books and policy settings, loaded from TOML.

The default is Jiamusi (``ledger/data/jiamusi.toml``); ``fundledger init --region FILE``
loads another city. Validation is strict so that a typo is refused at ``init`` rather
than surfacing later as an unknown unit in a file import.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.core.adjustment import AdjustmentFund, parse_adjustment_fund
from ledger.core.balance_rate import RateRanges
from ledger.core.chart import CHART_BY_CODE
from ledger.core.funding import DEFAULT_STANDARDS, FundingStandard, parse_standards
from ledger.core.performance import DEFAULT_WEIGHTS, check_weights
from ledger.core.response import DEFAULT_PLANS, PlanStep, parse_plans
from ledger.core.timezone import DEFAULT_TIME_ZONE
from ledger.core.timezone import TIME_ZONE_ENV as TIME_ZONE_ENV  # re-exported: the clock's old home
from ledger.core.timezone import fund_time_zone as fund_time_zone
from ledger.errors import BadInput
from ledger.i18n import _
from ledger.io import infile

UnitKind = Literal["city", "county"]

@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name_zh: str
    name_en: str
    kind: UnitKind


@dataclass(frozen=True, slots=True)
class Book:
    code: str
    name_zh: str
    name_en: str
    components: tuple[str, ...] = ()
    pooled_component: str = ""


#: Flows between levels inside the city that the city's final accounts (决算) eliminate
#: *(our reading)*: (expenditure of the giving level, revenue of the receiving level) —
#: 补助下级支出 5302 against 上级补助收入 4401, 上解上级支出 5301 against 下级上解收入 4402.
DEFAULT_ELIMINATIONS: tuple[tuple[str, str], ...] = (("5302", "4401"), ("5301", "4402"))


def parse_eliminations(v: object, source: str) -> tuple[tuple[str, str], ...]:
    """``final_accounts_eliminate``: a list of [expenditure code, revenue code] pairs of
    top-level chart accounts (an empty list: nothing is eliminated)."""
    out: list[tuple[str, str]] = []
    for pair in v if isinstance(v, list) else [v]:
        codes = [str(c) for c in pair] if isinstance(pair, list) and all(isinstance(c, str) for c in pair) else []
        if [getattr(CHART_BY_CODE.get(c), "kind", None) for c in codes] == ["expenditure", "revenue"] \
                and all("." not in c for c in codes):
            out.append((codes[0], codes[1]))
        else:
            raise BadInput(_("{source}: settings final_accounts_eliminate must be a list of [expenditure code, "
                             "revenue code] pairs of the chart (e.g. [\"5302\", \"4401\"]), got {pair}").format(
                source=source, pair=repr(pair)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Settings:
    preallocation_months: int = 3
    preallocation_basis: Literal["budget", "prior-year"] = "budget"
    months_red_below: Decimal = Decimal("3")
    months_yellow_below: Decimal = Decimal("6")
    months_excess_above: Decimal = Decimal("15")
    # 当期结余率 ranges in per cent *(our reading)*, and the response plans (风险处置预案)
    balance_rate_red_below: Decimal = Decimal("-5")
    balance_rate_yellow_below: Decimal = Decimal("0")
    balance_rate_excess_above: Decimal = Decimal("15")
    response_plans: tuple[PlanStep, ...] = DEFAULT_PLANS
    first_year: int = 2000   # the first handover year: no entry may be dated before it
    # days past the region's today a real-money entry may be dated (0031, ATTACK3 R20)
    cash_date_allowance_days: int = 0
    # megabytes one session's import stages may hold together (0037, ATTACK3 R3)
    import_stage_max_mb: int = 1024
    # 筹资标准 per year and book (ledger/core/funding.py)
    funding_standards: tuple[FundingStandard, ...] = DEFAULT_STANDARDS
    # 略有结余: a budget's planned surplus as per cent of planned revenue *(our reading)*
    budget_surplus_min_pct: Decimal = Decimal("0")
    budget_surplus_max_pct: Decimal = Decimal("5")
    # 预算绩效考核 indicator weights (ledger.core.performance; defaults our reading)
    performance_weights: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # 调剂金 (ledger/core/adjustment.py): none by default
    adjustment_fund: AdjustmentFund = field(default_factory=AdjustmentFund)
    # 决算: the flows between levels the city's consolidated statements eliminate (our reading)
    final_accounts_eliminate: tuple[tuple[str, str], ...] = DEFAULT_ELIMINATIONS


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    units: tuple[Unit, ...]
    books: tuple[Book, ...]
    settings: Settings = field(default_factory=Settings)
    time_zone: str = DEFAULT_TIME_ZONE  # IANA name; reports are stamped in it

    def unit(self, code: str) -> Unit:
        for u in self.units:
            if u.code == code:
                return u
        raise BadInput(_("unknown unit '{unit}' (known: {known})").format(
            unit=code, known=", ".join(u.code for u in self.units)))


def _text(d: dict[str, Any], key: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise BadInput(_("{where}: '{key}' must be non-empty text").format(where=where, key=key))
    return v.strip()


def _decimal(d: dict[str, Any], key: str, default: Decimal) -> Decimal:
    if key not in d:
        return default
    try:
        return Decimal(str(d[key]))
    except InvalidOperation as e:
        raise BadInput(_("settings: '{key}' must be a number").format(key=key)) from e


def _year(d: dict[str, Any], key: str, source: str) -> int:
    v = d.get(key, 2000)
    if not isinstance(v, int) or isinstance(v, bool) or not 1990 <= v <= 2100:
        raise BadInput(_("{source}: settings '{key}' must be a year (1990-2100), got {value}").format(
            source=source, key=key, value=repr(v)))
    return v


def _bounded(d: dict[str, Any], key: str, default: int, low: int, high: int, source: str) -> int:
    v = d.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
        raise BadInput(_("{source}: settings '{key}' must be a whole number from {low} to {high}, got {value}").format(
            source=source, key=key, low=low, high=high, value=repr(v)))
    return v


def _weights(v: object, source: str) -> dict[str, Decimal]:
    if not isinstance(v, dict):
        raise BadInput(_("{source}: settings performance_weights must be a table (indicator = weight)").format(source=source))
    try:
        return check_weights(v)
    except BadInput as e:
        raise BadInput(_("{source}: settings {reason}").format(source=source, reason=e.message)) from e


def parse_region(doc: dict[str, Any], source: str = "region") -> Region:
    r = doc.get("region")
    if not isinstance(r, dict):
        raise BadInput(_("{source}: missing [region] table").format(source=source))
    units: list[Unit] = []
    for i, u in enumerate(doc.get("units", []), 1):
        where = f"{source}: units[{i}]"
        kind = _text(u, "kind", where)
        if kind not in ("city", "county"):
            raise BadInput(_("{where}: kind must be 'city' or 'county', not '{kind}'").format(where=where, kind=kind))
        units.append(Unit(_text(u, "code", where), _text(u, "name_zh", where), _text(u, "name_en", where), kind))  # type: ignore[arg-type]
    if not units:
        raise BadInput(_("{source}: at least one [[units]] entry is needed").format(source=source))
    codes = [u.code for u in units]
    if len(set(codes)) != len(codes):
        raise BadInput(_("{source}: unit codes repeat").format(source=source))
    books: list[Book] = []
    for i, b in enumerate(doc.get("books", []), 1):
        where = f"{source}: books[{i}]"
        comps = tuple(str(c) for c in b.get("components", []))
        pooled = str(b.get("pooled_component", comps[0] if comps else ""))
        if comps and pooled not in comps:
            raise BadInput(_("{where}: pooled_component '{pooled}' is not one of {components}").format(
                where=where, pooled=pooled, components=comps))
        books.append(Book(_text(b, "code", where), _text(b, "name_zh", where), _text(b, "name_en", where), comps, pooled))
    if not books:
        raise BadInput(_("{source}: at least one [[books]] entry is needed").format(source=source))
    s = doc.get("settings", {})
    basis = s.get("preallocation_basis", "budget")
    if basis not in ("budget", "prior-year"):
        raise BadInput(_("{source}: preallocation_basis must be 'budget' or 'prior-year'").format(source=source))
    settings = Settings(
        preallocation_months=int(s.get("preallocation_months", 3)),
        preallocation_basis=basis,
        months_red_below=_decimal(s, "months_red_below", Decimal("3")),
        months_yellow_below=_decimal(s, "months_yellow_below", Decimal("6")),
        months_excess_above=_decimal(s, "months_excess_above", Decimal("15")),
        balance_rate_red_below=_decimal(s, "balance_rate_red_below", Decimal("-5")),
        balance_rate_yellow_below=_decimal(s, "balance_rate_yellow_below", Decimal("0")),
        balance_rate_excess_above=_decimal(s, "balance_rate_excess_above", Decimal("15")),
        response_plans=parse_plans(doc.get("response_plans", []), source),
        first_year=_year(s, "first_year", source),
        cash_date_allowance_days=_bounded(s, "cash_date_allowance_days", 0, 0, 366, source),
        import_stage_max_mb=_bounded(s, "import_stage_max_mb", 1024, 1, 65536, source),
        funding_standards=parse_standards(doc.get("funding_standards", []), source),
        budget_surplus_min_pct=_decimal(s, "budget_surplus_min_pct", Decimal("0")),
        budget_surplus_max_pct=_decimal(s, "budget_surplus_max_pct", Decimal("5")),
        performance_weights=_weights(s.get("performance_weights", {}), source),
        adjustment_fund=parse_adjustment_fund(doc.get("adjustment_fund"), {u.code for u in units}, source),
        final_accounts_eliminate=parse_eliminations(
            s.get("final_accounts_eliminate", [list(p) for p in DEFAULT_ELIMINATIONS]), source),
    )
    if not Decimal("0") <= settings.budget_surplus_min_pct <= settings.budget_surplus_max_pct <= Decimal("100"):
        raise BadInput(_("{source}: settings budget_surplus_min_pct ≤ budget_surplus_max_pct, both 0–100 (per cent "
                         "of revenue)").format(source=source))
    if not settings.months_red_below < settings.months_yellow_below < settings.months_excess_above:
        raise BadInput(_("{source}: month thresholds must rise: red < yellow < excess").format(source=source))
    zone = str(r.get("time_zone", DEFAULT_TIME_ZONE)).strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(_("{source}: [region] time_zone '{zone}' is not a time zone (an IANA name like "
                         "Asia/Shanghai)").format(source=source, zone=zone)) from None
    book_codes = {b.code for b in books}
    for st in settings.funding_standards:
        if st.book not in book_codes and doc.get("funding_standards"):
            raise BadInput(_("{source}: funding_standards {year}: unknown book '{book}' (known: {known})").format(
                source=source, year=st.year, book=st.book, known=", ".join(sorted(book_codes))))
    RateRanges(settings.balance_rate_red_below, settings.balance_rate_yellow_below,
               settings.balance_rate_excess_above)  # refuses ranges that do not rise
    return Region(_text(r, "code", source), _text(r, "name_zh", source), _text(r, "name_en", source),
                  tuple(units), tuple(books), settings, zone)


def load_region(path: Path | str | None = None) -> Region:
    """Load a region file, or the default Jiamusi region when ``path`` is None."""
    if path is None:
        text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
        return parse_region(tomllib.loads(text), "jiamusi.toml")
    p = Path(path)
    try:
        doc = tomllib.loads(infile.read_text(p))
    except FileNotFoundError as e:
        raise BadInput(_("{file}: no such region file").format(file=p)) from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInput(_("{file}: not a valid UTF-8 TOML file: {error}").format(file=p, error=e)) from e
    return parse_region(doc, str(p))
