"""The money-moving steps of the fund cycle that are not requests: pre-allocation (预拨),
special-account interest (专户利息) and the local government's payment of its shortfall
share (地方政府缺口补助).

Each computes its table in Python with the pure rules of ``ledger.core`` from figures
PostgreSQL keeps (``fl.account``, ``fl.account_day``, ``fl.budget_current``), then posts
through one SECURITY DEFINER function of sql/0005_cycle.sql, which re-checks the role,
the units and the amounts. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from typing import Any

from ledger.core.budget import planned_months
from ledger.core.interest import allocate_interest, daily_balance_weights
from ledger.core.preallocation import (
    PreallocationInput,
    monthly_basis_from_budget,
    monthly_basis_from_prior_year,
    months_in_year,
    preallocate,
    within_cap,
)
from ledger.core.shapes import Fen
from ledger.errors import BadInput, NotFound
from ledger.i18n import _
from ledger.store import budget_plan
from ledger.store.db import Conn
from ledger.store.monitor import recorded_first_days
from ledger.store.rows import fetch_all, fetch_one


def settings(conn: Conn) -> dict[str, Any]:
    """The region settings (``fl.setting``): preallocation_months, preallocation_basis, …"""
    return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM fl.setting").fetchall()}


def _book(conn: Conn, book: str) -> None:
    """Refuse an unknown book by name (before an empty result says less)."""
    if conn.execute("SELECT 1 FROM fl.book WHERE code = %s", (book,)).fetchone() is None:
        raise NotFound(_("unknown book '{book}'").format(book=book))


# ---- pre-allocation (预拨) ------------------------------------------------------------

def prealloc_key(year: int, unit: str, book: str, component: str) -> str:
    """The idempotency key of one pre-allocation: once per (year, unit, book, component)."""
    return f"prealloc:{year}:{unit}:{book}" + (f":{component}" if component else "")


def _monthly_bases(conn: Conn, year: int, basis: str, months: int = 12) -> dict[tuple[str, str, str], int]:
    """Monthly basis per county (unit, book, component), from the budget or last year's spending.

    (ATTACK21 N10) Divided by the months the county had, not by 12: last year's spending by the months
    of last year it was in the ledger in that book (from its first day there — the months-payable basis,
    ``ledger.store.monitor.recorded_first_days`` — to 31 December: a county that joined on 1 July and
    paid 60,000.00 a month has a basis of 60,000.00, not 30,000.00); the budget by the months of the
    year it is in the pooled fund (from its joining date in force, when it joins that year: a half
    year's budget is a half year's). ``months`` of it stay within the database's cap (twelve months of
    the total ÷ 12, fl.preallocate — at most the whole of last year's spending or of the budget, which
    would refuse the city's whole pre-allocation): ``within_cap``."""
    out: dict[tuple[str, str, str], int] = {}
    n = max(1, min(months, 12))
    if basis == "budget":
        joined = {r["unit"]: r["joined_on"] for r in conn.execute(
            "SELECT unit, joined_on FROM fl.unit_joining WHERE joined_on IS NOT NULL").fetchall()}
        rows = conn.execute(
            """SELECT b.unit, b.book, b.component, sum(b.amount)::bigint AS annual
                 FROM fl.budget_current b JOIN fl.unit u ON u.code = b.unit AND u.kind = 'county'
                WHERE b.year = %s AND b.kind = 'expenditure'
                GROUP BY 1, 2, 3""", (year,)).fetchall()
        for r in rows:
            annual = int(r["annual"])
            out[(r["unit"], r["book"], r["component"])] = within_cap(
                monthly_basis_from_budget(annual, months_in_year(joined.get(r["unit"]), year)), annual, n)
    elif basis == "prior-year":
        books = [r["code"] for r in conn.execute("SELECT code FROM fl.book ORDER BY code").fetchall()]
        firsts = recorded_first_days(conn, as_of=dt.date(year - 1, 12, 31))
        for book in books:
            rows = conn.execute(
                """SELECT f.unit, f.component, sum(f.net)::bigint AS spent
                     FROM fl.year_flows(%s, %s, %s) f JOIN fl.unit u ON u.code = f.unit AND u.kind = 'county'
                    WHERE f.kind = 'expenditure' GROUP BY 1, 2""",
                (book, dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31))).fetchall()
            for r in rows:
                spent = max(int(r["spent"]), 0)
                out[(r["unit"], book, r["component"])] = within_cap(
                    monthly_basis_from_prior_year(spent, months_in_year(firsts.get((r["unit"], book)), year - 1)),
                    spent, n)
    else:
        raise BadInput(_("--basis must be 'budget' or 'prior-year', got '{basis}'").format(basis=basis))
    return out


