"""Budget commands (预算): import, show (with the small-surplus checks), adjust (预算调整) and
history, the city-wide budget (全市基金预算) and the annual plan (年度收支计划).

File formats and JSON keys: docs/imports.md and docs/reports.md."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from cli.cmd_imports import FileArg, print_notices
from cli.context import Markup, check_year, console, emit_json, plain, read, status_text, table, write
from ledger.core.budget import CITY, BudgetCheck, CityBudget
from ledger.core.money import format_yuan, parse_fen
from ledger.core.shapes import as_row, money_keys, to_json
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _, code_text
from ledger.reports.export import stamped
from ledger.store import budget as budget_store
from ledger.store import budget_plan, imports, reports
from ledger.store.db import Conn

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/reports.md).")]
YearOpt = Annotated[int, typer.Option("--year", callback=check_year, help="Budget year.")]
UnitOpt = Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")]
BookOpt = Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")]

budget_app = typer.Typer(help="Annual budgets per unit and book, adjustments and the city-wide budget.",
                         no_args_is_help=True)
plan_app = typer.Typer(help="The annual plan by quarter or month.", no_args_is_help=True)


# ---- checks (以收定支、收支平衡、略有结余) -------------------------------------------------

def check_text(c: BudgetCheck) -> str:
    """One finding of ledger.core.budget in words (the JSON keeps the code)."""
    who = _("city total") if c.scope == CITY else c.scope
    figures = {"who": who, "book": c.book, "revenue": format_yuan(c.revenue),
               "expenditure": format_yuan(c.expenditure), "amount": format_yuan(abs(c.balance)),
               "rate": c.rate, "min": c.min_pct, "max": c.max_pct}
    if c.code == "planned_deficit":
        return _("{who} {book}: the budget plans a deficit of {amount} (expenditure {expenditure} above revenue "
                 "{revenue}); spending within revenue asks for none").format(**figures)
    if c.code == "surplus_above_range":
        return _("{who} {book}: the planned surplus {amount} is {rate} % of revenue, above the small-surplus range "
                 "{min}–{max} %").format(**figures)
    return _("{who} {book}: the planned surplus {amount} is {rate} % of revenue, below the small-surplus range "
             "{min}–{max} %").format(**figures)


def print_checks(checks: Iterable[BudgetCheck]) -> None:
    for c in checks:
        console.print("[yellow]" + _("warning: {text}").format(text=plain(check_text(c))) + "[/yellow]", highlight=False)


# ---- import, show ---------------------------------------------------------------------

@budget_app.command("import")
def budget_import(
    file: FileArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the budget in force changes (required when the "
                                               "file changes one: an adjustment).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import budgets (one per year, unit and book); changed lines make a new version, which
    needs --reason. Checks each: planned deficit, small-surplus range. Reviewer."""
    def work(c):  # type: ignore[no-untyped-def]
        r = imports.import_file(c, "budget", file)
        assert isinstance(r, imports.BudgetImport)
        budget_store.import_reason(c, reason)
        # Each budget the file loaded, with the checks on the budget in force after the import.
        checks = {(b.year, b.unit, b.book): b.checks
                  for y in sorted({b.year for b in r.budgets}) for b in budget_store.show(c, y)}
        return replace(r, budgets=tuple(replace(b, checks=checks.get((b.year, b.unit, b.book), ()))
                                        for b in r.budgets))

    r = write(work)
    print_notices(r)
    if json_out:
        emit_json(to_json(r))
        return
    for b in r.budgets:
        flag = "  [red]" + _("DEFICIT planned") + "[/red]" if b.deficit else ""
        console.print(_("{status}: budget {year} {unit} {book} v{version}: revenue {revenue}, expenditure "
                        "{expenditure}").format(
            status=status_text(b.status), year=b.year, unit=plain(b.unit), book=plain(b.book), version=b.version,
            revenue=format_yuan(b.revenue), expenditure=format_yuan(b.expenditure)) + flag)
        print_checks(b.checks)


