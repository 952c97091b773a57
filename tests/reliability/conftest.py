"""Reliability fixtures: worker processes, a private crashable server, run figures.

Figures each test records (``figures[...]``) are written as JSON to
``$FUNDLEDGER_RELIABILITY_REPORT`` at the end of the session when that is set
(docs/reliability.md is written from such a file).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import USERS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKERS = HERE / "workers.py"
_FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    yield _FIGURES
    out = os.environ.get("FUNDLEDGER_RELIABILITY_REPORT")
    if out and _FIGURES:
        Path(out).write_text(json.dumps(_FIGURES, indent=2, ensure_ascii=False, sort_keys=True), "utf-8")


def slow_run(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("slow") is not None


class Procs:
    """Worker subprocesses (stderr to a temp file each); any still alive is killed at teardown."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.errs: dict[int, Any] = {}

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        return self.run([sys.executable, str(WORKERS), *args])

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        full = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        if env is None:
            full.pop("FUNDLEDGER_DATABASE_URL", None)
        err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in wait)
        p = subprocess.Popen(argv, cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(p)
        self.errs[p.pid] = err
        return p

    def wait(self, p: subprocess.Popen[bytes], timeout: float = 120) -> str:
        p.wait(timeout=timeout)
        err = self.errs.pop(p.pid)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        err.close()
        return text

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        self.wait(p)

    def kill_all(self) -> None:
        for p in self.procs:
            if p.pid in self.errs:
                self.kill(p)


@pytest.fixture
def procs() -> Iterator[Procs]:
    ps = Procs()
    try:
        yield ps
    finally:
        ps.kill_all()


def wait_for(path: Path, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.02)


# ---- a private server we may crash --------------------------------------------------

class CrashServer:
    """An embedded PostgreSQL in a temp dir (one per test session, migrated template
    built once); each test gets its own database cloned from the template."""

    TEMPLATE = "fl_crash_tpl"

    def __init__(self) -> None:
        from ledger.store import embedded

        self.embedded = embedded
        self.home = Path(tempfile.mkdtemp(prefix="fl-crash-"))
        self.crashes = 0
        self.db = self.TEMPLATE

    def setup(self) -> None:
        self.start()
        with psycopg.connect(self._url("postgres"), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.TEMPLATE}"')
        self._migrate()

    def clone(self, name: str) -> None:
        with psycopg.connect(self._url("postgres"), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.TEMPLATE}" STRATEGY FILE_COPY')
        self.db = name
        self.crashes = 0

    def _url(self, db: str, user: str = "postgres") -> str:
        st = self.embedded.status(self.home)
        assert st.socket_dir is not None
        return f"postgresql://{user}@/{db}?host={st.socket_dir}"

    def url(self, user: str | None = None) -> str:
        return self._url(self.db, user or "postgres")

    def _migrate(self) -> None:
        from ledger.core.region import load_region
        from ledger.store import admin

        admin.bootstrap(self.url(), load_region(), USERS)

    def start(self) -> None:
        self.embedded.start(self.home)

    def crash(self) -> None:
        """Immediate shutdown: no checkpoint, WAL replay on the next start."""
        self.embedded.stop(self.home, mode="immediate")
        self.crashes += 1

    def connect(self, user: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.url(user), autocommit=autocommit, row_factory=dict_row)

    def settings(self) -> dict[str, str]:
        with self.connect() as c:
            rows = c.execute("""SELECT name, setting FROM pg_settings WHERE name IN
                ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level',
                 'default_transaction_isolation', 'max_connections', 'shared_buffers')""").fetchall()
        return {r["name"]: r["setting"] for r in rows}

    def close(self) -> None:
        self.embedded.stop(self.home, mode="immediate")
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="session")
def _crash_pg() -> Iterator[CrashServer]:
    srv = CrashServer()
    try:
        srv.setup()
        yield srv
    finally:
        srv.close()


@pytest.fixture
def crash_server(_crash_pg: CrashServer) -> CrashServer:
    """Our own server, which the test may crash; a fresh ledger database on it."""
    _crash_pg.start()   # a previous test may have left it down
    _crash_pg.clone(f"fl_c_{uuid.uuid4().hex[:10]}")
    return _crash_pg
