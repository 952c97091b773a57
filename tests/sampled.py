"""Ledgers built once a worker and copied whole for each test that starts from them, for
tests/integration and tests/security alike (their conftest.py files import these fixtures).

* ``sample_db`` / ``sample_ids``: the sample ledger (tests/integration/test_verify.py's
  ``sample_ledger``: eight entries, three connections, four commits, a reversal, a period close).
* ``prebuilt(request, name, build)``: any other ledger a module's tests all start from — the
  template with ``build(db)`` applied, made once a worker under ``name`` and copied for the test.

The copy is a ``CREATE DATABASE ... TEMPLATE`` of the built one, as every test's database already
is of the worker's template (tests/conftest.py ``clone_database``): the same rows, seals, chain,
histories and sequences, a database of the test's own to tamper with. Building the sample ledger
cost ~0.3 CPU-s of the server a test, the copy a tenth of that (2026-12-08, ci-time-11). A test
whose subject is the building itself, or that needs the entries made at its own time, keeps
``ledger_db`` and builds them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

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


class _Built:
    """One worker's built ledgers (name -> database, and what the build returned), dropped
    when the session ends. Each is a database nobody stays connected to: it is a template."""

    def __init__(self, server: Server, template: str) -> None:
        self.server, self.template = server, template
        self.made: dict[str, tuple[str, object]] = {}

    def get(self, name: str, build: Callable[[LedgerDB], object]) -> tuple[str, object]:
        if name not in self.made:
            db_name = f"fl_built_{uuid.uuid4().hex[:12]}"
            clone_database(self.server.admin_url, db_name, self.template)
            db = LedgerDB(self.server, db_name)
            try:
                # On a shared server the build holds the cluster lock shared, as a test would, so no
                # ``cluster_roles`` test of another worker has the standard users changed meanwhile.
                with psycopg.connect(self.server.admin_url, autocommit=True) as lock:
                    if _shared_server():
                        lock.execute("SELECT pg_advisory_lock_shared(%s)", (CLUSTER_LOCK,))
                    out = build(db)
            except BaseException:
                db.close()
                drop_database(self.server.admin_url, db_name)
                raise
            db.close()
            self.made[name] = (db_name, out)
        return self.made[name]

    def close(self) -> None:
        for db_name, _ in self.made.values():
            drop_database(self.server.admin_url, db_name)
        self.made.clear()


@pytest.fixture(scope="session")
def _built(pg_server: Server, template_db: str) -> Iterator[_Built]:
    built = _Built(pg_server, template_db)
    try:
        yield built
    finally:
        built.close()


def prebuilt(request: pytest.FixtureRequest, name: str, build: Callable[[LedgerDB], object]) -> Iterator[LedgerDB]:
    """For a function fixture: a fresh copy of the ledger ``build`` makes from the template,
    built once a worker under ``name`` (the same ``name`` must always mean the same build)."""
    built: _Built = request.getfixturevalue("_built")
    db_name, _ = built.get(name, build)
    with copy_of(built.server, db_name) as db:
        yield db


def _sample(db: LedgerDB) -> dict[str, int]:
    from tests.integration.test_verify import sample_ledger

    return sample_ledger(db)


@pytest.fixture(scope="session")
def _sampled(_built: _Built) -> tuple[str, dict[str, int]]:
    """The worker's sample ledger (a database nobody stays connected to) and its entry ids."""
    name, ids = _built.get("sample", _sample)
    return name, ids  # type: ignore[return-value]


@pytest.fixture
def sample_db(pg_server: Server, _sampled: tuple[str, dict[str, int]]) -> Iterator[LedgerDB]:
    """A fresh copy of the sample ledger for one test (its own to tamper with)."""
    with copy_of(pg_server, _sampled[0]) as db:
        yield db


@pytest.fixture
def sample_ids(_sampled: tuple[str, dict[str, int]]) -> dict[str, int]:
    """The sample ledger's entry ids by key (``sample_ledger``'s return), a copy per test."""
    return dict(_sampled[1])
