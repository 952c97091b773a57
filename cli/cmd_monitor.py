"""``fundledger monitor`` (可支付月数 and warnings; exit 3 when any row is red) and
``fundledger chart monitor|balances`` (PNG charts). Registered by cli/main.py (``COMMANDS``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.context import check_year, console, emit_json, parse_date_opt, read, write
from cli.exports import checked_lang, export_report, render_report
from cli.outfiles import FORCE_HELP, check_target, safe_target
from ledger.core.balance_rate import RateRanges
from ledger.core.money import decimal_text, format_yuan
from ledger.core.monitor import Thresholds, exit_code_for, level_of
from ledger.errors import BadInput
from ledger.i18n import _, code_text, get_lang
from ledger.reports import builders_fund
from ledger.reports.builders import Labels
from ledger.reports.builders_fund import MonitorRow
from ledger.store import monitor as store_monitor
from ledger.store import reports
from ledger.store import watch as store_watch
from ledger.store.db import Conn

if TYPE_CHECKING:
    from ledger.core.response import Response

chart_app = typer.Typer(help="Charts as PNG files (matplotlib, Chinese unit names).", no_args_is_help=True)


monitor_app = typer.Typer(invoke_without_command=True)   # help: the callback's docstring


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
                "late": bool(resp.steps) and a.acknowledged_on > resp.steps[0].due},
            "overdue": resp.overdue}


def monitor_json(r: MonitorRow) -> dict[str, Any]:
    return {"unit": r.unit, "book": r.book, "surplus": decimal_text(r.surplus),
            "trailing_12m_expenditure": decimal_text(r.trailing_12m_expenditure),
            "months_payable": None if r.months_payable is None else format(r.months_payable, "f"),
            "basis": r.basis.value, "colour": r.colour.value,
            "year_revenue": decimal_text(r.year_revenue), "current_balance": decimal_text(r.current_balance),
            "share_receipts": decimal_text(r.share_receipts),
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
    t, rr = reports.thresholds(c), store_watch.rate_ranges(c)
    figs = store_monitor.figures(c, as_of=day, book=book, unit=unit)
    rows, cons = builders_fund.monitor_rows(figs, t, as_of=day, r=rr)
    warned = [r for r in rows if level_of(r.level) is not None]
    if warned:
        # The forecast behind a response plan is loaded only when a unit is yellow or red.
        from ledger.core.watch import unit_response
        from ledger.store import forecast as store_forecast

        hist = store_forecast.history(c, origin=day, book=book, unit=unit)
        firsts = {(f.unit, f.book): f.first_day for f in figs}
        plans, acks = store_watch.plans(c), store_watch.acks(c, as_of=day, book=book, unit=unit)
        out = {}
        for r in warned:
            out[(r.unit, r.book)] = builders_fund.with_response(r, unit_response(
                r.unit, r.book, r.level, hist.get((r.unit, r.book), []), as_of=day, t=t, r=rr, plans=plans,
                acks=acks, first_day=firsts.get((r.unit, r.book))))
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
        unit=r.unit, name=name, book=r.book, level=code_text(resp.level), since=resp.since) + f"[/{style}]"]
    for i, d in enumerate(resp.steps, 1):
        lines.append("  " + _("{n}. by {due}: tell {notify}").format(n=i, due=d.due, notify=d.step.notify)
                     .replace("[", "\\["))
        lines.append("     " + d.step.review.replace("[", "\\["))
    a = resp.ack
    if a is not None:
        lines.append("  " + _("acknowledged {on} by {who}: {decision}").format(
            on=a.acknowledged_on, who=a.acknowledged_by, decision=a.decision).replace("[", "\\["))
    elif resp.overdue:
        lines.append("  [bold red]" + _("not acknowledged, past {due}").format(due=resp.steps[0].due) + "[/bold red]")
    else:
        lines.append("  " + _("not acknowledged yet"))
    return lines


@monitor_app.callback()
def monitor(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Figures at the end of this day (default today).")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit.")] = None,
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (keys in docs/reports.md).")] = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write CSV here.")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write an Excel workbook here.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", metavar="zh|en", help="zh or en (default: the language in "
                                             "force).")] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Risk monitoring: months payable and the current-year balance rate per unit and
    book and for the whole region, each coloured against its range, the warnings, and for
    each yellow or red unit its response plan with due dates and the
    acknowledgement on record (monitor ack records one). Exit code 0 when nothing is
    red, 3 when any row's level is red (for schedulers)."""
    if ctx.invoked_subcommand is not None:
        return
    lang = checked_lang(lang)
    day = parse_date_opt(as_of, "as-of") or dt.date.today()
    t, rr, rows, cons, labels = read(lambda c: monitor_view(c, day, book=book, unit=unit))
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
                console.print(f"[{style}]{label}[/{style}] {warning_text(r, str(w.code))}")
        for r in rows:
            for line in _response_lines(r, labels):
                console.print(line)
    code = exit_code_for(r.level for r in [*rows, *cons])
    if code:
        raise typer.Exit(code)


