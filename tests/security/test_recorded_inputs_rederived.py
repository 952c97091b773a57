"""ATTACK12 Z1/Z2's class: every input a write recorded and a rule is judged over is re-derived
from the rows as the books stood at the write — whatever was written after it.

0046 (a pre-allocation's basis: the budget in force, last year's expenditure, what the county's
expenditure account held), 0079 (an interest allocation's weights) and 0084 (an in-year
adjustment-fund allocation's caps) record what the SQL computed from the books; a superuser who
switches the check off and forges the recorded input for one call (ATTACK7 U1a's lever) leaves
rows whose shares agree with what they recorded. ``ledger.core.fund_rules`` recomputes each
recorded input from the daily movements, the budget's versions and the postings, less the
entries written after the write, so that a later write neither switches the judgement off (Z1)
nor — when it moves the books to where the forged input said they were — makes it agree; and
honest writes followed by others stay whole. Online and offline word for word.

The variants of ``test_attack12_later_write.py`` and ``test_attack12_prealloc_basis.py``:
each recorded input of 0046 forged alone; later writes that change what the books say now;
the default ``WRITE_SLACK``; the offline verdict.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from ledger.core import fund_rules
from ledger.store import adjfund
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post, reclass
from tests.security.test_attack7_rules import funded, named, suspended, verdict
from tests.security.test_fund_rules_rederived import ALLOCATE, CAP_CHECKS, Q1, _fund, _interest
from tests.security.test_rules_rederived import _budget, _prealloc, offline

__all__ = ["funded"]

pytestmark = pytest.mark.db

PREALLOCATE = "fl.preallocate(integer,date,jsonb)"
BASIS = "fl._prealloc_basis(integer,text,text,text)"
CAP_OFF = ("AND l.amount > greatest(12 * c.basis - c.held, 0)", "AND false")


def _spend(db: LedgerDB, key: str, date: str, unit: str, yuan: str) -> None:
    """``unit`` spends ``yuan`` from the special account (held for a second person, confirmed)."""
    post(db.cached("fin"), entry(key, date, "RES", leg("5001.inpatient", unit, "D", yuan),
                                 leg("1003", unit, "C", yuan, "special")))


def _top_up(db: LedgerDB, key: str, date: str, unit: str, yuan: str) -> None:
    """Finance moves ``yuan`` from the special account down to county ``unit``'s expenditure account."""
    post(db.connect("fin", autocommit=True), entry(key, date, "RES", leg("1004", unit, "D", yuan, "county_exp"),
                                                   leg("1003", unit, "C", yuan, "special")))


# ---- Z1: the in-year allocation's caps, the interest weights --------------------------------------

def test_caps_forged_to_what_later_spending_makes_the_books_say_are_named(ledger_db: LedgerDB, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The caps recorded doubled (1,200 / 400 against gaps of 600 / 200), then spending of 600
    and 200 dated June, written after: the books *now* give the forged caps; the books at the
    allocation's moment do not. Named online and offline alike."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))
    _fund(ledger_db)
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, *CAP_CHECKS[0]), suspended(admin, ALLOCATE, *CAP_CHECKS[1]), \
         suspended(admin, ALLOCATE, "'caps', (SELECT jsonb_object_agg(c.unit, c.cap ORDER BY c.unit)",
                   "'caps', (SELECT jsonb_object_agg(c.unit, c.cap * 2 ORDER BY c.unit)"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=100000,
                               on=dt.date(2023, 5, 1), key="over")
    eid = min(a.entry_id for a in got)
    _spend(ledger_db, "z-later-22", "2023-06-01", "230822", "600.00")
    _spend(ledger_db, "z-later-81", "2023-06-01", "230881", "200.00")
    f = named(verdict(ledger_db), "workflows", entry_id=eid, words="adjfund_cap")
    assert "recorded a gap of 1,200.00 for unit 230822; the books at its moment give 600.00" in str(f["message"]), f
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]


