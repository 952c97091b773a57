"""How good is the forecast? Hold out a year, forecast it from the years before, and
compare with the actual months — and with the seasonal-naive forecast (each month as
the same month a year before), the benchmark any seasonal method must beat.

Measures per series (monthly revenue without shortfall receipts; monthly expenditure):

* ``wape`` — weighted absolute percentage error: Σ|forecast − actual| ÷ Σ|actual| × 100.
  Plain MAPE divides by each month's actual, which is near zero in the months residents'
  money does not arrive; WAPE is the MAPE weighted by the months' size and stays defined.
* ``mape`` — the ordinary mean of |error| ÷ actual × 100 over months with actual ≠ 0
  (reported for expenditure, which has no empty months).
* ``mase`` — mean absolute error ÷ the in-sample mean absolute error of seasonal naive
  over the training history (Hyndman & Koehler 2006): below 1 beats naive's usual error.
* ``annual_error`` — (forecast year total − actual) ÷ actual × 100: what the year-end
  shortfall rule sees.

Pure: figures in, figures out. Percentages are Decimals to 0.01 (half-even).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.core.forecast import Assumptions, MonthFlows, forecast_unit, month_end
from ledger.core.monitor import Thresholds
from ledger.errors import BadInput
from ledger.i18n import _

_CENT = Decimal("0.01")


def _pct(x: Decimal) -> Decimal:
    return x.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def seasonal_naive(history: Sequence[int], horizon: int = 12) -> list[int]:
    """Each forecast month equals the same calendar month of the last year of history."""
    if len(history) < 12:
        raise BadInput(_("seasonal naive needs at least 12 months of history"))
    last = list(history[-12:])
    return [last[h % 12] for h in range(horizon)]


@dataclass(frozen=True, slots=True)
class Errors:
    wape: Decimal | None
    mape: Decimal | None
    mase: Decimal | None
    annual_error: Decimal | None


def errors(forecast: Sequence[int], actual: Sequence[int], training: Sequence[int]) -> Errors:
    if len(forecast) != len(actual) or not actual:
        raise BadInput(_("forecast and actual must be the same non-zero length"))
    abs_err = [abs(f - a) for f, a in zip(forecast, actual, strict=True)]
    total_actual = sum(abs(a) for a in actual)
    wape = _pct(Decimal(sum(abs_err)) * 100 / total_actual) if total_actual else None
    pcts = [Decimal(e) * 100 / abs(a) for e, a in zip(abs_err, actual, strict=True) if a != 0]
    mape = _pct(sum(pcts, Decimal(0)) / len(pcts)) if pcts else None
    naive_in = [abs(training[i] - training[i - 12]) for i in range(12, len(training))]
    scale = Decimal(sum(naive_in)) / len(naive_in) if naive_in else Decimal(0)
    mase = _pct(Decimal(sum(abs_err)) / len(abs_err) / scale) if scale else None
    year = sum(actual)
    annual = _pct(Decimal(sum(forecast) - year) * 100 / year) if year else None
    return Errors(wape, mape, mase, annual)


@dataclass(frozen=True, slots=True)
class SeriesScore:
    unit: str
    book: str
    series: str             # "revenue" or "expenditure"
    ours: Errors
    naive: Errors


def backtest(data: Mapping[tuple[str, str], Sequence[MonthFlows]], held_out: int, *,
             assumptions: Assumptions | None = None) -> list[SeriesScore]:
    """Forecast ``held_out`` (a calendar year) from the months before it, for every unit
    and book of ``data``, and score it and seasonal naive against the actual months."""
    a = assumptions or Assumptions()
    origin = month_end(dt.date(held_out - 1, 12, 1))
    out: list[SeriesScore] = []
    for (unit, book), months in data.items():
        train = [f for f in months if f.month.year < held_out]
        test = [f for f in months if f.month.year == held_out]
        if len(test) != 12 or len(train) < 24:
            raise BadInput(_("{unit} {book}: need 12 months of {year} and two years before it").format(
                unit=unit, book=book, year=held_out))
        fc = forecast_unit(unit, book, train, origin=origin, years=1, outstanding=0, assumptions=a,
                           thresholds=Thresholds())
        for name in ("revenue", "expenditure"):
            hist = [getattr(f, name) for f in train]
            actual = [getattr(f, name) for f in test]
            ours = [getattr(p, name) for p in fc.path]
            out.append(SeriesScore(unit, book, name, errors(ours, actual, hist),
                                   errors(seasonal_naive(hist), actual, hist)))
    return out


def mean(scores: Sequence[SeriesScore], series: str, measure: str, which: str) -> Decimal:
    """The plain mean of one measure over units (``which``: ``ours`` or ``naive``)."""
    vals = [getattr(getattr(s, which), measure) for s in scores if s.series == series]
    vals = [abs(v) if measure == "annual_error" else v for v in vals if v is not None]
    if not vals:
        raise BadInput(_("no {measure} figures for {series}").format(measure=measure, series=series))
    return _pct(sum(vals, Decimal(0)) / len(vals))
