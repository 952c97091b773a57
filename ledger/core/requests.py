"""Quarterly fund requests (按季提报用款申请): the workflow and the checks on approval.

A county submits, for a book, year and quarter, the amount it needs with its
justification. The city medical-insurance bureau (医保局) approves — possibly a smaller
amount — or rejects; approval reserves the money on the special account (专户); city
finance then disburses (拨付) it into the city expenditure account; the bureau settles
(结算) it onward to the county. An approved request not yet disbursed may be voided
(作废), which releases the reservation.

The legal moves are exactly::

    submitted --approve-->  approved --disburse--> disbursed --settle--> settled
    submitted --reject--->  rejected
    approved  --void----->  voided

so a request resolves (approved or rejected) exactly once, and rejected, settled and
voided are final. The database keeps the same rule; this module gives the friendly
message first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from ledger.core.money import format_yuan
from ledger.errors import BadInput, PermissionDenied, RuleViolation, StateError
from ledger.i18n import N_, _, code_text

MIN_YEAR = 2000
MAX_YEAR = 2100


class RequestState(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    disbursed = "disbursed"
    settled = "settled"
    voided = "voided"


class Action(StrEnum):
    approve = "approve"
    reject = "reject"
    disburse = "disburse"
    settle = "settle"
    void = "void"


#: (state, action) → next state; anything absent is illegal.
TRANSITIONS: MappingProxyType[tuple[RequestState, Action], RequestState] = MappingProxyType(
    {
        (RequestState.submitted, Action.approve): RequestState.approved,
        (RequestState.submitted, Action.reject): RequestState.rejected,
        (RequestState.approved, Action.disburse): RequestState.disbursed,
        (RequestState.disbursed, Action.settle): RequestState.settled,
        (RequestState.approved, Action.void): RequestState.voided,
    }
)

#: What each action does to a request, in the words an error message needs.
PAST_TENSE: MappingProxyType[Action, str] = MappingProxyType(
    {
        Action.approve: "approved",
        Action.reject: "rejected",
        Action.disburse: "disbursed",
        Action.settle: "settled",
        Action.void: "voided",
    }
)


#: Separation of duties (sql/0018, trigger ``request_event_duties``): whoever took one of
#: these earlier steps of a request may not take this step. The submitter never resolves,
#: disburses or settles; the approver never disburses or settles; the disburser never settles.
EXCLUDED_BY: MappingProxyType[Action, tuple[str, ...]] = MappingProxyType(
    {
        Action.approve: ("submit",),
        Action.reject: ("submit",),
        Action.void: ("submit",),
        Action.disburse: ("submit", "approve"),
        Action.settle: ("submit", "approve", "disburse"),
    }
)

_DID: MappingProxyType[str, str] = MappingProxyType(
    {"submit": "submitted", "approve": "approved", "disburse": "disbursed"})


def check_duties(request_id: int, action: Action, actor: str, done: Iterable[tuple[str, str]]) -> None:
    """Refuse ``actor`` taking ``action`` on a request whose earlier steps ``done`` — pairs of
    (step, who took it) — include a step this one must not follow from the same person.

    Names compare exactly, as PostgreSQL compares the roles the database records: ``rev``
    approved request 3, so ``rev`` may not settle it; ``rev2`` may.
    """
    barred = EXCLUDED_BY.get(Action(action), ())
    for step, who in done:
        if who == actor and step in barred:
            other = _("finance officer") if action == Action.disburse else _("reviewer")
            raise PermissionDenied(
                _("request {id}: {user} {did} it and cannot also {action} it (separation of duties); another "
                  "{other} must").format(id=request_id, user=actor, did=code_text(_DID[step]),
                                         action=code_text(action.value), other=other))


def _allowed_from(state: RequestState) -> list[Action]:
    return [a for a in Action if (state, a) in TRANSITIONS]


def next_state(request_id: int, current: RequestState, action: Action) -> RequestState:
    """The state after ``action``, or ``StateError`` naming what *is* allowed from ``current``.

    e.g. ``request 7 is submitted; it cannot be disbursed (from submitted it can only be
    approved or rejected)``.
    """
    try:
        state = RequestState(current)
        act = Action(action)
    except ValueError as e:
        raise BadInput(_("request {id}: {reason}").format(id=request_id, reason=e)) from e
    target = TRANSITIONS.get((state, act))
    if target is not None:
        return target
    past = PAST_TENSE[act]
    allowed = _allowed_from(state)
    if allowed:
        options = _(" or ").join(code_text(PAST_TENSE[a]) for a in allowed)
        why = _("from {state} it can only be {allowed}").format(state=code_text(state.value), allowed=options)
    else:
        why = _("{state} is final; nothing more can happen to it").format(state=code_text(state.value))
    again = (_("request {id} is {state}; it cannot be {action} again ({why})") if past == state.value
             else _("request {id} is {state}; it cannot be {action} ({why})"))
    raise StateError(again.format(id=request_id, state=code_text(state.value), action=code_text(past), why=why))


def _fen(name: str, value: object, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(_("{name} must be a whole number of fen, got {kind}").format(name=_(name), kind=type(value).__name__))
    if minimum is not None and value < minimum:
        raise BadInput(_("{name} must not be negative, got {amount}").format(name=_(name), amount=format_yuan(value)))
    return value


@dataclass(frozen=True, slots=True)
class Justification:
    """What the county puts forward with its request (all fen), and this year's approvals.

    ``balances_held`` may be negative (an overdrawn expenditure account is itself a
    reason to ask); the other figures cannot be.
    """

    budget_for_quarter: int
    annual_budget_expenditure: int
    spent_to_date: int
    balances_held: int
    approved_this_year: int

    def __post_init__(self) -> None:
        _fen(N_("budget for the quarter"), self.budget_for_quarter, minimum=0)
        _fen(N_("annual budgeted expenditure"), self.annual_budget_expenditure, minimum=0)
        _fen(N_("spending to date"), self.spent_to_date, minimum=0)
        _fen(N_("balances held"), self.balances_held)
        _fen(N_("amount approved this year"), self.approved_this_year, minimum=0)


def _person(role: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(_("the {role} must be named").format(role=_(role)))
    return value


def check_approval(
    request_id: int,
    submitter: str,
    approver: str,
    requested: int,
    approved: int,
    special_total: int,
    special_reserved: int,
    justification: Justification,
) -> list[str]:
    """Refuse an approval that breaks a rule; return warnings for one that is merely unusual.

    Raises, in this order:

    * ``PermissionDenied`` if the approver is the submitter (四眼原则, two people for
      every payment). Names are compared ignoring case and surrounding spaces, so
      ``" Li "`` cannot approve ``"li"``'s request;
    * ``BadInput`` if the amount approved is not positive or exceeds the amount asked;
    * ``RuleViolation`` (rule ``special_account_available``) if the special account,
      less what earlier approvals already reserved, cannot cover it.

    Warns (does not refuse) when this approval takes the year's approvals past the annual
    budgeted expenditure: the budget is a plan, and a claim surge may justify it, but the
    approver should see it.
    """
    who_asked = _person(N_("submitter"), submitter)
    who_approves = _person(N_("approver"), approver)
    if who_asked.strip().casefold() == who_approves.strip().casefold():
        raise PermissionDenied(
            _("request {id}: {user} submitted it and cannot also approve it").format(id=request_id,
                                                                                     user=who_approves.strip()))
    asked = _fen(N_("amount requested"), requested)
    granted = _fen(N_("amount approved"), approved)
    if asked <= 0:
        raise BadInput(
            _("request {id}: the amount requested must be positive, got {amount}").format(
                id=request_id, amount=format_yuan(asked)))
    if granted <= 0:
        raise BadInput(
            _("request {id}: the amount approved must be positive, got {amount} (reject the request "
              "instead)").format(id=request_id, amount=format_yuan(granted))
        )
    if granted > asked:
        raise BadInput(
            _("request {id}: cannot approve {amount}, more than the {requested} requested").format(
                id=request_id, amount=format_yuan(granted), requested=format_yuan(asked))
        )
    total = _fen(N_("special account balance"), special_total)
    reserved = _fen(N_("amount reserved on the special account"), special_reserved, minimum=0)
    if not isinstance(justification, Justification):
        raise BadInput(_("request {id}: the justification is missing").format(id=request_id))
    available = total - reserved
    if granted > available:
        raise RuleViolation(
            _("request {id}: cannot approve {amount}; the special account holds {total}, of which {reserved} "
              "is already reserved ({available} available)").format(
                id=request_id, amount=format_yuan(granted), total=format_yuan(total), reserved=format_yuan(reserved),
                available=format_yuan(max(available, 0))),
            rule="special_account_available",
        )
    found: list[str] = []
    after = justification.approved_this_year + granted
    if after > justification.annual_budget_expenditure:
        found.append(
            f"request {request_id}: approving {format_yuan(granted)} brings this year's approvals to "
            f"{format_yuan(after)}, above the annual budgeted expenditure of "
            f"{format_yuan(justification.annual_budget_expenditure)}"
        )
    return found


def check_quarter(year: int, quarter: int) -> None:
    """Refuse a request period that cannot be right: quarter 1–4, year 2000–2100."""
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise BadInput(_("year must be from {lo} to {hi}, got {year}").format(lo=MIN_YEAR, hi=MAX_YEAR, year=repr(year)))
    if isinstance(quarter, bool) or not isinstance(quarter, int) or not 1 <= quarter <= 4:
        raise BadInput(_("quarter must be 1, 2, 3 or 4, got {quarter}").format(quarter=repr(quarter)))
