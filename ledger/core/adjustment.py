"""The provincial adjustment fund (调剂金) and 财社〔2017〕144号 art. 38's order for a gap.

**Not wired to the books yet** (issue 22, part 2: /work/coord/NOTE-h22.md says what is left).
This module is the rule, pure, so that the wiring (remittance and allocation entries, the
year-end close, the register) has one definition to call and a test that pins it.

Art. 38 covers a fund's gap from, in order: its accumulated surplus, an upper-level
adjustment fund where one exists, (investments,) then the same-level government. Jiamusi's
rule (the unit's surplus, then its local government) is the form without the fund; with
``in_order`` the fund sits between the two:

* ``G = −C`` when ``C = revenue − expenditure < 0`` (the rule's revenue: BRIEF §5 across
  years, so government-share receipts *and* adjustment-fund money for earlier years are
  left out of it);
* covered by surplus ``= min(G, max(S, 0))``;
* covered by the adjustment fund ``= min(G − covered by surplus, A)``, where ``A`` is the
  allocation received *for this year* by its close (4401 上级补助收入, set aside from the
  year's revenue: otherwise it would cover the gap before the surplus);
* the government's share is the rest; an allocation for the year that the gap did not
  need (``A`` above it) stays in the fund (it was received: ``surplus_after`` counts it).

**A late allocation** (arriving after the year's close, for that year) follows the
government's late share (BRIEF §5): it settles the year — it pays part of that year's
government share in the government's place — and it is never revenue of the year it
arrives for the rule. So for the later year it is a share receipt like the government's
own payment (``ShortfallInput.share_receipts``), and the earlier year's outstanding share
falls by it. An allocation beyond what is still owed for the year is refused.

Remittances (上解上级支出 5301) are expenditure of the year they are paid: they count in
``C`` like any spending. ``remittance`` computes them from a rate of the year's
contributions or a fixed amount; ``share_allocation`` shares an allocation received by the
city among its units, proportional to their gaps after their surplus (``gap``) or by
fixed weights (``fixed``), largest remainder, ties by unit code (as interest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ledger.core.shortfall import ShortfallInput, ShortfallResult, apply_shortfall_rule
from ledger.errors import BadInput


@dataclass(frozen=True, slots=True)
class OrderedShortfall:
    """One unit's year under the order surplus → adjustment fund → government (fen)."""

    base: ShortfallResult             # the rule without the fund (what Jiamusi's order says)
    adjustment_received: int          # A: allocations for this year received by its close
    covered_by_adjustment_fund: int
    government_share: int
    surplus_after: int


def apply_order(i: ShortfallInput, adjustment_received: int, *, in_order: bool) -> OrderedShortfall:
    """The shortfall rule with the adjustment fund between surplus and government when
    ``in_order``; without it, the allocation is ordinary revenue of the year (the caller
    passes it in ``i.revenue``) and nothing changes. ``i.revenue`` excludes
    ``adjustment_received`` when ``in_order``."""
    if isinstance(adjustment_received, bool) or not isinstance(adjustment_received, int) or adjustment_received < 0:
        raise BadInput("the adjustment-fund allocation must be a whole, non-negative number of fen")
    base = apply_shortfall_rule(i)
    if not in_order:
        if adjustment_received:
            raise BadInput("an allocation set aside for the order needs the adjustment fund in the order "
                           "(adjustment_fund.in_order)")
        return OrderedShortfall(base, 0, 0, base.government_share, base.surplus_after)
    rest = base.government_share                       # G − covered by surplus
    by_fund = min(rest, adjustment_received)
    government = rest - by_fund
    after = i.surplus_before + base.current_balance + adjustment_received + government
    return OrderedShortfall(base, adjustment_received, by_fund, government, after)


def settle_late(outstanding: int, amount: int) -> int:
    """What a year's government share still owes after a late allocation of ``amount``
    for that year (it pays in the government's place); refused beyond what is owed."""
    if amount <= 0:
        raise BadInput("a late allocation must be positive")
    if amount > outstanding:
        raise BadInput(f"the allocation ({amount} fen) is more than the year's share still owed ({outstanding} fen): "
                       "the gap it would cover is already covered")
    return outstanding - amount


def remittance(contributions: int, *, rate: Decimal | None = None, amount: int | None = None) -> int:
    """上解: ``rate`` × the year's contributions (half-up to the fen) or a fixed ``amount``."""
    if (rate is None) == (amount is None):
        raise BadInput("a remittance is either a rate or an amount, not both or neither")
    if amount is not None:
        if amount < 0:
            raise BadInput("a remittance amount must not be negative")
        return amount
    assert rate is not None
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise BadInput("a remittance rate must be between 0 and 1 (0.02 for 2 %)")
    return int((rate * contributions).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share_allocation(total: int, weights: Mapping[str, int], *, cap: Mapping[str, int] | None = None) -> dict[str, int]:
    """``total`` fen shared by ``weights`` (the gaps after surplus for the ``gap`` rule, or
    fixed weights), largest remainder, ties by unit code. With ``cap`` (the gaps) no unit
    gets more than its cap, and a total above the caps' sum is refused."""
    if total < 0 or any(w < 0 for w in weights.values()):
        raise BadInput("an allocation and its weights must not be negative")
    whole = sum(weights.values())
    if total and whole == 0:
        raise BadInput("no unit has a share of the allocation (every weight is zero)")
    if cap is not None and total > sum(cap.get(u, 0) for u in weights):
        raise BadInput(f"the allocation ({total} fen) is more than the gaps it covers "
                       f"({sum(cap.get(u, 0) for u in weights)} fen)")
    out = {u: total * w // whole if whole else 0 for u, w in weights.items()}
    left = total - sum(out.values())
    order = sorted(weights, key=lambda u: (-((total * weights[u]) % whole if whole else 0), u))
    for u in order[:left]:
        out[u] += 1
    if cap is not None:
        over = [u for u in out if out[u] > cap.get(u, 0)]
        if over:
            raise BadInput(f"unit {over[0]}'s share ({out[over[0]]} fen) is more than its gap "
                           f"({cap.get(over[0], 0)} fen)")
    return out
