"""Issue 15: the year-end close, the government-share register and the adjustment fund's
dates, re-derived by the independent verdict (ledger.core.fund_rules, check ``workflows``).

Each attack switches one SQL rule off for one call as a superuser (``CREATE OR REPLACE``, the
call, the exact definition again: the catalogue sees nothing afterwards), writes the rows the
rule forbids through the ordinary user's call, and asserts that the verdict names the close,
the item or the entry — online and from an export with no database, word for word. The
honest ledger (closes with the fund in the order, allocations in the year and after the
close, the government's payment) passes both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from ledger.core import api_rules, fund_rules
from ledger.core.interest import allocate_interest
from ledger.core.region import parse_region
from ledger.core.shortfall import ShortfallInput, apply_shortfall_rule
from ledger.store import adjfund, cycle, migrate, yearend
from tests.conftest import LedgerDB
from tests.helpers import confirm, confirmed, entry, leg, post
from tests.security.test_attack7_rules import funded, named, suspended, verdict
from tests.security.test_rules_rederived import offline

__all__ = ["funded"]        # the fixture, imported for the tests below

pytestmark = pytest.mark.db

CLOSE = "fl.close_year(integer,date,jsonb)"
ALLOCATE = "fl.adjfund_allocate(integer,text,bigint,date,text)"


def _fund(db: LedgerDB) -> None:
    """Jiamusi with the adjustment fund in the shortfall order (shares by gap); 2023: 230822
    collects 1,000 and spends 1,600 (gap 600), 230881 spends 200 (gap 200); the city proper
    holds the pool's cash."""
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    doc["adjustment_fund"] = {"in_order": True, "remit_rate": "0.02", "allocation_rule": "gap"}
    with db.connect(None) as c:
        migrate.load_reference(c, parse_region(doc, "attack.toml"))
        c.commit()
    post(db.cached("fin"),
         entry("o00", "2022-12-31", "RES", leg("1003", "230800", "D", "100000.00", "special"),
               leg("3001", "230800", "C", "100000.00")),
         entry("c22", "2023-02-01", "RES", leg("1003", "230822", "D", "1000.00", "special"),
               leg("4001", "230822", "C", "1000.00")),
         entry("e22", "2023-04-30", "RES", leg("5001.inpatient", "230822", "D", "1600.00"),
               leg("1003", "230822", "C", "1600.00", "special")),
         entry("e81", "2023-04-30", "RES", leg("5001.inpatient", "230881", "D", "200.00"),
               leg("1003", "230881", "C", "200.00", "special")))


def _honest(db: LedgerDB) -> None:
    """400 allocated for 2023 in 2023 (300 / 100), the close (government 300 / 100), 100 more
    for 2023 in 2024 (75 / 25 of what is owed), 230822's government pays 100, 2024 closed."""
    fin, rev = db.cached("fin"), db.cached("rev")
    assert {a.unit: a.amount for a in adjfund.allocate(fin, year=2023, book="RES", amount=40000,
                                                       on=dt.date(2023, 5, 1), key="in23")} == {
        "230822": 30000, "230881": 10000}
    yearend.close_year(rev, 2023, dt.date(2023, 12, 31))
    assert {a.unit: a.amount for a in adjfund.allocate(fin, year=2023, book="RES", amount=10000,
                                                       on=dt.date(2024, 2, 10), key="late23")} == {
        "230822": 7500, "230881": 2500}
    cycle.government_pay(fin, "230822", "RES", 10000, dt.date(2024, 3, 1), "gp1")


def test_the_fund_rules_are_twins_of_the_api_rules() -> None:
    table = api_rules.by_code()
    for code in ("year_close_result", "register_overpaid", "adjfund_date", "interest_shares", "adjfund_cap"):
        assert table[code].how == "rederived" and table[code].twins == ("workflows",), table[code]


def test_an_honest_ledger_with_the_fund_passes(ledger_db: LedgerDB) -> None:
    """…and the government's payment reversed (0081: its clearing undone by a negative row
    naming the reversal) before 2024 is closed: the share is owed again, nothing is named."""
    _fund(ledger_db)
    _honest(ledger_db)
    fin = ledger_db.cached("fin")
    paid = fin.execute("SELECT entry_id FROM fl.register_clearing WHERE idempotency_key LIKE '%gp1:%'").fetchone()
    done = confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'returned by the bank', '2024-03-05', 'rev-gp1')",
                     (paid["entry_id"],))
    assert done["status"] == "posted", done
    yearend.close_year(ledger_db.cached("rev"), 2024, dt.date(2024, 12, 31))
    assert verdict(ledger_db) == {}


