"""The provincial adjustment fund (调剂金): remittances and allocations, through the SQL that
computes them from the region setting (sql/0025b_adjfund.sql). The caller owns the
transaction; the database decides who may (city finance makes both; a remittance is held
until the city bureau or another finance user confirms it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.core.shapes import Fen
from ledger.store.db import Conn
from ledger.store.rows import fetch_all


@dataclass(frozen=True, slots=True)
class Remittance:
    """One unit's remittance (上解) to the adjustment fund: ``adjfund remit --json``."""

    unit: str
    amount: Fen
    held_id: int | None         # the held entry waiting for a second person
    status: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """One unit's share of an allocation (调剂金下拨): ``adjfund allocate --json``."""

    unit: str
    amount: Fen
    entry_id: int | None
    status: str
    settles: str                # the year itself, or its government-share register item


def remit(conn: Conn, *, year: int, book: str, on: dt.date) -> list[Remittance]:
    """上解: each unit's remittance for ``year``, held for a second person."""
    return fetch_all(conn, Remittance, "SELECT * FROM fl.adjfund_remit(%s, %s, %s)", (year, book, on))


def allocate(conn: Conn, *, year: int, book: str, amount: int, on: dt.date, key: str) -> list[Allocation]:
    """调剂金下拨: ``amount`` fen for ``year`` shared by the rule; ``settles`` says what each
    share settles (the year itself, or its government-share register item when it arrived
    after the close)."""
    return fetch_all(conn, Allocation, "SELECT * FROM fl.adjfund_allocate(%s, %s, %s, %s, %s)",
                     (year, book, amount, on, key))
