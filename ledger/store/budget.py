"""Budgets (预算, 以收定支、收支平衡、略有结余): one per (year, unit, book), versioned.
Imported with ``fl.import_budget`` (via ``ledger.store.imports``); adjusted with
``fl.budget_adjust`` (sql/0024_budget.sql: every version after the first carries who, when
and why); read here, with the small-surplus checks of ``ledger.core.budget``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from ledger.core.budget import (
    CITY,
    BudgetCheck,
    BudgetLine,
    CityBudget,
    LineChange,
    UnitBudget,
    changed_lines,
    check_budget,
    consolidate,
)
from ledger.core.shapes import Fen
from ledger.store import year_settings
from ledger.store.db import Conn
from ledger.store.rows import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class NamedBudgetLine:
    """A line of a budget in force with its chart names."""

    component: str
    line: str                   # a chart code; it covers its sub-accounts
    kind: str                   # revenue | expenditure
    name_zh: str
    name_en: str
    amount: Fen


@dataclass(frozen=True, slots=True)
class BudgetInForce:
    """A budget in force (the latest version of a year, unit and book): ``budget show
    --json``. ``deficit``: expenditure above revenue in any component; ``checks``: the
    small-surplus findings on the unit's total (the city total's are in ``budget city``)."""

    year: int
    unit: str
    book: str
    version: int
    revenue: Fen
    expenditure: Fen
    balance: Fen
    deficit: bool
    imported_by: str
    imported_at: dt.datetime
    checks: tuple[BudgetCheck, ...]
    lines: tuple[NamedBudgetLine, ...]


@dataclass(frozen=True, slots=True)
class BudgetVersion:
    """One version of a budget: ``budget history --json``. The adjustment's fields are
    None for version 1 (an import); ``changes`` the lines it changed."""

    version: int
    budget_id: int
    revenue: Fen
    expenditure: Fen
    balance: Fen
    imported_by: str
    imported_at: dt.datetime
    adjusted: bool
    reason: str | None
    adjusted_by: str | None
    adjusted_at: dt.datetime | None
    idempotency_key: str | None
    changes: tuple[LineChange, ...]


@dataclass(frozen=True, slots=True)
class LineSetting:
    """One line an adjustment sets (``--set LINE=AMOUNT``; 0 removes the line)."""

    component: str
    line: str
    amount: int


@dataclass(frozen=True, slots=True)
class BudgetAdjusted:
    """``budget adjust --json``: the new version (or the one the key made before) and the
    checks on the budget in force after it."""

    budget_id: int
    version: int
    status: str                 # adjusted | duplicate
    checks: tuple[BudgetCheck, ...]


@dataclass(frozen=True, slots=True)
class BudgetTotals:
    revenue: Fen
    expenditure: Fen
    balance: Fen


@dataclass(frozen=True, slots=True)
class CityBudgetLine:
    """A line of the city-wide budget: each unit's amount (0 where it has none) and the city's."""

    component: str
    line: str
    kind: str
    name: str
    by_unit: dict[str, Fen]
    city: Fen


@dataclass(frozen=True, slots=True)
class CityBudgetBook:
    """One book of the city-wide budget (全市基金预算)."""

    book: str
    units: tuple[str, ...]
    lines: tuple[CityBudgetLine, ...]
    unit_totals: dict[str, BudgetTotals]
    city_totals: BudgetTotals
    checks: tuple[BudgetCheck, ...]         # each unit's and the city's (scope ``city``)


@dataclass(frozen=True, slots=True)
class CityBudgetYear:
    """``budget city --json``."""

    year: int
    books: tuple[CityBudgetBook, ...]


@dataclass(frozen=True, slots=True)
class _Head:
    """A budget version's row (its id to find the lines, and its totals)."""

    id: int
    year: int
    unit: str
    book: str
    version: int
    imported_by: str
    imported_at: dt.datetime
    revenue: int
    expenditure: int
    deficit: bool


@dataclass(frozen=True, slots=True)
class _Line:
    budget_id: int
    component: str
    line: str
    kind: str
    name_zh: str
    name_en: str
    amount: int


def show(conn: Conn, year: int, *, unit: str | None = None, book: str | None = None) -> list[BudgetInForce]:
    """The budgets in force (latest version) for ``year``, with their lines, totals, the
    deficit flag (expenditure above revenue in any component) and the small-surplus checks
    (``checks``: ledger.core.budget) on the unit's total."""
    heads = fetch_all(conn, _Head,
        """SELECT b.id, b.year, b.unit, b.book, b.version, b.imported_by, b.imported_at,
                  t.revenue, t.expenditure, t.deficit
             FROM fl.budget b CROSS JOIN LATERAL fl.budget_totals(b.id) t
            WHERE b.year = %(y)s AND (%(u)s::text IS NULL OR b.unit = %(u)s) AND (%(b)s::text IS NULL OR b.book = %(b)s)
              AND b.version = (SELECT max(b2.version) FROM fl.budget b2
                                WHERE b2.year = b.year AND b2.unit = b.unit AND b2.book = b.book)
            ORDER BY b.unit, b.book""", {"y": year, "u": unit, "b": book})
    if not heads:
        return []
    lines = _lines(conn, [h.id for h in heads])
    rng = year_settings.surplus_range(conn, year)
    return [BudgetInForce(h.year, h.unit, h.book, h.version, h.revenue, h.expenditure, h.revenue - h.expenditure,
                          h.deficit, h.imported_by, h.imported_at,
                          tuple(check_budget(h.unit, h.book, h.revenue, h.expenditure, rng)),
                          tuple(NamedBudgetLine(ln.component, ln.line, ln.kind, ln.name_zh, ln.name_en, ln.amount)
                                for ln in lines.get(h.id, [])))
            for h in heads]


