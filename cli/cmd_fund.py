"""The fund cycle (佳政办发〔2021〕2号 §三(三)): preallocate, request …, interest allocate,
close year, government pay, report shortfall. Thin: parse, call one store function, render."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.callbacks import bounded, check_id
from cli.cmd_core import close_app, report_app
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
from cli.exports import checked_lang, export_report
from cli.outfiles import FORCE_HELP
from ledger.core.money import decimal_text, format_yuan, parse_fen
from ledger.core.shapes import as_row, field_names, money_fields, money_keys, to_json
from ledger.errors import BadInput
from ledger.i18n import N_, _, both, code_text, get_lang, translate
from ledger.store import cycle, requests, yearend

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/officers-guide.md).")]
DateOpt = Annotated[str, typer.Option("--date", help="Date of the entry (YYYY-MM-DD).")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key never posts twice.")]

request_app = typer.Typer(help="Quarterly fund requests: submit → approve → disburse → settle.",
                          no_args_is_help=True)
interest_app = typer.Typer(help="Special-account interest shared by average daily balance.",
                           no_args_is_help=True)
government_app = typer.Typer(help="The local government's shortfall share: payments.", no_args_is_help=True)

RECONCILE_NOTE = N_("S counts government shares still owed to the fund (obligations register); the books (cash basis) "
                  "do not: S on books = S − owed. A share received this year for an earlier year is revenue on the "
                  "books but not in C (BRIEF §5).")


def _date(text: str, name: str = "date") -> dt.date:
    d = parse_date_opt(text, name)
    assert d is not None
    return d


def _amount(text: str) -> int:
    """Yuan text → fen; refuses zero, negatives and a third decimal (BadAmount)."""
    return parse_fen(text, allow_zero=False)


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        console.print(_("[yellow]warning[/yellow]: {warning}").format(warning=plain(w)))


# ---- pre-allocation (预拨) --------------------------------------------------------------

def preallocate_cmd(
    year: Annotated[int, typer.Option("--year", callback=check_year, help="The year being pre-allocated.")],
    date: DateOpt,
    months: Annotated[int | None, typer.Option("--months", callback=bounded(1, 12), help="Months of payable funds (setting preallocation_months, 3).")] = None,
    basis: Annotated[str | None, typer.Option("--basis", help="budget (approved expenditure ÷ its months: 12, or from a "
                                              "county's joining date that year) or prior-year (last year's spending ÷ the "
                                              "months it was in the ledger); setting preallocation_basis.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the table; write nothing.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Pre-allocation: top each county's expenditure account up to months × monthly basis (reviewer);
    held until city finance confirms it (entry confirm)."""
    on = _date(date)

    def work(c):  # type: ignore[no-untyped-def]
        s = cycle.settings(c)
        m = months if months is not None else int(s.get("preallocation_months", 3))
        b = basis or str(s.get("preallocation_basis", "budget"))
        t = cycle.preallocation_table(c, year, months=m, basis=b, on=on)
        return m, b, (t if dry_run else cycle.post_preallocation(c, year, on, t)), cycle.joining_after(c, on)

    m, b, rows, late = read(work) if dry_run else write(work)
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    title = (_("pre-allocation {year}: {months} months, basis {basis} — dry run, nothing written") if dry_run
             else _("pre-allocation {year}: {months} months, basis {basis}")).format(
        year=year, months=m, basis=code_text(b))
    shown = [dict(as_row(r), status=status_text(r.status)) for r in rows]
    table(title, [("unit", _("unit")), ("book", _("book")), ("component", _("comp")),
                  ("monthly_basis", _("monthly basis")), ("months", _("months")), ("target", _("target")),
                  ("held", _("held")), ("amount", _("amount")), ("status", _("status")), ("entry_id", _("entry")),
                  ("held_id", _("held entry"))],
          shown, money=money_keys(cycle.PreallocationLine),
          totals={"unit": _("Total"), "amount": sum(r.amount for r in rows if r.status in ("held", "to post"))})
    waiting = [str(r.held_id) for r in rows if r.status == "held" and r.held_id is not None]
    if waiting:
        # 0046: the bureau holds it; city finance, whose special account pays it, confirms.
        console.print(_("held for city finance: a pre-allocation (预拨) is a transfer out of the special account, so a "
                        "finance user confirms it and only then does it post: fundledger --as FINANCE entry confirm "
                        "{ids} (or fundledger entry reject ID --reason ...)").format(ids=" ".join(waiting)))
    for unit in sorted({r.unit for r in rows if r.status == "not yet joined"}):
        # 0163 (ATTACK19 J5): nothing is posted on a unit before it joined; its own pre-allocation later.
        console.print(_("[yellow]left out[/yellow]: unit {unit} joins the pooled fund on {joined}, after this "
                        "pre-allocation's date {date}; nothing is pre-allocated for it now — pre-allocate for it on "
                        "or after that day: fundledger preallocate --year {year} --date {joined} (what is pre-allocated "
                        "now is not pre-allocated again)").format(
            unit=plain(unit), joined=late[unit], date=on, year=year))
    from_plan = sorted({r.unit for r in rows if r.target_basis == "plan"})
    if from_plan:
        console.print(_("target = the annual plan's expenditure for these months, not months × basis, "
                        "for: {units}").format(units=plain(", ".join(from_plan))))
    if not any(r.monthly_basis for r in rows):
        hint = (_("nothing to pre-allocate: no budget for {year} has been imported (fundledger budget import FILE), "
                  "or use --basis prior-year") if b == "budget"
                else _("nothing to pre-allocate: no spending in {prior} to base it on (try --basis budget)"))
        console.print(f"[yellow]{hint.format(year=year, prior=year - 1)}[/yellow]")


