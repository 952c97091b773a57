"""ATTACK10 X10: the DBA posts journal entries under its own login, triggers on, and no verdict asks who wrote them.

ATTACK6 T18 (a forged year close, one INSERT by the superuser) was closed for the workflow *tables*:
``actors`` names a version of fl.year_close, fl.fund_request, fl.pending_entry … written by a login that
is not a registered fundledger user. Journal *entries* are not judged that way. The superuser calls the
ledger's own internal writer ``fl._post`` in its own session — nothing switched off, no function
replaced, every trigger firing (stamp, seal, history) — with kind ``collections``, key
``collections:230822:X10-1``: Dr 1003 special / Cr 4001 ¥900,000 for 桦南县. The entry is sealed into the
chain with ``created_by = postgres``; no import batch, no register line, no finance user.

Impact: ¥900,000 of revenue that never arrived (the county's deficit and its government's share fall
accordingly, the special account is overstated) — and the independent verdict is ``{}``, ``fundledger
verify`` exits 0. The same holds for every kind the rules do not re-read (payments, interest, openings,
pre-allocations' shapes …): "written by a login that is not a fundledger user" is asked of tables, not
of entries.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

FORGE = """SELECT * FROM fl._post(
    ARRAY[ROW(1, 'RES', DATE '2024-03-20', '征缴收入', 'collections', 'collections:230822:X10-1', NULL, NULL, NULL,
              NULL)::fl.new_entry],
    ARRAY[ROW(1, 1, 'RES', '1003', '230822', 'special', '', 'D', 90000000, 'X10-1', NULL)::fl.new_posting,
          ROW(1, 2, 'RES', '4001', '230822', '', '', 'C', 90000000, 'X10-1', NULL)::fl.new_posting])"""


def test_x10_an_entry_written_by_a_login_that_is_no_fundledger_user_is_named(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    eid = int(admin.execute(FORGE).fetchone()["entry_id"])  # type: ignore[index]
    who = admin.execute("SELECT e.created_by, s.voucher_no FROM fl.entry e JOIN fl.seal s ON s.entry_id = e.id "
                        "WHERE e.id = %s", (eid,)).fetchone()
    users = {r["name"] for r in admin.execute("SELECT name FROM fl.app_user").fetchall()}
    assert who is not None and who["created_by"] not in users, who     # sealed, by the DBA's own login
    found = verdict(ledger_db)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), (
        f"entry {eid} (collections Dr 1003 special / Cr 4001 ¥900,000, written by {who['created_by']}, no fundledger "
        f"user) is named by no check: {found}")
    assert ledger_db.cli("verify", user="aud").exit_code == 1
