"""``fundledger monitor`` (可支付月数 and warnings; exit 3 when any row is red) and
``fundledger chart monitor|balances`` (PNG charts). Registered by cli/cmd_reports.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import console, emit_json, parse_date_opt, read
from cli.exports import checked_lang, export_report, render_report
from cli.outfiles import FORCE_HELP, check_target, safe_target
from ledger.core.money import decimal_text, format_yuan
from ledger.core.monitor import exit_code_for
from ledger.errors import BadInput
from ledger.i18n import _, code_text, get_lang
from ledger.reports import builders_fund
from ledger.reports.builders_fund import MonitorRow
from ledger.store import monitor as store_monitor
from ledger.store import reports

chart_app = typer.Typer(help="Charts as PNG files (matplotlib, Chinese unit names).", no_args_is_help=True)

MONITOR_KEYS = ["unit", "book", "surplus", "trailing_12m_expenditure", "months_payable", "basis", "colour",
                "year_result", "special_share", "planned_result", "outstanding_share", "overdue_share", "warnings"]


def monitor_json(r: MonitorRow) -> dict[str, Any]:
    return {"unit": r.unit, "book": r.book, "surplus": decimal_text(r.surplus),
            "trailing_12m_expenditure": decimal_text(r.trailing_12m_expenditure),
            "months_payable": None if r.months_payable is None else format(r.months_payable, "f"),
            "basis": r.basis.value, "colour": r.colour.value, "year_result": decimal_text(r.year_result),
            "special_share": decimal_text(r.special_share),
            "planned_result": None if r.planned_result is None else decimal_text(r.planned_result),
            "outstanding_share": decimal_text(r.outstanding_share), "overdue_share": decimal_text(r.overdue_share),
            "warnings": [{"code": str(w.code), "message": w.message} for w in r.warnings]}


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
    }
    text = texts.get(code)
    if text is None:
        return f"{code}: {who}"
    return text.format(who=who, months=months, share=format_yuan(r.special_share),
                       deficit=format_yuan(-r.year_result), planned=format_yuan(-(r.planned_result or 0)))


def monitor(
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
    """可支付月数: months payable, colour and warnings per unit and book and for the whole
    region. Exit code 0 when nothing is red, 3 when any row is red (for schedulers)."""
    lang = checked_lang(lang)
    day = parse_date_opt(as_of, "as-of") or dt.date.today()

    def work(c):  # type: ignore[no-untyped-def]
        t = reports.thresholds(c)
        rows, cons = builders_fund.monitor_rows(store_monitor.figures(c, as_of=day, book=book, unit=unit), t,
                                                 as_of=day)
        return t, rows, cons, reports.labels(c)
    t, rows, cons, labels = read(work)
    report = builders_fund.monitor_report(rows, cons, as_of=day, t=t, labels=labels, lang=lang)
    export_report(report, csv, xlsx, lang, force=force)
    if json_out:
        emit_json({"as_of": day.isoformat(),
                   "thresholds": {"red_below": str(t.red_below), "yellow_below": str(t.yellow_below),
                                  "excess_above": str(t.excess_above)},
                   "rows": [monitor_json(r) for r in rows], "consolidated": [monitor_json(r) for r in cons]})
    else:
        render_report(report, lang)
        for r in [*cons, *rows]:
            for w in r.warnings:
                style = "red" if w.code == "red" else "yellow"
                label = _("warning")
                console.print(f"[{style}]{label}[/{style}] {warning_text(r, str(w.code))}")
    code = exit_code_for(r.colour for r in [*rows, *cons])
    if code:
        raise typer.Exit(code)


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
    year: Annotated[int, typer.Option("--year", help="The year to draw, month by month.")],
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
    year: Annotated[int, typer.Option("--year", help="The year to draw, day by day.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")] = "RES",
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """Each unit's share of the city finance special account (财政专户) over the year, in 万元."""
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
    app.command("monitor")(monitor)
    app.add_typer(chart_app, name="chart")
