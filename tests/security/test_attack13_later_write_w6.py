"""ATTACK13 W6: a write that records its inputs records what it read, and is judged by exactly that.

Z1's fix re-derived an interest allocation's weights, an in-year adjustment-fund allocation's caps and
a pre-allocation's basis "as the books stood at the write", knowing the moment only by the clock: it
widened each figure by every write within ``WRITE_SLACK`` (5 minutes) of it, both ways. W6: an import
of ¥2,000,000 and its reversal beside a forged allocation were room enough for the forgery, and the
verdict was whole.

0094: the statement that computes the inputs records, in the same snapshot, the chain position it
saw, the entries queued for sealing then and its own transaction's (source key ``seen``). The verdict
re-derives the inputs from exactly those entries — no slack, no widening — and holds the mark to the
chain and the clock. Here: the attack on each of the three (named, online and offline alike); honest
allocations with writes committed just before and after, one in flight while it read, one queued
behind a taken chain head, and threads writing all the while (whole); a mark forged beyond the head,
older than its moment or listing an entry that was never queued (named); a DBA's rewrite of a
recorded mark (named by the history).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.core import fund_rules
from ledger.core.interest import allocate_interest
from ledger.store import adjfund
from tests.conftest import LedgerDB
from tests.helpers import collect, confirmed, entry, leg, post, reclass
from tests.security.test_attack7_rules import funded, named, suspended, verdict
from tests.security.test_fund_rules_rederived import (
    ALLOCATE,
    INTEREST,
    Q2,
    SHARE_CHECK,
    _fund,
    _interest,
    _weights,
)
from tests.security.test_rules_rederived import _budget, _prealloc, offline

__all__ = ["funded"]

pytestmark = pytest.mark.db

PREALLOCATE = "fl.preallocate(integer,date,jsonb)"
BASIS = "fl._prealloc_basis(integer,text,text,text)"
CAP_OFF = ("AND l.amount > greatest(12 * c.basis - c.held, 0)", "AND false")
MARK = "'seen', fl._read_mark()"


def _seen(db: LedgerDB, eid: int) -> dict[str, Any]:
    row = db.admin().execute("SELECT source->'seen' AS s FROM fl.entry WHERE id = %s", (eid,)).fetchone()
    assert row is not None and isinstance(row["s"], dict), row
    return dict(row["s"])


def _head(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT seq FROM fl.chain_head").fetchone()["seq"])


def _undo(db: LedgerDB, eid: int, date: str, key: str) -> int:
    row = confirmed(db.connect("fin", autocommit=True),
                    "SELECT * FROM fl.reverse_entry(%s, 'w6: keyed twice', %s::date, %s)", (eid, date, key),
                    checker="rev")
    assert row["status"] == "posted", row
    return int(row["entry_id"])


def _not_the_legacy_way(monkeypatch: pytest.MonkeyPatch, db: LedgerDB, eid: int) -> None:
    """Without the mark (Z1's widening, as for an entry written before 0094) the same forgery is
    whole: what W6 reported."""
    with monkeypatch.context() as m:
        m.setattr(fund_rules, "mark_of", lambda source: None)
        found = verdict(db)
    assert not any(f.get("entry_id") == eid for fs in found.values() for f in fs), json.dumps(found, default=str)


# ---- the attack, on each of the three -------------------------------------------------------------

def test_w6_a_forged_interest_weight_beside_an_import_and_its_reversal_is_named(
        funded: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """¥2,000,000 collected for 230822 dated 1 May and reversed at once; then an interest allocation
    whose hold records 230822's weight as if the collection stood (¥2,000,000 × 61 days more), its
    shares the rule's over that — all within a minute, the default ``WRITE_SLACK``. The mark says
    what the hold read: both, so the weight is exactly the books', and the forgery is named."""
    admin, fin = funded.admin(), funded.connect("fin", autocommit=True)
    big = post(fin, collect("w6-big", "2023-05-01", "230822", "2000000.00"))[0]["entry_id"]
    _undo(funded, big, "2023-05-01", "w6-undo")
    weights = _weights(fin, *Q2)
    key = next(k for k in sorted(weights) if k.startswith("230822"))
    unit, _, comp = key.partition("/")
    extra = 200000000 * ((Q2[1] - dt.date(2023, 5, 1)).days + 1)
    forged = {k: w + (extra if k == key else 0) for k, w in weights.items()}
    with suspended(admin, INTEREST, *SHARE_CHECK), \
         suspended(admin, INTEREST, "s.weight ORDER BY s.unit, s.component)",
                   f"s.weight + CASE WHEN (s.unit, s.component) = ('{unit}', '{comp}') THEN {extra} ELSE 0 END "
                   "ORDER BY s.unit, s.component)"):
        eid = _interest(fin, *Q2, "w6-q2", allocate_interest(100000, forged))
    f = named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")
    assert f"recorded a weight of {forged[key]:,} for {key}" in str(f["message"]), f
    assert f"sum to {weights[key]:,} (the entries at or below chain position" in str(f["message"]), f
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]
    _not_the_legacy_way(monkeypatch, funded, eid)


