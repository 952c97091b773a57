"""Figures of the budget performance review (预算绩效考核) per unit and book for one year,
scored by ``ledger.core.performance``."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from ledger.core.chart import is_line
from ledger.core.monitor import monthly_spending, months_payable_at
from ledger.core.performance import Review, UnitYear, check_weights, ranked, review
from ledger.store import budget as budget_store
from ledger.store import monitor
from ledger.store.db import Conn
from ledger.store.receipts import government_receipts


def weights(conn: Conn) -> dict[str, Decimal]:
    """The region's ``performance_weights`` (defaults, our reading, for those not set)."""
    row = conn.execute("SELECT value FROM fl.setting WHERE key = 'performance_weights'").fetchone()
    value = row["value"] if row else None
    if isinstance(value, str):
        value = json.loads(value)
    return check_weights(value or {})


def unit_years(conn: Conn, year: int, *, book: str | None = None, unit: str | None = None) -> list[UnitYear]:
    """Per (unit, book) with a budget for ``year``: budget, actuals of the year (without
    the close; the government's shortfall receipts, which settle an earlier year, left out
    as the shortfall rule leaves them out — its register clearings, ``ledger.store.receipts``,
    not the postings on 4101.shortfall — and so are the year's in-year adjustment-fund
    allocations net of their reversals, as ``fl.year_figures_at`` reads them: the revenue scored
    is the revenue C is computed from, so the review's balance rate is the monitor's),
    months payable at 31 December, approved requests and government shares incurred."""
    end = dt.date(year, 12, 31)
    budgets = budget_store.show(conn, year, book=book, unit=unit)
    books = sorted({b.book for b in budgets})
    actual: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    months: dict[tuple[str, str], Decimal | None] = {}
    for bk in books:
        for f in conn.execute("SELECT unit, chart_code, kind, net FROM fl.year_flows(%s, %s, %s)",
                              (bk, dt.date(year, 1, 1), end)).fetchall():
            a = actual[(f["unit"], bk)]
            net = int(f["net"])
            if f["kind"] == "revenue":
                a["revenue"] -= net
                if is_line(f["chart_code"], "4001"):
                    a["collection"] -= net
            elif f["kind"] == "expenditure":
                a["expenditure"] += net
        for g in government_receipts(conn, start=dt.date(year, 1, 1), end=end, book=bk, unit=unit):
            a = actual[(g.unit, bk)]
            a["revenue"] -= g.amount
            if is_line(g.chart_code, "4001"):
                a["collection"] -= g.amount
        # (ATTACK15 A7) the year's in-year adjustment-fund allocations (net of their reversals), which
        # the rule reads as the fund's, not the year's revenue: from the rule's own inputs (the
        # confined reader, so an officer gets its own unit's and may not read fl.entry.source)
        for x in conn.execute("SELECT unit, adjustment_receipts FROM fl.year_figures_read_at(%s, %s, %s)",
                              (year, bk, end)).fetchall():
            if unit is None or x["unit"] == unit:
                actual[(x["unit"], bk)]["revenue"] -= int(x["adjustment_receipts"])
        for m in monitor.figures(conn, as_of=end, book=bk, unit=unit):
            monthly, _basis = monthly_spending(max(m.trailing_12m_expenditure, 0), m.first_day, end)
            months[(m.unit, bk)] = months_payable_at(m.surplus, monthly) if m.surplus >= 0 else Decimal(0)
    approved = {(r["unit"], r["book"]): int(r["s"]) for r in conn.execute(
        """SELECT unit, book, sum(amount_approved)::bigint AS s FROM fl.fund_request
            WHERE year = %s AND state IN ('approved', 'disbursed', 'settled') GROUP BY 1, 2""", (year,)).fetchall()}
    shares = {(r["unit"], r["book"]): int(r["s"]) for r in conn.execute(
        """SELECT unit, book, sum(amount)::bigint AS s FROM fl.register_item
            WHERE kind = 'government_share' AND fiscal_year = %s GROUP BY 1, 2""", (year,)).fetchall()}
    out = []
    for b in budgets:
        key = (b.unit, b.book)
        a = actual.get(key, {})
        out.append(UnitYear(
            b.unit, b.book, b.revenue, b.expenditure,
            sum(ln.amount for ln in b.lines if is_line(ln.line, "4001")),
            int(a.get("revenue", 0)), int(a.get("expenditure", 0)), int(a.get("collection", 0)),
            months.get(key), approved.get(key, 0), shares.get(key, 0)))
    return out


def reviews(conn: Conn, year: int, *, book: str | None = None, unit: str | None = None) -> list[Review]:
    """Every reviewed unit of ``year``, scored and ranked within its book."""
    w = weights(conn)
    rng = budget_store.surplus_range(conn)
    return ranked([review(u, w, rng) for u in unit_years(conn, year, book=book, unit=unit)])
