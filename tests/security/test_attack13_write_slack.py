"""ATTACK13 W6: a write and its reversal inside WRITE_SLACK of a forged allocation widen what it is judged
against until anything passes (Z1's fix, ``ledger.core.fund_rules``).

Z1's fix re-derives an allocation's recorded inputs "as the books stood at the write"; an entry written
within ``WRITE_SLACK`` (5 minutes) either side of the hold "may or may not have been seen", so each
weight is judged within ``_span``: the base plus every negative delta … the base plus every positive
one. Each such write widens the span by its own size, and a write and its reversal widen it both ways
while the books do not move. So, around the superuser's forged interest allocation (ATTACK7 U1a's lever,
one unit's recorded weight doubled, the share check off for one call — the Z1 reproduction), finance
imports an ordinary collections file (¥2,000,000 for that unit, dated in the period) and reverses it
(confirmed by the bureau) within the slack: the doubled weight lies inside the span, and both verdicts
are whole. The pair is an honest-looking import corrected at once; the import register, batch and
reversal are all in order.

The tests shrink WRITE_SLACK to 4 s (the honest setup written 5 s before, outside it, as 5 minutes is
in a real ledger); the control shows the same forged allocation named without the pair.

Fixed when a write within the slack can only make a weight one of the values some set of those writes
gives (their effects taken together, a write and its reversal cancelling), not the sum of every
positive and every negative delta — or when the hold records what it read (the snapshot: its xmin /
the last entry id it saw), so nothing is "may or may not".
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from ledger.core import fund_rules
from ledger.core.interest import allocate_interest
from ledger.store import imports
from tests.conftest import LedgerDB
from tests.helpers import confirmed
from tests.security.test_attack7_rules import funded, named, suspended, verdict
from tests.security.test_fund_rules_rederived import INTEREST, Q1, Q2, SHARE_CHECK, _interest, _weights

__all__ = ["funded"]

pytestmark = pytest.mark.db
SLACK = dt.timedelta(seconds=4)


def _forged(db: LedgerDB, tmp_path: Path, widen: bool) -> int:
    admin, fin = db.admin(), db.connect("fin", autocommit=True)
    _interest(fin, *Q1, "w6-q1")
    time.sleep(SLACK.total_seconds() + 1)           # the honest past: outside the slack
    weights = _weights(fin, *Q2)
    first = sorted(weights)[0]
    unit, _, comp = first.partition("/")
    if widen:                                       # an ordinary import, reversed at once
        f = tmp_path / "collections.csv"
        f.write_text(f"date,unit,book,source,amount,reference,component\n2023-04-01,{unit},RES,contribution,"
                     f"2000000.00,W6-C-001,{comp}\n", encoding="utf-8")
        c = db.connect("fin")
        assert imports.import_file(c, "collections", f).rows_posted == 1
        c.commit()
        eid = int(admin.execute("SELECT max(id) AS m FROM fl.entry WHERE kind = 'collections'").fetchone()["m"])
        rv = confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'wrong unit', DATE '2023-04-01', 'w6-undo')", (eid,),
                       checker="rev")
        assert rv["status"] == "posted", rv
    forged = {k: w * (2 if k == first else 1) for k, w in weights.items()}
    with suspended(admin, INTEREST, *SHARE_CHECK), \
         suspended(admin, INTEREST, "s.weight ORDER BY s.unit, s.component)",
                   f"s.weight * CASE WHEN (s.unit, s.component) = ('{unit}', '{comp}') THEN 2 ELSE 1 END "
                   "ORDER BY s.unit, s.component)"):
        return _interest(fin, *Q2, "w6-q2", allocate_interest(100000, forged))


def test_w6_control_the_forged_weight_is_named_with_the_slack_shrunk(funded: LedgerDB, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", SLACK)
    eid = _forged(funded, tmp_path, widen=False)
    named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")


def test_w6_a_write_and_its_reversal_within_the_slack_do_not_hide_a_forged_weight(
        funded: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", SLACK)
    eid = _forged(funded, tmp_path, widen=True)
    found = verdict(funded)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), (
        f"the interest allocation over a doubled weight is named by no check once a ¥2,000,000 import and its "
        f"reversal were written within the slack of its hold: {found}")
