"""Base backups, WAL archiving and point-in-time recovery with PostgreSQL's own tools.

* ``enable_archiving``: the embedded server archives each finished WAL segment with
  ``basic_archive`` (PostgreSQL's archive module: it writes a temporary file, fsyncs
  and renames, and refuses to overwrite a different file), plus ``summarize_wal`` for
  incremental backups and ``archive_timeout`` to bound how old the last archived WAL
  can be on a quiet day.
* ``take``: ``pg_basebackup`` (plain format, WAL streamed into the backup, fast
  checkpoint; incremental against the previous backup's manifest when the server
  summarises WAL), then ``pg_verifybackup`` over every file and the WAL; the verified
  backup is recorded in ``fl.operation_log`` (``db check`` reads its age), older
  chains beyond ``keep`` are removed and ``pg_archivecleanup`` trims the archive to the
  oldest backup kept.
* ``restore``: into a NEW directory only (never over a live one): a full backup is
  copied, a chain is merged with ``pg_combinebackup``; recovery replays the archive up
  to ``until`` (or its end) and promotes; on that first start the ledger is verified
  and compared with the last filed digest, and the restore is recorded.

A repository is a directory of backups ``<UTC time>-full`` / ``<UTC time>-incr``, each
``data/`` (the backup, with its ``backup_manifest``) and ``fundledger-backup.json``.
Backups are not encrypted and (plain format) not compressed: put the repository on an
encrypted file system (LUKS) or encrypt a tar of it (``gpg``/``age``) before it leaves
the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ledger.errors import BadInput, DatabaseUnavailable, StateError
from ledger.i18n import _
from ledger.io import infile
from ledger.store import pgtools
from ledger.store.db import Conn, Target, session_conninfo

META = "fundledger-backup.json"


# ---- archiving ----------------------------------------------------------------------------

def archive_settings(archive_dir: Path, *, timeout_s: int = 60) -> dict[str, str]:
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_library": "basic_archive",
        "basic_archive.archive_directory": str(archive_dir),
        "archive_timeout": f"{timeout_s}s",
        "summarize_wal": "on",
    }


def enable_archiving(conn: Conn, archive_dir: Path, *, timeout_s: int = 60) -> bool:
    """ALTER SYSTEM the archive settings; True if the server must restart to apply them."""
    archive_dir = archive_dir.resolve()
    pgtools.hand_over(archive_dir)
    conn.autocommit = True
    before = conn.execute("SELECT current_setting('archive_mode') AS m").fetchone()
    settings = archive_settings(archive_dir, timeout_s=timeout_s)
    major = int(conn.execute("SELECT current_setting('server_version_num')::int / 10000 AS v").fetchone()["v"])  # type: ignore[index]
    if major < 17:
        settings.pop("summarize_wal")
        # Before 17 ALTER SYSTEM refuses a module's setting the session has not loaded.
        conn.execute("LOAD 'basic_archive'")
    for k, v in settings.items():
        conn.execute(f"ALTER SYSTEM SET {k} = '{v}'")  # literals only; keys are ours
    conn.execute("SELECT pg_reload_conf()")
    return before is None or before["m"] != "on"


def archive_dir_of(conn: Conn) -> Path | None:
    r = conn.execute("SELECT current_setting('basic_archive.archive_directory', true) AS d").fetchone()
    return Path(r["d"]) if r and r["d"] else None


# ---- base backups -------------------------------------------------------------------------

@dataclass(frozen=True)
class BackupInfo:
    label: str
    path: Path
    meta: dict[str, Any]

    @property
    def data(self) -> Path:
        return self.path / "data"


def _now_label() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")[:-4] + "Z"


def list_backups(repo: Path) -> list[BackupInfo]:
    out = []
    for d in sorted(repo.iterdir()) if repo.is_dir() else []:
        m = d / META
        if m.exists():
            meta = json.loads(m.read_text("utf-8"))
            if meta.get("verified"):
                out.append(BackupInfo(d.name, d, meta))
    return out


def _chain(repo: Path, b: BackupInfo) -> list[BackupInfo]:
    """The full backup and the incrementals leading to ``b``, oldest first."""
    by_label = {x.label: x for x in list_backups(repo)}
    chain = [b]
    while chain[0].meta.get("parent"):
        parent = by_label.get(chain[0].meta["parent"])
        if parent is None:
            raise StateError(_("backup {label} is incremental and its parent {parent} is missing from {repo}").format(
                label=chain[0].label, parent=chain[0].meta["parent"], repo=repo))
        chain.insert(0, parent)
    return chain


def _label_fields(data: Path) -> dict[str, str]:
    text = (data / "backup_label").read_text()
    start = re.search(r"START WAL LOCATION: (\S+) \(file (\w+)\)", text)
    tli = re.search(r"START TIMELINE: (\d+)", text, re.ASCII)
    return {"start_lsn": start.group(1) if start else "", "start_wal": start.group(2) if start else "",
            "timeline": tli.group(1) if tli else ""}


def take(target: Target, repo: Path, *, incremental: bool | None = None, keep: int = 7,
         archive: Path | None = None) -> dict[str, Any]:
    """Take, verify, record and prune. Returns the backup's metadata."""
    conninfo = target.conninfo(admin=True)
    with psycopg.connect(session_conninfo(conninfo), autocommit=True, row_factory=dict_row) as conn:
        info = conn.execute("""SELECT current_setting('server_version_num')::int / 10000 AS major,
                                      (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
                                      current_setting('summarize_wal', true) AS summarize,
                                      pg_is_in_recovery() AS standby""").fetchone()
        assert info is not None
        archive = archive or archive_dir_of(conn)
    if info["standby"]:
        raise StateError(_("take base backups from the primary (the backup is recorded in its operations log)"))
    bdir = pgtools.bindir(int(info["major"]))
    repo.mkdir(parents=True, exist_ok=True)
    previous = [b for b in list_backups(repo) if b.meta.get("system_identifier") == info["sysid"]]
    can_incr = info["summarize"] == "on" and pgtools.has_tool(bdir, "pg_combinebackup") and bool(previous)
    if incremental and not can_incr:
        raise StateError(_("an incremental backup needs summarize_wal = on (PostgreSQL 17+), pg_combinebackup and a "
                           "previous backup of this server in the repository"))
    incr = can_incr if incremental is None else incremental
    label = _now_label() + ("-incr" if incr else "-full")
    dest = repo / label
    data = dest / "data"
    dest.mkdir()
    started = dt.datetime.now(dt.UTC)
    args = ["-d", conninfo, "-D", str(data), "-Fp", "-X", "stream", "-c", "fast", "-l", f"fundledger {label}"]
    if incr:
        args.append(f"--incremental={previous[-1].data / 'backup_manifest'}")
    try:
        pgtools.run(bdir, "pg_basebackup", args, as_service=False, timeout=None)
        verify_args = [str(data)]
        if incr:
            verify_args.insert(0, "--no-parse-wal")  # WAL is checked when the chain is combined and replayed
        pgtools.run(bdir, "pg_verifybackup", ["-q", *verify_args], as_service=False, timeout=None)
    except Exception:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    finished = dt.datetime.now(dt.UTC)
    size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    meta: dict[str, Any] = {
        "format": "fundledger-backup/1", "label": label, "kind": "incremental" if incr else "full",
        "parent": previous[-1].label if incr else None, "started_at": started.isoformat(),
        "finished_at": finished.isoformat(), "seconds": round((finished - started).total_seconds(), 2),
        "bytes": size, "server_major": int(info["major"]), "system_identifier": info["sysid"],
        "archive": str(archive) if archive else None, "verified": True, "verified_with": "pg_verifybackup",
        **_label_fields(data),
    }
    (dest / META).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    with psycopg.connect(session_conninfo(conninfo), autocommit=True, row_factory=dict_row) as conn:
        from ledger.store import deploy

        deploy.log_operation(conn, "backup", label, "", {k: meta[k] for k in (
            "label", "kind", "parent", "start_lsn", "timeline", "finished_at", "bytes", "verified", "seconds")})
    meta["removed"] = prune(repo, keep=keep, archive=archive, bdir=bdir, sysid=info["sysid"])
    return meta


