"""Figures of the fund-cycle reports: budget execution, the fund-request register and
the memo registers (备查簿). Actuals come from ``fl.operating_day`` (daily movements
without the year-end close); budgets from ``fl.budget_current`` (the version in force).
The caller owns the transaction; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from ledger.store import registers as register_items
from ledger.store.db import Conn
from ledger.store.receipts import government_receipts
from ledger.store.year_figures import pooled_components

_FILTER = "(%(book)s::text IS NULL OR {t}.book = %(book)s) AND (%(unit)s::text IS NULL OR {t}.unit = %(unit)s)"


def budget_execution(conn: Conn, *, year: int, as_of: dt.date | None = None, book: str | None = None,
                     unit: str | None = None) -> dict[str, Any]:
    """``budget``: the lines in force for ``year`` (unit, book, component, line, kind,
    amount). ``actual``: per (book, unit, component, chart code, quarter) the operating
    debits and credits of revenue and expenditure accounts from 1 January to ``as_of``
    (default 31 December; returned as ``end``). The builder matches chart codes to budget lines."""
    end = min(as_of, dt.date(year, 12, 31)) if as_of else dt.date(year, 12, 31)
    args = {"year": year, "start": dt.date(year, 1, 1), "end": end, "book": book, "unit": unit}
    budget = conn.execute(
        f"""SELECT b.unit, b.book, b.component, b.line, b.kind, b.amount, b.version
              FROM fl.budget_current b WHERE b.year = %(year)s AND {_FILTER.format(t='b')}
             ORDER BY b.book DESC, b.unit, b.component, b.line""", args).fetchall()
    # MATERIALIZED: the daily sums once (``fl.operating_day``, see ``ledger.store.monitor.figures``)
    actual = conn.execute(
        f"""WITH mv AS MATERIALIZED (
              SELECT d.account_id, extract(quarter FROM d.day)::int AS quarter,
                     sum(d.debits)::bigint AS debits, sum(d.credits)::bigint AS credits
                FROM fl.operating_day d WHERE d.day BETWEEN %(start)s AND %(end)s
               GROUP BY d.account_id, extract(quarter FROM d.day))
            SELECT a.book, a.unit, a.component, a.chart_code, c.kind, mv.quarter,
                   sum(mv.debits)::bigint AS debits, sum(mv.credits)::bigint AS credits
              FROM mv JOIN fl.account a ON a.id = mv.account_id JOIN fl.chart c ON c.code = a.chart_code
             WHERE c.kind IN ('revenue', 'expenditure') AND {_FILTER.format(t='a')}
             GROUP BY a.book, a.unit, a.component, a.chart_code, c.kind, mv.quarter""", args).fetchall()
    return {"budget": budget, "actual": actual, "end": end, **set_aside(conn, year=year, end=end, book=book, unit=unit)}


def _quarter_ends(year: int, end: dt.date) -> list[dt.date]:
    """The quarter ends of ``year`` before ``end``, then ``end``."""
    return [*(d for d in (dt.date(year, m, 31 if m in (3, 12) else 30) for m in (3, 6, 9, 12)) if d < end), end]


def month_ends(year: int, end: dt.date) -> list[dt.date]:
    """The month ends of ``year`` before ``end``, then ``end``."""
    nxt = [dt.date(year, m + 1, 1) if m < 12 else dt.date(year + 1, 1, 1) for m in range(1, 13)]
    return [*(d - dt.timedelta(days=1) for d in nxt if d - dt.timedelta(days=1) < end), end]


def set_aside(conn: Conn, *, year: int, end: dt.date, book: str | None = None, unit: str | None = None,
              ends: list[dt.date] | None = None) -> dict[str, Any]:
    """What the shortfall rule sets aside from the year's revenue on the books (ATTACK17 E2),
    from its one definition, for a report to take out of the lines they are in and show on
    reconciling lines of their own: ``receipts`` (``fl.government_receipts`` from 1 January to
    ``end``: the government's shares of earlier years received, each with its day, quarter and
    the revenue account its entry credits), ``adjustments`` (per book, unit and period the year's
    in-year adjustment-fund allocations net of their reversals, on 4401 — ``fl.year_figures_read_at``
    at each of ``ends``, default the quarter ends, only when the year has any; ``day`` the period's
    end), ``pooled`` (each book's pooled component: both are the pooled fund's)."""
    pooled = pooled_components(conn)
    receipts = government_receipts(conn, start=dt.date(year, 1, 1), end=end, book=book, unit=unit)
    adjustments: list[dict[str, Any]] = []
    q = "SELECT unit, adjustment_receipts FROM fl.year_figures_read_at(%s, %s, %s)"
    for bk in sorted(pooled):
        if book is not None and bk != book:
            continue
        if not conn.execute(q + " WHERE adjustment_receipts <> 0", (year, bk, end)).fetchall():
            continue
        before: dict[str, int] = {}
        for pend in ends or _quarter_ends(year, end):
            for r in conn.execute(q, (year, bk, pend)).fetchall():
                amount = int(r["adjustment_receipts"]) - before.get(r["unit"], 0)
                before[r["unit"]] = int(r["adjustment_receipts"])
                if amount and (unit is None or r["unit"] == unit):
                    adjustments.append({"book": bk, "unit": r["unit"], "day": pend, "quarter": (pend.month + 2) // 3,
                                        "chart_code": "4401", "amount": amount})
    return {"receipts": [{"book": g.book, "unit": g.unit, "day": g.received_on, "quarter": (g.received_on.month + 2) // 3,
                          "chart_code": g.chart_code, "amount": g.amount} for g in receipts],
            "adjustments": adjustments, "pooled": pooled}


def requests(conn: Conn, *, year: int, book: str | None = None, unit: str | None = None,
             limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    """The fund-request register (用款申请): one row per state change of every request of
    ``year``, oldest first, with who made it, when, why and the amount it carried.
    ``limit``/``offset`` count events."""
    return conn.execute(
        f"""SELECT r.id AS request_id, r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested,
                   r.amount_approved, r.state, r.submitted_by,
                   ev.id AS event_id, ev.action, ev.from_state, ev.to_state, ev.amount, ev.reason, ev.actor,
                   ev.at, ev.entry_id
              FROM fl.fund_request r LEFT JOIN fl.request_event ev ON ev.request_id = r.id
             WHERE r.year = %(year)s AND {_FILTER.format(t='r')}
             ORDER BY r.id, ev.at, ev.id LIMIT %(limit)s OFFSET %(offset)s""",
        {"year": year, "book": book, "unit": unit, "limit": limit, "offset": offset}).fetchall()


def registers(conn: Conn, *, as_of: dt.date, kind: str | None = None, book: str | None = None,
              unit: str | None = None, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    """Memo-register items (备查簿) opened by ``as_of``, with what was cleared by then (from the
    clearings dated on or before ``as_of``): ``registers.items_at``, the reader ``register list``
    shows too (ATTACK20 L5), by kind and unit."""
    return [asdict(i) for i in register_items.items_at(conn, as_of=as_of, kind=kind, book=book, unit=unit,
                                                         order="kind", limit=limit, offset=offset)]
