"""The provincial adjustment fund (调剂金): remittances and allocations, through the SQL that
computes them from the region setting (sql/0025b_adjfund.sql). The caller owns the
transaction; the database decides who may (city finance makes both; a remittance is held
until the city bureau or another finance user confirms it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.store.db import Conn

REMIT_KEYS = ["unit", "amount", "held_id", "status"]
ALLOCATE_KEYS = ["unit", "amount", "entry_id", "status", "settles"]


def remit(conn: Conn, *, year: int, book: str, on: dt.date) -> list[dict[str, Any]]:
    """上解: each unit's remittance for ``year``, held for a second person."""
    return conn.execute("SELECT * FROM fl.adjfund_remit(%s, %s, %s)", (year, book, on)).fetchall()


def allocate(conn: Conn, *, year: int, book: str, amount: int, on: dt.date, key: str) -> list[dict[str, Any]]:
    """调剂金下拨: ``amount`` fen for ``year`` shared by the rule; ``settles`` says what each
    share settles (the year itself, or its government-share register item when it arrived
    after the close)."""
    return conn.execute("SELECT * FROM fl.adjfund_allocate(%s, %s, %s, %s, %s)",
                        (year, book, amount, on, key)).fetchall()
