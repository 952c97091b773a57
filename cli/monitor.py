"""``fundledger monitor``'s body and views, without Typer: run by its Typer command
(cli/cmd_monitor.py) and by the read commands' fast path (cli/entry.py), so both print the
same thing and exit with the same code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.context import console, emit_json, own_unit_only, parse_date_opt, plain, read
from cli.exports import checked_lang, export_report, render_report
from ledger.core.balance_rate import RateRanges
from ledger.core.money import decimal_text, format_yuan
from ledger.core.monitor import Thresholds, exit_code_for, level_of
from ledger.i18n import _, code_text, get_lang
from ledger.reports import builders_fund
from ledger.reports.builders import Labels
from ledger.reports.builders_fund import MonitorRow
from ledger.store import monitor as store_monitor
from ledger.store import reports, year_settings
from ledger.store import watch as store_watch
from ledger.store.db import Conn

if TYPE_CHECKING:
    from ledger.core.response import Response


def response_json(resp: Response | None) -> dict[str, Any] | None:
    if resp is None:
        return None
    a = resp.ack
    return {"level": resp.level, "since": resp.since.isoformat(),
            "steps": [{"step": i, "notify": d.step.notify, "review": d.step.review, "days": d.step.days,
                       "due": d.due.isoformat()} for i, d in enumerate(resp.steps, 1)],
            "acknowledgement": None if a is None else {
                "id": a.id, "level": a.level, "acknowledged_on": a.acknowledged_on.isoformat(),
                "acknowledged_by": a.acknowledged_by, "decision": a.decision,
                "recorded_at": None if a.recorded_at is None else a.recorded_at.isoformat(),
                "recorded_on": None if a.recorded_on is None else a.recorded_on.isoformat(),
                # judged by the later of the day named and the day recorded (ATTACK17 E8)
                "late": bool(resp.steps) and a.answered_on > resp.steps[0].due},
            "overdue": resp.overdue}


def monitor_json(r: MonitorRow) -> dict[str, Any]:
    return {"unit": r.unit, "book": r.book, "surplus": decimal_text(r.surplus),
            "trailing_12m_expenditure": decimal_text(r.trailing_12m_expenditure),
            "months_payable": None if r.months_payable is None else format(r.months_payable, "f"),
            "basis": r.basis.value, "colour": r.colour.value,
            "year_revenue": decimal_text(r.year_revenue), "current_balance": decimal_text(r.current_balance),
            "share_receipts": decimal_text(r.share_receipts),
            "adjustment_receipts": decimal_text(r.adjustment_receipts),
            "balance_rate": None if r.balance_rate is None else format(r.balance_rate, "f"),
            "balance_rate_colour": r.balance_rate_colour.value, "level": r.level.value,
            "year_result": decimal_text(r.year_result),
            "special_share": decimal_text(r.special_share),
            "planned_result": None if r.planned_result is None else decimal_text(r.planned_result),
            "outstanding_share": decimal_text(r.outstanding_share), "overdue_share": decimal_text(r.overdue_share),
            "warnings": [{"code": str(w.code), "message": w.message} for w in r.warnings],
            "response": response_json(r.response)}


def warning_text(r: MonitorRow, code: str) -> str:
    """A monitoring warning in words, from the row's own figures (the codes stay in --json)."""
    who = f"{code_text(r.unit)} {r.book}"
    months = (_("no expenditure in the last 12 months") if r.months_payable is None
              else _("{months} months payable").format(months=r.months_payable))
    texts = {
        "red": _("{who}: {months}, red (not enough to pay on)"),
        "excess": _("{who}: {months}, excess (surplus larger than the guidance allows)"),
        "negative_share": _("{who}: share of the special account is {share} yuan (has drawn more than it put in)"),
        "running_deficit": _("{who}: deficit of {deficit} yuan so far this year"),
        "planned_deficit": _("{who}: the budget plans a deficit of {planned} yuan"),
        "share_overdue": _("{who}: the local government owes {overdue} yuan of shortfall shares past their due date"),
        "balance_rate_red": _("{who}: current-year balance rate {rate}, red (spending runs ahead of revenue)"),
        "red_unacknowledged": _("{who}: red since {since}, not acknowledged by {due} (fundledger monitor ack)"),
    }
    text = texts.get(code)
    if text is None:
        return f"{code}: {who}"
    resp = r.response
    return text.format(who=who, months=months, share=format_yuan(r.special_share),
                       deficit=format_yuan(-r.year_result), planned=format_yuan(-(r.planned_result or 0)),
                       overdue=format_yuan(r.overdue_share),
                       rate=_("no revenue yet") if r.balance_rate is None else f"{r.balance_rate}%",
                       since=resp.since if resp else "", due=resp.steps[0].due if resp and resp.steps else "")


