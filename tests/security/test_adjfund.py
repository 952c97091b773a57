"""Attacks on the adjustment fund's postings (sql/0025b_adjfund.sql). Money leaves the fund by
a remittance and arrives by an allocation whose shares decide which county's gap the
province covers (and so how much its government still owes). Only city finance makes
either; a remittance is confirmed by a second person; the shares are the rule's, computed
in the database from the region setting; no hand-made entry can pass for either."""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import psycopg
import pytest

from ledger.core.region import parse_region
from ledger.store import migrate
from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db


def _fund(db: LedgerDB) -> None:
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    doc["adjustment_fund"] = {"in_order": True, "remit_rate": "0.02", "allocation_rule": "gap"}
    with db.connect(None) as c:
        migrate.load_reference(c, parse_region(doc, "attack.toml"))
        c.commit()


def _year_with_gaps(db: LedgerDB) -> None:
    fin = db.cached("fin")
    post(fin, entry("o00", "2022-12-31", "RES", leg("1003", "230800", "D", "100000.00", "special"),
                    leg("3001", "230800", "C", "100000.00")),
         entry("c22", "2023-02-01", "RES", leg("1003", "230822", "D", "1000.00", "special"), leg("4001", "230822", "C", "1000.00")),
         entry("e22", "2023-04-30", "RES", leg("5001.inpatient", "230822", "D", "1600.00"),
               leg("1003", "230822", "C", "1600.00", "special")),
         entry("e81", "2023-04-30", "RES", leg("5001.inpatient", "230881", "D", "200.00"),
               leg("1003", "230881", "C", "200.00", "special")))


def test_only_finance_records_and_the_shares_are_the_rules(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    _year_with_gaps(ledger_db)
    for user in ("o22", "rev", "aud", "admin"):
        c = ledger_db.connect(user, autocommit=True)
        with pytest.raises(psycopg.Error):
            c.execute("SELECT * FROM fl.adjfund_allocate(2023, 'RES', 10000, '2023-05-01', 'x')")
        with pytest.raises(psycopg.Error):
            c.execute("SELECT * FROM fl.adjfund_remit(2023, 'RES', '2023-05-01')")
    # gaps 600 and 200: 400 is shared 300 / 100, whatever finance would prefer
    fin = ledger_db.connect("fin", autocommit=True)
    rows = fin.execute("SELECT unit, amount FROM fl.adjfund_allocate(2023, 'RES', 40000, '2023-05-01', 'a1')").fetchall()
    assert [(r["unit"], r["amount"]) for r in rows] == [("230822", 30000), ("230881", 10000)]


def test_no_hand_made_entry_passes_for_an_allocation_or_a_remittance(ledger_db: LedgerDB) -> None:
    """A manual entry is kind manual with its key under manual:<user>:, so the rule never
    sets it aside as an allocation; the kind and namespace are checked on the row, raw SQL
    included."""
    _fund(ledger_db)
    _year_with_gaps(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    doc = [{"date": "2023-05-01", "book": "RES", "idempotency_key": "adjfund-alloc:x:230822", "kind": "adjfund_alloc",
            "source": {"year": 2023}, "postings": [
                {"account": "1003", "unit": "230822", "holder": "special", "side": "debit", "amount": "500.00"},
                {"account": "4401", "unit": "230822", "side": "credit", "amount": "500.00"}]}]
    with pytest.raises(psycopg.Error):
        fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),))
    with pytest.raises(psycopg.Error):
        fin.execute("""INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, source)
                       VALUES ('RES', '2023-05-01', '', 'adjfund_alloc', 'adjfund-alloc:y:230822', '{"year": 2023}')""")
    figures = ledger_db.connect("aud").execute(
        "SELECT adjustment_receipts FROM fl.year_figures_v3(2023, 'RES') WHERE unit = '230822'").fetchone()
    assert figures["adjustment_receipts"] == 0


def test_a_remittance_needs_a_second_person(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    _year_with_gaps(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    held = fin.execute("SELECT * FROM fl.adjfund_remit(2023, 'RES', '2023-06-30')").fetchall()
    assert [(r["unit"], r["amount"], r["status"]) for r in held] == [("230822", 2000, "held")]   # 2 % of 1,000.00
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        fin.execute("SELECT * FROM fl.confirm_entry(%s)", (held[0]["held_id"],))
    o22 = ledger_db.connect("o22", autocommit=True)
    with pytest.raises(psycopg.Error):
        o22.execute("SELECT * FROM fl.confirm_entry(%s)", (held[0]["held_id"],))
    done = ledger_db.connect("rev", autocommit=True).execute(
        "SELECT * FROM fl.confirm_entry(%s)", (held[0]["held_id"],)).fetchone()
    assert done["status"] == "posted"
