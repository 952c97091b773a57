"""Fund-cycle reports as ``Report`` values (pure): budget execution, the fund-request
register, the memo registers with ageing, risk monitoring (可支付月数) and the series the
two charts draw. The rules themselves come from ``ledger.core.monitor``."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ledger.core.balance_rate import RateRanges, balance_rate, overall, rate_colour
from ledger.core.chart import is_line
from ledger.core.monitor import (
    Basis,
    Colour,
    Thresholds,
    WarningCode,
    colour,
    monthly_spending,
    months_payable_at,
    warnings_for,
)
from ledger.core.monitor import Warning as RiskWarning
from ledger.i18n import N_, both, code_text, translate
from ledger.reports import labels as labels_
from ledger.reports.builders import ALL_UNITS, Labels, Row, _label, now, section_title
from ledger.reports.model import Column, Report, Section

if TYPE_CHECKING:
    from ledger.core.response import Response
    from ledger.store.monitor import MonitorFigures, MonthFigures, SpecialDay

# --------------------------------------------------------------------------- budget execution

BUDGET_COLUMNS = (
    Column("unit", N_("Unit")),
    Column("unit_name", N_("Unit name")),
    Column("component", N_("Component")),
    Column("line", N_("Budget line")),
    Column("name", N_("Name")),
    Column("budget", N_("Budget"), "money"),
    Column("q1", N_("Q1"), "money"),
    Column("q2", N_("Q2"), "money"),
    Column("q3", N_("Q3"), "money"),
    Column("q4", N_("Q4"), "money"),
    Column("actual", N_("Actual"), "money"),
    Column("executed_pct", N_("Executed %"), "percent"),
    Column("variance", N_("Variance (actual − budget)"), "money"),
    Column("flag", N_("Flag")),
)
_BUDGET_LABELS = labels_.BUDGET
_QUARTERS = ("q1", "q2", "q3", "q4")


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` as percentage points of ``whole``, to 0.01 (half-even); ``None`` for 0."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _match_line(code: str, lines: Sequence[str]) -> str | None:
    """The most specific budget line covering chart code ``code`` (5001 covers 5001.inpatient)."""
    best = None
    for line in lines:
        if is_line(code, line) and (best is None or len(line) > len(best)):
            best = line
    return best


def budget_execution_report(data: Mapping[str, Any], *, year: int, labels: Labels, lang: str = "zh",
                            generated_at: dt.datetime | None = None) -> Report:
    """Budget vs actual per line and quarter (``reports_budget.budget_execution``): one
    section per book; per unit and component its budget lines, then ``revenue_total``,
    ``expenditure_total`` and ``result``. ``executed_pct`` = actual ÷ budget × 100;
    ``variance`` = actual − budget. A budget whose result is negative is flagged
    ``planned_deficit`` on its result line (以收定支: a budget should not plan a deficit).

    The totals and the result are the shortfall rule's (ATTACK17 E2, E9; ``ledger.store.year_figures``):
    an actual on an account no budget line covers is on a line of its own, its chart code, after the
    budget lines of its kind (in the totals, budget 0, ``flag`` ``unbudgeted``); what the rule sets aside from the pooled fund's revenue — the
    government's shares of earlier years received (``data["receipts"]``) and the year's in-year
    adjustment-fund allocations (``data["adjustments"]``) — is taken out of the line it is in and
    shown after the result on ``share_receipts`` / ``adjustment_receipts``, outside the totals
    (revenue on the books = ``revenue_total`` + the two). Those lines appear when not zero.

    The blocks are ``execution_blocks``: a unit with actuals and no budget for the year has its block
    too (ATTACK17b F5), every line of it ``unbudgeted``, so the city block is the whole city's."""
    budgets: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for b in data["budget"]:
        budgets[(b["book"], b["unit"], b["component"])].append(b)
    blocks = execution_blocks(data)
    actual: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # (ATTACK17 E9) an actual no budget line covers: on a line of its own (its chart code, budget 0)
    unbudgeted: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for a in data["actual"]:
        key = (a["book"], a["unit"], a["component"])
        line = _match_line(a["chart_code"], [b["line"] for b in budgets.get(key, [])]) or a["chart_code"]
        if line == a["chart_code"] and not any(b["line"] == line for b in budgets.get(key, [])):
            unbudgeted[key][line] = a["kind"]
        value = int(a["debits"]) - int(a["credits"])
        if a["kind"] == "revenue":
            value = -value
        actual[(*key, line)][f"q{a['quarter']}"] += value
    pooled: Mapping[str, str] = data.get("pooled", {})
    for code, items in (("share_receipts", data.get("receipts", ())), ("adjustment_receipts", data.get("adjustments", ()))):
        for g in items:
            key = (g["book"], g["unit"], pooled.get(g["book"], ""))
            line = _match_line(g["chart_code"], [b["line"] for b in budgets.get(key, [])]) or g["chart_code"] or "4101"
            if not any(b["line"] == line for b in budgets.get(key, [])):
                unbudgeted[key].setdefault(line, "revenue")
            actual[(*key, line)][f"q{g['quarter']}"] -= int(g["amount"])
            actual[(*key, code)][f"q{g['quarter']}"] += int(g["amount"])
    sections = []
    for book in execution_books(blocks):
        out: list[dict[str, Any]] = []
        keys = [k for k in blocks if k[0] == book]
        order = {u: i for i, u in enumerate(labels.unit_order(k[1] for k in keys))}
        for key in sorted(keys, key=lambda k: (order[k[1]], k[2])):
            _, unit, comp = key
            base = {"unit": unit, "unit_name": labels.name("units", unit, lang), "component": comp or None}
            sums: dict[str, dict[str, int]] = {}
            for kind in ("revenue", "expenditure"):
                lines = sorted((b for b in budgets.get(key, []) if b["kind"] == kind), key=lambda b: b["line"])
                tot = {k: 0 for k in ("budget", *_QUARTERS)}
                for b in lines:
                    qs = actual.get((*key, b["line"]), {})
                    vals = {"budget": int(b["amount"]), **{q: int(qs.get(q, 0)) for q in _QUARTERS}}
                    out.append(_budget_row(base, b["line"], labels.name("chart", b["line"], lang), vals))
                    for k in tot:
                        tot[k] += vals[k]
                for code in sorted(c for c, k in unbudgeted.get(key, {}).items() if k == kind):
                    qs = actual.get((*key, code), {})
                    if any(qs.values()):
                        vals = {"budget": 0, **{q: int(qs.get(q, 0)) for q in _QUARTERS}}
                        out.append(dict(_budget_row(base, code, labels.name("chart", code, lang), vals),
                                        flag="unbudgeted"))
                        for k in tot:
                            tot[k] += vals[k]
                sums[kind] = tot
                code = f"{kind}_total"
                out.append(_budget_row(base, code, _label(_BUDGET_LABELS, code, lang), tot))
            res = {k: sums["revenue"][k] - sums["expenditure"][k] for k in sums["revenue"]}
            row = _budget_row(base, "result", _label(_BUDGET_LABELS, "result", lang), res)
            row["flag"] = "planned_deficit" if res["budget"] < 0 else None
            out.append(row)
            for code in RECONCILING:
                qs = actual.get((*key, code), {})
                if any(qs.values()):
                    out.append(dict(_budget_row(base, code, _label(_BUDGET_LABELS, code, lang),
                                                {"budget": 0, **{q: int(qs.get(q, 0)) for q in _QUARTERS}}),
                                    budget=None, executed_pct=None, variance=None))
        zh, en = section_title(labels, book, "")
        sections.append(Section(zh, en, tuple(out)))
    notes = (translate(N_("actual excludes the year-end close; execution % = actual ÷ budget"), lang),
             translate(N_("revenue, expenditure and result are the shortfall rule's (report shortfall): an actual no "
                          "budget line covers is on a line of its own, budget 0, flagged unbudgeted; the government's "
                          "shares of earlier years received and the year's in-year adjustment-fund allocations are "
                          "taken out of their lines and shown after the result, outside the totals (revenue on the "
                          "books = total revenue + those lines)"), lang))
    return Report("budget_execution", *both(N_("Budget execution")), labels.region, str(year),
                  generated_at or now(labels), BUDGET_COLUMNS, tuple(sections), notes)


