"""ATTACK2 B1b: two ledgers on one PostgreSQL server share its roles (fl_officer … fl_admin are
the cluster's). Every login of ledger B, a member of those groups, could connect to ledger A and
read what the groups read there without row security — A's history of every request, budget,
user and held entry (fl.record_log), its chain head and voucher counters. CONNECT on a ledger's
database is its own logins' (sql/0027_confinement*.sql): another ledger's admin, reviewer or
officer is refused at the door, on the embedded server and on a shared one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.conftest import USERS, Server

pytestmark = pytest.mark.db


@pytest.fixture
def ledger_b(pg_server: Server) -> Iterator[tuple[str, list[str]]]:
    """A second ledger, built as init builds one, with logins of its own."""
    from ledger.core.region import load_region
    from ledger.store import admin

    tag = uuid.uuid4().hex[:8]
    name = f"fl_b_{tag}"
    users = [(f"adm_{tag}", "admin", None), (f"rev_{tag}", "reviewer", None), (f"off_{tag}", "officer", "230822")]
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        admin.bootstrap(pg_server.url(name), load_region(), users)
        yield name, [u[0] for u in users]
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            for u in users:      # roles are the cluster's: leave none behind on a shared server
                c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(u[0])))


def _connects(server: Server, db: str, user: str) -> bool:
    try:
        with psycopg.connect(server.url(db, user), connect_timeout=10) as c:
            c.execute("SELECT 1")
        return True
    except psycopg.OperationalError as e:
        assert "permission denied for database" in str(e) or "CONNECT privilege" in str(e), e
        return False


def test_another_ledgers_logins_are_refused_at_the_door(pg_server: Server, template_db: str,
                                                        ledger_b: tuple[str, list[str]]) -> None:
    b, b_users = ledger_b
    # Each ledger's own logins connect to it …
    assert all(_connects(pg_server, b, u) for u in b_users)
    assert all(_connects(pg_server, template_db, u) for u, _role, _unit in USERS)
    # … and to no other: B's admin, reviewer and officer are refused by A, A's by B.
    assert [u for u in b_users if _connects(pg_server, template_db, u)] == []
    assert [u for u, _role, _unit in USERS if _connects(pg_server, b, u)] == []
    # Group roles carry no CONNECT (they are shared by both ledgers).
    with psycopg.connect(pg_server.url(b)) as c:
        granted = c.execute(
            "SELECT g FROM unnest(ARRAY['fl_officer','fl_reviewer','fl_finance','fl_auditor','fl_admin']) g "
            "WHERE has_database_privilege(g, current_database(), 'CONNECT')").fetchall()
    assert granted == []
