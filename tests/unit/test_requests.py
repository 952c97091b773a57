"""用款申请: the request workflow and the checks made when the bureau approves."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.requests import (
    Action,
    Justification,
    RequestState,
    check_approval,
    check_quarter,
    next_state,
)
from ledger.errors import BadInput, PermissionDenied, RuleViolation, StateError
from ledger.i18n import get_lang, set_lang


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    """These tests match the English wording; the refusals are catalogue messages, Chinese by default."""
    saved = get_lang()
    set_lang("en")
    yield
    set_lang(saved)

S = RequestState
A = Action

# The legal moves, written out from BRIEF §5 (not read from the implementation).
SPEC: dict[tuple[RequestState, Action], RequestState] = {
    (S.submitted, A.approve): S.approved,
    (S.submitted, A.reject): S.rejected,
    (S.approved, A.disburse): S.disbursed,
    (S.disbursed, A.settle): S.settled,
    (S.approved, A.void): S.voided,
}
FINAL = {S.rejected, S.settled, S.voided}

# ---------------------------------------------------------------- state machine


def test_happy_path() -> None:
    state = S.submitted
    for action, expected in [(A.approve, S.approved), (A.disburse, S.disbursed), (A.settle, S.settled)]:
        state = next_state(1, state, action)
        assert state is expected


def test_reject_and_void() -> None:
    assert next_state(1, S.submitted, A.reject) is S.rejected
    assert next_state(1, S.approved, A.void) is S.voided


def test_message_names_state_and_what_is_allowed() -> None:
    with pytest.raises(StateError) as e:
        next_state(7, S.submitted, A.disburse)
    assert str(e.value) == (
        "request 7 is submitted; it cannot be disbursed (from submitted it can only be approved or rejected)"
    )
    assert e.value.rule == "illegal_state"


def test_approving_twice_says_again() -> None:
    with pytest.raises(
        StateError, match=r"^request 12 is approved; it cannot be approved again \(from approved"
    ):
        next_state(12, S.approved, A.approve)


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_states_say_so(final: RequestState) -> None:
    with pytest.raises(StateError, match=rf"^request 3 is {final}; it cannot be voided.* \({final} is final"):
        next_state(3, final, A.void)


def test_unknown_action_is_bad_input() -> None:
    with pytest.raises(BadInput):
        next_state(1, S.submitted, "cancel")  # type: ignore[arg-type]


def test_legal_moves_are_exactly_the_policy() -> None:
    """Explore every (state, action) pair: the ones accepted are exactly SPEC, the rest refused."""
    accepted: dict[tuple[RequestState, Action], RequestState] = {}
    for state in S:
        for action in A:
            with contextlib.suppress(StateError):
                accepted[(state, action)] = next_state(1, state, action)
    assert accepted == SPEC


def test_every_state_reachable_from_submitted_and_only_by_legal_moves() -> None:
    """Breadth-first search from ``submitted`` using next_state reaches all six states.

    Every edge it finds is a SPEC edge, and each state but ``submitted`` has an incoming one.
    """
    seen = {S.submitted}
    frontier = [S.submitted]
    edges: set[tuple[RequestState, Action, RequestState]] = set()
    while frontier:
        state = frontier.pop()
        for action in A:
            try:
                new = next_state(1, state, action)
            except StateError:
                continue
            edges.add((state, action, new))
            if new not in seen:
                seen.add(new)
                frontier.append(new)
    assert seen == set(S)
    assert edges == {(s, a, t) for (s, a), t in SPEC.items()}
    assert {t for _, _, t in edges} == set(S) - {S.submitted}


@given(st.lists(st.sampled_from(list(A)), max_size=25))
def test_random_action_sequences_follow_the_model(actions: list[Action]) -> None:
    """Model-based: apply random actions; the implementation and SPEC must agree at every step.

    An illegal action is refused and leaves the state unchanged; a request resolves once
    (approved and rejected never both happen), and nothing follows a final state.
    """
    state = S.submitted
    history = [state]
    for action in actions:
        expected = SPEC.get((state, action))
        if expected is None:
            with pytest.raises(StateError, match=f"is {state};"):
                next_state(99, state, action)
        else:
            state = next_state(99, state, action)
            assert state is expected
            history.append(state)
    assert not ({S.approved, S.rejected} <= set(history))
    for i, s in enumerate(history):
        if s in FINAL:
            assert i == len(history) - 1


# ---------------------------------------------------------------- approval checks

J = Justification(
    budget_for_quarter=300_000_00,
    annual_budget_expenditure=1_200_000_00,
    spent_to_date=250_000_00,
    balances_held=40_000_00,
    approved_this_year=600_000_00,
)


def approve(**overrides: object) -> list[str]:
    args: dict[str, object] = {
        "request_id": 7,
        "submitter": "wang.county",
        "approver": "li.bureau",
        "requested": 300_000_00,
        "approved": 250_000_00,
        "special_total": 5_000_000_00,
        "special_reserved": 1_000_000_00,
        "justification": J,
    }
    args.update(overrides)
    return check_approval(**args)  # type: ignore[arg-type]


def test_ordinary_approval_has_no_warnings() -> None:
    assert approve() == []


def test_approving_the_full_amount_is_fine() -> None:
    assert approve(approved=300_000_00) == []


@pytest.mark.parametrize("approver", ["wang.county", " WANG.county ", "Wang.County"])
def test_approver_cannot_be_submitter(approver: str) -> None:
    with pytest.raises(PermissionDenied, match="request 7") as e:
        approve(approver=approver)
    assert e.value.rule == "permission_denied"


def test_approver_must_be_named() -> None:
    with pytest.raises(BadInput, match="approver"):
        approve(approver="  ")


@pytest.mark.parametrize("amount", [0, -1, 300_000_01])
def test_approved_amount_must_be_positive_and_at_most_requested(amount: int) -> None:
    with pytest.raises(BadInput, match="request 7"):
        approve(approved=amount)


def test_self_approval_is_reported_before_a_bad_amount() -> None:
    with pytest.raises(PermissionDenied):
        approve(approver="wang.county", approved=0)


def test_special_account_must_have_it_available() -> None:
    """The account holds 5,000.00, 4,500.00 already reserved → 500.00 available; 500.01 refused."""
    with pytest.raises(RuleViolation) as e:
        approve(requested=1_000_00, approved=500_01, special_total=5_000_00, special_reserved=4_500_00)
    assert e.value.rule == "special_account_available"
    msg = str(e.value)
    assert "the special account holds 5,000.00, of which 4,500.00 is already reserved" in msg
    assert "500.01" in msg and "500.00 available" in msg
    # exactly what is available is fine
    assert (
        approve(requested=1_000_00, approved=500_00, special_total=5_000_00, special_reserved=4_500_00) == []
    )


def test_over_reserved_account_refuses_everything() -> None:
    with pytest.raises(RuleViolation, match=r"0\.00 available"):
        approve(approved=1, special_total=100, special_reserved=200)


def test_warning_when_approvals_pass_the_annual_budget() -> None:
    """600,000.00 approved already, annual budget 1,200,000.00.

    Approving 600,000.00 lands exactly on budget (no warning); 600,000.01 passes it.
    """
    assert approve(requested=700_000_00, approved=600_000_00) == []
    (warning,) = approve(requested=700_000_00, approved=600_000_01)
    assert "request 7" in warning
    assert "1,200,000.01" in warning and "1,200,000.00" in warning


@pytest.mark.parametrize(
    "field",
    ["budget_for_quarter", "annual_budget_expenditure", "spent_to_date", "approved_this_year"],
)
def test_justification_figures_cannot_be_negative(field: str) -> None:
    kwargs = {
        "budget_for_quarter": 0,
        "annual_budget_expenditure": 0,
        "spent_to_date": 0,
        "balances_held": 0,
        "approved_this_year": 0,
    }
    kwargs[field] = -1
    with pytest.raises(BadInput):
        Justification(**kwargs)


def test_balances_held_may_be_negative() -> None:
    assert Justification(0, 0, 0, -5, 0).balances_held == -5


@given(
    requested=st.integers(1, 10**12),
    approved=st.integers(-10, 10**12),
    total=st.integers(0, 10**12),
    reserved=st.integers(0, 10**12),
)
def test_approval_outcome_property(requested: int, approved: int, total: int, reserved: int) -> None:
    """Whatever the figures, an approval either raises the right error or fits every limit."""
    try:
        approve(requested=requested, approved=approved, special_total=total, special_reserved=reserved)
    except BadInput:
        assert approved <= 0 or approved > requested
    except RuleViolation:
        assert 0 < approved <= requested
        assert approved + reserved > total
    else:
        assert 0 < approved <= requested
        assert approved + reserved <= total


# ---------------------------------------------------------------- quarter


@pytest.mark.parametrize(("year", "quarter"), [(2000, 1), (2024, 4), (2100, 2)])
def test_quarter_ok(year: int, quarter: int) -> None:
    check_quarter(year, quarter)


@pytest.mark.parametrize(("year", "quarter"), [(2024, 0), (2024, 5), (1999, 1), (2101, 1), (2024, True)])
def test_quarter_refused(year: int, quarter: int) -> None:
    with pytest.raises(BadInput):
        check_quarter(year, quarter)
