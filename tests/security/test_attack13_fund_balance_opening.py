"""ATTACK13 W4: the fund balance moved into the open year's revenue as an "opening" (0088 bypassed).

0088 (ATTACK11 Y3) made 3xxx the year-end close's to move, but exempts whole workflow kinds
(``fl._fund_balance_writer``: year_close, opening, reversal) from every check, whatever accounts
the entry names. ``fl.post_opening`` does not confine the city proper's opening to Dr 100x / Cr
3001: after book RES closed 2023, the two city users (rev makes, fin confirms: maker-checker of
the city, as in Y3) post an "opening" dated 2024-01-02 **Dr 3001 / Cr 4001** — the closed year's
surplus counted as the open year's revenue, the year-end rule's current balance C shrinking its
deficit and the local government's share, exactly Y3's effect. It is posted, and the independent
verdict names nothing (workflows, fund_balance_close_only).

The same gap by the third exempt kind: a reversal of an honest opening (Dr 1003 / Cr 3001) moves
3001 against the bank (Dr 3001 / Cr 1003) after the close, and a manual Dr 1003 / Cr 4001 puts the
money back as revenue: the bank reconciles, 3001 went down and revenue up by the same amount
(kept as a note in ATTACK13.md; the opening case is the direct one).

Fixed when an opening (and a reversal, by mirroring only openings) moves 3xxx only against
balance-sheet accounts (never 4xxx/5xxx), refused in the database and named by the verdict.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirmed, entry, leg
from tests.security.test_attack7_rules import verdict
from tests.security.test_attack11_fund_balance_variants import _closed

pytestmark = pytest.mark.db


def _audited_opening(db: LedgerDB) -> int:
    """The city proper's audited opening of book RES, 2023 (Dr 1003 special / Cr 3001), as at go-live."""
    got = confirmed(db.connect("rev", autocommit=True), "SELECT * FROM fl.post_opening(%s::jsonb)",
                    (json.dumps([entry("w4-open", "2023-01-02", "RES", leg("1003", "230800", "D", "50.00", "special"),
                                       leg("3001", "230800", "C", "50.00"))]),), checker="fin")
    assert got["status"] == "posted", got
    return int(got["entry_id"])


@pytest.mark.parametrize(("dr", "cr"), [("3001", "4001"), ("5001.inpatient", "3001")],
                         ids=["surplus_into_revenue", "expenditure_into_surplus"])
def test_w4_an_opening_after_the_close_never_moves_a_result_through_the_fund_balance(
        ledger_db: LedgerDB, dr: str, cr: str) -> None:
    """The book's opening exists (one per book and component); ``opening_once`` says to correct it by a
    reversal, so the city users reverse it and post the "corrected" opening: the same legs plus Dr/Cr."""
    opened = _audited_opening(ledger_db)
    _closed(ledger_db)                                   # book RES closed 2023 (Dr 4001 / Cr 3001)
    try:
        rv = confirmed(ledger_db.connect("fin", autocommit=True), "SELECT * FROM fl.reverse_entry(%s, 'audit corrected', "
                       "DATE '2024-01-02', 'w4-undo')", (opened,), checker="rev")
    except psycopg.Error as e:
        # (0093) Refused: the 2023 opening is a closed year's, so the "corrected" opening is never reached
        # (the opening itself on a fresh book: test_attack13_fund_balance_opening_variants).
        assert e.diag.constraint_name == "fund_balance_close_only", e
        return
    assert rv["status"] == "posted", rv
    doc = entry(f"w4-{dr}-{cr}", "2024-01-02", "RES", leg("1003", "230800", "D", "50.00", "special"),
                leg("3001", "230800", "C", "50.00"), leg(dr, "230800", "D", "40.00"), leg(cr, "230800", "C", "40.00"))
    try:
        got = confirmed(ledger_db.connect("rev", autocommit=True), "SELECT * FROM fl.post_opening(%s::jsonb)",
                        (json.dumps([doc]),), checker="fin")
    except psycopg.Error:
        return                                           # refused: fixed
    found = verdict(ledger_db)
    named_it = any("fund_balance" in str(f["message"]) and f["entry_id"] == got.get("entry_id")
                   for fs in found.values() for f in fs)
    code = ledger_db.cli("verify", user="aud").exit_code
    pytest.fail(f"an 'opening' with Dr {dr} / Cr {cr} dated in the open year after the close was {got['status']} "
                f"(entry {got.get('entry_id')}); the independent verdict {'named' if named_it else 'did not name'} it; "
                f"verify exit {code}")


def test_w4_a_reversal_of_an_opening_after_the_close_is_the_refused_manual_dr_3001_cr_1003(ledger_db: LedgerDB) -> None:
    """0088 refuses a manual Dr 3001 / Cr 1003 once the book closed a year (the surplus taken out with
    the money, SHAPES in test_attack11_fund_balance_variants); reversing the year's audited opening
    (Dr 1003 / Cr 3001) writes the same entry as kind reversal, and a manual Dr 1003 / Cr 4001 then
    books the money back as the open year's revenue: 3001 down, revenue up, the bank unchanged."""
    opened = _audited_opening(ledger_db)
    _closed(ledger_db)
    try:
        rv = confirmed(ledger_db.connect("fin", autocommit=True), "SELECT * FROM fl.reverse_entry(%s, 'audit corrected', "
                       "DATE '2024-01-06', 'w4-undo')", (opened,), checker="rev")
    except psycopg.Error:
        return                                           # refused: fixed
    pytest.fail(f"after book RES closed 2023, the 2023 opening was reversed in 2024 ({rv['status']}, entry "
                f"{rv.get('entry_id')}): Dr 3001 / Cr 1003, the entry 0088 refuses as a manual one")
