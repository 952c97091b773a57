"""ATTACK21 N2 (redteam21's test_rt21_init_encoding.py, adapted): every session fundledger opens is
pinned like ``ledger.store.db.connect``'s (ATTACK20 L8: client_encoding, DateStyle, IntervalStyle;
JIT off) — ``init``'s migration session under SQLAlchemy included, which was not: under
PGCLIENTENCODING=SQL_ASCII ``init`` was a traceback (SQLAlchemy's version regex on the bytes
psycopg returned), under LATIN1 an English 'current transaction is aborted'. A database whose
server encoding is not UTF8 is refused by ``init`` in Chinese first, saying how to make one, before
anything is written; ``db check`` and the verdict's ``settings`` name one. The tripwire that no
new opener bypasses ``session_conninfo`` is tests/unit/test_session_openers.py."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db
FUNDLEDGER = str(Path(sys.executable).parent / "fundledger")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _run(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "FUNDLEDGER_DATABASE_URL": url, "FUNDLEDGER_LANG": "zh", **env}
    return subprocess.run([FUNDLEDGER, *args], capture_output=True, text=True, env=e, timeout=300)


@pytest.mark.parametrize("env", [{"PGCLIENTENCODING": "SQL_ASCII"}, {"PGCLIENTENCODING": "LATIN1"},
                                 {"PGCLIENTENCODING": "GBK"}, {"PGDATESTYLE": "SQL, DMY"},
                                 {"PGOPTIONS": "-c client_encoding=SQL_ASCII -c DateStyle=German -c IntervalStyle=sql_standard"}],
                         ids=["sql_ascii", "latin1", "gbk", "datestyle", "pgoptions"])
def test_init_under_the_environment(ledger_db: LedgerDB, env: dict[str, str]) -> None:
    """RT21 N2 and its variants: ``init`` (the migration session, then the region's load) again on a
    ledger, whatever the environment says about the wire."""
    r = _run(ledger_db.url(), "init", **env)
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out[-1500:]
    assert r.returncode == 0, out[-1500:]


@pytest.fixture
def other_encoding(pg_server, request) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A database of encoding ``request.param`` (SQL_ASCII: what initdb --no-locale makes)."""
    enc = request.param
    name = f"att21_{enc.lower()}_{os.getpid()}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name} ENCODING '{enc}' LOCALE 'C' TEMPLATE template0")
    try:
        yield pg_server.url(name)
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("other_encoding", ["SQL_ASCII", "LATIN1"], indirect=True)
@pytest.mark.parametrize("env", [{}, {"PGCLIENTENCODING": "SQL_ASCII"}], ids=["plain", "client_sql_ascii"])
def test_init_refuses_a_database_not_utf8(other_encoding: str, env: dict[str, str]) -> None:
    """RT21 N2: refused in Chinese first, naming the encoding and how to make a UTF8 database;
    nothing written (no schema fl)."""
    r = _run(other_encoding, "init", **env)
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out[-1500:]
    assert r.returncode != 0, out[-1500:]
    first = out.strip().splitlines()[0]
    assert CJK.search(first), out
    assert "UTF8" in out and "template0" in out and "ENCODING" in out, out
    with psycopg.connect(other_encoding) as c:
        assert c.execute("SELECT to_regnamespace('fl') IS NULL").fetchone()[0]  # type: ignore[index]


@pytest.mark.parametrize("other_encoding", ["SQL_ASCII"], indirect=True)
def test_db_check_and_the_verdict_name_a_database_not_utf8(ledger_db: LedgerDB, other_encoding: str,
                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """RT21 N2: a ledger in such a database (built by a release before, or with the refusal taken out,
    as here) is named by ``db check``'s server_encoding item and by the verdict's ``settings`` check
    (``ledger_db``: the cluster's roles made first, as by every ledger)."""
    from ledger.core.region import load_region
    from ledger.store import admin, deploy, migrate
    from ledger.store.db import Target, connect
    from ledger.store.verify_catalogue import check_settings

    monkeypatch.setattr(migrate, "refuse_other_encoding", lambda conn: None)
    admin.bootstrap(other_encoding, load_region())
    with connect(Target(other_encoding), admin=True) as c:
        assert c.info.parameter_status("client_encoding") == "UTF8"
        items = {i.name: i for i in deploy.check(c)}
        item = items["server_encoding"]
        assert item.status == "fail" and item.value == "SQL_ASCII" and "UTF8" in item.hint, item
        found = [f.message for f in check_settings(c).findings if "server encoding" in f.message]
        assert found and "SQL_ASCII" in found[0], found


def test_db_check_passes_a_utf8_database(ledger_db: LedgerDB) -> None:
    from ledger.store import deploy
    from ledger.store.db import Target, connect

    with connect(Target(ledger_db.url()), admin=True) as c:
        item = {i.name: i for i in deploy.check(c)}["server_encoding"]
        assert item.status == "ok" and item.value == "UTF8", item
