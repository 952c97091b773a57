"""``fundledger monitor`` (可支付月数 and warnings; exit 3 when any row is red) and
``fundledger chart monitor|balances`` (PNG charts). Registered by cli/main.py (``COMMANDS``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import check_year, console, emit_json, parse_date_opt, plain, read, write
from cli.monitor import monitor_view, run_monitor
from cli.outfiles import FORCE_HELP, check_target, safe_target
from ledger.errors import BadInput
from ledger.i18n import _, code_text, get_lang
from ledger.reports import builders_fund
from ledger.store import monitor as store_monitor
from ledger.store import reports, year_settings
from ledger.store import watch as store_watch
from ledger.store.db import Conn

chart_app = typer.Typer(help="Charts as PNG files (matplotlib, Chinese unit names).", no_args_is_help=True)


monitor_app = typer.Typer(invoke_without_command=True)   # help: the callback's docstring


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
    code = run_monitor(as_of=as_of, unit=unit, book=book, json_out=json_out, csv=csv, xlsx=xlsx, lang=lang,
                       force=force)
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
    console.print(msg.format(id=out["id"], unit=plain(unit), book=plain(book), level=plain(code_text(level)),
                             since=out["since"], on=out["acknowledged_on"], decision=plain(out["decision"])))


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
                                              first_days=store_monitor.first_days(c, book=book, as_of=end),
                                              lang=get_lang())
        return series, year_settings.thresholds(c, year), labels
    series, t, labels = read(work)
    title = monitor_title(labels, book, year)
    from ledger.reports import charts  # matplotlib: 0.3 s that no other command needs

    with safe_target(path, force=force, option="--out") as tmp:
        charts.monitor_chart(series, (t.red_below, t.yellow_below, t.excess_above), title, tmp)
    console.print(_("wrote {file}").format(file=plain(path)))


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
    console.print(_("wrote {file}").format(file=plain(path)))


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(chart_app, name="chart")
