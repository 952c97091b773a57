"""Deployment commands: db check, backup, restore, the standby, and people's passwords
and logins (user passwd / disable / enable). Every one runs PostgreSQL's own tools."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.callbacks import bounded
from cli.cmd_core import db_app, user_app
from cli.context import State, console, db, emit_json, jsonable, plain, table, write
from ledger.core.shapes import as_row, to_json
from ledger.errors import BadInput
from ledger.i18n import _, code_text
from ledger.io import infile

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/deployment.md).")]
PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from the first line of this file (- for standard input). "
    "Never give a password on the command line.")]

standby_app = typer.Typer(help="The synchronous streaming standby (hot: auditors read from it).", no_args_is_help=True)


# ---- passwords ----------------------------------------------------------------------------

def read_password(file: Path | None, name: str, *, prompt: bool) -> str | None:
    """From a file, standard input, or a hidden prompt (twice); never from argv."""
    from ledger.store import deploy

    if file is not None:
        try:
            text = sys.stdin.read() if str(file) == "-" else infile.read_text(file)
        except FileNotFoundError as e:
            raise BadInput(_("{file}: no such file").format(file=file)) from e
        pw = text.splitlines()[0] if text.splitlines() else ""
    elif prompt:
        if not sys.stdin.isatty():
            raise BadInput(_("no terminal to prompt on: give --password-file FILE (or - for standard input)"))
        pw = typer.prompt(_("password for {name}").format(name=name), hide_input=True, confirmation_prompt=True)
    else:
        return None
    deploy.check_password_strength(pw, name)
    return pw


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str | None, typer.Argument(help="The user (default: yourself).")] = None,
    password_file: PasswordFile = None,
) -> None:
    """Set a password (SCRAM-SHA-256, computed here: the password never reaches the server)."""
    from ledger.store import deploy

    who = name or State.user
    if who is None:
        raise BadInput(_("whose password? give a name or --as NAME"))
    pw = read_password(password_file, who, prompt=True)
    assert pw is not None
    _as_operator_or_user(lambda c: deploy.set_password(c, who, pw))
    console.print(_("password set for {name} (SCRAM-SHA-256)").format(name=plain(who)))


def _as_operator_or_user(work: Any) -> None:
    if State.user is None:
        with db(admin=True) as conn, conn.transaction():
            work(conn)
    else:
        write(work)


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument(help="The user whose login stops working (nothing is deleted).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the operations log).")] = "",
) -> None:
    """NOLOGIN: the person can no longer log in; the journal keeps their name (admin)."""
    from ledger.store import deploy

    _as_operator_or_user(lambda c: deploy.set_login(c, name, False, reason))
    console.print(_("login disabled for {name}").format(name=plain(name)))


@user_app.command("enable")
def user_enable(
    name: Annotated[str, typer.Argument(help="The user whose login works again.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the operations log).")] = "",
) -> None:
    """LOGIN again (admin)."""
    from ledger.store import deploy

    _as_operator_or_user(lambda c: deploy.set_login(c, name, True, reason))
    console.print(_("login enabled for {name}").format(name=plain(name)))


# ---- db check -----------------------------------------------------------------------------

@db_app.command("check")
def db_check(
    max_backup_age: Annotated[float, typer.Option("--max-backup-age", help="Hours a verified base backup may be old.")] = 26,
    json_out: JsonOpt = False,
) -> None:
    """Is this server safe for a fund ledger? Item by item, with how to fix each; exit 1 if anything fails."""
    from ledger.store import deploy

    with db(admin=State.user is None) as conn:
        items = deploy.check(conn, backup_max_age=dt.timedelta(hours=max_backup_age))
    out = deploy.items_json(items)
    if json_out:
        emit_json(out)
    else:
        colour = {"ok": "green", "warn": "yellow", "fail": "red", "unknown": "yellow"}
        for i in items:
            status = code_text(i.status)
            console.print(f"[{colour[i.status]}]{status:>7}[/{colour[i.status]}]  {plain(f'{i.name:<20}')} {plain(i.value)}")
            if i.hint:
                fix = _("fix: {hint}").format(hint=plain(i.hint))
                console.print(f"{'':>9}{'':<20} [dim]{fix}[/dim]")
        console.print(_("safe for a fund ledger") if out["ok"]
                      else "[red]" + _("NOT safe for a fund ledger") + "[/red]")
    if not out["ok"]:
        raise typer.Exit(1)


@db_app.command("log")
def db_log(limit: Annotated[int, typer.Option("--limit", callback=bounded(1, 1_000_000), help="At most this many operations.")] = 100,
           json_out: JsonOpt = False) -> None:
    """The operations log: passwords set, logins disabled, backups, standby decisions, promotions."""
    from ledger.store import deploy

    with db(admin=State.user is None) as conn:
        rows = deploy.operations(conn, limit)
    if json_out:
        emit_json([to_json(r) for r in rows])
    else:
        table(_("operations"), [("id", _("id")), ("at", _("when")), ("actor", _("who")),
                                ("client_addr", _("from")), ("action", _("action")), ("subject", _("subject")),
                                ("reason", _("reason"))], [as_row(r) for r in rows])


# ---- backup & restore ---------------------------------------------------------------------

def backup_cmd(
    repo: Annotated[Path, typer.Argument(help="The backup repository (a directory; one sub-directory per backup).")],
    incremental: Annotated[bool | None, typer.Option("--incremental/--full", help="Default: incremental when the "
                                                      "server summarises WAL and a previous backup exists.")] = None,
    keep: Annotated[int, typer.Option("--keep", callback=bounded(1, 1000), help="Full backups kept (with their incrementals); the WAL "
                                      "archive is trimmed to the oldest kept.")] = 7,
    archive: Annotated[Path | None, typer.Option("--archive", help="The WAL archive to trim (default: the "
                                                 "server's basic_archive directory).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """A verified base backup (pg_basebackup, pg_verifybackup), recorded for db check."""
    from ledger.store import backup

    meta = backup.take(State.target(), repo.resolve(), incremental=incremental, keep=keep,
                       archive=archive.resolve() if archive else None)
    if json_out:
        emit_json(jsonable(meta))
    else:
        console.print(_("{kind} backup {label} verified ({mb} MB, {secs} s) in {where}").format(
            kind=code_text(meta["kind"]), label=plain(meta["label"]), mb=f"{meta['bytes'] / 1e6:.1f}", secs=meta["seconds"],
            where=plain(repo / meta["label"]))
            + (_("; removed {labels}").format(labels=plain(", ".join(meta["removed"]))) if meta["removed"] else ""))


def restore_cmd(
    backup_dir: Annotated[Path, typer.Argument(help="A backup (REPO/<label>) or a repository (its newest backup).")],
    into: Annotated[Path | None, typer.Option("--into", help="A NEW data directory (must not exist or be "
                                              "empty).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Recover to this time (ISO 8601 with zone); default: "
                                              "the end of the archived WAL.")] = None,
    archive: Annotated[Path | None, typer.Option("--archive", help="The WAL archive (default: the one recorded "
                                                 "with the backup).")] = None,
    digest: Annotated[Path | None, typer.Option("--digest", help="A filed digest, or a directory of them: the last "
                                                "filed before the recovery point is checked.")] = None,
    json_out: JsonOpt = False,
    old_to: Annotated[Path | None, typer.Option("--to", hidden=True,
                                                help="Old name of --into (--from/--to are dates).")] = None,
) -> None:
    """Restore into a new data directory, replay the archive (to --until), and on first start verify the ledger."""
    from ledger.store import backup

    if into is not None and old_to is not None and into != old_to:
        raise BadInput(_("--into and --to name different directories; give only --into"))
    to = into or old_to
    if to is None:
        raise BadInput(_("--into is required: the new data directory to restore into"))

    when = None
    if until is not None:
        try:
            when = dt.datetime.fromisoformat(until)
        except ValueError as e:
            raise BadInput(_("--until: '{until}' is not an ISO 8601 time").format(until=until)) from e
    r = backup.restore(backup_dir.resolve(), to, until=when, archive=archive.resolve() if archive else None,
                       digest=digest)
    if json_out:
        emit_json(jsonable(r))
    else:
        console.print((_("restored {backup} (chain {chain}) into {to} up to {until}") if r["until"]
                       else _("restored {backup} (chain {chain}) into {to} to the end of the archive")).format(
            backup=plain(r["backup"]), chain=plain(" + ".join(r["chain"])), to=plain(r["to"]), until=r["until"]))
        console.print(_("verify: {result} ({entries} entries, last entry at {last})").format(
            result=_("all invariants hold") if r["verify_ok"] else _("FINDINGS"), entries=r["entries"],
            last=r["last_entry_at"]))
        if "digest_ok" in r:
            console.print(_("digest of {at}: {result} ({n} entries after it)").format(
                at=r["digest_taken_at"], n=r["digest_later_entries"],
                result=_("extended unchanged") if r["digest_ok"] else "[red]" + _("does NOT match") + "[/red]"))
        console.print(_("start it with: {cmd} (when the directory is named pgdata); WAL archiving is off in the "
                        "copy: fundledger init --archive DIR to switch it on").format(
            cmd=plain(f"FUNDLEDGER_HOME={Path(r['to']).parent} fundledger db start")))
    if not r["verify_ok"] or r.get("digest_ok") is False:
        raise typer.Exit(1)


# ---- the standby ----------------------------------------------------------------------------

Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the operations log).")]
StandbyName = Annotated[str, typer.Option("--name", help="The standby's name (its application_name).")]


def _operator_url(url: str | None) -> str:
    return url or State.target().conninfo(admin=True)


def _print_result(out: dict[str, Any], json_out: bool, text: str) -> None:
    if json_out:
        emit_json(jsonable(out))
    else:
        console.print(text)


@standby_app.command("create")
def standby_create(
    pgdata: Annotated[Path, typer.Argument(help="A NEW data directory for the standby.")],
    name: StandbyName = "standby1",
    primary: Annotated[str | None, typer.Option("--primary", help="The primary's operator URL (default: "
                                                "FUNDLEDGER_DATABASE_URL, or the embedded server).")] = None,
    sync: Annotated[bool, typer.Option("--sync/--async", help="List it in synchronous_standby_names (commits "
                                       "wait for it).")] = True,
    reason: Reason = "",
    json_out: JsonOpt = False,
) -> None:
    """pg_basebackup -R with a replication slot; the primary then waits for it at each commit.
    Start it with pg_ctl (or your service manager) on its own port."""
    from ledger.store import standby

    out = standby.create(_operator_url(primary), pgdata, name=name, sync=sync, reason=reason)
    _print_result(out, json_out, _("standby {name} made in {pgdata} ({secs} s); start it with: pg_ctl -D {pgdata} "
                                   "-o '-p PORT' start").format(name=plain(out["name"]), pgdata=plain(out["pgdata"]),
                                                                secs=out["seconds"]))


@standby_app.command("status")
def standby_status(
    url: Annotated[str | None, typer.Option("--url", help="The server to ask (default: the primary).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Primary or standby, timeline, attached standbys and commits waiting for one."""
    from ledger.store import standby

    with standby.connect_operator(_operator_url(url)) as conn:
        out = standby.status(conn)
    if json_out:
        emit_json(jsonable(out))
        return
    console.print(_("{role}, timeline {tli}, synchronous_standby_names = '{names}'").format(
        role=_("primary") if out["role"] == "primary" else _("standby"), tli=out["timeline"], names=plain(out["synchronous_standby_names"])))
    for s in out.get("standbys", []):
        console.print(plain(f"  {s['application_name']}: {s['state']}/{s['sync_state']} {s['replay_lsn']}"))
    if out.get("commits_waiting"):
        console.print("[yellow]" + _("{n} commit(s) waiting for the synchronous standby").format(
            n=out["commits_waiting"]) + "[/yellow]")


