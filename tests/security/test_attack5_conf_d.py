"""The fifth attack's findings S8, S9 and S10 (/work/coord/ATTACK5.md):

* S10 — an officer committing 1-fen collection imports while the reviewer's ``close year``
  ran made every close refuse (year_close_result): the table was computed before the
  close's locks were taken. ``close_year`` now takes them first (fl.close_year_lock, 0040;
  since 0050 the close computes its table itself under its locks, in one call: ATTACK6 T6).
* S8 — a DBA set ``fl.bank_account.reserved`` (freezing the pool, or releasing what approved
  requests hold) and both verify passes, the offline verdict and check-digest said all
  holds: both passes now recompute it from the approved, not yet disbursed requests."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.store import imports, yearend
from tests.conftest import LedgerDB
from tests.helpers import with_figures

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin")
    assert imports.import_file(fin, "collections", DATA / "collections.csv").rows_posted == 6
    fin.commit()
    return ledger_db


def _one_fen(conn: psycopg.Connection, tmp: Path, ref: str) -> None:
    """The attacker's import: 1 fen of contribution dated in the year being closed, own transaction."""
    f = tmp / f"{ref}.csv"
    f.write_text(f"date,unit,book,source,amount,reference,component\n2023-12-30,230822,RES,contribution,0.01,{ref},\n")
    try:
        imports.import_file(conn, "collections", f)
        conn.commit()
    except Exception:
        conn.rollback()
        raise


# ---- S10: the close computes its table under its own locks ----------------------------------

def test_an_import_committed_while_the_close_computes_does_not_make_it_refuse(
        funded: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race made deterministic: while the close's transaction is still open (its table
    computed and stored by fl.close_year), the officer's import runs in another session. It
    waits for the close (and is then refused: the months are closed); before 0040 it
    committed and the close refused."""
    # (0039: officers import no collections since ATTACK5 S1; the race is any writer's, here the second reviewer's)
    o22 = funded.connect("rev2")
    rev = funded.connect("rev")
    real = yearend.closed_years
    outcome: dict[str, Any] = {}

    def attack() -> None:
        try:
            _one_fen(o22, tmp_path, "RACE-1")
            outcome["import"] = "committed"
        except Exception as e:
            outcome["import"] = getattr(getattr(e, "diag", None), "constraint_name", None) or str(e)

    threads: list[threading.Thread] = []
    calls: list[int] = []

    def closed_then_import(conn: Any, year: int) -> Any:
        calls.append(year)
        if len(calls) == 2 and not threads:      # the second read: after fl.close_year, before the commit
            t = threading.Thread(target=attack)
            threads.append(t)
            t.start()
            t.join(1.0)   # committed within a second unless it waits for the close's locks
        return real(conn, year)

    monkeypatch.setattr(yearend, "closed_years", closed_then_import)
    res = yearend.close_year(rev, 2023, dt.date(2023, 12, 31))
    rev.commit()
    threads[0].join(30)
    assert res.books and any(r.unit == "230822" for r in res.rows)
    assert outcome["import"] != "committed", outcome
    assert "closed" in str(outcome["import"]), outcome
    admin = funded.admin()
    assert admin.execute("SELECT count(*) AS n FROM fl.year_close WHERE year = 2023").fetchone()["n"] >= 1


def test_the_close_succeeds_while_an_officer_keeps_importing(funded: LedgerDB, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack as run: an officer commits 1-fen imports in a loop (own transactions) while
    the reviewer closes; the close goes through at the first attempt, and its table is the
    books' (verify holds afterwards). The imports before the close are in its figures."""
    monkeypatch.setattr("ledger.i18n._current", "en")   # the library's refusals read in English here (6175bb4 made the close's a catalogue message)
    # (0039: officers import no collections since ATTACK5 S1; the race is any writer's, here the second reviewer's)
    o22 = funded.connect("rev2")
    stop = threading.Event()
    counts = {"ok": 0, "refused": 0}

    def hammer() -> None:
        i = 0
        deadline = time.monotonic() + 6
        while not stop.is_set() and time.monotonic() < deadline:
            i += 1
            try:
                _one_fen(o22, tmp_path, f"HAM-{i}")
                counts["ok"] += 1
            except Exception:
                counts["refused"] += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        while counts["ok"] < 3 and t.is_alive():
            time.sleep(0.05)
        rev = funded.connect("rev")
        closes = 0
        for _ in range(2):   # two closes in a row under the hammer: the first closes, the second is 'year_closed'
            try:
                yearend.close_year(rev, 2023, dt.date(2023, 12, 31))
                rev.commit()
                closes += 1
            except Exception as e:
                rev.rollback()
                assert "already closed" in str(e), e
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(30)
    assert closes == 1 and counts["ok"] >= 3, counts
    admin = funded.admin()
    stored = admin.execute("SELECT result FROM fl.year_close WHERE year = 2023 AND book = 'RES'").fetchone()["result"]
    row = next(r for r in stored["rows"] if r["unit"] == "230822")
    # Every committed 1-fen import is dated 2023-12-30: all are in the closed table (none after it).
    base = admin.execute("SELECT coalesce(sum(p.amount), 0) AS s FROM fl.posting p JOIN fl.account a ON a.id = p.account_id "
                         "JOIN fl.chart c ON c.code = a.chart_code JOIN fl.entry e ON e.id = p.entry_id "
                         "WHERE a.book = 'RES' AND a.unit = '230822' AND c.kind = 'revenue' AND p.side = 'C' "
                         "AND e.kind <> 'year_close'").fetchone()["s"]
    assert row["revenue"] == int(base), (row, base)
    v = funded.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, _failing(v)