def _lines(conn: Conn, ids: list[int]) -> dict[int, list[_Line]]:
    out: dict[int, list[_Line]] = {}
    for ln in fetch_all(conn, _Line,
                        """SELECT l.budget_id, l.component, l.line, c.kind, c.name_zh, c.name_en, l.amount
                             FROM fl.budget_line l JOIN fl.chart c ON c.code = l.line
                            WHERE l.budget_id = ANY(%s) ORDER BY l.component, l.line""", (ids,)):
        out.setdefault(ln.budget_id, []).append(ln)
    return out


def _as_lines(rows: list[_Line] | tuple[NamedBudgetLine, ...]) -> tuple[BudgetLine, ...]:
    return tuple(BudgetLine(r.component, r.line, r.kind, r.amount) for r in rows)


@dataclass(frozen=True, slots=True)
class _Version:
    budget_id: int
    version: int
    imported_by: str
    imported_at: dt.datetime
    revenue: int
    expenditure: int
    reason: str | None
    adjusted_by: str | None
    adjusted_at: dt.datetime | None
    idempotency_key: str | None
    adjusted: bool


def history(conn: Conn, year: int, unit: str, book: str) -> list[BudgetVersion]:
    """Every version of one budget, oldest first: totals, who imported it, and for each
    adjustment (预算调整) the reason, who, when and the lines it changed (before → after)."""
    heads = fetch_all(conn, _Version,
        """SELECT b.id AS budget_id, b.version, b.imported_by, b.imported_at, t.revenue, t.expenditure,
                  a.reason, a.adjusted_by, a.adjusted_at, a.idempotency_key, (a.budget_id IS NOT NULL) AS adjusted
             FROM fl.budget b CROSS JOIN LATERAL fl.budget_totals(b.id) t
             LEFT JOIN fl.budget_adjustment a ON a.budget_id = b.id
            WHERE b.year = %s AND b.unit = %s AND b.book = %s ORDER BY b.version""", (year, unit, book))
    lines = _lines(conn, [h.budget_id for h in heads])
    out: list[BudgetVersion] = []
    prev: tuple[BudgetLine, ...] = ()
    for h in heads:
        cur = _as_lines(lines.get(h.budget_id, []))
        changes = tuple(changed_lines(prev, cur)) if h.version > 1 else ()
        out.append(BudgetVersion(h.version, h.budget_id, h.revenue, h.expenditure, h.revenue - h.expenditure,
                                 h.imported_by, h.imported_at, h.adjusted, h.reason, h.adjusted_by, h.adjusted_at,
                                 h.idempotency_key, changes))
        prev = cur
    return out


@dataclass(frozen=True, slots=True)
class _Adjusted:
    budget_id: int
    version: int
    status: str


def adjust(conn: Conn, year: int, unit: str, book: str, lines: list[LineSetting], reason: str,
           key: str) -> BudgetAdjusted:
    """Budget adjustment: a new version of the budget in force with ``lines`` set (0
    removes a line). Returns budget_id, version, status (adjusted, or duplicate for a key
    already used with the same content) and the checks on the budget in force now."""
    row = fetch_one(conn, _Adjusted, "SELECT * FROM fl.budget_adjust(%s, %s, %s, %s::jsonb, %s, %s)",
                    (year, unit, book, json.dumps([asdict(ln) for ln in lines]), reason, key))
    assert row is not None
    now = show(conn, year, unit=unit, book=book)
    return BudgetAdjusted(row.budget_id, row.version, row.status, now[0].checks if now else ())


def import_reason(conn: Conn, reason: str | None) -> int:
    """After a budget import in the same transaction: record ``reason`` for each version
    after the first it made (refused without a reason when there is one)."""
    row = conn.execute("SELECT fl.budget_import_reason(%s) AS n", (reason,)).fetchone()
    assert row is not None
    return int(row["n"])


def city(conn: Conn, year: int, *, book: str | None = None) -> list[CityBudget]:
    """City-wide budget: the units' budgets in force consolidated per book (ledger.core.budget)."""
    heads = show(conn, year, book=book)
    budgets = [UnitBudget(h.unit, h.book, h.version, _as_lines(h.lines)) for h in heads]
    return consolidate(budgets, year_settings.surplus_range(conn, year))


def city_book(cb: CityBudget, names: Mapping[str, str]) -> CityBudgetBook:
    """One book of the city-wide budget as ``budget city --json`` prints it (docs/imports.md)."""
    def totals(u: str) -> BudgetTotals:
        return BudgetTotals(cb.revenue[u], cb.expenditure[u], cb.revenue[u] - cb.expenditure[u])
    return CityBudgetBook(
        cb.book, cb.units,
        tuple(CityBudgetLine(ln.component, ln.line, ln.kind, names.get(ln.line, ln.line),
                             {u: ln.by_unit.get(u, 0) for u in cb.units}, ln.total) for ln in cb.lines),
        {u: totals(u) for u in cb.units}, totals(CITY), cb.checks)
