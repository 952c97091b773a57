"""ATTACK12: a pre-allocation's recorded basis is never re-derived — forge it for one call and the cap holds.

Z1's class, without even a later write. ``fl.preallocate`` (0046) records in the held entry's source
the basis its cap was computed from (``fl._prealloc_basis``: the budget in force, last year's
expenditure, what the county's expenditure account held). ``ledger.core.rules`` (``_preallocation``)
judges the moved amount against twelve months of *that recorded* basis — "the recorded basis is used,
not recomputed" (auditor's guide) — and never asks whether the budget, last year's expenditure or the
balance were what the books said at the hold.

Lever (ATTACK7 U1a's: ``CREATE OR REPLACE`` for one call, restored byte for byte, the catalogue clean):
the superuser makes ``fl._prealloc_basis`` record ten times the budget and switches the cap check of
``fl.preallocate`` off; the bureau pre-allocates ¥5,000,000 to 230822 (budget ¥3,200,000: at most
¥3,200,000.04), city finance confirms it as an ordinary pre-allocation. The existing test
``test_rules_rederived.py::test_a_preallocation_beyond_its_cap`` names the same write when only the cap
check is off; with the recorded basis forged too, both verdicts are whole.

Fixed when the recorded basis is itself judged against the books as they stood at the hold (the budget
version in force then is in the budget's history, last year's expenditure is closed figures, the county
account's balance at the hold is the daily movements less the entries written after it) — or a basis that
cannot be re-derived is a finding.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack7_rules import funded, suspended, verdict
from tests.security.test_rules_rederived import _budget, _prealloc

__all__ = ["funded"]

pytestmark = pytest.mark.db


def test_z_a_preallocation_over_a_forged_recorded_basis_is_named(funded: LedgerDB) -> None:
    admin = funded.admin()
    _budget(funded)        # ¥3,200,000 of expenditure for 230822: ¥266,666.67 a month, ¥3,200,000 at most
    post(funded.connect("fin", autocommit=True), collect("z-more", "2023-01-20", "230822", "5000000.00"))
    assert verdict(funded) == {}
    with suspended(admin, "fl.preallocate(integer,date,jsonb)", "AND l.amount > greatest(12 * c.basis - c.held, 0)",
                   "AND false"), \
         suspended(admin, "fl._prealloc_basis(integer,text,text,text)", "'budget_expenditure', (SELECT sum(b.amount)",
                   "'budget_expenditure', (SELECT 10 * sum(b.amount)"):
        eid = _prealloc(funded, 2023, "2023-01-31", "230822", 500000000)
    found = verdict(funded)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), (
        f"pre-allocation {eid} of ¥5,000,000 to 230822 against a budget of ¥3,200,000 (its recorded basis forged to "
        f"¥32,000,000 for the one call) is named by no check: {found}")
