"""The synchronous streaming standby, promotion with fencing, and rejoin with pg_rewind —
PostgreSQL's own tools, driven by an operator (no home-made cluster manager: Patroni
does automatic failover in production, docs/deployment.md).

* ``create``: ``pg_basebackup -R`` (streamed WAL, a physical replication slot) into a
  NEW data directory; the primary then lists the standby in
  ``synchronous_standby_names``: an acknowledged posting is on two machines.
* ``set_sync`` / ``set_async``: the policy when the standby is lost. Commits WAIT
  (synchronous_commit = on) until the operator decides to run without it; that decision
  is recorded in the operations log (with a reason) *before* it takes effect — never
  silently.
* ``promote``: fence the old primary first, then ``pg_promote``. Fencing is layered,
  because a client URL listing both hosts with ``target_session_attrs=read-write``
  would write to a revived old primary:
  1. reachable by URL: ``ALTER SYSTEM SET default_transaction_read_only`` (libpq's
     read-write check skips it), ``ALTER DATABASE … ALLOW_CONNECTIONS false`` (nobody,
     not even a superuser, reaches the ledger on it) and its sessions terminated;
  2. its data directory at hand: stopped, ``standby.signal`` written (if it ever starts
     again it is in recovery and accepts no write at all) and a fence file left;
  3. neither: refused, unless the operator states it is powered off (``--old-primary-down``).
  The timeline PostgreSQL starts at promotion is the epoch: ``Writer`` and ``db check``
  read it; an old primary is on an older one.
* ``rejoin``: ``pg_rewind`` the fenced old primary from the new one, ``-R`` makes it a
  standby; it gets a slot and becomes the synchronous standby again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ledger.errors import BadInput, DatabaseUnavailable, StateError
from ledger.i18n import _
from ledger.store import pgtools
from ledger.store.db import Conn, session_conninfo

FENCE_FILE = "fundledger.fenced"


def connect_operator(conninfo: str, *, timeout: int = 5) -> Conn:
    """An operator's connection (autocommit: ALTER SYSTEM, pg_promote), failing fast."""
    try:
        return psycopg.connect(session_conninfo(conninfo), autocommit=True, row_factory=dict_row, connect_timeout=timeout,
                               application_name="fundledger-operator")
    except psycopg.OperationalError as e:
        raise DatabaseUnavailable(_("cannot connect: {error}").format(error=str(e).strip())) from e


def _local_commit(conn: Conn) -> None:
    """The operator's own records must not wait for the standby whose loss they record."""
    conn.execute("SET synchronous_commit = local")


def _log(conn: Conn, action: str, subject: str | None, reason: str, detail: dict[str, Any]) -> int:
    from ledger.store import deploy

    _local_commit(conn)
    return deploy.log_operation(conn, action, subject, reason, detail)


def timeline(conn: Conn) -> int:
    """The server's timeline: 1 at initdb, one more at every promotion (the epoch)."""
    r = conn.execute("""SELECT CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)
                                    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
                               END AS tli, (SELECT timeline_id FROM pg_control_checkpoint()) AS ckpt""").fetchone()
    assert r is not None
    return int(r["tli"] or r["ckpt"])


def _alter_system(conn: Conn, name: str, value: str) -> None:
    conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))


def _sync_names(name: str) -> str:
    return f'FIRST 1 ("{name}")'


def check_name(name: str) -> str:
    if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name) or name[0].isdigit():
        raise BadInput(_("standby name '{name}': use letters, digits and '_' (it is the application_name the primary "
                         "lists in synchronous_standby_names)").format(name=name))
    return name.lower()


# ---- create -------------------------------------------------------------------------------

