"""Quarterly fund requests (按季提报用款申请): submit, approve, reject, void, disburse,
settle, list and show.

The pure rules of ``ledger.core.requests`` give the friendly refusal first (an illegal
move naming the current state, self-approval, over-approval); the SECURITY DEFINER
functions of sql/0005_cycle.sql lock the request row and refuse the same things again,
so raw SQL cannot get round them. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
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
from ledger.core.shapes import Fen, as_row
from ledger.errors import LedgerError, NotFound, PermissionDenied
from ledger.i18n import _
from ledger.store.db import Conn
from ledger.store.rows import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class AppUser:
    """The acting user (fl.app_user of ``session_user``)."""

    name: str
    role: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class FundRequest:
    """A fund request (fl.fund_request): what ``request reject/void --json`` print, and the
    first keys of every other request command's JSON."""

    id: int
    unit: str
    book: str
    component: str
    year: int
    quarter: int
    amount_requested: Fen
    amount_approved: Fen | None
    state: str
    submitted_by: str
    submitted_at: dt.datetime
    approved_by: str | None
    note: str
    approved_on: dt.date | None     # (0126) the approval's business date; None before 0126 or not approved


@dataclass(frozen=True, slots=True)
class RequestLine(FundRequest):
    """A line of ``request list``: the request and the reason of its rejection or voiding."""

    reason: str | None


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One step of a request's history (fl.request_event)."""

    action: str
    from_state: str | None
    to_state: str
    amount: Fen | None
    reason: str
    actor: str
    at: dt.datetime
    entry_id: int | None


@dataclass(frozen=True, slots=True)
class RequestJustification:
    """The figures a request was filed with (the ``justification`` jsonb of
    fl.request_justification, all fen). A figure a request filed before it existed lacks
    is ``None``; ``quarter_basis`` is ``plan`` (the annual plan's quarter) or
    ``annual_div_4``; ``as_of`` the day the figures were taken (ISO)."""

    budget_for_quarter: Fen | None
    annual_budget_expenditure: Fen | None
    spent_to_date: Fen | None
    held_county_exp: Fen | None
    held_city_exp: Fen | None
    held_special: Fen | None
    balances_held: Fen | None
    approved_this_year: Fen | None
    budget_version: int | None
    as_of: str | None
    quarter_basis: str

    @classmethod
    def of(cls, j: Mapping[str, Any]) -> RequestJustification:
        """From the stored jsonb (free-form by age: read key by key, absent → None)."""
        def fen(k: str) -> int | None:
            v = j.get(k)
            return None if v is None else int(v)
        return cls(fen("budget_for_quarter"), fen("annual_budget_expenditure"), fen("spent_to_date"),
                   fen("held_county_exp"), fen("held_city_exp"), fen("held_special"), fen("balances_held"),
                   fen("approved_this_year"), j.get("budget_version"), j.get("as_of"),
                   j.get("quarter_basis", "annual_div_4"))

    def rules(self) -> Justification:
        """The figures ledger.core.requests checks an approval against."""
        return Justification(budget_for_quarter=self.budget_for_quarter or 0,
                             annual_budget_expenditure=self.annual_budget_expenditure or 0,
                             spent_to_date=self.spent_to_date or 0, balances_held=self.balances_held or 0,
                             approved_this_year=self.approved_this_year or 0)


@dataclass(frozen=True, slots=True)
class RequestShown(FundRequest):
    """``request show --json``: the request, its history, the justification it was filed
    with and what an approver would be warned of now (only while it is submitted)."""

    events: tuple[RequestEvent, ...]
    justification: RequestJustification
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequestSubmitted(RequestShown):
    """``request submit --json``: as shown, and whether this call filed it."""

    status: str                 # submitted | duplicate


@dataclass(frozen=True, slots=True)
class RequestApproved(FundRequest):
    """``request approve --json``: the request and the approver's warnings."""

    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequestMoved(FundRequest):
    """``request disburse/settle --json``: the request and the entry the step posted
    (``None`` when settling the city's own request, which posts nothing)."""

    entry_id: int | None


_COLS = """r.id, r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested, r.amount_approved, r.state,
           r.submitted_by, r.submitted_at, r.approved_by, r.note, r.approved_on"""


