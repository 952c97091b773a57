"""ATTACK15 (e): a reversal may be dated before the entry it reverses — even in the year before.

红字冲销 corrects an entry that exists; ``fl.reverse_entry(entry, reason, date, key)`` checks the
reversal's date against the closed periods, the date range and the cash-date rule, never against
the entry's own date. A reviewer reverses a reclassification of 1 June 2024 with the date 2 January
2024 (posted at once, one person): from January to May the books hold the correction of something
that had not happened — 暂付款 1101 at −100.00 as of 1 March in ``balance --as-of`` and the trial
balance, a debit-normal asset below zero. Across a year it moves a result: city finance's
collection of 10 January 2025 reversed "on 31 December 2024" (2024 not yet closed; held, the bureau
confirms) takes 1,000.00 off 2024's revenue while 2025 keeps the collection. With no other 2024
revenue for the unit, 2024's revenue is −1,000.00: ``report shortfall --year 2024`` fails
("230822/RES revenue must not be negative, got -100000 fen", in English) and so does ``close year
2024`` — no unit's 2024 can be closed, nor any later year, until someone finds the entry. verify
is whole.

Fixed when a reversal is dated on or after the entry it reverses (fl.reverse_entry and the
``entry_reversal_allowed`` trigger, Chinese first, saying the earliest date), re-derived by the
verdicts above the rule's point.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, confirmed, post, reclass

pytestmark = pytest.mark.db


def _eid(db: LedgerDB, key_like: str) -> int:
    return int(db.admin().execute("SELECT id FROM fl.entry WHERE idempotency_key LIKE %s", (key_like,)).fetchone()["id"])


def test_a15_a_reversal_is_not_dated_before_what_it_reverses(ledger_db: LedgerDB) -> None:
    rev = ledger_db.connect("rev", autocommit=True)
    post(rev, reclass("a15r", "2024-06-01", "230822", "100.00"))
    eid = _eid(ledger_db, "%a15r")
    try:
        row = confirmed(rev, "SELECT * FROM fl.reverse_entry(%s, 'typo', '2024-01-02', 'a15r-rev')", (eid,),
                        checker="rev2")
    except Exception:   # refused: fixed
        return
    b = ledger_db.cli("balance", "RES:1101:230822", "--as-of", "2024-03-01", "--json", user="aud")
    pytest.fail(f"entry {eid} of 2024-06-01 was reversed with the date 2024-01-02 ({row}); RES:1101:230822 as of "
                f"2024-03-01: {b.json().get('balance') if b.exit_code == 0 else b}")


def test_a15_a_reversal_does_not_move_a_result_into_the_year_before(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("a15y-city", "2024-06-01", "230800", "100000.00"),   # the pool's money in the special account
         collect("a15y", "2025-01-10", "230822", "1000.00"))
    eid = _eid(ledger_db, "%a15y")
    try:
        confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'typo', '2024-12-31', 'a15y-rev')", (eid,), checker="rev")
    except Exception as e:   # refused: fixed
        print(e)
        return
    r = ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="aud")
    mine = next((x for x in r.json() if x["unit"] == "230822"), None) if r.exit_code == 0 else r
    close = ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev")
    pytest.fail(f"the 2025-01-10 collection was reversed on 2024-12-31: 2024's shortfall row for 230822 is {mine}; "
                f"close year 2024: exit {close.exit_code} {close.stderr.strip()[:300]}")


def test_a15_a_legitimate_late_correction_does_not_block_the_next_close(ledger_db: LedgerDB) -> None:
    """The same without any back-dating: 0082 says a collection reversed in a later year is "that
    year's correction" and stays allowed. 230822's only 2024 collection is reversed on 5 January
    2025 (finance, the bureau confirms) before any 2025 revenue: 2025's revenue is −1,000.00, and
    the shortfall rule (``ShortfallInput``: revenue ≥ 0) refuses the whole table — ``report shortfall
    --year 2025`` fails, and so would the close of 2025 for every unit."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("a15z-city", "2024-02-01", "230800", "100000.00"),
         collect("a15z", "2024-03-01", "230822", "1000.00"))
    r = ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev")
    assert r.exit_code == 0, r
    eid = _eid(ledger_db, "%a15z")
    confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'paid twice', '2025-01-05', 'a15z-rev')", (eid,), checker="rev")
    r = ledger_db.cli("report", "shortfall", "--year", "2025", "--json", user="aud")
    assert r.exit_code == 0, (f"a late correction of 2024's collection, reversed on 2025-01-05, leaves 2025's revenue "
                              f"negative and the shortfall rule refuses the year: {r.stderr.strip()}")