def create(primary: str, pgdata: Path, *, name: str = "standby1", sync: bool = True,
           reason: str = "") -> dict[str, Any]:
    """A hot standby of ``primary`` (a superuser or REPLICATION login's URL) in ``pgdata``."""
    name = check_name(name)
    pgdata = pgdata.resolve()
    if pgdata.exists() and any(pgdata.iterdir()):
        raise StateError(_("{path} is not empty: a standby is made only in a new data directory").format(path=pgdata))
    with connect_operator(primary) as conn:
        info = conn.execute("""SELECT pg_is_in_recovery() AS standby, current_setting('wal_level') AS wal_level,
                                      current_setting('max_wal_senders')::int AS senders,
                                      current_setting('server_version_num')::int / 10000 AS major,
                                      EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s) AS slot""",
                            (name,)).fetchone()
        assert info is not None
    if info["standby"]:
        raise StateError(_("that server is itself a standby: make the standby from the primary"))
    if info["wal_level"] not in ("replica", "logical") or info["senders"] < 1:
        raise StateError(_("the primary cannot feed a standby (wal_level = {wal_level}, max_wal_senders = {senders}): "
                           "set wal_level = replica and max_wal_senders >= 2, then restart it").format(
                             wal_level=info["wal_level"], senders=info["senders"]))
    bdir = pgtools.bindir(int(info["major"]))
    sep = "&" if "?" in primary else "?"
    source = f"{primary}{sep}application_name={name}" if "://" in primary else f"{primary} application_name={name}"
    args = ["-d", source, "-D", str(pgdata), "-Fp", "-X", "stream", "-c", "fast", "-R", "-S", name,
            "-l", f"fundledger standby {name}"]
    if not info["slot"]:
        args.append("-C")
    started = time.monotonic()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgtools.run(bdir, "pg_basebackup", args, as_service=False, timeout=None)
    # The copy must not wait for itself once promoted, nor archive while it is a standby
    # (archive_mode = on archives only on a primary: after promotion it continues the archive).
    pgtools.append_conf(pgdata, [f"# fundledger standby {name}", "synchronous_standby_names = ''",
                                 "hot_standby = on", "hot_standby_feedback = on"], "postgresql.auto.conf")
    for lock in pgdata.glob(".s.PGSQL.*.lock"):
        lock.unlink()
    for stale in ("postmaster.pid", "postmaster.opts", FENCE_FILE):
        (pgdata / stale).unlink(missing_ok=True)
    pgtools.hand_over(pgdata)
    out: dict[str, Any] = {"name": name, "pgdata": str(pgdata), "slot": name, "sync": sync,
                           "seconds": round(time.monotonic() - started, 2)}
    if sync:
        with connect_operator(primary) as conn:
            out.update(set_sync(conn, name, reason or f"standby {name} created"))
    return out


# ---- the synchronous standby policy --------------------------------------------------------

def set_sync(conn: Conn, name: str, reason: str) -> dict[str, Any]:
    """Commits wait for ``name`` from now on (recorded)."""
    names = _sync_names(check_name(name))
    _log(conn, "standby_sync", name, reason, {"synchronous_standby_names": names})
    _alter_system(conn, "synchronous_standby_names", names)
    conn.execute("SELECT pg_reload_conf()")
    return {"synchronous_standby_names": names}


def set_async(conn: Conn, reason: str) -> dict[str, Any]:
    """The operator's decision to run without a synchronous standby: recorded first (with
    who, when, from where and why), then in force; commits waiting for the lost standby
    are released. Until then they wait — the default, and what db check flags."""
    if not reason.strip():
        raise BadInput(_("running without the synchronous standby needs --reason (it is kept in the operations log)"))
    before = conn.execute("SELECT current_setting('synchronous_standby_names') AS s").fetchone()
    waiting = conn.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'").fetchone()
    assert before is not None and waiting is not None
    _log(conn, "standby_async", before["s"] or None, reason,
         {"synchronous_standby_names_before": before["s"], "commits_waiting": int(waiting["n"])})
    _alter_system(conn, "synchronous_standby_names", "")
    conn.execute("SELECT pg_reload_conf()")
    return {"synchronous_standby_names_before": before["s"], "commits_released": int(waiting["n"])}


def status(conn: Conn) -> dict[str, Any]:
    r = conn.execute("""SELECT pg_is_in_recovery() AS standby, current_setting('synchronous_standby_names') AS names,
                               current_setting('default_transaction_read_only') AS read_only""").fetchone()
    assert r is not None
    out: dict[str, Any] = {"role": "standby" if r["standby"] else "primary", "timeline": timeline(conn),
                           "synchronous_standby_names": r["names"], "read_only": r["read_only"] == "on"}
    if r["standby"]:
        w = conn.execute("""SELECT status, sender_host, sender_port, slot_name,
                                   pg_last_wal_replay_lsn()::text AS replayed, pg_last_xact_replay_timestamp() AS at
                              FROM pg_stat_wal_receiver RIGHT JOIN (SELECT 1) one ON true""").fetchone()
        out["receiver"] = w
    else:
        out["standbys"] = conn.execute("""SELECT application_name, state, sync_state, replay_lsn::text AS replay_lsn,
                                                 extract(epoch FROM replay_lag)::float AS replay_lag_s
                                            FROM pg_stat_replication ORDER BY application_name""").fetchall()
        out["commits_waiting"] = int(conn.execute(  # type: ignore[index]
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'").fetchone()["n"])
    return out


# ---- promote with fencing -------------------------------------------------------------------

def _fence_by_url(url: str, dbname: str) -> dict[str, Any]:
    """Make a reachable old primary refuse the ledger: read-only by default, the ledger's
    database closed to new connections, its sessions ended."""
    try:
        conn = connect_operator(url, timeout=3)
    except DatabaseUnavailable as e:
        return {"reachable": False, "error": e.message[:300]}
    with conn:
        if conn.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"]:  # type: ignore[index]
            return {"reachable": True, "in_recovery": True}
        _local_commit(conn)
        _alter_system(conn, "default_transaction_read_only", "on")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(dbname)))
        n = conn.execute("""SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                             WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'""",
                         (dbname,)).fetchone()
        return {"reachable": True, "read_only": True, "connections_refused": dbname,
                "sessions_ended": int(n["n"]) if n else 0}