def prune(repo: Path, *, keep: int, archive: Path | None, bdir: Path, sysid: str) -> list[str]:
    """Keep the newest ``keep`` full backups with their incrementals; trim the archive
    (``pg_archivecleanup``) to the oldest full backup kept."""
    if keep < 1:
        raise BadInput(_("--keep must be at least 1"))
    mine = [b for b in list_backups(repo) if b.meta.get("system_identifier") == sysid]
    fulls = [b for b in mine if b.meta["kind"] == "full"]
    if not fulls:
        return []
    oldest_kept = fulls[-keep] if len(fulls) >= keep else fulls[0]
    removed = []
    for b in mine:
        if b.label < oldest_kept.label:
            shutil.rmtree(b.path)
            removed.append(b.label)
    if archive is not None and archive.is_dir() and oldest_kept.meta.get("start_wal"):
        pgtools.run(bdir, "pg_archivecleanup", [str(archive), oldest_kept.meta["start_wal"]], as_service=False)
    return removed


# ---- restore ------------------------------------------------------------------------------

def resolve(backup: Path) -> tuple[Path, BackupInfo]:
    """A backup directory, or a repository (its newest backup)."""
    if (backup / META).exists():
        repo = backup.parent
        chosen = [b for b in list_backups(repo) if b.path.resolve() == backup.resolve()]
        if not chosen:
            raise BadInput(_("{path} was not verified; it cannot be restored: give the repository, "
                              "or another of its backups").format(path=backup))
        return repo, chosen[0]
    found = list_backups(backup)
    if not found:
        raise BadInput(_("{path}: no verified fundledger backup here: give the repository "
                          "fundledger backup wrote into, or one of its backups").format(path=backup))
    return backup, found[-1]