def execution_blocks(data: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """Budget execution's blocks (book, unit, component): every one with a budget line in force
    OR an actual — a revenue or expenditure movement, a government share received or an in-year
    allocation the rule sets aside (ATTACK17b F5: a unit with actuals and no budget for the year
    — a county whose budget is not yet imported, a unit joining mid-year — is a block of its own,
    budget 0, its lines unbudgeted, and so in the city block's totals)."""
    pooled: Mapping[str, str] = data.get("pooled", {})
    return ({(b["book"], b["unit"], b["component"]) for b in data["budget"]}
            | {(a["book"], a["unit"], a["component"]) for a in data["actual"]
               if int(a["debits"]) or int(a["credits"])}
            | {(g["book"], g["unit"], pooled.get(g["book"], ""))
               for items in (data.get("receipts", ()), data.get("adjustments", ())) for g in items})


def execution_books(blocks: set[tuple[str, str, str]]) -> list[str]:
    """The books of ``blocks`` in the reports' order (the residents' book first): one section each."""
    return sorted({k[0] for k in blocks}, key=lambda b: (b != "RES", b))


#: Budget execution's reconciling lines after a result: what the shortfall rule sets aside from
#: the year's revenue on the books (outside the totals; no budget).
RECONCILING = ("share_receipts", "adjustment_receipts")


def _budget_row(base: Mapping[str, Any], line: str, name: str, vals: Mapping[str, int]) -> dict[str, Any]:
    act = sum(vals[q] for q in _QUARTERS)
    return {**base, "line": line, "name": name, "budget": vals["budget"], **{q: vals[q] for q in _QUARTERS},
            "actual": act, "executed_pct": percent(act, vals["budget"]), "variance": act - vals["budget"],
            "flag": None}


# --------------------------------------------------------------------------- requests

REQUEST_COLUMNS = (
    Column("request_id", N_("Request"), "int"),
    Column("unit", N_("Unit")),
    Column("book", N_("Book")),
    Column("component", N_("Component")),
    Column("quarter", N_("Quarter"), "int"),
    Column("amount_requested", N_("Requested"), "money"),
    Column("amount_approved", N_("Approved"), "money"),
    Column("state", N_("State")),
    Column("action", N_("Action")),
    Column("from_state", N_("From")),
    Column("to_state", N_("To")),
    Column("amount", N_("Amount"), "money"),
    Column("reason", N_("Reason")),
    Column("actor", N_("By")),
    Column("at", N_("At")),
    Column("entry_id", N_("Entry"), "int"),
)


def _local_time(at: dt.datetime | None, labels: Labels) -> str | None:
    """A timestamp as the office's clock shows it (the fund's time zone), ISO to the second."""
    if at is None:
        return None
    from ledger.core.timezone import fund_time_zone

    zone = fund_time_zone(labels.time_zone)
    return (at.astimezone(zone) if at.tzinfo else at.replace(tzinfo=zone)).isoformat(timespec="seconds")


def requests_report(rows: Sequence[Row], *, year: int, labels: Labels, generated_at: dt.datetime | None = None) -> Report:
    """The fund-request register (用款申请登记簿): one line per state change (a request
    with no event yet shows one line without an action). ``at`` is ISO 8601 text in the
    fund's time zone."""
    out = [{"request_id": int(r["request_id"]), "unit": r["unit"], "book": r["book"],
            "component": r["component"] or None, "quarter": int(r["quarter"]),
            "amount_requested": int(r["amount_requested"]),
            "amount_approved": None if r["amount_approved"] is None else int(r["amount_approved"]),
            "state": r["state"], "action": r["action"], "from_state": r["from_state"], "to_state": r["to_state"],
            "amount": None if r["amount"] is None else int(r["amount"]), "reason": r["reason"] or None,
            "actor": r["actor"], "at": _local_time(r["at"], labels),
            "entry_id": r["entry_id"]} for r in rows]
    return Report("requests", *both(N_("Fund request register")), labels.region, str(year),
                  generated_at or now(labels), REQUEST_COLUMNS, (Section(*both(N_("Fund requests")), tuple(out)),))


# --------------------------------------------------------------------------- registers

#: The memo registers' kinds; their names are the codes' words (``ledger.i18n.CODES``).
REGISTER_KINDS = ("fiscal_arrears", "employer_arrears", "unpaid_claims", "government_share")
BUCKETS = (("b0_90", 0, 90), ("b91_180", 91, 180), ("b181_365", 181, 365), ("over_365", 366, None))
REGISTER_COLUMNS = (
    Column("kind_name", N_("Register")),
    Column("kind", N_("Kind")),
    Column("unit", N_("Unit")),
    Column("book", N_("Book")),
    Column("reference", N_("Reference")),
    Column("opened_on", N_("Opened"), "date"),
    Column("amount", N_("Amount"), "money"),
    Column("cleared", N_("Cleared"), "money"),
    Column("outstanding", N_("Outstanding"), "money"),
    Column("age_days", N_("Age (days)"), "int"),
    Column("b0_90", N_("0–90 days"), "money"),
    Column("b91_180", N_("91–180 days"), "money"),
    Column("b181_365", N_("181–365 days"), "money"),
    Column("over_365", N_("Over 365 days"), "money"),
    Column("note", N_("Note")),
)


def bucket_of(age_days: int) -> str:
    for key, lo, hi in BUCKETS:
        if age_days >= lo and (hi is None or age_days <= hi):
            return key
    return BUCKETS[0][0]


def registers_report(rows: Sequence[Row], *, as_of: dt.date, labels: Labels, lang: str = "zh",
                     generated_at: dt.datetime | None = None) -> Report:
    """Memo registers (备查簿) as of a day: each item's amount, what was cleared by then,
    what is outstanding and its age (days since it was opened), the outstanding amount in
    its ageing column (0–90, 91–180, 181–365, over 365 days); totals per column."""
    out = []
    for r in rows:
        outstanding = int(r["amount"]) - int(r["cleared"])
        age = (as_of - r["opened_on"]).days
        row: dict[str, Any] = {
            "kind_name": code_text(r["kind"], lang),
            "kind": r["kind"], "unit": r["unit"], "book": r["book"], "reference": r["reference"],
            "opened_on": r["opened_on"], "amount": int(r["amount"]), "cleared": int(r["cleared"]),
            "outstanding": outstanding, "age_days": age, "note": r["note"] or None}
        if outstanding:
            row[bucket_of(age)] = outstanding
        out.append(row)
    money = ["amount", "cleared", "outstanding", *(k for k, _, _ in BUCKETS)]
    totals = {k: sum(int(r.get(k) or 0) for r in out) for k in money}
    return Report("registers", *both(N_("Memo registers")), labels.region, f"..{as_of}",
                  generated_at or now(labels), REGISTER_COLUMNS, (Section(*both(N_("Memo registers")), tuple(out), totals),))


# --------------------------------------------------------------------------- monitor


@dataclass(frozen=True, slots=True)
class MonitorRow:
    unit: str                  # a unit code, or "all" for a book's consolidated row
    book: str
    surplus: int
    trailing_12m_expenditure: int
    months_payable: Decimal | None
    colour: Colour
    year_result: int
    special_share: int
    planned_result: int | None
    warnings: tuple[RiskWarning, ...]
    basis: Basis = Basis.last_12_months
    outstanding_share: int = 0
    overdue_share: int = 0
    # The second dimension (当期结余率, ledger.core.balance_rate): revenue since 1 January
    # without shortfall receipts, that revenue − expenditure, the rate and its colour.
    year_revenue: int = 0
    current_balance: int = 0
    balance_rate: Decimal | None = None
    balance_rate_colour: Colour = Colour.green
    level: Colour = Colour.green          # the worse of the two colours: what the response plan follows
    response: Response | None = None      # the plan's steps for a yellow or red unit (not the consolidated rows)
    share_receipts: int = 0               # the government's shortfall receipts since 1 January (not in year_revenue)
    adjustment_receipts: int = 0          # the year's in-year adjustment-fund allocations (not in year_revenue)


def _rate(f: MonitorFigures, as_of: dt.date | None) -> tuple[Fraction, Basis]:
    if as_of is None:
        return Fraction(f.trailing_12m_expenditure, 12), Basis.last_12_months
    return monthly_spending(f.trailing_12m_expenditure, f.first_day, as_of)


def monitor_row(unit: str, book: str, f: MonitorFigures, t: Thresholds, rate: tuple[Fraction, Basis] | None = None,
                as_of: dt.date | None = None, r: RateRanges | None = None) -> MonitorRow:
    """Months payable on the cash surplus on the books (a government share still owed is
    shown beside it, ``outstanding_share``, not counted), over the unit's average monthly
    spending on the basis ``monthly_spending`` chooses; and the current-year balance rate
    (``year_revenue`` and ``current_balance`` of the figures)."""
    monthly, basis = rate if rate is not None else _rate(f, as_of)
    months = months_payable_at(f.surplus, monthly)
    c = colour(months, t, f.surplus)
    warns = warnings_for(unit, book, months, c, f.special_share, f.year_result, f.planned_result, f.overdue_share)
    brate = balance_rate(f.current_balance, f.year_revenue)
    rc = rate_colour(brate, r or RateRanges(), f.current_balance)
    if rc == Colour.red:
        text = "no revenue yet" if brate is None else f"{brate} %"
        warns.append(RiskWarning(WarningCode.balance_rate_red, unit, book,
                                 f"{unit} {book}: current-year balance rate {text}, red"))
    return MonitorRow(unit, book, f.surplus, f.trailing_12m_expenditure, months, c,
                      f.year_result, f.special_share, f.planned_result, tuple(warns), basis,
                      f.outstanding_share, f.overdue_share, f.year_revenue, f.current_balance, brate, rc,
                      overall(c, rc), share_receipts=f.share_receipts, adjustment_receipts=f.adjustment_receipts)


def monitor_rows(figures: Sequence[MonitorFigures], t: Thresholds, as_of: dt.date | None = None,
                 r: RateRanges | None = None) -> tuple[list[MonitorRow], list[MonitorRow]]:
    """(per unit and book, consolidated per book) from ``ledger.store.monitor.figures``.
    A consolidated row sums its units' figures (planned result: ``None`` only when no unit
    has a budget) and computes months payable from the sums — its monthly spending is the
    sum of its units' averages, each on its own basis — not as an average of months."""
    rates = [_rate(f, as_of) for f in figures]
    # Sorted by unit code within each book, the way officers look units up.
    rows = sorted((monitor_row(f.unit, f.book, f, t, rt, r=r) for f, rt in zip(figures, rates, strict=True)),
                  key=lambda r: ((r.book != "RES", r.book), r.unit))
    consolidated = []
    for book in sorted({f.book for f in figures}, key=lambda b: (b != "RES", b)):
        fs = [(f, r) for f, r in zip(figures, rates, strict=True) if f.book == book]
        planned = [f.planned_result for f, _ in fs if f.planned_result is not None]
        total = replace(
            fs[0][0], unit=ALL_UNITS, first_day=None, planned_result=sum(planned) if planned else None,
            surplus=sum(f.surplus for f, _ in fs),
            trailing_12m_expenditure=sum(f.trailing_12m_expenditure for f, _ in fs),
            year_result=sum(f.year_result for f, _ in fs), year_revenue=sum(f.year_revenue for f, _ in fs),
            current_balance=sum(f.current_balance for f, _ in fs),
            share_receipts=sum(f.share_receipts for f, _ in fs),
            adjustment_receipts=sum(f.adjustment_receipts for f, _ in fs),
            special_share=sum(f.special_share for f, _ in fs),
            outstanding_share=sum(f.outstanding_share for f, _ in fs),
            overdue_share=sum(f.overdue_share for f, _ in fs))
        bases = {r[1] for _, r in fs}
        basis = bases.pop() if len(bases) == 1 else Basis.mixed
        consolidated.append(monitor_row(ALL_UNITS, book, total, t, (sum((x[0] for _, x in fs), Fraction(0)), basis),
                                        r=r))
    return rows, consolidated


def with_response(row: MonitorRow, resp: Response | None) -> MonitorRow:
    """The row with its response plan; a red overdue without acknowledgement becomes the
    warning ``red_unacknowledged``."""
    if resp is None:
        return row
    warns = row.warnings
    if resp.overdue:
        due = resp.steps[0].due if resp.steps else resp.since
        warns = (*warns, RiskWarning(WarningCode.red_unacknowledged, row.unit, row.book,
                                     f"{row.unit} {row.book}: red since {resp.since}, not acknowledged by {due}"))
    return replace(row, warnings=warns, response=resp)


MONITOR_COLUMNS = (
    Column("unit", N_("Unit")),
    Column("unit_name", N_("Unit name")),
    Column("surplus", N_("Accumulated surplus"), "money"),
    Column("trailing_12m_expenditure", N_("Expenditure, last 12 months"), "money"),
    Column("months_payable", N_("Months payable"), "months"),
    Column("basis", N_("Basis")),
    Column("colour", N_("Colour")),
    Column("year_revenue", N_("Revenue this year"), "money"),
    Column("balance_rate", N_("Current-year balance rate"), "percent"),
    Column("balance_rate_colour", N_("Balance-rate colour")),
    Column("level", N_("Level")),
    Column("outstanding_share", N_("Government share owed"), "money"),
    Column("year_result", N_("Year result to date"), "money"),
    # (ATTACK17) the rule's C and what it sets aside: year_result (the books) = C + the two
    Column("current_balance", N_("Current-year result of the shortfall rule (C)"), "money"),
    Column("share_receipts", N_("Earlier years' government shares received (not this year's revenue)"), "money"),
    Column("adjustment_receipts", N_("In-year adjustment-fund allocations (set aside by the shortfall rule)"),
           "money"),
    Column("special_share", N_("Special-account share"), "money"),
    Column("planned_result", N_("Planned result"), "money"),
    Column("warnings", N_("Warnings")),
)


def monitor_report(rows: Sequence[MonitorRow], consolidated: Sequence[MonitorRow], *, as_of: dt.date,
                   t: Thresholds, labels: Labels, lang: str = "zh", generated_at: dt.datetime | None = None,
                   ranges: RateRanges | None = None) -> Report:
    """One section per book: the consolidated row (unit ``all``) first, then each unit. With no
    consolidated row for a book (a confined reader's, ATTACK17 E10) its section has its units only."""
    sections = []
    books = sorted({r.book for r in [*consolidated, *rows]}, key=lambda b: (b != "RES", b))
    for book in books:
        out = []
        for r in [*(c for c in consolidated if c.book == book), *(r for r in rows if r.book == book)]:
            name = translate(N_("Whole region"), lang) if r.unit == ALL_UNITS \
                else labels.name("units", r.unit, lang)
            out.append({"unit": r.unit, "unit_name": name, "surplus": r.surplus,
                        "trailing_12m_expenditure": r.trailing_12m_expenditure, "months_payable": r.months_payable,
                        "basis": r.basis.value, "colour": r.colour.value, "year_revenue": r.year_revenue,
                        "balance_rate": r.balance_rate, "balance_rate_colour": r.balance_rate_colour.value,
                        "level": r.level.value, "outstanding_share": r.outstanding_share,
                        "year_result": r.year_result, "current_balance": r.current_balance,
                        "share_receipts": r.share_receipts, "adjustment_receipts": r.adjustment_receipts,
                        "special_share": r.special_share,
                        "planned_result": r.planned_result,
                        "warnings": ", ".join(w.code for w in r.warnings) or None})
        pooled = str(labels.books.get(book, {}).get("pooled_component") or "")
        zh, en = section_title(labels, book, pooled)
        sections.append(Section(zh, en, tuple(out)))
    note = translate(N_("months payable = accumulated surplus on the books (cash; a government shortfall share "
                        "still owed is shown beside it, not counted) ÷ average monthly expenditure: the last 12 "
                        "months ÷ 12, or, with less than 12 months of a unit in the ledger, its daily expenditure "
                        "since its first day × 365 ÷ 12 (basis); red below {red}, yellow below {yellow}, green up "
                        "to {excess}, excess above"), lang).format(
        red=t.red_below, yellow=t.yellow_below, excess=t.excess_above)
    rr = ranges or RateRanges()
    rate_note = translate(N_("current-year balance rate = (revenue − expenditure since 1 January) ÷ revenue "
                             "since 1 January × 100, a government's shortfall payment not counted as revenue; red "
                             "below {red} %, yellow below {yellow} %, green up to {excess} %, excess above; the level "
                             "is the worse of the two colours"), lang).format(
        red=rr.red_below, yellow=rr.yellow_below, excess=rr.excess_above)
    return Report("monitor", *both(N_("Risk monitoring")), labels.region, f"..{as_of}",
                  generated_at or now(labels), MONITOR_COLUMNS, tuple(sections), (note, rate_note))


# --------------------------------------------------------------------------- chart series


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def monitor_series(monthly: Sequence[MonthFigures], *, year: int, through: dt.date, labels: Labels,
                   first_days: Mapping[str, dt.date] | None = None,
                   lang: str = "zh") -> dict[str, list[tuple[dt.date, Decimal | None]]]:
    """Months payable at each month end of ``year`` up to ``through``, per unit (keyed by
    its name in ``lang``), from ``ledger.store.monitor.monthly``; with ``first_days`` (each
    unit's first day in the book) a unit with less than 12 months in the ledger is
    measured on its daily spending since then, as the monitor does."""
    last = 12 if through.year > year else through.month
    by_unit: dict[str, dict[dt.date, MonthFigures]] = defaultdict(dict)
    for r in monthly:
        by_unit[r.unit][r.month] = r
    out: dict[str, list[tuple[dt.date, Decimal | None]]] = {}
    for unit in labels.unit_order(by_unit):
        months = by_unit[unit]
        points = []
        for m in range(1, last + 1):
            first = dt.date(year, m, 1)
            # the 12 months ending with month m (as ``figures``: days after the same day a year before)
            window_start = dt.date(year, 1, 1) if m == 12 else dt.date(year - 1, m + 1, 1)
            surplus = sum(r.net_assets for k, r in months.items() if k <= first)
            spent = sum(r.expenditure for k, r in months.items() if window_start <= k <= first)
            end = month_end(year, m)
            rate = monthly_spending(spent, (first_days or {}).get(unit), end)[0]
            points.append((end, months_payable_at(surplus, rate)))
        out[labels.name("units", unit, lang)] = points
    return out


def balances_series(daily: Sequence[SpecialDay], *, year: int, end: dt.date,
                    labels: Labels, lang: str = "zh") -> dict[str, list[tuple[dt.date, int]]]:
    """Each unit's share of the special account (fen) from 1 January of ``year``: the
    balance brought forward, then the balance after every day with a movement, and a last
    point at ``end``; from ``ledger.store.monitor.special_daily``."""
    start = dt.date(year, 1, 1)
    by_unit: dict[str, list[SpecialDay]] = defaultdict(list)
    for r in daily:
        by_unit[r.unit].append(r)
    out: dict[str, list[tuple[dt.date, int]]] = {}
    for unit in labels.unit_order(by_unit):
        rs = sorted(by_unit[unit], key=lambda r: r.day)
        balance = sum(r.change for r in rs if r.day < start)
        points = [(start, balance)]
        for r in rs:
            if start <= r.day <= end:
                balance += r.change
                points.append((r.day, balance))
        if points[-1][0] < end:
            points.append((end, balance))
        out[labels.name("units", unit, lang)] = points
    return out
