"""Core commands: init, db, user, entry, journal, account, balance, trial balance, close."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.balance import balance as balance_body
from cli.balance import shape_name
from cli.callbacks import bounded, check_id
from cli.context import (
    BIGINT_MAX,
    State,
    as_of_in_year,
    check_year,
    console,
    db,
    emit_json,
    escape,
    jsonable,
    parse_date_opt,
    plain,
    read,
    status_text,
    table,
    write,
)
from ledger.core.shapes import as_row, money_keys, to_json
from ledger.core.users import check_user_name
from ledger.errors import BadInput, StateError
from ledger.i18n import N_, _, code_text, get_lang
from ledger.store import accounts
from ledger.store.db import Conn

# ledger.store.journal (the write path: 0.03 G instructions to import), ledger.store.embedded
# (platformdirs), ledger.store.admin, the entry documents' parser (ledger.core.entries, its
# dataclasses), ledger.io.infile and cli.outfiles are imported by the commands that use them,
# inside them: `balance` loads none of them (issue 24; each frozen dataclass alone costs
# ~5 M instructions to make).
if TYPE_CHECKING:
    from ledger.store.journal import PostResult

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/cli.md).")]
Lang = Annotated[str | None, typer.Option("--lang", metavar="zh|en", help="Account names in zh or en (default: the language in force).")]

db_app = typer.Typer(help="The embedded PostgreSQL (ignored when FUNDLEDGER_DATABASE_URL is set).", no_args_is_help=True)
user_app = typer.Typer(help="Users and their roles (officer, reviewer, finance, auditor, admin).", no_args_is_help=True)
entry_app = typer.Typer(help="Post, show and reverse journal entries.", no_args_is_help=True)
account_app = typer.Typer(help="Ledger accounts (book, code, unit, holder, component).", no_args_is_help=True)
opening_app = typer.Typer(help="The city proper's audited opening balance.", no_args_is_help=True)
close_app = typer.Typer(help="Close periods: no posting may be dated in a closed month.", no_args_is_help=True)
report_app = typer.Typer(help="Reports: --json, --csv FILE, --xlsx FILE.", no_args_is_help=True)


_name = shape_name


# ---- init & db -----------------------------------------------------------------

def init(
    region: Annotated[Path | None, typer.Option("--region", help="Region TOML (default: Jiamusi, docs/region.md).")] = None,
    archive: Annotated[Path | None, typer.Option("--archive", help="Embedded server: archive WAL into this directory "
                                                 "(basic_archive) for point-in-time recovery (docs/deployment.md).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create or upgrade the database and load the chart of accounts and the region."""
    from ledger.core.region import load_region  # tomllib and the region's tables: init's alone
    from ledger.store import admin

    reg = load_region(region)
    target = State.target()
    with db(admin=True) as conn:
        result = admin.init(target.conninfo(admin=True), conn, reg)
    if archive is not None:
        from ledger.store import backup

        result["archive"] = backup.enable_embedded_archiving(target, archive)
    if json_out:
        emit_json(result)
    else:
        console.print(_("schema at revision {rev} (was {before}); region {name} {code}: {units} units, books {books}")
                      .format(rev=plain(result["schema"]), before=plain(result["schema_before"] or _("empty")),
                              name=plain(reg.name_en if get_lang() == "en" else reg.name_zh),
                              code=plain(reg.code), units=result["units"], books=plain(", ".join(result["books"]))))
        for what in result["schema_drift"]:
            console.print("[yellow]" + _("warning: the schema differs from this release's (changed outside "
                                         "fundledger's migrations; `verify` checks the catalogue in full): {what}")
                          .format(what=escape(what)) + "[/yellow]")


@db_app.command("status")
def db_status(json_out: JsonOpt = False) -> None:
    """Is the embedded server running, and where is its data?"""
    t = State.target()
    if not t.embedded:
        info: dict[str, Any] = {"mode": "server", "url": t.url}
    else:
        from ledger.store import embedded

        st = embedded.status(Path(t.home) if t.home else None)
        info = {"mode": "embedded", "pgdata": str(st.pgdata), "running": st.running, "pid": st.pid,
                "socket_dir": str(st.socket_dir) if st.socket_dir else None, "version": st.version}
    if json_out:
        emit_json(info)
    else:
        words = {True: _("yes"), False: _("no"), None: "", "server": _("a PostgreSQL server"),
                 "embedded": _("embedded PostgreSQL")}
        for k, v in info.items():
            shown = words[v] if isinstance(v, bool) or v is None or v in ("server", "embedded") else v
            console.print(_("{label}: {value}").format(label=_(DB_STATUS_LABELS[k]), value=plain(shown)))