def _own_unit(c: Any) -> str:
    """An officer's unit, from their login; anyone else must say which unit."""
    me = requests.whoami(c)
    if me.role == "officer" and me.unit:
        return me.unit
    raise BadInput(_("--unit is required (only an officer's unit comes from their login)"))


# ---- requests (用款申请) ----------------------------------------------------------------

def _print_request(r: requests.FundRequest) -> None:
    comp = f" ({r.component})" if r.component else ""
    approved = _(", approved {amount} by {user}").format(amount=format_yuan(r.amount_approved or 0),
                                                        user=plain(r.approved_by)) if r.amount_approved else ""
    console.print(_("[bold]request {id}[/bold]  {state}  unit {unit} {book}{comp} {year} Q{quarter}: "
                    "requested {amount}{approved}").format(
        id=r.id, state=code_text(r.state), unit=plain(r.unit), book=plain(r.book), comp=plain(comp), year=r.year,
        quarter=r.quarter, amount=format_yuan(r.amount_requested), approved=approved))
    if r.note:
        console.print(_("note: {note}").format(note=plain(r.note)))


def _print_justification(j: requests.RequestJustification, title: str | None = None) -> None:
    quarter_label = (_("budget for the quarter (annual plan)") if j.quarter_basis == "plan"
                     else _("budget for the quarter (annual ÷ 4)"))
    labels = [("budget_for_quarter", quarter_label),
              ("annual_budget_expenditure", _("annual budgeted expenditure")),
              ("spent_to_date", _("spent to date this year")),
              ("held_county_exp", _("held: county expenditure account")),
              ("held_city_exp", _("held: share of the city expenditure account")),
              ("held_special", _("held: share of the special account")),
              ("balances_held", _("balances held, total")),
              ("approved_this_year", _("approved so far this year"))]
    table(_("{title} (figures as of {as_of})").format(title=title or _("justification"), as_of=j.as_of),
          [("item", _("item")), ("amount", _("amount"))],
          [{"item": label, "amount": getattr(j, k)} for k, label in labels if getattr(j, k) is not None],
          money=["amount"])


