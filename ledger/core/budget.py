"""Budget rules (预算), pure: the 以收定支、收支平衡、略有结余 check, what an adjustment
changed, the city-wide consolidation and the annual plan's months.

佳政办发〔2021〕2号 §三(三)1 asks the city to draw up the fund budget "以收定支、收支平衡、
略有结余": spend what comes in, balance, keep a little over. A budget is checked for each
unit and book and for the city total of each book:

* ``planned_deficit`` — planned expenditure above planned revenue;
* ``surplus_above_range`` — a planned surplus above ``max_pct`` of revenue (money kept back
  from patients);
* ``surplus_below_range`` — a surplus (or an exact balance) below ``min_pct`` of revenue,
  when the region asks for a minimum above 0.

The range is the region's ``budget_surplus_min_pct`` / ``budget_surplus_max_pct``, default
0–5 % *(our reading)*: "略有结余" read as a small surplus, no more than a twentieth of the
year's revenue. Comparisons are exact (integers): ``balance × 100`` against ``pct × revenue``.
Amounts are ``int`` fen; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from ledger.core.shapes import Fen
from ledger.errors import BadInput
from ledger.i18n import N_, _

CheckCode = Literal["planned_deficit", "surplus_above_range", "surplus_below_range"]
CITY = "city"   # the scope of a city-total check (every unit of the book)


@dataclass(frozen=True, slots=True)
class SurplusRange:
    """略有结余: the planned surplus as per cent of planned revenue, ``min_pct`` to ``max_pct``."""

    min_pct: Decimal = Decimal("0")
    max_pct: Decimal = Decimal("5")

    def __post_init__(self) -> None:
        if not (Decimal("0") <= self.min_pct <= self.max_pct <= Decimal("100")):
            raise BadInput(_("the small-surplus range must satisfy 0 ≤ min ≤ max ≤ 100 (per cent of revenue), got "
                             "{min}–{max}").format(min=self.min_pct, max=self.max_pct))


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """One finding on a budget: which unit (or ``city``) and book, the code and the figures."""

    scope: str          # a unit code, or CITY
    book: str
    code: CheckCode
    revenue: Fen
    expenditure: Fen
    balance: Fen
    rate: Decimal | None   # balance ÷ revenue × 100, to 0.01; None without revenue
    min_pct: Decimal
    max_pct: Decimal


def surplus_rate(balance: int, revenue: int) -> Decimal | None:
    """The planned balance as per cent of planned revenue, to 0.01 (half-even); None for 0."""
    if revenue == 0:
        return None
    return (Decimal(balance) * 100 / Decimal(revenue)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def check_budget(scope: str, book: str, revenue: int, expenditure: int, rng: SurplusRange) -> list[BudgetCheck]:
    """The findings on one budget total (a unit's, or the city's): none when it is within range."""
    for name, v in ((N_("revenue"), revenue), (N_("expenditure"), expenditure)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise BadInput(_("budget {scope} {book}: {name} must be a whole number of fen ≥ 0, got {value}").format(
                scope=scope, book=book, name=_(name), value=repr(v)))
    balance = revenue - expenditure
    code: CheckCode | None = None
    if balance < 0:
        code = "planned_deficit"
    elif revenue > 0 and Decimal(balance) * 100 > rng.max_pct * revenue:
        code = "surplus_above_range"
    elif revenue > 0 and Decimal(balance) * 100 < rng.min_pct * revenue:
        code = "surplus_below_range"
    if code is None:
        return []
    return [BudgetCheck(scope, book, code, revenue, expenditure, balance, surplus_rate(balance, revenue),
                        rng.min_pct, rng.max_pct)]


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One line of a budget version: (component, chart line) and its amount in fen."""

    component: str
    line: str
    kind: str          # revenue | expenditure
    amount: int


@dataclass(frozen=True, slots=True)
class LineChange:
    """What an adjustment did to one line: ``before`` / ``after`` (0 where absent)."""

    component: str
    line: str
    before: Fen
    after: Fen


