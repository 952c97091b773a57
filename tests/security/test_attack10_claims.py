"""ATTACK10 X3: claims_once, 0070's independent twin, names a county-paid claim paid again by the
bureau only when the bureau's row has the *same* content.

0070 (ATTACK9 W5) refuses, in fl.import_payments, the city bureau's row paid from the county's
expenditure account for a claim the county's officer already paid from that account with other
content: "a claim is paid once from a county's account". Its comment says ledger.core.rules'
claims_once "names a claim paid twice either way", but ``Rules._paid_twice`` names a bureau line
after the county's only when ``bh == ch`` (same content hash). A superuser switches 0070's block
off for the bureau's one import call (CREATE OR REPLACE, the exact definition back: the catalogue
is clean); city finance confirms the held entry in good faith. Claim X3-A is paid twice out of
230881's expenditure account (¥800 by the county, ¥780 by the bureau) and both verdicts are whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import suspended, verdict
from tests.security.test_attack9_claims import PAY, _paid

pytestmark = pytest.mark.db

BLOCK_0070 = "  IF u.role <> 'officer'\n     AND EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit"


def test_x3_a_county_paid_claim_paid_again_by_the_bureau_with_other_content_is_named(ledger_db: LedgerDB,
                                                                                       tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("x3-col", "2024-03-01", "230881", "1000000.00"),
         entry("x3-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    own = tmp_path / "own.csv"
    own.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,X3-A,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(own), user="o81").exit_code == 0
    assert verdict(ledger_db) == {}
    bureau = tmp_path / "bureau.csv"
    bureau.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,780.00,X3-A,,county\n", "utf-8")
    with suspended(ledger_db.admin(), "fl.import_payments(text,text)", BLOCK_0070,
                   BLOCK_0070.replace("IF u.role", "IF false AND u.role")):
        held = ledger_db.cli("pay", "import", str(bureau), "--json", user="rev")
    assert held.exit_code == 0 and len(held.json()["held"]) == 1, held
    assert ledger_db.cli("entry", "confirm", str(held.json()["held"][0]), user="fin").exit_code == 0
    assert _paid(ledger_db, "X3-A") == [("payments", "o81"), ("payments", "rev")]      # paid twice
    found = verdict(ledger_db)
    assert any("X3-A" in str(f["message"]) for fs in found.values() for f in fs), (
        f"claim X3-A paid twice from 230881's expenditure account (county ¥800, bureau ¥780): no finding {found}")


def test_x3_the_bureaus_city_paid_row_after_an_officers_squat_stays_whole(ledger_db: LedgerDB,
                                                                          tmp_path: Path) -> None:
    """0043 S7's rule is kept: the bureau's row paid from the city's account stands against an
    officer's earlier row of the same reference with other content (a squat, not a payment of the
    claim), so the verdict names nothing; X3's finding is for rows paid from the county's account."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("x3s-col", "2024-03-01", "230881", "1000000.00"),
         entry("x3s-top", "2024-03-02", "RES", leg("1004", "230881", "D", "500000.00", "county_exp"),
               leg("1004", "230881", "D", "500000.00", "city_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    squat = tmp_path / "squat.csv"
    squat.write_text(f"{PAY}\n2024-03-27,230881,RES,x,other,0.01,X3-S,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(squat), user="o81").exit_code == 0
    bureau = tmp_path / "bureau.csv"
    bureau.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,780.00,X3-S,,city\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(bureau), user="rev").exit_code == 0
    found = verdict(ledger_db)
    assert not any("X3-S" in str(f["message"]) for fs in found.values() for f in fs), found
