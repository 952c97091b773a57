"""The funding-standard report (筹资标准执行情况) as a ``Report`` value (pure): per unit,
book and year, the fiscal subsidy and individual contributions received, per insured
person, against the year's standard, and the subsidy : individual ratio against its
limit, with flags. The rule is ``ledger.core.funding``; headers come from the catalogue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.core.funding import FundingLine, funding_line
from ledger.i18n import N_, both, translate
from ledger.reports.builders import Labels, now, section_title
from ledger.reports.model import Column, Report, Section

FUNDING_COLUMNS = (
    Column("unit", N_("Unit")),
    Column("unit_name", N_("Unit name")),
    Column("insured", N_("Insured"), "int"),
    Column("subsidy", N_("Fiscal subsidy received"), "money"),
    Column("individual", N_("Individual contributions received"), "money"),
    Column("total", N_("Total received"), "money"),
    Column("subsidy_per_insured", N_("Subsidy per insured"), "money"),
    Column("individual_per_insured", N_("Individual per insured"), "money"),
    Column("total_per_insured", N_("Total per insured"), "money"),
    Column("subsidy_standard", N_("Subsidy standard (at least)"), "money"),
    Column("individual_standard", N_("Individual standard"), "money"),
    Column("total_standard", N_("Funding standard per insured"), "money"),
    Column("ratio", N_("Subsidy : individual"), "ratio"),
    Column("ratio_max", N_("Ratio limit"), "ratio"),
    Column("warnings", N_("Flags")),
    # (closedyr) a closed year's first headcount taken after its close (0142): the day it was recorded
    Column("headcount_after_close", N_("Headcount recorded after the year's close")),
)


def _row(line: FundingLine, name: str | None) -> dict[str, Any]:
    s = line.standard
    return {"unit": line.unit, "unit_name": name, "insured": line.insured, "subsidy": line.subsidy,
            "individual": line.individual, "total": line.total, "subsidy_per_insured": line.subsidy_per_insured,
            "individual_per_insured": line.individual_per_insured, "total_per_insured": line.total_per_insured,
            "subsidy_standard": s.subsidy_min if s else None, "individual_standard": s.individual if s else None,
            "total_standard": s.per_insured if s else None, "ratio": line.ratio,
            "ratio_max": s.ratio_max.quantize(Decimal("0.01")) if s else None, "warnings": ", ".join(line.flags) or None,
            "headcount_after_close": line.headcount_after_close.isoformat() if line.headcount_after_close else None}


def funding_report(lines: Sequence[FundingLine], *, year: int, labels: Labels, lang: str = "zh",
                   generated_at: dt.datetime | None = None) -> Report:
    """One section per book; a row per unit and a totals row for the region, checked by the
    same rule over the summed figures (only when every unit has a headcount: a total
    headcount with a unit missing would understate what each person received)."""
    sections = []
    for book in sorted({ln.book for ln in lines}, key=lambda b: (b != "RES", b)):
        rows = [ln for ln in lines if ln.book == book]
        order = {u: i for i, u in enumerate(labels.unit_order(ln.unit for ln in rows))}
        rows.sort(key=lambda ln: order[ln.unit])
        out = [_row(ln, labels.name("units", ln.unit, lang)) for ln in rows]
        counted = [ln.insured for ln in rows if ln.insured]
        whole = len(counted) == len(rows) and rows
        total = funding_line("all", book, year, sum(counted) if whole else None, sum(ln.subsidy for ln in rows),
                             sum(ln.individual for ln in rows), rows[0].standard)
        totals = _row(total, None)
        totals["unit"] = None
        if not whole:
            totals["insured"] = None
        zh, en = section_title(labels, book, "")
        sections.append(Section(zh, en, tuple(out), totals))
    notes = [translate(N_("received on the cash basis in the year: fiscal subsidy = 4101 without the shortfall "
                          "share (4101.shortfall), individual = 4001; per insured = received ÷ insured, to the fen; "
                          "flags compare the exact totals with standard × insured"), lang)]
    if any(ln.headcount_after_close for ln in lines):
        notes.append(translate(N_("a headcount dated in the column 'Headcount recorded after the year's close' was "
                                  "recorded after the year was closed (a closed year's first headcount is taken, "
                                  "a correction is not): the close and the reports of that day did not have it"), lang))
    if not any(ln.standard for ln in lines):
        notes.append(translate(N_("no funding standard is configured for this year (region file, "
                                  "[[funding_standards]])"), lang))
    return Report("funding", *both(N_("Funding standards")), labels.region, str(year),
                  generated_at or now(labels), FUNDING_COLUMNS, tuple(sections), tuple(notes))
