"""ATTACK17 E5: between the city's confirmation of a county's audited opening balances and city
finance's transfer up (上划), two officers of the county move the audited surplus off its legacy
revenue and expenditure accounts by themselves; the transfer then moves what is left and says
nothing.

BRIEF §5 (基金清算): each county records audited balances, "the whole accumulated surplus then
moves up to the special account". The opening rows on legacy bank accounts are held for city
finance (0052, ATTACK6 T9) — the city audits and confirms them. After that the county's own two
officers can still take the money out: Dr 1101 temporary payment (an "advance") / Cr 1002
legacy_revenue and Cr 1004 legacy_expenditure, held by one officer and confirmed by the other
(0058 left "a county's own accounts (county_exp, the legacy accounts)" to the county's second
officer; 0064 holds only money *in* for the city). The legacy special account is protected (an
officer never credits 1003 by hand, whatever the holder), its two sister accounts are not.
``handover transfer`` then posts the legacy balances as they are: 1,000,000.00 moves up instead of
the 1,300,000.50 the city audited, and nothing tells finance that 300,000.50 of the audited surplus
left for an advance nobody in the city saw.

Safe behaviour asserted: the audited surplus reaches the special account — money out of a county's
legacy accounts by hand is the city's to confirm (as on the legacy special account), or the transfer
refuses to move less than the confirmed opening without saying where the rest went.
"""

from __future__ import annotations

import contextlib
import json

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg
from tests.integration.test_registers_budget import open_handover
from tests.security.test_attack7_duties import _officer

pytestmark = pytest.mark.db

U = "230822"


def test_e5_two_county_officers_cannot_take_the_audited_surplus_off_the_legacy_accounts(ledger_db: LedgerDB) -> None:
    open_handover(ledger_db)                       # RES legacy: special 1,000,000.00, revenue 50,000.00,
    o22 = ledger_db.connect("o22", autocommit=True)  # expenditure 250,000.50 — confirmed by finance
    doc = entry("advance-1", "2023-01-03", "RES", leg("1101", U, "D", "300000.50"),
                leg("1002", U, "C", "50000.00", "legacy_revenue"),
                leg("1004", U, "C", "250000.50", "legacy_expenditure"), memo="预付 advance")
    row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
    if row["status"] == "held":
        second = _officer(ledger_db, "o22e5", U)
        with contextlib.suppress(psycopg.Error):   # refused: the city's to confirm (safe)
            second.execute("SELECT * FROM fl.confirm_entry(%s)", (row["held_id"],))

    r = ledger_db.cli("handover", "transfer", "--unit", U, "--date", "2023-01-05", "--json", user="fin")
    moved = {(t["book"], t["component"]): t["amount"] for t in r.json()} if r.exit_code == 0 else {}
    # On main: exit 0, RES moves 1000000.00 — the advance took 300,000.50 of the audited surplus
    assert r.exit_code != 0 or moved[("RES", "")] == "1300000.50", (r, moved)
    if r.exit_code != 0:
        assert "Traceback" not in r.stderr, r
