"""专户利息 shared by average daily balance, largest-remainder method, to the fen."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.interest import allocate_interest, daily_balance_weights
from ledger.errors import BadInput
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

# ---------------------------------------------------------------- allocate_interest


def test_exact_proportions() -> None:
    """1,000 fen by 2:3:5 → 200, 300, 500 (no remainder)."""
    assert allocate_interest(1_000, {"C": 5, "A": 2, "B": 3}) == {"A": 200, "B": 300, "C": 500}


def test_largest_remainder_gets_the_leftover() -> None:
    """7 fen by x=5, y=3, z=2 → exact 3.5, 2.1, 1.4 → floors 3, 2, 1; 1 left → x."""
    assert allocate_interest(7, {"x": 5, "y": 3, "z": 2}) == {"x": 4, "y": 2, "z": 1}


def test_leftover_follows_the_remainders_not_the_weights() -> None:
    # 11 fen by 3:3:4 → 3.3, 3.3, 4.4 → floors 3, 3, 4 (10); 1 left → c (0.4 beats 0.3)
    assert allocate_interest(11, {"a": 3, "b": 3, "c": 4}) == {"a": 3, "b": 3, "c": 5}
    # 12 fen by 1:1:1:7 → 1.2, 1.2, 1.2, 8.4 → floors 1,1,1,8 (11); 1 left → d (0.4 beats 0.2)
    assert allocate_interest(12, {"a": 1, "b": 1, "c": 1, "d": 7}) == {"a": 1, "b": 1, "c": 1, "d": 9}


def test_ties_broken_by_unit_code() -> None:
    """100 fen three ways → 33.33 each; the one spare fen goes to the lowest code."""
    assert allocate_interest(100, {"230882": 1, "230881": 1, "230883": 1}) == {
        "230881": 34,
        "230882": 33,
        "230883": 33,
    }
    # 2 fen three ways → 0.67 each; two spare fen to the two lowest codes
    assert allocate_interest(2, {"c": 9, "b": 9, "a": 9}) == {"a": 1, "b": 1, "c": 0}
    # the whole code compares, not its last character: "A2" < "B1"
    assert allocate_interest(1, {"B1": 4, "A2": 4}) == {"A2": 1, "B1": 0}


def test_non_positive_weights_earn_nothing() -> None:
    """A unit that drew on the pool (negative 积数) or held nothing gets 0; C takes it all."""
    assert allocate_interest(100, {"A": -50, "B": 0, "C": 10}) == {"A": 0, "B": 0, "C": 100}


def test_zero_interest() -> None:
    assert allocate_interest(0, {"A": 1, "B": 2}) == {"A": 0, "B": 0}


def test_refusals() -> None:
    with pytest.raises(BadInput, match="negative"):
        allocate_interest(-1, {"A": 1})
    with pytest.raises(BadInput, match="no unit held a positive balance"):
        allocate_interest(100, {"A": 0, "B": -3})
    with pytest.raises(BadInput, match="no unit held a positive balance"):
        allocate_interest(100, {})
    with pytest.raises(BadInput):
        allocate_interest(100.0, {"A": 1})  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        allocate_interest(100, {"A": 1.5})  # type: ignore[dict-item]


weights_st = st.dictionaries(
    st.text(alphabet="0123456789AB", min_size=1, max_size=6),
    st.integers(min_value=-(10**12), max_value=10**15),
    min_size=1,
    max_size=12,
).filter(lambda w: any(v > 0 for v in w.values()))


@given(st.integers(min_value=0, max_value=10**12), weights_st, st.randoms(use_true_random=False))
def test_allocation_properties(total: int, weights: dict[str, int], rnd: random.Random) -> None:
    shares = allocate_interest(total, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == total
    positive_sum = sum(w for w in weights.values() if w > 0)
    for unit, share in shares.items():
        assert share >= 0
        w = weights[unit]
        exact = Fraction(total * w, positive_sum) if w > 0 else Fraction(0)
        assert abs(share - exact) < 1
    # deterministic and independent of the mapping's order
    items = list(weights.items())
    rnd.shuffle(items)
    again = allocate_interest(total, dict(items))
    assert again == shares
    assert list(again) == list(shares)


@given(st.integers(min_value=0, max_value=10**9), weights_st)
def test_more_weight_never_means_less_interest(total: int, weights: dict[str, int]) -> None:
    """Hamilton is order-preserving: a unit with a larger weight never gets a smaller share."""
    shares = allocate_interest(total, weights)
    for lo in weights:
        for hi in weights:
            if weights[lo] < weights[hi]:
                assert shares[lo] <= shares[hi]


# ---------------------------------------------------------------- daily_balance_weights

D = date(2024, 1, 1)


def test_daily_weights_worked_example() -> None:
    """Period 1–10 January (10 days).

    A opens at 100 and receives 50 on the 6th: 5 days at 100 + 5 days at 150 = 1,250.
    B opens at 200 and pays out 200 on the 10th: 9 days at 200 + 1 day at 0 = 1,800.
    C has nothing at the start, 30 arrives on 1 January: 10 days at 30 = 300.
    """
    w = daily_balance_weights(
        {"A": 100, "B": 200},
        [(date(2024, 1, 6), "A", 50), (date(2024, 1, 10), "B", -200), (date(2024, 1, 1), "C", 30)],
        date(2024, 1, 1),
        date(2024, 1, 10),
    )
    assert w == {"A": 1_250, "B": 1_800, "C": 300}


def test_movements_outside_the_period() -> None:
    """A movement before the start folds into the opening; after the end it is ignored.

    3-day period; A opens 10, +5 the day before start, +1,000 the day after end → 15 × 3 = 45.
    """
    w = daily_balance_weights(
        {"A": 10},
        [(date(2024, 1, 31), "A", 5), (date(2024, 2, 4), "A", 1_000), (date(2024, 2, 4), "Z", 7)],
        date(2024, 2, 1),
        date(2024, 2, 3),
    )
    assert w == {"A": 45, "Z": 0}


def test_one_day_period_and_last_day_movement() -> None:
    assert daily_balance_weights({"A": 7}, [(D, "A", 3)], D, D) == {"A": 10}


def test_daily_weights_refusals() -> None:
    with pytest.raises(BadInput, match="before it starts"):
        daily_balance_weights({}, [], date(2024, 2, 1), date(2024, 1, 31))
    with pytest.raises(BadInput):
        daily_balance_weights({"A": 1.5}, [], D, D)  # type: ignore[dict-item]
    with pytest.raises(BadInput):
        daily_balance_weights({}, [(datetime(2024, 1, 1, 9), "A", 1)], D, D)
    with pytest.raises(BadInput):
        daily_balance_weights({}, [], datetime(2024, 1, 1), D)


movement_st = st.tuples(
    st.dates(min_value=date(2023, 12, 1), max_value=date(2024, 3, 1)),
    st.sampled_from(["A", "B", "C"]),
    st.integers(min_value=-(10**9), max_value=10**9),
)


@given(
    st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(-(10**9), 10**9)),
    st.lists(movement_st, max_size=30),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 1, 31)),
    st.integers(min_value=0, max_value=40),
)
def test_daily_weights_match_a_day_by_day_walk(
    opening: dict[str, int], movements: list[tuple[date, str, int]], start: date, length: int
) -> None:
    """Oracle: walk every day, apply that day's movements, add each end-of-day balance."""
    end = start + timedelta(days=length)
    balance = dict(opening)
    for day, unit, amount in movements:
        if day < start:
            balance[unit] = balance.get(unit, 0) + amount
    totals = dict.fromkeys({*opening, *(u for _, u, _ in movements)}, 0)
    day = start
    while day <= end:
        for d, unit, amount in movements:
            if d == day:
                balance[unit] = balance.get(unit, 0) + amount
        for unit in totals:
            totals[unit] += balance.get(unit, 0)
        day += timedelta(days=1)
    result = daily_balance_weights(opening, movements, start, end)
    assert result == totals
    assert list(result) == sorted(totals)
