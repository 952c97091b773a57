"""The budget performance review (预算绩效考核), pure: indicators, scores, ranking.

佳政办发〔2021〕2号 §三(三)1: 建立基金预算绩效考核机制, 强化市、县(市)管理责任. Each unit's
year is scored on seven indicators, each 0–100, combined by the region's weights
(``performance_weights``; defaults below, *our reading*) into a score out of 100, and the
units of a book are ranked by it (ties share a rank). Every score keeps the figures it was
computed from (``evidence``) so an officer can redo it by hand.

An indicator's value is first rounded to 0.01 (half-even), the figure printed; the score
is computed from that printed value, so the hand calculation and the report agree:

============================  =========================================  ===========================================
indicator                     value                                      score (clipped to 0–100)
============================  =========================================  ===========================================
revenue_execution 收入执行率   actual revenue ÷ budgeted × 100            100 − 2 × |value − 100|
expenditure_execution 支出执行率 actual expenditure ÷ budgeted × 100      100 − 2 × |value − 100|
collection_completion 征缴完成率 actual 4001 (contributions) ÷ budgeted   min(value, 100)
balance_rate 当期结余率         (revenue − expenditure) ÷ revenue × 100    100 inside the 略有结余 range; below it
                                                                         100 − 10 × (min − value); above it
                                                                         100 − 5 × (value − max)
months_payable 可支付月数       the monitor's months payable at 31 Dec     min(value ÷ 6, 1) × 100 (target ≥ 6)
requests_vs_spending 申请/支出  approved requests ÷ actual expenditure     100 − max(0, value − 100)
government_shares 政府分担       shares incurred ÷ actual expenditure × 100  100 − 10 × value
============================  =========================================  ===========================================

A value that does not exist (no budget line, no revenue, nothing spent) scores 0, except
``requests_vs_spending`` and ``government_shares`` with nothing spent, which score 100 when
nothing was requested or incurred either. Amounts are ``int`` fen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.core.budget import SurplusRange
from ledger.errors import BadInput
from ledger.i18n import _

INDICATORS = ("revenue_execution", "expenditure_execution", "collection_completion", "balance_rate",
              "months_payable", "requests_vs_spending", "government_shares")
DEFAULT_WEIGHTS: Mapping[str, Decimal] = {
    "revenue_execution": Decimal(15), "expenditure_execution": Decimal(15), "collection_completion": Decimal(15),
    "balance_rate": Decimal(15), "months_payable": Decimal(15), "requests_vs_spending": Decimal(10),
    "government_shares": Decimal(15)}
MONTHS_TARGET = Decimal(6)
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def check_weights(weights: Mapping[str, object]) -> dict[str, Decimal]:
    """The weights for every indicator (defaults for those not given); refused when a name
    is unknown, a weight negative or not a number, or all are zero."""
    out = dict(DEFAULT_WEIGHTS)
    for k, v in weights.items():
        if k not in DEFAULT_WEIGHTS:
            raise BadInput(_("performance_weights: unknown indicator '{indicator}' (one of {known})").format(
                indicator=k, known=", ".join(INDICATORS)))
        try:
            w = Decimal(str(v))
        except ArithmeticError as e:
            raise BadInput(_("performance_weights: {indicator} must be a number, got {value}").format(
                indicator=k, value=repr(v))) from e
        if not w.is_finite() or w < 0:
            raise BadInput(_("performance_weights: {indicator} must be a number ≥ 0, got {value}").format(
                indicator=k, value=repr(v)))
        out[k] = w
    if sum(out.values()) <= 0:
        raise BadInput(_("performance_weights: at least one weight must be above 0"))
    return out


@dataclass(frozen=True, slots=True)
class UnitYear:
    """What a unit's year is reviewed on (fen, except months)."""

    unit: str
    book: str
    budget_revenue: int
    budget_expenditure: int
    budget_collection: int        # budget lines 4001 (and its sub-accounts)
    revenue: int                  # actual, the year without the close
    expenditure: int
    collection: int               # actual 4001
    months_payable: Decimal | None
    approved_requests: int        # approved, disbursed or settled requests of the year
    government_share: int         # government shortfall shares incurred for the year


