"""ATTACK13 W6's class: a write within ``WRITE_SLACK`` of an allocation was either seen by it or
not, as a whole — the recorded inputs are judged against the books some set of those writes gives,
never against every positive and every negative effect at once.

The red team's test (``test_attack13_write_slack.py``) forges an interest weight beside an import and
its reversal. Its variants here: the adjustment fund's caps (0084) forged beside two spends and their
reversals, each of which alone would widen the old interval over the forged caps; and more writes
within the slack than are judged set by set (``NEARBY_MAX``), which is itself the finding, naming the
allocation. The honest side (an honest allocation with writes around it) is
``test_recorded_inputs_rederived.py``'s.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from ledger.core import fund_rules
from ledger.store import adjfund
from tests.conftest import LedgerDB
from tests.helpers import collect, confirmed, entry, leg, post
from tests.security.test_attack7_rules import funded, named, suspended, verdict
from tests.security.test_fund_rules_rederived import ALLOCATE, CAP_CHECKS, Q1, Q2, _fund, _interest

__all__ = ["funded"]

pytestmark = pytest.mark.db
SLACK = dt.timedelta(seconds=4)


def _spent_and_reversed(db: LedgerDB, unit: str, yuan: str) -> None:
    """``unit`` spends ``yuan`` from the special account, and finance reverses it at once (confirmed)."""
    fin = db.connect("fin", autocommit=True)
    row = post(fin, entry(f"w6v-{unit}", "2023-06-01", "RES", leg("5001.inpatient", unit, "D", yuan),
                          leg("1003", unit, "C", yuan, "special")))[0]
    assert row["status"] == "posted", row
    rv = confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'wrong unit', DATE '2023-06-01', %s)",
                   (row["entry_id"], f"w6v-undo-{unit}"), checker="rev")
    assert rv["status"] == "posted", rv


def test_caps_forged_beside_spends_and_their_reversals_within_the_slack_are_named(
        ledger_db: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gaps 600 / 200, caps recorded doubled (1,200 / 400); within the slack, 1,200 spent by 230822 and
    400 by 230881, each reversed: the old interval (0 … 1,800 and 0 … 600) held the forged caps; no set
    of those four writes gives them (each spend alone: 1,800 / 600). The weights are doubled with them
    (the shares unchanged), so that the recorded weights are the recorded gaps and only the caps tell."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", SLACK)
    _fund(ledger_db)
    time.sleep(SLACK.total_seconds() + 1)           # the honest past: outside the slack
    _spent_and_reversed(ledger_db, "230822", "1200.00")
    _spent_and_reversed(ledger_db, "230881", "400.00")
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, *CAP_CHECKS[0]), suspended(admin, ALLOCATE, *CAP_CHECKS[1]), \
         suspended(admin, ALLOCATE, "'caps', (SELECT jsonb_object_agg(c.unit, c.cap ORDER BY c.unit)",
                   "'caps', (SELECT jsonb_object_agg(c.unit, c.cap * 2 ORDER BY c.unit)"), \
         suspended(admin, "fl._adjfund_weights(text[],bigint[])", "ELSE x.c END", "ELSE x.c * 2 END"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=100000,
                               on=dt.date(2023, 5, 1), key="w6v-over")
    f = named(verdict(ledger_db), "workflows", entry_id=min(a.entry_id for a in got), words="adjfund_cap")
    assert "nor with any set of the 4 entries written within" in str(f["message"]), f["message"]


def test_more_writes_within_the_slack_than_are_judged_set_by_set_are_the_finding(
        funded: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """An honest interest allocation, then NEARBY_MAX + 1 collections dated in its period within the
    slack: which of them its hold saw cannot be told, and the finding names the allocation (not a
    wider interval, not silence)."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", SLACK)
    fin = funded.connect("fin", autocommit=True)
    _interest(fin, *Q1, "w6v-q1")
    time.sleep(SLACK.total_seconds() + 1)
    eid = _interest(fin, *Q2, "w6v-q2")
    unit = "230822"
    for n in range(fund_rules.NEARBY_MAX + 1):
        post(fin, collect(f"w6v-c{n}", "2023-05-01", unit, f"{n + 1}.00"))
    named(verdict(funded), "workflows", entry_id=eid, words="cannot be told")