@monitor_app.command("ack")
def ack(
    unit: Annotated[str, typer.Argument(help="The unit whose warning is acknowledged.")],
    level: Annotated[str, typer.Option("--level", metavar="yellow|red", help="The warning's level: the unit's "
                                       "level on --on (a red is acknowledged by the city bureau or finance).")],
    decision: Annotated[str, typer.Option("--decision", help="What was decided (kept in the record).")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")] = "RES",
    on: Annotated[str | None, typer.Option("--on", help="The day the decision was taken (default today; not in "
                                           "the future).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key never records twice "
                                            "(default: from the unit, book, level, warning, day and decision).")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (keys in docs/reports.md).")] = False,
) -> None:
    """Acknowledge a unit's yellow or red warning and record what was decided (fl.monitor_ack,
    kept and chained with the rest of the record). The warning is the unit's on --on: the
    level must be its level that day, and the acknowledgement answers the warning from its
    start on. Reviewers and finance for any unit; an officer only a yellow of their own."""
    if level not in ("yellow", "red"):
        raise BadInput(_("--level must be yellow or red, not {level}").format(level=level))
    if not decision.strip():
        raise BadInput(_("--decision: say what was decided (it is kept in the record)"))
    day = parse_date_opt(on, "on") or dt.date.today()

    def work(c: Conn) -> dict[str, Any]:
        _t, _rr, rows, _cons, _labels = monitor_view(c, day, book=book, unit=unit)
        row = next((r for r in rows if r.unit == unit and r.book == book), None)
        if row is None:
            raise BadInput(_("{unit} {book}: no figures on {day} (unknown unit, or none you may see)").format(
                unit=unit, book=book, day=day))
        if row.response is None or row.response.level != level:
            raise BadInput(_("{unit} {book} is {level} on {day}, not {asked}: acknowledge the warning it has").format(
                unit=unit, book=book, level=code_text(row.level.value), day=day, asked=code_text(level)))
        since = row.response.since
        k = key or f"ack:{unit}:{book}:{level}:{since}:{day}:{hashlib.sha256(decision.strip().encode()).hexdigest()[:16]}"
        ack_id, status = store_watch.acknowledge(c, unit=unit, book=book, level=level, since=since, on=day,
                                                 decision=decision, key=k)
        return {"id": ack_id, "status": status, "unit": unit, "book": book, "level": level,
                "since": since.isoformat(), "acknowledged_on": day.isoformat(), "decision": decision.strip()}
    out = write(work)
    if json_out:
        emit_json(out)
        return
    msg = (_("acknowledgement {id} recorded: {unit} {book} {level} since {since}, decided on {on}: {decision}")
           if out["status"] == "recorded" else
           _("acknowledgement {id} was already recorded with this key: {unit} {book} {level} since {since}"))
    console.print(msg.format(id=out["id"], unit=unit, book=book, level=code_text(level), since=out["since"],
                             on=out["acknowledged_on"], decision=out["decision"]).replace("[", "\\["))


def _period(year: int) -> tuple[dt.date, dt.date]:
    if not 2000 <= year <= 2100:
        raise BadInput(_("--year {year} is out of range").format(year=year))
    return dt.date(year, 1, 1), min(dt.date(year, 12, 31), max(dt.date.today(), dt.date(year, 1, 1)))


def _out_path(out: Path, force: bool) -> Path:
    return check_target(out, force=force, option="--out")


def monitor_title(labels: Any, book: str, year: int) -> str:
    """``佳木斯市 230800 城乡居民 2024年 可支付月数`` in the language in force."""
    return _("{region} {book} {year}: months payable").format(region=labels.region,
                                                               book=labels.name("books", book, get_lang()), year=year)


def balances_title(labels: Any, book: str, year: int) -> str:
    return _("{region} {book} {year}: each unit's share of the special account").format(
        region=labels.region, book=labels.name("books", book, get_lang()), year=year)


@chart_app.command("monitor")
def chart_monitor(
    year: Annotated[int, typer.Option("--year", callback=check_year, help="The year to draw, month by month.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP (its pooled fund).")] = "RES",
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Months payable per unit at each month end of the year, over the red/yellow/green/excess bands."""
    _start, end = _period(year)
    path = _out_path(out, force)

    def work(c):  # type: ignore[no-untyped-def]
        labels = reports.labels(c)
        series = builders_fund.monitor_series(store_monitor.monthly(c, book=book, end=end), year=year,
                                              through=end, labels=labels,
                                              first_days=store_monitor.first_days(c, book=book, end=end),
                                              lang=get_lang())
        return series, reports.thresholds(c), labels
    series, t, labels = read(work)
    title = monitor_title(labels, book, year)
    from ledger.reports import charts  # matplotlib: 0.3 s that no other command needs

    with safe_target(path, force=force, option="--out") as tmp:
        charts.monitor_chart(series, (t.red_below, t.yellow_below, t.excess_above), title, tmp)
    console.print(_("wrote {file}").format(file=path))


@chart_app.command("balances")
def chart_balances(
    year: Annotated[int, typer.Option("--year", callback=check_year, help="The year to draw, day by day.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")] = "RES",
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Each unit's share of the city finance special account over the year, in 10,000 yuan."""
    _start, end = _period(year)
    path = _out_path(out, force)

    def work(c):  # type: ignore[no-untyped-def]
        labels = reports.labels(c)
        return builders_fund.balances_series(store_monitor.special_daily(c, book=book, end=end), year=year, end=end,
                                             labels=labels, lang=get_lang()), labels
    series, labels = read(work)
    title = balances_title(labels, book, year)
    from ledger.reports import charts

    with safe_target(path, force=force, option="--out") as tmp:
        charts.balances_chart(series, title, tmp)
    console.print(_("wrote {file}").format(file=path))


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(chart_app, name="chart")