@budget_app.command("show")
def budget_show(year: YearOpt, unit: UnitOpt = None, book: BookOpt = None, json_out: JsonOpt = False) -> None:
    """The budgets in force for a year (current version), with their lines, the deficit flag
    and the checks (planned deficit, small-surplus range) for each unit and the city total."""
    # no city total for a confined reader: it would be its own unit's (ATTACK17 E10)
    rows, city = read(lambda c: (budget_store.show(c, year, unit=unit, book=book),
                                 budget_store.city(c, year, book=book)
                                 if unit is None and reports.confined_unit(c) is None else []))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    if not rows:
        console.print(_("no budget for {year} (import one with: fundledger budget import FILE)").format(year=year))
    for r in rows:
        flag = "  [red]" + _("DEFICIT planned") + "[/red]" if r.deficit else ""
        lines = [dict(as_row(ln), kind=code_text(ln.kind)) for ln in r.lines]
        table(Markup(plain(_("budget {year} {unit} {book} v{version}").format(year=r.year, unit=r.unit, book=r.book,
                                                                              version=r.version)) + flag),
              [("component", _("comp")), ("line", _("line")), ("name_zh", _("name")), ("kind", _("kind")),
               ("amount", _("amount"))],
              lines, money=money_keys(budget_store.NamedBudgetLine))
        console.print(_("revenue {revenue}  expenditure {expenditure}  balance {balance}").format(
            revenue=format_yuan(r.revenue), expenditure=format_yuan(r.expenditure), balance=format_yuan(r.balance)))
        print_checks(r.checks)
    for cb in city:
        total = [c for c in cb.checks if c.scope == CITY]
        console.print(_("city total {book}: revenue {revenue}  expenditure {expenditure}  balance {balance}").format(
            book=plain(cb.book), revenue=format_yuan(cb.revenue[CITY]), expenditure=format_yuan(cb.expenditure[CITY]),
            balance=format_yuan(cb.revenue[CITY] - cb.expenditure[CITY])))
        print_checks(total)


# ---- adjustments (预算调整) -------------------------------------------------------------

def _set_lines(sets: list[str], component: str) -> list[budget_store.LineSetting]:
    out = []
    for s in sets:
        line, sep, amount = s.partition("=")
        if not sep or not line.strip():
            raise BadInput(_("--set {value}: give LINE=AMOUNT, e.g. --set 5001=3,600,000.00").format(value=s))
        try:
            fen = parse_fen(amount)
        except BadAmount as e:
            raise BadInput(_("--set {value}: {error}").format(value=s, error=e.message)) from e
        out.append(budget_store.LineSetting(component, line.strip(), fen))
    return out


