"""The annual plan (年度收支计划): imported by quarter or by month, versioned and chained
like the budget (sql/0024_budget.sql), read by pre-allocation's budget basis and the
request justification instead of the annual budget ÷ 12 or ÷ 4 where one exists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ledger.core.plan import COLUMNS, OPTIONAL, read_plan
from ledger.errors import BadFile, RowError
from ledger.io.formats import FileFormat
from ledger.io.tables import open_table
from ledger.store.db import Conn
from ledger.store.imports import vocabulary

PLAN = FileFormat("annual plan", COLUMNS, OPTIONAL)
PLAN_KEYS = ["year", "unit", "book", "version", "granularity", "imported_by", "imported_at", "lines"]
PLAN_LINE_KEYS = ["component", "kind", "period", "amount"]
RESULT_KEYS = ["year", "unit", "book", "version", "status"]


def import_plan(conn: Conn, path: Path | str) -> list[dict[str, Any]]:
    """Read, check (every problem listed, nothing written) and store a plan file; per
    (year, unit, book) ``created`` (a new version) or ``unchanged``."""
    books = {r["code"]: tuple(r["components"]) for r in conn.execute("SELECT code, components FROM fl.book").fetchall()}
    units = {r["code"] for r in conn.execute("SELECT code FROM fl.unit").fetchall()}
    with open_table(path, PLAN, vocabulary(conn)) as t:
        rows, errors = read_plan(t.name, t.rows(), units, books)
        name = t.name
    if errors:
        raise BadFile(name, errors)
    if not rows:
        raise BadFile(name, [RowError(name, 0, "", "the file has no rows")])
    return conn.execute("SELECT * FROM fl.plan_import(%s::jsonb)",
                        (json.dumps([r.as_json() for r in rows]),)).fetchall()


def show(conn: Conn, year: int, *, unit: str | None = None, book: str | None = None) -> list[dict[str, Any]]:
    """The plans in force for ``year`` with their lines (component, kind, period, amount)."""
    heads = conn.execute(
        """SELECT p.id, p.year, p.unit, p.book, p.version, p.granularity, p.imported_by, p.imported_at
             FROM fl.budget_plan p
            WHERE p.year = %(y)s AND (%(u)s::text IS NULL OR p.unit = %(u)s) AND (%(b)s::text IS NULL OR p.book = %(b)s)
              AND p.version = (SELECT max(p2.version) FROM fl.budget_plan p2
                                WHERE p2.year = p.year AND p2.unit = p.unit AND p2.book = p.book)
            ORDER BY p.unit, p.book""", {"y": year, "u": unit, "b": book}).fetchall()
    lines: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute("""SELECT plan_id, component, kind, period, amount FROM fl.budget_plan_line
                              WHERE plan_id = ANY(%s) ORDER BY component, kind DESC, period""",
                          ([h["id"] for h in heads],)).fetchall():
        lines.setdefault(r["plan_id"], []).append(r)
    return [dict(h, lines=lines.get(h["id"], [])) for h in heads]


def expenditure_periods(conn: Conn, year: int) -> dict[tuple[str, str, str], tuple[str, dict[int, int]]]:
    """Per (unit, book, component): the plan's granularity and planned expenditure by period."""
    out: dict[tuple[str, str, str], tuple[str, dict[int, int]]] = {}
    for r in conn.execute("""SELECT unit, book, component, granularity, period, amount FROM fl.budget_plan_current
                              WHERE year = %s AND kind = 'expenditure'""", (year,)).fetchall():
        out.setdefault((r["unit"], r["book"], r["component"]), (r["granularity"], {}))[1][int(r["period"])] = \
            int(r["amount"])
    return out
