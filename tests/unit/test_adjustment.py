"""The adjustment fund in the shortfall order (ledger/core/adjustment.py), figures by hand.

Only the pure rule: the postings and the close that will call it are issue 22's part 2,
not built yet (NOTE-h22.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.core.adjustment import apply_order, remittance, settle_late, share_allocation
from ledger.core.shortfall import ShortfallInput
from ledger.errors import BadInput


def test_two_years_with_the_fund_in_the_order_and_a_late_allocation() -> None:
    """Unit X, RES, in fen (1 = 1 fen; the rule is linear, so yuan read the same).

    S0 300. 2023: the rule's revenue 6,000 (on the books 6,400: the 400 allocated for 2023
    and received in 2023 is set aside), E 7,200 (remittance 5301 included) → C −1,200;
    G 1,200; covered by surplus min(1,200, 300) = 300; by the fund min(900, 400) = 400;
    government 900 − 400 = 500; S after 300 − 1,200 + 400 + 500 = 0.

    2024-02-10: 300 more allocated for 2023 arrives: it pays 300 of 2023's 500 in the
    government's place (owed 200); the government pays those 200 on 2024-03-01. Both are
    2024 revenue on the books (4401, 4101.shortfall) and settle 2023: share receipts 500.
    2024: books R 6,000 + 300 + 200 = 6,500, rule R 6,000, E 6,500 → C −500 (not 0);
    S before 0 (on the books 300 + 6,400 − 7,200 = −500, owed 500); covered 0, fund 0
    (nothing allocated for 2024), government 500; S after 0; owed at the end 500 − 500 +
    500 = 500.
    """
    y23 = apply_order(ShortfallInput("X", "RES", 6000, 7200, 300), 400, in_order=True)
    assert (y23.base.current_balance, y23.base.covered_by_surplus, y23.covered_by_adjustment_fund,
            y23.government_share, y23.surplus_after) == (-1200, 300, 400, 500, 0)
    owed = settle_late(y23.government_share, 300)
    assert owed == 200
    y24 = apply_order(ShortfallInput("X", "RES", 6000, 6500, 0, share_receipts=300 + owed, outstanding_before=500),
                      0, in_order=True)
    assert (y24.base.revenue_on_books, y24.base.current_balance, y24.base.surplus_before_on_books,
            y24.government_share, y24.surplus_after, y24.base.outstanding_after) == (6500, -500, -500, 500, 0, 500)


def test_the_order_off_is_jiamusis_rule_and_an_unneeded_allocation_stays_in_the_fund() -> None:
    off = apply_order(ShortfallInput("X", "RES", 6000, 7200, 300), 0, in_order=False)
    assert (off.covered_by_adjustment_fund, off.government_share) == (0, 900)
    with pytest.raises(BadInput):
        apply_order(ShortfallInput("X", "RES", 6000, 7200, 300), 400, in_order=False)
    # surplus covers the whole gap; the 400 received is not needed and stays: S after 1,500 − 1,200 + 400
    rich = apply_order(ShortfallInput("X", "RES", 6000, 7200, 1500), 400, in_order=True)
    assert (rich.covered_by_adjustment_fund, rich.government_share, rich.surplus_after) == (0, 0, 700)


def test_a_late_allocation_beyond_what_is_owed_is_refused() -> None:
    with pytest.raises(BadInput, match="already covered"):
        settle_late(200, 201)


def test_remittance_and_shares() -> None:
    assert remittance(1_234_567, rate=Decimal("0.02")) == 24691       # 24,691.34 → 24,691
    assert remittance(0, amount=50_000) == 50_000
    with pytest.raises(BadInput):
        remittance(1, rate=Decimal("0.02"), amount=1)
    # gaps 600 / 300 / 0, 600 allocated: 400 / 200 / 0; 1 fen more goes to the largest remainder
    assert share_allocation(600, {"a": 600, "b": 300, "c": 0}, cap={"a": 600, "b": 300, "c": 0}) == \
        {"a": 400, "b": 200, "c": 0}
    assert share_allocation(100, {"b": 1, "a": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    with pytest.raises(BadInput, match="more than the gaps"):
        share_allocation(901, {"a": 600, "b": 300}, cap={"a": 600, "b": 300})
    with pytest.raises(BadInput, match="more than its gap"):
        share_allocation(500, {"a": 1, "b": 1}, cap={"a": 100, "b": 800})
