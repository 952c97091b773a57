"""Year-end shortfall sharing (缺口分担), per unit and book.

For the year's current balance (当期结余) ``C = revenue − expenditure``:

* ``C ≥ 0``: nothing to share; the accumulated surplus (累计结余) grows by ``C``.
* ``C < 0``: the gap ``G = −C`` is covered first by the unit's accumulated surplus ``S`` —
  only its positive part, since a unit already in deficit has nothing to cover with — and
  whatever remains is the local government's share (地方政府分担), which goes to the
  obligations register and is tracked until paid.

``surplus_after`` is the accumulated surplus *once the government's share is paid*
(``S + C + government``). So a unit whose surplus covered the whole gap ends at
``S − G``; one whose government pays ends at exactly ``0`` when it started at ``S ≥ 0``;
and a unit that started with a negative ``S`` keeps that old deficit (the government
pays this year's gap, not history). The report shows every figure so an officer can
recompute it by hand.

For the employees' book the caller passes the pooled component (统筹基金) only.

**Across years** (BRIEF §5, corrected 2026-12). The books are kept on the cash basis; the
government's share of year Y lives in the obligations register from Y's close, and the
rule's ``S`` counts it as owed to the fund: ``S after (Y) = S before (Y+1)`` exactly. Its
receipt (in Y+1 or later, whole or in parts) is 4101 缺口补助 revenue of the year it
arrives *on the books*, but it settles Y's item, so it is excluded from that year's
``C`` — otherwise one payment would cover two years' gaps. Hence two readings, and the
reconciling lines between them:

* ``revenue = revenue_on_books − share_receipts`` (what ``C`` is computed from);
* ``surplus_before = surplus_before_on_books + outstanding_before``;
* ``outstanding_after = outstanding_before − share_receipts + government_share``;
* ``surplus_after_on_books = surplus_after − outstanding_after`` (the cash surplus the
  fund balance shows after the close).

**The adjustment fund (调剂金) in the order** (财社〔2017〕144号 art. 38; a region setting, off for
Jiamusi): ``adjustment_receipts`` is what the province allocated *for this year* and paid in
this year (4401, set aside from ``revenue``: otherwise it would cover the gap before the
surplus). After the surplus it covers ``min(G − covered, adjustment_receipts)``; the
government's share is the rest. An allocation the gap did not need stays in the fund
(``surplus_after`` counts all of it). An allocation for the year paid after its close
settles the year's government share in the government's place: it is a share receipt of
the year it arrives, like the government's own late payment. Then
``revenue_on_books = revenue + share_receipts + adjustment_receipts`` and
``surplus_after = S + C + adjustment_receipts + government``.

Worked example (BRIEF §5): S0 1,000; 2023 R 6,000, E 7,200 → C −1,200, covered 1,000,
government 200, S after 0. The government pays 200 on 2024-01-20 (on the books: 2024
revenue 6,200); 2024 R 6,000, E 7,800 → C −1,800 (not −1,600), S before 0 (on the books
−200, owed 200), covered 0, government 1,800, S after 0 (on the books −1,800, owed 1,800).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.errors import BadInput
from ledger.i18n import _


def _fen(name: str, value: object, *, minimum: int | None = None) -> int:
    """Refuse anything but a plain ``int`` of fen (a float or bool must never carry money)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(_("{name} must be a whole number of fen, got {kind}").format(name=_(name), kind=type(value).__name__))
    if minimum is not None and value < minimum:
        raise BadInput(_("{name} must not be negative, got {value} fen").format(name=_(name), value=value))
    return value


