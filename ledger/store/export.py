"""``fundledger audit export DIR``: the raw tables as plain files, verifiable offline.

Read in the verifier's pinned snapshot (ledger.store.verify_independent.pin): every
ordinary table of the schema fl, all columns, ordered by primary key, written by
PostgreSQL's ``COPY … (FORMAT csv, HEADER)`` exactly as it prints the values. Then the
export verifies itself offline (ledger.io.archive) — which writes ``canonical.csv`` on
the way — and writes the chain head and the manifest. In the same snapshot it runs the
online verdict's checks that no archive can re-make (ledger.store.verify_catalogue
.server_checks: logins, built-ins, pg_catalog's additions, settings and libraries) and
records their findings in ``online.json`` (ATTACK14 V7). The layout and the filed digest
are described in ledger.io.archive.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from ledger.core import proof
from ledger.core.findings import VerifyReport
from ledger.core.fingerprint import shipped
from ledger.errors import BadInput
from ledger.i18n import _
from ledger.io import archive
from ledger.store import verify_records
from ledger.store.db import Conn
from ledger.store.verify import require_reader
from ledger.store.verify_catalogue import fingerprint, server_checks
from ledger.store.verify_independent import pin

_TABLES_SQL = """
SELECT c.relname AS name,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS cols,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_constraint k
               CROSS JOIN LATERAL pg_catalog.unnest(k.conkey) WITH ORDINALITY u(attnum, i)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
              WHERE k.conrelid = c.oid AND k.contype = 'p' ORDER BY u.i) AS pk
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl' AND c.relkind = 'r'
   AND (pg_catalog.has_table_privilege(c.oid, 'SELECT') OR c.relname = ANY (%(needed)s))
 ORDER BY c.relname