#: ``db status`` for people (the --json keys stay).
DB_STATUS_LABELS = {"mode": N_("database"), "url": N_("URL"), "pgdata": N_("data directory"),
                    "running": N_("running"), "pid": N_("process id"), "socket_dir": N_("socket directory"),
                    "version": N_("PostgreSQL version")}


@db_app.command("start")
def db_start() -> None:
    """Start the embedded server (initialising it on first use)."""
    from ledger.store import embedded

    t = State.target()
    st = embedded.start(Path(t.home) if t.home else None)
    console.print(_("running (pid {pid}) on {pgdata}").format(pid=st.pid, pgdata=plain(st.pgdata)))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server."""
    from ledger.store import embedded

    t = State.target()
    was = embedded.stop(Path(t.home) if t.home else None)
    console.print(_("stopped") if was else _("not running"))


@db_app.command("url")
def db_url() -> None:
    """Print a libpq connection URL (psql accepts it)."""
    t = State.target()
    print(t.conninfo(admin=False) if not t.embedded or t.user else t.conninfo(admin=True))


# ---- users & periods ------------------------------------------------------------

@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name (a PostgreSQL role).")],
    role: Annotated[str, typer.Option("--role", help="officer | reviewer | finance | auditor | admin")],
    unit: Annotated[str | None, typer.Option("--unit", help="The unit an officer is bound to.")] = None,
    password: Annotated[bool, typer.Option("--password", help="Prompt for a password (server mode).")] = False,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="Read the password from this file's "
                                                       "first line (- for standard input); never on the command line.")] = None,
    connection_limit: Annotated[int | None, typer.Option("--connection-limit", callback=bounded(1, 100),
                                                         help="Most sessions this login may hold at once "
                                                              "(1 to 100, default 10; docs/security.md).")] = None,
) -> None:
    """Add a user. The first admin is created by the database owner; then admins add users.
    With --password/--password-file the login gets a SCRAM-SHA-256 password (docs/security.md).
    The name is a new PostgreSQL login (lower-case letters, digits, '_', '.', '-'); an
    existing role is taken only if fundledger made it for the same role in another
    database of this server — never a group role (fl_*), postgres or a superuser."""
    from ledger.store import admin

    check_user_name(name)
    from cli.cmd_db import read_password

    pw = read_password(password_file, name, prompt=password)

    def work(conn: Conn) -> None:
        admin.add_user(conn, name, role, unit, connection_limit)
        if pw is not None:
            from ledger.store import deploy

            deploy.set_password(conn, name, pw)
    if State.user is None:
        with db(admin=True) as conn, conn.transaction():
            work(conn)
    else:
        write(work)
    shown = code_text(role)
    console.print(_("user {name} added as {role} for unit {unit}").format(name=plain(name), role=plain(shown), unit=plain(unit)) if unit
                  else _("user {name} added as {role}").format(name=plain(name), role=plain(shown)))


@user_app.command("list")
def user_list(json_out: JsonOpt = False) -> None:
    """List users and roles."""
    from ledger.store import admin

    rows = read(admin.list_users)
    if json_out:
        emit_json([to_json(r) for r in rows])
    else:
        table(_("users"), [("name", _("name")), ("role", _("role")), ("unit", _("unit")),
                           ("created_at", _("created at")), ("created_by", _("created by"))],
              [dict(as_row(r), role=code_text(r.role)) for r in rows])


@close_app.command("period")
def close_period(
    month: Annotated[str, typer.Argument(help="YYYY-MM")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")] = "",
    digest_dir: Annotated[Path | None, typer.Option("--digest-dir", help="File the period's digest here (a "
                                                    "directory the auditor keeps, outside the database): "
                                                    "period-YYYY-MM.json, for `audit check-digest`.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Close a month: postings dated in it or before it are refused from now on (reviewer).

    Months close in order: a month before it that holds entries must be closed first (a
    December by its year close); the empty months before it close with it. The close is a chained event (its history records how far the journal's chain reached);
    with --digest-dir the digest of the ledger at the close is filed and printed."""
    from cli.outfiles import check_target, safe_target
    from ledger.store import admin

    try:
        first = dt.date.fromisoformat(month + "-01")
    except ValueError as e:
        raise BadInput(_("'{month}' is not a month (YYYY-MM)").format(month=month)) from e
    from ledger.core.requests import MAX_YEAR, MIN_YEAR

    if not MIN_YEAR <= first.year <= MAX_YEAR:
        raise BadInput(_("'{month}' is out of range: give a month from {lo}-01 to {hi}-12").format(
            month=month, lo=MIN_YEAR, hi=MAX_YEAR))
    out = None
    if digest_dir is not None:
        # A filed period digest is evidence: never replaced (a digest taken later would certify
        # whatever was done to the ledger since the close), never written through a link.
        if digest_dir.is_symlink() or (digest_dir.exists() and not digest_dir.is_dir()):
            raise BadInput(_("--digest-dir {path}: not a folder (a symbolic link is not followed)").format(
                path=digest_dir), rule="output_file")
        out = digest_dir / f"period-{first:%Y-%m}.json"
        if out.exists() and not out.is_symlink():
            raise BadInput(_("--digest-dir {path}: a period's digest is filed once, at its close; it is kept as it "
                             "is").format(path=out), rule="output_file")
        if digest_dir.is_dir():
            check_target(out, force=False, option="--digest-dir")
    done = write(lambda c: admin.close_period(c, first, reason))
    closed = done.closed
    if not json_out:
        console.print((_("period {month} closed") if closed else _("period {month} was already closed")).format(
            month=month))
    if done.with_it and not json_out:
        # (ATTACK16b D6) a closed month never reopens: the months closed with it are said
        console.print(_("also closed with it, holding no entries (months close in order): {first} … {last}, "
                        "{n} months; nothing can be dated in them any more").format(
            first=f"{done.with_it[0]:%Y-%m}", last=f"{done.with_it[-1]:%Y-%m}", n=len(done.with_it)))
    filed: dict[str, object] | None = None
    if out is not None and not closed and not json_out:
        console.print(_("no period digest filed: {month} was closed earlier, and a digest taken now would not be the "
                        "ledger at its close (take one with: fundledger audit digest --out FILE)").format(month=month))
    elif out is not None and closed:
        from ledger.io.archive import file_digests
        from ledger.store import audit

        d = read(audit.take_digest)
        out.parent.mkdir(parents=True, exist_ok=True)
        with safe_target(out, force=False, option="--digest-dir") as tmp:
            tmp.write_text(json.dumps({**d, "period": f"{first:%Y-%m}"}, ensure_ascii=False, indent=2) + "\n", "utf-8")
        fd = file_digests(out)
        filed = {"file": str(out), "head_hash": d["head_hash"], "last_seq": d["last_seq"],
                 "sha256": fd["sha256"], "sm3": fd["sm3"]}
        if not json_out:
            console.print(_("period digest filed in {file}: chain head {head} at seq {seq}").format(
                file=plain(out), head=d["head_hash"], seq=d["last_seq"]))
            for algo, label in (("sha256", "SHA-256"), ("sm3", "SM3")):
                console.print(f"  {label:8}{fd[algo]}")
    if json_out:
        emit_json({"month": f"{first:%Y-%m}", "closed": closed,
                   "closed_with_it": [f"{m:%Y-%m}" for m in done.with_it], "digest": filed})


