"""Funding standards (筹资标准): insured headcounts per unit, book and year; and the
provincial adjustment fund (调剂金): remittances and allocations.

The report itself is ``fundledger report funding`` (cli/cmd_reports.py); file format and
JSON keys: docs/imports.md, docs/reports.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.context import (
    check_year,
    console,
    emit_json,
    err_console,
    parse_date_opt,
    plain,
    read,
    status_text,
    table,
    write,
)
from ledger.core.money import format_yuan, parse_fen
from ledger.core.shapes import as_row, to_json
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _
from ledger.store import adjfund, funding, imports

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/imports.md).")]
FileArg = Annotated[Path, typer.Argument(help="CSV (UTF-8 or Excel's GBK) or XLSX file; columns in docs/imports.md.")]

insured_app = typer.Typer(help="Insured headcounts per unit, book and year.", no_args_is_help=True)
adjfund_app = typer.Typer(help="The provincial adjustment fund: remittances and allocations.",
                          no_args_is_help=True)
YearOpt = Annotated[int, typer.Option("--year", callback=check_year, help="The fiscal year the money is for.")]
DateOpt = Annotated[str, typer.Option("--date", help="The day the money moves (YYYY-MM-DD).")]
BookOpt = Annotated[str, typer.Option("--book", help="The book (RES or EMP).")]

@insured_app.command("import")
def insured_import(file: FileArg, json_out: JsonOpt = False) -> None:
    """Import headcounts (year, unit, book, insured[, reason]); a changed figure is a
    correction: a new version, which needs a reason. City bureau (reviewer)."""
    r = write(lambda c: imports.import_file(c, "insured", file))
    assert isinstance(r, imports.InsuredImport)
    for notice in r.notices:
        err_console.print(_("notice: {notice}").format(notice=notice), markup=False)
    if json_out:
        emit_json(to_json(r))
        return
    for h in r.headcounts:
        console.print(_("{status}: {year} {unit} {book}: {insured} insured (version {version})").format(
            status=status_text(h.status), year=h.year, unit=plain(h.unit), book=plain(h.book), insured=f"{h.insured:,}",
            version=h.version))


@insured_app.command("show")
def insured_show(
    year: Annotated[int, typer.Option("--year", callback=check_year, help="The year.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    history: Annotated[bool, typer.Option("--history", help="Every version, with the reasons for corrections.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """The headcounts of a year in force (latest version), or their whole history."""
    rows = read(lambda c: funding.headcounts(c, year, history=history, unit=unit, book=book))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    if not rows:
        console.print(_("no headcount for {year} (import one with: fundledger insured import FILE)").format(year=year))
        return
    table(_("insured {year}").format(year=year),
          [("book", _("book")), ("unit", _("unit")), ("version", _("version")), ("insured", _("insured")),
           ("reason", _("reason")), ("recorded_by", _("by"))],
          [dict(as_row(r), insured=f"{r.insured:,}") for r in rows])


def _date(text: str) -> dt.date:
    d = parse_date_opt(text, "date")
    assert d is not None
    return d


@adjfund_app.command("remit")
def adjfund_remit(year: YearOpt, date: DateOpt, book: BookOpt = "RES", json_out: JsonOpt = False) -> None:
    """Remit each unit's share for the year to the provincial adjustment fund (the
    region's rate of its contributions, or its fixed amount): Dr 5301 / Cr 1003. City finance; held until the city bureau or
    another finance user confirms (fundledger entry confirm)."""
    rows = write(lambda c: adjfund.remit(c, year=year, book=book.upper(), on=_date(date)))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    for r in rows:
        console.print(_("{status}: remittance {year} {unit} {amount} (held entry {held})").format(
            status=status_text(r.status), year=year, unit=plain(r.unit), amount=format_yuan(r.amount), held=r.held_id))


@adjfund_app.command("allocate")
def adjfund_allocate(
    year: YearOpt, date: DateOpt,
    amount: Annotated[str, typer.Option("--amount", help="Yuan the province paid for the year.")],
    book: BookOpt = "RES",
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key (default: year, book, date, amount).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record an allocation the province paid for a year, shared among the units by the
    region's rule (Dr 1003 / Cr 4401). In the year: it covers the gap after the surplus and
    before the government; after the year's close: it settles that year's government share
    in the government's place. City finance."""
    try:
        fen = parse_fen(amount, allow_zero=False)
    except BadAmount as e:
        raise BadInput(_("--amount: {error}").format(error=e.message)) from e
    on = _date(date)
    k = key or f"{year}:{book.upper()}:{on}:{fen}"
    allocated = write(lambda c: adjfund.allocate(c, year=year, book=book.upper(), amount=fen, on=on, key=k))
    if json_out:
        emit_json([to_json(a) for a in allocated])
        return
    for a in allocated:
        console.print(_("{status}: allocation for {year} to {unit}: {amount} (settles {settles}, entry {entry})").format(
            status=status_text(a.status), year=year, unit=plain(a.unit), amount=format_yuan(a.amount), settles=a.settles,
            entry=a.entry_id))


def register(app: typer.Typer) -> None:
    app.add_typer(insured_app, name="insured")
    app.add_typer(adjfund_app, name="adjfund")
