"""What the monitor's second dimension and its response plans read and write: the
balance-rate ranges and the response plans (region settings), the acknowledgements
(``fl.monitor_ack``, sql/0015_watch.sql) and each unit's month ends, to find when its
current warning started."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from ledger.store.db import Conn

if TYPE_CHECKING:
    from ledger.core.response import Ack, PlanStep


def plans(conn: Conn) -> tuple[PlanStep, ...]:
    """The response plans from the region settings (the defaults when none are stored)."""
    row = conn.execute("SELECT value FROM fl.setting WHERE key = 'response_plans'").fetchone()
    value = row["value"] if row else None
    if isinstance(value, str):
        value = json.loads(value)
    from ledger.core.response import parse_plans  # the plans' module: only for a yellow or red unit

    return parse_plans(value or [], "settings")


def acks(conn: Conn, *, as_of: dt.date, book: str | None = None, unit: str | None = None) -> list[Ack]:
    """Acknowledgements made by ``as_of`` (row security: an officer sees their unit's)."""
    rows = conn.execute(
        """SELECT a.id, a.unit, a.book, a.level, a.since, a.acknowledged_on, a.acknowledged_by, a.decision,
                  a.acknowledged_at,
                  (a.acknowledged_at AT TIME ZONE coalesce((SELECT s.value ->> 'time_zone' FROM fl.setting s
                                                           WHERE s.key = 'region'), 'Asia/Shanghai'))::date
                    AS recorded_on
             FROM fl.monitor_ack a
            WHERE a.acknowledged_on <= %(as_of)s
              AND (%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)
            ORDER BY a.id""", {"as_of": as_of, "book": book, "unit": unit}).fetchall()
    from ledger.core.response import Ack

    return [Ack(int(r["id"]), r["unit"], r["book"], r["level"], r["since"], r["acknowledged_on"],
                r["acknowledged_by"], r["decision"], r["acknowledged_at"], r["recorded_on"]) for r in rows]


def acknowledge(conn: Conn, *, unit: str, book: str, level: str, since: dt.date, on: dt.date,
                decision: str, key: str) -> tuple[int, str]:
    """Record an acknowledgement (``fl.monitor_acknowledge``, sql/0022_watch_record.sql):
    ``(id, "recorded")``, or ``(id, "duplicate")`` when ``key`` already recorded the same
    acknowledgement. The database decides who may (a red: the city bureau or finance)."""
    row = conn.execute("SELECT a.id, a.status FROM fl.monitor_acknowledge(%s, %s, %s, %s, %s, %s, %s) a",
                       (unit, book, level, since, on, decision, key)).fetchone()
    assert row is not None
    return int(row["id"]), str(row["status"])
