"""ATTACK12: one later, unrelated entry switches off the re-derivation of an allocation's recorded inputs.

0079 and 0084 record what an interest allocation's and an in-year adjustment-fund allocation's shares
were computed from (the weights; the units' gaps as caps), so that ``ledger.core.fund_rules`` can
judge a rule switched off for one call (ATTACK7 U1a's lever: ``CREATE OR REPLACE`` for one call and
back, the catalogue clean). The shares are judged against what was *recorded*; what was recorded is
judged against the books only "whenever no other entry of the book dated in the period (the year)
was written after" the allocation (or up to ``WRITE_SLACK`` = 5 minutes before it). Otherwise the
allocation is counted in ``unjudged`` — a number no report shows — and the verdict is whole.

Any entry does it: here an officer's Dr 1101 / Cr 2001 reclassification of 1.00 dated in the
period, which touches neither the special account nor a figure of the year-end rule, so changes
neither the weights nor a gap. For an in-year adjustment-fund allocation (dated, say, May) every
payment import of June–December is such an entry: in a real ledger its caps are never recomputed.

Lever: the superuser switches off fl.adjfund_allocate's cap checks and doubles the caps it records
(or doubles one unit's interest weight) for one call; finance's ordinary call writes it; the
restore leaves nothing. Before the reclassification the verdict names the allocation; after it,
nothing. Impact: the adjustment fund's money set aside for a unit beyond its gap (its local
government then owes less than the rule says, another unit's more), or the interest re-shared among
units, with both verdicts whole.

Fixed when the recorded inputs are recomputed as the books stood at the write, whatever was written
later (the entries written after it are known — created_at, the history's order — and their daily
movements can be taken out, as ``interest_findings`` already does for later interest), or when an
input that cannot be recomputed is itself a finding, not a silent count.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ledger.core import fund_rules
from ledger.core.interest import allocate_interest
from ledger.store import adjfund
from tests.conftest import LedgerDB
from tests.helpers import reclass
from tests.security.test_attack7_rules import funded, named, suspended, verdict
from tests.security.test_fund_rules_rederived import (
    ALLOCATE,
    CAP_CHECKS,
    INTEREST,
    Q1,
    Q2,
    SHARE_CHECK,
    _fund,
    _interest,
    _weights,
)

__all__ = ["funded"]

pytestmark = pytest.mark.db


def _unrelated_later_entry(db: LedgerDB, date: str) -> None:
    """An officer's ordinary reclassification of 1.00 (no bank account, no 3xxx–5xxx figure)."""
    rows = db.connect("o22", autocommit=True).execute(
        "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([reclass("z-later", date, "230822", "1.00")]),)).fetchall()
    assert rows and rows[0]["status"] == "posted", rows


def test_z_inflated_adjfund_caps_stay_named_after_a_later_unrelated_entry(ledger_db: LedgerDB,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))   # as the honest tests do: no write races it
    _fund(ledger_db)
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, *CAP_CHECKS[0]), suspended(admin, ALLOCATE, *CAP_CHECKS[1]), \
         suspended(admin, ALLOCATE, "'caps', (SELECT jsonb_object_agg(c.unit, c.cap ORDER BY c.unit)",
                   "'caps', (SELECT jsonb_object_agg(c.unit, c.cap * 2 ORDER BY c.unit)"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=100000,
                               on=dt.date(2023, 5, 1), key="over")
    assert {a.unit: a.amount for a in got} == {"230822": 75000, "230881": 25000}    # gaps 600 / 200
    eid = min(a.entry_id for a in got)
    named(verdict(ledger_db), "workflows", entry_id=eid, words="adjfund_cap")       # named now
    _unrelated_later_entry(ledger_db, "2023-06-01")
    found = verdict(ledger_db)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), (
        f"after one unrelated 1.00 reclassification dated in 2023, the allocation whose recorded caps are twice "
        f"the gaps (750.00 to a unit whose gap was 600.00) is named by no check: {found}")


def test_z_forged_interest_weights_stay_named_after_a_later_unrelated_entry(funded: LedgerDB,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))
    admin, fin = funded.admin(), funded.connect("fin", autocommit=True)
    _interest(fin, *Q1, "z-q1")
    weights = _weights(fin, *Q2)
    first = sorted(weights)[0]
    forged = {k: w * (2 if k == first else 1) for k, w in weights.items()}
    unit, _, comp = first.partition("/")
    with suspended(admin, INTEREST, *SHARE_CHECK), \
         suspended(admin, INTEREST, "s.weight ORDER BY s.unit, s.component)",
                   f"s.weight * CASE WHEN (s.unit, s.component) = ('{unit}', '{comp}') THEN 2 ELSE 1 END "
                   "ORDER BY s.unit, s.component)"):
        eid = _interest(fin, *Q2, "z-q2", allocate_interest(100000, forged))
    named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")      # named now
    _unrelated_later_entry(funded, "2023-06-15")
    found = verdict(funded)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), (
        f"after one unrelated 1.00 reclassification dated in the period, the interest allocation over a doubled "
        f"weight for {first} is named by no check: {found}")
