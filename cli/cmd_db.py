"""Deployment commands: db check, backup, restore, the standby, and people's passwords
and logins (user passwd / disable / enable). Every one runs PostgreSQL's own tools."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.cmd_core import db_app, user_app
from cli.context import State, console, db, emit_json, jsonable, rows_json, table, write
from ledger.errors import BadInput
from ledger.i18n import _, code_text

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
            text = sys.stdin.read() if str(file) == "-" else file.read_text("utf-8")
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
    console.print(_("password set for {name} (SCRAM-SHA-256)").format(name=who))


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
    console.print(_("login disabled for {name}").format(name=name))


@user_app.command("enable")
def user_enable(
    name: Annotated[str, typer.Argument(help="The user whose login works again.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the operations log).")] = "",
) -> None:
    """LOGIN again (admin)."""
    from ledger.store import deploy

    _as_operator_or_user(lambda c: deploy.set_login(c, name, True, reason))
    console.print(_("login enabled for {name}").format(name=name))


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
            console.print(f"[{colour[i.status]}]{status:>7}[/{colour[i.status]}]  {i.name:<20} {i.value}")
            if i.hint:
                fix = _("fix: {hint}").format(hint=i.hint)
                console.print(f"{'':>9}{'':<20} [dim]{fix}[/dim]")
        console.print(_("safe for a fund ledger") if out["ok"]
                      else "[red]" + _("NOT safe for a fund ledger") + "[/red]")
    if not out["ok"]:
        raise typer.Exit(1)


@db_app.command("log")
def db_log(limit: Annotated[int, typer.Option("--limit", help="At most this many operations.")] = 100,
           json_out: JsonOpt = False) -> None:
    """The operations log: passwords set, logins disabled, backups, standby decisions, promotions."""
    from ledger.store import deploy

    with db(admin=State.user is None) as conn:
        rows = deploy.operations(conn, limit)
    keys = ["id", "at", "actor", "client_addr", "action", "subject", "reason", "detail"]
    if json_out:
        emit_json(rows_json(rows, keys))
    else:
        table(_("operations"), [("id", _("id")), ("at", _("when")), ("actor", _("who")),
                                ("client_addr", _("from")), ("action", _("action")), ("subject", _("subject")),
                                ("reason", _("reason"))], rows)


# ---- backup & restore ---------------------------------------------------------------------

def backup_cmd(
    repo: Annotated[Path, typer.Argument(help="The backup repository (a directory; one sub-directory per backup).")],
    incremental: Annotated[bool | None, typer.Option("--incremental/--full", help="Default: incremental when the "
                                                      "server summarises WAL and a previous backup exists.")] = None,
    keep: Annotated[int, typer.Option("--keep", help="Full backups kept (with their incrementals); the WAL "
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
            kind=code_text(meta["kind"]), label=meta["label"], mb=f"{meta['bytes'] / 1e6:.1f}", secs=meta["seconds"],
            where=repo / meta["label"])
            + (_("; removed {labels}").format(labels=", ".join(meta["removed"])) if meta["removed"] else ""))


def restore_cmd(
    backup_dir: Annotated[Path, typer.Argument(help="A backup (REPO/<label>) or a repository (its newest backup).")],
    to: Annotated[Path, typer.Option("--to", help="A NEW data directory (must not exist or be empty).")],
    until: Annotated[str | None, typer.Option("--until", help="Recover to this time (ISO 8601 with zone); default: "
                                              "the end of the archived WAL.")] = None,
    archive: Annotated[Path | None, typer.Option("--archive", help="The WAL archive (default: the one recorded "
                                                 "with the backup).")] = None,
    digest: Annotated[Path | None, typer.Option("--digest", help="A filed digest, or a directory of them: the last "
                                                "filed before the recovery point is checked.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Restore into a new data directory, replay the archive (to --until), and on first start verify the ledger."""
    from ledger.store import backup

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
            backup=r["backup"], chain=" + ".join(r["chain"]), to=r["to"], until=r["until"]))
        console.print(_("verify: {result} ({entries} entries, last entry at {last})").format(
            result=_("all invariants hold") if r["verify_ok"] else _("FINDINGS"), entries=r["entries"],
            last=r["last_entry_at"]))
        if "digest_ok" in r:
            console.print(_("digest of {at}: {result} ({n} entries after it)").format(
                at=r["digest_taken_at"], n=r["digest_later_entries"],
                result=_("extended unchanged") if r["digest_ok"] else "[red]" + _("does NOT match") + "[/red]"))
        console.print(_("start it with: {cmd} (when the directory is named pgdata); WAL archiving is off in the "
                        "copy: fundledger init --archive DIR to switch it on").format(
            cmd=f"FUNDLEDGER_HOME={Path(r['to']).parent} fundledger db start"))
    if not r["verify_ok"] or r.get("digest_ok") is False:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    db_app.add_typer(standby_app, name="standby")
