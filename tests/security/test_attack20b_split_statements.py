"""ATTACK20b M2: the fund-balance rule (0088/0095, now part of 0168's fl.posting_account_rules) finds what a
3xxx posting is "against" only among the postings of the SAME statement (`new_postings rp WHERE
rp.entry_id = e.id`). Raw SQL that writes one entry's postings in two INSERTs — Dr 3001 in the first,
Cr 4001 in the second, or the other way round — is never judged against revenue: the first statement's
3001 posting has no revenue leg beside it, the second has no 3xxx account and the rule does not run.
A manual entry moving a result into the fund balance by hand before the first close (refused in one
statement: `fund_balance_close_only`) commits. The independent verdict names it (workflows), the
database does not: "PostgreSQL enforces every invariant against raw SQL too" does not hold for the
schema owner / superuser's split INSERT (0168 kept each rule's second statement unchanged, so this is
not new in 0168, but it is the merged trigger's reach the brief asked about).

Fails on main: the split entry commits.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

UNIT = "230822"


def _accounts(db: LedgerDB) -> tuple[psycopg.Connection, dict[str, int]]:
    fin = db.connect("fin")
    post(fin, collect("m2-c", "2023-03-01", UNIT, "1000.00"))
    post(fin, entry("m2-open", "2023-01-02", "RES", leg("1003", UNIT, "D", "10.00", "special"), leg("3001", UNIT, "C", "10.00")))
    fin.commit()
    adm = db.admin()
    acc = {r["chart_code"]: r["id"] for r in adm.execute(
        "SELECT id, chart_code FROM fl.account WHERE unit = %s AND book = 'RES'", (UNIT,)).fetchall()}
    return adm, acc


@pytest.mark.parametrize("order", [("3001", "4001"), ("4001", "3001")], ids=["fund-first", "revenue-first"])
def test_m2_an_entrys_postings_split_over_two_statements_meet_the_fund_balance_rule(ledger_db: LedgerDB,
                                                                                    order: tuple[str, str]) -> None:
    adm, acc = _accounts(ledger_db)
    side = {"3001": "D", "4001": "C"}
    # the same entry in one statement is refused: the rule holds there
    adm.execute("BEGIN")
    eid = adm.execute("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash) VALUES "
                      "('RES', '2023-03-05', 'one', 'manual', 'manual:fin:m2-one', '\\x00') RETURNING id").fetchone()["id"]
    with pytest.raises(psycopg.Error) as one:
        adm.execute("INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) VALUES "
                    "(%s, %s, 'D', 1000, '2023-03-05', %s), (%s, %s, 'C', 1000, '2023-03-05', %s)",
                    (eid, acc["3001"], UNIT, eid, acc["4001"], UNIT))
    assert one.value.diag.constraint_name == "fund_balance_close_only"
    adm.execute("ROLLBACK")
    # split over two INSERT statements of one transaction: must be refused the same
    adm.execute("BEGIN")
    refused = None
    try:
        eid = adm.execute("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash) VALUES "
                          "('RES', '2023-03-05', 'split', 'manual', 'manual:fin:m2-split', '\\x00') "
                          "RETURNING id").fetchone()["id"]
        for code in order:
            adm.execute("INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) "
                        "VALUES (%s, %s, %s, 1000, '2023-03-05', %s)", (eid, acc[code], side[code], UNIT))
        adm.execute("COMMIT")
    except psycopg.Error as e:
        refused = e
        adm.execute("ROLLBACK")
    assert refused is not None and refused.diag.constraint_name == "fund_balance_close_only", refused
    n = adm.execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:fin:m2-split'").fetchone()["n"]
    assert n == 0
