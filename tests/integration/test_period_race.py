"""Closing a month while an entry for it is in flight: the close waits for the entry,
and an entry started after the close is refused — never an entry committed into a
month that was closed under it."""

from __future__ import annotations

import threading
import time

import pytest
from psycopg import errors as pgerr

from tests.helpers import post, reclass

pytestmark = [pytest.mark.db, pytest.mark.server]


def test_close_waits_for_entries_in_flight_and_refuses_later_ones(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, reclass("in-flight", "2023-03-15", "230822", "10.00"))   # not committed yet
    rev = ledger_db.connect("rev", autocommit=True)
    done = threading.Event()

    def close() -> None:
        rev.execute("SELECT fl.close_period('2023-03-01')")
        done.set()

    t = threading.Thread(target=close)
    t.start()
    time.sleep(0.5)
    assert not done.is_set(), "the close must wait for the entry in flight"
    fin.commit()
    t.join(timeout=10)
    assert done.is_set()
    with pytest.raises(pgerr.CheckViolation) as ei:
        post(fin, reclass("after-close", "2023-03-16", "230822", "10.00"))
    assert ei.value.diag.constraint_name == "period_closed"
    fin.rollback()
    admin = ledger_db.admin()
    late = admin.execute("""SELECT count(*) AS n FROM fl.entry e JOIN fl.closed_period c
                             ON c.month = date_trunc('month', e.entry_date) WHERE e.created_at > c.closed_at""").fetchone()
    assert late["n"] == 0