# ---- entries ---------------------------------------------------------------------

def _read_entries(file: str) -> tuple[str, object]:
    from ledger.io import infile

    name = "stdin" if file == "-" else infile.shown_name(file)
    try:
        return name, infile.parse_json(sys.stdin.read(), name) if file == "-" else infile.read_json(file)
    except FileNotFoundError as e:
        raise BadInput(_("{file}: no such file").format(file=name)) from e
    except UnicodeDecodeError as e:
        raise BadInput(_("{file}: not valid UTF-8 JSON: {error}").format(file=name, error=e)) from e


def _show_posted(results: list[PostResult], books: list[str], json_out: bool) -> None:
    """What a post did, entry by entry: posted (voucher) or held for a second person."""
    posted = [r.entry_id for r in results if r.entry_id is not None]
    from ledger.store import journal
    vouchers = read(lambda c: {i: journal.get_entry(c, i).voucher for i in posted}) if posted else {}
    out = [{"idempotency_key": r.idempotency_key, "entry_id": r.entry_id, "book": b,
            "voucher": vouchers.get(r.entry_id) if r.entry_id is not None else None, "status": r.status,
            "held_id": r.held_id} for r, b in zip(results, books, strict=True)]
    if json_out:
        emit_json(out)
        return
    for o in out:
        if o["status"] == "held":
            console.print(_("held  as held entry {held}  key {key}: it moves real money or the year's figures "
                            "(3xxx-5xxx), so a second person confirms it: fundledger entry confirm {held} "
                            "(another user), or rejects it: "
                            "fundledger entry reject {held} --reason ...").format(held=o["held_id"],
                                                                                key=plain(o["idempotency_key"])))
        elif o["voucher"] is None:
            # Queued (the chain head was held at its commit): numbered when the queue is sealed.
            console.print(_("{status}  entry #{entry}  (queued: its voucher number is given when the journal's "
                            "queue is sealed)  key {key}").format(
                status=status_text(str(o["status"])), entry=o["entry_id"], key=plain(o["idempotency_key"])))
        else:
            console.print(_("{status}  entry {entry}  voucher {book}/{voucher}  key {key}").format(
                status=status_text(str(o["status"])), entry=o["entry_id"], book=plain(o["book"]), voucher=plain(o["voucher"]),
                key=plain(o["idempotency_key"])))


