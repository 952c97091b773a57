"""Pre-allocation (预拨): bring each county's expenditure account up to a few months of funds.

At the start of each year the city moves money down so that a county can pay providers
without waiting for a quarterly request to clear. The policy (BRIEF §5) is::

    target = months × monthly basis
    amount = max(0, target − held)

The monthly basis is the approved budget's annual expenditure ÷ 12 (the default) or last
year's average monthly expenditure; both are rounded **half-up to the fen** (四舍五入, the
rounding finance officers apply by hand), so a basis is always a whole number of fen and
the target is an exact integer multiple of it. ``months`` (3 by default) and the basis
are region settings.

Everything here is pure: amounts are ``int`` fen and nothing touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import BadInput
from ledger.i18n import N_, _

DEFAULT_MONTHS = 3


def _fen(name: str, value: object, *, minimum: int | None = None) -> int:
    """Refuse anything but a plain ``int`` of fen (a float or bool must never carry money)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(_("{name} must be a whole number of fen, got {kind}").format(name=_(name), kind=type(value).__name__))
    if minimum is not None and value < minimum:
        raise BadInput(_("{name} must be at least {minimum} fen, got {value}").format(name=_(name), minimum=minimum, value=value))
    return value


def _months(months: object) -> int:
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        raise BadInput(_("months must be a whole number from 1 to 12, got {months}").format(months=repr(months)))
    return months


def months_in_year(first_day: dt.date | None, year: int) -> int:
    """(ATTACK21 N10) How many months of ``year`` a unit was in the ledger (or in the pooled fund), from
    ``first_day`` to 31 December, in calendar months, its first month counted whole (the months it
    operated: a county that joined in April has 9, one whose figures begin on 3 July has 6): 12 when it
    began on or before 1 January, or not at all (``None``, or after the year)."""
    if first_day is None or first_day.year != year:
        return 12
    return 13 - first_day.month


def _per_month(total: int, months: object) -> int:
    """``total`` ÷ ``months`` (1 to 12), half-up to the fen, in integers."""
    return _half_up_div(total, _months(months))


def _half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for ``numerator ≥ 0`` and ``denominator > 0``.

    Done in integers: ``floor((2n + d) / 2d)`` equals ``round_half_up(n / d)`` exactly.
    """
    return (2 * numerator + denominator) // (2 * denominator)


def monthly_basis_from_budget(annual_expenditure_fen: int, months: int = 12) -> int:
    """Monthly basis from the approved budget: annual expenditure ÷ 12, half-up to the fen.

    Half-up rather than banker's rounding because this is the figure an officer
    recomputes by hand from the budget table; ``1,000.06`` a year → ``83.34`` a month
    (83.338…), and an exact half (``0.30`` → ``0.025``) rounds up to ``0.03``.

    (ATTACK21 N10) ``months``: how many months of the year the budget covers — a county that joins the
    pooled fund on 1 July budgets its half year, 6 (``months_in_year`` of its joining date); normally 12.
    """
    annual = _fen(N_("annual budgeted expenditure"), annual_expenditure_fen, minimum=0)
    return _per_month(annual, months)


def monthly_basis_from_prior_year(prior_year_expenditure_fen: int, months: int = 12) -> int:
    """Monthly basis from last year's actual spending: its average month, half-up to the fen.

    ``months`` is how many months of last year the unit actually operated (a county that
    joined the city pool in April has 9: ``months_in_year``);
    normally 12. (ATTACK21 N10: ``ledger.store.cycle`` passes it.)
    """
    spent = _fen(N_("prior-year expenditure"), prior_year_expenditure_fen, minimum=0)
    return _per_month(spent, months)


def within_cap(basis_fen: int, total_fen: int, months: int) -> int:
    """(ATTACK21 N10) ``basis_fen`` (``total_fen`` ÷ the months it covers), lowered where ``months`` of it
    would pass the database's cap — twelve months of ``total_fen`` ÷ 12 (fl.preallocate: "at most twelve
    months of its monthly basis", which refuses the city's whole pre-allocation): a county with fewer
    months last year than are pre-allocated gets at most the whole of what it spent (or budgeted)."""
    basis = _fen(N_("monthly basis"), basis_fen, minimum=0)
    cap = 12 * _half_up_div(_fen(N_("expenditure"), total_fen, minimum=0), 12)
    return min(basis, cap // _months(months))


@dataclass(frozen=True, slots=True)
class PreallocationInput:
    """One expenditure account to top up: a unit's book (and fund component, e.g. pooled 统筹).

    ``held`` is the account's current balance. It may be negative (an overdrawn account);
    the top-up then covers the overdraft as well, since the target is what the account
    should *hold*.
    """

    unit: str
    book: str
    component: str
    monthly_basis: int
    held: int
    # The annual plan's (年度收支计划) expenditure for the months pre-allocated, where a plan
    # exists: the target is then what the plan says those months cost, not months × basis.
    planned: int | None = None

    def __post_init__(self) -> None:
        for name in ("unit", "book"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise BadInput(_("pre-allocation: {name} must be non-empty text").format(name=name))
        if not isinstance(self.component, str):
            raise BadInput(_("pre-allocation: component must be text (empty when the book has none)"))
        _fen(_("{where} monthly basis").format(where=f"{self.unit}/{self.book}"), self.monthly_basis, minimum=0)
        _fen(_("{where} balance held").format(where=f"{self.unit}/{self.book}"), self.held)
        if self.planned is not None:
            _fen(_("{where} planned expenditure").format(where=f"{self.unit}/{self.book}"), self.planned, minimum=0)


@dataclass(frozen=True, slots=True)
class PreallocationLine:
    """The computed top-up for one account, with every figure needed to check it by hand."""

    unit: str
    book: str
    component: str
    monthly_basis: int
    months: int
    target: int
    held: int
    amount: int


def preallocate(
    inputs: Sequence[PreallocationInput], months: int = DEFAULT_MONTHS
) -> list[PreallocationLine]:
    """Compute the 预拨 for each account, sorted by (unit, book, component).

    A unit already holding at least the target gets 0: pre-allocation only ever tops up,
    it never claws money back (surpluses are dealt with at year end, not here).
    The same (unit, book, component) twice is refused, since it would be paid twice.
    """
    n = _months(months)
    seen: set[tuple[str, str, str]] = set()
    lines: list[PreallocationLine] = []
    for i in inputs:
        if not isinstance(i, PreallocationInput):
            raise BadInput(_("pre-allocation input must be a PreallocationInput, got {kind}").format(kind=type(i).__name__))
        key = (i.unit, i.book, i.component)
        if key in seen:
            where = "/".join(k for k in key if k)
            raise BadInput(_("pre-allocation: {where} appears more than once").format(where=where))
        seen.add(key)
        target = n * i.monthly_basis if i.planned is None else i.planned
        lines.append(
            PreallocationLine(
                unit=i.unit,
                book=i.book,
                component=i.component,
                monthly_basis=i.monthly_basis,
                months=n,
                target=target,
                held=i.held,
                amount=max(0, target - i.held),
            )
        )
    lines.sort(key=lambda line: (line.unit, line.book, line.component))
    return lines
