"""ATTACK17 E8: an acknowledgement recorded long after a red warning's deadline is shown as made on
time — ``late`` and the past monitor are decided by the date the acknowledger types.

The response plan (风险处置预案) gives a red warning 7 days (Jiamusi's first red step) to be
acknowledged; the monitor names a red past that date with no acknowledgement (``overdue``,
``red_unacknowledged``) and flags an acknowledgement made after it (``late``). Both are judged by
``acknowledged_on`` — the ``--on`` the acknowledger gives, bounded only by "not before the
warning's start, not after today" — never by when the database recorded it (``recorded_at``). A
reviewer who acknowledges today a red that started on 2023-03-31 with ``--on 2023-03-31`` gets
``late: false``; the monitor as of 2023-04-30, which said ``overdue`` before, now says the warning
was answered on its first day. (docs/reports.md asks the auditor to compare ``recorded_at`` with
``acknowledged_on`` by hand; the monitor's own flags do not.)

Safe behaviour asserted: an acknowledgement recorded after the first step's due date is ``late``
whatever day it names (or the acknowledgement day is refused when it is more than the plan's
first step before the day it is recorded).
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U = "230881"


def _response(ledger_db: LedgerDB, as_of: str) -> dict:
    r = ledger_db.cli("monitor", "--as-of", as_of, "--unit", U, "--book", "RES", "--json", user="aud")
    assert r.exit_code in (0, 3), r
    row = next(x for x in r.json()["rows"] if x["unit"] == U and x["book"] == "RES")
    assert row["level"] == "red", row
    return row["response"]


def test_e8_an_acknowledgement_recorded_after_the_deadline_is_late_whatever_day_it_names(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c81", "2023-03-01", U, "1000000.00"), pay_from_special("p81a", "2023-03-15", U, "300000.00"),
         pay_from_special("p81b", "2023-04-15", U, "300000.00"))
    before = _response(ledger_db, "2023-04-30")
    assert before["since"] == "2023-03-31" and before["overdue"] is True and before["acknowledgement"] is None, before

    r = ledger_db.cli("monitor", "ack", U, "--level", "red", "--on", "2023-03-31", "--decision", "已处置",
                      "--json", user="rev")             # recorded today (2026), dated the warning's first day
    assert r.exit_code == 0, r

    after = _response(ledger_db, "2023-04-30")
    ack = after["acknowledgement"]
    assert ack is not None, after
    # On main: late False, overdue False — the deadline (2023-04-07) looks met by an acknowledgement
    # recorded years after it
    assert ack["late"] is True, (ack, after["steps"][0])
