"""A pooling region (统筹区): its units, books and policy settings, loaded from TOML.

The default is Jiamusi (``ledger/data/jiamusi.toml``); ``fundledger init --region FILE``
loads another city. Validation is strict so that a typo is refused at ``init`` rather
than surfacing later as an unknown unit in a file import.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from ledger.core.year_settings import PER_YEAR
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
    # (0154, ATTACK17b F1) the day the unit joined the pooled fund (加入统筹日期), registered with the
    # unit once: nothing is posted on it dated before. None: the file gives none (``init`` registers
    # the first year's 1 January for a unit of a ledger with no entry yet; a unit new to a ledger that
    # holds entries must name its own — ledger.store.migrate.load_reference).
    joined: dt.date | None = None


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
    # (0162) [settings.YEAR]: per-year settings (ledger.core.year_settings.PER_YEAR) changed from
    # that year on, in year order, each table's values as parsed (the keys it names only)
    from_year: tuple[tuple[int, Mapping[str, Any]], ...] = ()

    def for_year(self, year: int) -> Settings:
        """These settings as in force for ``year``: every ``[settings.Y]`` table of a year up to
        ``year`` laid over ``[settings]``, in year order."""
        out: dict[str, Any] = {}
        for y, table in self.from_year:
            if y <= year:
                out.update(table)
        return replace(self, **out) if out else self


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    units: tuple[Unit, ...]
    books: tuple[Book, ...]
    settings: Settings = field(default_factory=Settings)
    time_zone: str = DEFAULT_TIME_ZONE  # IANA name; reports are stamped in it
    source: str = "region"              # the file it was read from, for messages (load_reference)

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


def _decimal(d: dict[str, Any], key: str, default: Decimal, source: str, low: Decimal, high: Decimal) -> Decimal:
    """A setting that is a number (written "3" or 3): finite and from ``low`` to ``high``
    (ATTACK16 C4: ``nan`` compared later raised InvalidOperation, a traceback)."""
    if key not in d:
        return default
    v = d[key]
    try:
        n = Decimal(str(v).strip()) if isinstance(v, (str, int, float)) and not isinstance(v, bool) else None
    except InvalidOperation:
        n = None
    if n is None or not n.is_finite() or not low <= n <= high:
        raise BadInput(_("{source}: settings '{key}' must be a number from {low} to {high} (like \"{example}\"), "
                         "got {value}").format(source=source, key=key, low=low, high=high, example=default,
                                               value=repr(v)))
    return n


# A setting's range (ATTACK16 C4): months payable thresholds in months, the balance-rate
# and budget-surplus ones in per cent.
_MONTHS_LOW, _MONTHS_HIGH = Decimal("0"), Decimal("120")
_PCT_LOW, _PCT_HIGH = Decimal("-100"), Decimal("100")


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


def _joined(u: dict[str, Any], where: str) -> dt.date | None:
    """A unit's ``joined`` (0154, ATTACK17b F1): a date, written ``2023-03-01`` (a TOML date) or
    ``"2023-03-01"``; absent: None. A time, a number or any other text is refused, naming the unit."""
    if "joined" not in u:
        return None
    v = u["joined"]
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    text = v.strip() if isinstance(v, str) else ""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):   # (fromisoformat also reads 20230301, 2023-W09-3)
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise BadInput(_("{where}: 'joined' must be the day the unit joined the pooled fund, a date written "
                     "YYYY-MM-DD (like 2023-03-01), got {value}").format(where=where, value=repr(v)[:80]))


def _tables(doc: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    """``[[key]]`` tables of the file (none when absent); anything else is refused."""
    v = doc.get(key, [])
    if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
        raise BadInput(_("{source}: '{key}' must be tables written [[{key}]], got {value}").format(
            source=source, key=key, value=repr(v)[:80]))
    return v


def _components(b: dict[str, Any], where: str) -> tuple[str, ...]:
    """A book's ``components``: a list of distinct names ([] for none) — never a string
    read letter by letter (ATTACK16 C4: "pooled" was six components p, o, o, l, e, d)."""
    v = b.get("components", [])
    if not isinstance(v, list) or not all(isinstance(c, str) and c.strip() and c == c.strip() for c in v) \
            or len(set(v)) != len(v):
        raise BadInput(_("{where}: 'components' must be a list of distinct names (like [\"pooled\", \"personal\"]; "
                         "[] for none), got {value}").format(where=where, value=repr(v)[:80]))
    return tuple(v)


# (ATTACK16 C4) The keys a region file may hold, per table: any other is refused (a typo in a
# key was a setting silently not applied). [adjustment_fund] checks its own
# (ledger.core.adjustment), performance_weights its indicators (ledger.core.performance).
TOP_KEYS = frozenset({"region", "units", "books", "settings", "response_plans", "funding_standards",
                      "adjustment_fund"})
REGION_KEYS = frozenset({"code", "name_zh", "name_en", "time_zone"})
UNIT_KEYS = frozenset({"code", "name_zh", "name_en", "kind", "joined"})
BOOK_KEYS = frozenset({"code", "name_zh", "name_en", "components", "pooled_component"})
SETTINGS_KEYS = frozenset({"preallocation_months", "preallocation_basis", "months_red_below", "months_yellow_below",
                           "months_excess_above", "balance_rate_red_below", "balance_rate_yellow_below",
                           "balance_rate_excess_above", "first_year", "cash_date_allowance_days",
                           "import_stage_max_mb", "budget_surplus_min_pct", "budget_surplus_max_pct",
                           "performance_weights", "final_accounts_eliminate"})
# Keys an earlier release's default file carried and no release reads now: taken and left unread,
# so the file a deployment started from (and the copy an auditor keeps for verify --region)
# still loads (ATTACK17b F7); a misspelt key is still refused. interest_rounding: the interest
# shares are always the largest-remainder rule the verdict re-derives (never a setting).
SETTINGS_RETIRED = frozenset({"interest_rounding"})
PLAN_KEYS = frozenset({"level", "notify", "review", "days"})
STANDARD_KEYS = frozenset({"year", "book", "per_insured", "subsidy_min", "individual", "ratio_max"})


def _known_keys(d: Mapping[str, Any], known: frozenset[str], where: str, retired: frozenset[str] = frozenset()) -> None:
    """Refuse a key of table ``d`` the reader does not read, naming it and the known ones
    (a ``retired`` key, one an earlier release's file carried, is let pass unread)."""
    extra = sorted(set(d) - known - retired)
    if extra:
        raise BadInput(_("{where}: unknown key '{key}' (known: {known})").format(
            where=where, key=extra[0], known=", ".join(sorted(known))))


def _years(tables: Mapping[str, Any], source: str) -> tuple[tuple[int, Mapping[str, Any]], ...]:
    """(0162) The ``[settings.YEAR]`` tables, in year order: each a table of a year 1990–2100 holding
    only per-year settings (``ledger.core.year_settings.PER_YEAR``), each read as in ``[settings]``."""
    out: list[tuple[int, Mapping[str, Any]]] = []
    for key, t in sorted(tables.items()):
        where = f"{source}: [settings.{key}]"
        if not isinstance(t, dict) or not 1990 <= int(key) <= 2100:
            raise BadInput(_("{where}: a year's settings must be a table [settings.YEAR] of a year 1990-2100 "
                             "(like [settings.2026]), got {value}").format(where=where, value=repr(t)[:80]))
        _known_keys(t, frozenset(PER_YEAR), where)
        table: dict[str, Any] = {}
        for k in PER_YEAR:
            if k not in t:
                continue
            if k == "performance_weights":
                table[k] = _weights(t[k], where)
            elif k == "final_accounts_eliminate":
                table[k] = parse_eliminations(t[k], where)
            else:
                low, high = (_MONTHS_LOW, _MONTHS_HIGH) if k.startswith("months_") else (_PCT_LOW, _PCT_HIGH)
                table[k] = _decimal(t, k, getattr(Settings(), k), where, low, high)
        out.append((int(key), table))
    return tuple(out)


def _check_ranges(settings: Settings, source: str) -> None:
    """The ranges of the settings in force for a year (``[settings]``'s, or a year's with its
    tables): the small-surplus range and the thresholds rise."""
    if not Decimal("0") <= settings.budget_surplus_min_pct <= settings.budget_surplus_max_pct <= Decimal("100"):
        raise BadInput(_("{source}: settings budget_surplus_min_pct ≤ budget_surplus_max_pct, both 0–100 (per cent "
                         "of revenue)").format(source=source))
    if not settings.months_red_below < settings.months_yellow_below < settings.months_excess_above:
        raise BadInput(_("{source}: month thresholds must rise: red < yellow < excess").format(source=source))
    try:
        RateRanges(settings.balance_rate_red_below, settings.balance_rate_yellow_below,
                   settings.balance_rate_excess_above)  # refuses ranges that do not rise
    except BadInput as e:
        raise BadInput(_("{source}: settings {reason}").format(source=source, reason=e.message)) from e


def parse_region(doc: dict[str, Any], source: str = "region") -> Region:
    _known_keys(doc, TOP_KEYS, source)
    r = doc.get("region")
    if not isinstance(r, dict):
        raise BadInput(_("{source}: missing [region] table").format(source=source))
    _known_keys(r, REGION_KEYS, f"{source}: [region]")
    units: list[Unit] = []
    for i, u in enumerate(_tables(doc, "units", source), 1):
        where = f"{source}: units[{i}]"
        _known_keys(u, UNIT_KEYS, where)
        kind = _text(u, "kind", where)
        if kind not in ("city", "county"):
            raise BadInput(_("{where}: kind must be 'city' or 'county', not '{kind}'").format(where=where, kind=kind))
        code = _text(u, "code", where)
        units.append(Unit(code, _text(u, "name_zh", where), _text(u, "name_en", where), kind,  # type: ignore[arg-type]
                          _joined(u, f"{where} ({code})")))
    if not units:
        raise BadInput(_("{source}: at least one [[units]] entry is needed").format(source=source))
    codes = [u.code for u in units]
    if len(set(codes)) != len(codes):
        raise BadInput(_("{source}: unit codes repeat").format(source=source))
    books: list[Book] = []
    for i, b in enumerate(_tables(doc, "books", source), 1):
        where = f"{source}: books[{i}]"
        _known_keys(b, BOOK_KEYS, where)
        comps = _components(b, where)
        pooled = b.get("pooled_component", comps[0] if comps else "")
        if (comps and pooled not in comps) or not isinstance(pooled, str):
            raise BadInput(_("{where}: pooled_component '{pooled}' is not one of {components}").format(
                where=where, pooled=pooled, components=comps))
        books.append(Book(_text(b, "code", where), _text(b, "name_zh", where), _text(b, "name_en", where), comps, pooled))
    if not books:
        raise BadInput(_("{source}: at least one [[books]] entry is needed").format(source=source))
    s = doc.get("settings", {})
    if not isinstance(s, dict):
        raise BadInput(_("{source}: [settings] must be a table, got {value}").format(source=source, value=repr(s)[:80]))
    # (0162) [settings.YEAR] tables: the per-year settings changed from that year on
    by_year = {k: v for k, v in s.items() if re.fullmatch(r"[0-9]{4}", k)}
    s = {k: v for k, v in s.items() if k not in by_year}
    _known_keys(s, SETTINGS_KEYS, f"{source}: [settings]", SETTINGS_RETIRED)
    for key, known in (("response_plans", PLAN_KEYS), ("funding_standards", STANDARD_KEYS)):
        for i, t in enumerate(_tables(doc, key, source), 1):
            _known_keys(t, known, f"{source}: {key}[{i}]")
    basis = s.get("preallocation_basis", "budget")
    if basis not in ("budget", "prior-year"):
        raise BadInput(_("{source}: preallocation_basis must be 'budget' or 'prior-year'").format(source=source))
    settings = Settings(
        preallocation_months=_bounded(s, "preallocation_months", 3, 1, 12, source),
        preallocation_basis=basis,
        months_red_below=_decimal(s, "months_red_below", Decimal("3"), source, _MONTHS_LOW, _MONTHS_HIGH),
        months_yellow_below=_decimal(s, "months_yellow_below", Decimal("6"), source, _MONTHS_LOW, _MONTHS_HIGH),
        months_excess_above=_decimal(s, "months_excess_above", Decimal("15"), source, _MONTHS_LOW, _MONTHS_HIGH),
        balance_rate_red_below=_decimal(s, "balance_rate_red_below", Decimal("-5"), source, _PCT_LOW, _PCT_HIGH),
        balance_rate_yellow_below=_decimal(s, "balance_rate_yellow_below", Decimal("0"), source, _PCT_LOW, _PCT_HIGH),
        balance_rate_excess_above=_decimal(s, "balance_rate_excess_above", Decimal("15"), source, _PCT_LOW, _PCT_HIGH),
        response_plans=parse_plans(_tables(doc, "response_plans", source), source),
        first_year=_year(s, "first_year", source),
        cash_date_allowance_days=_bounded(s, "cash_date_allowance_days", 0, 0, 366, source),
        import_stage_max_mb=_bounded(s, "import_stage_max_mb", 1024, 1, 65536, source),
        funding_standards=parse_standards(_tables(doc, "funding_standards", source), source),
        budget_surplus_min_pct=_decimal(s, "budget_surplus_min_pct", Decimal("0"), source, _PCT_LOW, _PCT_HIGH),
        budget_surplus_max_pct=_decimal(s, "budget_surplus_max_pct", Decimal("5"), source, _PCT_LOW, _PCT_HIGH),
        performance_weights=_weights(s.get("performance_weights", {}), source),
        adjustment_fund=parse_adjustment_fund(doc.get("adjustment_fund"), {u.code for u in units}, source),
        final_accounts_eliminate=parse_eliminations(
            s.get("final_accounts_eliminate", [list(p) for p in DEFAULT_ELIMINATIONS]), source),
    )
    settings = replace(settings, from_year=_years(by_year, source))
    for where, eff in ((source, settings), *((f"{source}: [settings.{y}]", settings.for_year(y))
                                            for y, _t in settings.from_year)):
        _check_ranges(eff, where)
    for i, un in enumerate(units, 1):
        if un.joined is not None and un.joined.year < settings.first_year:
            where = f"{source}: units[{i}] ({un.code})"
            raise BadInput(_("{where}: 'joined' {joined} is before settings first_year {year}, the year before "
                             "which no entry is dated").format(where=where, joined=un.joined, year=settings.first_year))
    zone = r.get("time_zone", DEFAULT_TIME_ZONE)
    try:
        if not isinstance(zone, str):
            raise ValueError(zone)
        zone = zone.strip()
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(_("{source}: [region] time_zone '{zone}' is not a time zone (an IANA name like "
                         "Asia/Shanghai)").format(source=source, zone=zone)) from None
    book_codes = {b.code for b in books}
    for st in settings.funding_standards:
        if st.book not in book_codes and doc.get("funding_standards"):
            raise BadInput(_("{source}: funding_standards {year}: unknown book '{book}' (known: {known})").format(
                source=source, year=st.year, book=st.book, known=", ".join(sorted(book_codes))))
    return Region(_text(r, "code", source), _text(r, "name_zh", source), _text(r, "name_en", source),
                  tuple(units), tuple(books), settings, zone, source)


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
    except UnicodeDecodeError as e:
        raise BadInput(_("{file}: not valid UTF-8 (save it as UTF-8): {error}").format(file=p, error=e)) from e
    except tomllib.TOMLDecodeError as e:
        from ledger.core.toml_text import toml_error_text

        raise BadInput(_("{file}: not a TOML file fundledger can read, {error}; correct that line (docs/region.md "
                         "shows the form)").format(file=p, error=toml_error_text(e))) from e
    except ValueError as e:
        # tomllib's own int() past Python's 4,300-digit limit (ATTACK20 L1): the file's fault
        raise BadInput(_("{file}: not a valid UTF-8 TOML file: {error}").format(file=p, error=e)) from e
    try:
        return parse_region(doc, str(p))
    except (ArithmeticError, AttributeError, KeyError, TypeError, ValueError) as e:
        # a shape no check above names (ATTACK16 C4): the file's fault, never a traceback
        raise BadInput(_("{file}: the region file has a setting of the wrong kind ({error}); compare it with "
                         "docs/region.md").format(file=p, error=f"{type(e).__name__}: {e}")) from e
