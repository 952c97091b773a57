"""ATTACK2 B4, the rows: a login that keeps its transaction open after a call keeps the rows
that call locked. A city login that imported a collection (it locks the pooled special account's
bank row, which every collection and payout needs; since 0039 officers import no collections,
so the stuck writer here is the second reviewer) and stays — with its own timeouts switched
off — must not stall the other offices; a writer that seals early and stays must not hang every
command after its commit; and the guard must never end a writer at work or a reader
(sql/0027_confinement.sql)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.errors import LedgerError
from ledger.store import imports, journal
from ledger.store.db import run_tx
from tests.conftest import LedgerDB
from tests.helpers import collect

pytestmark = pytest.mark.db

HEADER = "date,unit,book,source,amount,reference,component\n"


def _file(tmp: Path, name: str, unit: str, ref: str) -> Path:
    f = tmp / name
    f.write_text(HEADER + f"2023-03-10,{unit},RES,contribution,100.00,{ref},\n", "utf-8")
    return f


def _stuck_officer(db: LedgerDB, tmp: Path) -> tuple[psycopg.Connection, int]:
    """rev2 imports a collection (its bank row is the pooled special account's), switches off
    every timeout it may, and stays in the transaction."""
    o22 = db.connect("rev2", autocommit=True)
    limits = ["idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout"]
    if int(o22.execute("SHOW server_version_num").fetchone()["server_version_num"]) >= 170000:
        limits.append("transaction_timeout")
    for s in limits:                       # every one of them is the user's to switch off
        o22.execute(f"SET {s} = 0")
    o22.autocommit = False
    imports.import_file(o22, "collections", _file(tmp, "mine.csv", "230822", "STUCK-1"))
    pid = int(o22.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])
    return o22, pid


def _alive(db: LedgerDB, pid: int) -> bool:
    return bool(db.admin().execute("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()["n"])


def test_a_stuck_officer_does_not_stall_the_other_offices(ledger_db: LedgerDB, tmp_path: Path) -> None:
    o22, pid = _stuck_officer(ledger_db, tmp_path)
    # A reader in a long snapshot (the auditor's verify) and a young write transaction are never ended.
    aud = ledger_db.connect("aud")
    aud.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    aud.execute("SELECT count(*) FROM fl.entry")
    aud_pid = int(aud.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])
    fin = ledger_db.connect("fin", autocommit=False)
    t0 = time.monotonic()
    out = run_tx(fin, lambda c: imports.import_file(c, "collections", _file(tmp_path, "other.csv", "230881", "OK-81")))
    took = time.monotonic() - t0
    assert out.rows_posted == 1
    assert took < 40, took
    assert not _alive(ledger_db, pid), "the stuck officer still holds the pooled row"
    with pytest.raises(psycopg.OperationalError):
        o22.execute("SELECT 1")
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_line WHERE reference = 'STUCK-1'"
                                     ).fetchone()["n"] == 0
    # The reader (no write, however old) and a writer whose transaction is seconds old are alive.
    young = ledger_db.connect("rev")
    young.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([{
        "date": "2023-03-01", "book": "RES", "idempotency_key": "young", "postings": [
            {"account": "1101", "unit": "230800", "side": "D", "amount": 1},
            {"account": "2001", "unit": "230800", "side": "C", "amount": 1}]}]),))
    young_pid = int(young.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])
    time.sleep(2.5)
    assert ledger_db.connect("fin", autocommit=True).execute("SELECT fl.end_stuck_writers() AS n").fetchone()["n"] == 0
    assert _alive(ledger_db, aud_pid) and _alive(ledger_db, young_pid)
    young.commit()
    aud.commit()


def test_a_waiter_is_told_within_seconds_whatever_it_set(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The function's lock_timeout wins over the caller's own SET lock_timeout = 0: a caller
    queued behind the held row hears "locked … run it again" within seconds, never hangs."""
    fin = ledger_db.connect("fin", autocommit=True)
    held = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                       (json.dumps([collect("w-1", "2023-03-11", "230881", "1.00")]),)).fetchone()["held_id"]
    _o22, pid = _stuck_officer(ledger_db, tmp_path)
    rev = ledger_db.connect("rev", autocommit=True)
    rev.execute("SET lock_timeout = 0")
    t0 = time.monotonic()
    with pytest.raises(psycopg.errors.LockNotAvailable):
        rev.execute("SELECT * FROM fl.confirm_entry(%s)", (held,))
    assert time.monotonic() - t0 < 15
    # The library's answer once its retries are spent: a refusal in words, nothing written.
    from ledger import i18n
    from ledger.store.translate import translate

    saved = i18n.get_lang()
    i18n.set_lang("en")
    try:
        rev.execute("SELECT * FROM fl.confirm_entry(%s)", (held,))
    except psycopg.Error as e:
        err: LedgerError = translate(e)
        assert err.rule == "busy" and "run the command again" in err.message, err.message
    else:
        raise AssertionError("the confirmation did not wait for the held row")
    finally:
        i18n.set_lang(saved)
    assert _alive(ledger_db, pid)        # seconds old: not stuck yet


def test_an_early_seal_held_open_does_not_hang_the_next_command(ledger_db: LedgerDB) -> None:
    """SET CONSTRAINTS ALL IMMEDIATE fires the deferred seal: the officer then holds the
    journal's chain head. Another user's command commits, and its seal step returns."""
    o22 = ledger_db.connect("o22")
    o22.execute("SET idle_in_transaction_session_timeout = 0")
    o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([{
        "date": "2023-03-01", "book": "RES", "idempotency_key": "early", "postings": [
            {"account": "1101", "unit": "230822", "side": "D", "amount": 1},
            {"account": "2001", "unit": "230822", "side": "C", "amount": 1}]}]),))
    o22.execute("SET CONSTRAINTS ALL IMMEDIATE")
    fin = ledger_db.connect("fin")
    t0 = time.monotonic()
    rows = run_tx(fin, lambda c: c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([{
        "date": "2023-03-02", "book": "RES", "idempotency_key": "after", "postings": [
            {"account": "1101", "unit": "230881", "side": "D", "amount": 1},
            {"account": "2001", "unit": "230881", "side": "C", "amount": 1}]}]),)).fetchall())
    assert rows[0]["status"] == "posted"
    journal.seal_queued(fin)
    assert time.monotonic() - t0 < 10
    o22.rollback()
    # Once the head is free the queued entry gets its voucher.
    journal.seal_queued(fin)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.seal s JOIN fl.entry e ON e.id = s.entry_id "
                                     "WHERE e.idempotency_key = 'manual:fin:after'").fetchone()["n"] == 1


def test_every_api_function_that_writes_bounds_its_lock_waits(ledger_db: LedgerDB) -> None:
    rows: list[dict[str, Any]] = ledger_db.admin().execute("""
        SELECT p.oid::regprocedure::text AS f, coalesce(array_to_string(p.proconfig, ','), '') AS cfg
          FROM pg_proc p
         WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef AND p.provolatile = 'v'
           AND EXISTS (SELECT 1 FROM unnest(ARRAY['fl_officer', 'fl_reviewer', 'fl_finance', 'fl_admin']) g
                        WHERE has_function_privilege(g, p.oid, 'EXECUTE'))""").fetchall()
    assert len(rows) > 25
    unbounded = [r["f"] for r in rows if not any(s in r["cfg"] for s in ("lock_timeout=5s", "lock_timeout=2s"))]
    assert unbounded == []
