"""ATTACK17b F2 (LOW/MED): E8's fix judged ``late`` by the later of the typed day and the recorded
day, but the monitor *as of a past day* still counts an acknowledgement recorded years later as
having answered the warning then: ``overdue`` (and the red_unacknowledged warning it drives) turn
from true to false for a past date, so a past monitor report changes after the fact.

Setup (as E8's test): 230881 red since 2023-03-31, the plan's first red step due 2023-04-07; the
monitor as of 2023-04-30 says overdue: true. Today (2026) a reviewer acknowledges with
``--on 2023-03-31``. The monitor as of 2023-04-30 now says overdue: false and shows the
acknowledgement (late: true) — an acknowledgement that did not exist on 2023-04-30 answers the
warning on that day. ``ledger.store.watch.acks`` selects by ``acknowledged_on <= as_of`` and
``ledger.core.response.response`` by the typed day; neither by the recorded day.

Safe behaviour asserted: as of a day before the acknowledgement was recorded (its ``answered_on``),
the warning is unanswered: overdue stays true (the monitor of a past day reads what was recorded by
that day, as it does for entries).
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


def test_a_later_recorded_acknowledgement_does_not_answer_a_past_days_warning(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c81", "2023-03-01", U, "1000000.00"), pay_from_special("p81a", "2023-03-15", U, "300000.00"),
         pay_from_special("p81b", "2023-04-15", U, "300000.00"))
    before = _row(ledger_db, "2023-04-30")
    assert before["response"]["overdue"] is True, before

    r = ledger_db.cli("monitor", "ack", U, "--level", "red", "--on", "2023-03-31", "--decision", "已处置",
                      "--json", user="rev")             # recorded today, dated the warning's first day
    assert r.exit_code == 0, r

    after = _row(ledger_db, "2023-04-30")
    # On main: overdue False — the past day's monitor rewritten by an acknowledgement recorded in 2026
    assert after["response"]["overdue"] is True, after["response"]
    assert after.get("warnings") == before.get("warnings"), (before.get("warnings"), after.get("warnings"))
