"""Budgets (预算, 以收定支、收支平衡、略有结余): one per (year, unit, book), versioned.
Imported with ``fl.import_budget`` (via ``ledger.store.imports``); read here."""

from __future__ import annotations

from typing import Any

from ledger.store.db import Conn

BUDGET_KEYS = ["year", "unit", "book", "version", "revenue", "expenditure", "balance", "deficit",
               "imported_by", "imported_at", "lines"]
BUDGET_MONEY = ["revenue", "expenditure", "balance"]
LINE_KEYS = ["component", "line", "kind", "name_zh", "name_en", "amount"]


def show(conn: Conn, year: int, *, unit: str | None = None, book: str | None = None) -> list[dict[str, Any]]:
    """The budgets in force (latest version) for ``year``, with their lines, totals and
    the deficit flag (expenditure above revenue in any component)."""
    heads = conn.execute(
        """SELECT b.id, b.year, b.unit, b.book, b.version, b.imported_by, b.imported_at,
                  t.revenue, t.expenditure, t.revenue - t.expenditure AS balance, t.deficit
             FROM fl.budget b CROSS JOIN LATERAL fl.budget_totals(b.id) t
            WHERE b.year = %(y)s AND (%(u)s::text IS NULL OR b.unit = %(u)s) AND (%(b)s::text IS NULL OR b.book = %(b)s)
              AND b.version = (SELECT max(b2.version) FROM fl.budget b2
                                WHERE b2.year = b.year AND b2.unit = b.unit AND b2.book = b.book)
            ORDER BY b.unit, b.book""", {"y": year, "u": unit, "b": book}).fetchall()
    if not heads:
        return []
    lines = conn.execute(
        """SELECT l.budget_id, l.component, l.line, c.kind, c.name_zh, c.name_en, l.amount
             FROM fl.budget_line l JOIN fl.chart c ON c.code = l.line
            WHERE l.budget_id = ANY(%s) ORDER BY l.component, l.line""", ([h["id"] for h in heads],)).fetchall()
    by_id: dict[int, list[dict[str, Any]]] = {}
    for ln in lines:
        by_id.setdefault(ln["budget_id"], []).append(ln)
    return [dict(h, lines=by_id.get(h["id"], [])) for h in heads]
