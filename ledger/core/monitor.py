"""Risk monitoring: months payable (可支付月数), its colour, and the warnings a unit raises.

``months payable = accumulated surplus ÷ (expenditure over the last 12 months ÷ 12)``:
how long the pooled fund (统筹基金) could keep paying at its recent rate with no new
revenue. National guidance colours it: red below 3 months, yellow 3 to 6, green 6 to 15,
and "excess" (结余过多) above 15 — a surplus that large is money not reaching patients,
so it is a finding too. The thresholds are region settings (``Thresholds``).

The figure is computed exactly in integers and only then rounded, once, to 0.01 with
banker's rounding (ROUND_HALF_EVEN), so the colour of a boundary case is decided by the
same two-decimal number the report prints: exactly 3.00 is yellow, 15.00 green, 15.01
excess.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from ledger.core.money import format_yuan
from ledger.errors import BadInput
from ledger.i18n import N_, _


class Colour(StrEnum):
    red = "red"
    yellow = "yellow"
    green = "green"
    excess = "excess"


def level_of(colour: Colour) -> str | None:
    """``"red"`` / ``"yellow"`` for those colours, ``None`` for green and excess: the
    levels a response plan answers (``ledger.core.response``). Here, beside the colours,
    so the monitor can ask it without loading the response plans' module."""
    return colour.value if colour in (Colour.red, Colour.yellow) else None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Colour boundaries in months. Red ``< red_below ≤`` yellow ``< yellow_below ≤`` green
    ``≤ excess_above <`` excess.

    They must rise strictly, and ``red_below`` must be positive so that a unit with no
    surplus (0 months or fewer) is always red.
    """

    red_below: Decimal = Decimal("3")
    yellow_below: Decimal = Decimal("6")
    excess_above: Decimal = Decimal("15")

    def __post_init__(self) -> None:
        for name in ("red_below", "yellow_below", "excess_above"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise BadInput(_("months threshold {name} must be a finite Decimal, got {value}").format(
                    name=name, value=repr(value)))
        if not Decimal(0) < self.red_below < self.yellow_below < self.excess_above:
            raise BadInput(_("months thresholds must rise: 0 < red_below < yellow_below < excess_above (got {red}, "
                             "{yellow}, {excess})").format(red=self.red_below, yellow=self.yellow_below,
                                                          excess=self.excess_above))


def _fen(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(_("{name} must be a whole number of fen, got {kind}").format(name=_(name), kind=type(value).__name__))
    return value


def months_payable(surplus_fen: int, trailing_12m_expenditure_fen: int) -> Decimal | None:
    """可支付月数, to 0.01 (half-even); ``None`` when nothing was spent in the last 12 months.

    ``surplus × 12 ÷ expenditure`` is evaluated as one integer division with its
    remainder, so no intermediate value is ever rounded; a negative surplus gives a
    negative figure (it is red, and the report should show how deep).
    """
    surplus = _fen(N_("accumulated surplus"), surplus_fen)
    spent = _fen(N_("expenditure over the last 12 months"), trailing_12m_expenditure_fen)
    if spent <= 0:
        return None
    # Hundredths of a month: surplus * 12 * 100 / spent, then round half-even.
    hundredths, remainder = divmod(surplus * 1200, spent)  # floor division; 0 ≤ remainder < spent
    twice = 2 * remainder
    if twice > spent or (twice == spent and hundredths % 2 == 1):
        hundredths += 1
    return Decimal(f"{hundredths}E-2")


class Basis(StrEnum):
    """Which spending a months-payable figure divides by (said by the monitor, per figure)."""

    last_12_months = "last_12_months"                # the 12 months ending on the day
    daily_since_first_day = "daily_since_first_day"  # < 12 months in the ledger: daily average × 365 ÷ 12
    mixed = "mixed"                                  # a consolidated row over units of both kinds


def monthly_spending(spent_fen: int, first_day: dt.date | None, as_of: dt.date) -> tuple[Fraction, Basis]:
    """Average monthly expenditure behind months payable (BRIEF §5), exactly.

    With 12 months of the unit in the ledger (its first day is on or before the day
    12 months before ``as_of``), ``spent`` is the last 12 months' expenditure and the
    average is ``spent ÷ 12``. With less, ``spent`` is everything since the first day and
    the average is the daily average × 365 ÷ 12 — never a short span's spending ÷ 12
    (which in January overstates the months many times), nor whole months for part of one.
    """
    spent = _fen(N_("expenditure"), spent_fen)
    if first_day is None or first_day <= _year_before(as_of):
        return Fraction(spent, 12), Basis.last_12_months
    days = (as_of - first_day).days + 1
    if days <= 0:
        return Fraction(0), Basis.daily_since_first_day
    return Fraction(spent * 365, 12 * days), Basis.daily_since_first_day


def year_before(d: dt.date) -> dt.date:
    """The day 12 months before ``d``; "the last 12 months" are the days after it.

    A month end maps to the month end (2025-02-28 → 2024-02-29, 2024-02-29 → 2023-02-28),
    so at a month end the window is twelve whole calendar months: the same window the
    charts and the forecast, which work in months, use — otherwise on 28 February after a
    leap year the monitor would count 29 February twice over (366 days) and disagree with
    them. Any other day maps to the same day (29 February to 28 February)."""
    last = calendar.monthrange(d.year, d.month)[1]
    if d.day == last:
        return dt.date(d.year - 1, d.month, calendar.monthrange(d.year - 1, d.month)[1])
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


_year_before = year_before


def months_payable_at(surplus_fen: int, monthly: Fraction) -> Decimal | None:
    """可支付月数 = surplus ÷ average monthly expenditure, to 0.01 half-even, computed once
    from exact fractions; ``None`` when nothing was spent."""
    surplus = _fen(N_("accumulated surplus"), surplus_fen)
    if monthly <= 0:
        return None
    exact = Fraction(surplus * 100) / monthly
    hundredths = round(exact)          # Fraction.__round__ rounds half to even
    return Decimal(f"{hundredths}E-2")


def colour(months: Decimal | None, t: Thresholds, surplus_fen: int | None = None) -> Colour:
    """The colour for a months-payable figure.

    ``months is None`` means nothing was spent in the last 12 months, so the ratio does
    not exist; we then look at the surplus (``surplus_fen`` is required in that case):
    money sitting unused is ``excess``, and no money at all is ``red``. Decided this way
    because a dormant pool with a surplus is exactly the "too much kept back" finding,
    while a unit with neither spending nor funds cannot pay its first claim.
    """
    if months is None:
        if surplus_fen is None:
            raise BadInput(_("months payable is unknown (no expenditure); the surplus is needed to colour it"))
        return Colour.excess if _fen(N_("accumulated surplus"), surplus_fen) > 0 else Colour.red
    if not isinstance(months, Decimal) or not months.is_finite():
        raise BadInput(_("months payable must be a finite Decimal, got {months}").format(months=repr(months)))
    if months < t.red_below:
        return Colour.red
    if months < t.yellow_below:
        return Colour.yellow
    if months <= t.excess_above:
        return Colour.green
    return Colour.excess


class WarningCode(StrEnum):
    """Stable codes for scripts and ``--json``."""

    red = "red"
    excess = "excess"
    negative_share = "negative_share"
    running_deficit = "running_deficit"
    planned_deficit = "planned_deficit"
    share_overdue = "share_overdue"
    balance_rate_red = "balance_rate_red"        # the current-year dimension is red (ledger.core.balance_rate)
    red_unacknowledged = "red_unacknowledged"    # a red past its plan's first due date, unacknowledged


@dataclass(frozen=True, slots=True)
class Warning:
    """One monitoring finding for a unit and book; a value to list, never an exception.

    It shadows the builtin ``Warning`` inside this module only (nothing here uses that);
    import it as ``from ledger.core.monitor import Warning as RiskWarning`` if that helps.
    """

    code: str
    unit: str
    book: str
    message: str

    def __str__(self) -> str:
        return self.message


def _months_text(months: Decimal | None) -> str:
    return "no expenditure in the last 12 months" if months is None else f"{months} months payable"


def warnings_for(
    unit: str,
    book: str,
    months: Decimal | None,
    colour: Colour,
    special_share_fen: int,
    year_result_to_date_fen: int,
    planned_result_fen: int | None,
    overdue_share_fen: int = 0,
) -> list[Warning]:
    """Every finding for one unit and book, in a fixed order (red/excess, share, deficits).

    * ``red`` / ``excess``: from the colour (yellow and green are not findings);
    * ``negative_share``: the unit's share of the special account (专户) is below zero,
      i.e. it has drawn more from the city pool than it has put in;
    * ``running_deficit``: revenue minus expenditure for the year so far is negative;
    * ``planned_deficit``: the approved budget itself plans a deficit (``None`` when the
      unit has no budget for the year, which is reported elsewhere);
    * ``share_overdue``: a government shortfall share is still unpaid past its due date
      (by default the end of the first quarter after the year it covers).
    """
    share = _fen(N_("special-account share"), special_share_fen)
    to_date = _fen(N_("year result to date"), year_result_to_date_fen)
    who = f"{unit} {book}"
    found: list[Warning] = []
    if colour == Colour.red:
        found.append(
            Warning(WarningCode.red, unit, book, f"{who}: {_months_text(months)}, red (not enough to pay on)")
        )
    elif colour == Colour.excess:
        found.append(
            Warning(
                WarningCode.excess,
                unit,
                book,
                f"{who}: {_months_text(months)}, excess (surplus larger than the guidance allows)",
            )
        )
    if share < 0:
        found.append(
            Warning(
                WarningCode.negative_share,
                unit,
                book,
                f"{who}: share of the special account is {format_yuan(share)} yuan "
                "(has drawn more than it put in)",
            )
        )
    if to_date < 0:
        found.append(
            Warning(
                WarningCode.running_deficit,
                unit,
                book,
                f"{who}: deficit of {format_yuan(-to_date)} yuan so far this year",
            )
        )
    if planned_result_fen is not None and _fen(N_("planned result"), planned_result_fen) < 0:
        found.append(
            Warning(
                WarningCode.planned_deficit,
                unit,
                book,
                f"{who}: the budget plans a deficit of {format_yuan(-planned_result_fen)} yuan",
            )
        )
    if _fen(N_("overdue government share"), overdue_share_fen) > 0:
        found.append(
            Warning(
                WarningCode.share_overdue,
                unit,
                book,
                f"{who}: the local government owes {format_yuan(overdue_share_fen)} yuan of shortfall shares "
                "past their due date",
            )
        )
    return found


def exit_code_for(colours: Iterable[Colour]) -> int:
    """Exit status for the ``monitor`` command: 3 if any unit is red, else 0.

    3 (not 1) so a script can tell "a unit is in danger" apart from "the command failed".
    """
    return 3 if any(c == Colour.red for c in colours) else 0
