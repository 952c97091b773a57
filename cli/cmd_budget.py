"""Budget commands (预算): import, show (with the small-surplus checks), adjust (预算调整) and
history, the city-wide budget (全市基金预算) and the annual plan (年度收支计划).

File formats and JSON keys: docs/imports.md and docs/reports.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.cmd_imports import FileArg, print_notices
from cli.context import console, emit_json, jsonable, read, rows_json, status_text, table, write
from ledger.core.budget import CITY
from ledger.core.money import format_yuan, parse_fen
from ledger.core.shapes import to_json
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _, code_text
from ledger.reports.export import stamped
from ledger.store import budget as budget_store
from ledger.store import budget_plan, imports, reports

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/reports.md).")]
YearOpt = Annotated[int, typer.Option("--year", help="Budget year.")]
UnitOpt = Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")]
BookOpt = Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")]

budget_app = typer.Typer(help="Annual budgets per unit and book, adjustments and the city-wide budget.",
                         no_args_is_help=True)
plan_app = typer.Typer(help="The annual plan by quarter or month.", no_args_is_help=True)


# ---- checks (以收定支、收支平衡、略有结余) -------------------------------------------------

def check_text(c: dict[str, Any]) -> str:
    """One finding of ledger.core.budget in words (the JSON keeps the code)."""
    who = _("city total") if c["scope"] == CITY else c["scope"]
    figures = {"who": who, "book": c["book"], "revenue": format_yuan(int(c["revenue"])),
               "expenditure": format_yuan(int(c["expenditure"])), "amount": format_yuan(abs(int(c["balance"]))),
               "rate": c["rate"], "min": c["min_pct"], "max": c["max_pct"]}
    if c["code"] == "planned_deficit":
        return _("{who} {book}: the budget plans a deficit of {amount} (expenditure {expenditure} above revenue "
                 "{revenue}); spending within revenue asks for none").format(**figures)
    if c["code"] == "surplus_above_range":
        return _("{who} {book}: the planned surplus {amount} is {rate} % of revenue, above the small-surplus range "
                 "{min}–{max} %").format(**figures)
    return _("{who} {book}: the planned surplus {amount} is {rate} % of revenue, below the small-surplus range "
             "{min}–{max} %").format(**figures)


def print_checks(checks: list[dict[str, Any]]) -> None:
    for c in checks:
        console.print("[yellow]" + _("warning: {text}").format(text=check_text(c)) + "[/yellow]", highlight=False)


def checks_json(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows_json(checks, budget_store.CHECK_KEYS, budget_store.CHECK_MONEY)


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
        years = sorted({int(b["year"]) for b in r.budgets})
        shown = [b for y in years for b in budget_store.show(c, y)]
        keys = {(b["year"], b["unit"], b["book"]) for b in r.budgets}
        return r, [b for b in shown if (b["year"], b["unit"], b["book"]) in keys]

    r, now = write(work)
    print_notices(r)
    checks = {(b["year"], b["unit"], b["book"]): b["checks"] for b in now}
    if json_out:
        out = to_json(r)
        out["budgets"] = []
        for b in r.budgets:
            rev, exp = int(b["revenue"]), int(b["expenditure"])
            out["budgets"].append({
                "year": b["year"], "unit": b["unit"], "book": b["book"], "version": b["version"],
                "status": b["status"], "revenue": jsonable(rev, True), "expenditure": jsonable(exp, True),
                "balance": jsonable(rev - exp, True), "deficit": b["deficit"],
                "checks": checks_json(checks.get((b["year"], b["unit"], b["book"]), []))})
        emit_json(out)
        return
    for b in r.budgets:
        flag = "  [red]" + _("DEFICIT planned") + "[/red]" if b["deficit"] else ""
        console.print(_("{status}: budget {year} {unit} {book} v{version}: revenue {revenue}, expenditure "
                        "{expenditure}").format(
            status=status_text(b["status"]), year=b["year"], unit=b["unit"], book=b["book"], version=b["version"],
            revenue=format_yuan(int(b["revenue"])), expenditure=format_yuan(int(b["expenditure"]))) + flag)
        print_checks(checks.get((b["year"], b["unit"], b["book"]), []))


@budget_app.command("show")
def budget_show(year: YearOpt, unit: UnitOpt = None, book: BookOpt = None, json_out: JsonOpt = False) -> None:
    """The budgets in force for a year (current version), with their lines, the deficit flag
    and the checks (planned deficit, small-surplus range) for each unit and the city total."""
    rows, city = read(lambda c: (budget_store.show(c, year, unit=unit, book=book),
                                 budget_store.city(c, year, book=book) if unit is None else []))
    if json_out:
        out = rows_json(rows, budget_store.BUDGET_KEYS[:-2], budget_store.BUDGET_MONEY)
        for o, r in zip(out, rows, strict=True):
            o["checks"] = checks_json(r["checks"])
            o["lines"] = rows_json(r["lines"], budget_store.LINE_KEYS, ["amount"])
        emit_json(out)
        return
    if not rows:
        console.print(_("no budget for {year} (import one with: fundledger budget import FILE)").format(year=year))
    for r in rows:
        flag = "  [red]" + _("DEFICIT planned") + "[/red]" if r["deficit"] else ""
        lines = [dict(ln, kind=code_text(ln["kind"])) for ln in r["lines"]]
        table(_("budget {year} {unit} {book} v{version}").format(year=r["year"], unit=r["unit"], book=r["book"],
                                                                version=r["version"]) + flag,
              [("component", _("comp")), ("line", _("line")), ("name_zh", _("name")), ("kind", _("kind")),
               ("amount", _("amount"))],
              lines, money=["amount"])
        console.print(_("revenue {revenue}  expenditure {expenditure}  balance {balance}").format(
            revenue=format_yuan(r["revenue"]), expenditure=format_yuan(r["expenditure"]),
            balance=format_yuan(r["balance"])))
        print_checks(r["checks"])
    for cb in city:
        total = [budget_store.check_json(c) for c in cb.checks if c.scope == CITY]
        console.print(_("city total {book}: revenue {revenue}  expenditure {expenditure}  balance {balance}").format(
            book=cb.book, revenue=format_yuan(cb.revenue[CITY]), expenditure=format_yuan(cb.expenditure[CITY]),
            balance=format_yuan(cb.revenue[CITY] - cb.expenditure[CITY])))
        print_checks(total)


# ---- adjustments (预算调整) -------------------------------------------------------------

def _set_lines(sets: list[str], component: str) -> list[dict[str, Any]]:
    out = []
    for s in sets:
        line, sep, amount = s.partition("=")
        if not sep or not line.strip():
            raise BadInput(_("--set {value}: give LINE=AMOUNT, e.g. --set 5001=3,600,000.00").format(value=s))
        try:
            fen = parse_fen(amount)
        except BadAmount as e:
            raise BadInput(_("--set {value}: {error}").format(value=s, error=e.message)) from e
        out.append({"component": component, "line": line.strip(), "amount": fen})
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

    def work(c):  # type: ignore[no-untyped-def]
        r = budget_store.adjust(c, year, unit, book, lines, reason, key)
        return r, budget_store.show(c, year, unit=unit, book=book)

    r, now = write(work)
    b = now[0] if now else {"checks": []}
    if json_out:
        emit_json({"budget_id": r["budget_id"], "version": r["version"], "status": r["status"],
                   "checks": checks_json(b["checks"])})
        return
    console.print(_("{status}: budget {year} {unit} {book} is now version {version}").format(
        status=status_text(r["status"]), year=year, unit=unit, book=book, version=r["version"]))
    print_checks(b["checks"])


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
        out = rows_json(rows, budget_store.HISTORY_KEYS[:-1], budget_store.BUDGET_MONEY)
        for o, r in zip(out, rows, strict=True):
            o["changes"] = rows_json(r["changes"], budget_store.CHANGE_KEYS, ["before", "after"])
        emit_json(out)
        return
    if not rows:
        console.print(_("no budget {year} {unit} {book}").format(year=year, unit=unit, book=book))
    for r in rows:
        who = r["adjusted_by"] if r["adjusted"] else r["imported_by"]
        at = r["adjusted_at"] if r["adjusted"] else r["imported_at"]
        console.print(_("[bold]v{version}[/bold]  {at}  {who}  revenue {revenue}  expenditure {expenditure}  "
                        "balance {balance}").format(
            version=r["version"], at=stamped(at).strftime("%Y-%m-%d %H:%M"), who=who, revenue=format_yuan(int(r["revenue"])),
            expenditure=format_yuan(int(r["expenditure"])), balance=format_yuan(int(r["balance"]))), highlight=False)
        if r["adjusted"]:
            console.print("  " + _("reason: {reason}").format(reason=r["reason"]), markup=False, highlight=False)
        for ch in r["changes"]:
            comp = f"{ch['component']} " if ch["component"] else ""
            console.print("  " + _("{comp}{line}: {before} → {after}").format(
                comp=comp, line=ch["line"], before=format_yuan(ch["before"]), after=format_yuan(ch["after"])),
                highlight=False)


# ---- the city-wide budget (全市基金预算) --------------------------------------------------

@budget_app.command("city")
def budget_city(year: YearOpt, book: BookOpt = None, json_out: JsonOpt = False) -> None:
    """City-wide budget: the units' budgets consolidated, every line with the city total, and the
    checks for each unit and the city. Execution: report city-budget."""
    books, names = read(lambda c: (budget_store.city(c, year, book=book),
                                   {k: v.get("name_zh", k) for k, v in reports.labels(c).chart.items()}))
    if json_out:
        out = []
        for cb in books:
            o = budget_store.city_json(cb, names)
            for ln in o["lines"]:
                ln["by_unit"] = {u: jsonable(v, True) for u, v in ln["by_unit"].items()}
                ln["city"] = jsonable(ln["city"], True)
            for t in (*o["unit_totals"].values(), o["city_totals"]):
                for k in ("revenue", "expenditure", "balance"):
                    t[k] = jsonable(t[k], True)
            o["checks"] = checks_json(o["checks"])
            out.append(o)
        emit_json({"year": year, "books": out})
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
        print_checks([budget_store.check_json(c) for c in cb.checks])


# ---- the annual plan (年度收支计划) -------------------------------------------------------

@plan_app.command("import")
def plan_import(file: Annotated[Path, typer.Argument(help="CSV or XLSX: year, unit, book, period (Q1–Q4 or 1–12), "
                                                     "kind (revenue/expenditure), amount[, component].")],
                json_out: JsonOpt = False) -> None:
    """Import the annual plan by quarter or month; a changed plan is a new version. Reviewer."""
    rows = write(lambda c: budget_plan.import_plan(c, file))
    if json_out:
        emit_json(rows_json(rows, budget_plan.RESULT_KEYS))
        return
    for r in rows:
        console.print(_("{status}: plan {year} {unit} {book} v{version}").format(
            status=status_text(r["status"]), year=r["year"], unit=r["unit"], book=r["book"], version=r["version"]))


@plan_app.command("show")
def plan_show(year: YearOpt, unit: UnitOpt = None, book: BookOpt = None, json_out: JsonOpt = False) -> None:
    """The annual plans in force for a year, by quarter or month."""
    rows = read(lambda c: budget_plan.show(c, year, unit=unit, book=book))
    if json_out:
        out = rows_json(rows, budget_plan.PLAN_KEYS[:-1])
        for o, r in zip(out, rows, strict=True):
            o["lines"] = rows_json(r["lines"], budget_plan.PLAN_LINE_KEYS, ["amount"])
        emit_json(out)
        return
    if not rows:
        console.print(_("no annual plan for {year} (import one with: fundledger budget plan import FILE)").format(
            year=year))
    for r in rows:
        shown = [dict(ln, kind=code_text(ln["kind"]),
                      period=(f"Q{ln['period']}" if r["granularity"] == "quarter" else str(ln["period"])))
                 for ln in r["lines"]]
        table(_("plan {year} {unit} {book} v{version}").format(year=r["year"], unit=r["unit"], book=r["book"],
                                                              version=r["version"]),
              [("component", _("comp")), ("kind", _("kind")), ("period", _("period")), ("amount", _("amount"))],
              shown, money=["amount"])


def register(app: typer.Typer) -> None:
    budget_app.add_typer(plan_app, name="plan")
    app.add_typer(budget_app, name="budget")
