"""ATTACK9 on 0063's V4: the foreign keys to ``fl.bank_account`` became a trigger.

W1 (MED): ``ledger.core.api_rules`` still files ``bank_account_exists`` as a *constraint*
("the catalogue check names it while it is dropped or altered, and putting it back validates
every row"). It is an ``AFTER INSERT`` trigger now: a superuser disables it (or the trigger
that fixes an account's identity: the old foreign key also refused an UPDATE of the column)
for one statement and enables it again; nothing validates the rows written meanwhile, the
catalogue is clean again, and no check of either verdict asks whether every
``bank_account_id`` names a bank account. A county's collection money then sits on no
physical bank account at all, and ``verify`` says all invariants hold.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db


def _special_bank(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT id FROM fl.bank_account WHERE book = 'RES' AND holder = 'special' "
                                  "AND unit IS NULL").fetchone()["id"])  # type: ignore[index]


def test_w1_a_statement_line_on_a_bank_account_that_does_not_exist(ledger_db: LedgerDB) -> None:
    """The DBA switches the existence trigger off for one INSERT: a statement line of bank account
    987654 (none such) under the special account's statement. The line is in the history (its
    hook ran), the trigger is back, the catalogue is clean: the verdicts must name the line."""
    adm = ledger_db.admin()
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w1-c1", "2023-01-05", "230822", "1000.00"))
    rev = ledger_db.connect("rev", autocommit=True)
    lines = [{"row": 1, "date": "2023-01-05", "direction": "in", "amount": 100000, "reference": "W1-1",
              "balance": None}]
    st = rev.execute("SELECT * FROM fl.import_statement('RES', 'special', NULL, 's.csv', repeat('b', 64), %s::jsonb)",
                     (json.dumps(lines),)).fetchone()
    assert st is not None
    adm.execute("ALTER TABLE fl.statement_line DISABLE TRIGGER statement_line_bank_account_exists")
    adm.execute("INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, "
                "reference) VALUES (987654, %s, 2, '2023-01-06', 'in', 500, 'W1-2')", (st["statement_id"],))
    adm.execute("ALTER TABLE fl.statement_line ENABLE TRIGGER statement_line_bank_account_exists")
    found = verdict(ledger_db)
    assert any("987654" in str(f["message"]) for fs in found.values() for f in fs), found
    v = ledger_db.cli("verify", user="aud")
    assert v.exit_code != 0 and "987654" in v.stdout, v.stdout[-2000:]


def test_w1_an_account_moved_onto_a_bank_account_that_does_not_exist(ledger_db: LedgerDB) -> None:
    """The DBA suspends ``account_identity_fixed`` for one UPDATE (the old foreign key would still
    have refused it) and moves unit 230822's share of the special account onto bank account
    987654, which does not exist, then lowers the real special account's (unversioned) balance
    to match: the ¥1,000 collected is on no physical bank account. Both verdicts must say so."""
    adm = ledger_db.admin()
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w1-c2", "2023-01-05", "230822", "1000.00"))
    bank = _special_bank(ledger_db)
    adm.execute("ALTER TABLE fl.account DISABLE TRIGGER account_identity_fixed")
    moved = adm.execute("UPDATE fl.account SET bank_account_id = 987654 WHERE book = 'RES' AND chart_code = '1003' "
                        "AND unit = '230822' AND holder = 'special' RETURNING id").fetchall()
    adm.execute("ALTER TABLE fl.account ENABLE TRIGGER account_identity_fixed")
    assert len(moved) == 1
    adm.execute("ALTER TABLE fl.bank_account DISABLE TRIGGER USER")
    adm.execute("UPDATE fl.bank_account SET balance = balance - 100000 WHERE id = %s", (bank,))
    adm.execute("ALTER TABLE fl.bank_account ENABLE TRIGGER USER")
    found = verdict(ledger_db)
    assert any("987654" in str(f["message"]) for fs in found.values() for f in fs), found
    v = ledger_db.cli("verify", user="aud")
    assert v.exit_code != 0, v.stdout[-2000:]