@dataclass(frozen=True, slots=True)
class PreallocationLine:
    """One county (unit, book, component) of the 预拨 table."""

    unit: str
    book: str
    component: str
    monthly_basis: Fen          # budgeted (or last year's) spending ÷ the months it covers (12 for a full year)
    months: int
    target: Fen                 # months × monthly basis, or the annual plan's for those months
    target_basis: str           # plan (the annual plan set the target), else the basis: budget | prior-year
    held: Fen                   # the county expenditure account's balance now
    amount: Fen                 # max(0, target − held)
    status: str                 # to post | nothing to post | held | already posted | not yet joined
    entry_id: int | None
    held_id: int | None = None  # the held entry awaiting city finance's confirmation (0046)


def joining_after(conn: Conn, on: dt.date) -> dict[str, dt.date]:
    """(0163, ATTACK19 J5) The units whose joining date in force (fl.unit_joining, 0154/0167) is after
    ``on``: nothing is posted on them dated before it, so a pre-allocation dated ``on`` leaves them out."""
    return {r["unit"]: r["joined_on"] for r in conn.execute(
        "SELECT unit, joined_on FROM fl.unit_joining WHERE joined_on > %s ORDER BY unit", (on,)).fetchall()}


def preallocation_table(conn: Conn, year: int, *, months: int, basis: str,
                        on: dt.date | None = None) -> list[PreallocationLine]:
    """The 预拨 table: per county (unit, book, component) monthly basis, months, target,
    held (the county expenditure account's balance now) and amount = max(0, target − held).

    ``status`` says what posting would do: ``to post``, ``nothing to post`` (already holds
    the target), ``held`` (this year's pre-allocation awaits city finance's confirmation;
    ``held_id``) or ``already posted`` (this year's pre-allocation exists; ``entry_id``).
    With ``on`` (the pre-allocation's date), a county that joins the pooled fund after it is
    ``not yet joined`` (0163, ATTACK19 J5): it is left out, and pre-allocated for on or after
    its joining date — held, a line dated before could only be rejected, and city finance's
    confirmation of the city's pre-allocations (all or none) would be refused with it."""
    bases = _monthly_bases(conn, year, basis, months)
    held = {(r["unit"], r["book"], r["component"]): int(r["balance"]) for r in conn.execute(
        """SELECT a.unit, a.book, a.component, a.balance FROM fl.account a
            WHERE a.chart_code = '1004' AND a.holder = 'county_exp'""").fetchall()}
    # With the budget basis, a county's annual plan (年度收支计划) sets the target where one exists.
    plans = budget_plan.expenditure_periods(conn, year) if basis == "budget" else {}
    planned = {k: planned_months(g, periods, months) for k, (g, periods) in plans.items() if k in bases}
    lines = preallocate([PreallocationInput(u, b, c, basis_fen, held.get((u, b, c), 0), planned.get((u, b, c)))
                         for (u, b, c), basis_fen in bases.items()], months)
    keys = [prealloc_key(year, ln.unit, ln.book, ln.component) for ln in lines]
    done = {r["idempotency_key"]: r["id"] for r in conn.execute(
        "SELECT id, idempotency_key FROM fl.entry WHERE idempotency_key = ANY(%s)", (keys,)).fetchall()}
    # Since 0046 a line is held for finance first (after a rejection under prealloc:…#n).
    waiting: dict[str, int] = {}
    for r in conn.execute(
            """SELECT split_part(idempotency_key, '#', 1) AS k, id, state, entry_id FROM fl.pending_entry
                WHERE kind = 'preallocation' AND state <> 'rejected' AND split_part(idempotency_key, '#', 1) = ANY(%s)
                ORDER BY id""", (keys,)).fetchall():
        if r["state"] == "confirmed":
            done.setdefault(r["k"], r["entry_id"])
        else:
            waiting.setdefault(r["k"], r["id"])

    late = joining_after(conn, on) if on is not None else {}

    def status(key: str, unit: str, amount: int) -> str:
        if key in done:
            return "already posted"
        if key in waiting:
            return "held"
        if unit in late:
            return "not yet joined"
        return "to post" if amount > 0 else "nothing to post"

    return [PreallocationLine(ln.unit, ln.book, ln.component, ln.monthly_basis, ln.months, ln.target,
                              "plan" if (ln.unit, ln.book, ln.component) in planned else basis, ln.held, ln.amount,
                              status(key, ln.unit, ln.amount), done.get(key), None if key in done else waiting.get(key))
            for ln, key in zip(lines, keys, strict=True)]


