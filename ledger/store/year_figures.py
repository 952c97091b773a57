"""A year's revenue, expenditure and result per unit, book and component as the shortfall rule
reads them (BRIEF §5) — the one definition every report that shows or scores a year's figures
reads (ATTACK17 E1, E2).

* The book's pooled component (the residents' book's only one, the employees' 统筹基金):
  ``fl.year_figures_read_at(year, book, as_of)`` — ``fl.year_figures_at`` through its confined
  definer reader (an officer its own unit's), the inputs the close, ``report shortfall`` and the
  monitor read: revenue on the books less the government's shortfall receipts
  (``fl.government_receipts``: they settle an earlier year) and less the year's in-year
  adjustment-fund allocations net of their reversals (set aside by the rule).
* Any other component (the employees' 个人账户基金): the year's flows of the component
  (``fl.year_flows``, without the year-end close). Nothing is set aside there: the government's
  shares and the adjustment fund are the pooled fund's (the register items carry the pooled
  component).

The caller owns the transaction; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.core.shapes import Fen
from ledger.store.db import Conn


@dataclass(frozen=True, slots=True)
class ComponentYear:
    """One unit, book and component's year to a date (fen). ``revenue`` is the rule's (what C
    is computed from); ``share_receipts`` and ``adjustment_receipts`` are what it set aside (0
    outside the pooled component): revenue on the books = revenue + the two."""

    unit: str
    book: str
    component: str
    pooled: bool
    revenue: Fen
    expenditure: Fen
    share_receipts: Fen
    adjustment_receipts: Fen

    @property
    def current_balance(self) -> Fen:
        """C = revenue − expenditure (当期结余)."""
        return self.revenue - self.expenditure

    @property
    def revenue_on_books(self) -> Fen:
        return self.revenue + self.share_receipts + self.adjustment_receipts


def pooled_components(conn: Conn) -> dict[str, str]:
    """Each book's pooled component ('' for a book without components)."""
    return {r["code"]: r["pooled_component"] or ""
            for r in conn.execute("SELECT code, pooled_component FROM fl.book").fetchall()}


def component_years(conn: Conn, year: int, *, as_of: dt.date | None = None, book: str | None = None,
                    unit: str | None = None) -> list[ComponentYear]:
    """Per (unit, book, component) with accounts in it, the year from 1 January to ``as_of``
    (default, and at most, 31 December), ordered by book (RES first), unit, pooled first."""
    end = min(as_of, dt.date(year, 12, 31)) if as_of else dt.date(year, 12, 31)
    start = dt.date(year, 1, 1)
    out: list[ComponentYear] = []
    for bk, pc in sorted(pooled_components(conn).items(), key=lambda x: (x[0] != "RES", x[0])):
        if book is not None and bk != book:
            continue
        for r in conn.execute(
                """SELECT unit, revenue, expenditure, share_receipts, adjustment_receipts
                     FROM fl.year_figures_read_at(%s, %s, %s)""", (year, bk, end)).fetchall():
            if unit is None or r["unit"] == unit:
                out.append(ComponentYear(r["unit"], bk, pc, True, int(r["revenue"]), int(r["expenditure"]),
                                         int(r["share_receipts"]), int(r["adjustment_receipts"])))
        for r in conn.execute(
                """SELECT f.unit, f.component,
                          coalesce(-sum(f.net) FILTER (WHERE f.kind = 'revenue'), 0)::bigint AS revenue,
                          coalesce(sum(f.net) FILTER (WHERE f.kind = 'expenditure'), 0)::bigint AS expenditure
                     FROM fl.year_flows(%s, %s, %s) f
                    WHERE f.component <> %s AND (%s::text IS NULL OR f.unit = %s)
                    GROUP BY f.unit, f.component""", (bk, start, end, pc, unit, unit)).fetchall():
            out.append(ComponentYear(r["unit"], bk, r["component"], False, int(r["revenue"]), int(r["expenditure"]),
                                     0, 0))
    return sorted(out, key=lambda f: (f.book != "RES", f.book, f.unit, not f.pooled, f.component))
