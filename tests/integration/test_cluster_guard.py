"""The cluster guard (tests/conftest.py ``_cluster_guard``) reads a configuration reload as a change
of the cluster's shared state, by ``pg_conf_load_time()`` of its own session — which moves when that
session takes the postmaster's SIGHUP, not when a test asked for the reload. A ``cluster_roles`` test
that reloads as it ends (test_attack7_views' ALTER SYSTEM RESET) could so have its reload land during
the next test: u11 of tests/security/test_attack7_writes.py once failed its teardown with
"configuration reloaded" on a loaded machine. Reproduced here by holding the postmaster (SIGSTOP) so
the reload is still pending when the test would end: read at once and read again later, the guard's
state differs; after ``_reloads_landed`` (what the guard now runs after a ``cluster_roles`` test) it
does not. The postmaster is the embedded test cluster's, which this session started."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Server, _reloads_landed, cluster_state

pytestmark = [pytest.mark.db, pytest.mark.cluster_roles,
              pytest.mark.skipif(bool(os.environ.get("FUNDLEDGER_TEST_DATABASE_URL")),
                                 reason="holds the embedded test cluster's postmaster")]


@contextmanager
def _held_postmaster(conn: psycopg.Connection, seconds: float) -> Iterator[None]:
    """The postmaster stopped on entry and resumed ``seconds`` later by a timer (whatever the
    block does meanwhile); the block's end waits for the resume."""
    pgdata = Path(conn.execute("SHOW data_directory").fetchone()[0])
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(seconds, os.kill, (pid, signal.SIGCONT))
    timer.start()
    try:
        yield
    finally:
        timer.join()
        os.kill(pid, signal.SIGCONT)


def _reload_pending(pg_server: Server) -> tuple[psycopg.Connection, psycopg.Connection]:
    watcher = psycopg.connect(pg_server.admin_url, autocommit=True)
    asker = psycopg.connect(pg_server.admin_url, autocommit=True)
    return watcher, asker


def test_a_reload_asked_for_at_a_tests_end_can_land_during_the_next(pg_server: Server) -> None:
    """The mechanism of the flake: the reload asked for while the postmaster is busy lands in the
    guard's session after the state was read."""
    watcher, asker = _reload_pending(pg_server)
    try:
        before = cluster_state(watcher)
        with _held_postmaster(watcher, 0.5):
            asker.execute("SELECT pg_catalog.pg_reload_conf()")
            at_end = cluster_state(watcher)                 # the test's end: nothing landed yet
        time.sleep(0.3)
        later = cluster_state(watcher)
        assert at_end == before and later != at_end, (before, at_end, later)
    finally:
        watcher.close()
        asker.close()


def test_after_reloads_landed_nothing_lands_later(pg_server: Server) -> None:
    """The guard's wait after a ``cluster_roles`` test: what it reads then stays."""
    watcher, asker = _reload_pending(pg_server)
    try:
        with _held_postmaster(watcher, 0.5):
            asker.execute("SELECT pg_catalog.pg_reload_conf()")
            _reloads_landed(watcher)                       # waits for the postmaster to resume
            settled = cluster_state(watcher)
        time.sleep(0.3)
        assert cluster_state(watcher) == settled
    finally:
        watcher.close()
        asker.close()
