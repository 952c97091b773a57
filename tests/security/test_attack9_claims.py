"""ATTACK9 on 0063's V2 and 0043's S7: a claim is paid once, bureau or county — but only the SQL knows.

W3 (MED): the rule that a claim reference is paid once across the two registers of a unit
(payments:<unit> for its officer, payments:<unit>:bureau for the city bureau: 0043 S7, 0060, and
0063's release of a rejected bureau claim to the county) lives only in fl.import_payments, as a
*skip*, not a refusal: ledger.core.api_rules lists no twin for it (it lists refusals only), and no
check of either verdict asks whether one (unit, reference) was paid by two entries. A superuser
switches the cross-register lookup off for one call (CREATE OR REPLACE, then the exact definition
back: the catalogue is clean): the county's officer pays a claim the bureau still holds; city
finance then confirms the bureau's held entry. The claim is paid twice out of the county's
expenditure account, and verify says all invariants hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import suspended, verdict

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
LOOKUP = "  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit FROM pg_temp.fl_imp_grp g WHERE g.ok) x"  # 0066's text


def _paid(db: LedgerDB, ref: str) -> list[tuple[str, str]]:
    return [(r["kind"], r["created_by"]) for r in db.admin().execute(
        "SELECT e.kind, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id WHERE p.line_ref = %s "
        "ORDER BY e.id", (ref,)).fetchall()]


def test_w3_a_claim_paid_by_the_county_and_the_bureau_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w3-col", "2024-03-01", "230881", "1000000.00"),
         entry("w3-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    f = tmp_path / "claims.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,W3-A,,county\n", "utf-8")
    held = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert held.exit_code == 0 and len(held.json()["held"]) == 1, held
    with suspended(ledger_db.admin(), "fl.import_payments(text,text)", LOOKUP, LOOKUP.replace("IF EXISTS", "IF false AND EXISTS")):
        mine = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert mine.exit_code == 0 and mine.json()["entries"] == 1, mine
    ok = ledger_db.cli("entry", "confirm", str(held.json()["held"][0]), "--json", user="fin")
    assert ok.exit_code == 0, ok
    assert _paid(ledger_db, "W3-A") == [("payments", "o81"), ("payments", "rev")]     # paid twice
    found = verdict(ledger_db)
    assert any("W3-A" in str(f["message"]) for fs in found.values() for f in fs), found


def test_w5_a_claim_the_county_paid_is_paid_again_by_the_bureau_with_other_content(ledger_db: LedgerDB,
                                                                                   tmp_path: Path) -> None:
    """No rule switched off. The county's officer pays claim W5-A (¥800); the bureau then imports
    the same claim reference for the same unit with another amount (¥780) paid from the county's
    account: 0043's "the bureau's row stands" holds it as a new payment, and city finance's
    confirmation pays the claim a second time. The claim should be a conflict naming the county's
    payment (reverse it first), or at least a finding; it is neither."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w5-col", "2024-03-01", "230881", "1000000.00"),
         entry("w5-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    own = tmp_path / "own.csv"
    own.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,W5-A,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(own), user="o81").exit_code == 0
    bureau = tmp_path / "bureau.csv"
    bureau.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,780.00,W5-A,,county\n", "utf-8")
    held = ledger_db.cli("pay", "import", str(bureau), "--json", user="rev")
    if held.exit_code == 0 and held.json()["held"]:
        ledger_db.cli("entry", "confirm", str(held.json()["held"][0]), "--json", user="fin")
    paid = _paid(ledger_db, "W5-A")
    if len(paid) > 1:
        found = verdict(ledger_db)
        assert any("W5-A" in str(f["message"]) for fs in found.values() for f in fs), (paid, found)


def test_w5_the_bureaus_county_paid_row_for_a_claim_the_county_paid_is_a_conflict_naming_its_entry(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """(0070) The bureau's row paid from the county's account, for a claim the county's officer
    paid from that account with other content, is refused and names the county's entry; once
    that entry is reversed, the bureau's file imports (held for a second person, 0060)."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w5c-col", "2024-03-01", "230881", "1000000.00"),
         entry("w5c-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    own = tmp_path / "own.csv"
    own.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,W5-C,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(own), user="o81").exit_code == 0
    county = ledger_db.admin().execute("SELECT entry_id FROM fl.import_line WHERE reference = 'W5-C'").fetchone()
    bureau = tmp_path / "bureau.csv"
    bureau.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,780.00,W5-C,,county\n", "utf-8")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(bureau), user="rev")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "[idempotency_conflict]" in text and "already paid by the county's own import" in text, r
    assert "have that entry reversed first" in text and "payments:" in text, text
    assert _paid(ledger_db, "W5-C") == [("payments", "o81")]
    rev = ledger_db.cli("entry", "reverse", str(county["entry_id"]), "--reason", "paid by the bureau", "--json",
                       user="fin")
    assert rev.exit_code == 0, rev
    assert rev.json()["status"] == "held", rev.stdout            # a workflow entry's reversal: a second person
    assert ledger_db.cli("entry", "confirm", str(rev.json()["held_id"]), user="rev2").exit_code == 0
    again = ledger_db.cli("pay", "import", str(bureau), "--json", user="rev")
    assert again.exit_code == 0 and len(again.json()["held"]) == 1, again
