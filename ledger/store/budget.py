"""Budgets (预算, 以收定支、收支平衡、略有结余): one per (year, unit, book), versioned.
Imported with ``fl.import_budget`` (via ``ledger.store.imports``); adjusted with
``fl.budget_adjust`` (sql/0024_budget.sql: every version after the first carries who, when
and why); read here, with the small-surplus checks of ``ledger.core.budget``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.core.budget import (
    BudgetCheck,
    BudgetLine,
    CityBudget,
    SurplusRange,
    UnitBudget,
    changed_lines,
    check_budget,
    consolidate,
)
from ledger.errors import BadInput
from ledger.store.db import Conn

BUDGET_KEYS = ["year", "unit", "book", "version", "revenue", "expenditure", "balance", "deficit",
               "imported_by", "imported_at", "checks", "lines"]
BUDGET_MONEY = ["revenue", "expenditure", "balance"]
LINE_KEYS = ["component", "line", "kind", "name_zh", "name_en", "amount"]
CHECK_KEYS = ["scope", "book", "code", "revenue", "expenditure", "balance", "rate", "min_pct", "max_pct"]
CHECK_MONEY = ["revenue", "expenditure", "balance"]
HISTORY_KEYS = ["version", "budget_id", "revenue", "expenditure", "balance", "imported_by", "imported_at",
                "adjusted", "reason", "adjusted_by", "adjusted_at", "idempotency_key", "changes"]
CHANGE_KEYS = ["component", "line", "before", "after"]


def surplus_range(conn: Conn) -> SurplusRange:
    """small-surplus range from the region settings (default 0–5 % of revenue, our reading)."""
    rows = {r["key"]: r["value"] for r in conn.execute(
        "SELECT key, value FROM fl.setting WHERE key IN ('budget_surplus_min_pct', 'budget_surplus_max_pct')"
    ).fetchall()}
    d = SurplusRange()
    try:
        return SurplusRange(Decimal(str(rows.get("budget_surplus_min_pct", d.min_pct))),
                            Decimal(str(rows.get("budget_surplus_max_pct", d.max_pct))))
    except InvalidOperation as e:
        raise BadInput(f"settings budget_surplus_min_pct / budget_surplus_max_pct must be numbers: {e}") from e


def check_json(c: BudgetCheck) -> dict[str, Any]:
    return {"scope": c.scope, "book": c.book, "code": c.code, "revenue": c.revenue, "expenditure": c.expenditure,
            "balance": c.balance, "rate": None if c.rate is None else str(c.rate),
            "min_pct": str(c.min_pct), "max_pct": str(c.max_pct)}


def show(conn: Conn, year: int, *, unit: str | None = None, book: str | None = None) -> list[dict[str, Any]]:
    """The budgets in force (latest version) for ``year``, with their lines, totals, the
    deficit flag (expenditure above revenue in any component) and the small-surplus checks
    (``checks``: ledger.core.budget) on the unit's total."""
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
    lines = _lines(conn, [h["id"] for h in heads])
    rng = surplus_range(conn)
    return [dict(h, lines=lines.get(h["id"], []),
                 checks=[check_json(c) for c in check_budget(h["unit"], h["book"], int(h["revenue"]),
                                                             int(h["expenditure"]), rng)])
            for h in heads]


def _lines(conn: Conn, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows = conn.execute(
        """SELECT l.budget_id, l.component, l.line, c.kind, c.name_zh, c.name_en, l.amount
             FROM fl.budget_line l JOIN fl.chart c ON c.code = l.line
            WHERE l.budget_id = ANY(%s) ORDER BY l.component, l.line""", (ids,)).fetchall()
    out: dict[int, list[dict[str, Any]]] = {}
    for ln in rows:
        out.setdefault(ln["budget_id"], []).append(ln)
    return out


def _as_lines(rows: list[dict[str, Any]]) -> tuple[BudgetLine, ...]:
    return tuple(BudgetLine(r["component"], r["line"], r["kind"], int(r["amount"])) for r in rows)


def history(conn: Conn, year: int, unit: str, book: str) -> list[dict[str, Any]]:
    """Every version of one budget, oldest first: totals, who imported it, and for each
    adjustment (预算调整) the reason, who, when and the lines it changed (before → after)."""
    heads = conn.execute(
        """SELECT b.id AS budget_id, b.version, b.imported_by, b.imported_at, t.revenue, t.expenditure,
                  t.revenue - t.expenditure AS balance, a.reason, a.adjusted_by, a.adjusted_at, a.idempotency_key,
                  (a.budget_id IS NOT NULL) AS adjusted
             FROM fl.budget b CROSS JOIN LATERAL fl.budget_totals(b.id) t
             LEFT JOIN fl.budget_adjustment a ON a.budget_id = b.id
            WHERE b.year = %s AND b.unit = %s AND b.book = %s ORDER BY b.version""", (year, unit, book)).fetchall()
    lines = _lines(conn, [h["budget_id"] for h in heads])
    out: list[dict[str, Any]] = []
    prev: tuple[BudgetLine, ...] = ()
    for h in heads:
        cur = _as_lines(lines.get(h["budget_id"], []))
        changes = [{"component": c.component, "line": c.line, "before": c.before, "after": c.after}
                   for c in changed_lines(prev, cur)] if h["version"] > 1 else []
        out.append(dict(h, changes=changes))
        prev = cur
    return out


def adjust(conn: Conn, year: int, unit: str, book: str, lines: list[dict[str, Any]], reason: str,
           key: str) -> dict[str, Any]:
    """Budget adjustment: a new version of the budget in force with ``lines`` ([{component, line,
    amount fen}]; 0 removes a line) set. Returns budget_id, version, status (adjusted or
    duplicate for a key already used with the same content)."""
    row = conn.execute("SELECT * FROM fl.budget_adjust(%s, %s, %s, %s::jsonb, %s, %s)",
                       (year, unit, book, json.dumps(lines), reason, key)).fetchone()
    assert row is not None
    return dict(row)


def import_reason(conn: Conn, reason: str | None) -> int:
    """After a budget import in the same transaction: record ``reason`` for each version
    after the first it made (refused without a reason when there is one)."""
    row = conn.execute("SELECT fl.budget_import_reason(%s) AS n", (reason,)).fetchone()
    assert row is not None
    return int(row["n"])


def city(conn: Conn, year: int, *, book: str | None = None) -> list[CityBudget]:
    """City-wide budget: the units' budgets in force consolidated per book (ledger.core.budget)."""
    heads = show(conn, year, book=book)
    budgets = [UnitBudget(h["unit"], h["book"], int(h["version"]), _as_lines(h["lines"])) for h in heads]
    return consolidate(budgets, surplus_range(conn))


def city_json(cb: CityBudget, names: Mapping[str, str]) -> dict[str, Any]:
    """One book of the city-wide budget with stable keys (docs/reports.md), money in fen."""
    def totals(u: str) -> dict[str, Any]:
        return {"revenue": cb.revenue[u], "expenditure": cb.expenditure[u],
                "balance": cb.revenue[u] - cb.expenditure[u]}
    return {"book": cb.book, "units": list(cb.units),
            "lines": [{"component": ln.component, "line": ln.line, "kind": ln.kind, "name": names.get(ln.line, ln.line),
                       "by_unit": {u: ln.by_unit.get(u, 0) for u in cb.units}, "city": ln.total} for ln in cb.lines],
            "unit_totals": {u: totals(u) for u in cb.units}, "city_totals": totals("city"),
            "checks": [check_json(c) for c in cb.checks]}
