"""The sample ledger (tests/integration/test_verify.py's ``sample_ledger``) built once a worker,
and copied whole for each test that starts from it (``sample_db``).

Each of those tests built the same eight entries from nothing (three connections, four commits,
a reversal, a period close) before doing what it is about: tampering, verifying, exporting.
The copy is a ``CREATE DATABASE ... TEMPLATE`` of the built one, as every test's database
already is of the worker's template (tests/conftest.py ``clone_database``): the same rows, seals,
chain and sequences. A test whose subject is the building itself, or that needs the entries
made at its own time, keeps ``ledger_db`` and calls ``sample_ledger``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import (
    CLUSTER_LOCK,
    LedgerDB,
    Server,
    _shared_server,
    clone_database,
    copy_of,
    drop_database,
)
from tests.integration.test_verify import sample_ledger


@pytest.fixture(scope="session")
def _sampled(pg_server: Server, template_db: str) -> Iterator[tuple[str, dict[str, int]]]:
    """The worker's sample ledger, a database nobody stays connected to (it is a template)."""
    name = f"fl_sample_{uuid.uuid4().hex[:12]}"
    clone_database(pg_server.admin_url, name, template_db)
    db = LedgerDB(pg_server, name)
    try:
        # Built before any test's cluster guard (a session fixture): on a shared server it holds
        # the cluster lock shared as a test would, so no ``cluster_roles`` test of another
        # worker has the standard users' settings changed while it builds.
        with psycopg.connect(pg_server.admin_url, autocommit=True) as lock:
            if _shared_server():
                lock.execute("SELECT pg_advisory_lock_shared(%s)", (CLUSTER_LOCK,))
            ids = sample_ledger(db)
        db.close()
        yield name, ids
    finally:
        db.close()
        drop_database(pg_server.admin_url, name)


@pytest.fixture
def sample_db(pg_server: Server, _sampled: tuple[str, dict[str, int]]) -> Iterator[LedgerDB]:
    """A fresh copy of the sample ledger for one test (its own to tamper with)."""
    with copy_of(pg_server, _sampled[0]) as db:
        yield db


@pytest.fixture
def sample_ids(_sampled: tuple[str, dict[str, int]]) -> dict[str, int]:
    """The sample ledger's entry ids by key (``sample_ledger``'s return), a copy per test."""
    return dict(_sampled[1])