def _forged(db: LedgerDB, year: int, unit: str, more_revenue: int) -> dict[str, list[dict[str, object]]]:
    """The honest table of ``year`` with ``unit``'s revenue raised: the rule applied to the
    raised figure, so the table is consistent with itself and not with the books."""
    rows = []
    for r in yearend.live_table(db.cached("rev"), year, "RES"):
        if r.unit == unit:
            r = apply_shortfall_rule(ShortfallInput(
                r.unit, r.book, r.revenue + more_revenue, r.expenditure, r.surplus_before, r.share_receipts,
                r.outstanding_before, r.adjustment_receipts))
        rows.append({k: v for k, v in dataclasses.asdict(r).items() if k != "book"})
    return {"RES": rows}


def test_a_close_whose_table_does_not_match_the_books(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With the table check of fl.close_year off for one call, the bureau closes 2023 with
    230822's revenue raised by 250: its government share falls from 300 to 50 (the county's
    government is let off 250). The verdict names the close and the unit."""
    _fund(ledger_db)
    fin, rev, admin = ledger_db.cached("fin"), ledger_db.connect("rev", autocommit=True), ledger_db.admin()
    adjfund.allocate(fin, year=2023, book="RES", amount=40000, on=dt.date(2023, 5, 1), key="in23")
    forged = _forged(ledger_db, 2023, "230822", 25000)
    assert next(r for r in forged["RES"] if r["unit"] == "230822")["government_share"] == 5000
    with suspended(admin, CLOSE, "    IF FOUND THEN\n      PERFORM fl.refuse('year_close_result'",
                   "    IF false THEN\n      PERFORM fl.refuse('year_close_result'"):
        rev.execute("SELECT * FROM fl.close_year(2023, '2023-12-31', %s::jsonb)", (json.dumps(forged),)).fetchall()
    f = named(verdict(ledger_db), "workflows", words="year_close_result")
    assert "the close of 2023 for book RES: unit 230822's revenue is 1,250.00" in str(f["message"])
    assert "the books give 1,000.00" in str(f["message"])
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]


def test_a_close_whose_government_share_breaks_the_rule(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The figures are the books', but 230881's government share is 0 and its surplus after
    −100 (the gap charged to its surplus, not its government): the rule is named."""
    _fund(ledger_db)
    rev, admin = ledger_db.connect("rev", autocommit=True), ledger_db.admin()
    table = _forged(ledger_db, 2023, "230822", 0)
    line = next(r for r in table["RES"] if r["unit"] == "230881")
    assert line["government_share"] == 20000
    line.update(government_share=0, surplus_after=line["surplus_after"] - 20000,
                outstanding_after=line["outstanding_after"] - 20000)
    with suspended(admin, CLOSE, "    IF FOUND THEN\n      PERFORM fl.refuse('year_close_result'",
                   "    IF false THEN\n      PERFORM fl.refuse('year_close_result'"):
        rev.execute("SELECT * FROM fl.close_year(2023, '2023-12-31', %s::jsonb)", (json.dumps(table),)).fetchall()
    f = named(verdict(ledger_db), "workflows", words="unit 230881's")
    assert "government_share is 0.00; the rule gives 200.00" in str(f["message"]), f
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]