def _me(conn: Conn) -> AppUser:
    me = fetch_one(conn, AppUser, "SELECT name, role, unit FROM fl.app_user WHERE name = session_user")
    if me is None:
        raise PermissionDenied(_("you are not a fundledger user; an admin adds users with `fundledger user add`"))
    return me


def whoami(conn: Conn) -> AppUser:
    """The acting user's name, role and unit (an officer's unit comes from their login)."""
    return _me(conn)


def get(conn: Conn, request_id: int) -> FundRequest:
    req = fetch_one(conn, FundRequest, f"SELECT {_COLS} FROM fl.fund_request r WHERE r.id = %s", (request_id,))
    if req is None:
        me = _me(conn)
        if me.role == "officer":
            raise NotFound(_("no fund request {id} (an officer sees only unit {unit}'s requests)").format(
                id=request_id, unit=me.unit))
        raise NotFound(_("no fund request {id}").format(id=request_id))
    return req


def _column(conn: Conn, request_id: int, column: str) -> Any:
    """One more column of a request already read (its stored justification, an entry id)."""
    row = conn.execute(f"SELECT {column} AS v FROM fl.fund_request WHERE id = %s", (request_id,)).fetchone()
    assert row is not None
    return row["v"]


def justification(conn: Conn, unit: str, book: str, component: str, year: int, quarter: int) -> RequestJustification:
    """The live justification figures (fl.request_justification), all fen: the quarter's
    budget from the annual plan where one exists (``quarter_basis`` plan), else annual ÷ 4."""
    row = conn.execute("SELECT fl.request_justification(%s, %s, %s, %s, %s) AS j",
                       (unit, book, component, year, quarter)).fetchone()
    assert row is not None
    return RequestJustification.of(row["j"])


def special_account(conn: Conn, book: str) -> tuple[int, int] | None:
    """(balance, reserved) of the book's physical special account; None when the caller
    cannot see it (an officer: the pooled account belongs to no one unit)."""
    if _me(conn).role == "officer":
        return None
    row = conn.execute("""SELECT balance, reserved FROM fl.bank_account
                           WHERE book = %s AND holder = 'special' AND unit IS NULL""", (book,)).fetchone()
    return (int(row["balance"]), int(row["reserved"])) if row else (0, 0)


def _approval_checks(conn: Conn, req: FundRequest, granted: int, approver: str) -> list[str]:
    """check_approval with the live figures: the request's justification and what the
    special account has free. An officer cannot see the pooled special account: that check
    is left to the approver."""
    balance, reserved = special_account(conn, req.book) or (granted, 0)
    j = justification(conn, req.unit, req.book, req.component, req.year, req.quarter)
    return check_approval(req.id, req.submitted_by, approver, req.amount_requested,
                          granted, balance, reserved, j.rules())


def preview_warnings(conn: Conn, req: FundRequest, amount: int | None = None) -> tuple[str, ...]:
    """What an approver would be told now: over the annual budget, or more than the special
    account has free (refusals become warnings)."""
    try:
        return tuple(_approval_checks(conn, req, amount or req.amount_requested, "(approver)"))
    except LedgerError as e:
        return (e.message,)


def submit(conn: Conn, *, unit: str, book: str, component: str, year: int, quarter: int,
           amount: int, note: str, key: str) -> RequestSubmitted:
    """File a request; returns it as shown, with ``status`` (submitted | duplicate)."""
    check_quarter(year, quarter)
    me = _me(conn)
    if me.role == "officer" and me.unit != unit:
        raise PermissionDenied(_("{user} is an officer of unit {unit} and may not submit requests for unit {other}")
                               .format(user=me.name, unit=me.unit, other=unit))
    row = conn.execute("SELECT * FROM fl.request_submit(%s, %s, %s, %s, %s, %s, %s, %s)",
                       (unit, book, component, year, quarter, amount, note, key)).fetchone()
    assert row is not None
    return RequestSubmitted(**as_row(show(conn, int(row["id"]))), status=row["status"])


