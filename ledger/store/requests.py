"""Quarterly fund requests (按季提报用款申请): submit, approve, reject, void, disburse,
settle, list and show.

The pure rules of ``ledger.core.requests`` give the friendly refusal first (an illegal
move naming the current state, self-approval, over-approval); the SECURITY DEFINER
functions of sql/0005_cycle.sql lock the request row and refuse the same things again,
so raw SQL cannot get round them. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.core.requests import (
    Action,
    Justification,
    RequestState,
    check_approval,
    check_duties,
    check_quarter,
    next_state,
)
from ledger.errors import LedgerError, NotFound, PermissionDenied
from ledger.store.db import Conn

REQUEST_KEYS = ["id", "unit", "book", "component", "year", "quarter", "amount_requested", "amount_approved",
                "state", "submitted_by", "submitted_at", "approved_by", "note"]
REQUEST_MONEY = ["amount_requested", "amount_approved"]
EVENT_KEYS = ["action", "from_state", "to_state", "amount", "reason", "actor", "at", "entry_id"]
JUSTIFICATION_KEYS = ["budget_for_quarter", "annual_budget_expenditure", "spent_to_date", "held_county_exp",
                      "held_city_exp", "held_special", "balances_held", "approved_this_year"]

_COLS = """r.id, r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested, r.amount_approved, r.state,
           r.submitted_by, r.submitted_at, r.approved_by, r.note, r.justification, r.idempotency_key,
           r.disburse_entry, r.settle_entry"""


def _me(conn: Conn) -> dict[str, Any]:
    row = conn.execute("SELECT name, role, unit FROM fl.app_user WHERE name = session_user").fetchone()
    if row is None:
        raise PermissionDenied("you are not a fundledger user; an admin adds users with `fundledger user add`")
    return dict(row)


def whoami(conn: Conn) -> dict[str, Any]:
    """The acting user's name, role and unit (an officer's unit comes from their login)."""
    return _me(conn)


def get(conn: Conn, request_id: int) -> dict[str, Any]:
    row = conn.execute(f"SELECT {_COLS} FROM fl.fund_request r WHERE r.id = %s", (request_id,)).fetchone()
    if row is None:
        me = _me(conn)
        hint = f" (an officer sees only unit {me['unit']}'s requests)" if me["role"] == "officer" else ""
        raise NotFound(f"no fund request {request_id}{hint}")
    return dict(row)


def justification(conn: Conn, unit: str, book: str, component: str, year: int, quarter: int) -> dict[str, Any]:
    """The live justification figures (fl.request_justification), all fen: the quarter's
    budget from the annual plan where one exists (``quarter_basis`` plan), else annual ÷ 4."""
    row = conn.execute("SELECT fl.request_justification(%s, %s, %s, %s, %s) AS j",
                       (unit, book, component, year, quarter)).fetchone()
    assert row is not None
    return dict(row["j"])


def _as_justification(j: dict[str, Any]) -> Justification:
    return Justification(budget_for_quarter=int(j["budget_for_quarter"]),
                         annual_budget_expenditure=int(j["annual_budget_expenditure"]),
                         spent_to_date=int(j["spent_to_date"]), balances_held=int(j["balances_held"]),
                         approved_this_year=int(j["approved_this_year"]))


def special_account(conn: Conn, book: str) -> tuple[int, int] | None:
    """(balance, reserved) of the book's physical special account; None when the caller
    cannot see it (an officer: the pooled account belongs to no one unit)."""
    if _me(conn)["role"] == "officer":
        return None
    row = conn.execute("""SELECT balance, reserved FROM fl.bank_account
                           WHERE book = %s AND holder = 'special' AND unit IS NULL""", (book,)).fetchone()
    return (int(row["balance"]), int(row["reserved"])) if row else (0, 0)


def preview_warnings(conn: Conn, req: dict[str, Any], amount: int | None = None) -> list[str]:
    """What an approver would be told now: over the annual budget, or more than the special
    account has free (check_approval with the live figures; refusals become warnings)."""
    j = justification(conn, req["unit"], req["book"], req["component"], req["year"], req["quarter"])
    granted = amount or int(req["amount_requested"])
    # An officer cannot see the pooled special account: that check is left to the approver.
    balance, reserved = special_account(conn, req["book"]) or (granted, 0)
    try:
        return check_approval(req["id"], req["submitted_by"], "(approver)", int(req["amount_requested"]),
                              granted, balance, reserved, _as_justification(j))
    except LedgerError as e:
        return [e.message]


def submit(conn: Conn, *, unit: str, book: str, component: str, year: int, quarter: int,
           amount: int, note: str, key: str) -> dict[str, Any]:
    """File a request; returns it with ``status`` (submitted | duplicate) and ``warnings``."""
    check_quarter(year, quarter)
    me = _me(conn)
    if me["role"] == "officer" and me["unit"] != unit:
        raise PermissionDenied(f"{me['name']} is an officer of unit {me['unit']} and may not submit requests "
                               f"for unit {unit}")
    row = conn.execute("SELECT * FROM fl.request_submit(%s, %s, %s, %s, %s, %s, %s, %s)",
                       (unit, book, component, year, quarter, amount, note, key)).fetchone()
    assert row is not None
    req = get(conn, row["id"])
    req["status"] = row["status"]
    req["warnings"] = preview_warnings(conn, req)
    return req


def _move(conn: Conn, request_id: int, action: Action) -> dict[str, Any]:
    req = get(conn, request_id)
    next_state(request_id, RequestState(req["state"]), action)
    me = _me(conn)
    if me["role"] == ("finance" if action == Action.disburse else "reviewer"):   # else the role is the refusal
        done = [(r["action"], r["actor"]) for r in conn.execute(
            "SELECT action, actor FROM fl.request_event WHERE request_id = %s ORDER BY id", (request_id,)).fetchall()]
        check_duties(request_id, action, str(me["name"]), done)
    return req


def approve(conn: Conn, request_id: int, amount: int | None = None) -> dict[str, Any]:
    """Approve (possibly less); reserves the amount on the special account. Returns the
    request with ``warnings`` (e.g. approvals beyond the annual budgeted expenditure)."""
    req = _move(conn, request_id, Action.approve)
    granted = amount if amount is not None else int(req["amount_requested"])
    balance, reserved = special_account(conn, req["book"]) or (granted, 0)
    j = justification(conn, req["unit"], req["book"], req["component"], req["year"], req["quarter"])
    warnings = check_approval(request_id, req["submitted_by"], _me(conn)["name"], int(req["amount_requested"]),
                              granted, balance, reserved, _as_justification(j))
    conn.execute("SELECT id FROM fl.request_approve(%s, %s)", (request_id, granted))
    out = get(conn, request_id)
    out["warnings"] = warnings
    return out


def reject(conn: Conn, request_id: int, reason: str) -> dict[str, Any]:
    _move(conn, request_id, Action.reject)
    conn.execute("SELECT id FROM fl.request_reject(%s, %s)", (request_id, reason))
    return get(conn, request_id)


def void(conn: Conn, request_id: int, reason: str) -> dict[str, Any]:
    _move(conn, request_id, Action.void)
    conn.execute("SELECT id FROM fl.request_void(%s, %s)", (request_id, reason))
    return get(conn, request_id)


def _key(request_id: int, step: str, key: str | None) -> str | None:
    """A caller's key filed in the request's own namespace (request:<id>:…): the database
    refuses an entry of a request whose key lies elsewhere (sql/0017_maker_checker.sql)."""
    if not key:
        return None
    ns = f"request:{request_id}:"
    return key if key.startswith(ns) else f"{ns}{step}:{key}"


def disburse(conn: Conn, request_id: int, on: dt.date, key: str | None = None) -> dict[str, Any]:
    _move(conn, request_id, Action.disburse)
    conn.execute("SELECT id FROM fl.request_disburse(%s, %s, %s)", (request_id, on, _key(request_id, "disburse", key)))
    return get(conn, request_id)


def settle(conn: Conn, request_id: int, on: dt.date, key: str | None = None) -> dict[str, Any]:
    _move(conn, request_id, Action.settle)
    conn.execute("SELECT id FROM fl.request_settle(%s, %s, %s)", (request_id, on, _key(request_id, "settle", key)))
    return get(conn, request_id)


def list_requests(conn: Conn, *, year: int | None = None, quarter: int | None = None,
                  unit: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
    """Requests, newest year and quarter first; officers see only their own unit."""
    me = _me(conn)
    if me["role"] == "officer" and unit is not None and unit != me["unit"]:
        raise PermissionDenied(f"{me['name']} is an officer of unit {me['unit']} and may not read unit {unit}'s requests")
    if state is not None and state not in RequestState.__members__:
        raise NotFound(f"unknown state '{state}' (one of {', '.join(RequestState.__members__)})")
    rows = conn.execute(
        f"""SELECT {_COLS},
                   (SELECT e.reason FROM fl.request_event e WHERE e.request_id = r.id
                       AND e.to_state IN ('rejected', 'voided') ORDER BY e.id DESC LIMIT 1) AS reason
              FROM fl.fund_request r
             WHERE (%(y)s::int IS NULL OR r.year = %(y)s) AND (%(q)s::int IS NULL OR r.quarter = %(q)s)
               AND (%(u)s::text IS NULL OR r.unit = %(u)s) AND (%(s)s::text IS NULL OR r.state = %(s)s)
             ORDER BY r.year, r.quarter, r.unit, r.id""",
        {"y": year, "q": quarter, "u": unit, "s": state}).fetchall()
    return [dict(r) for r in rows]


def show(conn: Conn, request_id: int) -> dict[str, Any]:
    """One request with its history (who, when, why) and the justification it was filed with."""
    req = get(conn, request_id)
    req["events"] = [dict(e) for e in conn.execute(
        """SELECT action, from_state, to_state, amount, reason, actor, at, entry_id
             FROM fl.request_event WHERE request_id = %s ORDER BY id""", (request_id,)).fetchall()]
    req["warnings"] = preview_warnings(conn, req) if req["state"] == "submitted" else []
    return req