@budget_app.command("adjust")
def budget_adjust(
    year: YearOpt,
    unit: Annotated[str, typer.Option("--unit", help="The unit whose budget is adjusted.")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")],
    set_: Annotated[list[str], typer.Option("--set", help="LINE=AMOUNT in yuan, repeatable: the line's new amount "
                                            "(0 removes it).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record with who and when).")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same key never adjusts twice.")],
    component: Annotated[str, typer.Option("--component", help="pooled or personal (employees' book).")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Budget adjustment: a new version of the budget in force with some lines changed; the old
    versions are kept. Reviewer."""
    lines = _set_lines(set_, component)

    def work(c: Conn) -> tuple[budget_store.BudgetAdjusted, int | None]:
        done = budget_store.adjust(c, year, unit, book, lines, reason, key)
        if done.status != "duplicate":
            return done, done.version
        now = budget_store.show(c, year, unit=unit, book=book)
        return done, now[0].version if now else None

    r, in_force = write(work)
    if json_out:
        emit_json(to_json(r))
        return
    if r.status == "duplicate" and in_force != r.version:
        # (ATTACK20b M4's sweep) the key's version was superseded: never say it is the budget in force
        console.print(_("{status}: this key already made version {version} of budget {year} {unit} {book}; nothing "
                        "was written, and version {now} is in force since (budget history): to change it again, "
                        "give a new --key").format(
            status=status_text(r.status), year=year, unit=plain(unit), book=plain(book), version=r.version,
            now=in_force if in_force is not None else "-"))
    else:
        console.print(_("{status}: budget {year} {unit} {book} is now version {version}").format(
            status=status_text(r.status), year=year, unit=plain(unit), book=plain(book), version=r.version))
    print_checks(r.checks)


@budget_app.command("history")
def budget_history(
    year: YearOpt,
    unit: Annotated[str, typer.Option("--unit", help="The unit.")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")],
    json_out: JsonOpt = False,
) -> None:
    """Every version of one budget: who imported or adjusted it, when, why, and the lines
    each adjustment changed."""
    rows = read(lambda c: budget_store.history(c, year, unit, book))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    if not rows:
        console.print(_("no budget {year} {unit} {book}").format(year=year, unit=plain(unit), book=plain(book)))
    for r in rows:
        who = r.adjusted_by if r.adjusted else r.imported_by
        at = (r.adjusted_at if r.adjusted else None) or r.imported_at
        console.print(_("[bold]v{version}[/bold]  {at}  {who}  revenue {revenue}  expenditure {expenditure}  "
                        "balance {balance}").format(
            version=r.version, at=stamped(at).strftime("%Y-%m-%d %H:%M"), who=plain(who), revenue=format_yuan(r.revenue),
            expenditure=format_yuan(r.expenditure), balance=format_yuan(r.balance)), highlight=False)
        if r.adjusted:
            console.print("  " + _("reason: {reason}").format(reason=r.reason), markup=False, highlight=False)
        for ch in r.changes:
            comp = f"{ch.component} " if ch.component else ""
            console.print("  " + _("{comp}{line}: {before} → {after}").format(
                comp=plain(comp), line=plain(ch.line), before=format_yuan(ch.before), after=format_yuan(ch.after)),
                highlight=False)


# ---- the city-wide budget (全市基金预算) --------------------------------------------------

@budget_app.command("city")
def budget_city(year: YearOpt, book: BookOpt = None, json_out: JsonOpt = False) -> None:
    """City-wide budget: the units' budgets consolidated, every line with the city total, and the
    checks for each unit and the city. Execution: report city-budget."""
    def work(c: Conn) -> tuple[list[CityBudget], dict[str, str]]:
        own = reports.confined_unit(c)
        if own is not None:   # (ATTACK17 E10) a consolidation of what it reads would be its own unit's
            raise BadInput(_("the city-wide budget consolidates every unit; an officer sees only their own: "
                             "fundledger budget show --year {year} --unit {unit}").format(year=year, unit=own))
        return (budget_store.city(c, year, book=book),
                {k: str(v.get("name_zh", k)) for k, v in reports.labels(c).chart.items()})
    books, names = read(work)
    if json_out:
        emit_json(to_json(budget_store.CityBudgetYear(year, tuple(budget_store.city_book(cb, names) for cb in books))))
        return
    if not books:
        console.print(_("no budget for {year} (import one with: fundledger budget import FILE)").format(year=year))
    for cb in books:
        rows = [{"component": ln.component, "line": ln.line, "name": names.get(ln.line, ln.line),
                 "units": sum(1 for v in ln.by_unit.values() if v), "city": ln.total} for ln in cb.lines]
        table(_("city-wide budget {year} {book}").format(year=year, book=cb.book),
              [("component", _("comp")), ("line", _("line")), ("name", _("name")), ("units", _("units")),
               ("city", _("city total"))], rows, money=["city"])
        per_unit = [{"unit": u, "revenue": cb.revenue[u], "expenditure": cb.expenditure[u],
                     "balance": cb.revenue[u] - cb.expenditure[u]} for u in (*cb.units, CITY)]
        for p in per_unit:
            if p["unit"] == CITY:
                p["unit"] = _("city total")
        table(None, [("unit", _("unit")), ("revenue", _("revenue")), ("expenditure", _("expenditure")),
                     ("balance", _("balance"))], per_unit, money=["revenue", "expenditure", "balance"])
        print_checks(cb.checks)


# ---- the annual plan (年度收支计划) -------------------------------------------------------

@plan_app.command("import")
def plan_import(file: Annotated[Path, typer.Argument(help="CSV or XLSX: year, unit, book, period (Q1–Q4 or 1–12), "
                                                     "kind (revenue/expenditure), amount[, component].")],
                json_out: JsonOpt = False) -> None:
    """Import the annual plan by quarter or month; a changed plan is a new version. Reviewer."""
    rows = write(lambda c: budget_plan.import_plan(c, file))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    for r in rows:
        console.print(_("{status}: plan {year} {unit} {book} v{version}").format(
            status=status_text(r.status), year=r.year, unit=plain(r.unit), book=plain(r.book), version=r.version))


@plan_app.command("show")
def plan_show(year: YearOpt, unit: UnitOpt = None, book: BookOpt = None, json_out: JsonOpt = False) -> None:
    """The annual plans in force for a year, by quarter or month."""
    plans = read(lambda c: budget_plan.show(c, year, unit=unit, book=book))
    if json_out:
        emit_json([to_json(p) for p in plans])
        return
    if not plans:
        console.print(_("no annual plan for {year} (import one with: fundledger budget plan import FILE)").format(
            year=year))
    for p in plans:
        shown = [dict(as_row(ln), kind=code_text(ln.kind),
                      period=(f"Q{ln.period}" if p.granularity == "quarter" else str(ln.period)))
                 for ln in p.lines]
        table(_("plan {year} {unit} {book} v{version}").format(year=p.year, unit=p.unit, book=p.book,
                                                              version=p.version),
              [("component", _("comp")), ("kind", _("kind")), ("period", _("period")), ("amount", _("amount"))],
              shown, money=money_keys(budget_plan.PlanLine))


def register(app: typer.Typer) -> None:
    budget_app.add_typer(plan_app, name="plan")
    app.add_typer(budget_app, name="budget")