def monitor_view(c: Conn, day: dt.date, *, book: str | None = None, unit: str | None = None,
                 ) -> tuple[Thresholds, RateRanges, list[MonitorRow], list[MonitorRow], Labels]:
    """Both dimensions per unit and book on ``day``, each yellow or red unit with its
    response plan (the history since its warning started, the acknowledgements on record)."""
    t, rr = year_settings.colours(c, [day.year])[day.year]   # (0162) the day's year's
    figs = store_monitor.figures(c, as_of=day, book=book, unit=unit)
    rows, cons = builders_fund.monitor_rows(figs, t, as_of=day, r=rr)
    if unit is not None or reports.confined_unit(c) is not None:
        # an officer's 'all' row, or one over --unit, would be one unit's under the city's label (ATTACK17
        # E10); the balance sheet with --unit has no Consolidated block either
        cons = []
    warned = [r for r in rows if level_of(r.level) is not None]
    if warned:
        # The forecast behind a response plan is loaded only when a unit is yellow or red.
        from ledger.core.watch import unit_response
        from ledger.store import forecast as store_forecast

        hist = store_forecast.history(c, origin=day, book=book, unit=unit)
        firsts = {(f.unit, f.book): f.first_day for f in figs}
        plans, acks = store_watch.plans(c), store_watch.acks(c, as_of=day, book=book, unit=unit)
        # (0162) the month ends the plan looks back on, each coloured with its year's settings
        years = {f.month.year for h in hist.values() for f in h if f.month.year < day.year}
        by_year = year_settings.colours(c, sorted(years))
        out = {}
        for r in warned:
            out[(r.unit, r.book)] = builders_fund.with_response(r, unit_response(
                r.unit, r.book, r.level, hist.get((r.unit, r.book), []), as_of=day, t=t, r=rr, plans=plans,
                acks=acks, first_day=firsts.get((r.unit, r.book)), by_year=by_year))
        rows = [out.get((r.unit, r.book), r) for r in rows]
    return t, rr, rows, cons, reports.labels(c)


def _response_lines(r: MonitorRow, labels: Labels) -> list[str]:
    """A yellow or red unit's plan in a few short lines (80 columns: long texts fold)."""
    resp = r.response
    if resp is None:
        return []
    style = "bold red" if resp.level == "red" else "yellow"
    name = labels.name("units", r.unit, get_lang())
    lines = [f"[{style}]" + _("Response plan {unit} {name} {book}: {level} since {since}").format(
        unit=plain(r.unit), name=plain(name), book=plain(r.book), level=plain(code_text(resp.level)), since=resp.since) + f"[/{style}]"]
    for i, d in enumerate(resp.steps, 1):
        lines.append("  " + _("{n}. by {due}: tell {notify}").format(n=i, due=d.due, notify=plain(d.step.notify)))
        lines.append("     " + plain(d.step.review))
    a = resp.ack
    if a is not None:
        lines.append("  " + _("acknowledged {on} by {who}: {decision}").format(
            on=a.acknowledged_on, who=plain(a.acknowledged_by), decision=plain(a.decision)))
        if a.answered_on > a.acknowledged_on:
            lines.append("  " + _("recorded {rec}, after the day it names ({on})").format(rec=a.answered_on, on=a.acknowledged_on))
        if resp.steps and a.answered_on > resp.steps[0].due:
            lines.append("  [bold red]" + _("acknowledged late: past {due}").format(due=resp.steps[0].due) + "[/bold red]")
    elif resp.overdue:
        lines.append("  [bold red]" + _("not acknowledged, past {due}").format(due=resp.steps[0].due) + "[/bold red]")
    else:
        lines.append("  " + _("not acknowledged yet"))
    return lines


def run_monitor(*, as_of: str | None, unit: str | None, book: str | None, json_out: bool, csv: Path | None,
                xlsx: Path | None, lang: str | None, force: bool) -> int:
    """Risk monitoring (the command's help is cli/cmd_monitor.py's): the report, JSON or
    tables; the exit code, 0 when nothing is red, 3 when any row's level is red."""
    lang = checked_lang(lang)
    day = parse_date_opt(as_of, "as-of") or dt.date.today()
    t, rr, rows, cons, labels = read(lambda c: monitor_view(own_unit_only(c, unit), day, book=book, unit=unit))
    report = builders_fund.monitor_report(rows, cons, as_of=day, t=t, labels=labels, lang=lang, ranges=rr)
    export_report(report, csv, xlsx, lang, force=force)
    if json_out:
        emit_json({"as_of": day.isoformat(),
                   "thresholds": {"red_below": str(t.red_below), "yellow_below": str(t.yellow_below),
                                  "excess_above": str(t.excess_above)},
                   "balance_rate_ranges": {"red_below": str(rr.red_below), "yellow_below": str(rr.yellow_below),
                                           "excess_above": str(rr.excess_above)},
                   "rows": [monitor_json(r) for r in rows], "consolidated": [monitor_json(r) for r in cons]})
    else:
        render_report(report, lang)
        for r in [*cons, *rows]:
            for w in r.warnings:
                style = "red" if w.code in ("red", "balance_rate_red", "red_unacknowledged") else "yellow"
                label = _("warning")
                console.print(f"[{style}]{plain(label)}[/{style}] {plain(warning_text(r, str(w.code)))}")
        for r in rows:
            for line in _response_lines(r, labels):
                console.print(line)
    return exit_code_for(r.level for r in [*rows, *cons])
