"""预拨: target = months × monthly basis; amount = max(0, target − held). Figures in fen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.preallocation import (
    PreallocationInput,
    PreallocationLine,
    monthly_basis_from_budget,
    monthly_basis_from_prior_year,
    preallocate,
)
from ledger.errors import BadInput
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

# ---------------------------------------------------------------- monthly basis


@pytest.mark.parametrize(
    ("annual", "monthly"),
    [
        (1_200_000_00, 100_000_00),  # 1,200,000.00 a year → 100,000.00 a month exactly
        (100_006, 8_334),  # 1,000.06 / 12 = 83.338… → 83.34
        (13, 1),  # 0.13 / 12 = 0.0108… → 0.01
        (5, 0),  # 0.05 / 12 = 0.0041… → 0.00
        (6, 1),  # exactly half a fen → up
        (18, 2),  # 1.5 fen → 2
        (30, 3),  # 2.5 fen → 3 (half-up; banker's rounding would give 2)
        (0, 0),
    ],
)
def test_basis_from_budget_rounds_half_up(annual: int, monthly: int) -> None:
    assert monthly_basis_from_budget(annual) == monthly


def test_basis_from_prior_year_is_the_average_month() -> None:
    """Last year 960,000.00 over 12 months → 80,000.00; over 8 months → 120,000.00."""
    assert monthly_basis_from_prior_year(960_000_00) == 80_000_00
    assert monthly_basis_from_prior_year(960_000_00, months=8) == 120_000_00
    # 1.00 over 8 months = 12.5 fen → 13 (half-up)
    assert monthly_basis_from_prior_year(100, months=8) == 13


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100"])
def test_basis_refuses_negative_or_non_integer_money(bad: object) -> None:
    with pytest.raises(BadInput):
        monthly_basis_from_budget(bad)  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        monthly_basis_from_prior_year(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("months", [0, 13, -1])
def test_prior_year_months_must_be_a_month_count(months: int) -> None:
    with pytest.raises(BadInput, match="1 to 12"):
        monthly_basis_from_prior_year(1000, months=months)


@given(st.integers(min_value=0, max_value=10**15))
def test_basis_is_within_half_a_fen_of_the_exact_twelfth(annual: int) -> None:
    basis = monthly_basis_from_budget(annual)
    # |basis − annual/12| ≤ 1/2, in integers; and exact halves go up: 12·basis − annual ∈ (−6, 6]
    assert -6 < 12 * basis - annual <= 6


# ---------------------------------------------------------------- preallocate


def test_worked_example_three_counties() -> None:
    """Basis 100,000.00/month, 3 months → target 300,000.00.

    * A holds 120,000.00 → gets 180,000.00
    * B holds 350,000.00 → already above target, gets 0
    * C holds −5,000.00 (overdrawn) → gets 305,000.00
    """
    inputs = [
        PreallocationInput("C", "resident", "", 100_000_00, -5_000_00),
        PreallocationInput("A", "employee", "pooled", 100_000_00, 120_000_00),
        PreallocationInput("B", "employee", "pooled", 100_000_00, 350_000_00),
    ]
    lines = preallocate(inputs)
    assert [(line.unit, line.target, line.amount) for line in lines] == [
        ("A", 300_000_00, 180_000_00),
        ("B", 300_000_00, 0),
        ("C", 300_000_00, 305_000_00),
    ]
    assert lines[0] == PreallocationLine(
        unit="A",
        book="employee",
        component="pooled",
        monthly_basis=100_000_00,
        months=3,
        target=300_000_00,
        held=120_000_00,
        amount=180_000_00,
    )


def test_holding_exactly_the_target_needs_nothing() -> None:
    (line,) = preallocate([PreallocationInput("A", "b", "", 1_000, 3_000)])
    assert line.amount == 0
    (line,) = preallocate([PreallocationInput("A", "b", "", 1_000, 2_999)])
    assert line.amount == 1


def test_months_is_a_setting() -> None:
    """Basis 1,000.00 over 6 months → target 6,000.00; holding 1,000.00 → 5,000.00."""
    (line,) = preallocate([PreallocationInput("A", "b", "", 1_000_00, 1_000_00)], months=6)
    assert (line.months, line.target, line.amount) == (6, 6_000_00, 5_000_00)


@pytest.mark.parametrize("months", [0, 13, -3, True])
def test_months_outside_1_to_12_refused(months: int) -> None:
    with pytest.raises(BadInput, match="months"):
        preallocate([PreallocationInput("A", "b", "", 1, 0)], months=months)


def test_sorted_by_unit_book_component() -> None:
    inputs = [
        PreallocationInput("B", "a", "x", 1, 0),
        PreallocationInput("A", "b", "x", 1, 0),
        PreallocationInput("A", "a", "y", 1, 0),
        PreallocationInput("A", "a", "x", 1, 0),
    ]
    keys = [(line.unit, line.book, line.component) for line in preallocate(inputs)]
    assert keys == [("A", "a", "x"), ("A", "a", "y"), ("A", "b", "x"), ("B", "a", "x")]


def test_same_account_twice_refused() -> None:
    with pytest.raises(BadInput, match="more than once"):
        preallocate([PreallocationInput("A", "b", "c", 1, 0), PreallocationInput("A", "b", "c", 2, 0)])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"monthly_basis": -1},
        {"monthly_basis": 1.0},
        {"held": 0.5},
        {"unit": ""},
        {"book": "  "},
    ],
)
def test_input_validation(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"unit": "A", "book": "b", "component": "", "monthly_basis": 1, "held": 0}
    base.update(kwargs)
    with pytest.raises(BadInput):
        PreallocationInput(**base)  # type: ignore[arg-type]


def test_empty_input_gives_empty_plan() -> None:
    assert preallocate([]) == []


accounts = st.builds(
    PreallocationInput,
    unit=st.sampled_from(["A", "B", "C", "D"]),
    book=st.sampled_from(["employee", "resident"]),
    component=st.sampled_from(["", "pooled"]),
    monthly_basis=st.integers(min_value=0, max_value=10**12),
    held=st.integers(min_value=-(10**13), max_value=10**13),
)


@given(st.lists(accounts, unique_by=lambda i: (i.unit, i.book, i.component)), st.integers(1, 12))
def test_amount_never_negative_and_reaches_target(inputs: list[PreallocationInput], months: int) -> None:
    lines = preallocate(inputs, months)
    assert len(lines) == len(inputs)
    for line in lines:
        assert line.amount >= 0
        assert line.held + line.amount >= line.target
        # a top-up is never more than needed: either nothing was needed, or it lands exactly on target
        assert line.amount == 0 or line.held + line.amount == line.target
        assert line.target == sum([line.monthly_basis] * months)
    keys = [(line.unit, line.book, line.component) for line in lines]
    assert keys == sorted(keys)


# ---- (ATTACK21 N10) the months a basis covers ------------------------------------------------------

def test_months_in_year_counts_the_first_month_whole() -> None:
    import datetime as dt

    from ledger.core.preallocation import months_in_year

    assert months_in_year(None, 2023) == 12
    assert months_in_year(dt.date(2021, 1, 1), 2023) == 12
    assert months_in_year(dt.date(2023, 1, 1), 2023) == 12
    assert months_in_year(dt.date(2023, 4, 20), 2023) == 9          # joined in April: 9
    assert months_in_year(dt.date(2023, 7, 1), 2023) == 6
    assert months_in_year(dt.date(2023, 12, 31), 2023) == 1
    assert months_in_year(dt.date(2024, 3, 1), 2023) == 12          # not in the year: nothing spent, ÷ 12


@given(total=st.integers(min_value=0, max_value=10**13), first=st.integers(min_value=1, max_value=12),
       months=st.integers(min_value=1, max_value=12))
def test_a_basis_within_the_cap_never_passes_the_databases_cap(total: int, first: int, months: int) -> None:
    """fl.preallocate's cap: at most twelve months of the total ÷ 12 (half-up); ``months`` of the basis
    never pass it, and a full year's basis is never lowered."""
    import datetime as dt

    from ledger.core.preallocation import months_in_year, within_cap

    span = months_in_year(dt.date(2023, first, 1), 2023)
    basis = within_cap(monthly_basis_from_prior_year(total, span), total, months)
    cap = 12 * ((2 * total + 12) // 24)
    assert months * basis <= max(cap, 0)
    if span == 12:
        assert basis == monthly_basis_from_prior_year(total)