def test_weights_other_than_the_gaps_are_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The rule 'gap' shares by the gaps; with ``fl._adjfund_weights`` tripling 230822's weight for
    one call, 400.00 goes 360.00 / 40.00 (each within its gap of 600.00 / 200.00, so no cap check
    refuses it), the shares agreeing with the weights it recorded: the recorded weights are not
    the gaps, and that is named."""
    _fund(ledger_db)
    with suspended(ledger_db.admin(), "fl._adjfund_weights(text[],bigint[])", "ELSE x.c END",
                   "ELSE x.c * CASE WHEN x.u = '230822' THEN 3 ELSE 1 END END"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=40000,
                               on=dt.date(2023, 5, 1), key="tilted")
    assert {a.unit: a.amount for a in got} == {"230822": 36000, "230881": 4000}
    f = named(verdict(ledger_db), "workflows", entry_id=min(a.entry_id for a in got), words="adjfund_cap")
    assert "recorded weights that are neither its recorded gaps" in str(f["message"]), f
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]


def test_a_write_within_the_slack_does_not_switch_the_check_off(ledger_db: LedgerDB,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The reclassification written at once after the allocation, within ``WRITE_SLACK`` of it
    (it may or may not have been seen: a transaction's time is its start) and changing no gap:
    the caps are judged all the same. (The slack is two seconds here, so that the funding
    written before is plainly before, as in a real ledger where it is days old.)"""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(seconds=2))
    _fund(ledger_db)
    time.sleep(2.5)
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, *CAP_CHECKS[0]), suspended(admin, ALLOCATE, *CAP_CHECKS[1]), \
         suspended(admin, ALLOCATE, "'caps', (SELECT jsonb_object_agg(c.unit, c.cap ORDER BY c.unit)",
                   "'caps', (SELECT jsonb_object_agg(c.unit, c.cap * 2 ORDER BY c.unit)"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=100000,
                               on=dt.date(2023, 5, 1), key="over")
    rows = ledger_db.connect("o22", autocommit=True).execute(
        "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([reclass("z-later", "2023-06-01", "230822", "1.00")]),))
    assert rows.fetchall()[0]["status"] == "posted"
    named(verdict(ledger_db), "workflows", entry_id=min(a.entry_id for a in got), words="adjfund_cap")


def test_honest_allocations_followed_by_writes_that_move_the_books_pass(ledger_db: LedgerDB, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """An honest in-year allocation, then spending of the same units dated in the year (the gaps
    now larger than those it recorded), then an interest allocation and a collection dated in
    its period written after its hold (the weights now other than those it recorded): all whole,
    with no slack and with the default one."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))
    _fund(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=40000, on=dt.date(2023, 5, 1), key="in23")
    _spend(ledger_db, "z-more-22", "2023-06-01", "230822", "300.00")
    _interest(fin, *Q1, "z-q1")
    post(fin, collect("z-late-col", "2023-02-15", "230881", "500.00"))
    assert verdict(ledger_db) == {}
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(minutes=5))
    assert verdict(ledger_db) == {}


# ---- Z2: each input of a pre-allocation's basis ---------------------------------------------------

def test_a_forged_last_years_expenditure_is_named(funded: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No budget: the basis is last year's spending (1,200,000.00: at most 1,200,000.00 beyond
    the empty county account). Recorded ten times over, 3,000,000.00 moves: named."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))   # the writes before: plainly before
    admin = funded.admin()
    post(funded.connect("fin", autocommit=True), collect("z-c22", "2022-03-01", "230822", "2000000.00"),
         collect("z-c23", "2023-01-20", "230822", "5000000.00"))
    _spend(funded, "z-e22", "2022-06-30", "230822", "1200000.00")
    assert verdict(funded) == {}
    with suspended(admin, PREALLOCATE, *CAP_OFF), \
         suspended(admin, BASIS, "'prior_year_expenditure', (SELECT greatest(sum(f.net), 0)",
                   "'prior_year_expenditure', (SELECT 10 * greatest(sum(f.net), 0)"):
        eid = _prealloc(funded, 2023, "2023-01-31", "230822", 300000000)
    f = named(verdict(funded), "workflows", entry_id=eid, words="preallocation_cap")
    assert "recorded last year's expenditure of unit 230822 as 12,000,000.00" in str(f["message"]), f
    assert "give 1,200,000.00" in str(f["message"]), f
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_a_forged_county_account_balance_is_named(funded: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Budget 3,200,000.00, the county's expenditure account holding 1,000,000.00: at most
    2,200,000.00. Recorded as holding nothing, 3,000,000.00 moves: named."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))   # the writes before: plainly before
    admin = funded.admin()
    _budget(funded)
    post(funded.connect("fin", autocommit=True), collect("z-more", "2023-01-20", "230822", "5000000.00"))
    _top_up(funded, "z-top", "2023-01-21", "230822", "1000000.00")
    assert verdict(funded) == {}
    with suspended(admin, PREALLOCATE, *CAP_OFF), \
         suspended(admin, BASIS, "'county_account_held', (SELECT a.balance", "'county_account_held', (SELECT 0 * a.balance"):
        eid = _prealloc(funded, 2023, "2023-01-31", "230822", 300000000)
    f = named(verdict(funded), "workflows", entry_id=eid, words="preallocation_cap")
    assert "expenditure account held 0.00; the postings it read (chain position" in str(f["message"]), f
    assert "sum to 1,000,000.00 (preallocation_cap)" in str(f["message"]), f
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_the_forged_budget_is_named_offline_too(funded: LedgerDB, tmp_path: Path) -> None:
    """Z2 as reported, and the export's verdict word for word."""
    admin = funded.admin()
    _budget(funded)
    post(funded.connect("fin", autocommit=True), collect("z-more", "2023-01-20", "230822", "5000000.00"))
    with suspended(admin, PREALLOCATE, *CAP_OFF), \
         suspended(admin, BASIS, "'budget_expenditure', (SELECT sum(b.amount)",
                   "'budget_expenditure', (SELECT 10 * sum(b.amount)"):
        eid = _prealloc(funded, 2023, "2023-01-31", "230822", 500000000)
    f = named(verdict(funded), "workflows", entry_id=eid, words="preallocation_cap")
    assert "recorded a budget of 32,000,000.00" in str(f["message"]) and "3,200,000.00 (version 1)" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_an_honest_preallocation_followed_by_writes_that_move_its_basis_passes(
        funded: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the hold: the county's account topped up, last year's spending grown by a late
    entry dated in it, the budget adjusted — what the books say now is not what the hold saw,
    and the honest pre-allocation stays whole (no slack, and the default one)."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))
    _budget(funded)
    post(funded.connect("fin", autocommit=True), collect("z-c22", "2022-03-01", "230822", "2000000.00"),
         collect("z-more", "2023-01-20", "230822", "5000000.00"))
    _top_up(funded, "z-top", "2023-01-21", "230822", "100000.00")
    _prealloc(funded, 2023, "2023-01-31", "230822", 100000000)
    _top_up(funded, "z-top-2", "2023-02-01", "230822", "200000.00")
    _spend(funded, "z-late-22", "2022-12-30", "230822", "50000.00")
    rev = funded.connect("rev", autocommit=True)
    rev.execute("SELECT * FROM fl.budget_adjust(2023, '230822', 'RES', %s::jsonb, 'z: more inpatients', 'z-adj')",
                (json.dumps([{"component": "", "line": "5001", "amount": 400000000}]),)).fetchall()
    assert verdict(funded) == {}
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(minutes=5))
    assert verdict(funded) == {}