@entry_app.command("post")
def entry_post(
    file: Annotated[str, typer.Argument(help="JSON file with one entry or a list, or - for standard input.")],
    json_out: JsonOpt = False,
) -> None:
    """Post entries from JSON, all or nothing. Re-posting the same keys changes nothing.

    An entry that moves real money (1001-1005 or an account with a holder), bonds or borrowing
    (1201, 2101), or touches revenue, expenditure or fund balance (3xxx-5xxx) is held until a
    different user confirms it (entry confirm); the others (1101/2001) post at once. One file
    holds at most 1,000 entries."""
    from ledger.core.entries import parse_entries

    name, doc = _read_entries(file)
    drafts = parse_entries(doc, name)
    from ledger.store import journal
    results = write(lambda c: journal.post(c, drafts))
    _show_posted(results, [d.book for d in drafts], json_out)


@entry_app.command("held")
def entry_held(
    all_: Annotated[bool, typer.Option("--all", help="Also confirmed and rejected ones.")] = False,
    limit: Annotated[int, typer.Option("--limit", callback=bounded(1, 1_000_000), help="At most this many.")] = 200,
    json_out: JsonOpt = False,
) -> None:
    """Held entries waiting for a second person (maker-checker), oldest first."""
    from ledger.store import journal
    rows = read(lambda c: journal.held(c, state=None if all_ else "held", limit=limit))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    shown = [dict(as_row(r), kind=code_text(r.kind), state=code_text(r.state), units=",".join(r.units or []))
             for r in rows]
    table(_("held entries"), [("id", _("held entry")), ("kind", _("kind")), ("book", _("book")),
                              ("entry_date", _("date")), ("amount", _("amount")), ("units", _("units")),
                              ("made_by", _("by")), ("state", _("state")), ("memo", _("memo"))],
          shown, money=["amount"])
    if not rows:
        console.print(_("no held entries"))


@entry_app.command("confirm")
def entry_confirm(
    ids: Annotated[list[int], typer.Argument(callback=check_id, help="Held entry id(s) (see entry held).")],
    json_out: JsonOpt = False,
) -> None:
    """Confirm held entries as the second person: each is posted now and gets its voucher."""
    from ledger.store import journal
    results = write(lambda c: [journal.confirm(c, i) for i in ids])
    books = read(lambda c: [journal.get_entry(c, r.entry_id).book if r.entry_id is not None else ""
                            for r in results])
    _show_posted(results, books, json_out)


@entry_app.command("reject")
def entry_reject(
    held_id: Annotated[int, typer.Argument(callback=check_id, help="Held entry id (see entry held).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept, chained, shown to the maker).")],
    json_out: JsonOpt = False,
) -> None:
    """Reject a held entry with a reason: it never posts; the rejection is kept."""
    from ledger.store import journal
    r = write(lambda c: journal.reject(c, held_id, reason))
    if json_out:
        emit_json(to_json(r))
    else:
        console.print(_("held entry {id} rejected by {user}: {reason}").format(
            id=r.id, user=plain(r.decided_by), reason=plain(r.decision_reason)))