@standby_app.command("async")
def standby_async(
    reason: Reason,
    url: Annotated[str | None, typer.Option("--url", help="The primary (default: FUNDLEDGER_DATABASE_URL).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run without the synchronous standby (it is lost): recorded, then in force. Until
    then commits wait."""
    from ledger.store import standby

    with standby.connect_operator(_operator_url(url)) as conn:
        out = standby.set_async(conn, reason)
    _print_result(out, json_out, _("now asynchronous ({n} waiting commit(s) released); recorded in the operations "
                                   "log").format(n=out["commits_released"]))


@standby_app.command("sync")
def standby_sync(
    name: StandbyName = "standby1",
    reason: Reason = "",
    url: Annotated[str | None, typer.Option("--url", help="The primary (default: FUNDLEDGER_DATABASE_URL).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Commits wait for this standby again."""
    from ledger.store import standby

    with standby.connect_operator(_operator_url(url)) as conn:
        out = standby.set_sync(conn, name, reason)
    _print_result(out, json_out, _("synchronous_standby_names = {names}").format(
        names=plain(out["synchronous_standby_names"])))


@standby_app.command("promote")
def standby_promote(
    standby_url: Annotated[str, typer.Option("--standby", help="The standby's operator URL.")],
    reason: Reason,
    old_primary: Annotated[str | None, typer.Option("--old-primary", help="The old primary's operator URL: made "
                                                    "read-only and closed to the ledger if it answers.")] = None,
    old_pgdata: Annotated[Path | None, typer.Option("--old-pgdata", help="The old primary's data directory (on "
                                                    "this machine): stopped and left able to start only as a "
                                                    "standby.")] = None,
    old_primary_down: Annotated[bool, typer.Option("--old-primary-down", help="You know the old primary is "
                                                   "powered off or cut off (no other fence possible).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Fence the old primary, then promote the standby (operator)."""
    from ledger.store import standby

    out = standby.promote(standby_url, reason=reason, old_primary=old_primary, old_pgdata=old_pgdata,
                          old_primary_down=old_primary_down)
    _print_result(out, json_out, _("promoted: timeline {tli} (was {before}) in {secs} s; old primary fenced; "
                                   "asynchronous until it rejoins").format(
        tli=out["timeline"], before=out["timeline_before"], secs=out["seconds"]))


@standby_app.command("rejoin")
def standby_rejoin(
    old_pgdata: Annotated[Path, typer.Argument(help="The fenced old primary's data directory.")],
    primary: Annotated[str, typer.Option("--primary", help="The new primary's operator URL.")],
    name: StandbyName = "standby1",
    reason: Reason = "",
    archive: Annotated[Path | None, typer.Option("--archive", help="The WAL archive, for WAL the old primary has "
                                                 "already recycled.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """pg_rewind the old primary from the new one; it becomes the synchronous standby."""
    from ledger.store import standby

    out = standby.rejoin(old_pgdata, primary, name=name, reason=reason, archive=archive)
    _print_result(out, json_out, _("{pgdata} rewound ({secs} s): start it; it streams as {name}").format(
        pgdata=plain(out["pgdata"]), secs=out["seconds"], name=plain(out["name"])))


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    db_app.add_typer(standby_app, name="standby")