def post_preallocation(conn: Conn, year: int, on: dt.date,
                       table: list[PreallocationLine]) -> list[PreallocationLine]:
    """Hold the lines of ``table`` that are ``to post`` through ``fl.preallocate`` (one call)
    for city finance's confirmation (预拨 is a transfer out of the finance bureau's special
    account: finance executes it, ``confirm_preallocation``); returns the table with
    ``status`` ``held`` (``held_id``) / ``already posted`` (``entry_id``)."""
    todo = [{"unit": r.unit, "book": r.book, "component": r.component, "amount": r.amount}
            for r in table if r.status == "to post"]
    results: dict[str, dict[str, Any]] = {}
    if todo:
        for r in conn.execute("SELECT * FROM fl.preallocate(%s, %s, %s::jsonb)",
                              (year, on, json.dumps(todo))).fetchall():
            results[r["idempotency_key"].split("#", 1)[0]] = r
    out = []
    for row in table:
        res = results.get(prealloc_key(year, row.unit, row.book, row.component))
        if res is not None:
            row = replace(row, entry_id=res["entry_id"], held_id=None if res["status"] == "duplicate" else res["held_id"],
                          status="already posted" if res["status"] == "duplicate" else "held")
        out.append(row)
    return out


def confirm_preallocation(conn: Conn, table: list[PreallocationLine]) -> list[PreallocationLine]:
    """City finance confirms the held lines of ``table`` (``fl.confirm_entries``, all or
    none): each posts Dr 1004 county expenditure / Cr 1003 special. Returns the table with
    ``status`` ``posted`` and entry ids for those lines."""
    ids = [r.held_id for r in table if r.status == "held" and r.held_id is not None]
    if not ids:
        return table
    posted = {int(r["held_id"]): int(r["entry_id"]) for r in conn.execute(
        "SELECT held_id, entry_id, status FROM fl.confirm_entries(%s)", (ids,)).fetchall()}
    return [replace(r, status="posted", entry_id=posted[r.held_id]) if r.held_id in posted else r for r in table]


# ---- special-account interest (专户利息) ----------------------------------------------

def _share_key(unit: str, component: str) -> str:
    return f"{unit}/{component}" if component else unit


@dataclass(frozen=True, slots=True)
class InterestShare:
    """One (unit, component)'s share of the special account's interest."""

    unit: str
    component: str
    days: int
    balance_days: Fen           # the sum of its end-of-day balances over the period (积数)
    average_daily_balance: Fen  # balance_days ÷ days, rounded half up
    share: Fen


