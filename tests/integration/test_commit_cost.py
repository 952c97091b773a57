"""One entry's commit must not read the journal: its cost may not grow with the ledger.

Measured without timing (speed lives in bench/): the tuples each table served to one
`fl.post_entries` call, from pg_stat_user_tables, after the journal already holds
thousands of entries. A cached plan that scans postings or entries shows up here as
thousands of rows read; index probes read a handful."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.db, pytest.mark.server]

JOURNAL = ("entry", "posting", "seal", "account", "account_day", "bank_account", "import_line")


def _reads(conn) -> dict[str, int]:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = conn.execute(
        "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n "
        "FROM pg_stat_user_tables WHERE schemaname = 'fl'").fetchall()
    return {r["relname"]: int(r["n"]) for r in rows}


def _doc(key: str, i: int = 1) -> dict:
    return {"date": "2023-03-01", "book": "RES", "idempotency_key": key, "postings": [
        {"account": "5001.inpatient", "unit": "230822", "side": "D", "amount": i},
        {"account": "1003", "unit": "230822", "holder": "special", "side": "C", "amount": i}]}


def _direct(key: str, i: int = 1) -> dict:
    """Dr 1101 / Cr 2001: posts at once (no second person), so the journal grows."""
    return {"date": "2023-03-01", "book": "RES", "idempotency_key": key, "postings": [
        {"account": "1101", "unit": "230822", "side": "D", "amount": i},
        {"account": "2001", "unit": "230822", "side": "C", "amount": i}]}


def test_one_entry_reads_a_handful_of_rows_whatever_the_journal_size(ledger_db):
    fin = ledger_db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps({
        "date": "2023-01-02", "book": "RES", "idempotency_key": "seed", "postings": [
            {"account": "1003", "unit": "230822", "holder": "special", "side": "D", "amount": 10**12},
            {"account": "4001", "unit": "230822", "side": "C", "amount": 10**12}]}),))
    for b in range(4):   # 4,000 entries, 8,000 postings, in the journal (a maker holds at most 2,000: 0050)
        fin.execute("SELECT count(*) FROM fl.post_entries(%s)",
                    (json.dumps([_direct(f"bulk-{b}-{i}", i + 1) for i in range(1000)]),))
    for i in range(20):  # warm the session's cached plans
        fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc(f"warm-{i}")),))
    stats = ledger_db.admin()
    fin.execute("SELECT pg_stat_force_next_flush()")
    before = _reads(stats)
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc("measured")),))
    fin.execute("SELECT pg_stat_force_next_flush()")
    after = _reads(stats)
    read = {t: after.get(t, 0) - before.get(t, 0) for t in JOURNAL}
    assert all(n < 100 for n in read.values()), read
