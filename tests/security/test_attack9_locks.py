"""ATTACK9: V4's class again — a lock the busy-holder guard cannot see, taken by an officer
on a row another office needs.

W4 (MED): fl.account and fl.bank_account rows are made on first use (fl.ensure_account:
INSERT … ON CONFLICT DO NOTHING on their unique keys). A session that inserted such a row and
keeps its transaction open makes every other inserter of the same key wait on its
transaction (PostgreSQL's speculative insertion waits for the first inserter to finish) — no
row lock of ours, no mark for fl.end_stuck_writers. An officer of 230881 holds a manual entry
(Dr 1003 special / Cr 4001: held for the city, so allowed) in a transaction it keeps busy: its
unit's 1003 special and 4001 accounts now exist only in that transaction. City finance's
collection import of a file for 230822 *and* 230881 waits, retries with the stuck-writer
guard, and is refused "busy" after ~20 s; 230822's money — another county's — is not booked
for as long as the officer likes. (Any city batch that first creates an account of the
attacker's unit — a new category in the bureau's payments, a pre-allocation, a new book or
component — is held hostage the same way.)
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db


def test_w4_an_officers_open_account_insert_blocks_the_citys_collection_for_every_unit(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("w4-seed", "2024-01-05", "230822", "1000.00"))     # 230822's accounts exist
    hog = ledger_db.connect("o81")
    for s in ("idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout"):
        hog.execute(f"SET {s} = 0")
    rows = hog.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([entry(
        "w4-hold", "2024-01-06", "RES", leg("1003", "230881", "D", "1.00", "special"),
        leg("4001", "230881", "C", "1.00"))]),)).fetchall()
    assert [r["status"] for r in rows] == ["held"], rows
    out: dict[str, Any] = {}

    def spin() -> None:
        try:
            hog.execute("SELECT count(*) FROM generate_series(1, 100000000000)")
        except psycopg.Error as e:
            out["e"] = e

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    col = tmp_path / "col.csv"
    col.write_text("date,unit,book,source,amount,reference,component\n"
                   "2024-01-08,230822,RES,contribution,5000.00,W4-22,\n"
                   "2024-01-08,230881,RES,contribution,7000.00,W4-81,\n", "utf-8")
    try:
        t0 = time.monotonic()
        r = ledger_db.cli("collect", "import", str(col), "--json", user="fin")
        took = time.monotonic() - t0
    finally:
        ledger_db.admin().execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename = 'o81' "
                                  "AND datname = current_database()")
        t.join(20)
    assert r.exit_code == 0, (round(took, 1), r.stderr[-600:])
