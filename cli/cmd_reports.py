"""Report commands (``fundledger report …``), plus ``monitor`` and ``chart`` (cmd_monitor).

Each command reads figures with one store function, builds a ``Report`` with one
builder, and shows it (cli.exports.show): ``--json`` prints the report as
``ledger.reports.export.to_json_obj`` (documented in docs/reports.md), ``--csv F`` and
``--xlsx F`` also write files, ``--lang`` picks the header and account-name language.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.callbacks import bounded
from cli.cmd_core import report_app
from cli.context import BIGINT_MAX, as_of_in_year, check_year, err_console, parse_date_opt, read
from cli.exports import checked_lang, show
from cli.outfiles import FORCE_HELP
from ledger.errors import BadInput
from ledger.i18n import _
from ledger.reports import builders, builders_budget, builders_detail, builders_fund, builders_funding
from ledger.store import budget as budget_store
from ledger.store import funding, reports, reports_budget, reports_ledger, year_figures
from ledger.store import performance as performance_store

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON (keys in docs/reports.md).")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Also write CSV (UTF-8 with BOM) here.")]
XlsxOpt = Annotated[Path | None, typer.Option("--xlsx", help="Also write an Excel workbook here.")]
ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
LangOpt = Annotated[str | None, typer.Option("--lang", metavar="zh|en", help="zh or en: headers and account names "
                                             "(default: the language in force).")]
YearOpt = Annotated[int | None, typer.Option("--year", callback=check_year, help="Fiscal year (default: the year of --as-of, or this year).")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Figures at the end of this day (YYYY-MM-DD).")]
UnitOpt = Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")]
BookOpt = Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")]
LimitOpt = Annotated[int, typer.Option("--limit", callback=bounded(1, 1_000_000), help="At most this many lines.")]
OffsetOpt = Annotated[int, typer.Option("--offset", callback=bounded(0, BIGINT_MAX), help="Skip this many lines first.")]


def _as_of(as_of: str | None, year: int | None) -> dt.date:
    return reports.default_as_of(as_of_in_year(as_of, year), year)


def _year_end(as_of: str | None, year: int | None) -> tuple[dt.date, dt.date]:
    """(1 January, last day) of the period: --year alone is the whole year, --as-of cuts it."""
    end = _as_of(as_of, year)
    start = dt.date(year or end.year, 1, 1)
    if end < start:
        raise BadInput(_("--as-of {end} is before the start of {year}").format(end=end, year=start.year))
    return start, end


@report_app.command("balance-sheet")
def balance_sheet(as_of: AsOfOpt = None, year: YearOpt = None, unit: UnitOpt = None, book: BookOpt = None,
                  json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """Balance sheet: assets, liabilities and net assets per book, for the region and each unit.

    Net assets are the fund balance (3001) plus the revenue − expenditure not yet closed;
    assets = liabilities + net assets ties in every block (stated in the notes). A pooled fund's
    block ends with the government share owed (obligations register), beside the fund balance."""
    lang = checked_lang(lang)
    day = _as_of(as_of, year)
    report = read(lambda c: builders.balance_sheet_report(
        reports_ledger.balance_sheet(c, as_of=day, book=book, unit=unit), as_of=day, labels=reports.labels(c),
        lang=lang, unit=unit or reports.confined_unit(c),   # no 'Consolidated' block of one unit (E10)
        owed=reports_ledger.government_owed_by_unit(c, as_of=day, unit=unit, book=book)))   # beside 3001 (G10)
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("income")
def income(year: YearOpt = None, as_of: AsOfOpt = None, unit: UnitOpt = None, book: BookOpt = None,
           period: Annotated[str, typer.Option("--period", help="Columns: month, quarter or year.")] = "quarter",
           json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """Income and expenditure: revenue and expenditure by account and sub-account, per month, quarter or year.

    Excludes the year-end close; ends with the fund balance: closing = opening + result +
    other fund-balance movements; a pooled fund's section then shows the government share
    owed (obligations register) at the start and at the end, beside the fund balance."""
    lang = checked_lang(lang)
    if period not in ("month", "quarter", "year"):
        raise BadInput(_("--period must be month, quarter or year, got '{period}'").format(period=period))
    start, end = _year_end(as_of, year)
    report = read(lambda c: builders.income_report(
        reports_ledger.income(c, start=start, end=end, book=book, unit=unit, reconcile=True), start=start, end=end, period=period,
        labels=reports.labels(c), lang=lang, unit=unit or reports.confined_unit(c),   # titled with its unit (E10)
        owed=reports_ledger.government_owed_at(c, builders.fund_balance_days(period, start, end), unit=unit,
                                               book=book)))   # beside the fund balance (G10)
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("subledger")
def subledger(unit: Annotated[str, typer.Option("--unit", help="The unit (e.g. 230822).")],
              as_of: AsOfOpt = None, year: YearOpt = None, book: BookOpt = None,
              json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """One unit's accounts: special-account share, expenditure accounts, surplus, year result.

    Per book and component: every account of the unit (balances at the start of the year
    and now, the year's debits and credits), then its share of the special account, its
    accumulated surplus (3001 plus the result not yet closed) and its current-year result."""
    lang = checked_lang(lang)
    day = _as_of(as_of, year)
    report = read(lambda c: builders_detail.subledger_report(
        reports_ledger.subledger(c, unit=unit, as_of=day, book=book), unit=unit, as_of=day,
        labels=reports.labels(c), lang=lang, owed=reports_ledger.government_owed(c, unit=unit, as_of=day),
        aside={f.book: (f.share_receipts, f.adjustment_receipts)
               for f in year_figures.component_years(c, day.year, as_of=day, book=book, unit=unit) if f.pooled}))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("ledger")
def ledger(account: Annotated[str, typer.Argument(help="Account id or BOOK:CODE:UNIT[:HOLDER[:COMPONENT]].")],
           date_from: Annotated[str | None, typer.Option("--from", help="First day (default 1 January).")] = None,
           date_to: Annotated[str | None, typer.Option("--to", help="Last day (default 31 December).")] = None,
           year: YearOpt = None, limit: LimitOpt = 1000, offset: OffsetOpt = 0,
           json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """Account ledger: every posting of one account with its running balance, after the balance brought forward."""
    lang = checked_lang(lang)
    to = parse_date_opt(date_to, "to")
    frm = parse_date_opt(date_from, "from")
    y = year or (frm or to or dt.date.today()).year
    frm, to = frm or dt.date(y, 1, 1), to or dt.date(y, 12, 31)
    if frm > to:
        raise BadInput(_("--from {start} is after --to {end}").format(start=frm, end=to))
    report = read(lambda c: builders_detail.ledger_report(
        reports_ledger.account_ledger(c, account, date_from=frm, date_to=to, limit=limit, offset=offset),
        labels=reports.labels(c), lang=lang))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("vouchers")
def vouchers(number_from: Annotated[int, typer.Option("--first", callback=bounded(1, 2**31 - 1), help="First voucher number.")] = 1,
             number_to: Annotated[int, typer.Option("--last", callback=bounded(1, 2**31 - 1), help="Last voucher number.")] = 999_999_999,
             old_from: Annotated[int | None, typer.Option("--from", callback=bounded(1, 2**31 - 1), hidden=True,
                                                          help="Old name of --first.")] = None,
             old_to: Annotated[int | None, typer.Option("--to", callback=bounded(1, 2**31 - 1), hidden=True,
                                                        help="Old name of --last.")] = None,
             book: BookOpt = None,
             year: Annotated[int | None, typer.Option("--year", callback=check_year, help="Fiscal year (default: the latest).")] = None,
             limit: Annotated[int, typer.Option("--limit", callback=bounded(1, 1_000_000), help="At most this many vouchers.")] = 200,
             offset: Annotated[int, typer.Option("--offset", callback=bounded(0, BIGINT_MAX), help="Skip this many vouchers.")] = 0,
             json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """Printable vouchers: number, date, lines, who posted, reversal links.

    --first/--last are voucher numbers (--from/--to are dates everywhere else)."""
    lang = checked_lang(lang)
    if old_from is not None or old_to is not None:
        err_console.print(_("note: report vouchers takes voucher numbers as --first/--last; --from/--to are dates "
                            "in every other command"))
        number_from = old_from if old_from is not None else number_from
        number_to = old_to if old_to is not None else number_to
    report = read(lambda c: builders_detail.vouchers_report(
        reports_ledger.vouchers(c, year=year, book=book, number_from=number_from, number_to=number_to,
                                limit=limit, offset=offset),
        labels=reports.labels(c), lang=lang, period=f"{year or ''} {number_from}..{number_to}".strip()))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force, hide=("entry_id", "kind"))


@report_app.command("budget-execution")
def budget_execution(year: Annotated[int, typer.Option("--year", callback=check_year, help="Budget year.")],
                     as_of: AsOfOpt = None, unit: UnitOpt = None, book: BookOpt = None,
                     json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False,
                     lang: LangOpt = None) -> None:
    """Budget vs actual per line and quarter: % executed, variance; flags planned deficits."""
    lang = checked_lang(lang)
    day = as_of_in_year(as_of, year)
    report = read(lambda c: builders_fund.budget_execution_report(
        reports_budget.budget_execution(c, year=year, as_of=day, book=book, unit=unit), year=year,
        labels=reports.labels(c), lang=lang))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("funding")
def funding_standards(year: Annotated[int, typer.Option("--year", callback=check_year, help="Fiscal year.")],
                      unit: UnitOpt = None, book: BookOpt = None,
                      json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False,
                      lang: LangOpt = None) -> None:
    """Funding standards: subsidy and contributions received per insured against the year's standard.

    Per unit: fiscal subsidy (4101 without the shortfall share) and individual contributions
    (4001) received in the year, per insured, against the standard of the region file, and
    the subsidy : individual ratio against its limit (2 : 1); flags below_standard,
    ratio_out_of_range, no_headcount."""
    lang = checked_lang(lang)
    report = read(lambda c: builders_funding.funding_report(
        funding.funding(c, year, book=book, unit=unit), year=year, labels=reports.labels(c), lang=lang))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("requests")
def requests(year: Annotated[int, typer.Option("--year", callback=check_year, help="Year of the requests.")],
             unit: UnitOpt = None, book: BookOpt = None, limit: LimitOpt = 1000, offset: OffsetOpt = 0,
             json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """The fund-request register: every state change of every request, who made it and why."""
    lang = checked_lang(lang)
    report = read(lambda c: builders_fund.requests_report(
        reports_budget.requests(c, year=year, book=book, unit=unit, limit=limit, offset=offset), year=year,
        labels=reports.labels(c)))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("registers")
def registers(as_of: AsOfOpt = None,
              kind: Annotated[str | None, typer.Option("--kind", help="fiscal_arrears, employer_arrears, "
                                                       "unpaid_claims or government_share.")] = None,
              unit: UnitOpt = None, book: BookOpt = None, limit: LimitOpt = 1000, offset: OffsetOpt = 0,
              json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False, lang: LangOpt = None) -> None:
    """Memo registers: arrears, unpaid claims, government shares, with ageing.

    Each item's amount, cleared and outstanding as of the day, and the outstanding amount
    in its ageing column (0–90, 91–180, 181–365, over 365 days)."""
    lang = checked_lang(lang)
    if kind is not None and kind not in builders_fund.REGISTER_KINDS:
        raise BadInput(_("--kind must be one of {kinds}, got '{kind}'").format(
            kinds=", ".join(builders_fund.REGISTER_KINDS), kind=kind))
    day = _as_of(as_of, None)
    report = read(lambda c: builders_fund.registers_report(
        reports_budget.registers(c, as_of=day, kind=kind, book=book, unit=unit, limit=limit, offset=offset),
        as_of=day, labels=reports.labels(c), lang=lang))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force, hide=("kind",))


def register(app: typer.Typer) -> None:
    """Nothing to add: ``report_app`` is already on the root app (cmd_core) and this
    module's commands are on it; ``monitor`` and ``chart`` are cmd_monitor's own (a
    monitor run does not import every report's builders)."""


@report_app.command("city-budget")
def city_budget(year: Annotated[int, typer.Option("--year", callback=check_year, help="Budget year.")],
                as_of: AsOfOpt = None, book: BookOpt = None,
                json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False,
                lang: LangOpt = None) -> None:
    """City-wide budget execution: every budget line with the city total, then each unit; actual, %
    executed, variance; the small-surplus checks on each result line."""
    lang = checked_lang(lang)
    day = as_of_in_year(as_of, year)

    def work(c):  # type: ignore[no-untyped-def]
        checks = [x for cb in budget_store.city(c, year, book=book) for x in cb.checks]
        return builders_budget.city_budget_report(
            reports_budget.budget_execution(c, year=year, as_of=day, book=book), year=year,
            labels=reports.labels(c), checks=checks, lang=lang, consolidate=reports.confined_unit(c) is None)
    show(read(work), json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force)


@report_app.command("performance")
def performance(year: Annotated[int, typer.Option("--year", callback=check_year, help="The year reviewed.")],
                unit: UnitOpt = None, book: BookOpt = None,
                json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False,
                lang: LangOpt = None) -> None:
    """Budget performance review: each unit's year scored on seven indicators (weights: region
    setting performance_weights) and ranked per book, with the figures behind every score."""
    lang = checked_lang(lang)
    report = read(lambda c: builders_budget.performance_report(
        performance_store.reviews(c, year, book=book, unit=unit), year=year, labels=reports.labels(c), lang=lang))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force, hide=("indicator",))


@report_app.command("final-accounts")
def final_accounts(year: Annotated[int, typer.Option("--year", callback=check_year, help="The closed year.")],
                   unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822); "
                                                            "default: the city, consolidated.")] = None,
                   book: BookOpt = None,
                   json_out: JsonOpt = False, csv: CsvOpt = None, xlsx: XlsxOpt = None, force: ForceOpt = False,
                   lang: LangOpt = None) -> None:
    """Year-end final accounts of a closed year: per fund, the balance sheet, the income and
    expenditure statement and its schedule (the fund accounting rules of 2017), for one unit or the
    city consolidated.

    Refused for a year not yet closed (close it first: close year). The XLSX prints each
    statement on one page wide, portrait, with the signature block."""
    from ledger.reports import builders_final
    from ledger.store import reports_final

    lang = checked_lang(lang)
    report = read(lambda c: builders_final.final_accounts_report(
        reports_final.figures(c, year, unit=unit, book=book), labels=reports.labels(c), unit=unit, lang=lang))
    show(report, json_out=json_out, csv_path=csv, xlsx_path=xlsx, lang=lang, force=force,
         hide=("statement", "code"))