@request_app.command("submit")
def request_submit(
    unit: Annotated[str | None, typer.Option("--unit", help="The unit asking (default for an officer: their own "
                                             "unit, from their login).")] = None,
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")] = "RES",
    year: Annotated[int | None, typer.Option("--year", callback=check_year, help="Fiscal year (default: this year).")] = None,
    quarter: Annotated[int | None, typer.Option("--quarter", callback=bounded(1, 4), help="1–4 (default: this quarter).")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="Yuan, e.g. 600000.00.")] = None,
    component: Annotated[str, typer.Option("--component", help="pooled or personal (employees' book).")] = "",
    note: Annotated[str, typer.Option("--note", help="What the money is for.")] = "",
    key: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """File a quarterly fund request with its justification (officer of the unit, or reviewer)."""
    if amount is None:
        raise BadInput(_("--amount is required (yuan, e.g. 600000.00)"))
    fen = _amount(amount)
    today = dt.date.today()
    y = year if year is not None else today.year
    q = quarter if quarter is not None else (today.month - 1) // 3 + 1

    def work(c):  # type: ignore[no-untyped-def]
        u = unit or _own_unit(c)
        return requests.submit(c, unit=u, book=book, component=component, year=y, quarter=q,
                               amount=fen, note=note, key=key or f"request-{uuid.uuid4().hex[:12]}")
    r = write(work)
    if json_out:
        emit_json(to_json(r))
        return
    console.print(_("request {id} {status}").format(id=r.id, status=status_text(r.status)))
    _print_request(r)
    _print_justification(r.justification)
    _warn(list(r.warnings))


