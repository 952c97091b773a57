"""``fundledger demo``: a whole fiscal year of a Jiamusi-sized pooled fund on a fresh
embedded database, told as a story, with its reports written to files.

The year itself is run by ``ledger.demo.run`` through the officers' own library calls;
this module only renders progress, the story and the reports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.callbacks import bounded
from cli.cmd_fund import _shortfall_model
from cli.context import check_year, console, plain
from cli.exports import checked_lang, render_report
from ledger.core.money import format_yuan
from ledger.core.monitor import Colour
from ledger.demo import profile as P
from ledger.demo.run import AUDITOR, Demo, Story, total_steps
from ledger.errors import BadInput
from ledger.i18n import _, get_lang, set_lang
from ledger.reports import builders, builders_budget, builders_final, builders_fund
from ledger.reports.model import Report
from ledger.store import (
    accounts,
    embedded,
    reports,
    reports_budget,
    reports_final,
    reports_ledger,
    verify,
    year_settings,
    yearend,
)
from ledger.store import budget as budget_store
from ledger.store import monitor as store_monitor
from ledger.store import performance as performance_store
from ledger.store.db import run_tx


def _yuan_wan(fen: int) -> str:
    """Amounts in the story in 万元 (ten thousand yuan) to one decimal, rounded half up,
    in integers (1 万元 = 1,000,000 fen)."""
    tenths = (abs(fen) + 50_000) // 100_000
    return _("{amount} 10k yuan").format(amount=f"{'-' if fen < 0 else ''}{tenths // 10:,}.{tenths % 10}")


def _fen(v: object) -> int:
    return v if isinstance(v, int) else 0


def build_reports(conn: Any, year: int, lang: str | None = None) -> dict[str, Report]:
    """The year's key reports, as report values (the same builders the report commands
    use), in ``lang`` (default: the language in force)."""
    lang = lang or get_lang()
    end = dt.date(year, 12, 31)
    labels = reports.labels(conn)
    from cli.monitor import monitor_view

    t, rr, rows, cons, _labels = monitor_view(conn, end)
    region = labels.region
    # Read once for both reports (the builders only read it): ~0.4 CPU-s a year of the demo.
    execution = reports_budget.budget_execution(conn, year=year, as_of=end)
    return {
        "trial-balance": builders.trial_balance_report(accounts.trial_balance(conn, year=year), year=year,
                                                       labels=labels, lang=lang),
        "balance-sheet": builders.balance_sheet_report(reports_ledger.balance_sheet(conn, as_of=end),
                                                       as_of=end, labels=labels, lang=lang,
                                                       owed=reports_ledger.government_owed_by_unit(conn, as_of=end)),
        "income": builders.income_report(reports_ledger.income(conn, start=dt.date(year, 1, 1), end=end, reconcile=True),
                                         start=dt.date(year, 1, 1), end=end, period="quarter", labels=labels,
                                         lang=lang, owed=reports_ledger.government_owed_at(
                                             conn, builders.fund_balance_days("quarter", dt.date(year, 1, 1), end))),
        "budget-execution": builders_fund.budget_execution_report(execution, year=year, labels=labels, lang=lang),
        "city-budget": builders_budget.city_budget_report(execution, year=year, labels=labels, lang=lang,
            checks=[c for cb in budget_store.city(conn, year) for c in cb.checks]),
        "performance": builders_budget.performance_report(performance_store.reviews(conn, year), year=year,
                                                          labels=labels, lang=lang),
        "shortfall": _shortfall_model(yearend.shortfall_report(conn, year), year, region),
        "monitor": builders_fund.monitor_report(rows, cons, as_of=end, t=t, labels=labels, lang=lang, ranges=rr),
        **({"final-accounts": builders_final.final_accounts_report(
            reports_final.figures(conn, year), labels=labels, unit=None, lang=lang)}
           if yearend.closed_years(conn, year) else {}),
    }


def _one_review(rep: Report) -> None:
    """The performance review on screen: the residents' book's ranking (each unit's total)
    and the indicators of its last-ranked unit, with the figures behind each score."""
    from cli.context import table

    first = rep.sections[0]
    totals = [r for r in first.rows if r.get("indicator") == "total"]
    if not totals:
        return
    last = totals[-1]
    console.print(f"[bold]{plain(rep.title(get_lang()))}[/bold]  {plain(rep.region)}  {plain(rep.period)}")
    table(first.title(get_lang()), [("rank", _("rank")), ("unit", _("unit")), ("unit_name", _("name")),
                                    ("score", _("score"))], [dict(r, score=str(r["score"])) for r in totals])
    detail = [{"name": r["name"], "value": f"{r['months']}" if r.get("months") is not None
               else (f"{r['value']} %" if r.get("value") is not None else "—"),
               "evidence": r["evidence"], "score": str(r["score"])}
              for r in first.rows if r.get("unit") == last["unit"] and r.get("indicator") != "total"]
    table(_("performance review {unit} {name}: {score} points, rank {rank}").format(
        unit=last["unit"], name=last["unit_name"], score=last["score"], rank=last["rank"]),
        [("name", _("indicator")), ("value", _("value")), ("evidence", _("figures")), ("score", _("score"))], detail)


def _charts(conn: Any, cdir: Path, year: int) -> list[Path]:
    """The monitor and special-account charts of one year."""
    from cli.cmd_monitor import balances_title, monitor_title
    from ledger.reports import charts

    lang = get_lang()
    written: list[Path] = []
    def series(c: Any) -> Any:
        end = dt.date(year, 12, 31)
        labels = reports.labels(c)
        t = year_settings.thresholds(c, year)
        out_series = {}
        for book in ("RES", "EMP"):
            out_series[book] = (
                builders_fund.monitor_series(store_monitor.monthly(c, book=book, end=end), year=year, through=end,
                                             labels=labels,
                                             first_days=store_monitor.first_days(c, book=book, as_of=end), lang=lang),
                builders_fund.balances_series(store_monitor.special_daily(c, book=book, end=end), year=year,
                                              end=end, labels=labels, lang=lang))
        return out_series, t, labels
    data, t, labels = run_tx(conn, series)
    for book, (months, balances) in data.items():
        written.append(charts.monitor_chart(months, (t.red_below, t.yellow_below, t.excess_above),
                                            monitor_title(labels, book, year), cdir / f"monitor-{book}-{year}.png"))
        written.append(charts.balances_chart(balances, balances_title(labels, book, year),
                                             cdir / f"balances-{book}-{year}.png"))
    return written


def write_json_reports(demo: Demo, out: Path) -> tuple[dict[int, dict[str, Report]], list[Path]]:
    """Every year's reports, read as the auditor, each as deterministic JSON under
    ``out/reports`` (what the demo's determinism is judged on: tests/acceptance/test_demo.py)."""
    from ledger.reports.export import to_json_obj

    rdir = out / "reports"
    rdir.mkdir(parents=True, exist_ok=True)
    conn = demo.conn(AUDITOR)
    by_year: dict[int, dict[str, Report]] = {}
    for y in (demo.first_year + i for i in range(demo.years)):
        by_year[y] = run_tx(conn, partial(build_reports, year=y))
    written: list[Path] = []
    for year, reps in by_year.items():
        for key, rep in reps.items():
            j = rdir / f"{key}-{year}.json"
            j.write_text(json.dumps(to_json_obj(rep, deterministic=True), ensure_ascii=False, indent=2) + "\n",
                         "utf-8")
            written.append(j)
    return by_year, written


def write_outputs(demo: Demo, out: Path, *, verified: bool = True
                  ) -> tuple[dict[int, dict[str, Report]], list[Path], Any]:
    """Every year's reports (deterministic JSON + XLSX) and charts, read as the auditor;
    the forecast from the last year's end. Returns the reports by year, the files written
    and ``verify``'s result (None with ``verified=False``: the same ledger's reports written
    again in another language, its unchanged rows already judged)."""
    # openpyxl and matplotlib: loaded only by the commands that write or draw (0.45 s).
    from ledger.reports.export import write_xlsx

    by_year, written = write_json_reports(demo, out)
    rdir, cdir = out / "reports", out / "charts"
    cdir.mkdir(parents=True, exist_ok=True)
    conn = demo.conn(AUDITOR)
    years = list(by_year)
    for year, reps in by_year.items():
        for key, rep in reps.items():
            x = rdir / f"{key}-{year}.xlsx"
            write_xlsx(rep, x, get_lang())
            written.append(x)
    for year in years:
        written += _charts(conn, cdir, year)
    year = years[-1]

    # The forecast from the year end, three years on (docs/forecast.md): one chart per book.
    from cli.cmd_forecast import forecast_title, run_forecast
    from ledger.core.forecast import Assumptions
    from ledger.reports import forecast_chart

    origin = dt.date(year, 12, 31)
    fcs, t, labels = run_tx(conn, lambda c: run_forecast(c, origin=origin, years=3, book=None, unit=None,
                                                          a=Assumptions()))
    for book in ("RES", "EMP"):
        written.append(forecast_chart.forecast_chart(
            {labels.name("units", f.unit, get_lang()): f for f in fcs if f.book == book},
            (t.red_below, t.yellow_below, t.excess_above), forecast_title(labels, book, origin, 3),
            cdir / f"forecast-{book}-{year}.png"))
    result = verify.verify(conn) if verified else None  # takes its own read-only snapshot
    return by_year, written, result


def tell(stories: list[Story], by_year: dict[int, dict[str, Report]], names: dict[str, str], verified: Any) -> None:
    """Each year in a few sentences, every figure read back from the reports."""
    lines = _first_year_lines(stories[0], by_year[stories[0].year], names)
    for story in stories[1:]:
        lines += _later_year_lines(story, by_year[story.year], names)
    ok = ("[green]" + _("verify: every invariant holds") + "[/green]" if verified.ok
          else "[red]" + _("verify found problems") + "[/red]")
    lines.append("• " + _("{ok} ({entries} entries, {postings} postings).").format(
        ok=ok, entries=f"{verified.extra.get('entries', 0):,}", postings=f"{verified.extra.get('postings', 0):,}"))
    console.print(Panel("\n".join(lines), title=_("fundledger demo"), expand=False))


def _shortfall_rows(reps: dict[str, Report]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(r["unit"]), str(r["book"])): dict(r) for s in reps["shortfall"].sections for r in s.rows}


def _later_year_lines(story: Story, reps: dict[str, Report], names: dict[str, str]) -> list[str]:
    """A later year: the refused second handover, the top-up, and the shortfall rule across years."""
    year = story.year
    gov = _shortfall_rows(reps).get((P.NEEDS_GOVERNMENT, "RES"), {})
    lines = ["", "[bold]" + _("{year}: the next year, from the year before").format(year=year) + "[/bold]"]
    if story.second_handover_refused:
        lines.append("• " + _("A second handover of {unit} was refused: a handover happens once per county and "
                              "book.").format(unit=names[P.COVERED_BY_SURPLUS]))
    lines.append("• " + _("Pre-allocation topped the counties' expenditure accounts up to three months of budgeted "
                          "spending from what they held: {amount}.").format(amount=_yuan_wan(story.preallocated)))
    lines.append("• " + _("{collections} collection rows, {payments} provider payment lines, {n} quarterly fund "
                          "requests.").format(collections=f"{story.collection_rows:,}",
                                              payments=f"{story.payment_lines:,}", n=len(story.requests)))
    if gov:
        lines.append("• " + _("{unit}'s government paid the {prev} share of {paid} in January {year}: revenue of "
                              "{year} on the books ({on_books}), but it settles {prev}'s item and is left out of "
                              "{year}'s current balance.").format(
            unit=names[P.NEEDS_GOVERNMENT], prev=year - 1, year=year, paid=_yuan_wan(int(gov["share_receipts"])),
            on_books=_yuan_wan(int(gov["revenue_on_books"]))))
        tail = (_("paid in January {next_year}.").format(next_year=year + 1) if story.government_paid
                else _("still owed to the fund at the year end (shown beside its surplus).").format())
        lines.append("• " + _("{year}: {unit} overspent again by {gap}; its surplus before was {before}, so its "
                              "government's share is the whole gap, {share}: {tail}").format(
            year=year, unit=names[P.NEEDS_GOVERNMENT], gap=_yuan_wan(-int(gov["current_balance"])),
            before=_yuan_wan(int(gov["surplus_before"])), share=_yuan_wan(int(gov["government_share"])), tail=tail))
    return lines


def _first_year_lines(story: Story, reps: dict[str, Report], names: dict[str, str]) -> list[str]:
    year = story.year
    short = {(r["unit"], r["book"]): r for s in reps["shortfall"].sections for r in s.rows}

    def row(unit: str, book: str = "RES") -> dict[str, Any]:
        return dict(short.get((unit, book), {}))

    gov = row(P.NEEDS_GOVERNMENT)
    cov = row(P.COVERED_BY_SURPLUS)
    lines = [
        "[bold]" + _("{year}: Jiamusi city-level pooled basic medical insurance — the year in brief").format(year=year)
        + "[/bold]",
        "• " + _("Handover: six counties' audited surpluses moved up to the city finance special account; "
                 "pre-allocation put {amount} (three months of budgeted spending) into their expenditure accounts.")
        .format(amount=_yuan_wan(story.preallocated)),
        "• " + _("{collections} collection rows and {payments} provider payment lines were imported, all-or-nothing, "
                 "each row once.").format(collections=f"{story.collection_rows:,}",
                                          payments=f"{story.payment_lines:,}"),
        "• " + _("{n} quarterly fund requests were approved, disbursed and settled tier by tier.")
        .format(n=len(story.requests)),
    ]
    if story.reduced:
        r, approved = story.reduced
        lines.append("• " + _("{unit} asked for {asked} in Q2; the city bureau approved {approved} (what its payments "
                              "needed).").format(unit=names.get(r.unit, r.unit), asked=_yuan_wan(r.amount_requested),
                                                  approved=_yuan_wan(approved)))
    if story.rejected:
        rej = story.rejected
        lines.append("• " + _("{unit}'s extra Q3 request of {asked} was rejected: its approved request already "
                              "covered the quarter.").format(unit=names.get(rej.unit, rej.unit),
                                                             asked=_yuan_wan(rej.amount_requested)))
    if story.interest:
        lines.append("• " + _("Special-account interest was shared by average daily balance: {shares}.").format(
            shares=", ".join(f"{b} {_yuan_wan(v)}" for b, v in story.interest.items())))
    if cov:
        tail = (_("its government owes {amount}.").format(amount=_yuan_wan(int(cov["government_share"])))
                if int(cov["government_share"]) else _("nothing fell to its government."))
        lines.append("• " + _("{unit} closed the residents' year with a gap of {gap}; its accumulated surplus covered "
                              "{covered}; {tail}").format(unit=names[P.COVERED_BY_SURPLUS],
                                                          gap=_yuan_wan(-int(cov["current_balance"])),
                                                          covered=_yuan_wan(int(cov["covered_by_surplus"])), tail=tail))
    if gov:
        lines.append("• " + _("{unit} overspent by {gap}: its surplus covered {covered} and its local government's "
                              "share of {share} was paid in January {next_year}.").format(
            unit=names[P.NEEDS_GOVERNMENT], gap=_yuan_wan(-int(gov["current_balance"])),
            covered=_yuan_wan(int(gov["covered_by_surplus"])), share=_yuan_wan(int(gov["government_share"])),
            next_year=year + 1))
    return lines


def demo(
    year: Annotated[int, typer.Option("--year", callback=check_year, help="The first fiscal year to simulate.")] = 2023,
    years: Annotated[int, typer.Option("--years", callback=bounded(1, 5), help="How many years, one after the other (1 to 5).")] = 2,
    seed: Annotated[int, typer.Option("--seed", callback=bounded(0, 2**32 - 1), help="Random seed: the same seed gives the same year.")] = 2023,
    scale: Annotated[int, typer.Option("--scale", callback=bounded(1, 1000), help="Multiply provider payment lines (claim detail).")] = 1,
    home: Annotated[Path | None, typer.Option("--home", help="The demo's own database directory, made afresh (default: "
                                              "OUT/db; never FUNDLEDGER_HOME, which holds your real ledger).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for files, reports and charts.")] = Path("demo-output"),
    keep_running: Annotated[bool, typer.Option("--keep-running", help="Leave the embedded server running.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", metavar="zh|en", help="Language of the story, the reports "
                                             "and the charts: zh or en (default: the language in force).")] = None,
) -> None:
    """A whole fiscal year of a Jiamusi-sized pooled fund on a fresh embedded database, then its reports."""
    set_lang(checked_lang(lang))
    if dt.date(year + years - 1, 12, 31) >= dt.date.today():
        # Each simulated month is closed, and a period closes only once it has ended (sql/0019).
        raise BadInput(_("the demo posts and closes whole past years: its last year ({last}) has not ended; "
                         "choose --year {most} or earlier").format(last=year + years - 1,
                                                                  most=dt.date.today().year - years))
    home = (home or out / "db").resolve()
    out = out.resolve()
    embedded.stop(home)
    shutil.rmtree(home, ignore_errors=True)
    for sub in ("files", "reports", "charts"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console.real(), transient=False) as bar:
        steps = total_steps(years)
        task = bar.add_task(_("posting {year}").format(year=year), total=steps + 1)
        def progress(msg: str, n: int) -> None:
            bar.update(task, completed=n)
            bar.console.print(f"  {plain(msg)}")

        d = Demo(home, out, year=year, seed=seed, scale=scale, years=years, progress=progress)
        try:
            stories = d.run()
            bar.update(task, description=_("reports and charts"))
            by_year, written, verified = write_outputs(d, out)
            bar.update(task, completed=steps + 1, description=_("done"))
        except BaseException:
            d.close()
            embedded.stop(home)
            raise
    names = {u.code: u.name_en if get_lang() == "en" else u.name_zh for u in d.region.units}
    d.close()
    last = year + years - 1
    reps = by_year[last]
    for y in range(year, last):
        render_report(by_year[y]["shortfall"])
    for key in ("trial-balance", "shortfall", "monitor", "budget-execution", "city-budget", "performance"):
        rep = reps[key]
        if key == "trial-balance":
            console.print("[bold]" + _("{title} — totals per book").format(title=plain(rep.title(get_lang()))) + "[/bold]")
            for s in rep.sections:
                tot = s.totals or {}
                console.print("  " + _("{book}: debits {debits}, credits {credits}, closing {closing}").format(
                    book=plain(s.title(get_lang())), debits=format_yuan(_fen(tot.get("period_debits"))),
                    credits=format_yuan(_fen(tot.get("period_credits"))), closing=format_yuan(_fen(tot.get("closing")))))
            continue
        if key == "budget-execution":
            console.print(_("(budget execution: the residents' book shown; every book is in the XLSX)"))
            rep = dataclasses.replace(rep, sections=rep.sections[:1])
        if key == "city-budget":
            console.print(_("(the city-wide budget: the city total of the residents' book shown; each unit is in "
                            "the XLSX)"))
            first = rep.sections[0]
            rep = dataclasses.replace(rep, sections=(dataclasses.replace(
                first, rows=tuple(r for r in first.rows if r.get("unit") == "all")),))
        if key == "performance":
            _one_review(rep)
            continue
        render_report(rep)
    tell(stories, by_year, names, verified)
    reds = [r for s in reps["monitor"].sections for r in s.rows if r.get("level") == Colour.red]
    charts = [p for p in written if p.name.startswith("forecast-")]
    console.print(_("forecast from {origin}, three years on (docs/forecast.md): {charts}").format(
        origin=f"{last}-12-31", charts=plain(", ".join(str(p.relative_to(out)) for p in charts))))
    elapsed = time.perf_counter() - started
    console.print(_("wrote {n} files under {out} (reports/*.json|xlsx, charts/*.png, files/*.csv) in {secs} s; "
                    "{reds} red warning(s).").format(n=len(written), out=plain(out), secs=f"{elapsed:.1f}", reds=len(reds)))
    if keep_running:
        console.print(_("the database keeps running: {cmd}").format(
            cmd=plain(f"FUNDLEDGER_HOME={home} fundledger --as {AUDITOR} monitor")))
    else:
        embedded.stop(home)
        console.print(_("explore it: {cmd}  (then: {stop})").format(
            cmd=plain(f"FUNDLEDGER_HOME={home} fundledger --as {AUDITOR} report income --year {last}"),
            stop=plain(f"FUNDLEDGER_HOME={home} fundledger db stop")))
    if not verified.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
