"""The city-wide budget's execution (全市基金预算执行情况) and the budget performance review
(预算绩效考核) as ``Report`` values (pure).

Built on the per-unit budget execution (``builders_fund.budget_execution_report``): each
book's section starts with the city block — every budget line summed over the units, with
its actual, % executed and variance — then each unit's block as in that report. The result
lines carry the small-surplus checks (``ledger.core.budget``) of the unit or the city."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledger.core.budget import CITY, BudgetCheck
from ledger.core.money import format_yuan
from ledger.core.performance import Review, Score
from ledger.i18n import N_, both, translate
from ledger.reports.builders import ALL_UNITS, Labels, now, section_title
from ledger.reports.builders_fund import (
    _QUARTERS,
    BUDGET_COLUMNS,
    RECONCILING,
    budget_execution_report,
    execution_blocks,
    execution_books,
    percent,
)
from ledger.reports.model import Column, Report, Section

_SUMS = ("budget", *_QUARTERS, "actual")
_ORDER = {"revenue": 0, "revenue_total": 1, "expenditure": 2, "expenditure_total": 3, "result": 4,
          "share_receipts": 5, "adjustment_receipts": 6}


def city_budget_report(data: Mapping[str, Any], *, year: int, labels: Labels, checks: Sequence[BudgetCheck],
                       lang: str = "zh", generated_at: dt.datetime | None = None, consolidate: bool = True) -> Report:
    """``data`` as ``reports_budget.budget_execution`` returns it (every unit); ``checks``
    the consolidation's (ledger.core.budget: scope is a unit code or ``city``). ``consolidate`` False
    (a confined reader, who reads its own unit only: ATTACK17 E10): no city block."""
    per_unit = budget_execution_report(data, year=year, labels=labels, lang=lang, generated_at=generated_at)
    flags: dict[tuple[str, str], list[str]] = {}
    for c in checks:
        flags.setdefault((c.book, ALL_UNITS if c.scope == CITY else c.scope), []).append(c.code)
    books = execution_books(execution_blocks(data))   # the per-unit report's sections (ATTACK17b F5)
    city_name = translate(N_("city total"), lang)
    sections = []
    for book, sec in zip(books, per_unit.sections, strict=True):
        city: dict[tuple[str, str], dict[str, Any]] = {}
        for r in sec.rows:
            key = (str(r["component"] or ""), str(r["line"]))
            row = city.setdefault(key, {"unit": ALL_UNITS, "unit_name": city_name, "component": r["component"],
                                        "line": r["line"], "name": r["name"], **{k: 0 for k in _SUMS}})
            for k in _SUMS:
                row[k] += int(r[k] or 0)  # type: ignore[call-overload]

        def order(key: tuple[str, str]) -> tuple[str, int, str]:
            comp, line = key
            kind = line if line in _ORDER else str(labels.chart.get(line, {}).get("kind", "expenditure"))
            return comp, _ORDER.get(kind, 2), line
        top = []
        for key in sorted(city, key=order):
            row = city[key]
            row.update(executed_pct=percent(row["actual"], row["budget"]), variance=row["actual"] - row["budget"],
                       flag=", ".join(flags.get((book, ALL_UNITS), [])) or None if key[1] == "result" else None)
            if key[1] in RECONCILING:   # outside the totals, no budget (budget_execution_report)
                row.update(budget=None, executed_pct=None, variance=None)
            elif key[1] not in _ORDER and row["budget"] == 0 and row["actual"] != 0:
                row["flag"] = "unbudgeted"  # no unit budgeted it (ATTACK17 E9)
            top.append(row)
        units = [dict(r, flag=", ".join(flags.get((book, str(r["unit"])), [])) or None) if r["line"] == "result"
                 else dict(r) for r in sec.rows]
        sections.append(Section(sec.title_zh, sec.title_en, tuple((top if consolidate else []) + units)))
    notes = (*per_unit.notes, *([] if not consolidate else [
             translate(N_("the first block of each book is the city total; flags: the checks of the budget in force "
                          "(planned deficit, planned surplus outside the range of a small surplus)"), lang)]))
    return Report("city_budget", *both(N_("City-wide budget execution")), labels.region, str(year),
                  per_unit.generated_at, BUDGET_COLUMNS, tuple(sections), notes)


# --------------------------------------------------------------------------- performance review

PERFORMANCE_COLUMNS = (
    Column("rank", N_("Rank"), "int"),
    Column("unit", N_("Unit"), "text"),
    Column("unit_name", N_("Unit name")),
    Column("indicator", N_("Indicator code"), data_only=True),
    Column("name", N_("Indicator")),
    Column("value", N_("Value %"), "percent"),
    Column("months", N_("Months"), "months"),
    Column("evidence", N_("Figures behind the score")),
    # Weights and scores are points (0–100), not per cent: the plain-decimal kind ("months",
    # 0.00) prints them without a % sign.
    Column("weight", N_("Weight"), "months"),
    Column("score", N_("Score"), "months"),
)
_INDICATOR_NAMES = {
    "revenue_execution": N_("Revenue budget executed"),
    "expenditure_execution": N_("Expenditure budget executed"),
    "collection_completion": N_("Contributions collected against budget"),
    "balance_rate": N_("Current-year balance rate"),
    "months_payable": N_("Months payable (target 6 or more)"),
    "requests_vs_spending": N_("Requests approved against spending"),
    "government_shares": N_("Government shares against spending"),
    "total": N_("Total score"),
}


def _evidence(s: Score) -> str:
    e = s.evidence
    y = format_yuan
    if s.indicator in ("revenue_execution", "expenditure_execution", "collection_completion"):
        return f"{y(int(e['actual'] or 0))} ÷ {y(int(e['budget'] or 0))}"
    if s.indicator == "balance_rate":
        return (f"({y(int(e['revenue'] or 0))} − {y(int(e['expenditure'] or 0))}) ÷ {y(int(e['revenue'] or 0))}; "
                f"{e['min_pct']}–{e['max_pct']} %")
    if s.indicator == "months_payable":
        return f"{e['months_payable']} ÷ {e['target']}"
    if s.indicator == "requests_vs_spending":
        return f"{y(int(e['approved'] or 0))} ÷ {y(int(e['expenditure'] or 0))}"
    return f"{y(int(e['incurred'] or 0))} ÷ {y(int(e['expenditure'] or 0))}"


def performance_report(reviews: Sequence[Review], *, year: int, labels: Labels, lang: str = "zh",
                       generated_at: dt.datetime | None = None) -> Report:
    """预算绩效考核: per book, each unit in rank order, one row per indicator (value, the
    figures it comes from, weight, score) and its total; ``reviews`` from
    ``ledger.core.performance.ranked``."""
    sections = []
    for book in sorted({r.book for r in reviews}, key=lambda b: (b != "RES", b)):
        rows: list[dict[str, Any]] = []
        for r in (x for x in reviews if x.book == book):
            base = {"rank": r.rank or None, "unit": r.unit, "unit_name": labels.name("units", r.unit, lang)}
            for s in r.scores:
                months = s.indicator == "months_payable"
                rows.append({**base, "indicator": s.indicator, "name": translate(_INDICATOR_NAMES[s.indicator], lang),
                             "value": None if months else s.value, "months": s.value if months else None,
                             "evidence": _evidence(s), "weight": s.weight, "score": s.score})
            rows.append({**base, "indicator": "total", "name": translate(_INDICATOR_NAMES["total"], lang),
                         "weight": sum((s.weight for s in r.scores), Decimal(0)), "score": r.total})
        zh, en = section_title(labels, book, "")
        sections.append(Section(zh, en, tuple(rows)))
    notes = (translate(N_("scores 0–100 per indicator, weighted (region setting performance_weights); the rules and "
                          "defaults are our reading: docs/region.md"), lang),
             translate(N_("every indicator is the book's pooled fund's — in the employees' book the pooled fund, "
                          "never the personal accounts; revenue, expenditure and the balance rate are the "
                          "shortfall rule's (report shortfall) and the monitor's"), lang))
    return Report("performance", *both(N_("Budget performance review")), labels.region, str(year),
                  generated_at or now(labels), PERFORMANCE_COLUMNS, tuple(sections), notes)