@entry_app.command("show")
def entry_show(
    ref: Annotated[str, typer.Argument(help="Entry id, voucher (RES/2023-000001) or idempotency key.")],
    json_out: JsonOpt = False, lang: Lang = None,
) -> None:
    """Show one entry with its postings, who posted it and its reversal links."""
    from ledger.store import journal
    e = read(lambda c: journal.get_entry(c, ref))
    if json_out:
        emit_json(to_json(e))
        return
    console.print(_("[bold]entry {id}[/bold]  voucher {book}/{voucher}  date {date}  kind {kind}").format(
        id=e.id, book=plain(e.book), voucher=plain(e.voucher or _("(unsealed)")), date=e.entry_date,
        kind=plain(code_text(e.kind))))
    console.print(_("key {key}  by {user} at {at}").format(key=plain(e.idempotency_key), user=plain(e.created_by),
                                                         at=f"{e.created_at:%Y-%m-%d %H:%M:%S}"))
    if e.memo:
        console.print(_("memo: {memo}").format(memo=plain(e.memo)))
    if e.reverses:
        console.print(_("[red]reverses entry {id}[/red]: {reason}").format(id=e.reverses, reason=plain(e.reason)))
    if e.reversed_by:
        console.print(_("[red]reversed by entry {id}[/red]").format(id=e.reversed_by))
    rows = [dict(as_row(p), name=_name(p, lang), debit=p.amount if p.side == "D" else None,
                 credit=p.amount if p.side == "C" else None) for p in e.postings]
    table(None, [("account", _("account")), ("name", _("name")), ("debit", _("debit")), ("credit", _("credit")),
                 ("line_ref", _("ref"))], rows, money=["debit", "credit"])


