"""Reading rows into named shapes (``ledger.core.shapes``) with psycopg's ``class_row``.

The connection's default row factory gives dicts; a read that has a shape asks for that
shape instead, so each column must be a field of it by name: a column renamed or added in
SQL without the shape following raises here (TypeError naming the argument), at the
first read, instead of printing a JSON key that silently went missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from psycopg.rows import class_row

from ledger.core.shapes import field_names
from ledger.store.db import Conn

S = TypeVar("S")


def fetch_all(conn: Conn, shape: type[S], sql: str, params: Any = None) -> list[S]:
    """Every row of ``sql`` as a ``shape``."""
    with conn.cursor(row_factory=class_row(shape)) as cur:
        return cur.execute(sql, params).fetchall()


def fetch_one(conn: Conn, shape: type[S], sql: str, params: Any = None) -> S | None:
    """The first row of ``sql`` as a ``shape``, or None."""
    with conn.cursor(row_factory=class_row(shape)) as cur:
        return cur.execute(sql, params).fetchone()


def account_key_sql(alias: str) -> str:
    """SQL for ``ledger.core.entries.account_key`` of the account aliased ``alias``:
    BOOK:CODE:UNIT[:HOLDER[:COMPONENT]], trailing empty parts left out (so a shape gets
    its ``account`` as a column; tests/integration/test_shapes.py checks the two agree)."""
    return (f"regexp_replace(concat_ws(':', {alias}.book, {alias}.chart_code, {alias}.unit, {alias}.holder, "
            f"{alias}.component), ':+$', '')")


def shape_of(shape: type[S], row: Mapping[str, Any]) -> S:
    """A ``shape`` from a row that also carries columns the shape does not print (a flag
    a query adds to sort rows into groups): each field taken by name, a missing one
    raising KeyError, the rest left behind."""
    return shape(**{k: row[k] for k in field_names(shape)})
