"""Showing a ``Report``: files (CSV, XLSX), JSON on stdout, or rich tables in the
terminal. Formatting only; every figure was computed by the builders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli.context import KEY_COLUMNS, Col, console, emit_json, plain, print_table, read
from cli.outfiles import check_target, safe_target
from ledger.core.money import format_yuan
from ledger.errors import BadInput
from ledger.i18n import _, code_text, get_lang
from ledger.reports.labels import person_text
from ledger.reports.model import TOTAL_LABEL, Column, Report, check_lang

_RIGHT = {"money", "int", "months", "percent", "ratio"}
_COLOUR_STYLE = {"red": "bold red", "yellow": "yellow", "green": "green", "excess": "blue"}


def checked_lang(lang: str | None) -> str:
    """``--lang`` of a command, or the language in force (``--lang`` > FUNDLEDGER_LANG > locale > zh)."""
    if lang is None:
        return get_lang()
    try:
        return check_lang(lang)
    except ValueError as e:
        raise BadInput(_("--lang must be zh or en, got '{lang}'").format(lang=lang)) from e


def _with_region(report: Report) -> Report:
    """A report built without labels (``report trial-balance`` in cmd_core passes only
    rows) gets the region and, for sections titled by a book code, the book's name."""
    if report.region:
        return report
    from ledger.store.reports import labels

    lab = read(labels)
    sections = tuple(dataclasses.replace(s, title_zh=lab.name("books", s.title_en, "zh"))
                     if s.title_en in lab.books and s.title_zh == s.title_en else s for s in report.sections)
    return dataclasses.replace(report, region=lab.region, sections=sections)


def export_report(report: Report, csv_path: Path | None, xlsx_path: Path | None, lang: str | None = None,
                  *, force: bool = False) -> None:
    """Write the report as CSV and/or XLSX (``ledger.reports.export``), headers in ``lang``;
    an existing file only with ``force``, never through a symlink (cli.outfiles)."""
    lang = checked_lang(lang)
    if csv_path is None and xlsx_path is None:
        return
    for path, option in ((csv_path, "--csv"), (xlsx_path, "--xlsx")):
        if path is not None:
            check_target(path, force=force, option=option)
    from ledger.reports.export import write_csv, write_xlsx  # openpyxl: loaded only to write files

    report = _with_region(report)
    try:
        if csv_path is not None:
            with safe_target(csv_path, force=force, option="--csv") as tmp:
                write_csv(report, tmp, lang)
        if xlsx_path is not None:
            with safe_target(xlsx_path, force=force, option="--xlsx") as tmp:
                write_xlsx(report, tmp, lang)
    except OSError as e:
        raise BadInput(_("cannot write {file}: {error}").format(file=e.filename, error=e.strerror)) from e


def _cell(col: Column, value: Any) -> str:
    if value is None:
        return ""
    if col.kind == "money":
        text = format_yuan(int(value))
        return f"[red]{text}[/red]" if value < 0 else text
    if col.kind == "int":
        return f"{value:,}" if col.key not in ("entry_id", "request_id", "reverses", "reversed_by") else str(value)
    if col.kind in ("months", "percent", "ratio"):
        assert isinstance(value, Decimal)
        return f"{value:.2f}" + {"percent": "%", "ratio": " : 1"}.get(col.kind, "")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if col.key in ("colour", "balance_rate_colour", "level") and text in _COLOUR_STYLE:
        return f"[{_COLOUR_STYLE[text]}]{code_text(text)}[/]"
    return plain(person_text(col.key, text))


def render_report(report: Report, lang: str | None = None, *, hide: tuple[str, ...] = ()) -> None:
    """Tables, one per section: amounts right-aligned with thousands separators,
    negatives in red, a bold totals row; notes below. ``hide`` drops columns on screen.
    Amounts, codes and unit names are never cut: a table too wide for the terminal
    becomes one record per row (``cli.context.print_table``)."""
    lang = checked_lang(lang)
    cols = [c for c in report.columns if c.key not in hide]
    console.print(f"[bold]{plain(report.title(lang))}[/bold]  {plain(report.region)}  {plain(report.period)}")
    for s in report.sections:
        specs = [Col(s.header(c, lang), right=c.kind in _RIGHT,
                     whole=c.kind in _RIGHT or c.kind == "date" or c.key in KEY_COLUMNS) for c in cols]
        rows = [[_cell(c, row.get(c.key)) for c in cols] for row in s.rows]
        totals = None
        if s.totals is not None:
            totals = [_cell(c, s.totals.get(c.key)) for c in cols]
            totals[0] = TOTAL_LABEL[lang] if report.columns[0] in cols else totals[0]
        print_table(s.title(lang), specs, rows, totals, total_label=TOTAL_LABEL[lang])
    for note in report.notes:
        console.print(f"[dim]{plain(note)}[/dim]")


def show(report: Report, *, json_out: bool, csv_path: Path | None, xlsx_path: Path | None, lang: str | None,
         hide: tuple[str, ...] = (), force: bool = False) -> None:
    """What every report command does with its report: files if asked, then JSON or tables."""
    export_report(report, csv_path, xlsx_path, lang, force=force)
    if json_out:
        from ledger.reports.export import to_json_obj

        emit_json(to_json_obj(_with_region(report)))
    else:
        render_report(report, lang, hide=hide)