def restore(backup: Path, to: Path, *, until: dt.datetime | None = None, archive: Path | None = None,
            digest: Path | None = None, dbname: str = "fundledger") -> dict[str, Any]:
    repo, b = resolve(backup)
    to = to.resolve()
    if to.exists() and any(to.iterdir()):
        raise StateError(_("{path} is not empty: restore only into a new directory (never over a live one)").format(
            path=to))
    archive = archive or (Path(b.meta["archive"]) if b.meta.get("archive") else None)
    chain = _chain(repo, b)
    bdir = pgtools.bindir(int(b.meta["server_major"]))
    if until is not None and until.tzinfo is None:
        raise BadInput(_("--until needs a time zone (e.g. 2026-12-05T02:30:00+08:00)"))
    if until is not None and until < dt.datetime.fromisoformat(b.meta["finished_at"]):
        older = [x for x in list_backups(repo) if dt.datetime.fromisoformat(x.meta["finished_at"]) <= until]
        if not older:
            raise StateError(_("no backup in {repo} finished before {until}").format(repo=repo, until=until.isoformat()))
        b = older[-1]
        chain = _chain(repo, b)
    if len(chain) == 1:
        to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(chain[0].data, to, symlinks=True)
    else:
        to.parent.mkdir(parents=True, exist_ok=True)
        pgtools.run(bdir, "pg_combinebackup", ["-o", str(to), *[str(x.data) for x in chain]], as_service=False,
                    timeout=None)
    for stale in ("postmaster.pid", "postmaster.opts", "standby.signal"):
        (to / stale).unlink(missing_ok=True)
    settings = {
        "archive_mode": "'off'",            # a restored copy never writes into the production archive
        "synchronous_standby_names": "''",  # nor waits for the old primary's standby
        "recovery_target_action": "'promote'",
        "recovery_target_timeline": "'latest'",
    }
    if archive is not None:
        settings["restore_command"] = f"'cp \"{archive}/%f\" \"%p\"'"
    if until is not None:
        settings["recovery_target_time"] = f"'{until.isoformat()}'"
        settings["recovery_target_inclusive"] = "'true'"
    pgtools.append_conf(to, [f"# fundledger restore of {b.label}", *[f"{k} = {v}" for k, v in settings.items()]],
                        "postgresql.auto.conf")
    (to / "recovery.signal").write_text("")
    # First start: the unix socket inside the (0700) data directory, and a temporary
    # pg_hba that lets only whoever can enter that directory in.
    hba = to / "pg_hba.restore.conf"
    hba.write_text("local all all trust\n")
    pgtools.hand_over(to)
    # A base backup copies the source server's socket lock file when its socket lived in
    # the data directory; the PID it names may belong to another process by now, and the
    # restored server would refuse to start. It is never the restored server's own.
    for lock in to.glob(".s.PGSQL.*.lock"):
        lock.unlink()
    server = pgtools.LocalServer(to, bdir, port=5432)
    result: dict[str, Any] = {"backup": b.label, "chain": [x.label for x in chain], "to": str(to),
                              "until": until.isoformat() if until else None, "archive": str(archive) if archive else None}
    try:
        server.start(timeout=600, extra=f"-c hba_file='{hba}'")
        url = server.url(dbname=dbname)
        _wait_promoted(url, server)
        with psycopg.connect(session_conninfo(url), row_factory=dict_row) as conn:
            result.update(_first_start_checks(conn, digest, until))
            conn.autocommit = True
            from ledger.store import deploy

            r = conn.execute("SELECT pg_current_wal_lsn()::text AS lsn, now() AS at, "
                             "(SELECT max(created_at) FROM fl.entry) AS last_entry_at").fetchone()
            assert r is not None
            result["recovered_lsn"], result["last_entry_at"] = r["lsn"], r["last_entry_at"]
            deploy.log_operation(conn, "restore", b.label, "", {k: v for k, v in result.items() if k != "verify"})
    finally:
        server.stop()
        hba.unlink(missing_ok=True)
    return result


