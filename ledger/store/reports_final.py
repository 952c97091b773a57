"""Figures of the year-end final accounts (决算, ``ledger.reports.builders_final``): the
balance sheet's balances at 31 December, the income of the year and of the year before,
the government's shortfall shares owed at both ends of the year; for a closed year only.
Read from the same functions as ``report balance-sheet`` and ``report income``, so the
statements agree with those reports by construction (tests/integration/test_final_accounts.py
checks it). The caller owns the transaction; nothing here writes."""

from __future__ import annotations

import datetime as dt

from ledger.errors import BadInput, StateError
from ledger.i18n import _
from ledger.reports.builders_final import FinalFigures
from ledger.store import reports_ledger, year_settings, yearend
from ledger.store.db import Conn
from ledger.store.year_figures import component_years


def figures(conn: Conn, year: int, *, unit: str | None = None, book: str | None = None) -> FinalFigures:
    """The final accounts' figures of ``year`` for ``unit`` (None: every unit, for the
    city). Refused for a year not closed, and for the city by an officer (who sees only
    their own unit's figures)."""
    closed = yearend.closed_years(conn, year)
    if not closed:
        raise StateError(_("year {year} is not closed: the final accounts are of a closed year; close it "
                           "first with `fundledger close year --year {year} --date {year}-12-31`").format(year=year),
                         rule="year_not_closed")
    mine = conn.execute("SELECT fl.my_unit() AS u").fetchone()
    own = mine["u"] if mine else None
    if unit is None and own:
        raise BadInput(_("the city's final accounts consolidate every unit; an officer sees only their own: "
                         "add --unit {unit}").format(unit=own))
    if unit is not None and not conn.execute("SELECT 1 FROM fl.unit WHERE code = %s", (unit,)).fetchone():
        raise BadInput(_("unknown unit '{unit}'").format(unit=unit))
    if unit is not None and own and unit != own:
        raise BadInput(_("an officer sees only their own unit's final accounts: --unit {unit}").format(unit=own))
    end = dt.date(year, 12, 31)
    start = dt.date(year, 1, 1)
    prior = (dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31))
    first = min(closed.values(), key=lambda c: c.closed_on)
    pairs = year_settings.eliminations(conn, year)      # (0162) the year's, final once it closed
    return FinalFigures(
        year=year,
        balances=reports_ledger.balance_sheet(conn, as_of=end, book=book, unit=unit),
        income=reports_ledger.income(conn, start=start, end=end, book=book, unit=unit),
        prior=reports_ledger.income(conn, start=prior[0], end=prior[1], book=book, unit=unit),
        owed=reports_ledger.government_owed(conn, unit=unit, as_of=end, book=book),
        closed_on=first.closed_on, eliminate=pairs, aside=_aside(conn, year, unit=unit, book=book))


def _aside(conn: Conn, year: int, *, unit: str | None, book: str | None
           ) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """(ATTACK17) per book, for the year before and the year: what the shortfall rule set aside
    from the pooled fund's revenue (government shares of earlier years received, in-year
    adjustment-fund allocations), summed over the units in scope (``ledger.store.year_figures``)."""
    out: dict[str, list[list[int]]] = {}
    for i, y in enumerate((year - 1, year)):
        for f in component_years(conn, y, book=book, unit=unit):
            if f.pooled:
                t = out.setdefault(f.book, [[0, 0], [0, 0]])[i]
                t[0] += f.share_receipts
                t[1] += f.adjustment_receipts
    return {b: ((v[0][0], v[0][1]), (v[1][0], v[1][1])) for b, v in out.items()}
