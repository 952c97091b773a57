"""The government's shortfall receipts (缺口补助到账) as the shortfall rule reads them (BRIEF §5).

One definition, in the database: ``fl.government_receipts(book, from, to)`` — the register
clearings of government-share items dated in the span (a reversed clearing nets out), each
with the revenue account its entry credits (4101.shortfall for ``government pay``, 4401 for
a late adjustment-fund allocation). ``fl.year_figures_at`` (the close, ``report shortfall``,
the monitor) sums it; the forecast, the funding standards and the performance review take
each receipt out of the account it is in. Not the postings on 4101.shortfall: a receipt by
hand written there before migration 0101 cleared nothing, so the rule counts it as revenue
and so does every report (ATTACK14 V4). Row security gives an officer its own unit's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.core.shapes import Fen
from ledger.store.db import Conn
from ledger.store.rows import fetch_all


@dataclass(frozen=True, slots=True)
class Receipt:
    """One clearing of a government-share item: the money received for it (negative: a
    clearing undone by a reversal) and the revenue account its entry credits ('' when its
    entry credits none of the unit's revenue accounts)."""

    unit: str
    book: str
    received_on: dt.date
    chart_code: str
    amount: Fen


def government_receipts(conn: Conn, *, end: dt.date, start: dt.date | None = None, book: str | None = None,
                        unit: str | None = None) -> list[Receipt]:
    """The receipts dated from ``start`` (the beginning when None) to ``end``, of ``book`` and
    ``unit`` when given, in date order."""
    return fetch_all(
        conn, Receipt,
        """SELECT g.unit, g.book, g.received_on, g.chart_code, g.amount
             FROM fl.government_receipts(%(book)s, %(start)s, %(end)s) g
            WHERE %(unit)s::text IS NULL OR g.unit = %(unit)s
            ORDER BY g.received_on, g.book, g.unit""",
        {"book": book, "start": start, "end": end, "unit": unit})