def fence_datadir(pgdata: Path, *, new_primary: str | None, reason: str) -> dict[str, Any]:
    """Stop the old primary if it runs and make sure it can only ever start as a standby."""
    pgdata = pgdata.resolve()
    if not (pgdata / "PG_VERSION").exists():
        raise BadInput(_("{pgdata} is not a PostgreSQL data directory").format(pgdata=pgdata))
    srv = pgtools.LocalServer.for_datadir(pgdata)
    was_running = srv.running()
    if was_running:
        srv.stop("fast")
        if srv.running():
            srv.stop("immediate")
    (pgdata / "standby.signal").write_text("")
    (pgdata / FENCE_FILE).write_text(json.dumps({
        "fenced_at": dt.datetime.now(dt.UTC).isoformat(), "new_primary": new_primary, "reason": reason,
        "undo": "fundledger db standby rejoin (pg_rewind); never delete standby.signal by hand"}, indent=2) + "\n")
    pgtools.hand_over(pgdata)
    return {"pgdata": str(pgdata), "was_running": was_running, "standby_signal": True}


def promote(standby: str, *, reason: str, old_primary: str | None = None, old_pgdata: Path | None = None,
            old_primary_down: bool = False, dbname: str = "fundledger") -> dict[str, Any]:
    """Fence the old primary, then promote ``standby`` (its operator URL)."""
    if not reason.strip():
        raise BadInput(_("a promotion needs --reason (it is kept in the operations log)"))
    started = time.monotonic()
    with connect_operator(standby) as conn:
        if not conn.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"]:  # type: ignore[index]
            raise StateError(_("that server is not a standby (already promoted?)"))
        tli_before = timeline(conn)
    fence: dict[str, Any] = {}
    if old_primary:
        fence["url"] = _fence_by_url(old_primary, dbname)
    if old_pgdata is not None:
        fence["datadir"] = fence_datadir(old_pgdata, new_primary=None, reason=reason)
    fenced = bool(fence.get("datadir")) or bool(fence.get("url", {}).get("read_only"))
    if not fenced and not old_primary_down:
        raise StateError(_("the old primary could not be fenced ({fence}): give --old-pgdata on its machine, or make "
                           "sure it is powered off or cut off and say so with --old-primary-down; promoting now could "
                           "leave two primaries").format(fence=json.dumps(fence, default=str)[:300]))
    if not fenced:
        fence["operator_says_down"] = True
    with connect_operator(standby) as conn:
        conn.execute("SELECT pg_promote(true, 120)")
        # A standby made with pg_basebackup copied the primary's synchronous_standby_names
        # (create() clears it; a hand-made standby may not have): no standby is attached
        # yet, so the promoted server runs asynchronous until the old primary rejoins —
        # the operator's decision by this command, recorded with its reason.
        before = conn.execute("SELECT current_setting('synchronous_standby_names') AS s").fetchone()
        _alter_system(conn, "synchronous_standby_names", "")
        conn.execute("SELECT pg_reload_conf()")
        tli = timeline(conn)
    seconds = round(time.monotonic() - started, 2)
    with connect_operator(_with_db(standby, dbname)) as conn:
        _log(conn, "fence", "old primary", reason, fence)
        _log(conn, "promote", "standby", reason, {"timeline_before": tli_before, "timeline": tli, "seconds": seconds})
        _log(conn, "standby_async", before["s"] if before else None,
             "promoted: no synchronous standby until the old primary rejoins (fundledger db standby rejoin)",
             {"synchronous_standby_names_before": before["s"] if before else ""})
    return {"timeline": tli, "timeline_before": tli_before, "fence": fence, "seconds": seconds}


