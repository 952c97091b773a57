"""ATTACK18 G3 (LOW): ATTACK17b F4's fix (0141) compares a new reference with the stored look-alikes
only inside its own namespace — but a claim is paid once across the two sides of a county's
payments register: the county officer's ``payments:<unit>`` and the city bureau's
``payments:<unit>:bureau`` (0043, ATTACK5 S7: "an officer's row whose reference the bureau already
imported is that row"). That cross-side lookup in ``fl.import_payments`` compares
``l.reference = w.reference`` exactly, and 0141's ``fl.reference_lookalike_guard`` looks only at
``l.namespace = NEW.namespace``.

So on a ledger upgraded from the release before 0134: the bureau paid claim 囗腔-1 from the
county's account (held, confirmed by city finance; nothing refused the radical then); after the
upgrade the county's officer imports 口腔-1 — the same claim, read alike in every report — and it
is paid a second time. (The stored row is made as the previous release made it: 0134's trigger
switched off for that one call, as test_attack17b_confusable_stored.py does.)

Safe behaviour asserted: the officer's 口腔-1 is refused (reference_confusable naming the bureau's
stored 囗腔-1) and nothing is paid again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirm
from tests.security.test_attack15b_simplified_references import _claim, _fund, _paid

pytestmark = pytest.mark.db


def test_g3_a_claim_the_bureau_paid_under_the_radical_is_not_paid_again_by_the_county(ledger_db: LedgerDB,
                                                                                      tmp_path: Path) -> None:
    _fund(ledger_db)
    a = ledger_db.admin()
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_hanzi")
    try:
        c = ledger_db.connect("rev")
        c.execute("SELECT fl.import_stage('payments')")
        c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, "
                  "reference, component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', '某某医院', "
                  "'inpatient', '800.00', '\u56d7腔-1', '', 'county')")
        c.execute("SELECT fl.import_payments('before-0134.csv', NULL)")
        c.commit()
    finally:
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_hanzi")
    held = [r["id"] for r in a.execute("SELECT id FROM fl.pending_entry WHERE decided_at IS NULL").fetchall()]
    confirm(ledger_db.connect("rev"), held, "fin")
    assert _paid(ledger_db) == ["\u56d7腔-1"]

    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", "口腔-1"), user="o81")
    # On main: exit 0, 口腔-1 posted — 800.00 paid twice for one claim read alike in every report
    # Since 0146 the county's file reads the bureau's paid 囗腔-1 as the same claim: skipped as already
    # paid (same content), or refused — never posted a second time.
    out = r.stdout + r.stderr
    assert "Traceback" not in out, r
    assert ((r.exit_code != 0 and "reference_confusable" in out)
            or (r.exit_code == 0 and "already imported" in out and "nothing was recorded" in out)), r
    assert _paid(ledger_db) == ["\u56d7腔-1"]