@dataclass(frozen=True, slots=True)
class Score:
    indicator: str
    value: Decimal | None
    score: Decimal
    weight: Decimal
    evidence: Mapping[str, int | Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Review:
    unit: str
    book: str
    scores: tuple[Score, ...]
    total: Decimal
    rank: int = 0


def _q(x: Decimal) -> Decimal:
    return x.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else _q(Decimal(part) * _HUNDRED / Decimal(whole))


def _clip(x: Decimal) -> Decimal:
    return _q(min(_HUNDRED, max(Decimal(0), x)))


def _execution(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else _clip(_HUNDRED - 2 * abs(value - _HUNDRED))


def _balance(value: Decimal | None, rng: SurplusRange) -> Decimal:
    if value is None:
        return Decimal(0)
    if value < rng.min_pct:
        return _clip(_HUNDRED - 10 * (rng.min_pct - value))
    if value > rng.max_pct:
        return _clip(_HUNDRED - 5 * (value - rng.max_pct))
    return _clip(_HUNDRED)


def review(u: UnitYear, weights: Mapping[str, Decimal], rng: SurplusRange) -> Review:
    """Score one unit's year (``weights`` from ``check_weights``)."""
    rev = _ratio(u.revenue, u.budget_revenue)
    exp = _ratio(u.expenditure, u.budget_expenditure)
    col = _ratio(u.collection, u.budget_collection)
    bal = _ratio(u.revenue - u.expenditure, u.revenue)
    mp = None if u.months_payable is None else _q(u.months_payable)
    req = _ratio(u.approved_requests, u.expenditure)
    gov = _ratio(u.government_share, u.expenditure)
    nothing_spent = u.expenditure == 0
    scores = (
        Score("revenue_execution", rev, _execution(rev), weights["revenue_execution"],
              {"actual": u.revenue, "budget": u.budget_revenue}),
        Score("expenditure_execution", exp, _execution(exp), weights["expenditure_execution"],
              {"actual": u.expenditure, "budget": u.budget_expenditure}),
        Score("collection_completion", col, Decimal(0) if col is None else _clip(col), weights["collection_completion"],
              {"actual": u.collection, "budget": u.budget_collection}),
        Score("balance_rate", bal, _balance(bal, rng), weights["balance_rate"],
              {"revenue": u.revenue, "expenditure": u.expenditure, "min_pct": rng.min_pct, "max_pct": rng.max_pct}),
        Score("months_payable", mp, Decimal(0) if mp is None else _clip(mp / MONTHS_TARGET * _HUNDRED),
              weights["months_payable"], {"months_payable": mp, "target": MONTHS_TARGET}),
        Score("requests_vs_spending", req,
              (_clip(_HUNDRED) if u.approved_requests == 0 else Decimal(0)) if nothing_spent
              else _clip(_HUNDRED - max(Decimal(0), req - _HUNDRED)) if req is not None else Decimal(0),
              weights["requests_vs_spending"], {"approved": u.approved_requests, "expenditure": u.expenditure}),
        Score("government_shares", gov,
              (_clip(_HUNDRED) if u.government_share == 0 else Decimal(0)) if nothing_spent
              else _clip(_HUNDRED - 10 * gov) if gov is not None else Decimal(0),
              weights["government_shares"], {"incurred": u.government_share, "expenditure": u.expenditure}),
    )
    total_w = sum((s.weight for s in scores), Decimal(0))
    total = _q(sum((s.weight * s.score for s in scores), Decimal(0)) / total_w)
    return Review(u.unit, u.book, scores, total)


def ranked(reviews: Sequence[Review]) -> list[Review]:
    """Per book, highest total first (ties by unit code, sharing a rank: 1, 1, 3)."""
    out: list[Review] = []
    for book in sorted({r.book for r in reviews}, key=lambda b: (b != "RES", b)):
        mine = sorted((r for r in reviews if r.book == book), key=lambda r: (-r.total, r.unit))
        for i, r in enumerate(mine):
            rank = out[-1].rank if i and mine[i - 1].total == r.total else i + 1
            out.append(Review(r.unit, r.book, r.scores, r.total, rank))
    return out
