"""Forecast (基金运行预测): each unit's monthly revenue and spending projected from its
own history, the months-payable path that follows, the month it first turns yellow
and red, and the local government's expected share (缺口分担) at each year end.

Pure: history in, figures out; money stays integer fen (Decimal in between, rounded
half-even to the fen once per monthly figure). The method, per series (contributions
4001/4601, fiscal subsidies 4101/4401 without the government's shortfall receipts (its
register clearings, as the shortfall rule reads them), other revenue,
expenditure 5xxx), is a *seasonal profile × damped robust trend*:

* **profile**: each calendar month's share of its calendar year's total, the median of
  that share over the complete calendar years in the history (the last 12 months when
  there is none; flat 1/12 with less than a year). Shares, not additive indices, because
  residents' revenue arrives in lumps (subsidies in two months, nothing in others): a
  share handles zero months exactly where Holt-Winters' multiplicative indices divide
  by them. The median discards one abnormal year (an epidemic spring).
* **growth** ``g``: the median of the year-on-year growth of the last (up to five)
  12-month totals ending at the origin, clipped to ±``max_growth``; 0 with one year.
  Year ``j`` after the origin grows by ``φ^(j−1)·g`` (damping ``φ``, default 0.8): the
  recent trend in full for the next year, fading after it — a trend extrapolated
  undamped for years is the classic forecasting mistake.
* **level**: the last 12 months' total; for contributions and spending with three or
  more years, the median of each year's total carried to the origin at ``g`` — one
  abnormal year (an epidemic, a one-off back-payment) cannot set the base. Subsidies
  keep the last 12 months: they are set by policy and a change persists.
* **assumptions** replace estimates: ``contribution_growth`` / ``spending_growth`` are
  annual rates used as given (undamped); ``subsidy_change`` moves the subsidy level by
  that fraction from the first forecast month (an announced cut or rise).

The surplus path is the cash surplus on the books (as the monitor counts it): the
origin's surplus plus revenue − expenditure each month, plus the government's payment
of a shortfall share when it is assumed to arrive (``government_lag_months`` after the
year end it belongs to; a share outstanding at the origin that many months after the
origin). Months payable and its colour are those of ``ledger.core.monitor`` applied at
each month end, on the monitor's basis (issue 16): the trailing 12 months of history
and forecast, or, while the unit has been in the ledger for less than 12 months, its
daily spending since its first day × 365 ÷ 12 — at the origin the forecast prints the
monitor's figure for that day. Year ends apply
``ledger.core.shortfall`` with the across-years reading of BRIEF §5: shortfall receipts
are never revenue for ``C``, and ``S before`` counts the share still owed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.core.monitor import Colour, Thresholds, colour, monthly_spending, months_payable_at
from ledger.core.shapes import Fen
from ledger.core.shortfall import ShortfallInput, apply_shortfall_rule
from ledger.errors import BadInput
from ledger.i18n import N_, _

MAX_YEARS = 5
SERIES = ("contributions", "subsidies", "other_revenue", "expenditure")
_ONE, _ZERO = Decimal(1), Decimal(0)


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def add_months(d: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``d``'s month."""
    k = d.year * 12 + d.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def origin_for(as_of: dt.date) -> dt.date:
    """The forecast's origin: ``as_of`` when it is a month end, else the previous month end
    (a part month would be counted twice: once as history, once as forecast)."""
    return as_of if as_of == month_end(as_of) else month_start(as_of) - dt.timedelta(days=1)


