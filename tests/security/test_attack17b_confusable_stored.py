"""ATTACK17b F4 (LOW): 0134 refuses a *new* reference holding a radical drawn like a common
character (囗 like 口), but "a stored reference stays" and a new reference is never compared with the
stored ones read alike — so on a ledger upgraded from the previous release, the order reversed
still pays a claim twice: 囗腔-1 paid before the upgrade (nothing refused it then), 口腔-1 after.

The stored row is made here as the previous release made it: the raw import with 0134's trigger
switched off for that one call (its reader and trigger did not exist). Then 0134's own path, the
officer's ``pay import`` of 口腔-1, is taken: the claim is paid a second time.

Safe behaviour asserted: a new reference that reads as a stored one (the stored one's radicals
replaced by what they are drawn like) is refused as that reference — reference_confusable naming
the stored look-alike — and nothing is paid again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack15b_simplified_references import _claim, _fund, _paid

pytestmark = pytest.mark.db


def test_a_claim_paid_under_the_radical_before_the_upgrade_is_not_paid_again(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    _fund(ledger_db)
    a = ledger_db.admin()
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_hanzi")
    try:
        c = ledger_db.connect("o81")
        c.execute("SELECT fl.import_stage('payments')")
        c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, "
                  "reference, component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', '某某医院', "
                  "'inpatient', '800.00', '\u56d7腔-1', '', 'county')")
        c.execute("SELECT fl.import_payments('before-0134.csv', NULL)")
        c.commit()
    finally:
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_hanzi")
    assert _paid(ledger_db) == ["\u56d7腔-1"]

    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", "口腔-1"), user="o81")
    # On main: exit 0, "口腔-1" paid — 800.00 paid twice for one claim read alike in every report
    assert r.exit_code != 0 and "reference_confusable" in (r.stdout + r.stderr), r
    assert _paid(ledger_db) == ["\u56d7腔-1"]