@entry_app.command("reverse")
def entry_reverse(
    ref: Annotated[str, typer.Argument(help="Entry id, voucher or idempotency key.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")],
    date: Annotated[str | None, typer.Option("--date", help="Date of the reversal (default today).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key (default: reverse-<entry id>).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Reverse: post the mirror image of an entry, pointing back at it."""
    on = parse_date_opt(date, "date")

    def work(c):  # type: ignore[no-untyped-def]
        from ledger.store import journal
        e = journal.get_entry(c, ref)
        return journal.reverse(c, e.id, reason, on, key or f"reverse-{e.id}")
    r = write(work)
    if json_out:
        emit_json({"entry_id": r.entry_id, "status": r.status, "idempotency_key": r.idempotency_key,
                   "held_id": r.held_id})
    elif r.status == "held":
        console.print(_("held  as held entry {held}: the entry moved real money or the year's figures, or a "
                        "command made it, so a second person confirms the reversal: fundledger entry confirm {held} "
                        "(another user)").format(held=r.held_id))
    else:
        console.print(_("{status}: reversal entry {id}").format(status=status_text(r.status), id=r.entry_id))


# ---- the city proper's opening balance -------------------------------------------------

@opening_app.command("post")
def opening_post(
    file: Annotated[str, typer.Argument(help="JSON file with the opening entry (or a list), or - for stdin.")],
    json_out: JsonOpt = False,
) -> None:
    """The city proper's audited opening balance, posted by a reviewer and held until
    finance or a second reviewer confirms it (entry confirm). Counties: handover open."""
    from ledger.core.entries import parse_entries

    name, doc = _read_entries(file)
    for d in doc if isinstance(doc, list) else [doc]:
        if isinstance(d, dict):   # one opening per book: its key defaults to opening-city:<book>:audited
            d.setdefault("idempotency_key", "audited")
    drafts = parse_entries(doc, name)
    from ledger.store import journal
    results = write(lambda c: journal.post_opening(c, drafts))
    _show_posted(results, [d.book for d in drafts], json_out)


def journal_cmd(
    date_from: Annotated[str | None, typer.Option("--from", help="First date (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    limit: Annotated[int, typer.Option("--limit", callback=bounded(1, 1_000_000), help="At most this many entries.")] = 200,
    offset: Annotated[int, typer.Option("--offset", callback=bounded(0, BIGINT_MAX), help="Skip this many entries first.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """The journal: entries in date and voucher order."""
    from ledger.store import journal
    rows = read(lambda c: journal.journal(c, date_from=parse_date_opt(date_from, "from"),
                                          date_to=parse_date_opt(date_to, "to"), unit=unit, book=book,
                                          limit=limit, offset=offset))
    if json_out:
        emit_json([to_json(r) for r in rows])
    else:
        table(_("journal"), [("voucher", _("voucher")), ("book", _("book")), ("entry_date", _("date")),
                             ("kind", _("kind")), ("amount", _("amount")), ("units", _("units")), ("memo", _("memo")),
                             ("created_by", _("by"))], [dict(as_row(r), kind=code_text(r.kind)) for r in rows],
              money=["amount"])


@account_app.command("list")
def account_list(
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    json_out: JsonOpt = False, lang: Lang = None,
) -> None:
    """Every ledger account with its maintained balance (debits − credits)."""
    rows = read(lambda c: accounts.list_accounts(c, book=book, unit=unit))
    if json_out:
        emit_json([to_json(r) for r in rows])
    else:
        table(_("accounts"), [("id", _("id")), ("account", _("account")), ("name", _("name")),
                              ("debits", _("debits")), ("credits", _("credits")), ("balance", _("balance"))],
              [dict(as_row(r), name=_name(r, lang)) for r in rows], money=["debits", "credits", "balance"])


def balance_cmd(
    account: Annotated[str, typer.Argument(help="Account id or BOOK:CODE:UNIT[:HOLDER[:COMPONENT]].")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Balance at the end of this date.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """One account's balance, now or as of a past date."""
    balance_body(account, as_of, json_out)


@report_app.command("trial-balance")
def trial_balance(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Figures at the end of this day (YYYY-MM-DD).")] = None,
    year: Annotated[int | None, typer.Option("--year", callback=check_year, help="Fiscal year.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit (e.g. 230822).")] = None,
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    json_out: JsonOpt = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write CSV here.")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write XLSX here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a file that exists (a symlink is never followed).")] = False,
    lang: Lang = None,
) -> None:
    """Trial balance: opening, debits, credits and closing per account; totals must tie."""
    day = as_of_in_year(as_of, year)
    rows = read(lambda c: accounts.trial_balance(c, as_of=day, year=year, unit=unit, book=book))
    totals: dict[str, int | str] = {k: sum(getattr(r, k) for r in rows) for k in money_keys(accounts.TrialBalanceLine)}
    if csv or xlsx:
        from cli.exports import checked_lang, export_report
        from ledger.reports.builders import trial_balance_report
        from ledger.store.reports import labels

        export_report(trial_balance_report(rows, as_of=day, year=year,
                                           labels=read(labels), lang=checked_lang(lang)), csv, xlsx, lang,
                      force=force)
    if json_out:
        emit_json({"rows": [to_json(r) for r in rows], "totals": {k: jsonable(v, True) for k, v in totals.items()}})
        return
    totals["account"] = _("Total")
    table(_("trial balance"), [("account", _("account")), ("name", _("name")), ("opening", _("opening")),
                               ("period_debits", _("debits")), ("period_credits", _("credits")),
                               ("closing", _("closing"))],
          [dict(as_row(r), name=_name(r, lang)) for r in rows], money=money_keys(accounts.TrialBalanceLine), totals=totals)


unit_app = typer.Typer(help="The region's units: codes and names.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class UnitLine:
    """A unit of the region: ``unit list --json``."""

    code: str
    name_zh: str
    name_en: str
    kind: str                   # city | county
    joined: dt.date | None      # its joining date (0154): nothing is posted on it dated before
    joined_source: str | None   # how (0157): region (registered: the months-payable basis), first_year, upgrade;
                                # later (0167: registered after the fact by the city bureau, the basis too)


@unit_app.command("list")
def unit_list(json_out: JsonOpt = False) -> None:
    """Every unit of the region: code, name (Chinese and English), kind (city or county) and the day it
    joined the pooled fund (nothing is posted on it dated before)."""
    from ledger.store.monitor import joining_dates
    from ledger.store.reports import labels

    lab, joined = read(lambda c: (labels(c), joining_dates(c)))
    rows = [UnitLine(code, u["name_zh"], u["name_en"], u["kind"], *(joined.get(code) or (None, None)))
            for code, u in sorted(lab.units.items())]
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    shown = [dict(as_row(r), name=r.name_en if get_lang() == "en" else r.name_zh, kind=code_text(r.kind),
                  joined=r.joined.isoformat() if r.joined else "",
                  joined_source=code_text("joined_" + r.joined_source) if r.joined_source else "") for r in rows]
    table(_("units of {region}").format(region=lab.region), [("code", _("code")), ("name", _("name")),
                                                             ("kind", _("kind")), ("joined", _("joined")),
                                                             ("joined_source", _("joining date set"))], shown)


@unit_app.command("register-joined")
def unit_register_joined(
    unit: Annotated[str, typer.Argument(help="The unit whose joining date is registered.")],
    on: Annotated[str, typer.Option("--on", metavar="YYYY-MM-DD", help="The day the unit joined the pooled fund, "
                                    "as its document says: never after its first posting.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the date in force is not the real one (kept in the "
                                        "record).")],
    document: Annotated[str, typer.Option("--document", help="The reference of the document that gives the date "
                                          "(kept in the record).")],
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key never registers twice "
                                            "(default: from the unit, the date, the document and the registration it replaces).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a unit's real joining date after the fact (fl.unit_joined_later, chained): the city bureau
    (reviewer) only, with a reason and the document's reference. From then on it is the unit's date in force —
    nothing is posted on the unit dated before it — and its months-payable basis, like a date the region file
    registered. A date after the unit's first posting or before the ledger's first year is refused."""
    from ledger.store import joining

    day = parse_date_opt(on, "on")
    assert day is not None
    if not reason.strip():
        raise BadInput(_("--reason: say why the date in force is not the unit's real one (it is kept in the record)"))
    if not document.strip():
        raise BadInput(_("--document: give the reference of the document that says when the unit joined (文号)"))
    def work(c: Conn) -> tuple[joining.Registered, joining.JoiningRegistration | None]:
        k = key or joining.default_key(unit, day, document, joining.latest(c, unit))
        done = joining.register(c, unit=unit, joined_on=day, reason=reason, document=document, key=k)
        return done, joining.latest(c, unit)

    out, now = write(work)
    if out.status == "duplicate" and now is not None and now.id != out.id:
        # (ATTACK20b M4) the key's registration was superseded: never answer with its date as the unit's
        raise StateError(_("registration {id} was made with this key (unit {unit}, joined on {on}), but registration "
                           "{now_id} (joined on {now_on}) replaced it and is the date in force; nothing was written: "
                           "to register {on} again, run the command without --key (the default key names the "
                           "registration it replaces) or with a new key").format(
            id=out.id, unit=plain(out.unit), on=out.joined_on.isoformat(), now_id=now.id,
            now_on=now.joined_on.isoformat()))
    if json_out:
        emit_json(to_json(out))
        return
    msg = (_("unit {unit}'s joining date is now {on} (registration {id}; it was {was}, {how}): postings, "
             "pre-allocation and months payable read it from now on")
           if out.status == "registered" else
           _("registration {id} was already made with this key: unit {unit} joined on {on}"))
    console.print(msg.format(unit=plain(out.unit), on=out.joined_on.isoformat(), id=out.id,
                             was=out.was_on.isoformat() if out.was_on else _("none"),
                             how=code_text("joined_" + out.was_source) if out.was_source else "-"))


@unit_app.command("joined-history")
def unit_joined_history(
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Every joining date the city bureau registered after the fact, in the order made: the date, the one it
    replaced, the unit's first posting then, the reason, the document, who and when; the latest of each unit is
    its date in force (in force)."""
    from ledger.store import joining

    rows = read(lambda c: joining.history(c, unit=unit))
    if json_out:
        emit_json([to_json(r) for r in rows])
        return
    shown = [dict(as_row(r), joined_on=r.joined_on.isoformat(), was_on=r.was_on.isoformat() if r.was_on else "",
                  first_posting=r.first_posting.isoformat() if r.first_posting else "",
                  registered_at=r.registered_at.isoformat(timespec="seconds"),
                  in_force=_("yes") if r.in_force else "") for r in rows]
    table(_("joining dates registered later"), [("id", _("id")), ("unit", _("unit")), ("joined_on", _("joined")),
                                                 ("was_on", _("was")), ("first_posting", _("first posting")),
                                                 ("document", _("document")), ("reason", _("reason")),
                                                 ("registered_by", _("by")), ("registered_at", _("at")),
                                                 ("in_force", _("in force"))], shown)


def register(app: typer.Typer) -> None:
    app.add_typer(unit_app, name="unit")
    app.command("init")(init)
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(entry_app, name="entry")
    app.add_typer(opening_app, name="opening")
    app.command("journal")(journal_cmd)
    app.add_typer(account_app, name="account")
    app.command("balance")(balance_cmd)
    app.add_typer(close_app, name="close")
    app.add_typer(report_app, name="report")
