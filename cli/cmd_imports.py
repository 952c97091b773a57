"""Import commands (handover, collections, payments) and the memo registers; budgets are in cmd_budget.

File formats, rules and JSON keys: docs/imports.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.callbacks import check_id
from cli.context import (
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
from ledger.core.shapes import as_row, json_value, money_keys, to_json
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _, code_text
from ledger.store import imports, registers

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/imports.md).")]
FileArg = Annotated[Path, typer.Argument(help="CSV (UTF-8 or Excel's GBK) or XLSX file; columns in docs/imports.md.")]

handover_app = typer.Typer(help="Handover of a county's fund to the city.", no_args_is_help=True)
register_app = typer.Typer(help="Memo registers: arrears, unpaid claims, government shares.",
                           no_args_is_help=True)
collect_app = typer.Typer(help="Collections and subsidies into the special account.",
                          no_args_is_help=True)
pay_app = typer.Typer(help="Benefit payments to designated providers.", no_args_is_help=True)



def _required_date(text: str, name: str = "date") -> dt.date:
    d = parse_date_opt(text, name)
    assert d is not None
    return d


def _amount(text: str) -> int:
    try:
        return parse_fen(text, allow_zero=False)
    except BadAmount as e:
        raise BadInput(_("--amount: {error}").format(error=e.message)) from e


def _summary(r: imports.ImportResult, file: Path) -> str:
    """The file as the user typed it (the batch records its full path)."""
    if r.batch_id is None:
        return _nothing_new(r, file)
    return _("{file}: posted {rows} rows in {entries} entries, skipped {skipped} already posted (batch {batch})").format(
        file=plain(file), rows=r.rows_posted, entries=r.entries, skipped=r.rows_skipped, batch=r.batch_id)


def _nothing_new(r: imports.ImportResult, file: Path) -> str:
    """(ATTACK12 Z7) A file whose rows were all imported before (or that has none): a success, and
    nothing is recorded — no import batch."""
    return _("{file}: nothing new to import: {skipped} row(s) were already imported and {rows} are new; "
             "nothing was recorded (no import batch)").format(file=plain(file), skipped=r.rows_skipped, rows=r.rows_posted)


def print_notices(r: imports.ImportResult) -> None:
    for notice in r.notices:
        err_console.print(_("notice: {notice}").format(notice=notice), markup=False)


def _run_import(kind: str, file: Path, json_out: bool, on: dt.date | None = None) -> imports.ImportResult:
    r = write(lambda c: imports.import_file(c, kind, file, on=on))
    print_notices(r)
    if json_out:
        emit_json(to_json(r))
    return r


# ---- handover -------------------------------------------------------------------------

@handover_app.command("open")
def handover_open(
    file: FileArg,
    date: Annotated[str, typer.Option("--date", help="Date of the audited opening balances (YYYY-MM-DD).")],
    json_out: JsonOpt = False,
) -> None:
    """Record a county's audited opening balances (legacy deposits) and its memo-register
    items (fiscal arrears, employer arrears, unpaid claims). Reviewer."""
    r = _run_import("opening", file, json_out, _required_date(date))
    if not json_out and r.batch_id is None:
        console.print(_nothing_new(r, file))
    elif not json_out:
        items = r.register_items if isinstance(r, imports.OpeningImport) else 0
        held = r.held if isinstance(r, imports.OpeningImport) else []
        # Register items are memo records, not postings: count them apart from the held rows.
        console.print(_("{file}: held {rows} rows on legacy bank accounts and recorded {items} register item(s) "
                        "(memo only, no entry); skipped {skipped} already imported (batch {batch})").format(
            file=plain(file), rows=len(held), items=items, skipped=r.rows_skipped, batch=r.batch_id))
        if held:
            ids = " ".join(str(i) for i in held)
            # (0052, ATTACK6 T9) An opening on a bank account moves real money: a second person confirms.
            console.print(_("held entries {ids}: city finance or a second reviewer confirms them: fundledger entry "
                            "confirm {ids} (another user), or rejects one: fundledger entry reject ID --reason ...")
                          .format(ids=ids))


@handover_app.command("transfer")
def handover_transfer(
    unit: Annotated[str, typer.Option("--unit", help="The county whose legacy deposits move up.")],
    date: Annotated[str, typer.Option("--date", help="Date of the transfer (YYYY-MM-DD).")],
    json_out: JsonOpt = False,
) -> None:
    """Transfer up: move ALL of a county's legacy deposits up to the special account, one entry
    per book and component. Finance."""
    on = _required_date(date)
    rows, since = write(lambda c: (imports.handover_transfer(c, unit, on), imports.legacy_since_opening(c, unit)))
    # (ATTACK17 E5) What the city audited and confirmed, and every other entry that moved money on the
    # legacy accounts since (held and confirmed by the city bureau or city finance since 0140): a
    # transfer below the audited opening says why.
    audit = {(s.book, s.component): s for s in since}
    if json_out:
        emit_json([{**to_json(r), "audited": json_value(audit[(r.book, r.component)].audited, True)
                    if (r.book, r.component) in audit else None,
                    "moved_since_opening": [to_json(m) for m in audit[(r.book, r.component)].moves]
                    if (r.book, r.component) in audit else []} for r in rows])
        return
    for r in rows:
        comp = f" {r.component}" if r.component else ""
        console.print(_("{status}: {book}{comp} unit {unit}: {amount} moved to the special account "
                        "(entry {entry}, key {key})").format(
            status=status_text(r.status), book=plain(r.book), comp=plain(comp), unit=plain(unit),
            amount=format_yuan(r.amount), entry=r.entry_id, key=plain(r.idempotency_key)))
        s = audit.get((r.book, r.component))
        if s is None or not s.moves:
            continue
        console.print(_("  the audited opening was {audited}; besides the transfer up, {n} entries moved {net} on "
                        "the legacy accounts since (check each: fundledger entry show ID):").format(
            audited=format_yuan(s.audited), n=len(s.moves), net=format_yuan(sum(m.amount for m in s.moves))))
        for m in s.moves:
            console.print(_("    entry {entry} ({kind}, {date}): {amount}, made by {maker}, confirmed by {checker}")
                          .format(entry=m.entry_id, kind=code_text(m.kind), date=m.entry_date.isoformat(),
                                  amount=format_yuan(m.amount), maker=plain(m.created_by),
                                  checker=plain(m.confirmed_by or "-")))


# ---- registers ------------------------------------------------------------------------

@register_app.command("list")
def register_list(
    kind: Annotated[str | None, typer.Option("--kind", help="fiscal_arrears, employer_arrears, unpaid_claims or "
                                             "government_share.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    open_only: Annotated[bool, typer.Option("--open-only", help="Only items with something outstanding at the end "
                                            "of the --as-of day.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Figures at the end of this day (YYYY-MM-DD, default "
                                              "today): the items opened by then, what had cleared by then and their "
                                              "age, as report registers --as-of shows them.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register items with amount, cleared, outstanding and age at the end of a day (default today)."""
    if kind is not None and kind not in registers.KINDS:
        raise BadInput(_("--kind: unknown kind '{kind}' ({kinds})").format(kind=kind, kinds=", ".join(registers.KINDS)))
    # (ATTACK20 L5) The reader of report registers and of the monitor's government share owed:
    # at D, never today's clearings nor an item opened after D (which had a negative age).
    day = parse_date_opt(as_of, "as-of") or dt.date.today()      # report registers' and the monitor's today
    rows = read(lambda c: registers.items_at(c, as_of=day, kind=kind, unit=unit, open_only=open_only))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    totals = {"id": _("Total"), **{k: sum(getattr(r, k) for r in rows) for k in money_keys(registers.RegisterItem)}}
    shown = [dict(as_row(r), kind=code_text(r.kind)) for r in rows]
    table(_("memo registers as of {day}").format(day=day.isoformat()),
          [("id", _("item")), ("kind", _("kind")), ("unit", _("unit")), ("book", _("book")), ("component", _("comp")),
           ("amount", _("amount")), ("cleared", _("cleared")), ("outstanding", _("outstanding")), ("opened_on", _("opened")),
           ("age_days", _("days")), ("reference", _("reference"))],
          shown, money=money_keys(registers.RegisterItem), totals=totals)