def changed_lines(before: Iterable[BudgetLine], after: Iterable[BudgetLine]) -> list[LineChange]:
    """The lines whose amount differs between two versions, sorted by (component, line)."""
    old = {(b.component, b.line): b.amount for b in before}
    new = {(b.component, b.line): b.amount for b in after}
    return [LineChange(c, ln, old.get((c, ln), 0), new.get((c, ln), 0))
            for c, ln in sorted(old.keys() | new.keys()) if old.get((c, ln), 0) != new.get((c, ln), 0)]


@dataclass(frozen=True, slots=True)
class UnitBudget:
    """A unit's budget in force for one book: its lines (all components)."""

    unit: str
    book: str
    version: int
    lines: tuple[BudgetLine, ...]

    @property
    def revenue(self) -> int:
        return sum(b.amount for b in self.lines if b.kind == "revenue")

    @property
    def expenditure(self) -> int:
        return sum(b.amount for b in self.lines if b.kind == "expenditure")


@dataclass(frozen=True, slots=True)
class CityLine:
    """One line of the city-wide budget (全市基金预算): each unit's amount and the city total."""

    book: str
    component: str
    line: str
    kind: str
    by_unit: Mapping[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class CityBudget:
    """The consolidation of one book: every line with the city total, each unit's and the
    city's revenue and expenditure, and the checks on each."""

    book: str
    units: tuple[str, ...]
    lines: tuple[CityLine, ...]
    revenue: Mapping[str, int]       # unit -> planned revenue; CITY -> the total
    expenditure: Mapping[str, int]
    checks: tuple[BudgetCheck, ...]


def consolidate(budgets: Sequence[UnitBudget], rng: SurplusRange) -> list[CityBudget]:
    """全市基金预算: per book, the sum over units of every (component, line); a unit without a
    line counts 0 there. Checked for each unit and for the city total."""
    out = []
    for book in sorted({b.book for b in budgets}, key=lambda b: (b != "RES", b)):
        mine = [b for b in budgets if b.book == book]
        units = tuple(b.unit for b in mine)
        if len(set(units)) != len(units):
            raise BadInput(_("book {book}: a unit has two budgets in force").format(book=book))
        cells: dict[tuple[str, str, str], dict[str, int]] = {}
        for b in mine:
            for ln in b.lines:
                cells.setdefault((ln.component, ln.kind, ln.line), {})[b.unit] = ln.amount
        lines = tuple(CityLine(book, comp, line, kind, dict(v), sum(v.values()))
                      for (comp, kind, line), v in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1] != "revenue",
                                                                                          kv[0][2])))
        revenue = {b.unit: b.revenue for b in mine}
        expenditure = {b.unit: b.expenditure for b in mine}
        revenue[CITY], expenditure[CITY] = sum(revenue.values()), sum(expenditure.values())
        checks = [c for u in (*units, CITY) for c in check_budget(u, book, revenue[u], expenditure[u], rng)]
        out.append(CityBudget(book, units, lines, revenue, expenditure, tuple(checks)))
    return out


# ---- the annual plan (年度收支计划) ------------------------------------------------------

def _half_up_div(n: int, d: int) -> int:
    return (2 * n + d) // (2 * d)


def planned_months(granularity: str, periods: Mapping[int, int], months: int) -> int:
    """The expenditure planned for the first ``months`` months of the year (pre-allocation's
    target where a plan exists). A monthly plan sums its months; a quarterly plan takes
    whole quarters and, for a part quarter, its amount ÷ 3 per month (half-up), so a
    default 3 months is exactly the first quarter."""
    if not 1 <= months <= 12:
        raise BadInput(_("months must be a whole number from 1 to 12, got {months}").format(months=repr(months)))
    if granularity == "month":
        return sum(periods.get(m, 0) for m in range(1, months + 1))
    if granularity != "quarter":
        raise BadInput(_("a plan is by quarter or by month, not {granularity}").format(granularity=repr(granularity)))
    whole, part = divmod(months, 3)
    total = sum(periods.get(q, 0) for q in range(1, whole + 1))
    if part:
        total += _half_up_div(periods.get(whole + 1, 0) * part, 3)
    return total
