"""缺口分担: a year's gap is met first by the unit's positive accumulated surplus, then by government."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.shortfall import ShortfallInput, ShortfallResult, apply_shortfall_rule, shortfall_table
from ledger.errors import BadInput
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield


def test_surplus_covers_part_government_the_rest() -> None:
    """S = 500, revenue 1,000, expenditure 1,800 → C = −800, G = 800.

    Covered by surplus 500, government 300, surplus after 0.
    """
    r = apply_shortfall_rule(ShortfallInput("A", "employee", 1_000, 1_800, 500))
    assert r == ShortfallResult(
        unit="A",
        book="employee",
        revenue=1_000,
        expenditure=1_800,
        current_balance=-800,
        surplus_before=500,
        covered_by_surplus=500,
        government_share=300,
        surplus_after=0,
        revenue_on_books=1_000,
        share_receipts=0,
        surplus_before_on_books=500,
        outstanding_before=0,
        outstanding_after=300,
        surplus_after_on_books=-300,
    )


def test_surplus_covers_all() -> None:
    """S = 1,000, G = 300 → covered 300, government 0, surplus after 700."""
    r = apply_shortfall_rule(ShortfallInput("A", "b", 2_000, 2_300, 1_000))
    assert (r.current_balance, r.covered_by_surplus, r.government_share, r.surplus_after) == (
        -300,
        300,
        0,
        700,
    )


def test_surplus_exactly_equal_to_gap() -> None:
    """S = 800, G = 800 → covered 800, government 0, surplus after 0."""
    r = apply_shortfall_rule(ShortfallInput("A", "b", 0, 800, 800))
    assert (r.covered_by_surplus, r.government_share, r.surplus_after) == (800, 0, 0)


def test_negative_surplus_covers_nothing_and_is_carried() -> None:
    """S = −200 (an old deficit), G = 500 → covered 0, government 500, surplus after −200.

    Only the positive part of S covers; the government pays this year's gap, not history.
    """
    r = apply_shortfall_rule(ShortfallInput("A", "b", 1_000, 1_500, -200))
    assert (r.covered_by_surplus, r.government_share, r.surplus_after) == (0, 500, -200)


def test_zero_surplus_government_pays_all() -> None:
    r = apply_shortfall_rule(ShortfallInput("A", "b", 0, 123_45, 0))
    assert (r.covered_by_surplus, r.government_share, r.surplus_after) == (0, 123_45, 0)


def test_year_in_surplus_adds_to_it() -> None:
    """Revenue 2,000, expenditure 1,500, S = 100 → C = 500, nothing to share, S after 600."""
    r = apply_shortfall_rule(ShortfallInput("A", "b", 2_000, 1_500, 100))
    assert (r.current_balance, r.covered_by_surplus, r.government_share, r.surplus_after) == (500, 0, 0, 600)


def test_balanced_year_on_old_deficit() -> None:
    """C = 0 and S = −50: nothing to share (a zero gap), the old deficit stays."""
    r = apply_shortfall_rule(ShortfallInput("A", "b", 700, 700, -50))
    assert (r.current_balance, r.covered_by_surplus, r.government_share, r.surplus_after) == (0, 0, 0, -50)


@pytest.mark.parametrize(
    ("revenue", "expenditure", "surplus"),
    [(1.0, 0, 0), (0, True, 0), (0, 0, 0.5), ("1", 0, 0)],
)
def test_bad_figures_refused(revenue: object, expenditure: object, surplus: object) -> None:
    with pytest.raises(BadInput):
        ShortfallInput("A", "b", revenue, expenditure, surplus)  # type: ignore[arg-type]


def test_negative_year_figures_are_the_year_s_corrections() -> None:
    """ATTACK15 A9: last year's collection refunded this year (revenue −1,000) with no other
    revenue: C = −1,000 is a gap like any other — the surplus covers first, the government the rest."""
    r = apply_shortfall_rule(ShortfallInput("A", "b", -1000, 0, 400))
    assert (r.current_balance, r.covered_by_surplus, r.government_share, r.surplus_after) == (-1000, 400, 600, 0)
    r = apply_shortfall_rule(ShortfallInput("A", "b", 500, -200, 0))   # a claim paid back: expenditure −200
    assert (r.current_balance, r.government_share, r.surplus_after) == (700, 0, 700)


def test_table_sorted_and_duplicates_refused() -> None:
    rows = shortfall_table(
        [
            ShortfallInput("B", "x", 1, 0, 0),
            ShortfallInput("A", "y", 1, 0, 0),
            ShortfallInput("A", "x", 1, 0, 0),
        ]
    )
    assert [(r.unit, r.book) for r in rows] == [("A", "x"), ("A", "y"), ("B", "x")]
    with pytest.raises(BadInput, match="more than once"):
        shortfall_table([ShortfallInput("A", "x", 1, 0, 0), ShortfallInput("A", "x", 2, 0, 0)])


money = st.integers(min_value=0, max_value=10**14)


@given(money, money, st.integers(min_value=-(10**14), max_value=10**14))
def test_shortfall_properties(revenue: int, expenditure: int, surplus: int) -> None:
    r = apply_shortfall_rule(ShortfallInput("A", "b", revenue, expenditure, surplus))
    gap = max(expenditure - revenue, 0)
    assert r.current_balance == revenue - expenditure
    assert r.covered_by_surplus + r.government_share == gap
    assert 0 <= r.covered_by_surplus <= max(surplus, 0)
    assert r.government_share >= 0
    # government pays only what the surplus could not
    if r.government_share > 0:
        assert r.covered_by_surplus == max(surplus, 0)
    # The end surplus, case by case as the policy describes it (not the implementation's formula):
    if revenue >= expenditure:
        expected_after = surplus + (revenue - expenditure)
    elif surplus >= gap:
        expected_after = surplus - gap
    elif surplus >= 0:
        expected_after = 0
    else:
        expected_after = surplus
    assert r.surplus_after == expected_after


def test_across_years_worked_example() -> None:
    """BRIEF §5: S0 1,000; 2023 R 6,000 E 7,200 → C −1,200, covered 1,000, government 200,
    S after 0 (on the books −200, owed 200). 200 paid 2024-01-20 (books: 2024 revenue
    6,200); 2024 R 6,000 E 7,800 → C −1,800, S before 0, covered 0, government 1,800,
    S after 0 (on the books −1,800, owed 1,800)."""
    y1 = apply_shortfall_rule(ShortfallInput("A", "RES", 6_000, 7_200, 1_000))
    assert (y1.current_balance, y1.covered_by_surplus, y1.government_share, y1.surplus_after,
            y1.outstanding_after, y1.surplus_after_on_books) == (-1_200, 1_000, 200, 0, 200, -200)
    y2 = apply_shortfall_rule(ShortfallInput("A", "RES", 6_200 - 200, 7_800, y1.surplus_after,
                                             share_receipts=200, outstanding_before=y1.outstanding_after))
    assert (y2.revenue_on_books, y2.current_balance, y2.surplus_before, y2.surplus_before_on_books) == (
        6_200, -1_800, 0, -200)
    assert (y2.covered_by_surplus, y2.government_share, y2.surplus_after, y2.outstanding_after,
            y2.surplus_after_on_books) == (0, 1_800, 0, 1_800, -1_800)


def test_receipts_beyond_what_was_owed_refused() -> None:
    with pytest.raises(BadInput, match="exceed"):
        ShortfallInput("A", "b", 0, 0, 0, share_receipts=5, outstanding_before=4)
