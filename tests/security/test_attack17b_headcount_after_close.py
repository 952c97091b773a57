"""ATTACK17b F10 (LOW, regression): 0138 refuses a *first* insured headcount for a closed year, so a
year closed before its headcount statistics arrive (参保人数 are final after the year ends; the
close runs in early January) can never have one: ``report funding`` for that year flags
``no_headcount`` for ever. The officers' guide's own flow imported 2024's headcounts after
closing 2024 until this morning (05a881b moved the import before the close to keep the guide
running) — any deployment following the previous guide, or loading a backlog year by year, is
refused.

Safe behaviour asserted: a first headcount for a closed year (no earlier version: it changes no
figure the close used, it completes the funding report) is recorded; a correction (a second
version) stays refused as final.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_a_closed_years_first_headcount_is_taken_and_its_correction_refused(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("h-c", "2024-03-01", "230822", "1000.00"))
    r = ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev")
    assert r.exit_code == 0, r
    f = tmp_path / "insured_2024.csv"
    f.write_text("year,unit,book,insured,reason\n2024,230822,RES,600,\n", "utf-8")
    r = ledger_db.cli("insured", "import", str(f), user="rev")
    # On main: exit 1, year_closed_reference — the 2024 funding report can never have its headcount
    assert r.exit_code == 0, r
    f.write_text("year,unit,book,insured,reason\n2024,230822,RES,5,late correction\n", "utf-8")
    r = ledger_db.cli("insured", "import", str(f), user="rev")
    assert r.exit_code != 0 and "year_closed_reference" in r.stderr, r