def test_a_government_payment_beyond_what_its_clearing_records(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With fl.clear_register's posting switched to three times the amount for one call, the
    government's payment of 100 on 230822's 2023 share takes 300 into the special account as
    government-share revenue while the register records 100 settled: the entry is named."""
    _fund(ledger_db)
    _honest(ledger_db)
    assert verdict(ledger_db) == {}
    admin = ledger_db.admin()
    old = ("ps := ARRAY[ROW(1, 1, it.book, dr_code, it.unit, dr_holder, comp, 'D', p_amount, it.reference, NULL)"
           "::fl.new_posting,\n              ROW(1, 2, it.book, cr_code, it.unit, cr_holder, comp, 'C', p_amount, ")
    new = ("ps := ARRAY[ROW(1, 1, it.book, dr_code, it.unit, dr_holder, comp, 'D', 3 * p_amount, it.reference, NULL)"
           "::fl.new_posting,\n              ROW(1, 2, it.book, cr_code, it.unit, cr_holder, comp, 'C', 3 * p_amount, ")
    with suspended(admin, "fl.clear_register(bigint,bigint,date,text)", old, new):
        paid = cycle.government_pay(ledger_db.cached("fin"), "230822", "RES", 5000, dt.date(2024, 4, 1), "gp2")
    eid = paid[0].entry_id
    f = named(verdict(ledger_db), "workflows", entry_id=eid, words="register_overpaid")
    assert "received 150.00 for register item" in str(f["message"]) and "records 50.00" in str(f["message"])
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]


def test_an_allocation_dated_after_its_year_before_the_close(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With the date check of fl.adjfund_allocate off for one call, an allocation for 2023 is
    dated 2024-01-15 while 2023 is still open: it is 2024 money counted as 2023's revenue for
    the rule. The verdict names the entries."""
    _fund(ledger_db)
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, "IF NOT closed AND p_date > make_date(p_year, 12, 31) THEN", "IF false THEN"):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=40000,
                               on=dt.date(2024, 1, 15), key="early")
    found = verdict(ledger_db)
    for a in got:
        f = named(found, "workflows", entry_id=a.entry_id, words="adjfund_date")
        assert f"adjfund-alloc:early:{a.unit} for 2023 dated 2024-01-15" in str(f["message"])
    assert sorted(x["message"] for x in offline(ledger_db, tmp_path, "workflows")) == sorted(
        x["message"] for x in found["workflows"])


def _weights(fin: psycopg.Connection, start: dt.date, end: dt.date) -> dict[str, int]:
    return {r["unit"] + (f"/{r['component']}" if r["component"] else ""): int(r["weight"]) for r in fin.execute(
        "SELECT unit, component, weight FROM fl.interest_shares('RES', 100000, %s, %s) WHERE weight > 0",
        (start, end)).fetchall()}


def _interest(fin: psycopg.Connection, start: dt.date, end: dt.date, key: str,
              shares: dict[str, int] | None = None) -> int:
    """An interest allocation of 1,000.00 dated on its period's last day, held by finance and
    confirmed by the bureau: the rule's shares, or ``shares``; its entry id."""
    table = shares or allocate_interest(100000, _weights(fin, start, end))
    doc = [{"unit": k.split("/")[0], "component": k.partition("/")[2], "amount": v} for k, v in table.items() if v]
    held = fin.execute("SELECT * FROM fl.allocate_interest('RES', %s, %s, 100000, %s, %s, %s::jsonb)",
                       (end, key, start, end, json.dumps(doc))).fetchone()
    assert held is not None
    done = confirm(fin, [int(held["held_id"])], "rev")[0]
    assert done["status"] == "posted", done
    return int(done["entry_id"])


SHARE_CHECK = ("WHERE s.share IS DISTINCT FROM g.amount OR g.n > 1",
               "WHERE false AND (s.share IS DISTINCT FROM g.amount OR g.n > 1)")
INTEREST = "fl.allocate_interest(text,date,text,bigint,date,date,jsonb)"
Q1, Q2 = (dt.date(2023, 1, 1), dt.date(2023, 3, 31)), (dt.date(2023, 4, 1), dt.date(2023, 6, 30))


