"""The city-wide budget's execution (全市基金预算执行情况) as a ``Report`` value (pure).

Built on the per-unit budget execution (``builders_fund.budget_execution_report``): each
book's section starts with the city block — every budget line summed over the units, with
its actual, % executed and variance — then each unit's block as in that report. The result
lines carry the small-surplus checks (``ledger.core.budget``) of the unit or the city."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.core.budget import CITY
from ledger.i18n import N_, both, translate
from ledger.reports.builders import ALL_UNITS, Labels
from ledger.reports.builders_fund import _QUARTERS, BUDGET_COLUMNS, budget_execution_report, percent
from ledger.reports.model import Report, Section

_SUMS = ("budget", *_QUARTERS, "actual")
_ORDER = {"revenue": 0, "revenue_total": 1, "expenditure": 2, "expenditure_total": 3, "result": 4}


def city_budget_report(data: Mapping[str, Any], *, year: int, labels: Labels, checks: Sequence[Mapping[str, Any]],
                       lang: str = "zh", generated_at: dt.datetime | None = None) -> Report:
    """``data`` as ``reports_budget.budget_execution`` returns it (every unit); ``checks`` as
    ``ledger.store.budget.check_json`` gives them (scope is a unit code or ``city``)."""
    per_unit = budget_execution_report(data, year=year, labels=labels, lang=lang, generated_at=generated_at)
    flags: dict[tuple[str, str], list[str]] = {}
    for c in checks:
        flags.setdefault((str(c["book"]), ALL_UNITS if c["scope"] == CITY else str(c["scope"])), []).append(
            str(c["code"]))
    books = [b for b in sorted({b["book"] for b in data["budget"]}, key=lambda b: (b != "RES", b))]
    city_name = translate(N_("city total"), lang)
    sections = []
    for book, sec in zip(books, per_unit.sections, strict=True):
        city: dict[tuple[str, str], dict[str, Any]] = {}
        for r in sec.rows:
            key = (str(r["component"] or ""), str(r["line"]))
            row = city.setdefault(key, {"unit": ALL_UNITS, "unit_name": city_name, "component": r["component"],
                                        "line": r["line"], "name": r["name"], **{k: 0 for k in _SUMS}})
            for k in _SUMS:
                row[k] += int(r[k])  # type: ignore[call-overload]

        def order(key: tuple[str, str]) -> tuple[str, int, str]:
            comp, line = key
            kind = line if line in _ORDER else str(labels.chart.get(line, {}).get("kind", "expenditure"))
            return comp, _ORDER.get(kind, 2), line
        top = []
        for key in sorted(city, key=order):
            row = city[key]
            row.update(executed_pct=percent(row["actual"], row["budget"]), variance=row["actual"] - row["budget"],
                       flag=", ".join(flags.get((book, ALL_UNITS), [])) or None if key[1] == "result" else None)
            top.append(row)
        units = [dict(r, flag=", ".join(flags.get((book, str(r["unit"])), [])) or None) if r["line"] == "result"
                 else dict(r) for r in sec.rows]
        sections.append(Section(sec.title_zh, sec.title_en, tuple(top + units)))
    notes = (*per_unit.notes,
             translate(N_("the first block of each book is the city total; flags: the checks of the budget in force "
                          "(planned deficit, planned surplus outside the range of a small surplus)"), lang))
    return Report("city_budget", *both(N_("City-wide budget execution")), labels.region, str(year),
                  per_unit.generated_at, BUDGET_COLUMNS, tuple(sections), notes)
