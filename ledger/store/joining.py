"""A unit's joining date (加入统筹日期) registered after the fact (sql/0167_joined_later.sql).

0154 registered one joining date per unit (fl.unit_joined), never changed; only one the region file
named (source ``region``) is the unit's months-payable basis (0157). A unit whose date was defaulted
or derived (every unit of the default region file, every unit of an upgraded ledger) has its real date
registered here, by the city bureau (the reviewer role), with the reason and the document's reference,
under an idempotency key: ``fl.register_unit_joined`` writes one row of fl.unit_joined_later
(append-only, chained), and the unit's latest such row is its date in force (fl.unit_joining) — for
postings (nothing dated before it), pre-allocation and months payable computed from then on. The
database refuses a date after the unit's first posting or before the first year, for every writer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.store.db import Conn
from ledger.store.rows import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Registered:
    """What ``unit register-joined`` did: ``status`` registered | duplicate (the key's earlier row)."""

    id: int
    status: str
    unit: str
    joined_on: dt.date
    was_on: dt.date | None          # the date in force before it (None: the unit had none)
    was_source: str | None          # how that one was set: region | first_year | upgrade | later
    first_posting: dt.date | None   # the unit's earliest posting day then (None: none yet)


@dataclass(frozen=True, slots=True)
class JoiningRegistration:
    """One row of fl.unit_joined_later: ``unit joined-history --json``."""

    id: int
    unit: str
    joined_on: dt.date
    reason: str
    document: str
    idempotency_key: str
    was_on: dt.date | None
    was_source: str | None
    first_posting: dt.date | None
    registered_by: str
    registered_at: dt.datetime
    in_force: bool                  # the unit's latest: its date in force now


def register(conn: Conn, *, unit: str, joined_on: dt.date, reason: str, document: str, key: str) -> Registered:
    """Register ``unit``'s joining date (``fl.register_unit_joined``): the caller's transaction."""
    row = fetch_one(conn, Registered, "SELECT r.* FROM fl.register_unit_joined(%s, %s, %s, %s, %s) r",
                    (unit, joined_on, reason, document, key))
    assert row is not None
    return row


def history(conn: Conn, *, unit: str | None = None) -> list[JoiningRegistration]:
    """Every later registration, in the order made (the chain's), the latest of each unit marked."""
    return fetch_all(
        conn, JoiningRegistration,
        """SELECT l.id, l.unit, l.joined_on, l.reason, l.document, l.idempotency_key, l.was_on, l.was_source,
                  l.first_posting, l.registered_by, l.registered_at,
                  l.id = max(l.id) OVER (PARTITION BY l.unit) AS in_force
             FROM fl.unit_joined_later l
            WHERE %(unit)s::text IS NULL OR l.unit = %(unit)s
            ORDER BY l.id""", {"unit": unit})


def latest(conn: Conn, unit: str) -> JoiningRegistration | None:
    """``unit``'s latest later registration (its date in force), or None: the unit has none."""
    rows = history(conn, unit=unit)
    return rows[-1] if rows else None


def default_key(unit: str, joined_on: dt.date, document: str, in_force: JoiningRegistration | None) -> str:
    """(ATTACK20b M4) The CLI's key when none is given. A plain re-run — the registration in force already is
    this unit, date and document — is that registration's key (a duplicate, nothing written). Otherwise the
    key names the registration this one supersedes (0: none), so registering a date again after another one
    replaced it is a new row, in force, never a 'duplicate' answering with the superseded date."""
    import hashlib

    if in_force is not None and in_force.joined_on == joined_on and in_force.document == document.strip():
        return in_force.idempotency_key
    doc = hashlib.sha256(document.strip().encode()).hexdigest()[:16]
    return f"joined:{unit}:{joined_on}:{doc}:after:{in_force.id if in_force is not None else 0}"
