"""The sixth attack's findings T6, T3's addendum, T16 and T7 (/work/coord/ATTACK6.md), each
through the attacker's own login with every timeout it may set switched off.

* T6 — a reviewer called ``fl.close_year_lock`` (SHARE ROW EXCLUSIVE on fl.year_close and
  fl.closed_period, in its own transaction) and stayed idle: every posting writer of the ledger
  waited, and the stuck-writer guard did not see it (LOCK TABLE assigns no xid). 0050 drops the
  lock-only call (the close computes its table under its own locks, in one call) and the guard
  ends an idle holder of a table lock on fl with or without an xid.
* T3 addendum — ``SET CONSTRAINTS ALL IMMEDIATE`` after a post fires the seal at once: the
  caller holds the chain head, then stalls on ClientWrite. Every other entry is queued (no
  voucher; the CLI now says ``entry #id``), and the guard (0044) ends the holder.
* T16 — one ``fl.post_entries`` call is bounded (entries, postings, bytes), ``fl._hold`` is
  set-based, and a maker holds at most 2,000 open held entries.
* T7 — an entry by hand on 1201 (bonds) or 2101 (borrowing) is held for a second person."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.store import journal, yearend
from ledger.store.db import run_tx
from tests.conftest import LedgerDB
from tests.helpers import entry, leg, reclass
from tests.security.test_busy_holders import _alive, _no_limits

pytestmark = pytest.mark.db

POST = "SELECT * FROM fl.post_entries(%s::jsonb)"
SEALED = ("SELECT (s.voucher_no IS NOT NULL) AS sealed FROM fl.entry e LEFT JOIN fl.seal s ON s.entry_id = e.id "
          "WHERE e.idempotency_key LIKE %s")


def _pid(c: psycopg.Connection) -> int:
    return int(c.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]


def _refused(c: psycopg.Connection, sql: str, params: tuple[Any, ...] = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as ei:
        c.execute(sql, params)
    c.rollback()
    return ei.value


# ---- T6: no call leaves a table lock behind ----------------------------------------------------

def test_the_lock_only_close_call_is_gone(ledger_db: LedgerDB) -> None:
    rev = ledger_db.connect("rev")
    _no_limits(rev)
    e = _refused(rev, "SELECT fl.close_year_lock(2023)")
    assert isinstance(e, psycopg.errors.UndefinedFunction), e


def test_the_close_computes_the_rules_table_in_one_call(ledger_db: LedgerDB) -> None:
    """The reviewer's close (CLI path): the table stored is the rule's, computed by the database
    under the close's locks; after the call the reviewer's transaction may stay open only as a
    writer the guard sees (it wrote the close)."""
    rev = ledger_db.connect("rev")
    fin = ledger_db.connect("fin")
    run_tx(fin, lambda c: c.execute(POST, (json.dumps([reclass("t6-a", "2023-03-01", "230822", "1.00")]),)))
    res = yearend.close_year(rev, 2023, dt.date(2023, 12, 31))
    rev.commit()
    assert res.books
    stored = yearend.closed_years(rev, 2023)
    assert set(stored) == {b.book for b in res.books}
    e = _refused(rev, "SELECT * FROM fl.close_year_from_books(2023, '2023-12-31'::date)")
    assert e.diag.constraint_name == "year_closed", e


def test_an_idle_holder_of_a_table_lock_without_an_xid_is_ended(ledger_db: LedgerDB) -> None:
    """The attack as run, against the guard itself: 0040's lock-only call is put back (as the
    owner's, like any API function) and the reviewer calls it, then stays idle in its
    transaction (no xid: LOCK TABLE writes nothing). Finance's entry goes through within the
    library's retries; the reviewer's session is ended."""
    adm = ledger_db.admin()
    adm.execute("""
      CREATE FUNCTION fl.close_year_lock(p_year int) RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
      BEGIN
        LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
        LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
      END $$;
      ALTER FUNCTION fl.close_year_lock(int) OWNER TO fl_owner;
      GRANT EXECUTE ON FUNCTION fl.close_year_lock(int) TO fl_reviewer;""")
    hog = ledger_db.connect("rev2")
    _no_limits(hog)
    pid = _pid(hog)
    hog.execute("SELECT fl.close_year_lock(2024)")            # ... and stays idle in its transaction
    assert hog.execute("SELECT pg_current_xact_id_if_assigned() AS x").fetchone()["x"] is None  # type: ignore[index]
    fin = ledger_db.connect("fin")
    t0 = time.monotonic()
    rows = run_tx(fin, lambda c: c.execute(POST, (json.dumps(
        [reclass("t6-after", "2023-03-02", "230822", "2.00")]),)).fetchall())
    assert rows[0]["status"] == "posted"
    assert time.monotonic() - t0 < 40
    assert not _alive(ledger_db, pid), "the idle lock holder still freezes the ledger's writers"


# ---- T3 addendum: the seal fired early, then a stall -------------------------------------------

def test_a_seal_fired_early_then_a_stalled_copy_is_ended_and_queued_entries_sealed(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The officer's own login: a direct entry, SET CONSTRAINTS ALL IMMEDIATE (the seal runs now:
    the chain head is its), then a COPY TO STDOUT it does not read (ClientWrite). Another unit's
    entry is queued meanwhile — the CLI shows it as entry #id, with no voucher — and within the
    guard's bounds the holder is ended and the queue sealed."""
    hog = ledger_db.connect("o22")
    _no_limits(hog)
    pid = _pid(hog)
    hog.execute(POST, (json.dumps([reclass("t3-hold", "2023-03-25", "230822", "1.00")]),))
    hog.execute("SET CONSTRAINTS ALL IMMEDIATE")
    held = ledger_db.admin().execute(
        "SELECT count(*) AS n FROM pg_locks WHERE pid = %s AND relation = 'fl.chain_head'::regclass", (pid,)
    ).fetchone()["n"]  # type: ignore[index]
    assert held >= 1, "the seal did not run early: the attack's premise changed"
    stop = threading.Event()

    def stall() -> None:
        try:
            cur = hog.cursor()
            with cur.copy("COPY (SELECT repeat('x', 8000) FROM generate_series(1, 100000000)) TO STDOUT") as cp:
                next(iter(cp))
                stop.wait(90)
        except BaseException:
            pass

    threading.Thread(target=stall, daemon=True).start()
    time.sleep(1)
    f = tmp_path / "rc3.json"
    f.write_text(json.dumps(reclass("t3-other", "2023-03-26", "230881", "3.00")), "utf-8")
    out = ledger_db.cli("--lang", "en", "entry", "post", str(f), user="o81")
    assert out.exit_code == 0, out.stdout + out.stderr
    assert "None" not in out.stdout, out.stdout
    adm = ledger_db.admin()
    queued = adm.execute(SEALED, ("%t3-other",)).fetchone()
    assert queued is not None and queued["sealed"] is False, "the other entry was not queued: the holder was not holding"
    assert "entry #" in out.stdout, out.stdout
    o81 = ledger_db.connect("o81", autocommit=True)
    deadline = time.monotonic() + 40
    while _alive(ledger_db, pid) and time.monotonic() < deadline:
        o81.execute("SELECT fl.seal_pending()")
        time.sleep(0.5)
    stop.set()
    assert not _alive(ledger_db, pid), "the holder of the chain head was not ended"
    o81.execute("SELECT fl.seal_pending()")
    row = adm.execute(SEALED, ("%t3-other",)).fetchone()
    assert row is not None and row["sealed"] is True
    assert adm.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] == 0  # type: ignore[index]