def interest_table(conn: Conn, book: str, total: int, start: dt.date, end: dt.date) -> list[InterestShare]:
    """Each (unit, component)'s share of ``total`` fen of interest on the book's special
    account, by the sum of its end-of-day balances (积数) over ``[start, end]`` — the
    average daily balance times the days. Largest remainder, ties by unit code
    (ledger.core.interest)."""
    _book(conn, book)
    accounts = conn.execute(
        """SELECT a.id, a.unit, a.component FROM fl.account a
            WHERE a.book = %s AND a.chart_code = '1003' AND a.holder = 'special'""", (book,)).fetchall()
    if not accounts:
        raise NotFound(_("book {book} has no special-account balances to earn interest").format(book=book))
    names = {a["id"]: (a["unit"], a["component"]) for a in accounts}
    opening = {_share_key(u, c): 0 for u, c in names.values()}
    for r in conn.execute(
            """SELECT d.account_id, sum(d.debits - d.credits)::bigint AS b FROM fl.account_day d
                WHERE d.account_id = ANY(%s) AND d.day < %s GROUP BY 1""", (list(names), start)).fetchall():
        opening[_share_key(*names[r["account_id"]])] += int(r["b"])
    moves = [(r["day"], _share_key(*names[r["account_id"]]), int(r["net"])) for r in conn.execute(
        """SELECT d.account_id, d.day, (d.debits - d.credits)::bigint AS net FROM fl.account_day d
            WHERE d.account_id = ANY(%s) AND d.day BETWEEN %s AND %s ORDER BY d.day""",
        (list(names), start, end)).fetchall()]
    weights = daily_balance_weights(opening, moves, start, end)
    shares = allocate_interest(total, weights)
    days = (end - start).days + 1
    by_key = {_share_key(u, c): (u, c) for u, c in names.values()}
    return [InterestShare(by_key[k][0], by_key[k][1], days, w,
                          (2 * w + days) // (2 * days) if w >= 0 else -((-2 * w + days) // (2 * days)), shares[k])
            for k, w in weights.items()]


@dataclass(frozen=True, slots=True)
class Posted:
    """What a posting function did: the entry, or the held entry waiting for a second person."""

    entry_id: int | None
    status: str                 # posted | duplicate | held
    held_id: int | None


def post_interest(conn: Conn, book: str, on: dt.date, key: str, table: list[InterestShare], total: int,
                  start: dt.date, end: dt.date) -> Posted:
    """Post the shares of ``interest_table(conn, book, total, start, end)``. The database
    recomputes them from the same books and refuses a table that differs (0018), so what is
    posted is what the rule gives, not what a caller sent."""
    shares = [{"unit": r.unit, "component": r.component, "amount": r.share} for r in table if r.share > 0]
    row = fetch_one(conn, Posted, "SELECT entry_id, status, held_id "
                    "FROM fl.allocate_interest(%s, %s, %s, %s, %s, %s, %s::jsonb)",
                    (book, on, key, total, start, end, json.dumps(shares)))
    assert row is not None
    return row


# ---- the government's shortfall share (缺口补助) ---------------------------------------

@dataclass(frozen=True, slots=True)
class GovernmentPayment:
    """One register item a government payment cleared (oldest first)."""

    item_id: int
    fiscal_year: int
    amount: Fen
    entry_id: int | None
    status: str                 # posted | duplicate


def government_pay(conn: Conn, unit: str, book: str, amount: int, on: dt.date, key: str) -> list[GovernmentPayment]:
    """Record the local government's payment: clears the open items oldest first (each via
    ``fl.clear_register``: Dr 1003 special / Cr 4101.shortfall). Over-payment is refused."""
    key = key if key.startswith("govpay:") else f"govpay:{key}"   # the namespace of its entries (sql/0017)
    return fetch_all(conn, GovernmentPayment, "SELECT item_id, fiscal_year, amount, entry_id, status "
                     "FROM fl.government_pay(%s, %s, %s, %s, %s)", (unit, book, amount, on, key))
