"""Year-end close (年终结转) with the shortfall rule (缺口分担), and the shortfall report.

Per unit and book (employees: the pooled component 统筹基金) the figures come from
``fl.year_figures_v2`` — the year's revenue and expenditure without closing entries, and
the accumulated surplus S carried in, read across years: government-share money
received this year for an earlier year is left out of the year's revenue, and shares
still owed count in S (BRIEF §5; the reconciling columns say by how much) — and the rule
from ``ledger.core.shortfall``.
``fl.close_year`` re-checks the table against the books and the rule, posts the closing
entries of every book (4xxx → 3001, 3001 → 5xxx, per component), records each
government share in the register, stores the table in ``fl.year_close`` and closes the
twelve months. Periods are closed for the whole ledger, so every book closes together.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

from ledger.core.shortfall import ShortfallInput, ShortfallResult, shortfall_table
from ledger.errors import BadInput, StateError
from ledger.store.db import Conn

SHORTFALL_KEYS = ["unit", "book", "revenue", "expenditure", "current_balance", "surplus_before",
                  "covered_by_surplus", "government_share", "surplus_after",
                  "revenue_on_books", "share_receipts", "surplus_before_on_books", "outstanding_before",
                  "outstanding_after", "surplus_after_on_books", "adjustment_receipts", "covered_by_adjustment_fund"]


def _with_reconciliation(r: dict[str, Any]) -> dict[str, Any]:
    """A row stored by a close before the rule across years (migration 0011) has no
    reconciling columns: then the books and the rule read the same, nothing was owed."""
    out = {k: r[k] for k in SHORTFALL_KEYS[:9]}
    out["revenue_on_books"] = r.get("revenue_on_books", r["revenue"])
    out["share_receipts"] = r.get("share_receipts", 0)
    out["surplus_before_on_books"] = r.get("surplus_before_on_books", r["surplus_before"])
    out["outstanding_before"] = r.get("outstanding_before", 0)
    out["outstanding_after"] = r.get("outstanding_after", r["government_share"])
    out["surplus_after_on_books"] = r.get("surplus_after_on_books", r["surplus_after"] - out["outstanding_after"])
    # (0025b) closes before the adjustment fund had none
    out["adjustment_receipts"] = r.get("adjustment_receipts", 0)
    out["covered_by_adjustment_fund"] = r.get("covered_by_adjustment_fund", 0)
    return out


def books(conn: Conn) -> list[str]:
    return [r["code"] for r in conn.execute("SELECT code FROM fl.book ORDER BY code").fetchall()]


def live_table(conn: Conn, year: int, book: str) -> list[ShortfallResult]:
    """The shortfall table of ``book`` for ``year`` computed from the books now."""
    rows = conn.execute("SELECT * FROM fl.year_figures_v3(%s, %s)", (year, book)).fetchall()
    return shortfall_table(ShortfallInput(r["unit"], r["book"], int(r["revenue"]), int(r["expenditure"]),
                                          int(r["surplus_before"]), share_receipts=int(r["share_receipts"]),
                                          outstanding_before=int(r["outstanding_before"]),
                                          adjustment_receipts=int(r["adjustment_receipts"])) for r in rows)


def closed_years(conn: Conn, year: int) -> dict[str, dict[str, Any]]:
    """The books closed for ``year`` with the shortfall table stored at the close (an
    officer gets its own unit's rows of it: fl.year_closes)."""
    return {r["book"]: dict(r) for r in conn.execute(
        "SELECT book, closed_on, closed_by, closed_at, result FROM fl.year_closes(%s)", (year,)).fetchall()}


def shortfall_report(conn: Conn, year: int) -> list[dict[str, Any]]:
    """Rows of the 缺口分担 report for every book: from ``fl.year_close`` when the year is
    closed (the table as computed at the close), otherwise computed live and marked
    ``provisional``. Officers get their own unit only."""
    closed = closed_years(conn, year)
    visible = conn.execute("SELECT fl.my_unit() AS u").fetchone()
    mine = visible["u"] if visible else None
    out: list[dict[str, Any]] = []
    for book in books(conn):
        if book in closed:
            rows = [_with_reconciliation(r) for r in closed[book]["result"]["rows"]]
        else:
            rows = [dict(asdict(r), provisional=True) for r in live_table(conn, year, book)]
        out.extend(r for r in rows if mine is None or r["unit"] == mine)
    out.sort(key=lambda r: (r["book"], r["unit"]))
    return out


def close_year(conn: Conn, year: int, on: dt.date) -> dict[str, Any]:
    """Close ``year`` for every book on ``on``; refused if already closed.

    Returns ``{"year", "closed_on", "books": [{book, entries, government_items}], "rows": [...]}``."""
    if on.year != year:
        raise BadInput(f"the close of {year} must be dated within {year} (normally {year}-12-31), not {on}")
    closed = closed_years(conn, year)
    if closed:
        which = ", ".join(f"{b} (closed on {c['closed_on']} by {c['closed_by']})" for b, c in sorted(closed.items()))
        raise StateError(f"year {year} is already closed for book {which}; a year is closed once", rule="year_closed")
    results = {book: live_table(conn, year, book) for book in books(conn)}
    payload = {book: [asdict(r) for r in rows] for book, rows in results.items()}
    summary = [dict(r) for r in conn.execute("SELECT * FROM fl.close_year(%s, %s, %s::jsonb)",
                                             (year, on, json.dumps(payload))).fetchall()]
    return {"year": year, "closed_on": on, "books": summary,
            "rows": [asdict(r) for rows in results.values() for r in rows]}