# ---- T16: what one call may cost ---------------------------------------------------------------

def _held(key: str, memo: str = "") -> dict[str, Any]:
    """Dr 5001.inpatient / Cr 1101 for 0.01: held for a second person (3xxx-5xxx)."""
    e = entry(key, "2023-04-01", "RES", leg("5001.inpatient", "230822", "D", "0.01"), leg("1101", "230822", "C", "0.01"))
    for p in e["postings"]:
        p["memo"] = memo
    return e


def test_one_call_is_bounded(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22")
    _no_limits(o22)
    e = _refused(o22, POST, (json.dumps([_held(f"many-{i}") for i in range(1001)]),))
    assert e.diag.constraint_name == "post_call_size" and "1000" in str(e), e
    wide = entry("wide", "2023-04-01", "RES",
                 *[leg("1101", "230822", "D", "0.01") for _ in range(10001)],
                 *[leg("2001", "230822", "C", "0.01") for _ in range(10001)])
    e = _refused(o22, POST, (json.dumps([wide]),))
    assert e.diag.constraint_name == "post_call_size" and "20000" in str(e), e
    big = [_held(f"big-{i}", "m" * 20000) for i in range(450)]
    e = _refused(o22, POST, (json.dumps(big),))
    assert e.diag.constraint_name == "post_call_size" and "8 MB" in str(e), e


def test_a_thousand_held_entries_with_wide_memos_are_held_in_one_call(ledger_db: LedgerDB) -> None:
    """The attack's call at the cap (1,000 held entries, 2 KB memos): held, each with its two
    lines in order and the content hash a re-post matches (idempotent)."""
    o22 = ledger_db.connect("o22")
    _no_limits(o22)
    docs = [_held(f"wide-{i}", "w" * 2000) for i in range(1000)]
    rows = o22.execute(POST, (json.dumps(docs),)).fetchall()
    o22.commit()
    assert [r["status"] for r in rows] == ["held"] * 1000
    assert [r["ord"] for r in rows] == list(range(1, 1001))
    again = o22.execute(POST, (json.dumps(docs),)).fetchall()
    o22.commit()
    assert [r["held_id"] for r in again] == [r["held_id"] for r in rows]
    adm = ledger_db.admin()
    lines = adm.execute("SELECT count(*) AS n, count(DISTINCT pending_id) AS e, min(pos) AS lo, max(pos) AS hi "
                        "FROM fl.pending_posting WHERE pending_id = ANY(%s)",
                        ([r["held_id"] for r in rows],)).fetchone()
    assert (lines["n"], lines["e"], lines["lo"], lines["hi"]) == (2000, 1000, 1, 2)  # type: ignore[index]
    changed = dict(docs[0], memo="other")
    ledger_db.next_region_day("o22")   # the re-sent 1000 counted too: 2,000 manual entries a day (0073)
    e = _refused(o22, POST, (json.dumps([changed]),))
    assert e.diag.constraint_name == "idempotency_conflict", e


def test_open_held_entries_per_maker_are_capped(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22")
    _no_limits(o22)
    for n in range(2):
        o22.execute(POST, (json.dumps([_held(f"cap-{n}-{i}") for i in range(1000)]),))
        o22.commit()
    ledger_db.next_region_day("o22")   # 2,000 manual entries are a day's (0073); the open cap is not
    e = _refused(o22, POST, (json.dumps([_held("cap-one-more")]),))
    assert e.diag.constraint_name == "held_open_cap" and "entry held" in str(e), e
    # A direct entry still posts; the cap is the maker's (another officer holds on).
    assert o22.execute(POST, (json.dumps([reclass("cap-direct", "2023-04-02", "230822", "1.00")]),)
                       ).fetchone()["status"] == "posted"  # type: ignore[index]
    o22.commit()


# ---- T7: bonds and borrowing are held for a second person --------------------------------------

@pytest.mark.parametrize(("dr", "cr"), [("1201", "2101"), ("1201", "2001"), ("1101", "2101")])
def test_bonds_and_borrowing_by_hand_are_held(ledger_db: LedgerDB, dr: str, cr: str) -> None:
    o22 = ledger_db.connect("o22")
    _no_limits(o22)
    big = "10000000000000.00"   # 10^15 fen, the attacker's amount
    r = o22.execute(POST, (json.dumps([entry(f"t7-{dr}-{cr}", "2023-05-01", "RES", leg(dr, "230822", "D", big),
                                             leg(cr, "230822", "C", big))]),)).fetchone()
    o22.commit()
    assert r["status"] == "held" and r["entry_id"] is None, r  # type: ignore[index]
    # A temporary payment against a temporary receipt still posts at once.
    r = o22.execute(POST, (json.dumps([reclass(f"t7-ok-{dr}-{cr}", "2023-05-01", "230822", "1.00")]),)).fetchone()
    o22.commit()
    assert r["status"] == "posted", r  # type: ignore[index]


def test_the_policy_says_so(ledger_db: LedgerDB) -> None:
    rules = [r["rule"] for r in ledger_db.connect("o22").execute("SELECT * FROM fl.manual_policy()").fetchall()]
    assert any("1201" in r and "2101" in r for r in rules), rules
    assert any("1000 entries" in r for r in rules), rules


def test_the_cli_queued_display_names_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A queued entry (no voucher yet) is shown as entry #id, never 'voucher RES/None'."""
    from cli import cmd_core

    printed: list[str] = []
    monkeypatch.setattr(cmd_core.console, "print", lambda s, *a, **k: printed.append(str(s)))
    monkeypatch.setattr(cmd_core, "read", lambda f: {7: None})
    cmd_core._show_posted([journal.PostResult("k1", 7, "posted")], ["RES"], False)
    assert "#7" in printed[0] and "None" not in printed[0], printed