def _with_db(url: str, dbname: str) -> str:
    """The same server, the ledger's database (operator URLs may name postgres)."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" in url:
        return urlunsplit(urlsplit(url)._replace(path="/" + dbname))
    return f"{url} dbname={dbname}"


# ---- rejoin ---------------------------------------------------------------------------------

def rejoin(old_pgdata: Path, primary: str, *, name: str = "standby1", sync: bool = True,
           reason: str = "", archive: Path | None = None) -> dict[str, Any]:
    """``pg_rewind`` the fenced old primary from the new ``primary`` and make it its standby.
    With ``archive`` (the WAL archive) pg_rewind fetches WAL the old primary has already
    recycled (``--restore-target-wal``)."""
    name = check_name(name)
    pgdata = old_pgdata.resolve()
    srv = pgtools.LocalServer.for_datadir(pgdata)
    srv.stop("fast")
    with connect_operator(primary) as conn:
        if conn.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"]:  # type: ignore[index]
            raise StateError(_("rejoin needs the new primary's URL (that server is a standby)"))
        if not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (name,)).fetchone():
            conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (name,))
    # pg_rewind first finishes crash recovery in single-user mode, which refuses standby mode.
    (pgdata / "standby.signal").unlink(missing_ok=True)
    started = time.monotonic()
    args = ["--target-pgdata", str(pgdata), "--source-server", primary, "-R"]
    if archive is not None:
        pgtools.append_conf(pgdata, [f"restore_command = 'cp \"{archive.resolve()}/%f\" \"%p\"'"],
                            "postgresql.auto.conf")
        args.append("--restore-target-wal")
    try:
        pgtools.run(srv.bdir, "pg_rewind", args, timeout=None)
    except pgtools.ToolFailed as e:
        (pgdata / "standby.signal").write_text("")   # still fenced
        if "could not find previous WAL record" in e.message or "could not open file" in e.message:
            raise StateError(e.message + "\n" + _("pg_rewind needs WAL the old primary no longer holds: give --archive "
                                                   "(the WAL archive), or rebuild it as a new standby (move the "
                                                   "directory aside, fundledger db standby create)")) from e
        raise
    sep = "&" if "?" in primary else "?"
    source = f"{primary}{sep}application_name={name}" if "://" in primary else f"{primary} application_name={name}"
    pgtools.append_conf(pgdata, [f"# fundledger rejoin as {name}", f"primary_conninfo = '{_conninfo_text(source)}'",
                                 f"primary_slot_name = '{name}'", "synchronous_standby_names = ''",
                                 "default_transaction_read_only = off"], "postgresql.auto.conf")
    (pgdata / "standby.signal").write_text("")
    fence = pgdata / FENCE_FILE
    if fence.exists():
        fence.rename(pgdata / (FENCE_FILE + ".rejoined"))
    for stale in ("postmaster.pid", "postmaster.opts"):
        (pgdata / stale).unlink(missing_ok=True)
    pgtools.hand_over(pgdata)
    out: dict[str, Any] = {"pgdata": str(pgdata), "name": name, "seconds": round(time.monotonic() - started, 2)}
    with connect_operator(primary) as conn:
        _log(conn, "rejoin", name, reason or "old primary rewound and rejoined as standby", dict(out))
        if sync:
            out.update(set_sync(conn, name, reason or f"{name} rejoined"))
    return out


def _conninfo_text(url: str) -> str:
    """A conninfo for postgresql.auto.conf: keyword form, single quotes doubled."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    d = {k: v for k, v in conninfo_to_dict(url).items() if k not in ("dbname", "target_session_attrs")}
    return make_conninfo(**{k: str(v) for k, v in d.items() if v is not None}).replace("'", "''")


def wait_streaming(primary: str, name: str, timeout: float = 60) -> None:
    """Until ``name`` streams from ``primary`` (and is synchronous if listed)."""
    end = time.monotonic() + timeout
    with connect_operator(primary) as conn:
        while True:
            r = conn.execute("SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s",
                             (name,)).fetchone()
            if r and r["state"] == "streaming":
                return
            if time.monotonic() > end:
                raise DatabaseUnavailable(_("standby {name} is not streaming after {seconds} s").format(
                    name=name, seconds=f"{timeout:.0f}"))
            time.sleep(0.1)