@dataclass(frozen=True, slots=True)
class ShortfallInput:
    """A unit's year for one book: totals for the year and the surplus carried in.

    ``surplus_before`` may be negative (a unit that ended earlier years in deficit), and so
    may ``revenue`` and ``expenditure`` (a year whose late corrections outweigh its own figures:
    on the cash basis they are that year's, BRIEF §4–5).
    ``revenue`` and ``surplus_before`` are the rule's figures (across years);
    ``share_receipts`` is government-share money received this year for earlier years
    (already left out of ``revenue``) and ``outstanding_before`` the shares still owed at
    the start of the year (already counted in ``surplus_before``).
    """

    unit: str
    book: str
    revenue: int
    expenditure: int
    surplus_before: int
    share_receipts: int = 0
    outstanding_before: int = 0
    adjustment_receipts: int = 0

    def __post_init__(self) -> None:
        for name in ("unit", "book"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise BadInput(_("shortfall: {name} must be non-empty text").format(name=name))
        where = f"{self.unit}/{self.book}"
        # (ATTACK15 A9) Revenue and expenditure are the year's net cash figures and may be
        # negative: a late correction (last year's collection refunded, last year's claim paid
        # back) is the year it is booked in's, and C = revenue − expenditure takes it as it is.
        # Refusing it here stopped every unit's table and close for one unit's correction.
        _fen(_("{where} revenue").format(where=where), self.revenue)
        _fen(_("{where} expenditure").format(where=where), self.expenditure)
        _fen(_("{where} accumulated surplus").format(where=where), self.surplus_before)
        _fen(_("{where} government-share receipts").format(where=where), self.share_receipts, minimum=0)
        _fen(_("{where} government share outstanding").format(where=where), self.outstanding_before, minimum=0)
        _fen(_("{where} adjustment-fund allocation").format(where=where), self.adjustment_receipts, minimum=0)
        if self.share_receipts > self.outstanding_before:
            raise BadInput(_("{where}: government-share receipts ({receipts} fen) exceed what was owed at the start of "
                             "the year ({owed} fen)").format(where=where, receipts=self.share_receipts,
                                                            owed=self.outstanding_before))


@dataclass(frozen=True, slots=True)
class ShortfallResult:
    """One line of the 缺口分担 report (all amounts in fen)."""

    unit: str
    book: str
    revenue: int
    expenditure: int
    current_balance: int
    surplus_before: int
    covered_by_surplus: int
    government_share: int
    surplus_after: int
    revenue_on_books: int = 0
    share_receipts: int = 0
    surplus_before_on_books: int = 0
    outstanding_before: int = 0
    outstanding_after: int = 0
    surplus_after_on_books: int = 0
    adjustment_receipts: int = 0
    covered_by_adjustment_fund: int = 0


def apply_shortfall_rule(i: ShortfallInput) -> ShortfallResult:
    """Apply BRIEF §5's shortfall rule to one unit and book.

    Worked example: ``S = 500``, revenue 1,000, expenditure 1,800 → ``C = −800``,
    ``G = 800``; the surplus covers 500, the government owes 300, and the unit
    ends at 0.
    """
    if not isinstance(i, ShortfallInput):
        raise BadInput(_("shortfall input must be a ShortfallInput, got {kind}").format(kind=type(i).__name__))
    current = i.revenue - i.expenditure
    if current >= 0:
        covered = 0
        by_fund = 0
        government = 0
    else:
        gap = -current
        covered = min(gap, max(i.surplus_before, 0))
        by_fund = min(gap - covered, i.adjustment_receipts)
        government = gap - covered - by_fund
    after = i.surplus_before + current + i.adjustment_receipts + government
    return ShortfallResult(
        unit=i.unit,
        book=i.book,
        revenue=i.revenue,
        expenditure=i.expenditure,
        current_balance=current,
        surplus_before=i.surplus_before,
        covered_by_surplus=covered,
        government_share=government,
        surplus_after=after,
        revenue_on_books=i.revenue + i.share_receipts + i.adjustment_receipts,
        share_receipts=i.share_receipts,
        surplus_before_on_books=i.surplus_before - i.outstanding_before,
        outstanding_before=i.outstanding_before,
        outstanding_after=i.outstanding_before - i.share_receipts + government,
        surplus_after_on_books=after - (i.outstanding_before - i.share_receipts + government),
        adjustment_receipts=i.adjustment_receipts,
        covered_by_adjustment_fund=by_fund,
    )


def shortfall_table(inputs: Iterable[ShortfallInput]) -> list[ShortfallResult]:
    """The whole report, sorted by (unit, book); a unit and book given twice is refused."""
    seen: set[tuple[str, str]] = set()
    rows: list[ShortfallResult] = []
    for i in inputs:
        row = apply_shortfall_rule(i)
        key = (row.unit, row.book)
        if key in seen:
            raise BadInput(_("shortfall: {unit}/{book} appears more than once").format(unit=row.unit, book=row.book))
        seen.add(key)
        rows.append(row)
    rows.sort(key=lambda r: (r.unit, r.book))
    return rows
