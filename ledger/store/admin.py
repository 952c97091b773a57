"""Initialising the database, users and periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ledger.core.region import Region
from ledger.store.db import Conn


def init(admin_conninfo: str, conn: Conn, region: Region) -> dict[str, Any]:
    """Create or upgrade the schema, then load the region; safe to repeat."""
    from ledger.store import migrate  # alembic and SQLAlchemy: 0.2 s that no other command needs

    before, after = migrate.upgrade(admin_conninfo)
    with conn.transaction():
        migrate.load_reference(conn, region)
        migrate.owner_administers_users(conn)
    return {"schema_before": before, "schema": after, "region": region.code, "units": len(region.units),
            "books": [b.code for b in region.books]}


def bootstrap(owner_conninfo: str, region: Region,
              users: Iterable[tuple[str, str, str | None]] = ()) -> None:
    """A ready database in one call: schema at head, the region loaded, and ``users``
    (name, role, unit) added as the owner. Tests, benchmarks and reliability runs all
    build their databases this way, so they test the schema ``init`` builds."""
    from ledger.store import migrate

    migrate.upgrade(owner_conninfo)
    with psycopg.connect(owner_conninfo, row_factory=dict_row) as conn:
        migrate.load_reference(conn, region)
        for name, role, unit in users:
            add_user(conn, name, role, unit)
        migrate.owner_administers_users(conn)
        conn.commit()


def add_user(conn: Conn, name: str, role: str, unit: str | None) -> None:
    conn.execute("SELECT fl.add_user(%s, %s, %s)", (name, role, unit))


def list_users(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute("SELECT name, role, unit, created_at, created_by FROM fl.app_user ORDER BY name").fetchall()


def close_period(conn: Conn, month: dt.date, reason: str = "") -> bool:
    r = conn.execute("SELECT fl.close_period(%s, %s) AS closed", (month, reason)).fetchone()
    return bool(r and r["closed"])
