"""The adjustment fund (调剂金) in the shortfall rule (ledger/core/shortfall.py) and the
region's [adjustment_fund] table (ledger/core/adjustment.py), figures worked by hand."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from ledger.core.adjustment import adjustment_fund_json, parse_adjustment_fund
from ledger.core.shortfall import ShortfallInput, apply_shortfall_rule
from ledger.errors import BadInput
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

UNITS = {"230822", "230881"}


def test_two_years_with_the_fund_in_the_order_and_a_late_allocation() -> None:
    """In fen. S0 300. 2023: rule R 6,000 (books 6,400: 400 allocated for 2023 set aside),
    E 7,200 → C −1,200; covered by S 300; by the fund min(900, 400) = 400; government 500;
    S after 300 − 1,200 + 400 + 500 = 0. In 2024 a late allocation of 300 and the
    government's 200 settle 2023 (share receipts 500); R 6,000, E 6,500 → C −500;
    S before 0 (books −500, owed 500); government 500; S after 0; owed after 500."""
    y23 = apply_shortfall_rule(ShortfallInput("X", "RES", 6000, 7200, 300, adjustment_receipts=400))
    assert (y23.revenue_on_books, y23.current_balance, y23.covered_by_surplus, y23.covered_by_adjustment_fund,
            y23.government_share, y23.surplus_after, y23.surplus_after_on_books) == (6400, -1200, 300, 400, 500, 0, -500)
    y24 = apply_shortfall_rule(ShortfallInput("X", "RES", 6000, 6500, 0, share_receipts=500, outstanding_before=500))
    assert (y24.revenue_on_books, y24.current_balance, y24.surplus_before_on_books, y24.government_share,
            y24.surplus_after, y24.outstanding_after) == (6500, -500, -500, 500, 0, 500)


def test_an_allocation_the_gap_did_not_need_stays_in_the_fund() -> None:
    """S 1,500 covers the whole 1,200 gap; the 400 received stays: S after 1,500 − 1,200 + 400."""
    r = apply_shortfall_rule(ShortfallInput("X", "RES", 6000, 7200, 1500, adjustment_receipts=400))
    assert (r.covered_by_adjustment_fund, r.government_share, r.surplus_after) == (0, 0, 700)


def test_the_region_table() -> None:
    a = parse_adjustment_fund({"in_order": True, "remit_rate": "0.02", "allocation_rule": "fixed",
                               "shares": {"230822": 3, "230881": 1}}, UNITS)
    assert (a.in_order, a.remit_rate, a.allocation_rule, dict(a.shares)) == (True, Decimal("0.02"), "fixed",
                                                                              {"230822": 3, "230881": 1})
    assert adjustment_fund_json(parse_adjustment_fund({"remit_amount": "500"}, UNITS))["remit_amount"] == 50000
    assert parse_adjustment_fund(None, UNITS).in_order is False


@pytest.mark.parametrize(("doc", "words"), [
    ({"in_order": "yes"}, "'in_order'"),
    ({"remit_rate": "2"}, "'remit_rate'"),
    ({"remit_rate": "0.02", "remit_amount": "1"}, "not both"),
    ({"allocation_rule": "equal"}, "'allocation_rule'"),
    ({"allocation_rule": "fixed"}, "needs [adjustment_fund.shares]"),
    ({"shares": {"999999": 1}}, "unknown unit '999999'"),
    ({"remit": "0.02"}, "unknown key 'remit'"),
])
def test_a_bad_table_is_refused_naming_the_field(doc: dict, words: str) -> None:
    with pytest.raises(BadInput) as e:
        parse_adjustment_fund(doc, UNITS, "city.toml")
    assert e.value.message.startswith("city.toml: adjustment_fund") and words in e.value.message