"""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_SUBFOLDERS = ("tables", "history", "links")


class _Folders:
    """The export's folder and its subfolders, each held open from the start (ATTACK19 J6).

    Every file is created relative to the folder it was made in (``dir_fd``), so a symbolic link
    planted in its place later — by anyone who can write in the export's folder, during the
    minutes a city's ledger takes — is never followed; and before the export reads back what it
    wrote (its proof, the manifest's digests) each name is checked to be still the folder made.
    """

    def __init__(self, directory: Path) -> None:
        self.root = directory
        self.fds: dict[str, int] = {}
        # (ATTACK19b K3, K5) every file the export wrote: its digests as written, and the file
        # (device, inode) its name must still be when the manifest certifies it
        self.written: dict[str, tuple[archive.Hasher, tuple[int, int]]] = {}
        directory.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
        at = directory
        try:
            self.fds[""] = os.open(directory, flags)
            for sub in _SUBFOLDERS:
                # the folder named in a refusal is the one that failed: a subfolder swapped for
                # a link between its mkdir and its open fails here (O_NOFOLLOW), and the officer
                # is told which
                at = directory / sub
                os.mkdir(sub, 0o755, dir_fd=self.fds[""])
                self.fds[sub] = os.open(sub, flags, dir_fd=self.fds[""])
        except OSError as e:
            self.close()
            raise BadInput(_("{path}: cannot create it ({error}); an export is written into a new directory").format(
                path=at, error=e.strerror)) from e

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    def check_unmoved(self) -> None:
        """Each folder's name still names the folder made: nothing read back went through a link."""
        for sub, fd in self.fds.items():
            path = self.root / sub if sub else self.root
            try:
                now = os.stat(path, follow_symlinks=False)
            except OSError:
                now = None
            made = os.fstat(fd)
            if now is None or (now.st_dev, now.st_ino) != (made.st_dev, made.st_ino):
                raise BadInput(_("{path}: replaced while the export was written into it; export again into a new "
                                  "directory that only you can write in").format(path=path))

    def create(self, sub: str, name: str) -> _Hashed:
        f = _create(self.root / sub / name, self.fds[sub], name)
        st = os.fstat(f.fileno())
        h = archive.Hasher()
        self.written[f"{sub}/{name}" if sub else name] = (h, (st.st_dev, st.st_ino))
        return _Hashed(f, h)

    def forget(self, sub: str, name: str) -> None:
        self.written.pop(f"{sub}/{name}" if sub else name, None)

    def check_whole(self) -> None:
        """(ATTACK19b K3, K5) The folders hold exactly the files the export wrote, each still the
        file it wrote: a file planted beside them, or one renamed over an export's file while it
        ran, is refused — the manifest certifies only what the export wrote (its digests taken as
        it wrote, never read back by name)."""
        self.check_unmoved()
        for sub, fd in self.fds.items():
            expected = {rel.rpartition("/")[2] for rel in self.written if rel.rpartition("/")[0] == sub}
            if not sub:
                expected |= set(_SUBFOLDERS)
            for name in sorted(set(os.listdir(fd)) - expected):
                raise BadInput(_("{path}: not written by the export, put there while it ran; export again into a new "
                                  "directory that only you can write in").format(path=self.root / sub / name))
        for rel, (_h, made) in self.written.items():
            sub, _sep, name = rel.rpartition("/")
            try:
                st = os.stat(name, dir_fd=self.fds[sub], follow_symlinks=False)
                now: tuple[int, int] | None = (st.st_dev, st.st_ino)
            except OSError:
                now = None
            if now != made:
                raise BadInput(_("{path}: replaced while the export was written into it; export again into a new "
                                  "directory that only you can write in").format(path=self.root / rel))

    def digests(self, rel: str) -> dict[str, Any]:
        return self.written[rel][0].digests()


class _Hashed:
    """A file of the export being written, hashed (SHA-256, SM3) as it is written."""

    def __init__(self, f: BinaryIO, h: archive.Hasher) -> None:
        self.f, self.h = f, h

    def write(self, b: bytes) -> int:
        self.h.update(b)
        return self.f.write(b)

    def __enter__(self) -> _Hashed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def _create(path: Path, dir_fd: int | None = None, name: str | None = None) -> BinaryIO:
    """A new file of the export: never one that exists, never through a symbolic link
    (someone who can write in the export's folder planted it)."""
    try:
        fd = os.open(name if dir_fd is not None and name is not None else path,
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dir_fd)
    except OSError as e:
        raise BadInput(_("{path}: cannot create it ({error}); an export is written into a new directory").format(
            path=path, error=e.strerror)) from e
    return os.fdopen(fd, "wb")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _discard(folders: _Folders, sub: str, name: str) -> None:
    """A file begun for a table that could not be read: removed, so nothing half-written is listed."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folders.fds[sub])


def _write_new(path: Path, text: str, folders: _Folders | None = None) -> None:
    if folders is not None:
        with folders.create("", path.name) as h:
            h.write(text.encode("utf-8"))
        return
    with _create(path) as f:
        f.write(text.encode("utf-8"))


def _copy_to(conn: Conn, query: str, folders: _Folders, sub: str, name: str) -> int:
    rows = 0
    with folders.create(sub, name) as f, conn.cursor() as cur, \
            cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)") as cp:
        for chunk in cp:
            b = bytes(chunk)
            rows += b.count(b"\n")
            f.write(b)
    return max(0, rows - 1)


def export(conn: Conn, directory: Path, digest_out: Path | None = None) -> dict[str, Any]:
    """Write the export; returns the manifest's summary and the filed digest."""
    if directory.is_symlink() or (directory / "tables").is_symlink():
        raise BadInput(_("{path}: a symbolic link; an export goes into a new directory: name one that does not "
                          "exist yet").format(path=directory))
    if directory.exists() and any(directory.iterdir()):
        raise BadInput(_("{path}: not empty; an export goes into a new directory: name one that does not exist "
                          "yet").format(path=directory))
    # An officer is refused in words before anything is written or the snapshot locks the tables,
    # which an officer may not lock (PostgreSQL's "permission denied for table entry" was what it
    # got: ATTACK14 V10's class, found by tests/security/test_officer_read_sweep.py).
    require_reader(conn)
    folders = _Folders(directory)
    try:
        return _export(conn, directory, folders, digest_out)
    finally:
        folders.close()


def _export(conn: Conn, directory: Path, folders: _Folders, digest_out: Path | None) -> dict[str, Any]:
    saved = conn.isolation_level, conn.read_only
    pin(conn)
    try:
        # (ATTACK18b H2) When and where: the exporter's clock and its connection's own names — no
        # function of the audited server, which a superuser may replace in place, chooses them.
        taken = {"db": conn.info.dbname, "login": conn.info.user,
                 "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        counts: dict[str, int] = {}
        skipped: dict[str, str] = {}
        release = {k for k, kind in shipped()["relations"].items() if kind.startswith("r")}
        for t in conn.execute(_TABLES_SQL, {"needed": list(proof.TABLES)}).fetchall():
            name = t["name"]
            if not verify_records.PLAIN_NAME.fullmatch(name) or not t["cols"]:
                # (ATTACK18 G4) The file's name comes from the audited database: one that is not a
                # plain identifier ("../../x") would be written outside the export; (ATTACK18b H9)
                # a table of no columns would be a query of none. No release creates either; the
                # catalogue (catalogue.json, and the verdict's catalogue check) names the
                # relation, and no file is made for it.
                continue
            if name not in proof.TABLES and f"fl.{name}" not in release:
                # (ATTACK19 J8) A table the release does not create is the DBA's: never read (its row
                # policy may raise or sleep, and stop the auditor's archive); the catalogue check
                # names it (catalogue.json and the verdict), and the manifest lists it here.
                skipped[name] = "not a table of the release"
                continue
            if name in proof.TABLES:
                cols = [*proof.TABLES[name], *[c for c in t["cols"] if c not in proof.TABLES[name]]]
                order = ", ".join(_ident(c.strip()) for c in proof.ORDER_BY[name].split(","))
            else:
                cols = list(t["cols"])
                order = ", ".join(_ident(c) for c in (t["pk"] or cols[:1]))
            q = f"SELECT {', '.join(_ident(c) for c in cols)} FROM ONLY fl.{_ident(name)} ORDER BY {order}"
            try:
                # a release table the DBA gave a policy that raises: named, the export goes on (the
                # offline verdict names a table of the proof missing; the catalogue the policy)
                with conn.transaction():
                    counts[f"tables/{name}.csv"] = _copy_to(conn, q, folders, "tables", f"{name}.csv")
            except psycopg.Error as e:
                skipped[name] = f"unreadable: {_one_line(str(e))}"
                _discard(folders, "tables", f"{name}.csv")
                folders.forget("tables", f"{name}.csv")
        # The chained histories' other side: each hooked table's rows as the history keys
        # and prints them, and each self-chained table's links (ledger.io.archive).
        keys, unreadable = verify_records.hooked(conn)
        for table, kc in keys.items():
            if table == "fl.posting" or table in unreadable or not kc or not all(verify_records.PLAIN_NAME.fullmatch(c) for c in kc):
                continue        # (ATTACK18b H9) key columns are fl.chained_table's rows: the offline verdict names a
                                # history file missing, never a query of no key
            q = f"SELECT x.key, x.row FROM ({verify_records.current_sql(table, kc).as_string(conn)}) x(key, row)"
            counts[f"history/{table[3:]}.csv"] = _copy_to(conn, q, folders, "history", f"{table[3:]}.csv")
        for table in verify_records.readable_self_chained(conn)[0]:
            q = (f"SELECT x.id, x.link, x.prev_hash, x.hash FROM ({verify_records.links_sql(table).as_string(conn)}) "
                 "x(id, link, prev_hash, hash)")
            counts[f"links/{table[3:]}.csv"] = _copy_to(conn, q, folders, "links", f"{table[3:]}.csv")
        catalogue = fingerprint(conn)
        # (ATTACK14 V7) What only a live server shows — each login by rule, the built-ins,
        # pg_catalog's additions, settings and preloaded libraries — judged in this snapshot
        # and recorded (online.json), so the archive never certifies what the live verdict names.
        server = server_checks(conn)
    finally:
        conn.rollback()
        conn.isolation_level, conn.read_only = saved

    online = {"format": archive.ONLINE_FORMAT, "database": taken["db"], "login": taken["login"],
              "made_at": taken["at"],
              "made_by": "the exporting fundledger's live connection to the server, in the export's snapshot",
              "checks": [c.as_json() for c in server]}
    _write_new(directory / archive.ONLINE, json.dumps(online, indent=1, ensure_ascii=False) + "\n", folders)
    _write_new(directory / "catalogue.json", json.dumps(catalogue, indent=1, sort_keys=True, ensure_ascii=False)
               + "\n", folders)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["entry_id", "sha256", "canonical"])
    texts: list[tuple[int, str, str]] = []

    def sink(eid: int, text: str, digest: bytes | None) -> None:
        texts.append((eid, digest.hex() if digest else "", text))

    folders.check_unmoved()
    rep: VerifyReport = archive.run_proof(directory, sink)
    for row in sorted(texts):
        w.writerow(row)
    _write_new(directory / "canonical.csv", buf.getvalue(), folders)
    head_rows = list(archive.table_rows(directory / "tables" / "chain_head.csv", proof.TABLES["chain_head"]))
    head = {"seq": int(head_rows[0][0]) if head_rows else None, "hash": head_rows[0][1][2:] if head_rows else None,
            "verified": rep.ok}
    _write_new(directory / "chain_head.json", json.dumps(head, indent=1) + "\n", folders)
    folders.check_whole()
    files = {rel: {**folders.digests(rel), **({"rows": counts[rel]} if rel in counts else {})}
             for rel in sorted(folders.written)}
    manifest = {"format": archive.FORMAT, "database": taken["db"], "taken_at": taken["at"],
                "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "chain_head": head, "columns": {t: list(c) for t, c in proof.TABLES.items()},
                "conventions": "PostgreSQL CSV, DateStyle ISO, TimeZone UTC, bytea hex; empty unquoted field = NULL",
                "files": files, **({"not_exported": skipped} if skipped else {})}
    _write_new(directory / archive.MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", folders)
    folders.check_whole()
    made = folders.digests(archive.MANIFEST)      # the manifest as written, not as read back by name
    filed = {"format": archive.DIGEST_FORMAT, "sha256": made["sha256"], "sm3": made["sm3"],
             "database": taken["db"], "taken_at": taken["at"], "chain_head": head}
    if digest_out is not None:
        _write_new(digest_out, json.dumps(filed, indent=1) + "\n")
    # verified: the rows proven and the live server's checks clean; rows_verified and
    # findings: the rows' proof alone (as before online.json); online: the server's checks.
    return {"directory": str(directory), "files": len(files), "entries": rep.extra.get("entries"),
            "postings": rep.extra.get("postings"),
            "verified": rep.ok and all(c.ok for c in server) and not skipped,
            "not_exported": skipped,
            "rows_verified": rep.ok, "digest": filed, "findings": [f.as_json() for f in rep.findings],
            "online": [c.as_json() for c in server],
            "online_findings": sum(len(c.findings) + c.omitted for c in server)}
