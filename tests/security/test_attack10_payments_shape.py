"""ATTACK10 X7: an officer's ``payments`` entry is judged by its key's unit only — its legs are never read.

``ledger.core.rules`` reads the postings of manual entries, reversals and a few workflow kinds
(``wanted``: "An officer's payments are judged by their key's unit, not re-read"). The duty rules of
0058/0064/0067 (city figures, money into a bank account, expenditure) are judged for kind ``manual``
only, and the journal's officer-session triggers likewise. So a ``payments`` entry written in an
officer's session may have any shape: nothing in either verdict asks that it is what
``fl.import_payments`` writes (Dr 5001.<category>|5101 / Cr 1004 county_exp of its unit, with the
import register lines of its batch).

Lever (DBA + one officer): a definer function made for one call (owner fl_owner, EXECUTE to o22, dropped
after: the catalogue is clean) calls ``fl._post`` with kind ``payments`` and key
``payments:2024-03-20:230822:RES::county:x7``: Dr 1004 county_exp / Cr 5001.inpatient ¥800,000. o22 calls it in
its own session, with ``fl._money_in`` answering false for that call (ATTACK8 V5's test's suspension, put back
byte for byte). Impact: ATTACK8 V5 / ATTACK9 W2 (fake money in the county's account, ¥800,000 less
expenditure, a smaller deficit for its government to cover) with no one from the city, no import
batch, no register line — and both verdicts whole.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import body_off, verdict

pytestmark = pytest.mark.db

FORGE = """
CREATE FUNCTION fl.x7_once() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE r record;
BEGIN
  SELECT * INTO r FROM fl._post(
    ARRAY[ROW(1, 'RES', DATE '2024-03-20', '医院退款', 'payments', 'payments:2024-03-20:230822:RES::county:x7',
              NULL, NULL, NULL, NULL)::fl.new_entry],
    ARRAY[ROW(1, 1, 'RES', '1004', '230822', 'county_exp', '', 'D', 80000000, 'X7-1', NULL)::fl.new_posting,
          ROW(1, 2, 'RES', '5001.inpatient', '230822', '', '', 'C', 80000000, 'X7-1', NULL)::fl.new_posting]);
  RETURN r.entry_id;
END $$;
ALTER FUNCTION fl.x7_once() OWNER TO fl_owner;
GRANT EXECUTE ON FUNCTION fl.x7_once() TO o22;
"""


def test_x7_an_officers_payments_entry_of_any_shape_is_named(ledger_db: LedgerDB) -> None:
    assert verdict(ledger_db) == {}
    admin = ledger_db.admin()
    admin.execute(FORGE)
    try:
        # the journal's own officer-session money-in rule (0064) switched off for the one call, as V5's test does
        with body_off(admin, "fl._money_in(text,text,text)", "\n  SELECT false\n"):
            eid = ledger_db.connect("o22", autocommit=True).execute("SELECT fl.x7_once() AS id").fetchone()["id"]  # type: ignore[index]
    finally:
        admin.execute("DROP FUNCTION fl.x7_once()")
    row = admin.execute("SELECT kind, created_by FROM fl.entry WHERE id = %s", (eid,)).fetchone()
    assert row == {"kind": "payments", "created_by": "o22"}, row
    found = verdict(ledger_db)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), (
        f"entry {eid}: officer o22's 'payments' Dr 1004 county_exp / Cr 5001.inpatient ¥800,000 (money into its bank "
        f"account, expenditure cut, no batch, no register line) is named by no check: {found}")
    r = ledger_db.cli("verify", user="aud")
    assert r.exit_code == 1, f"verify exit {r.exit_code}: all invariants hold"
