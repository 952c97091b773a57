"""Figures of the budget performance review (预算绩效考核) per unit and book for one year,
scored by ``ledger.core.performance``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from ledger.core.chart import is_line
from ledger.core.monitor import monthly_spending, months_payable_at
from ledger.core.performance import Review, UnitYear, ranked, review
from ledger.store import budget as budget_store
from ledger.store import monitor, reports, year_settings
from ledger.store.db import Conn
from ledger.store.receipts import government_receipts
from ledger.store.year_figures import component_years, pooled_components


def unit_years(conn: Conn, year: int, *, book: str | None = None, unit: str | None = None) -> list[UnitYear]:
    """Per (unit, book) with a budget for ``year``, the book's pooled component — the whole
    residents' book, the employees' pooled fund (统筹基金), never its personal accounts, which
    are the insured's own money and no surplus of the pool (ATTACK17 E1) — in every indicator:
    its budget lines; its actual revenue and expenditure as the shortfall rule reads them
    (``ledger.store.year_figures``: the year without the close, the government's shortfall
    receipts and the year's in-year adjustment-fund allocations set aside — the revenue scored
    is the revenue C is computed from, so the review's balance rate is the monitor's and the
    rule's); its contributions (4001, a receipt credited there set aside likewise); months
    payable at 31 December (the monitor's); its approved requests; the government shares
    incurred (the pooled fund's, by the rule)."""
    end = dt.date(year, 12, 31)
    budgets = budget_store.show(conn, year, book=book, unit=unit)
    books = sorted({b.book for b in budgets})
    pooled = pooled_components(conn)
    rule = {(f.unit, f.book): f for f in component_years(conn, year, as_of=end, book=book, unit=unit) if f.pooled}
    collection: dict[tuple[str, str], int] = defaultdict(int)
    months: dict[tuple[str, str], Decimal | None] = {}
    for bk in books:
        for f in conn.execute("SELECT unit, chart_code, net FROM fl.year_flows(%s, %s, %s) WHERE component = %s",
                              (bk, dt.date(year, 1, 1), end, pooled.get(bk, ""))).fetchall():
            if is_line(f["chart_code"], "4001"):
                collection[(f["unit"], bk)] -= int(f["net"])
        for g in government_receipts(conn, start=dt.date(year, 1, 1), end=end, book=bk, unit=unit):
            if is_line(g.chart_code, "4001"):
                collection[(g.unit, bk)] -= g.amount
        for m in monitor.figures(conn, as_of=end, book=bk, unit=unit):
            monthly, _basis = monthly_spending(max(m.trailing_12m_expenditure, 0), m.first_day, end)
            months[(m.unit, bk)] = months_payable_at(m.surplus, monthly) if m.surplus >= 0 else Decimal(0)
    approved = {(r["unit"], r["book"]): int(r["s"]) for r in conn.execute(
        """SELECT r.unit, r.book, sum(r.amount_approved)::bigint AS s
             FROM fl.fund_request r JOIN fl.book b ON b.code = r.book AND r.component = b.pooled_component
            WHERE r.year = %s AND r.state IN ('approved', 'disbursed', 'settled') GROUP BY 1, 2""", (year,)).fetchall()}
    shares = {(r["unit"], r["book"]): int(r["s"]) for r in conn.execute(
        """SELECT unit, book, sum(amount)::bigint AS s FROM fl.register_item
            WHERE kind = 'government_share' AND fiscal_year = %s GROUP BY 1, 2""", (year,)).fetchall()}
    out = []
    for b in budgets:
        key = (b.unit, b.book)
        lines = [ln for ln in b.lines if ln.component == pooled.get(b.book, "")]
        fig = rule.get(key)
        out.append(UnitYear(
            b.unit, b.book, sum(ln.amount for ln in lines if ln.kind == "revenue"),
            sum(ln.amount for ln in lines if ln.kind == "expenditure"),
            sum(ln.amount for ln in lines if is_line(ln.line, "4001")),
            fig.revenue if fig else 0, fig.expenditure if fig else 0, collection.get(key, 0),
            months.get(key), approved.get(key, 0), shares.get(key, 0)))
    return out


def reviews(conn: Conn, year: int, *, book: str | None = None, unit: str | None = None) -> list[Review]:
    """Every reviewed unit of ``year``, scored and ranked within its book. The rank is among every
    unit of the book, also with ``unit`` (before, the one unit shown was ranked 1 of 1); a confined
    reader (a county officer, who reads its own unit only) gets no rank (0, shown blank): ranked
    among what it reads, it would be first of one (ATTACK17 E10)."""
    w = year_settings.weights(conn, year)
    rng = year_settings.surplus_range(conn, year)
    confined = reports.confined_unit(conn) is not None
    out = [r for r in ranked([review(u, w, rng) for u in unit_years(conn, year, book=book,
                                                                     unit=unit if confined else None)])
           if unit is None or r.unit == unit]
    return [replace(r, rank=0) for r in out] if confined else out