def test_w6_forged_adjfund_caps_beside_an_import_and_its_reversal_are_named(
        ledger_db: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """230822's gap is 600.00; ¥2,000,000 of revenue collected for it and reversed just before an
    allocation whose gap for it is read doubled for one call (shares by 1,200 / 200: 685.71 to a
    unit whose gap is 600.00; the widening allowed 0 … 2,000,600.00)."""
    _fund(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    big = post(fin, collect("w6-rev", "2023-03-01", "230822", "2000000.00"))[0]["entry_id"]
    _undo(ledger_db, big, "2023-03-01", "w6-rev-undo")
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, "- f.adjustment_receipts, 0)::bigint ORDER BY f.unit),",
                   "- f.adjustment_receipts, 0)::bigint * CASE f.unit WHEN '230822' THEN 2 ELSE 1 END ORDER BY f.unit),"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=80000,
                               on=dt.date(2023, 5, 1), key="w6-over")
    assert {a.unit: a.amount for a in got} == {"230822": 68571, "230881": 11429}    # by 1,200 / 200, not 600 / 200
    eid = min(a.entry_id for a in got)
    f = named(verdict(ledger_db), "workflows", entry_id=eid, words="adjfund_cap")
    assert "recorded a gap of 1,200.00 for unit 230822; the books at its moment give 600.00 (" in str(f["message"]), f
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]
    _not_the_legacy_way(monkeypatch, ledger_db, eid)


def _top_up(db: LedgerDB, key: str, date: str, unit: str, yuan: str) -> int:
    return int(post(db.connect("fin", autocommit=True),
                    entry(key, date, "RES", leg("1004", unit, "D", yuan, "county_exp"),
                          leg("1003", unit, "C", yuan, "special")))[0]["entry_id"])


