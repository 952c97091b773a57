"""可支付月数 = surplus ÷ (last 12 months' expenditure ÷ 12), its colour and warnings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.core.monitor import (
    Colour,
    Thresholds,
    Warning,
    WarningCode,
    colour,
    exit_code_for,
    months_payable,
    warnings_for,
)
from ledger.errors import BadInput
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

T = Thresholds()

# ---------------------------------------------------------------- months payable


@pytest.mark.parametrize(
    ("surplus", "spent", "months"),
    [
        (300_000_00, 1_200_000_00, "3.00"),  # 1.2m a year = 100k a month; 300k lasts 3 months
        (1_000_000_00, 1_200_000_00, "10.00"),
        (100_00, 1_200_000_00, "0.00"),  # 0.001 months
        (-300_000_00, 1_200_000_00, "-3.00"),  # a deficit: negative months
        (1, 3, "4.00"),  # 1 fen vs 0.25 fen a month
        (1, 7, "1.71"),  # 12/7 = 1.714285…
        (2, 3, "8.00"),
        (10, 7, "17.14"),  # 120/7 = 17.142857…
    ],
)
def test_months_payable_worked_examples(surplus: int, spent: int, months: str) -> None:
    result = months_payable(surplus, spent)
    assert result == Decimal(months)
    assert str(result) == months  # always printed with two places


@pytest.mark.parametrize(
    ("surplus", "spent", "months"),
    [
        (1, 2400, "0.00"),  # 12/2400 = 0.005 → half to even → 0.00
        (3, 2400, "0.02"),  # 0.015 → 0.02
        (5, 2400, "0.02"),  # 0.025 → 0.02 (half-up would give 0.03)
        (7, 2400, "0.04"),  # 0.035 → 0.04
        (-5, 2400, "-0.02"),  # −0.025 → −0.02
        (-3, 2400, "-0.02"),  # −0.015 → −0.02
    ],
)
def test_months_payable_rounds_half_even(surplus: int, spent: int, months: str) -> None:
    assert str(months_payable(surplus, spent)) == months


def test_no_spending_gives_none() -> None:
    assert months_payable(100, 0) is None
    assert months_payable(100, -5) is None


def test_months_payable_refuses_floats() -> None:
    with pytest.raises(BadInput):
        months_payable(100.0, 1200)  # type: ignore[arg-type]


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**13))
@example(531650, 1984)   # exactly 3215.625: a tie, which half-even rounds down
def test_months_payable_matches_high_precision_decimal(surplus: int, spent: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 120
        # surplus × 12 ÷ spent, not surplus ÷ (spent ÷ 12): spent ÷ 12 rarely terminates,
        # and rounding it first turned exact ties into not-quite-ties.
        exact = Decimal(surplus) * 12 / Decimal(spent)
        expected = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    assert months_payable(surplus, spent) == expected


# ---------------------------------------------------------------- colour


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        ("-3.00", Colour.red),
        ("0.00", Colour.red),
        ("2.99", Colour.red),
        ("3.00", Colour.yellow),
        ("5.99", Colour.yellow),
        ("6.00", Colour.green),
        ("15.00", Colour.green),
        ("15.01", Colour.excess),
        ("120.00", Colour.excess),
    ],
)
def test_colour_boundaries(months: str, expected: Colour) -> None:
    assert colour(Decimal(months), T) is expected


def test_boundary_decided_after_rounding() -> None:
    """15.004 months rounds to 15.00, which is green; 2.995 rounds (half-even) to 3.00, yellow."""
    # 15.004… : surplus 1_250_34, spending 1_000_00 → 1_250_34 × 12 / 1_000_00 = 15.00408
    m = months_payable(1_250_34, 1_000_00)
    assert m == Decimal("15.00")
    assert colour(m, T) is Colour.green
    # 2.995 exactly: surplus 2_995, spending 12_000 → 2.995 → half-even → 3.00
    m = months_payable(2_995, 12_000)
    assert m == Decimal("3.00")
    assert colour(m, T) is Colour.yellow


def test_no_spending_colour_depends_on_surplus() -> None:
    assert colour(None, T, surplus_fen=1) is Colour.excess
    assert colour(None, T, surplus_fen=0) is Colour.red
    assert colour(None, T, surplus_fen=-1) is Colour.red
    with pytest.raises(BadInput, match="surplus"):
        colour(None, T)


def test_custom_thresholds() -> None:
    t = Thresholds(red_below=Decimal("2"), yellow_below=Decimal("4"), excess_above=Decimal("12"))
    assert colour(Decimal("2.50"), t) is Colour.yellow
    assert colour(Decimal("4.00"), t) is Colour.green
    assert colour(Decimal("12.01"), t) is Colour.excess


@pytest.mark.parametrize(
    ("red", "yellow", "excess"),
    [
        ("6", "3", "15"),
        ("3", "3", "15"),
        ("3", "15", "15"),
        ("0", "6", "15"),
        ("-1", "6", "15"),
        ("3", "NaN", "15"),
    ],
)
def test_thresholds_must_rise(red: str, yellow: str, excess: str) -> None:
    with pytest.raises(BadInput, match="threshold"):
        Thresholds(Decimal(red), Decimal(yellow), Decimal(excess))


def test_thresholds_refuse_floats() -> None:
    with pytest.raises(BadInput):
        Thresholds(red_below=3.0)  # type: ignore[arg-type]


months_values = st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False, allow_infinity=False)
ORDER = [Colour.red, Colour.yellow, Colour.green, Colour.excess]


@given(months_values, months_values)
def test_colour_is_monotonic_in_months(a: Decimal, b: Decimal) -> None:
    lo, hi = sorted([a, b])
    assert ORDER.index(colour(lo, T)) <= ORDER.index(colour(hi, T))


# ---------------------------------------------------------------- warnings and exit code


def codes(ws: list[Warning]) -> list[str]:
    return [w.code for w in ws]


def test_healthy_unit_has_no_warnings() -> None:
    assert warnings_for("230803", "employee", Decimal("8.00"), Colour.green, 0, 0, 0) == []
    assert warnings_for("230803", "employee", Decimal("4.00"), Colour.yellow, 5, 100, None) == []


def test_every_warning_at_once() -> None:
    ws = warnings_for("230803", "resident", Decimal("1.50"), Colour.red, -1_234_56, -50_000_00, -7_000_00)
    assert codes(ws) == ["red", "negative_share", "running_deficit", "planned_deficit"]
    assert all(w.unit == "230803" and w.book == "resident" for w in ws)
    for w in ws:
        assert "230803" in w.message and "resident" in w.message
    red, share, running, planned = (w.message for w in ws)
    assert "1.50 months" in red
    assert "-1,234.56" in share
    assert "50,000.00" in running
    assert "7,000.00" in planned


def test_excess_warning() -> None:
    ws = warnings_for("230881", "employee", Decimal("20.00"), Colour.excess, 0, 0, None)
    assert codes(ws) == [WarningCode.excess]
    assert "20.00 months" in ws[0].message and "excess" in ws[0].message


def test_red_without_spending_says_so() -> None:
    (w,) = warnings_for("230881", "employee", None, Colour.red, 0, 0, None)
    assert w.code == "red"
    assert "no expenditure" in w.message


def test_zero_amounts_are_not_findings() -> None:
    """Exactly zero share, zero result to date and a balanced budget are all fine."""
    assert warnings_for("A", "b", Decimal("6.00"), Colour.green, 0, 0, 0) == []
    assert codes(warnings_for("A", "b", Decimal("6.00"), Colour.green, -1, -1, -1)) == [
        "negative_share",
        "running_deficit",
        "planned_deficit",
    ]


def test_exit_code() -> None:
    assert exit_code_for([]) == 0
    assert exit_code_for([Colour.green, Colour.yellow, Colour.excess]) == 0
    assert exit_code_for([Colour.green, Colour.red]) == 3
    assert exit_code_for(iter([Colour.red])) == 3


def test_the_last_12_months_at_a_month_end_are_twelve_whole_months():
    """``year_before``: a month end maps to the month end a year before, so the window on
    28 February after a leap year starts on 1 March (not on 29 February); other days map
    to the same day (29 February to 28 February)."""
    from ledger.core.monitor import year_before

    d = dt.date
    assert year_before(d(2025, 2, 28)) == d(2024, 2, 29)
    assert year_before(d(2024, 2, 29)) == d(2023, 2, 28)
    assert year_before(d(2024, 2, 28)) == d(2023, 2, 28)
    assert year_before(d(2025, 6, 30)) == d(2024, 6, 30) and year_before(d(2025, 6, 15)) == d(2024, 6, 15)
