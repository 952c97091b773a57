"""Both warning dimensions at every month end of a unit's history, for the response
plans (``ledger.core.response.since``): months payable as the forecast's history path
computes it (``ledger.core.forecast``) and the current-year balance rate
(``ledger.core.balance_rate``) from the months of the same calendar year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ledger.core.balance_rate import RateRanges, balance_rate, overall, rate_colour
from ledger.core.forecast import Assumptions, MonthFlows, forecast_unit, month_end
from ledger.core.monitor import Colour, Thresholds, colour, level_of
from ledger.core.response import Ack, PlanStep, Response, response, since


def month_end_levels(unit: str, book: str, history: Sequence[MonthFlows], *, before: dt.date, t: Thresholds,
                     r: RateRanges, first_day: dt.date | None = None,
                     by_year: Mapping[int, tuple[Thresholds, RateRanges]] | None = None,
                     ) -> list[tuple[dt.date, Colour]]:
    """``(month end, the worse of the two colours)`` for each month that ends before
    ``before``, oldest first; empty without such a month. A month end of a year in ``by_year``
    is coloured with that year's thresholds and ranges (0162: the settings in force for it),
    every other with ``t`` and ``r``."""
    months = [f for f in history if month_end(f.month) < before]
    if not months:
        return []
    last = month_end(max(f.month for f in months))
    path = forecast_unit(unit, book, months, origin=last, years=1, outstanding=0, assumptions=Assumptions(),
                         thresholds=t, first_day=first_day).history
    out: list[tuple[dt.date, Colour]] = []
    revenue = spent = 0
    year = None
    for p in path:
        if p.month.year != year:
            year, revenue, spent = p.month.year, 0, 0
        revenue += p.revenue
        spent += p.expenditure
        rate = balance_rate(revenue - spent, revenue)
        ty, ry = (by_year or {}).get(p.month.year, (t, r))
        months_colour = p.colour if ty is t else colour(p.months_payable, ty, p.surplus)
        out.append((month_end(p.month), overall(months_colour, rate_colour(rate, ry, revenue - spent))))
    return out


def unit_response(unit: str, book: str, level: Colour, history: Sequence[MonthFlows], *, as_of: dt.date,
                  t: Thresholds, r: RateRanges, plans: Sequence[PlanStep], acks: Sequence[Ack],
                  first_day: dt.date | None = None,
                  by_year: Mapping[int, tuple[Thresholds, RateRanges]] | None = None) -> Response | None:
    """What the response plan asks of one unit and book whose level on ``as_of`` is
    ``level``: ``None`` for green and excess; otherwise the plan's steps due from the
    start of the current warning (the first month end of the unbroken run at this level
    or worse before ``as_of``, or ``as_of`` itself), the acknowledgement answering it and
    whether a red is overdue."""
    lv = level_of(level)
    if lv is None:
        return None
    points = [*month_end_levels(unit, book, history, before=as_of, t=t, r=r, first_day=first_day, by_year=by_year),
              (as_of, level)]
    mine = [a for a in acks if a.unit == unit and a.book == book]
    return response(lv, since(points, lv), as_of, plans, mine)
