"""ATTACK17b F8 (MED): 0138's verdict half judges a closed year's reference row by the time the
row itself carries (``imported_at`` / ``recorded_at``), a column its writer chooses — so the DBA's
row slipped in with the guard off is named only when the DBA forgets to back-date it.

The sweep's own test (test_closed_year_reference_sweep.py) switches the guard off for one
statement and inserts a 2023 annual plan after 2023's close: verify names it. The same insert with
``imported_at = '2023-06-01'`` (before the close, as any INSERT may set it) is named by nothing:
``ledger.core.rules._closed_year_references`` skips a row whose own timestamp is not after the
close, and the first pass does the same. The chained history recorded the version when it was
really written (after the close), but the check does not read that.

Safe behaviour asserted: the verdict (first pass and independent) names the closed year's plan
written after the close whatever time the row claims — judged by when the history recorded it
(its chain position after the close's), as 0131 judges entries by the chain and not by their
timestamps.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db


def _close_2023(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("e6s-c", "2023-03-01", "230822", "1000.00"))
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r


def _slip_in(ledger_db: LedgerDB, imported_at: str | None) -> None:
    c = ledger_db.admin()
    c.execute("ALTER TABLE fl.budget_plan DISABLE TRIGGER budget_plan_closed_year")
    cols, vals = "year, unit, book, version, granularity, content_hash", "2023, '230822', 'RES', 1, 'quarter', '\\x00'"
    if imported_at is not None:
        cols, vals = cols + ", imported_at", vals + f", '{imported_at}'"
    c.execute(f"INSERT INTO fl.budget_plan ({cols}) VALUES ({vals})")
    c.execute("ALTER TABLE fl.budget_plan ENABLE TRIGGER budget_plan_closed_year")


def test_baseline_the_plan_with_its_true_time_is_named(ledger_db: LedgerDB) -> None:
    _close_2023(ledger_db)
    _slip_in(ledger_db, None)
    assert "(year_closed_reference)" in str(verdict(ledger_db).get("workflows", []))


def test_a_backdated_plan_is_named_by_both_verdicts(ledger_db: LedgerDB) -> None:
    _close_2023(ledger_db)
    _slip_in(ledger_db, "2023-06-01T00:00:00+00:00")
    v = ledger_db.cli("verify", "--json", user="aud")
    # On main: exit 0, nothing named — the closed year's plan changed after its close
    assert v.exit_code != 0 and "year_closed_reference" in v.stdout, v.stdout[-2000:]
    assert "(year_closed_reference)" in str(verdict(ledger_db).get("workflows", []))