@request_app.command("approve")
def request_approve(
    request_id: Annotated[int, typer.Argument(metavar="ID", callback=check_id, help="The request's id (request list).")],
    amount: Annotated[str | None, typer.Option("--amount", help="Approve less than requested.")] = None,
    date: Annotated[str | None, typer.Option(
        "--date", help="The approval's business date (YYYY-MM-DD): the day the approval was decided, today or "
                       "earlier (default: today in the region). Recording an approval decided earlier, give its "
                       "date: the request is disbursed on or after it.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Approve (reviewer, never the submitter): reserves the money on the special account."""
    fen = _amount(amount) if amount is not None else None
    on = _date(date) if date is not None else None
    r = write(lambda c: requests.approve(c, request_id, fen, on))
    if json_out:
        emit_json(to_json(r))
        return
    console.print(_("request {id} approved on {date}: {approved} of {requested} requested, reserved on the {book} "
                    "special account").format(id=r.id, date=r.approved_on, approved=format_yuan(r.amount_approved or 0),
                                              requested=format_yuan(r.amount_requested), book=plain(r.book)))
    _warn(list(r.warnings))


@request_app.command("reject")
def request_reject(
    request_id: Annotated[int, typer.Argument(metavar="ID", callback=check_id, help="The request's id (request list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the request's history).")],
    json_out: JsonOpt = False,
) -> None:
    """Reject a submitted request with a reason (reviewer, never the submitter)."""
    r = write(lambda c: requests.reject(c, request_id, reason))
    if json_out:
        emit_json(to_json(r))
    else:
        console.print(_("request {id} rejected: {reason}").format(id=r.id, reason=plain(reason)))


@request_app.command("void")
def request_void(
    request_id: Annotated[int, typer.Argument(metavar="ID", callback=check_id, help="The request's id (request list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the request's history).")],
    json_out: JsonOpt = False,
) -> None:
    """Void an approved request before disbursement; releases its reservation (reviewer)."""
    r = write(lambda c: requests.void(c, request_id, reason))
    if json_out:
        emit_json(to_json(r))
    else:
        console.print(_("request {id} voided; {amount} released: {reason}").format(
            id=r.id, amount=format_yuan(r.amount_approved or 0), reason=plain(reason)))


@request_app.command("disburse")
def request_disburse(
    request_id: Annotated[int, typer.Argument(metavar="ID", callback=check_id, help="The request's id (request list).")],
    date: DateOpt,
    key: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Disburse: special account → city expenditure account (finance)."""
    on = _date(date)
    r = write(lambda c: requests.disburse(c, request_id, on, key))
    if json_out:
        emit_json(to_json(r))
    else:
        console.print(_("request {id} disbursed: {amount} from the special account to the city expenditure account "
                        "(entry {entry})").format(id=r.id, amount=format_yuan(r.amount_approved or 0), entry=r.entry_id))


@request_app.command("settle")
def request_settle(
    request_id: Annotated[int, typer.Argument(metavar="ID", callback=check_id, help="The request's id (request list).")],
    date: DateOpt,
    key: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Settle: city expenditure account → county expenditure account (reviewer).
    For the city unit itself settling only records the step (no entry)."""
    on = _date(date)
    r = write(lambda c: requests.settle(c, request_id, on, key))
    if json_out:
        emit_json(to_json(r))
    elif r.entry_id:
        console.print(_("request {id} settled: {amount} to unit {unit}'s expenditure account (entry {entry})").format(
            id=r.id, amount=format_yuan(r.amount_approved or 0), unit=plain(r.unit), entry=r.entry_id))
    else:
        console.print(_("request {id} settled (the city's own money stays in the city expenditure account)")
                      .format(id=r.id))


@request_app.command("list")
def request_list(
    year: Annotated[int | None, typer.Option("--year", callback=check_year, help="Fiscal year.")] = None,
    quarter: Annotated[int | None, typer.Option("--quarter", callback=bounded(1, 4), help="Quarter, 1–4.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    state: Annotated[str | None, typer.Option("--state", help="submitted, approved, rejected, disbursed, "
                                              "settled or voided.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Fund requests (officers see their own unit's)."""
    rows = read(lambda c: requests.list_requests(c, year=year, quarter=quarter, unit=unit, state=state))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    shown = [dict(as_row(r), state=code_text(r.state), period=_("{year} Q{quarter}").format(year=r.year, quarter=r.quarter))
             for r in rows]
    table(_("fund requests"), [("id", _("id")), ("unit", _("unit")), ("book", _("book")),
                               ("component", _("comp")), ("period", _("quarter")),
                               ("amount_requested", _("requested")), ("amount_approved", _("approved")),
                               ("state", _("state")), ("submitted_by", _("by")), ("approved_by", _("approver")),
                               ("reason", _("reason")), ("note", _("note"))],
          shown, money=money_keys(requests.RequestLine))


@request_app.command("show")
def request_show(
    request_id: Annotated[int, typer.Argument(metavar="ID", callback=check_id, help="The request's id (request list).")],
    json_out: JsonOpt = False,
) -> None:
    """One request: its justification and every step (who, when, why)."""
    r = read(lambda c: requests.show(c, request_id))
    if json_out:
        emit_json(to_json(r))
        return
    _print_request(r)
    _print_justification(r.justification, _("justification filed with the request"))
    events = [dict(as_row(e), action=code_text(e.action), from_state=code_text(e.from_state or ""),
                   to_state=code_text(e.to_state or "")) for e in r.events]
    table(_("history"), [("at", _("when")), ("action", _("action")), ("from_state", _("from")),
                         ("to_state", _("to")), ("amount", _("amount")), ("actor", _("who")), ("reason", _("why")),
                         ("entry_id", _("entry"))],
          events, money=money_keys(requests.RequestEvent))
    _warn(list(r.warnings))


# ---- interest ------------------------------------------------------------------------

@interest_app.command("allocate")
def interest_allocate(
    amount: Annotated[str, typer.Option("--amount", help="The interest the bank paid, in yuan.")],
    date: DateOpt,
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")],
    date_from: Annotated[str | None, typer.Option("--from", help="First day of the period (default 1 January).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day of the period (default: --date).")] = None,
    key: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Share special-account interest by each unit's average daily balance (finance).

    Shares are floors of the exact pro-rata amounts; the fen left over go one each to the
    largest remainders, ties to the lower unit code, so they add up to the fen."""
    fen = _amount(amount)
    on = _date(date)
    end = parse_date_opt(date_to, "to") or on
    start = parse_date_opt(date_from, "from") or dt.date(end.year, 1, 1)
    if start > end:
        raise BadInput(_("--from {start} is after --to {end}").format(start=start, end=end))
    if end > on:
        raise BadInput(_("--to {end} is after the entry date --date {on}").format(end=end, on=on))

    def work(c):  # type: ignore[no-untyped-def]
        t = cycle.interest_table(c, book, fen, start, end)
        return t, cycle.post_interest(c, book, on, key or f"interest:{book}:{on}", t, fen, start, end)

    rows, posted = write(work)
    if json_out:
        emit_json({"book": book, "from": start.isoformat(), "to": end.isoformat(), "amount": decimal_text(fen),
                   "entry_id": posted.entry_id, "status": posted.status, "held_id": posted.held_id,
                   "shares": [to_json(r) for r in rows]})
        return
    table(_("interest {amount} on the {book} special account, {start} … {end}").format(
              amount=format_yuan(fen), book=book, start=start, end=end),
          [("unit", _("unit")), ("component", _("comp")), ("balance_days", _("sum of daily balances")),
           ("average_daily_balance", _("average daily balance")), ("share", _("share"))],
          [as_row(r) for r in rows], money=money_keys(cycle.InterestShare), totals={"unit": _("Total"), "share": sum(r.share for r in rows)})
    if posted.status == "held":
        console.print(_("held  as held entry {held}: interest moves money into every unit's special-account share, "
                        "so a second person (a reviewer or another finance user) confirms it: fundledger entry "
                        "confirm {held}").format(held=posted.held_id))
    else:
        console.print(_("{status}: entry {entry}").format(status=status_text(posted.status), entry=posted.entry_id))


# ---- year-end close ------------------------------------------------------------------

#: The shortfall's columns: one word per figure on screen (close year, report shortfall) and in
#: the files (--csv, --xlsx).
SHORTFALL_COLUMNS = {
    "unit": N_("Unit"), "book": N_("Book"), "revenue": N_("Revenue"), "expenditure": N_("Expenditure"),
    "current_balance": N_("Current balance"), "surplus_before": N_("Surplus before"),
    "covered_by_surplus": N_("Covered by surplus"), "government_share": N_("Government share"),
    "surplus_after": N_("Surplus after"), "revenue_on_books": N_("Revenue on the books"),
    "share_receipts": N_("Government share received for earlier years"),
    "surplus_before_on_books": N_("Surplus before on the books"),
    "outstanding_before": N_("Government share owed at start"), "outstanding_after": N_("Government share owed at end"),
    "surplus_after_on_books": N_("Surplus after on the books"),
    "adjustment_receipts": N_("Adjustment fund for the year"),
    "covered_by_adjustment_fund": N_("Covered by adjustment fund"),
}
# On screen two figures are read as steps of the sum: revenue on the books less receipts, and
# the part of S after still owed.
_SCREEN_WORDING = {"share_receipts": N_("Less: government share received"),
                   "adjustment_receipts": N_("Less: adjustment fund for the year"),
                   "outstanding_after": N_("Of which owed by the government")}
_SCREEN_ORDER = ("unit", "book", "revenue_on_books", "share_receipts", "revenue", "expenditure", "current_balance",
                 "surplus_before", "covered_by_surplus", "government_share", "surplus_after", "outstanding_after",
                 "surplus_after_on_books")


def _shortfall_table(rows: Sequence[yearend.ShortfallLine], title: str) -> None:
    # The adjustment fund's two columns only where the region put the fund in the order and it gave.
    order = [k for k in _SCREEN_ORDER]
    if any(r.adjustment_receipts for r in rows):
        order.insert(order.index("revenue"), "adjustment_receipts")
        order.insert(order.index("government_share"), "covered_by_adjustment_fund")
    table(title, [(k, _(_SCREEN_WORDING.get(k, SHORTFALL_COLUMNS[k]))) for k in order],
          [as_row(r) for r in sorted(rows, key=lambda r: (r.unit, r.book))], money=money_keys(yearend.ShortfallLine))
    if any(r.share_receipts or r.outstanding_after for r in rows):
        console.print(_(RECONCILE_NOTE))


@close_app.command("year")
def close_year(
    date: Annotated[str | None, typer.Option(
        "--date", help="The close's date: 31 December of the year (the default; no other date is accepted).")] = None,
    year: Annotated[int | None, typer.Option("--year", callback=check_year, help="The year to close (YYYY).")] = None,
    old_year: Annotated[int | None, typer.Argument(hidden=True, metavar="[YEAR]", callback=check_year,
                                                   help="Old form of --year (close year 2024).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Year-end close: close revenue and expenditure to 3001 for every book, share each unit's
    shortfall (surplus first, then the local government), lock the year (reviewer; once)."""
    if old_year is not None:
        if year is not None and year != old_year:
            raise BadInput(_("two different years: {a} and --year {b}").format(a=old_year, b=year))
        err_console.print(_("note: `close year {year}` is the old form; write `close year --year {year}`")
                          .format(year=old_year))
        year = old_year
    if year is None:
        raise BadInput(_("--year is required (the year to close)"))
    # (0100, ATTACK14 V3) A close is dated the last day of the year it closes.
    on = _date(date) if date is not None else dt.date(year, 12, 31)
    res = write(lambda c: yearend.close_year(c, year, on))
    if json_out:
        emit_json(to_json(res))
        return
    for b in res.books:
        console.print(_("book {book}: {entries} closing entries, {items} government share(s) recorded").format(
            book=plain(b.book), entries=b.entries, items=b.government_items))
    _shortfall_table(res.rows, _("shortfall sharing {year}").format(year=year))
    console.print(_("year {year} closed on {on}: every month of {year} is now closed").format(year=year, on=on))


# ---- government pays its share -------------------------------------------------------

@government_app.command("pay")
def government_pay(
    unit: Annotated[str, typer.Option("--unit", help="The unit whose government pays (e.g. 230822).")],
    book: Annotated[str, typer.Option("--book", help="RES or EMP.")],
    amount: Annotated[str, typer.Option("--amount", help="Yuan received from the local government.")],
    date: DateOpt,
    key: KeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The local government pays its shortfall share into the special account (finance):
    clears the open register items oldest first; paying more than is owed is refused."""
    fen = _amount(amount)
    on = _date(date)
    rows = write(lambda c: cycle.government_pay(c, unit, book, fen, on, key or f"govpay:{unit}:{book}:{on}:{fen}"))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    for r in rows:
        console.print(_("{status}: {amount} against the {year} government share (register item {item}, entry {entry})")
                      .format(status=status_text(r.status), amount=format_yuan(r.amount), year=r.fiscal_year,
                              item=r.item_id, entry=r.entry_id))


# ---- report shortfall ----------------------------------------------------------------

def _shortfall_model(rows: Sequence[yearend.ShortfallLine], year: int, region: str, lang: str | None = None) -> Any:
    """The shortfall as a report (the files): headers and notes in ``lang`` (default: the
    language in force)."""
    from ledger.reports.model import Column, Report, Section

    money = money_fields(yearend.ShortfallLine)
    cols = tuple(Column(k, SHORTFALL_COLUMNS[k], "money" if k in money else "text")
                 for k in field_names(yearend.ShortfallLine))
    notes = [translate(N_("provisional: the year is not closed; figures computed from the books now"), lang)] \
        if any(isinstance(r, yearend.ProvisionalLine) for r in rows) else []
    notes.append(translate(RECONCILE_NOTE, lang))
    return Report("shortfall", *both(N_("Shortfall sharing {year}"), year=year), region, str(year),
                  dt.datetime.now(dt.UTC), cols,
                  (Section(*both(N_("Shortfall sharing")), tuple({k: getattr(r, k) for k in field_names(yearend.ShortfallLine)} for r in rows)),),
                  tuple(notes))


@report_app.command("shortfall")
def report_shortfall(
    year: Annotated[int, typer.Option("--year", callback=check_year, help="Fiscal year.")],
    json_out: JsonOpt = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write CSV (UTF-8 with BOM) here.")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write an Excel workbook here.")] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    lang: Annotated[str | None, typer.Option("--lang", metavar="zh|en", help="zh or en (default: the language in "
                                             "force).")] = None,
) -> None:
    """Shortfall sharing: per unit and book revenue, expenditure, C, S before, covered by S, the
    government's share and S after (from the close; live and provisional before it)."""
    def work(c):  # type: ignore[no-untyped-def]
        s = cycle.settings(c).get("region") or {}
        name = s.get("name_en" if get_lang() == "en" else "name_zh") or s.get("name_zh", "")
        return yearend.shortfall_report(c, year), f"{name} {s.get('code', '')}".strip()

    rows, region = read(work)
    lang = checked_lang(lang)
    # Files as every report writes them: an existing file only with --force, never through a symlink.
    export_report(_shortfall_model(rows, year, region, lang), csv, xlsx, lang, force=force)
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    provisional = any(isinstance(r, yearend.ProvisionalLine) for r in rows)
    _shortfall_table(rows, (_("shortfall sharing {year} (provisional: not closed)") if provisional
                            else _("shortfall sharing {year}")).format(year=year))


def register(app: typer.Typer) -> None:
    app.command("preallocate")(preallocate_cmd)
    app.add_typer(request_app, name="request")
    app.add_typer(interest_app, name="interest")
    app.add_typer(government_app, name="government")