# ---- S8: reserved is recomputed from the requests --------------------------------------------

def _failing(out: Any) -> list[tuple[str, list[str]]]:
    """What failed, for an assertion's message: the checks of both passes with findings."""
    rep = out.json()
    checks = rep["checks"] + ((rep.get("independent") or {}).get("checks") or [])
    return [(c["name"], [f["message"] for f in c["findings"]][:3]) for c in checks if not c["ok"]]


def _bank_findings(report: dict) -> list[dict]:  # type: ignore[type-arg]
    return [f for c in report["checks"] if c["name"] == "bank_balances" for f in c["findings"]]


def _approved(db: LedgerDB, amount: int = 30_000_000) -> int:
    o81, rev = db.connect("o81", autocommit=True), db.connect("rev", autocommit=True)
    rid = o81.execute("SELECT id FROM fl.request_submit('230881', 'RES', '', 2023, 1, %s, 'q1', 'k-s8')",
                      (amount,)).fetchone()["id"]
    rev.execute("SELECT fl.request_approve(%s, NULL)", (rid,))
    return int(rid)


@pytest.mark.parametrize("forged", ["balance", "0"])
def test_a_forged_reservation_is_a_finding_online_offline_and_in_check_digest(
        funded: LedgerDB, tmp_path: Path, forged: str) -> None:
    _approved(funded)
    digest = tmp_path / "digest.json"
    assert funded.cli("audit", "digest", "--out", str(digest), user="aud").exit_code == 0
    clean = funded.cli("verify", "--json", user="aud")
    assert clean.exit_code == 0, _failing(clean)

    admin = funded.admin()
    admin.execute(f"UPDATE fl.bank_account SET reserved = {forged} WHERE holder = 'special' AND book = 'RES'")
    v = funded.cli("verify", "--json", user="aud")
    assert v.exit_code == 1, v.stdout[-3000:]
    first = _bank_findings(v.json())
    assert first and "approved, not yet disbursed fund requests of book RES sum to 300,000.00" in first[0]["message"], first
    ind = _bank_findings(v.json()["independent"])
    assert ind and "sum to 300,000.00" in ind[0]["message"], ind

    export = tmp_path / "export"
    assert funded.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = funded.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert off.exit_code == 1, off.stdout[-3000:]
    assert any("sum to 300,000.00" in f["message"] for f in _bank_findings(off.json())), off.stdout[-3000:]

    cd = funded.cli("audit", "check-digest", str(digest), "--json", user="aud")
    assert cd.exit_code == 1, cd.stdout[-3000:]
    assert any("sum to 300,000.00" in f["message"] for f in _bank_findings(cd.json())), cd.stdout[-3000:]


