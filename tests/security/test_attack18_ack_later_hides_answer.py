"""ATTACK18 G2 (LOW): a second acknowledgement recorded later hides the one that answered the red on
time — the monitor of a past day says ``overdue: true`` for a warning that was answered.

``ledger.core.response.response`` picks ONE acknowledgement — the latest by the day its maker
names (``acknowledged_on``) — and then judges ``answered`` by that one's ``answered_on`` (the later
of the named day and the recorded day; ATTACK17 E8 / 17b F2). An on-time acknowledgement A
(named and recorded 2023-04-05, before the first red step's due date 2023-04-07) followed by any
acknowledgement B recorded later but naming a later day (2023-04-06: a follow-up decision, typed
today) makes the monitor as of 2023-04-30 pick B, find it recorded after 2023-04-30, and report
the red unanswered and overdue (and the red_unacknowledged warning), though A answered it on time.
A reviewer thus rewrites a past day's monitor — the very thing F2 set out to stop — in the other
direction, and honest follow-ups do it by accident.

(A's recorded time is set to 2023-04-05 by the superuser in the test: the test cannot wait three
years; it stands for an acknowledgement made on that day.)

Safe behaviour asserted: as of 2023-04-30 the red is answered (overdue false), as before B.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U = "230881"


def _row(ledger_db: LedgerDB, as_of: str) -> dict:
    r = ledger_db.cli("monitor", "--as-of", as_of, "--unit", U, "--book", "RES", "--json", user="aud")
    assert r.exit_code in (0, 3), r
    row = next(x for x in r.json()["rows"] if x["unit"] == U and x["book"] == "RES")
    assert row["level"] == "red", row
    return row


def test_g2_a_later_recorded_followup_does_not_unanswer_an_on_time_acknowledgement(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c81", "2023-03-01", U, "1000000.00"), pay_from_special("p81a", "2023-03-15", U, "300000.00"),
         pay_from_special("p81b", "2023-04-15", U, "300000.00"))
    assert _row(ledger_db, "2023-04-30")["response"]["overdue"] is True

    r = ledger_db.cli("monitor", "ack", U, "--level", "red", "--on", "2023-04-05", "--decision", "已处置",
                      "--json", user="rev")
    assert r.exit_code == 0, r
    adm = ledger_db.admin()                     # A was recorded on 2023-04-05 (stands for the passage of time)
    adm.execute("SET session_replication_role = replica")
    adm.execute("UPDATE fl.monitor_ack SET acknowledged_at = '2023-04-05 10:00+08' WHERE acknowledged_on = '2023-04-05'")
    adm.execute("RESET session_replication_role")
    answered = _row(ledger_db, "2023-04-30")
    assert answered["response"]["overdue"] is False, answered["response"]    # A answered it on time

    r = ledger_db.cli("monitor", "ack", U, "--level", "red", "--on", "2023-04-06", "--decision", "追加处置",
                      "--json", user="rev2")    # B: a follow-up, recorded today, naming 2023-04-06
    assert r.exit_code == 0, r
    after = _row(ledger_db, "2023-04-30")
    # On main: overdue True — B (recorded in 2026) is picked as "the" acknowledgement and A is forgotten
    assert after["response"]["overdue"] is False, after["response"]
    assert after.get("warnings") == answered.get("warnings"), (answered.get("warnings"), after.get("warnings"))
