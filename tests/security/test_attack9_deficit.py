"""ATTACK9 on 0064's V5: two officers of one county still shrink its deficit with no one from the city.

W2 (HIGH): ATTACK8 V5's harm was "fake money in the county's expenditure account and a
smaller deficit, no one from the city involved". 0064 closed the first half (no officer
confirms money *into* a bank account) but not the second: the year-end shortfall rule
(缺口分担: a unit's deficit is covered by its own surplus, then by its local government) reads
revenue and expenditure (4xxx, 5xxx), and a manual credit on 5001 against a temporary payment
(1101) or a temporary receipt (2001) — no bank account, no city figure — is held only for "a
different user", which a second officer of the same county is. ¥800,000 of inpatient
expenditure vanishes from the county's deficit, and both verdicts hold.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_duties import _officer

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _expenditure(db: LedgerDB) -> int:
    rows = db.admin().execute("SELECT * FROM fl.year_figures_v3(2024, 'RES')").fetchall()
    return int(next(r["expenditure"] for r in rows if r["unit"] == "230822"))


@pytest.mark.parametrize("against", ["1101", "2001"])
def test_w2_two_officers_of_one_county_shrink_its_expenditure(ledger_db: LedgerDB, tmp_path: Any,
                                                               against: str) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w2-seed", "2024-01-05", "230822", "5000000.00"),
         entry("w2-to-county", "2024-01-06", "RES", leg("1004", "230822", "D", "1000000.00", "county_exp"),
               leg("1003", "230822", "C", "1000000.00", "special")))
    claims = tmp_path / "claims.csv"
    claims.write_text(PAY + "\n2024-03-10,230822,RES,某某医院,inpatient,900000.00,W2-1,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(claims), user="o22").exit_code == 0
    before = _expenditure(ledger_db)
    o22 = ledger_db.connect("o22", autocommit=True)
    second = _officer(ledger_db, "o22w9", "230822")
    doc = entry(f"w2-{against}", "2024-03-20", "RES", leg(against, "230822", "D", "800000.00"),
                leg("5001.inpatient", "230822", "C", "800000.00"), memo="provider refund due")
    held = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
    assert held is not None and held["status"] == "held", held
    # The county's second officer may not be the one to confirm a change of the county's deficit:
    # the city bureau or city finance confirms it (as for 3xxx/4xxx since 0058).
    with pytest.raises(psycopg.Error):
        second.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],)).fetchone()
    assert _expenditure(ledger_db) == before
    ok = ledger_db.connect("rev", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)",
                                                           (held["held_id"],)).fetchone()
    assert ok is not None and ok["status"] == "posted"