def test_w6_a_forged_preallocation_basis_beside_a_top_up_and_its_reversal_is_named(
        funded: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The county's expenditure account topped up by ¥1,000,000 and the top-up reversed at once;
    the hold records the account as holding −¥1,000,000 (a cap ¥1,000,000 larger): the widening
    allowed −1,000,000 … 1,000,000; the mark says the account held nothing."""
    admin = funded.admin()
    _budget(funded)
    post(funded.connect("fin", autocommit=True), collect("w6-more", "2023-01-20", "230822", "5000000.00"))
    top = _top_up(funded, "w6-top", "2023-01-21", "230822", "1000000.00")
    _undo(funded, top, "2023-01-21", "w6-top-undo")
    with suspended(admin, PREALLOCATE, *CAP_OFF), \
         suspended(admin, BASIS, "'county_account_held', (SELECT a.balance",
                   "'county_account_held', (SELECT a.balance - 100000000"):
        eid = _prealloc(funded, 2023, "2023-01-31", "230822", 300000000)
    f = named(verdict(funded), "workflows", entry_id=eid, words="preallocation_cap")
    assert "held -1,000,000.00; the postings it read (chain position" in str(f["message"]), f
    assert str(f["message"]).endswith("sum to 0.00 (preallocation_cap)"), f
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]
    _not_the_legacy_way(monkeypatch, funded, eid)


# ---- honest and busy: exactly what it read ------------------------------------------------------------

class _Busy:
    """Writes around a reader: one committed while the chain head is taken (queued, seen, sealed
    after it), then one confirmed in a transaction left open while it reads (not seen; it holds the
    pooled bank account's row, so it comes last), and many committed just before and just after."""

    def __init__(self, db: LedgerDB) -> None:
        self.db = db
        self.fin = db.connect("fin", autocommit=True)

    def held(self, doc: dict[str, Any]) -> int:
        row = self.fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
        assert row is not None and row["status"] == "held", row
        return int(row["held_id"])

    def in_flight(self, doc: dict[str, Any]) -> psycopg.Connection:
        """``doc`` confirmed by a reviewer whose transaction stays open."""
        rev = self.db.connect("rev")
        assert rev.execute("SELECT status FROM fl.confirm_entry(%s)", (self.held(doc),)).fetchone()["status"] == "posted"
        return rev

    def queued(self, doc: dict[str, Any]) -> tuple[psycopg.Connection, int]:
        """``doc`` committed while another session holds the chain head: queued, not sealed."""
        hold = self.db.connect(None)
        hold.execute("SELECT seq FROM fl.chain_head WHERE id FOR UPDATE").fetchone()
        rev = self.db.connect("rev", autocommit=True)
        row = rev.execute("SELECT entry_id, status FROM fl.confirm_entry(%s)", (self.held(doc),)).fetchone()
        assert row["status"] == "posted", row
        eid = int(row["entry_id"])
        assert self.db.admin().execute("SELECT 1 FROM fl.seal_queue WHERE entry_id = %s", (eid,)).fetchone()
        return hold, eid

    def many(self, key: str, n: int, date: str, *units: str) -> None:
        post(self.fin, *(collect(f"{key}-{i}", date, units[i % len(units)], f"{(i + 1) * 1000}.00") for i in range(n)))


@pytest.fixture
def writers(funded: LedgerDB) -> Iterator[threading.Event]:
    """Officers posting reclassifications dated in the period while the test runs (nearby writes of
    every kind the verdict must place): stopped and joined at the end."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(user: str, unit: str) -> None:
        c = funded.connect(user, autocommit=True)
        i = 0
        try:
            while not stop.is_set() and i < 300:
                i += 1
                time.sleep(0.02)
                c.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                          (json.dumps([reclass(f"w6-bg-{user}-{i}", "2023-05-20", unit, "1.00")]),)).fetchall()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(u, x)) for u, x in (("o22", "230822"), ("o81", "230881"))]
    for t in threads:
        t.start()
    yield stop
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors


def test_an_honest_interest_allocation_amid_writes_stays_whole(funded: LedgerDB, tmp_path: Path,
                                                               writers: threading.Event) -> None:
    """Twelve collections dated in the period committed just before the hold, one confirmed in a
    transaction still open while it reads, one queued behind a taken chain head, twelve more just
    after, officers writing throughout: the allocation's weights are exactly the books it read."""
    busy = _Busy(funded)
    busy.many("w6-pre", 12, "2023-05-10", "230822", "230881", "230800")
    hold, queued = busy.queued(collect("w6-queued", "2023-04-20", "230822", "300000.00"))
    late = busy.in_flight(collect("w6-flight", "2023-04-15", "230881", "700000.00"))
    fin = busy.fin
    weights = _weights(fin, *Q2)
    doc = [{"unit": k.split("/")[0], "component": k.partition("/")[2], "amount": v}
           for k, v in allocate_interest(100000, weights).items() if v]
    held = fin.execute("SELECT * FROM fl.allocate_interest('RES', %s, 'w6-honest', 100000, %s, %s, %s::jsonb)",
                       (Q2[1], *Q2, json.dumps(doc))).fetchone()
    assert held is not None and held["status"] == "held", held
    late.commit()                               # written while it read, committed after: not seen
    hold.rollback()                             # the head free again: the queue is sealed by the next commit
    busy.many("w6-post", 12, "2023-05-10", "230822", "230881", "230800")
    row = funded.connect("rev", autocommit=True).execute("SELECT entry_id, status FROM fl.confirm_entry(%s)",
                                                         (held["held_id"],)).fetchone()
    assert row["status"] == "posted", row
    eid = int(row["entry_id"])
    seen = _seen(funded, eid)
    assert queued in seen["queued"] and seen["own"] == [] and seen["seq"] < _head(funded), seen
    assert verdict(funded) == {}
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    assert funded.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud").exit_code == 0
    r = funded.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert r.exit_code == 0, r.stdout[-3000:]


def test_an_honest_adjfund_allocation_amid_writes_stays_whole(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Revenue for 230822 committed just before (its gap 500.00), spending by 230881 in flight while
    the caps are read (its gap 200.00, not 300.00), revenue queued behind a taken head (seen), more
    just after: the caps are exactly the books the allocation read."""
    _fund(ledger_db)
    busy = _Busy(ledger_db)
    post(busy.fin, collect("w6-a-pre", "2023-03-01", "230822", "100.00"))
    late = busy.in_flight(entry("w6-a-flight", "2023-04-30", "RES", leg("5001.inpatient", "230881", "D", "100.00"),
                                leg("2001", "230881", "C", "100.00")))     # (no account the allocation writes)
    hold, queued = busy.queued(collect("w6-a-queued", "2023-03-02", "230822", "50.00"))
    got = busy.fin.execute("SELECT * FROM fl.adjfund_allocate(2023, 'RES', 40000, '2023-05-01', 'w6-in23')").fetchall()
    late.commit()
    hold.rollback()
    post(busy.fin, collect("w6-a-post", "2023-03-03", "230822", "100.00"))
    eid = min(int(a["entry_id"]) for a in got)
    seen = _seen(ledger_db, eid)
    assert seen["queued"] == [queued], seen
    caps = ledger_db.admin().execute("SELECT source->'caps' AS c FROM fl.entry WHERE id = %s", (eid,)).fetchone()["c"]
    assert caps == {"230822": 45000, "230881": 20000}, caps
    assert verdict(ledger_db) == {}
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    assert ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud").exit_code == 0
    assert ledger_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json").exit_code == 0


def test_an_honest_preallocation_amid_writes_stays_whole(funded: LedgerDB, tmp_path: Path,
                                                          writers: threading.Event) -> None:
    """Last year's spending grown by an entry queued behind a taken head (seen), the county's
    account topped up in a transaction open while the basis is read (not seen), top-ups and
    spending just before and after, officers writing throughout."""
    _budget(funded)
    busy = _Busy(funded)
    post(busy.fin, collect("w6-p-c22", "2022-03-01", "230822", "2000000.00"),
         collect("w6-p-more", "2023-01-20", "230822", "5000000.00"))
    _top_up(funded, "w6-p-top", "2023-01-21", "230822", "100000.00")
    hold, queued = busy.queued(entry("w6-p-spent", "2022-12-30", "RES", leg("5001.inpatient", "230822", "D", "40000.00"),
                                     leg("1003", "230822", "C", "40000.00", "special")))
    late = busy.in_flight(entry("w6-p-flight", "2023-01-22", "RES", leg("1004", "230822", "D", "50000.00", "county_exp"),
                                leg("1003", "230822", "C", "50000.00", "special")))
    rev = funded.connect("rev", autocommit=True)
    out = rev.execute("SELECT * FROM fl.preallocate(2023, '2023-01-31', %s::jsonb)",
                      (json.dumps([{"unit": "230822", "book": "RES", "amount": 10000000}]),)).fetchone()
    assert out["status"] == "held", out
    late.commit()
    hold.rollback()
    _top_up(funded, "w6-p-top-2", "2023-02-01", "230822", "200000.00")
    done = funded.connect("fin", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)",
                                                          (out["held_id"],)).fetchone()
    assert done["status"] == "posted", done
    eid = int(done["entry_id"])
    cap = funded.admin().execute("SELECT source->'cap' AS c FROM fl.entry WHERE id = %s", (eid,)).fetchone()["c"]
    assert cap["county_account_held"] == 10000000 and cap["prior_year_expenditure"] == 4000000, cap
    assert queued in _seen(funded, eid)["queued"]
    assert verdict(funded) == {}
    d, filed = tmp_path / "export", tmp_path / "filed.json"
    assert funded.cli("audit", "export", str(d), "--digest-out", str(filed), user="aud").exit_code == 0
    assert funded.cli("verify", "--offline", str(d), "--digest", str(filed), "--json").exit_code == 0


# ---- the mark itself ----------------------------------------------------------------------------------

def _forged_mark_interest(db: LedgerDB, mark_sql: str, weights: dict[str, int] | None = None) -> int:
    """An interest allocation whose hold records ``mark_sql`` as what it read (and, when given,
    ``weights`` — the books at that mark — as its weights, the shares the rule's over them)."""
    admin, fin = db.admin(), db.connect("fin", autocommit=True)
    honest = _weights(fin, *Q2)
    table = allocate_interest(100000, weights or honest)
    with suspended(admin, INTEREST, *SHARE_CHECK), suspended(admin, INTEREST, MARK, f"'seen', {mark_sql}"):
        if weights is None:
            return _interest(fin, *Q2, "w6-mark", table)
        cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in weights.items())
        with suspended(admin, INTEREST, "s.weight ORDER BY s.unit, s.component)",
                       "CASE s.unit || CASE WHEN s.component <> '' THEN '/' || s.component ELSE '' END "
                       f"{cases} ELSE s.weight END ORDER BY s.unit, s.component)"):
            return _interest(fin, *Q2, "w6-mark", table)


def test_a_mark_beyond_the_chain_is_named(funded: LedgerDB) -> None:
    eid = _forged_mark_interest(funded, "jsonb_set(fl._read_mark(), '{seq}', '1000000')")
    f = named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")
    assert "up to chain position 1,000,000; the chain reaches" in str(f["message"]), f


def test_a_mark_older_than_its_moment_is_named(funded: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hold records the weights of the books before a collection that stands (and says it read
    no further): the collection was sealed more than ``MARK_SLACK`` (1 s here) before it read."""
    monkeypatch.setattr(fund_rules, "MARK_SLACK", dt.timedelta(seconds=1))
    fin = funded.connect("fin", autocommit=True)
    before, old = _weights(fin, *Q2), _head(funded)
    post(fin, collect("w6-stands", "2023-05-01", "230822", "2000000.00"))
    time.sleep(1.5)
    eid = _forged_mark_interest(funded, f"jsonb_set(fl._read_mark(), '{{seq}}', '{old}')", before)
    f = named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")
    assert f"up to chain position {old:,} at" in str(f["message"]) and "the books it names are older" in str(f["message"]), f


def test_a_mark_listing_an_entry_that_was_never_queued_is_named(funded: LedgerDB, tmp_path: Path) -> None:
    """W6 with a forged mark: the books as if the reversal stood and the import did not (a state the
    chain never had) — position before the import, the reversal listed as queued. The history says
    the reversal was sealed at its commit, never queued."""
    fin = funded.connect("fin", autocommit=True)
    before = _head(funded)
    big = post(fin, collect("w6-q-big", "2023-05-01", "230822", "2000000.00"))[0]["entry_id"]
    undo = _undo(funded, big, "2023-05-01", "w6-q-undo")
    weights = _weights(fin, *Q2)
    key = next(k for k in sorted(weights) if k.startswith("230822"))
    less = {k: w - (200000000 * 61 if k == key else 0) for k, w in weights.items()}
    eid = _forged_mark_interest(funded, f"jsonb_set(jsonb_set(fl._read_mark(), '{{seq}}', '{before}'), '{{queued}}', "
                                        f"'[{undo}]')", less)
    f = named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")
    assert f"lists entry {undo} as queued for sealing" in str(f["message"]), f
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_a_mark_rewritten_by_the_dba_is_named_by_the_history(funded: LedgerDB) -> None:
    """The mark is in the entry's source, which its chained history version holds: a DBA who moves
    the recorded position afterwards (triggers off) is named."""
    fin = funded.connect("fin", autocommit=True)
    eid = _interest(fin, *Q2, "w6-dba", allocate_interest(100000, _weights(fin, *Q2)))
    assert verdict(funded) == {}
    admin = funded.admin()
    admin.execute("BEGIN")
    admin.execute("SET LOCAL session_replication_role = replica")
    admin.execute("UPDATE fl.entry SET source = jsonb_set(source, '{seen,seq}', to_jsonb((source #>> '{seen,seq}')::int - 1)) "
                  "WHERE id = %s", (eid,))
    admin.execute("COMMIT")
    found = verdict(funded)
    assert any(f.get("entry_id") == eid or str(eid) in str(f.get("message")) for f in found.get("histories", [])), found
