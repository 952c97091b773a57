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
    """One memo-register item (备查簿) as of a day: what is owed, what had cleared by then, how old it was."""

    id: int
    kind: str               # one of KINDS
    unit: str
    book: str
    component: str
    amount: Fen
    cleared: Fen            # the clearings dated by the day, less the un-clearings (0081) dated by it
    outstanding: Fen        # amount − cleared, at the day
    opened_on: dt.date      # on or before the day (an item opened later is not listed)
    fiscal_year: int | None
    reference: str          # the item's idempotency key
    note: str
    age_days: int           # days from opened_on to the day: never negative


# How the two listings order the items: ``register list`` oldest first, ``report registers`` by
# kind and unit (its pages, --limit/--offset, follow that order).
ORDERS = {"opened": "i.opened_on, i.id", "kind": "i.kind, i.unit, i.opened_on, i.id"}


def items_at(conn: Conn, *, as_of: dt.date, kind: str | None = None, book: str | None = None,
             unit: str | None = None, open_only: bool = False, order: str = "opened",
             limit: int | None = None, offset: int = 0) -> list[RegisterItem]:
    """The memo registers as of the end of ``as_of`` — the one reader of ``register list`` and
    ``report registers`` (ATTACK20 L5): the items opened by then (officers see their own unit's:
    row security), each with ``cleared`` summed from its clearing rows dated by then (a reversed
    clearing's negative row, 0081, from the reversal's date on), as ``fl.government_shares`` — the
    monitor's and the shortfall rule's reader of the government's shares — sums them; what was
    ``outstanding`` then, and the age in days at ``as_of``. ``open_only``: only items with something
    outstanding at ``as_of``."""
    return fetch_all(conn, RegisterItem,
        f"""SELECT i.id, i.kind, i.unit, i.book, i.component, i.amount, c.cleared, i.amount - c.cleared AS outstanding,
                  i.opened_on, i.fiscal_year, i.reference, i.note, (%(as_of)s::date - i.opened_on) AS age_days
             FROM fl.register_item i
             CROSS JOIN LATERAL (SELECT coalesce(sum(x.amount), 0)::bigint AS cleared FROM fl.register_clearing x
                                  WHERE x.item_id = i.id AND x.cleared_on <= %(as_of)s) c
            WHERE i.opened_on <= %(as_of)s
              AND (%(kind)s::text IS NULL OR i.kind = %(kind)s) AND (%(book)s::text IS NULL OR i.book = %(book)s)
              AND (%(unit)s::text IS NULL OR i.unit = %(unit)s)
              AND (NOT %(open)s OR c.cleared < i.amount)
            ORDER BY {ORDERS[order]} LIMIT %(limit)s OFFSET %(offset)s""",
        {"as_of": as_of, "kind": kind, "book": book, "unit": unit, "open": open_only, "limit": limit,
         "offset": offset})


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
