"""Money is exact integer fen: parsing refuses anything ambiguous, formatting round-trips."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.money import Money, decimal_text, format_yuan, parse_fen
from ledger.errors import BadAmount
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

FEN = st.integers(min_value=0, max_value=10**17)


@pytest.mark.parametrize(("text", "fen"), [
    ("1,234.56", 123456), ("1234.56", 123456), ("0.5", 50), ("0.05", 5), ("12", 1200), ("0", 0),
    ("1,000,000", 100000000), ("  7.10 ", 710), ("999,999,999.99", 99999999999),
])
def test_parses_exactly(text, fen):
    assert parse_fen(text) == fen


@pytest.mark.parametrize("text", [
    "12.345", "1e3", "1E3", "NaN", "nan", "inf", "-5", "１２", "", "   ", "1,23.00", "1,2345.00", "01", "+5",
    "1.", ".5", "1 000", "¥12", "12元", "0x10", "1_000", "٣", "12.3.4", "--1",
])
def test_refuses_anything_ambiguous(text):
    with pytest.raises(BadAmount):
        parse_fen(text)


def test_negative_only_when_allowed():
    assert parse_fen("-5", allow_negative=True) == -500
    with pytest.raises(BadAmount, match="zero"):
        parse_fen("0.00", allow_zero=False)


def test_money_is_never_built_from_a_float():
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_yuan(1.5)  # type: ignore[arg-type]
    assert Money(150) + Money(25) == Money(175)
    assert str(Money(-123456)) == "-1,234.56"
    assert Money(5).json == "0.05"


@given(FEN)
def test_format_then_parse_round_trips(fen):
    assert parse_fen(format_yuan(fen)) == fen
    assert parse_fen(decimal_text(fen)) == fen


@given(st.integers(min_value=-10**17, max_value=10**17))
def test_signed_round_trip(fen):
    assert parse_fen(format_yuan(fen), allow_negative=True) == fen


GRAMMAR = re.compile(r"^-?(0|[1-9][0-9]*|[1-9][0-9]{0,2}(,[0-9]{3})+)(\.[0-9]{1,2})?$")


@given(st.text(alphabet="0123456789,.-eE+ １", max_size=14))
def test_parser_agrees_with_the_documented_grammar(text):
    """An independent oracle: the grammar from docs, checked against the parser."""
    expected = GRAMMAR.match(text.strip()) is not None
    try:
        parse_fen(text, allow_negative=True)
        accepted = True
    except BadAmount:
        accepted = False
    assert accepted == expected
