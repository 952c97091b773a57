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
import re
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


# Tables an INSERT … ON CONFLICT of the release may target without marking the insert itself,
# and why no other writer can be left waiting unseen on their keys.
UNMARKED_CONFLICT_TARGETS = {
    "closed_period": "its writers take fl.closed_period's table lock first (fl._lock_closed_period, 0058: marked), "
                     "so no second inserter reaches the key while the first holds it",
    "entry": "an entry's key is in its writer's own namespace (0035, 0043): only the same caller inserts it; "
             "and fl._post writes the entry's postings in the same call, which update fl.account (marked, 0044)",
    "manual_day": "one counter row per user and region day (0073): its key is the caller's own name, so only the "
                  "same user's other calls can wait on it, never another user's",
}


def test_w4_every_insert_on_a_shared_key_is_marked_for_the_busy_holder_guard(ledger_db: LedgerDB) -> None:
    """(0069) The class: every INSERT … ON CONFLICT in a migrated function body targets a table
    whose inserts mark the statement for fl_guard.end_stuck_writers (an AFTER INSERT trigger
    running fl.contended_written), or one named above with its reason."""
    admin = ledger_db.admin()
    bodies = admin.execute("SELECT p.oid::regprocedure::text AS sig, p.prosrc FROM pg_proc p "
                           "WHERE p.pronamespace = 'fl'::regnamespace").fetchall()
    targets: dict[str, set[str]] = {}
    for b in bodies:
        for stmt in re.findall(r"INSERT\s+INTO\s+(?:fl\.)?(\w+)[^;]*?ON\s+CONFLICT", b["prosrc"], re.I | re.S):
            targets.setdefault(stmt.lower(), set()).add(b["sig"])
    assert {"account", "bank_account"} <= set(targets), targets
    marked = {r["tbl"] for r in admin.execute(
        "SELECT c.relname AS tbl FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = 'fl'::regnamespace AND t.tgfoid = 'fl.contended_written()'::regprocedure "
        "AND t.tgenabled = 'O' AND (t.tgtype & 4) <> 0 AND (t.tgtype & 1) = 0").fetchall()}
    unmarked = {t: sorted(fns) for t, fns in targets.items() if t not in marked and t not in UNMARKED_CONFLICT_TARGETS}
    assert unmarked == {}, unmarked
    for t in UNMARKED_CONFLICT_TARGETS:
        for sig in targets.get(t, ()):
            src = next(b["prosrc"] for b in bodies if b["sig"] == sig)
            assert t != "closed_period" or "_lock_closed_period" in src or "_contended_mark" in src, (t, sig)