def test_reservations_through_the_workflow_verify_clean(funded: LedgerDB, tmp_path: Path) -> None:
    """Approve, void, approve again, disburse: the maintained figure follows the requests,
    and both passes (and the offline verdict) hold at each step."""
    rid = _approved(funded, 10_000_000)
    rev = funded.connect("rev", autocommit=True)
    rev.execute("SELECT fl.request_void(%s, 'duplicate')", (rid,))
    o81 = funded.connect("o81", autocommit=True)
    rid2 = o81.execute("SELECT id FROM fl.request_submit('230881', 'RES', '', 2023, 2, 20000000, 'q2', 'k-s8b')"
                       ).fetchone()["id"]
    rev.execute("SELECT fl.request_approve(%s, 15000000)", (rid2,))
    rid3 = o81.execute("SELECT id FROM fl.request_submit('230881', 'RES', '', 2023, 3, 5000000, 'q3', 'k-s8c')"
                       ).fetchone()["id"]
    rev.execute("SELECT fl.request_approve(%s, NULL, '2023-07-03')", (rid3,))
    fin = funded.connect("fin", autocommit=True)
    fin.execute("SELECT fl.request_disburse(%s, '2023-07-03', NULL)", (rid3,))   # (0126) a Q3 request: in Q3
    admin = funded.admin()
    assert admin.execute("SELECT reserved FROM fl.bank_account WHERE holder = 'special' AND book = 'RES'"
                         ).fetchone()["reserved"] == 15_000_000
    v = funded.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, _failing(v)
    export = tmp_path / "export"
    assert funded.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = funded.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert off.exit_code == 0, _failing(off)


# ---- S9: acknowledgement keys per unit ---------------------------------------------------------

ACK = "SELECT * FROM fl.monitor_acknowledge(%s, 'RES', 'yellow', '2023-11-30', '2023-12-05', %s, %s)"


def test_an_officer_can_neither_squat_nor_probe_another_units_ack_keys(ledger_db: LedgerDB) -> None:
    with_figures(ledger_db, "230822", "230881")
    o22, o81 = ledger_db.connect("o22", autocommit=True), ledger_db.connect("o81", autocommit=True)
    victim_key = "ack:230881:RES:yellow:2023-11-01:2023-12-05:noted"
    # The squat: o22 files its own unit's acknowledgement under 230881's key...
    assert o22.execute(ACK, ("230822", "squat", victim_key)).fetchone()["status"] == "recorded"
    # ...and 230881's officer, acknowledging its own warning with that key, is not refused.
    mine = o81.execute(ACK, ("230881", "noted", victim_key)).fetchone()
    assert mine["status"] == "recorded", mine
    # The probe: asking under the other unit (to learn whether a key exists) is refused first.
    with pytest.raises(psycopg.Error) as e:
        o22.execute(ACK, ("230881", "probe", victim_key))
    assert e.value.diag.constraint_name == "unit_scope", e.value
    assert "already used" not in str(e.value) and "acknowledgement " not in str(e.value), e.value


def test_ack_keys_stay_idempotent_within_a_unit_and_the_chain_holds(ledger_db: LedgerDB) -> None:
    with_figures(ledger_db, "230822", "230881")
    o81 = ledger_db.connect("o81", autocommit=True)
    first = o81.execute(ACK, ("230881", "noted", "k-ack-1")).fetchone()
    assert first["status"] == "recorded"
    again = o81.execute(ACK, ("230881", "noted", "k-ack-1")).fetchone()
    assert (again["id"], again["status"]) == (first["id"], "duplicate")
    with pytest.raises(psycopg.Error) as e:
        o81.execute(ACK, ("230881", "something else", "k-ack-1"))
    assert e.value.diag.constraint_name == "idempotency_conflict", e.value
    rev = ledger_db.connect("rev", autocommit=True)   # the bureau, same key, another unit: its own key space
    assert rev.execute(ACK, ("230822", "noted", "k-ack-1")).fetchone()["status"] == "recorded"
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, _failing(v)