@register_app.command("clear")
def register_clear(
    item: Annotated[int, typer.Argument(callback=check_id, help="Register item id (register list).")],
    amount: Annotated[str, typer.Option("--amount", help="Amount received or paid, in yuan.")],
    date: Annotated[str, typer.Option("--date", help="Date the money moved (YYYY-MM-DD).")],
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key (default register-clear:<item>:<n>); "
                                            "give one to make a re-run safe.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Money arrived or was paid: post the real entry and reduce the item's outstanding amount.
    Unpaid provider claims (paid out of the county's bank account) are held until city finance
    or a second reviewer confirms them (entry confirm)."""
    fen = _amount(amount)
    r = write(lambda c: registers.clear(c, item, fen, _required_date(date), key))
    if json_out:
        emit_json(to_json(r))
    elif r.status == "held":
        console.print(_("held: item {item} clearing {amount} as held entry {held}: it pays money out of the county's "
                        "expenditure account, so city finance or a second reviewer confirms it: fundledger entry "
                        "confirm {held} (another user), or rejects it: fundledger entry reject {held} --reason ...; "
                        "outstanding {outstanding} until then").format(
            item=plain(item), amount=format_yuan(fen), held=r.held_id, outstanding=format_yuan(r.outstanding)))
    else:
        console.print(_("{status}: item {item} cleared {amount} (entry {entry}); outstanding {outstanding}").format(
            status=status_text(r.status), item=plain(item), amount=format_yuan(fen), entry=r.entry_id,
            outstanding=format_yuan(r.outstanding)))


# ---- collections, payments ------------------------------------------------------------

@collect_app.command("import")
def collect_import(file: FileArg, json_out: JsonOpt = False) -> None:
    """Import collections and subsidies (one entry per row: Dr 1003 special / Cr 4001|4101|4501).
    All or nothing; rows already imported are skipped."""
    r = _run_import("collections", file, json_out)
    if not json_out:
        console.print(_summary(r, file))


@pay_app.command("import")
def pay_import(file: FileArg, json_out: JsonOpt = False) -> None:
    """Import benefit payments (Dr 5001.<category>|5101 / Cr 1004 county or city expenditure
    account). All or nothing; rows already imported are skipped. A reviewer's rows paid from a
    county's expenditure account are held until city finance or a second reviewer confirms them."""
    r = _run_import("payments", file, json_out)
    if json_out:
        return
    held = r.held if isinstance(r, imports.PaymentsImport) else []
    if not held:
        console.print(_summary(r, file))
        return
    rows_held = r.rows_held if isinstance(r, imports.PaymentsImport) else 0
    console.print(_("{file}: posted {rows} rows in {entries} entries, held {held_rows} rows paid from a county's "
                    "expenditure account in {held_entries} held entries, skipped {skipped} already imported "
                    "(batch {batch})").format(
        file=plain(file), rows=r.rows_posted - rows_held, entries=r.entries, held_rows=rows_held, held_entries=len(held),
        skipped=r.rows_skipped, batch=r.batch_id))
    ids = " ".join(str(i) for i in held)
    # (0060, ATTACK7 U11) Money out of a county's bank account on the bureau's word: a second person confirms.
    console.print(_("held entries {ids}: money out of a county's bank account is paid at once only by the county's "
                    "officer; city finance or a second reviewer confirms them: fundledger entry confirm {ids} "
                    "(another user), or rejects one: fundledger entry reject ID --reason ...").format(ids=ids))


def register(app: typer.Typer) -> None:
    app.add_typer(handover_app, name="handover")
    app.add_typer(register_app, name="register")
    app.add_typer(collect_app, name="collect")
    app.add_typer(pay_app, name="pay")
