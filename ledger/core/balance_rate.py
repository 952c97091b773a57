"""The second warning dimension: the current-year balance rate (当期结余率).

``rate = current-year balance ÷ revenue to date × 100`` (per cent), where the balance is
revenue − expenditure since 1 January (shortfall receipts, which settle an earlier
year, are not revenue: BRIEF §5). Jiangxi's opinion asks for red / yellow / green on
*both* a unit's current-year balance and its accumulated balance, each against a
reasonable operating range; months payable (``ledger.core.monitor``) is the accumulated
dimension, this is the current one.

Ranges *(our reading)* of "以收定支、收支平衡、略有结余" (balance each year with a small
surplus), region settings: red below −5 % (a deficit beyond a twentieth of revenue),
yellow from −5 % to 0 (a deficit the surplus can absorb), green from 0 to 15 % (the
small surplus asked for), "excess" above 15 % (revenue kept back from patients).

Computed exactly in integers, rounded once to 0.01 half-even, like months payable, so
the colour of a boundary case is decided by the figure the report prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ledger.core.monitor import Colour
from ledger.errors import BadInput
from ledger.i18n import N_, _


@dataclass(frozen=True, slots=True)
class RateRanges:
    """Boundaries in per cent: red ``< red_below ≤`` yellow ``< yellow_below ≤`` green
    ``≤ excess_above <`` excess. They must rise strictly."""

    red_below: Decimal = Decimal("-5")
    yellow_below: Decimal = Decimal("0")
    excess_above: Decimal = Decimal("15")

    def __post_init__(self) -> None:
        for name in ("red_below", "yellow_below", "excess_above"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise BadInput(_("balance-rate range {name} must be a finite Decimal, got {value}").format(
                    name=name, value=repr(value)))
        if not self.red_below < self.yellow_below < self.excess_above:
            raise BadInput(_("balance-rate ranges must rise: red_below < yellow_below < excess_above (got {red}, "
                             "{yellow}, {excess})").format(red=self.red_below, yellow=self.yellow_below,
                                                          excess=self.excess_above))


def _fen(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(_("{name} must be a whole number of fen, got {kind}").format(name=_(name), kind=type(value).__name__))
    return value


def balance_rate(year_result_fen: int, revenue_fen: int) -> Decimal | None:
    """当期结余率 in per cent to 0.01 (half-even); ``None`` when there is no revenue yet."""
    result = _fen(N_("current-year balance"), year_result_fen)
    revenue = _fen(N_("revenue to date"), revenue_fen)
    if revenue <= 0:
        return None
    hundredths, remainder = divmod(result * 10000, revenue)
    twice = 2 * remainder
    if twice > revenue or (twice == revenue and hundredths % 2 == 1):
        hundredths += 1
    return Decimal(f"{hundredths}E-2")


def rate_colour(rate: Decimal | None, r: RateRanges, year_result_fen: int) -> Colour:
    """The colour of a balance rate; with no revenue yet (``None``), red when money has
    already gone out (a deficit with nothing to measure it against), green otherwise."""
    if rate is None:
        return Colour.red if _fen(N_("current-year balance"), year_result_fen) < 0 else Colour.green
    if rate < r.red_below:
        return Colour.red
    if rate < r.yellow_below:
        return Colour.yellow
    if rate <= r.excess_above:
        return Colour.green
    return Colour.excess


_SEVERITY = {Colour.red: 3, Colour.yellow: 2, Colour.excess: 1, Colour.green: 0}


def overall(*colours: Colour) -> Colour:
    """The worse of several colours (red, then yellow, then excess, then green): the level
    a unit's response plan follows."""
    return max(colours, key=lambda c: _SEVERITY[c])
