"""Initialising the database, users and periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ledger.store.db import Conn, session_conninfo
from ledger.store.rows import fetch_all

if TYPE_CHECKING:   # the region module (tomllib, its tables) is init's alone: not for every command
    from ledger.core.region import Region


def init(admin_conninfo: str, conn: Conn, region: Region) -> dict[str, Any]:
    """Create or upgrade the schema, then load the region; safe to repeat."""
    from ledger.store import migrate  # alembic and SQLAlchemy: 0.2 s that no other command needs

    before, after, differs = migrate.upgrade(admin_conninfo)
    with conn.transaction():
        migrate.load_reference(conn, region)
        migrate.owner_administers_users(conn)
    return {"schema_before": before, "schema": after, "region": region.code, "units": len(region.units),
            "books": [b.code for b in region.books], "schema_drift": differs}


def bootstrap(owner_conninfo: str, region: Region,
              users: Iterable[tuple[str, str, str | None]] = ()) -> None:
    """A ready database in one call: schema at head, the region loaded, and ``users``
    (name, role, unit) added as the owner. Tests, benchmarks and reliability runs all
    build their databases this way, so they test the schema ``init`` builds."""
    from ledger.store import migrate

    migrate.upgrade(owner_conninfo)
    with psycopg.connect(session_conninfo(owner_conninfo), row_factory=dict_row) as conn:
        migrate.load_reference(conn, region)
        for name, role, unit in users:
            add_user(conn, name, role, unit)
        migrate.owner_administers_users(conn)
        conn.commit()


def add_user(conn: Conn, name: str, role: str, unit: str | None, connections: int | None = None) -> None:
    """Add a user; its login gets a connection limit (``connections``, default 10) and the
    limits of sql/0018 — from fl_owner where it may alter logins (PostgreSQL 16+), else from
    this session when it is a superuser's (bootstrap, the first admin on a server)."""
    _login_where_the_owner_cannot_create_it(conn, name)
    conn.execute("SELECT fl.add_user(%s, %s, %s)", (name, role, unit))
    row = conn.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user").fetchone()
    if row and row["rolsuper"]:
        conn.execute("SELECT fl._apply_login_limits(%s, %s)", (name, connections))
    elif connections is not None:
        conn.execute("SELECT fl.set_connection_limit(%s, %s)", (name, connections))


def _login_where_the_owner_cannot_create_it(conn: Conn, name: str) -> None:
    """On PostgreSQL 15 the owner of schema fl has no CREATEROLE (there it could grant
    itself any role: docs/security.md), so fl.add_user cannot create the login role.
    When the session adding the user may (a superuser or a DBA with CREATEROLE: bootstrap,
    the first admin on a server), it creates the bare login first, in the same
    transaction; fl.add_user then checks the name and grants the group. Otherwise the
    DBA creates it (fl.add_user says so)."""
    row = conn.execute(
        """SELECT current_setting('server_version_num')::int < 160000
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s)
                  AND (SELECT r.rolsuper OR r.rolcreaterole FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
                  AS create""", (name,)).fetchone()
    if row and row["create"]:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))


@dataclass(frozen=True, slots=True)
class UserLine:
    """A user of the ledger (``user list``)."""

    name: str
    role: str                   # officer | reviewer | finance | auditor | admin
    unit: str | None            # an officer's unit
    created_at: dt.datetime
    created_by: str


def list_users(conn: Conn) -> list[UserLine]:
    return fetch_all(conn, UserLine, "SELECT name, role, unit, created_at, created_by FROM fl.app_user ORDER BY name")


@dataclass(frozen=True)
class PeriodClose:
    """What ``close period`` did: whether the month itself was closed now, and the earlier months
    without entries that 0123 closed with it (a closed month is a prefix of the books) — told to
    the reviewer, since a closed month never reopens (ATTACK16b D6)."""

    closed: bool
    with_it: tuple[dt.date, ...]


def close_period(conn: Conn, month: dt.date, reason: str = "") -> PeriodClose:
    r = conn.execute("SELECT fl.close_period(%s, %s) AS closed", (month, reason)).fetchone()
    # the rows this transaction wrote (closed_at is the transaction's start), before the month
    rows = conn.execute("SELECT month FROM fl.closed_period WHERE closed_at = now() AND month < %s ORDER BY month",
                        (month,)).fetchall()
    return PeriodClose(bool(r and r["closed"]), tuple(x["month"] for x in rows))
