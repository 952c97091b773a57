"""A primary and its standby, each a data directory of its own, for the failover and
authentication tests: real servers (the wheel's PostgreSQL 18, or Debian's 15), SCRAM
passwords over TCP found the libpq way (a password file named by PGPASSFILE)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from ledger.store import pgtools

SUPER_PW = "Op3rator-Secret!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def password_of(user: str) -> str:
    """Each person's own password (12+ characters, three classes, not the name)."""
    return f"Pw-{user[::-1]}-2026x"


def service_owned(path: Path) -> None:
    """The server's OS user (when we are root) reads the file too: walreceiver and
    pg_rewind find the password there, as libpq does for everyone."""
    user = pgtools.service_user()
    if user is not None:
        import pwd

        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(0o600)


def write_passfile(path: Path, entries: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"127.0.0.1:*:*:{u}:{p}\n" for u, p in entries))
    service_owned(path)


class Node:
    def __init__(self, pgdata: Path, bdir: Path, port: int) -> None:
        # The unix socket outside the data directory: pg_rewind copies the source's files
        # and cannot read a socket.
        sock = pgtools.hand_over(pgdata.parent / f"sock-{pgdata.name}", mode=0o755)
        self.server = pgtools.LocalServer(pgdata, bdir, port=port, listen="127.0.0.1", socket_dir=sock)

    @property
    def pgdata(self) -> Path:
        return self.server.pgdata

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, user: str = "postgres", db: str = "fundledger") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def connect(self, user: str = "postgres", db: str = "fundledger", **kw: object) -> psycopg.Connection:
        return psycopg.connect(self.url(user, db), autocommit=True, row_factory=dict_row, connect_timeout=5, **kw)

    def start(self) -> None:
        self.server.start(timeout=120)

    def stop(self) -> None:
        self.server.stop()

    def kill9(self) -> None:
        """A power cut: the postmaster and every process of the cluster at once."""
        pid = self.server.pid()
        if pid is None:
            return
        children = []
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(p.name))
        for victim in (pid, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        end = time.monotonic() + 10
        while time.monotonic() < end and any(_alive(v) for v in (pid, *children)):
            time.sleep(0.02)

    def in_recovery(self) -> bool:
        with self.connect(db="postgres") as c:
            return bool(c.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"])  # type: ignore[index]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        if (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z":
            return False
    return True


def make_primary(pgdata: Path, bdir: Path, conf: dict[str, str] | None = None) -> Node:
    """initdb (checksums, SCRAM for every local and TCP login) and start on a free port."""
    pw = pgdata.parent / "superuser.pw"
    pw.write_text(SUPER_PW + "\n")
    service_owned(pw)
    pgtools.initdb(pgdata, bdir, auth="scram-sha-256", pwfile=pw)
    pw.unlink()
    pgtools.append_conf(pgdata, {"wal_level": "replica", "max_wal_senders": "5", "max_replication_slots": "5",
                                 "password_encryption": "'scram-sha-256'", "log_connections": "on",
                                 "log_disconnections": "on", "max_connections": "40", "shared_buffers": "32MB",
                                 **(conf or {})})
    node = Node(pgdata, bdir, free_port())
    node.start()
    return node


def bootstrap_ledger(node: Node) -> None:
    """The fundledger database with the standard cast, each with a SCRAM password of their own."""
    from ledger.core.region import load_region
    from ledger.store import admin, deploy
    from tests.conftest import USERS

    with node.connect(db="postgres") as c:
        c.execute("CREATE DATABASE fundledger")
    admin.bootstrap(node.url(), load_region(), USERS)
    with node.connect() as c:
        for name, _role, _unit in USERS:
            deploy.set_password(c, name, password_of(name))
