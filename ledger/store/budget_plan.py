"""The annual plan (年度收支计划): imported by quarter or by month, versioned and chained
like the budget (sql/0024_budget.sql), read by pre-allocation's budget basis and the
request justification instead of the annual budget ÷ 12 or ÷ 4 where one exists."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from ledger.core.plan import COLUMNS, OPTIONAL, read_plan
from ledger.core.shapes import Fen
from ledger.errors import BadFile, RowError
from ledger.i18n import _
from ledger.io.formats import FileFormat
from ledger.io.tables import open_table
from ledger.store.db import Conn
from ledger.store.imports import vocabulary
from ledger.store.rows import fetch_all

PLAN = FileFormat("annual plan", COLUMNS, OPTIONAL)


@dataclass(frozen=True, slots=True)
class PlanImported:
    """What ``budget plan import`` did to one (year, unit, book)."""

    year: int
    unit: str
    book: str
    version: int
    status: str                 # created | unchanged


@dataclass(frozen=True, slots=True)
class PlanLine:
    component: str
    kind: str                   # revenue | expenditure
    period: int                 # quarter 1–4 or month 1–12 (the plan's granularity)
    amount: Fen


@dataclass(frozen=True, slots=True)
class PlanInForce:
    """An annual plan in force (its latest version): ``budget plan show --json``."""

    year: int
    unit: str
    book: str
    version: int
    granularity: str            # quarter | month
    imported_by: str
    imported_at: dt.datetime
    lines: tuple[PlanLine, ...]


@dataclass(frozen=True, slots=True)
class _Head:
    id: int
    year: int
    unit: str
    book: str
    version: int
    granularity: str
    imported_by: str
    imported_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _Line:
    plan_id: int
    component: str
    kind: str
    period: int
    amount: int


def import_plan(conn: Conn, path: Path | str) -> list[PlanImported]:
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
        raise BadFile(name, [RowError(name, 0, "", _("the file has no rows"))])
    return fetch_all(conn, PlanImported, "SELECT * FROM fl.plan_import(%s::jsonb)",
                     (json.dumps([r.as_json() for r in rows]),))


def show(conn: Conn, year: int, *, unit: str | None = None, book: str | None = None) -> list[PlanInForce]:
    """The plans in force for ``year`` with their lines (component, kind, period, amount)."""
    heads = fetch_all(conn, _Head,
        """SELECT p.id, p.year, p.unit, p.book, p.version, p.granularity, p.imported_by, p.imported_at
             FROM fl.budget_plan p
            WHERE p.year = %(y)s AND (%(u)s::text IS NULL OR p.unit = %(u)s) AND (%(b)s::text IS NULL OR p.book = %(b)s)
              AND p.version = (SELECT max(p2.version) FROM fl.budget_plan p2
                                WHERE p2.year = p.year AND p2.unit = p.unit AND p2.book = p.book)
            ORDER BY p.unit, p.book""", {"y": year, "u": unit, "b": book})
    lines: dict[int, list[PlanLine]] = {}
    for r in fetch_all(conn, _Line, """SELECT plan_id, component, kind, period, amount FROM fl.budget_plan_line
                                        WHERE plan_id = ANY(%s) ORDER BY component, kind DESC, period""",
                       ([h.id for h in heads],)):
        lines.setdefault(r.plan_id, []).append(PlanLine(r.component, r.kind, r.period, r.amount))
    return [PlanInForce(h.year, h.unit, h.book, h.version, h.granularity, h.imported_by, h.imported_at,
                        tuple(lines.get(h.id, []))) for h in heads]


def expenditure_periods(conn: Conn, year: int) -> dict[tuple[str, str, str], tuple[str, dict[int, int]]]:
    """Per (unit, book, component): the plan's granularity and planned expenditure by period."""
    out: dict[tuple[str, str, str], tuple[str, dict[int, int]]] = {}
    for r in conn.execute("""SELECT unit, book, component, granularity, period, amount FROM fl.budget_plan_current
                              WHERE year = %s AND kind = 'expenditure'""", (year,)).fetchall():
        out.setdefault((r["unit"], r["book"], r["component"]), (r["granularity"], {}))[1][int(r["period"])] = \
            int(r["amount"])
    return out