def _wait_promoted(url: str, server: pgtools.LocalServer, timeout: float = 600) -> None:
    import time

    end = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(session_conninfo(url), connect_timeout=2) as c:
                r = c.execute("SELECT pg_is_in_recovery()").fetchone()
                if r is not None and not r[0]:
                    return
        except psycopg.OperationalError:
            if not server.running():
                raise DatabaseUnavailable(_("the restored server stopped during recovery (a --until after the end of "
                                            "the archived WAL?):") + f"\n{server.log_tail()}") from None
        if time.monotonic() > end:
            raise DatabaseUnavailable(_("recovery did not finish within {seconds} s:").format(seconds=f"{timeout:.0f}")
                                      + f"\n{server.log_tail()}")
        time.sleep(0.2)


def _first_start_checks(conn: Conn, digest: Path | None, until: dt.datetime | None) -> dict[str, Any]:
    from ledger.store import audit, verify

    rep = verify.verify(conn)
    out: dict[str, Any] = {"verify_ok": rep.ok, "verify": rep.as_json(), "entries": rep.extra.get("entries")}
    if digest is not None:
        files = sorted(digest.glob("*.json")) if digest.is_dir() else [digest]
        docs = []
        for f in files:
            try:
                text = infile.read_text(f)
                json.loads(text)
            except (OSError, ValueError, infile.NotRegularFile):   # not JSON: not a digest (a folder holds others)
                continue
            d = infile.parse_json(text, infile.shown_name(f))   # (ATTACK14 V11) a key given twice: refused
            if isinstance(d, dict) and d.get("format") in audit.DIGEST_FORMATS:
                try:        # (ATTACK17 E7) a damaged digest is the file's fault, named before it is used
                    audit.check_digest_file(d)
                except BadInput as e:
                    raise BadInput(_("{file}: {reason}").format(file=infile.shown_name(f), reason=e.message)) from e
                docs.append((d["taken_at"], str(f), d))
        if not docs:
            raise BadInput(_("{file}: no fundledger digest found").format(file=digest))
        # the last digest filed at or before the point restored to: a later one names
        # entries the restore rightly left out
        usable = sorted(x for x in docs if until is None or dt.datetime.fromisoformat(x[0]) <= until)
        if not usable:
            raise BadInput(_("{file}: no digest filed before {until}").format(file=digest, until=until.isoformat()) if until
                            else _("{file}: no digest filed before now").format(file=digest))
        taken, fname, d = usable[-1]
        chk = audit.check_digest(conn, d)
        out.update({"digest_file": fname, "digest_taken_at": taken, "digest_ok": chk.ok,
                    "digest_later_entries": chk.extra.get("later_entries"), "digest_seq": chk.extra.get("digest_seq")})
    return out


def enable_embedded_archiving(target: Target, archive_dir: Path, *, timeout_s: int = 60) -> dict[str, Any]:
    """``init --archive DIR``: switch the embedded server's WAL archiving on (restarting it
    if archive_mode changes). A server of your own is configured by its DBA instead."""
    from ledger.store import embedded

    if not target.embedded:
        raise BadInput(_("--archive configures the embedded server; on your own server set archive_mode, "
                         "archive_library = 'basic_archive' (or run pg_receivewal) as in docs/deployment.md"))
    home = Path(target.home) if target.home else None
    with psycopg.connect(session_conninfo(target.conninfo(admin=True)), row_factory=dict_row) as conn:
        restart = enable_archiving(conn, archive_dir, timeout_s=timeout_s)
    if restart:
        embedded.stop(home)
        embedded.start(home)
    return {"directory": str(archive_dir.resolve()), "restarted": restart, "archive_timeout_s": timeout_s}