def test_interest_shared_against_the_rule(funded: LedgerDB, tmp_path: Path) -> None:
    """An honest quarter's interest (dated on its period's last day: its own credit is in that
    day's balance afterwards, not in what its hold saw) passes; with the share check of
    fl.allocate_interest off for one call, the next quarter's moves 300.00 from the largest
    share to the smallest: judged over the weights its hold recorded (0079), the verdict names
    the entry and one of the two units."""
    admin, fin = funded.admin(), funded.connect("fin", autocommit=True)
    _interest(fin, *Q1, "rt15-q1")
    assert verdict(funded) == {}
    table = allocate_interest(100000, _weights(fin, *Q2))
    big, small = max(table, key=lambda k: table[k]), min((k for k in table if table[k]), key=lambda k: table[k])
    table[big] -= 30000
    table[small] += 30000
    with suspended(admin, INTEREST, *SHARE_CHECK):
        eid = _interest(fin, *Q2, "rt15-q2", table)
    f = named(verdict(funded), "workflows", entry_id=eid, words="over the weights its hold recorded (interest_shares)")
    assert any(f"credits {k} {_yuan(table[k])}" in str(f["message"]) for k in (big, small)), f
    assert "2023-04-01 … 2023-06-30" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_interest_whose_recorded_weights_are_not_the_balances(funded: LedgerDB, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With the share check off and the weights it records doubled for one unit, the shares
    agree with what the hold recorded; the daily movements do not. (No other write follows the
    holds here, so the verdict may recompute the weights at once: WRITE_SLACK 0.)"""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))
    admin, fin = funded.admin(), funded.connect("fin", autocommit=True)
    _interest(fin, *Q1, "rt15-q1")
    assert verdict(funded) == {}               # judged against the balances too, and honest
    weights = _weights(fin, *Q2)
    first = sorted(weights)[0]
    forged = {k: w * (2 if k == first else 1) for k, w in weights.items()}
    unit, _, comp = first.partition("/")
    with suspended(admin, INTEREST, *SHARE_CHECK), \
         suspended(admin, INTEREST, "s.weight ORDER BY s.unit, s.component)",
                   f"s.weight * CASE WHEN (s.unit, s.component) = ('{unit}', '{comp}') THEN 2 ELSE 1 END "
                   "ORDER BY s.unit, s.component)"):
        eid = _interest(fin, *Q2, "rt15-q2", allocate_interest(100000, forged))
    f = named(verdict(funded), "workflows", entry_id=eid, words="interest_shares")
    assert f"recorded a weight of {forged[first]:,} for {first}" in str(f["message"]), f
    assert f"sum to {weights[first]:,}" in str(f["message"]), f
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


CAP_CHECKS = (("  IF p_amount > (SELECT coalesce(sum(w.cap), 0)", "  IF false AND p_amount > (SELECT coalesce(sum(w.cap), 0)"),
              ("WHERE w.share > w.cap ORDER BY w.unit LIMIT 1;", "WHERE false ORDER BY w.unit LIMIT 1;"))


def test_an_allocation_in_the_year_beyond_the_gaps(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With both cap checks of fl.adjfund_allocate off for one call, 1,000 is allocated for 2023
    against gaps of 600 and 200: 750 / 250, each above its unit's gap (the county's revenue for
    the rule set aside beyond what it lacked). The verdict names the allocation and the unit."""
    _fund(ledger_db)
    admin = ledger_db.admin()
    with suspended(admin, ALLOCATE, *CAP_CHECKS[0]), suspended(admin, ALLOCATE, *CAP_CHECKS[1]):
        got = adjfund.allocate(ledger_db.cached("fin"), year=2023, book="RES", amount=100000,
                               on=dt.date(2023, 5, 1), key="over")
    assert {a.unit: a.amount for a in got} == {"230822": 75000, "230881": 25000}
    f = named(verdict(ledger_db), "workflows", entry_id=min(a.entry_id for a in got), words="adjfund_cap")
    assert "adjfund-alloc:over for 2023 (1,000.00) gives unit 230822 750.00, more than the gap it recorded for it " \
           "(600.00)" in str(f["message"]), f
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]


def test_an_allocation_whose_recorded_gaps_are_not_the_books(ledger_db: LedgerDB, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An honest allocation passes, judged against the books too (no write follows it here:
    WRITE_SLACK 0); then, with the caps it records doubled for one call, a second one agrees
    with what it recorded and not with the books: the verdict names it and the unit."""
    monkeypatch.setattr(fund_rules, "WRITE_SLACK", dt.timedelta(0))
    _fund(ledger_db)
    admin, fin = ledger_db.admin(), ledger_db.cached("fin")
    adjfund.allocate(fin, year=2023, book="RES", amount=40000, on=dt.date(2023, 5, 1), key="in23")
    assert verdict(ledger_db) == {}
    with suspended(admin, ALLOCATE, "jsonb_object_agg(c.unit, c.cap ORDER BY c.unit)",
                   "jsonb_object_agg(c.unit, c.cap * 2 ORDER BY c.unit)"):
        got = adjfund.allocate(fin, year=2023, book="RES", amount=20000, on=dt.date(2023, 6, 1), key="again")
    assert {a.unit: a.amount for a in got} == {"230822": 15000, "230881": 5000}
    f = named(verdict(ledger_db), "workflows", entry_id=min(a.entry_id for a in got), words="adjfund_cap")
    assert "recorded a gap of 600.00 for unit 230822; the books at its moment give 300.00" in str(f["message"]), f
    assert [x["message"] for x in offline(ledger_db, tmp_path, "workflows")] == [f["message"]]
