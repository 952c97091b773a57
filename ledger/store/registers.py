"""Memo registers (备查簿): fiscal arrears, employer arrears, unpaid provider claims and
local-government shortfall shares, tracked until the money moves. Items are created by
``handover open`` (and the year-end close); clearing one posts the real entry through
``fl.clear_register`` (sql/0004_imports.sql) — or, for unpaid provider claims (money out of
a county's expenditure account), holds it for city finance or a second reviewer (sql/0051)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.core.shapes import Fen
from ledger.store.db import Conn
from ledger.store.rows import fetch_all, fetch_one

KINDS = ("fiscal_arrears", "employer_arrears", "unpaid_claims", "government_share")


@dataclass(frozen=True, slots=True)
class RegisterItem:
    """One memo-register item (备查簿): what is owed, what has cleared, how old it is."""

    id: int
    kind: str               # one of KINDS
    unit: str
    book: str
    component: str
    amount: Fen
    cleared: Fen
    outstanding: Fen        # amount − cleared
    opened_on: dt.date
    fiscal_year: int | None
    reference: str          # the item's idempotency key
    note: str
    age_days: int           # days since opened_on, as of the day asked


def list_items(conn: Conn, *, kind: str | None = None, unit: str | None = None,
               open_only: bool = False, as_of: dt.date | None = None) -> list[RegisterItem]:
    """Register items (officers see their own unit's: row security), oldest first, with
    what is outstanding and the age in days as of ``as_of`` (default today)."""
    return fetch_all(conn, RegisterItem,
        """SELECT i.id, i.kind, i.unit, i.book, i.component, i.amount, i.cleared, i.amount - i.cleared AS outstanding,
                  i.opened_on, i.fiscal_year, i.reference, i.note,
                  (coalesce(%(as_of)s::date, current_date) - i.opened_on) AS age_days
             FROM fl.register_item i
            WHERE (%(kind)s::text IS NULL OR i.kind = %(kind)s) AND (%(unit)s::text IS NULL OR i.unit = %(unit)s)
              AND (NOT %(open)s OR i.cleared < i.amount)
            ORDER BY i.opened_on, i.id""",
        {"kind": kind, "unit": unit, "open": open_only, "as_of": as_of})


@dataclass(frozen=True, slots=True)
class Clearing:
    """What ``register clear`` did: the entry posted (or held) for the item and what is left."""

    item_id: int
    entry_id: int | None
    status: str             # posted | held | duplicate
    cleared: Fen
    outstanding: Fen
    held_id: int | None = None  # an unpaid-claims clearing awaiting its second person (0051)


def clear(conn: Conn, item: int, amount: int, on: dt.date, key: str | None = None) -> Clearing:
    """Money arrived (or was paid): post the entry for ``item`` and reduce what is owed.
    An unpaid-claims clearing is held instead (``status`` ``held``, ``held_id``): it pays money
    out of a county's bank account, so it posts and reduces the item only when city finance or
    a second reviewer confirms it (``journal.confirm``; ATTACK6 T17)."""
    # A caller's key is filed under register-clear: (the namespace of clearing entries, sql/0017).
    if key and not key.startswith(("register-clear:", "govpay:")):
        key = f"register-clear:{key}"
    row = fetch_one(conn, Clearing, "SELECT item_id, entry_id, status, cleared, outstanding, held_id "
                    "FROM fl.clear_register(%s, %s, %s, %s)", (item, amount, on, key))
    assert row is not None
    return row
