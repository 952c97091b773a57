"""Every report reads the government's shortfall receipts as the shortfall rule does (ATTACK14 V4,
migration 0104: ``fl.government_receipts`` / ``fl.year_figures_at``).

A stateful hypothesis test over three years (2022–2024) of one county (230826, RES; the city
proper 230800 holds the pool's cash): contributions, fiscal subsidies and benefits at a run of
dates — month ends, 30 December (the day before a close), 31 December (the close) and 1 January
(the day after) — gaps covered by the unit's surplus, then by the adjustment fund (调剂金, in
order in this region), then by its government, the government paying its share in parts in the
next year, a payment reversed, in-year allocations of the fund (some reversed: ATTACK15 A4, 0114)
and late ones for the closed year (a settlement of its share, on 4401: ATTACK15 A7), and once a
receipt by hand on 4101.shortfall written while 0101's rule is suspended (a ledger from before
0101: the rule counts it as revenue, since it cleared nothing). At every date D:

* ``report shortfall`` (provisional for the open year, the stored table on the close's day) has
  the model's revenue, expenditure, government receipts and allocations (net of their reversals)
  of D's year to D;
* ``monitor --as-of D --json`` has the same C (``current_balance``), the same revenue and the same
  government receipts (``share_receipts``), and its cash surplus + the share owed − C − the
  year's allocations is the rule's S before (less the share the close made, on the close's day);
* ``report funding`` (subsidy + individual) and ``report performance`` (actual revenue) give the
  rule's revenue of the year;
* at a month end, ``forecast --as-of D`` starts from the monitor's surplus and share owed, and
  its first year's S before is the rule's S before (after a close: the closed year's S after);
* what one year leaves is what the next starts from: S after (Y) = S before (Y+1);
* on a close's day the independent verdict (``ledger.core.fund_rules``), which re-derives the
  close's inputs and the allocations' caps from the rows, finds nothing.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.core.money import parse_fen
from ledger.store import adjfund, cycle, yearend
from tests.conftest import LedgerDB
from tests.helpers import confirmed, entry, leg, post
from tests.integration._cycle import add_budget
from tests.integration.test_years_model import _drop_db, _fresh_db
from tests.security.test_adjfund import _fund
from tests.security.test_attack7_rules import held_rule_off, journal_rule_off, verdict

pytestmark = pytest.mark.db

UNIT, POOL, BOOK = "230826", "230800", "RES"
YEARS = (2022, 2023, 2024)
S0 = 50_000_00
# The dates the reports are compared at: month ends, the day before a close, its day, the day after.
DAYS = [d for y in YEARS for d in (dt.date(y, 1, 1), dt.date(y, 1, 31), dt.date(y, 3, 31), dt.date(y, 6, 30),
                                   dt.date(y, 9, 30), dt.date(y, 12, 30), dt.date(y, 12, 31))] + [dt.date(2025, 1, 1)]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _money(text: str | None) -> int:
    return parse_fen(text or "0", allow_negative=True)


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.exit_code == 0, r
    return r


def _month_end(d: dt.date) -> bool:
    return (d + dt.timedelta(days=1)).day == 1


class Reports(RuleBasedStateMachine):
    """The ledger moves forward through ``DAYS``; every report is read at each day it reaches."""

    def __init__(self, server, template: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.db: LedgerDB = _fresh_db(server, template)
        self.fin, self.rev, self.admin = self.db.cached("fin"), self.db.cached("rev"), self.db.admin()
        self.at = 0
        self.keys = 0
        self.flows: dict[int, dict[str, int]] = {y: {"revenue": 0, "expenditure": 0, "receipts": 0, "alloc": 0}
                                                 for y in YEARS}
        self.payments: list[tuple[int, int, dt.date]] = []      # (entry, amount, date) not reversed
        self.allocations: list[tuple[int, int, int]] = []       # in-year: (entry, amount, year) not reversed
        self.hand_done = False
        self.closed: dict[int, dict[str, str]] = {}            # year -> its stored row of the unit
        self.checked = 0

    @property
    def day(self) -> dt.date:
        return DAYS[self.at]

    def _key(self, what: str) -> str:
        self.keys += 1
        return f"agree-{what}-{self.keys}"

    def _open(self) -> bool:
        return self.day.year in YEARS and self.day.year not in self.closed

    @initialize()
    def start(self) -> None:
        _fund(self.db)      # the adjustment fund in order: gaps after the surplus go to it before the government
        post(self.fin, entry("o26", "2021-12-31", BOOK, leg("1003", UNIT, "D", _yuan(S0), "special"),
                             leg("3001", UNIT, "C", _yuan(S0))),
             entry("o00", "2021-12-31", BOOK, leg("1003", POOL, "D", "100000000.00", "special"),
                   leg("3001", POOL, "C", "100000000.00")))
        for y in YEARS:   # a budget for the performance review
            add_budget(self.admin, y, UNIT, BOOK, {"4001": "200000.00", "4101": "50000.00", "5001": "300000.00"})
        self._check()

    # ---- the year's flows (on the day reached, while its year is open) ---------------------

    @precondition(lambda self: self._open())
    @rule(fen=st.integers(1, 150_000_00))
    def contributions(self, fen: int) -> None:
        post(self.fin, entry(self._key("c"), self.day.isoformat(), BOOK, leg("1003", UNIT, "D", _yuan(fen), "special"),
                             leg("4001", UNIT, "C", _yuan(fen))))
        self.flows[self.day.year]["revenue"] += fen

    @precondition(lambda self: self._open())
    @rule(fen=st.integers(1, 60_000_00))
    def subsidy(self, fen: int) -> None:
        post(self.fin, entry(self._key("s"), self.day.isoformat(), BOOK, leg("1003", UNIT, "D", _yuan(fen), "special"),
                             leg("4101.county", UNIT, "C", _yuan(fen))))
        self.flows[self.day.year]["revenue"] += fen

    @precondition(lambda self: self._open())
    @rule(fen=st.integers(1, 250_000_00))
    def benefits(self, fen: int) -> None:
        post(self.fin, entry(self._key("e"), self.day.isoformat(), BOOK, leg("5001.inpatient", UNIT, "D", _yuan(fen)),
                             leg("1003", UNIT, "C", _yuan(fen), "special")))
        self.flows[self.day.year]["expenditure"] += fen

    def _owed(self) -> int:
        r = self.admin.execute("SELECT coalesce(sum(outstanding), 0)::bigint AS o FROM fl.government_shares(%s, %s) "
                               "WHERE unit = %s", (self.day, BOOK, UNIT)).fetchone()
        return int(r["o"])

    @precondition(lambda self: self._open())
    @rule(part=st.integers(1, 100))
    def government_pays(self, part: int) -> None:
        """The government pays part (or all) of what it owes: a receipt of the year it arrives,
        not its revenue."""
        owed = self._owed()
        if not owed:
            return
        amount = max(1, owed * part // 100)
        for p in cycle.government_pay(self.fin, UNIT, BOOK, amount, self.day, self._key("g")):
            self.payments.append((p.entry_id, p.amount, self.day))
        self.flows[self.day.year]["receipts"] += amount

    @precondition(lambda self: self._open() and any(d.year == self.day.year for _, _, d in self.payments))
    @rule()
    def payment_reversed(self) -> None:
        """The bank returns the year's last payment: the share is owed again."""
        eid, amount, on = next(p for p in reversed(self.payments) if p[2].year == self.day.year)
        confirmed(self.fin, "SELECT * FROM fl.reverse_entry(%s, 'bank returned the transfer', %s, %s)",
                  (eid, self.day, self._key("r")))
        self.payments.remove((eid, amount, on))
        self.flows[self.day.year]["receipts"] -= amount

    @precondition(lambda self: self._open() and not self.hand_done)
    @rule(fen=st.integers(1, 30_000_00))
    def receipt_by_hand_before_0101(self, fen: int) -> None:
        """A receipt by hand on 4101.shortfall as a ledger from before 0101 holds it: it cleared
        nothing, so the rule counts it as revenue — and so must every report."""
        with held_rule_off(self.admin, "short"), \
             journal_rule_off(self.admin, "short"):
            post(self.fin, entry(self._key("h"), self.day.isoformat(), BOOK,
                                 leg("1003", UNIT, "D", _yuan(fen), "special"), leg("4101.shortfall", UNIT, "C", _yuan(fen)),
                                 memo="县政府缺口补助 by hand (before 0101)"))
        self.hand_done = True
        self.flows[self.day.year]["revenue"] += fen

    def _gap_left(self) -> int:
        """The unit's gap of the open year after its surplus and the fund's allocations so far
        (the cap of an in-year allocation, as fl.adjfund_allocate reads it)."""
        f = self.admin.execute("SELECT * FROM fl.year_figures_v3(%s, %s) WHERE unit = %s",
                               (self.day.year, BOOK, UNIT)).fetchone()
        gap = max(f["expenditure"] - f["revenue"], 0)
        return max(gap - min(gap, max(f["surplus_before"], 0)) - f["adjustment_receipts"], 0)

    @precondition(lambda self: self._open())
    @rule(part=st.integers(1, 100))
    def fund_allocates(self, part: int) -> None:
        """An in-year allocation of the adjustment fund for the open year: the fund's, not the
        year's revenue."""
        cap = self._gap_left()
        if not cap:
            return
        amount = max(1, cap * part // 100)
        for a in adjfund.allocate(self.fin, year=self.day.year, book=BOOK, amount=amount, on=self.day,
                                  key=self._key("a")):
            assert (a.unit, a.amount) == (UNIT, amount), a
            self.allocations.append((a.entry_id, a.amount, self.day.year))
        self.flows[self.day.year]["alloc"] += amount

    @precondition(lambda self: self._open() and any(y == self.day.year for _, _, y in self.allocations))
    @rule()
    def allocation_reversed(self) -> None:
        """The province takes an in-year allocation back (ATTACK15 A4): no longer received."""
        eid, amount, y = next(a for a in reversed(self.allocations) if a[2] == self.day.year)
        confirmed(self.fin, "SELECT * FROM fl.reverse_entry(%s, 'the province took it back', %s, %s)",
                  (eid, self.day, self._key("ar")), checker="rev")
        self.allocations.remove((eid, amount, y))
        self.flows[y]["alloc"] -= amount

    @precondition(lambda self: self._open() and self.day.year - 1 in self.closed)
    @rule(part=st.integers(1, 100))
    def late_allocation(self, part: int) -> None:
        """The fund's allocation for the closed year arrives in this one (ATTACK15 A7): it
        settles that year's government share (on 4401) — a receipt, not this year's revenue."""
        r = self.admin.execute("SELECT coalesce(sum(amount - cleared), 0)::bigint AS o FROM fl.register_item "
                               "WHERE kind = 'government_share' AND book = %s AND unit = %s AND fiscal_year = %s",
                               (BOOK, UNIT, self.day.year - 1)).fetchone()
        owed = int(r["o"])
        if not owed:
            return
        amount = max(1, owed * part // 100)
        got = adjfund.allocate(self.fin, year=self.day.year - 1, book=BOOK, amount=amount, on=self.day,
                               key=self._key("l"))
        assert [(a.unit, a.amount) for a in got] == [(UNIT, amount)], got
        self.flows[self.day.year]["receipts"] += amount

    # ---- time ---------------------------------------------------------------------------------

    @rule(skip=st.integers(1, 2))
    def next_day(self, skip: int) -> None:
        """On to a later date of ``DAYS`` (never past a close: 31 December is always reached);
        the close on 31 December; then every report at the new date (at the last date, read
        again: a rule must always be available, or hypothesis gives up on a long run)."""
        for _ in range(skip):
            if self.at == len(DAYS) - 1:
                break
            self.at += 1
            if self.day.month == 12 and self.day.day == 31:
                yearend.close_year(self.rev, self.day.year, self.day)
                break
        self._check()

    # ---- the reports at the day reached -------------------------------------------------------

    def _cli(self, *args: str) -> dict:  # type: ignore[type-arg]
        r = self.db.cli(*args, "--json", user="aud")
        assert r.exit_code in (0, 3), (args, r)                  # monitor: 3 when a row is red
        return r.json()  # type: ignore[no-any-return]

    def _check(self) -> None:
        day, y = self.day, self.day.year
        d = day.isoformat()
        [s] = [r for r in self._cli("report", "shortfall", "--year", str(y)) if (r["unit"], r["book"]) == (UNIT, BOOK)]
        closing = day == dt.date(y, 12, 31)
        if closing:
            self.closed[y] = s
            assert "provisional" not in s, s
        if y in self.flows:                                       # the model: the year to D
            f = self.flows[y]
            assert (_money(s["revenue"]), _money(s["expenditure"]), _money(s["share_receipts"]),
                    _money(s["adjustment_receipts"])) == (
                f["revenue"], f["expenditure"], f["receipts"], f["alloc"]), (d, s, f)
        if y - 1 in self.closed:                                  # what one year leaves, the next starts from
            assert _money(s["surplus_before"]) == _money(self.closed[y - 1]["surplus_after"]), (d, s)
        [m] = self._cli("monitor", "--as-of", d, "--unit", UNIT, "--book", BOOK)["rows"]
        c = _money(s["current_balance"])
        assert (_money(m["current_balance"]), _money(m["year_revenue"]), _money(m["share_receipts"])) == (
            c, _money(s["revenue"]), _money(s["share_receipts"])), (d, m, s)
        made = _money(s["government_share"]) if closing else 0    # the close's share, owed from its day
        surplus, owed = _money(m["surplus"]), _money(m["outstanding_share"])
        assert surplus + owed - c - made - _money(s["adjustment_receipts"]) == _money(s["surplus_before"]), (d, m, s)
        if closing:
            assert surplus + owed == _money(s["surplus_after"]), (d, m, s)
            # the verdict names the receipt by hand (a manual entry on 4101.shortfall clearing
            # nothing, written with 0101's rule suspended), and nothing else
            found = verdict(self.db)
            assert set(found) <= {"workflows"}, (d, found)
            assert [f for f in found.get("workflows", []) if ":agree-h-" not in str(f["message"])] == [], (d, found)
        if y in YEARS:
            fund = [r for sec in self._cli("report", "funding", "--year", str(y), "--unit", UNIT, "--book", BOOK)["sections"]
                    for r in sec["rows"] if r["unit"] == UNIT]
            assert [_money(r["subsidy"]) + _money(r["individual"]) for r in fund] == [_money(s["revenue"])], (d, fund, s)
            perf = [r for sec in self._cli("report", "performance", "--year", str(y), "--unit", UNIT,
                                           "--book", BOOK)["sections"]
                    for r in sec["rows"] if r["unit"] == UNIT and r["indicator"] == "revenue_execution"]
            assert len(perf) == 1, perf
            actual = re.match(r"(-?[\d,]+\.\d\d) ÷", perf[0]["evidence"])
            assert actual and _money(actual.group(1).replace(",", "")) == _money(s["revenue"]), (d, perf, s)
        if _month_end(day):
            [fc] = self._cli("forecast", "--as-of", d, "--unit", UNIT, "--book", BOOK, "--years", "1")["units"]
            assert (_money(fc["origin"]["surplus"]), _money(fc["origin"]["government_outstanding"])) == (surplus, owed)
            first = fc["years"][0]
            if closing:
                assert (first["year"], _money(first["surplus_before"])) == (y + 1, _money(s["surplus_after"])), fc
            else:
                assert (first["year"], _money(first["surplus_before"])) == (y, _money(s["surplus_before"])), fc
        self.checked += 1

    def teardown(self) -> None:
        _drop_db(self.db)


def _run(server, template: str, examples: int, steps: int) -> None:  # type: ignore[no-untyped-def]
    class Machine(Reports):
        def __init__(self) -> None:
            super().__init__(server, template)

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=examples, phases=[Phase.explicit, Phase.reuse, Phase.generate], stateful_step_count=steps,
        deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


def test_every_report_reads_the_governments_receipts_as_the_rule(pg_server, template_db) -> None:  # type: ignore[no-untyped-def]
    _run(pg_server, template_db, examples=3, steps=40)


def test_two_years_of_gaps_covered_by_surplus_then_government(pg_server, template_db) -> None:  # type: ignore[no-untyped-def]
    """The path the brief names, fixed: 2022 a gap larger than S0 (surplus, then the government),
    the share paid in two parts in 2023 (one reversed and paid again), a receipt by hand in 2023,
    a second gap in 2023 charged to the fund (an allocation reversed, another kept) and then to the
    government, part of whose share a late allocation settles in 2024 — every report compared at each date,
    the day before and after each close included."""
    m = Reports(pg_server, template_db)
    try:
        m.start()
        m.next_day(1)                                   # 2022-01-31
        m.contributions(100_000_00)
        m.next_day(2)                                   # 2022-06-30
        m.benefits(180_000_00)                          # 2022: C −80,000; S0 50,000 covers part
        m.next_day(2)                                   # 2022-12-30
        m.next_day(1)                                   # 2022-12-31: the close (government owes 30,000)
        assert _money(m.closed[2022]["government_share"]) == 30_000_00
        m.next_day(1)                                   # 2023-01-01
        m.government_pays(50)
        m.next_day(1)                                   # 2023-01-31
        m.payment_reversed()
        m.government_pays(100)
        m.receipt_by_hand_before_0101(5_000_00)
        m.subsidy(20_000_00)
        m.next_day(1)                                   # 2023-03-31
        m.contributions(90_000_00)
        m.benefits(150_000_00)                          # 2023: C −35,000 (the payment not counted)
        m.fund_allocates(40)                            # the fund: 14,000 of the gap ...
        m.allocation_reversed()                         # ... taken back the same day (A4)
        m.fund_allocates(20)                            # 7,000, kept
        assert m.flows[2023]["alloc"] == 7_000_00
        m.next_day(2)                                   # 2023-09-30
        m.next_day(1)                                   # 2023-12-30
        m.next_day(1)                                   # 2023-12-31: the close
        assert _money(m.closed[2023]["covered_by_surplus"]) == 0
        assert _money(m.closed[2023]["covered_by_adjustment_fund"]) == 7_000_00
        assert _money(m.closed[2023]["government_share"]) == 28_000_00
        m.next_day(1)                                   # 2024-01-01
        m.late_allocation(50)                           # the fund settles 14,000 of 2023's share (A7)
        m.government_pays(100)
        m.next_day(1)                                   # 2024-01-31
        assert m.checked == 13
    finally:
        m.teardown()
