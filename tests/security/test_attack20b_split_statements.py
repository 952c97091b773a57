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

from collections.abc import Callable

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
    refused = _split(adm, "manual:fin:m2-split", "manual", [(acc[code], side[code]) for code in order])
    assert refused is not None and refused.diag.constraint_name == "fund_balance_close_only", refused
    n = adm.execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:fin:m2-split'").fetchone()["n"]
    assert n == 0


def _split(adm: psycopg.Connection, key: str, kind: str, legs: list[tuple[int, str]], savepoint: bool = False) -> psycopg.Error | None:
    """One entry (kind) whose legs come one INSERT statement each; the error that refused it, or None
    (and then it is rolled back: nothing of it is left either way)."""
    def write() -> None:
        eid = adm.execute("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash) VALUES "
                          "('RES', '2023-03-05', 'split', %s, %s, '\\x00') RETURNING id", (kind, key)).fetchone()["id"]
        for i, (acc, side) in enumerate(legs):
            if savepoint and i == 1:
                adm.execute("SAVEPOINT s")
            adm.execute("INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) "
                        "VALUES (%s, %s, %s, 1000, '2023-03-05', %s)", (eid, acc, side, UNIT))
        if savepoint:
            adm.execute("RELEASE SAVEPOINT s")
    return _committed(adm, write)


def _committed(adm: psycopg.Connection, write: Callable[[], None]) -> psycopg.Error | None:
    """BEGIN, WRITE, COMMIT: the error that refused it (and then it is rolled back), or None."""
    adm.execute("BEGIN")
    try:
        write()
        adm.execute("COMMIT")
    except psycopg.Error as e:
        adm.execute("ROLLBACK")
        return e
    return None


def test_m2_split_across_a_savepoint_and_three_statements(ledger_db: LedgerDB) -> None:
    """The second leg after a SAVEPOINT, and the revenue leg in a third statement after a 1xxx one:
    refused the same; nothing committed."""
    adm, acc = _accounts(ledger_db)
    e = _split(adm, "manual:fin:m2-sp", "manual", [(acc["3001"], "D"), (acc["4001"], "C")], savepoint=True)
    assert e is not None and e.diag.constraint_name == "fund_balance_close_only", e
    assert "against 4001" in str(e), e
    e = _split(adm, "manual:fin:m2-three", "manual", [(acc["4001"], "C"), (acc["1003"], "D"), (acc["3001"], "D"),
                                                       (acc["1003"], "C")])
    assert e is not None and e.diag.constraint_name == "fund_balance_close_only", e
    n = adm.execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key IN ('manual:fin:m2-sp', 'manual:fin:m2-three')"
                    ).fetchone()["n"]
    assert n == 0


def test_m2_an_honest_split_entry_still_commits(ledger_db: LedgerDB) -> None:
    """What the rule lets through in one statement it lets through split: a manual 1003/3001 (no revenue
    leg, before any close) written leg by leg commits."""
    adm, acc = _accounts(ledger_db)
    assert _split(adm, "manual:fin:m2-ok", "manual", [(acc["3001"], "C"), (acc["1003"], "D")]) is None


def test_m2_a_split_shortfall_clearing_is_refused(ledger_db: LedgerDB) -> None:
    """The shortfall rule (0101) judges a leg by its account and its entry's row: split or not, a manual
    entry crediting 4101.shortfall is refused."""
    adm, acc = _accounts(ledger_db)
    short = adm.execute("SELECT fl.account_for('RES', '4101.shortfall', %s, '', '') AS id", (UNIT,)).fetchone()["id"]
    for legs in ([(acc["1003"], "D"), (short, "C")], [(short, "C"), (acc["1003"], "D")]):
        e = _split(adm, "manual:fin:m2-short", "manual", legs)
        assert e is not None and e.diag.constraint_name == "shortfall_clearing_only", e


@pytest.mark.parametrize("order", [("3001", "4001"), ("4001", "3001")], ids=["fund-first", "revenue-first"])
def test_m2_a_held_entrys_postings_split_over_two_statements(ledger_db: LedgerDB, order: tuple[str, str]) -> None:
    """The held entries' rule (0169's fl.pending_posting_held_rules) the same: legs held in two
    statements are refused fund_balance_close_only; nothing is held."""
    adm, acc = _accounts(ledger_db)
    side = {"3001": "D", "4001": "C"}

    def hold() -> None:
        hid = adm.execute("INSERT INTO fl.pending_entry (kind, book, entry_date, memo, idempotency_key, content_hash, "
                          "reverses, reason, source, units, maker_role, maker_unit) VALUES ('manual', 'RES', "
                          "'2023-03-05', 'held split', 'manual:fin:m2-held', '\\x00', NULL, '', NULL, ARRAY[%s], "
                          "'finance', NULL) RETURNING id", (UNIT,)).fetchone()["id"]
        for pos, code in enumerate(order, 1):
            adm.execute("INSERT INTO fl.pending_posting (pending_id, pos, account_id, unit, side, amount) "
                        "VALUES (%s, %s, %s, %s, %s, 1000)", (hid, pos, acc[code], UNIT, side[code]))
    refused = _committed(adm, hold)
    assert refused is not None and refused.diag.constraint_name == "fund_balance_close_only", refused
    n = adm.execute("SELECT count(*) AS n FROM fl.pending_entry WHERE idempotency_key = 'manual:fin:m2-held'").fetchone()["n"]
    assert n == 0
