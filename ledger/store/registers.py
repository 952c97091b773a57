"""Memo registers (备查簿): fiscal arrears, employer arrears, unpaid provider claims and
local-government shortfall shares, tracked until the money moves. Items are created by
``handover open`` (and the year-end close); clearing one posts the real entry through
``fl.clear_register`` (sql/0004_imports.sql)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.store.db import Conn

KINDS = ("fiscal_arrears", "employer_arrears", "unpaid_claims", "government_share")

ITEM_KEYS = ["id", "kind", "unit", "book", "component", "amount", "cleared", "outstanding", "opened_on",
             "fiscal_year", "reference", "note", "age_days"]
ITEM_MONEY = ["amount", "cleared", "outstanding"]


def list_items(conn: Conn, *, kind: str | None = None, unit: str | None = None,
               open_only: bool = False, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """Register items (officers see their own unit's: row security), oldest first, with
    what is outstanding and the age in days as of ``as_of`` (default today)."""
    return conn.execute(
        """SELECT i.id, i.kind, i.unit, i.book, i.component, i.amount, i.cleared, i.amount - i.cleared AS outstanding,
                  i.opened_on, i.fiscal_year, i.reference, i.note,
                  (coalesce(%(as_of)s::date, current_date) - i.opened_on) AS age_days
             FROM fl.register_item i
            WHERE (%(kind)s::text IS NULL OR i.kind = %(kind)s) AND (%(unit)s::text IS NULL OR i.unit = %(unit)s)
              AND (NOT %(open)s OR i.cleared < i.amount)
            ORDER BY i.opened_on, i.id""",
        {"kind": kind, "unit": unit, "open": open_only, "as_of": as_of}).fetchall()


def clear(conn: Conn, item: int, amount: int, on: dt.date, key: str | None = None) -> dict[str, Any]:
    """Money arrived (or was paid): post the entry for ``item`` and reduce what is owed.
    Returns item_id, entry_id, status ('posted' | 'duplicate'), cleared, outstanding."""
    # A caller's key is filed under register-clear: (the namespace of clearing entries, sql/0017).
    if key and not key.startswith(("register-clear:", "govpay:")):
        key = f"register-clear:{key}"
    row = conn.execute("SELECT * FROM fl.clear_register(%s, %s, %s, %s)", (item, amount, on, key)).fetchone()
    assert row is not None
    return dict(row)
