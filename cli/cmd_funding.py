"""Funding standards (筹资标准): insured headcounts per unit, book and year.

The report itself is ``fundledger report funding`` (cli/cmd_reports.py); file format and
JSON keys: docs/imports.md, docs/reports.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import console, emit_json, err_console, read, rows_json, status_text, table, write
from ledger.i18n import _
from ledger.store import funding, imports

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/imports.md).")]
FileArg = Annotated[Path, typer.Argument(help="CSV (UTF-8 or Excel's GBK) or XLSX file; columns in docs/imports.md.")]

insured_app = typer.Typer(help="Insured headcounts per unit, book and year.", no_args_is_help=True)

IMPORT_KEYS = ["batch_id", "kind", "file", "rows_total", "rows_posted", "rows_skipped", "notices"]
HEADCOUNT_RESULT_KEYS = ["year", "unit", "book", "insured", "version", "previous", "status"]


@insured_app.command("import")
def insured_import(file: FileArg, json_out: JsonOpt = False) -> None:
    """Import headcounts (year, unit, book, insured[, reason]); a changed figure is a
    correction: a new version, which needs a reason. City bureau (reviewer)."""
    r: dict[str, Any] = write(lambda c: imports.import_file(c, "insured", file))
    for notice in r.get("notices") or []:
        err_console.print(_("notice: {notice}").format(notice=notice), markup=False)
    counts = r.get("headcounts") or []
    if json_out:
        out = {k: r.get(k) for k in IMPORT_KEYS}
        out["headcounts"] = rows_json(counts, HEADCOUNT_RESULT_KEYS)
        emit_json(out)
        return
    for h in counts:
        console.print(_("{status}: {year} {unit} {book}: {insured} insured (version {version})").format(
            status=status_text(h["status"]), year=h["year"], unit=h["unit"], book=h["book"],
            insured=f"{int(h['insured']):,}", version=h["version"]))


@insured_app.command("show")
def insured_show(
    year: Annotated[int, typer.Option("--year", help="The year.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    history: Annotated[bool, typer.Option("--history", help="Every version, with the reasons for corrections.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """The headcounts of a year in force (latest version), or their whole history."""
    rows = read(lambda c: funding.headcounts(c, year, history=history, unit=unit, book=book))
    if json_out:
        emit_json(rows_json(rows, funding.HEADCOUNT_KEYS))
        return
    if not rows:
        console.print(_("no headcount for {year} (import one with: fundledger insured import FILE)").format(year=year))
        return
    table(_("insured {year}").format(year=year),
          [("book", _("book")), ("unit", _("unit")), ("version", _("version")), ("insured", _("insured")),
           ("reason", _("reason")), ("recorded_by", _("by"))],
          [dict(r, insured=f"{int(r['insured']):,}") for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(insured_app, name="insured")