def to_fen(x: Decimal) -> int:
    return int(x.quantize(_ONE, rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True)
class MonthFlows:
    """One month of one unit and book (employees: the pooled component), in fen, without
    the year-end close. ``equity`` is 3001 moved directly (handover openings): it changes
    the surplus but is neither revenue nor expenditure."""

    month: dt.date               # first day of the month
    contributions: int = 0       # 4001, 4601
    subsidies: int = 0           # 4101 and its sub-accounts, 4401: without the shortfall receipts
    other_revenue: int = 0       # interest and the rest of 4xxx
    expenditure: int = 0         # 5xxx
    shortfall_receipts: int = 0  # the government paying an earlier year's share (its register clearings)
    equity: int = 0              # 3001 outside the close

    @property
    def revenue(self) -> int:
        """Revenue for the shortfall rule: without shortfall receipts."""
        return self.contributions + self.subsidies + self.other_revenue

    @property
    def surplus_change(self) -> int:
        return self.revenue + self.shortfall_receipts + self.equity - self.expenditure


def _rate(name: str, value: Decimal | None, lo: Decimal, hi: Decimal) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite() or not lo <= value <= hi:
        raise BadInput(_("{name} must be a number from {lo} to {hi}, got {value}").format(name=_(name), lo=lo, hi=hi, value=value))


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What the user assumes; ``None`` growth means "estimate it from the history".
    Rates are fractions: 0.05 is +5 % a year."""

    contribution_growth: Decimal | None = None
    spending_growth: Decimal | None = None
    subsidy_change: Decimal = _ZERO
    damping: Decimal = Decimal("0.8")
    max_growth: Decimal = Decimal("0.15")
    government_lag_months: int = 1

    def __post_init__(self) -> None:
        _rate(N_("contribution growth"), self.contribution_growth, Decimal("-0.5"), Decimal("1"))
        _rate(N_("spending growth"), self.spending_growth, Decimal("-0.5"), Decimal("1"))
        _rate(N_("subsidy change"), self.subsidy_change, Decimal("-1"), Decimal("1"))
        _rate(N_("damping"), self.damping, _ZERO, _ONE)
        _rate(N_("maximum growth"), self.max_growth, _ZERO, _ONE)
        lag = self.government_lag_months
        if isinstance(lag, bool) or not isinstance(lag, int) or not 1 <= lag <= 36:
            raise BadInput(_("government payment lag must be 1 to 36 months, got {lag}").format(lag=lag))


# --------------------------------------------------------------------------- one series


@dataclass(frozen=True, slots=True)
class SeriesModel:
    """A fitted series: ``level`` fen a year at the origin, annual ``growth``, whether the
    growth was ``estimated`` (then damped) or assumed, and the 12 monthly ``profile``
    shares (January first, summing to 1)."""

    level: Decimal
    growth: Decimal
    estimated: bool
    profile: tuple[Decimal, ...]
    years: int
    damping: Decimal = Decimal("0.8")
    change: Decimal = _ZERO

    def annual(self, j: int) -> Decimal:
        """The total for the ``j``-th 12 months after the origin (``j`` ≥ 1)."""
        factor = _ONE
        damped = _ONE                       # φ^(i-1), built by products: Decimal 0 ** 0 is an error
        for _i in range(1, j + 1):
            factor *= _ONE + (damped * self.growth if self.estimated else self.growth)
            damped *= self.damping
        return self.level * factor * (_ONE + self.change)

    def value(self, h: int, month: int) -> int:
        """Fen for the ``h``-th month after the origin (``h`` ≥ 1), calendar ``month``;
        never below zero."""
        return max(0, to_fen(self.annual((h - 1) // 12 + 1) * self.profile[month - 1]))


def _power(x: Decimal, n: int) -> Decimal:
    """``x ** n`` with ``x ** 0 == 1`` for every ``x``: Decimal raises on ``0 ** 0`` (a damping
    of 0, a growth of −100 %), which is 1 in the model's sums."""
    return _ONE if n == 0 else x ** n


def _median(xs: Sequence[Decimal]) -> Decimal:
    return Decimal(statistics.median(xs))


def profile_of(values: Sequence[int], last_month: int) -> tuple[Decimal, ...]:
    """Median share of each calendar month in its calendar year (see the module doc).
    ``values`` are consecutive months, the last one in calendar month ``last_month``."""
    n = len(values)
    cal = [(last_month - 1 - (n - 1 - i)) % 12 + 1 for i in range(n)]
    windows = [values[i:i + 12] for i in range(n - 11) if cal[i] == 1]
    if not windows and n >= 12:
        by_month = [0] * 12
        for i in range(n - 12, n):
            by_month[cal[i] - 1] = values[i]
        windows = [by_month]
    shares: list[list[Decimal]] = [[] for _ in range(12)]
    for w in windows:
        total = sum(w)
        if total > 0:
            for m in range(12):
                shares[m].append(Decimal(w[m]) / Decimal(total))
    if not shares[0]:
        return tuple(Decimal(1) / 12 for _ in range(12))
    med = [_median(s) for s in shares]
    med_total = sum(med, _ZERO)
    if med_total <= 0:
        return tuple(Decimal(1) / 12 for _ in range(12))
    return tuple(m / med_total for m in med)


def fit_series(values: Sequence[int], last_month: int, *, robust_level: bool, growth: Decimal | None,
               a: Assumptions, change: Decimal = _ZERO) -> SeriesModel:
    """Fit one series (consecutive monthly fen ending in calendar month ``last_month``)."""
    n = len(values)
    if n == 0:
        raise BadInput(_("a forecast needs at least one month of history"))
    k = min(n // 12, MAX_YEARS)
    totals = [Decimal(sum(values[n - 12 * (k - i): n - 12 * (k - i - 1)])) for i in range(k)]
    if k == 0:
        totals, k = [Decimal(sum(values)) * 12 / n], 1
    rates = [b / a_ - 1 for a_, b in itertools.pairwise(totals) if a_ > 0]
    g = max(-a.max_growth, min(a.max_growth, _median(rates))) if rates else _ZERO
    level = totals[-1]
    if robust_level and k >= 3:
        level = _median([t * _power(_ONE + g, k - 1 - i) for i, t in enumerate(totals)])
    if growth is not None:
        return SeriesModel(level, growth, False, profile_of(values, last_month), k, a.damping, change)
    return SeriesModel(level, g, True, profile_of(values, last_month), k, a.damping, change)


# --------------------------------------------------------------------------- a unit's forecast


@dataclass(frozen=True, slots=True)
class PathMonth:
    """One month of the path (fen): forecast flows, the government's payment assumed to
    arrive, the surplus on the books at the month end, months payable and colour."""

    month: dt.date
    contributions: int
    subsidies: int
    other_revenue: int
    expenditure: int
    government_received: int
    surplus: int
    government_outstanding: int
    months_payable: Decimal | None
    colour: Colour
    forecast: bool = True

    @property
    def revenue(self) -> int:
        return self.contributions + self.subsidies + self.other_revenue


@dataclass(frozen=True, slots=True)
class YearEnd:
    """The shortfall rule (缺口分担) applied to a forecast year (history months included)."""

    year: int
    revenue: Fen
    expenditure: Fen
    current_balance: Fen
    surplus_before: Fen
    covered_by_surplus: Fen
    government_share: Fen
    surplus_after: Fen
    months_forecast: int          # how many of its months are forecast (the rest history)


@dataclass(frozen=True, slots=True)
class UnitForecast:
    unit: str
    book: str
    origin: dt.date
    history_months: int
    models: Mapping[str, SeriesModel]
    start: PathMonth                  # the origin month (history)
    history: tuple[PathMonth, ...]    # every history month, oldest first (for charts)
    path: tuple[PathMonth, ...]       # forecast months
    years: tuple[YearEnd, ...]
    first_yellow: dt.date | None      # first forecast month below the yellow line (yellow or red)
    first_red: dt.date | None
    notes: tuple[str, ...] = field(default=())


def _filled(history: Sequence[MonthFlows], origin: dt.date) -> list[MonthFlows]:
    """Consecutive months from the first with a movement through the origin month,
    missing months as zeros; months after the origin refused."""
    by_month: dict[dt.date, MonthFlows] = {}
    last = month_start(origin)
    for f in history:
        if f.month != month_start(f.month):
            raise BadInput(_("history month {month} is not the first day of a month").format(month=f.month))
        if f.month > last:
            raise BadInput(_("history month {month} is after the origin {origin}").format(month=f.month, origin=origin))
        if f.month in by_month:
            raise BadInput(_("history month {month} is given twice").format(month=f.month))
        by_month[f.month] = f
    if not by_month:
        raise BadInput(_("no history: the unit has no movement in this book up to the origin"))
    out, m = [], min(by_month)
    while m <= last:
        out.append(by_month.get(m, MonthFlows(m)))
        m = add_months(m, 1)
    return out


def _months(surplus: int, spent: Sequence[int], end: dt.date, first_day: dt.date) -> Decimal | None:
    """Months payable at the month end ``end`` on the monitor's basis (issue 16,
    ``ledger.core.monitor.monthly_spending``): with the unit in the ledger for 12 months
    (its ``first_day`` on or before ``year_before(end)``) the last 12 months' spending ÷ 12;
    with less, its daily spending since its first day × 365 ÷ 12 — so at a month end the
    forecast and ``fundledger monitor --as-of`` that day print the same figure. ``spent``
    is every month's spending from the first history month through ``end``'s month; the
    monitor's spending is the last 12 months' on either basis (a month before the first day
    holds only what was dated before it, ATTACK16b D4), and so is this."""
    monthly, _basis = monthly_spending(sum(spent[-12:]), first_day, end)
    return months_payable_at(surplus, monthly)


def forecast_unit(unit: str, book: str, history: Sequence[MonthFlows], *, origin: dt.date, years: int,
                  outstanding: int, assumptions: Assumptions, thresholds: Thresholds,
                  first_day: dt.date | None = None) -> UnitForecast:
    """Forecast one unit and book from ``history`` (months up to the origin month end) for
    the rest of the origin's year, if any, and the following years, ``years`` calendar
    years in all; ``outstanding`` is the government share still owed at the origin;
    ``first_day`` is the unit's first day in the book as recorded (the monitor's months-payable
    basis, sql/0130; the first history month's first day when not given) — never the first
    history month when one is given: an entry dated before the recorded day makes a history
    month before it, and the basis must not move with it (ATTACK16b D4)."""
    if origin != month_end(origin):
        raise BadInput(_("the forecast origin must be a month end, got {origin}").format(origin=origin))
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 10:
        raise BadInput(_("--years must be 1 to 10, got {years}").format(years=years))
    a = assumptions
    hist = _filled(history, origin)
    first = first_day if first_day is not None else hist[0].month
    last = origin.month
    series = {name: [getattr(f, name) for f in hist] for name in SERIES}
    models = {
        "contributions": fit_series(series["contributions"], last, robust_level=True,
                                    growth=a.contribution_growth, a=a),
        "subsidies": fit_series(series["subsidies"], last, robust_level=False, growth=None, a=a,
                                change=a.subsidy_change),
        "other_revenue": fit_series(series["other_revenue"], last, robust_level=False, growth=_ZERO, a=a),
        "expenditure": fit_series(series["expenditure"], last, robust_level=True, growth=a.spending_growth, a=a),
    }
    first_year = origin.year + 1 if origin.month == 12 else origin.year
    horizon = (first_year + years - 1 - origin.year) * 12 + 12 - origin.month

    # History path (surplus and months payable at each history month end).
    spent: list[int] = []
    surplus = 0
    hist_path: list[PathMonth] = []
    for f in hist:
        surplus += f.surplus_change
        spent.append(f.expenditure)
        mp = _months(surplus, spent, month_end(f.month), first)
        hist_path.append(PathMonth(f.month, f.contributions, f.subsidies, f.other_revenue, f.expenditure,
                                   f.shortfall_receipts, surplus, 0, mp, colour(mp, thresholds, surplus), False))
    start = hist_path[-1]
    start = PathMonth(start.month, start.contributions, start.subsidies, start.other_revenue, start.expenditure,
                      start.government_received, start.surplus, outstanding, start.months_payable, start.colour,
                      False)

    # Year ends: S before of the first year = S after of the previous one (books + share owed − C so far).
    ytd = [f for f in hist if f.month.year == first_year]
    s_before = surplus + outstanding - sum(f.revenue - f.expenditure for f in ytd)
    arrivals: dict[dt.date, int] = {}
    if outstanding > 0:
        arrivals[add_months(month_start(origin), a.government_lag_months)] = outstanding
    year_rev = sum(f.revenue for f in ytd)
    year_exp = sum(f.expenditure for f in ytd)
    year_n = 0
    owed = outstanding
    path: list[PathMonth] = []
    ends: list[YearEnd] = []
    first_yellow = first_red = None
    for h in range(1, horizon + 1):
        m = add_months(month_start(origin), h)
        vals = {name: models[name].value(h, m.month) for name in SERIES}
        received = arrivals.pop(m, 0)
        owed -= received
        surplus += vals["contributions"] + vals["subsidies"] + vals["other_revenue"] - vals["expenditure"] + received
        spent.append(vals["expenditure"])
        year_rev += vals["contributions"] + vals["subsidies"] + vals["other_revenue"]
        year_exp += vals["expenditure"]
        year_n += 1
        if m.month == 12:
            r = apply_shortfall_rule(ShortfallInput(unit, book, year_rev, year_exp, s_before))
            ends.append(YearEnd(m.year, r.revenue, r.expenditure, r.current_balance, r.surplus_before,
                                r.covered_by_surplus, r.government_share, r.surplus_after, year_n))
            if r.government_share > 0:
                when = add_months(m, a.government_lag_months)
                arrivals[when] = arrivals.get(when, 0) + r.government_share
                owed += r.government_share
            s_before, year_rev, year_exp, year_n = r.surplus_after, 0, 0, 0
        mp = _months(surplus, spent, month_end(m), first)
        c = colour(mp, thresholds, surplus)
        path.append(PathMonth(m, vals["contributions"], vals["subsidies"], vals["other_revenue"],
                              vals["expenditure"], received, surplus, owed, mp, c))
        if first_yellow is None and c in (Colour.yellow, Colour.red):
            first_yellow = m
        if first_red is None and c == Colour.red:
            first_red = m
    notes = []
    if len(hist) < 12:
        notes.append("less than 12 months of history: flat seasonality, no trend")
    return UnitForecast(unit, book, origin, len(hist), models, start, tuple(hist_path), tuple(path), tuple(ends),
                        first_yellow, first_red, tuple(notes))