def _move(conn: Conn, request_id: int, action: Action) -> FundRequest:
    req = get(conn, request_id)
    next_state(request_id, RequestState(req.state), action)
    me = _me(conn)
    if me.role == ("finance" if action == Action.disburse else "reviewer"):   # else the role is the refusal
        done = [(r["action"], r["actor"]) for r in conn.execute(
            "SELECT action, actor FROM fl.request_event WHERE request_id = %s ORDER BY id", (request_id,)).fetchall()]
        check_duties(request_id, action, me.name, done)
    return req


def approve(conn: Conn, request_id: int, amount: int | None = None, on: dt.date | None = None) -> RequestApproved:
    """Approve (possibly less) on the business date ``on`` (None: the region's today, sql/0126);
    reserves the amount on the special account. Returns the request with ``warnings`` (e.g.
    approvals beyond the annual budgeted expenditure)."""
    req = _move(conn, request_id, Action.approve)
    granted = amount if amount is not None else req.amount_requested
    warnings = _approval_checks(conn, req, granted, _me(conn).name)
    conn.execute("SELECT id FROM fl.request_approve(%s, %s, %s)", (request_id, granted, on))
    return RequestApproved(**as_row(get(conn, request_id)), warnings=tuple(warnings))


def reject(conn: Conn, request_id: int, reason: str) -> FundRequest:
    _move(conn, request_id, Action.reject)
    conn.execute("SELECT id FROM fl.request_reject(%s, %s)", (request_id, reason))
    return get(conn, request_id)


def void(conn: Conn, request_id: int, reason: str) -> FundRequest:
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


def disburse(conn: Conn, request_id: int, on: dt.date, key: str | None = None) -> RequestMoved:
    _move(conn, request_id, Action.disburse)
    conn.execute("SELECT id FROM fl.request_disburse(%s, %s, %s)", (request_id, on, _key(request_id, "disburse", key)))
    return RequestMoved(**as_row(get(conn, request_id)), entry_id=_column(conn, request_id, "disburse_entry"))


def settle(conn: Conn, request_id: int, on: dt.date, key: str | None = None) -> RequestMoved:
    _move(conn, request_id, Action.settle)
    conn.execute("SELECT id FROM fl.request_settle(%s, %s, %s)", (request_id, on, _key(request_id, "settle", key)))
    return RequestMoved(**as_row(get(conn, request_id)), entry_id=_column(conn, request_id, "settle_entry"))


def list_requests(conn: Conn, *, year: int | None = None, quarter: int | None = None,
                  unit: str | None = None, state: str | None = None) -> list[RequestLine]:
    """Requests, newest year and quarter first; officers see only their own unit."""
    me = _me(conn)
    if me.role == "officer" and unit is not None and unit != me.unit:
        raise PermissionDenied(_("{user} is an officer of unit {unit} and may not read unit {other}'s requests").format(
            user=me.name, unit=me.unit, other=unit))
    if state is not None and state not in RequestState.__members__:
        raise NotFound(_("unknown state '{state}': give one of {states}").format(
            state=state, states=_(", ").join(RequestState.__members__)))
    return fetch_all(conn, RequestLine,
        f"""SELECT {_COLS},
                   (SELECT e.reason FROM fl.request_event e WHERE e.request_id = r.id
                       AND e.to_state IN ('rejected', 'voided') ORDER BY e.id DESC LIMIT 1) AS reason
              FROM fl.fund_request r
             WHERE (%(y)s::int IS NULL OR r.year = %(y)s) AND (%(q)s::int IS NULL OR r.quarter = %(q)s)
               AND (%(u)s::text IS NULL OR r.unit = %(u)s) AND (%(s)s::text IS NULL OR r.state = %(s)s)
             ORDER BY r.year, r.quarter, r.unit, r.id""",
        {"y": year, "q": quarter, "u": unit, "s": state})


def show(conn: Conn, request_id: int) -> RequestShown:
    """One request with its history (who, when, why) and the justification it was filed with."""
    req = get(conn, request_id)
    events = fetch_all(conn, RequestEvent, """SELECT action, from_state, to_state, amount, reason, actor, at, entry_id
                                                FROM fl.request_event WHERE request_id = %s ORDER BY id""",
                       (request_id,))
    return RequestShown(**as_row(req), events=tuple(events),
                        justification=RequestJustification.of(_column(conn, request_id, "justification") or {}),
                        warnings=preview_warnings(conn, req) if req.state == "submitted" else ())

