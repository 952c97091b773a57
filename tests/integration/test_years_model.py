"""The shortfall rule across years (BRIEF §5, corrected 2026-12) against a plain model.

A stateful hypothesis test: 3–6 years, 2–4 county units plus the city proper (which
holds the pool's cash, so the physical special account is never overdrawn), random
revenue and spending per unit and year, and between closes the local governments pay
what is owed — on time in January, late, in parts, several times, or never. After every
close, each unit's C, covered, government share, S before and S after equal the
model's, S after (Y) = S before (Y+1), and at every step the shares outstanding in the
register equal the model's.

The model is BRIEF §5 written out in a few lines (``Model.close``), independent of
``ledger.core.shortfall``. A second run puts the provincial adjustment fund (调剂金) in the
order (财社〔2017〕144号 art. 38; issue 22): before a close the province may pay an
allocation for the year, which the ledger shares among the units by their gap after their
surplus (largest remainder, ties by unit code — the model shares it too) and which covers
after the surplus and before the government; after a close it may pay an allocation for
the year just closed, which settles that year's government shares in the government's
place and is never revenue of the year it arrives. A mutant model that counts a government payment received in
the year as that year's revenue (the bug of issue 16) runs beside it and must disagree
with the ledger whenever such a payment was made; a fixed example (the brief's worked
example) checks that it does.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import uuid
from dataclasses import dataclass, field
from importlib import resources

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.core.region import parse_region
from ledger.core.shapes import as_row, money_keys
from ledger.store import adjfund, cycle, migrate, yearend
from tests.conftest import CLONE, LedgerDB, copy_database_acl
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

FIRST_YEAR = 2022                # with up to 6 years: 2022..2027, inside the ledger's date range
# A year is closed only once it has ended (sql/0019): as many years as have ended by now, up to 6.
MAX_YEARS = min(6, dt.date.today().year - FIRST_YEAR)
COUNTIES = ["230822", "230826", "230828", "230881", "230882", "230883"]
POOL = "230800"                      # the city proper: holds the pool's cash
POOL_S0 = 10_000_000_000             # 100 million yuan, far above any random spending
MAX_FLOW = 5_000_000_00              # up to 5 million yuan a unit and year


@dataclass
class Line:
    """One unit's year in the model (fen)."""
    revenue: int
    expenditure: int
    receipts: int
    current: int
    surplus_before: int
    covered: int
    government: int
    surplus_after: int
    alloc: int = 0          # allocated for the year by the adjustment fund, received in it
    fund: int = 0           # of the gap, covered by the adjustment fund


@dataclass
class Model:
    """BRIEF §5 across years, per unit: C = R − E, where R leaves out government-share money
    received for earlier years (``count_receipts=True`` is the mutant that counts it)."""
    surplus: dict[str, int]
    owed: dict[str, list[list[int]]] = field(default_factory=dict)      # unit → [[year, open], …] oldest first
    received: dict[str, int] = field(default_factory=dict)              # this year's receipts per unit
    count_receipts: bool = False
    alloc: dict[str, int] = field(default_factory=dict)                 # this year's allocations per unit

    def pay_item(self, unit: str, year: int, amount: int) -> None:
        """A late allocation for ``year``: it settles that year's item (not the oldest)."""
        self.received[unit] = self.received.get(unit, 0) + amount
        item = next(i for i in self.owed.get(unit, []) if i[0] == year)
        assert amount <= item[1]
        item[1] -= amount

    def owed_for(self, unit: str, year: int) -> int:
        return sum(i[1] for i in self.owed.get(unit, []) if i[0] == year)

    def gap_after_surplus(self, unit: str, revenue: int, spent: int) -> int:
        gap = max(spent - revenue, 0)
        return max(gap - min(gap, max(self.surplus[unit], 0)) - self.alloc.get(unit, 0), 0)

    def pay(self, unit: str, amount: int) -> None:
        self.received[unit] = self.received.get(unit, 0) + amount
        for item in self.owed.get(unit, []):
            take = min(amount, item[1])
            item[1] -= take
            amount -= take
        assert amount == 0

    def outstanding(self, unit: str) -> int:
        return sum(i[1] for i in self.owed.get(unit, []))

    def close(self, year: int, flows: dict[str, tuple[int, int]]) -> dict[str, Line]:
        out = {}
        for unit, (revenue, spent) in flows.items():
            receipts = self.received.get(unit, 0)
            current = revenue - spent + (receipts if self.count_receipts else 0)
            s = self.surplus[unit]
            gap = max(-current, 0)
            covered = min(gap, max(s, 0))
            fund = min(gap - covered, self.alloc.get(unit, 0))
            government = gap - covered - fund
            after = s + current + self.alloc.get(unit, 0) + government
            out[unit] = Line(revenue, spent, receipts, current, s, covered, government, after,
                             self.alloc.get(unit, 0), fund)
            self.surplus[unit] = after
            if government:
                self.owed.setdefault(unit, []).append([year, government])
        self.received = {}
        self.alloc = {}
        return out


def shares(total: int, caps: dict[str, int]) -> dict[str, int]:
    """Largest remainder by weight (the caps), ties by unit code: the model's own few lines."""
    whole = sum(caps.values())
    out = {u: total * c // whole for u, c in caps.items()}
    for u in sorted(caps, key=lambda u: (-(total * caps[u] % whole), u))[:total - sum(out.values())]:
        out[u] += 1
    return out


def _flows_entries(year: int, unit: str, revenue: int, spent: int) -> list[dict]:
    docs = []
    if revenue:
        docs.append(collect(f"r:{year}:{unit}", f"{year}-03-01", unit, _yuan(revenue)))
    if spent:
        docs.append(entry(f"e:{year}:{unit}", f"{year}-06-30", "RES", leg("5001.inpatient", unit, "D", _yuan(spent)),
                          leg("1003", unit, "C", _yuan(spent), "special")))
    return docs


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _fresh_db(server, template: str) -> LedgerDB:  # type: ignore[no-untyped-def]
    name = f"fl_m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" {CLONE}')
        copy_database_acl(c, name, template)
    return LedgerDB(server, name)


def _drop_db(db: LedgerDB) -> None:
    db.close()
    with psycopg.connect(db.server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


class Ledger:
    """The ledger side: posts, pays, closes and reads back through the store functions."""

    def __init__(self, db: LedgerDB) -> None:
        self.db = db
        self.fin, self.rev, self.aud = db.cached("fin"), db.cached("rev"), db.cached("aud")
        self.keys = 0

    def open(self, s0: dict[str, int]) -> None:
        post(self.fin, *[entry(f"open:{u}", f"{FIRST_YEAR - 1}-12-31", "RES", leg("1003", u, "D", _yuan(s), "special"),
                               leg("3001", u, "C", _yuan(s))) for u, s in s0.items() if s])

    def pay(self, unit: str, amount: int, on: dt.date) -> None:
        self.keys += 1
        cycle.government_pay(self.fin, unit, "RES", amount, on, f"gp:{self.keys}")

    def post_flows(self, year: int, flows: dict[str, tuple[int, int]]) -> None:
        docs = [d for u, (r, e) in flows.items() for d in _flows_entries(year, u, r, e)]
        if docs:
            post(self.fin, *docs)

    def allocate(self, year: int, amount: int, on: dt.date) -> dict[str, int]:
        self.keys += 1
        rows = adjfund.allocate(self.fin, year=year, book="RES", amount=amount, on=on, key=f"m{self.keys}")
        return {r.unit: r.amount for r in rows}

    def close(self, year: int, flows: dict[str, tuple[int, int]], *, posted: bool = False) -> dict[str, dict]:
        if not posted:
            self.post_flows(year, flows)
        yearend.close_year(self.rev, year, dt.date(year, 12, 31))
        rows = {r.unit: as_row(r) for r in yearend.shortfall_report(self.aud, year) if r.book == "RES"}
        # a unit that never had money or flows has no accounts, hence no row: all zero
        zero = dict.fromkeys(money_keys(yearend.ShortfallLine), 0)
        return {u: rows.get(u, dict(zero, unit=u, book="RES")) for u in {*flows, *rows}}

    def outstanding(self, on: dt.date) -> dict[str, int]:
        rows = self.aud.execute("SELECT unit, sum(outstanding)::bigint AS o FROM fl.government_shares(%s, 'RES') "
                                "GROUP BY unit", (on,)).fetchall()
        return {r["unit"]: int(r["o"]) for r in rows if r["o"]}


def _fund_in_order(db: LedgerDB) -> None:
    """Jiamusi's region with [adjustment_fund] in_order = true, loaded as init loads it."""
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    doc["adjustment_fund"] = {"in_order": True, "allocation_rule": "gap"}
    with db.connect(None) as c:
        migrate.load_reference(c, parse_region(doc, "model.toml"))
        c.commit()


def _agrees(row: dict, line: Line) -> bool:
    return (row["revenue"], row["expenditure"], row["current_balance"], row["surplus_before"],
            row["covered_by_surplus"], row["government_share"], row["surplus_after"],
            row.get("adjustment_receipts", 0), row.get("covered_by_adjustment_fund", 0)) == (
        line.revenue, line.expenditure, line.current, line.surplus_before, line.covered, line.government,
        line.surplus_after, line.alloc, line.fund)


def _machine(server, template: str, fund: bool = False):  # type: ignore[no-untyped-def]
    class Years(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.db = _fresh_db(server, template)
            if fund:
                _fund_in_order(self.db)
            self.ledger = Ledger(self.db)
            self.year = FIRST_YEAR
            self.last_after: dict[str, int] = {}
            self.mutant_caught = 0
            self.receipts_seen = 0

        @initialize(units=st.lists(st.sampled_from(COUNTIES), min_size=2, max_size=4, unique=True),
                    years=st.integers(3, MAX_YEARS), data=st.data())
        def start(self, units: list[str], years: int, data: st.DataObject) -> None:
            self.units = [POOL, *units]
            self.years = years
            s0 = {u: data.draw(st.integers(0, MAX_FLOW), label=f"S0 {u}") for u in units}
            s0[POOL] = POOL_S0
            self.ledger.open(s0)
            self.model = Model(dict(s0))
            self.mutant = Model(dict(s0), count_receipts=True)

        @precondition(lambda self: hasattr(self, "model") and self.year < FIRST_YEAR + self.years)
        @rule(data=st.data())
        def government_pays(self, data: st.DataObject) -> None:
            """A payment (whole, in part, a single fen) for a unit that owes, in the open year."""
            owing = [u for u in self.units if self.model.outstanding(u)]
            if not owing:
                return
            unit = data.draw(st.sampled_from(owing), label="unit")
            owed = self.model.outstanding(unit)
            amount = data.draw(st.one_of(st.just(owed), st.just(1), st.integers(1, owed)), label="amount")
            month = data.draw(st.integers(1, 12), label="month")
            self.ledger.pay(unit, amount, dt.date(self.year, month, 20))
            self.model.pay(unit, amount)
            self.mutant.pay(unit, amount)

        @precondition(lambda self: fund and hasattr(self, "model") and self.year > FIRST_YEAR
                      and self.year < FIRST_YEAR + self.years)
        @rule(data=st.data())
        def late_allocation(self, data: st.DataObject) -> None:
            """The province pays for the year just closed: it settles that year's shares."""
            year = self.year - 1
            caps = {u: self.model.owed_for(u, year) for u in self.units if self.model.owed_for(u, year)}
            if not caps:
                return
            amount = data.draw(st.integers(1, sum(caps.values())), label="late allocation")
            got = self.ledger.allocate(year, amount, dt.date(self.year, data.draw(st.integers(1, 12), label="m"), 10))
            want = {u: a for u, a in shares(amount, caps).items() if a}
            assert got == want, (year, amount, caps, got, want)
            for u, a in want.items():
                self.model.pay_item(u, year, a)
                self.mutant.pay_item(u, year, a)

        @precondition(lambda self: hasattr(self, "model") and self.year < FIRST_YEAR + self.years)
        @rule(data=st.data())
        def close_year(self, data: st.DataObject) -> None:
            flows = {u: (0, 0) if u == POOL else (data.draw(st.integers(0, MAX_FLOW), label=f"R {u}"),
                                                  data.draw(st.integers(0, MAX_FLOW), label=f"E {u}"))
                     for u in self.units}
            receipts = dict(self.model.received)
            self.ledger.post_flows(self.year, flows)
            if fund:
                # an allocation for the year before its close: shares by gap after surplus
                caps = {u: self.model.gap_after_surplus(u, *flows[u]) for u in self.units}
                caps = {u: c for u, c in caps.items() if c}
                if caps and data.draw(st.booleans(), label="allocate in the year"):
                    amount = data.draw(st.integers(1, sum(caps.values())), label="allocation")
                    got_a = self.ledger.allocate(self.year, amount, dt.date(self.year, 11, 20))
                    want_a = {u: a for u, a in shares(amount, caps).items() if a}
                    assert got_a == want_a, (self.year, amount, caps, got_a, want_a)
                    for m in (self.model, self.mutant):
                        m.alloc = dict(want_a)
            got = self.ledger.close(self.year, flows, posted=True)
            want = self.model.close(self.year, flows)
            guess = self.mutant.close(self.year, flows)
            for u in self.units:
                row, line = got[u], want[u]
                assert _agrees(row, line), (self.year, u, row, line)
                assert row["share_receipts"] == receipts.get(u, 0), (self.year, u, row)
                assert row["revenue_on_books"] == line.revenue + line.receipts + line.alloc
                if u in self.last_after:                            # S after (Y−1) = S before (Y), exactly
                    assert row["surplus_before"] == self.last_after[u]
                self.last_after[u] = row["surplus_after"]
                if receipts.get(u):
                    self.receipts_seen += 1
                    if not _agrees(row, guess[u]):
                        self.mutant_caught += 1
            # once the mutant has seen a payment its surplus is wrong: re-sync it to keep
            # each year a fresh trial of the mutant rule
            self.mutant.surplus = dict(self.model.surplus)
            self.mutant.owed = {u: [list(i) for i in items] for u, items in self.model.owed.items()}
            self.year += 1

        @precondition(lambda self: hasattr(self, "model") and self.year > FIRST_YEAR)
        @rule()
        def reread_last_close(self) -> None:
            """The report of a closed year reads back what the close stored: S after = the model's S."""
            rows = {r.unit: r for r in yearend.shortfall_report(self.ledger.aud, self.year - 1) if r.book == "RES"}
            for u, r in rows.items():
                assert r.surplus_after == self.model.surplus[u]
                assert r.surplus_after_on_books == self.model.surplus[u] - r.outstanding_after

        @invariant()
        def outstanding_shares_match(self) -> None:
            if not hasattr(self, "model"):
                return
            on = dt.date(self.year, 12, 31)     # every payment so far (they are dated in the open year)
            want = {u: self.model.outstanding(u) for u in self.units if self.model.outstanding(u)}
            assert self.ledger.outstanding(on) == want

        def teardown(self) -> None:
            # the mutant (a late payment counted as revenue) disagrees with the ledger
            # in every year a payment arrived
            if hasattr(self, "model"):
                assert self.mutant_caught == self.receipts_seen, (self.mutant_caught, self.receipts_seen)
            _drop_db(self.db)

    return Years


def _run(server, template: str, examples: int, steps: int, fund: bool = False) -> None:  # type: ignore[no-untyped-def]
    run_state_machine_as_test(
        _machine(server, template, fund),
        settings=settings(max_examples=examples, phases=[Phase.explicit, Phase.reuse, Phase.generate], stateful_step_count=steps, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


def test_years_follow_the_model(pg_server, template_db) -> None:  # type: ignore[no-untyped-def]
    _run(pg_server, template_db, examples=5, steps=14)


def test_years_with_the_adjustment_fund_follow_the_model(pg_server, template_db) -> None:  # type: ignore[no-untyped-def]
    _run(pg_server, template_db, examples=4, steps=12, fund=True)


@pytest.mark.slow
def test_years_follow_the_model_long(pg_server, template_db) -> None:  # type: ignore[no-untyped-def]
    _run(pg_server, template_db, examples=60, steps=24)


def test_the_mutant_that_counts_a_late_payment_as_revenue_is_caught(pg_server, template_db) -> None:  # type: ignore[no-untyped-def]
    """BRIEF §5's worked example through the ledger, checked against both models: the
    plain model agrees every year; the mutant (the 200 paid on 2024-01-20 counted as 2024
    revenue → C −1,600, government 1,600) is caught in 2024."""
    db = _fresh_db(pg_server, template_db)
    try:
        ledger = Ledger(db)
        ledger.open({"230822": 1_000_00, POOL: POOL_S0})
        model = Model({"230822": 1_000_00, POOL: POOL_S0})
        mutant = Model({"230822": 1_000_00, POOL: POOL_S0}, count_receipts=True)
        flows = {"230822": (6_000_00, 7_200_00), POOL: (0, 0)}
        got = ledger.close(2023, flows)
        assert _agrees(got["230822"], model.close(2023, flows)["230822"])
        assert _agrees(got["230822"], mutant.close(2023, flows)["230822"])
        ledger.pay("230822", 200_00, dt.date(2024, 1, 20))
        model.pay("230822", 200_00)
        mutant.pay("230822", 200_00)
        flows = {"230822": (6_000_00, 7_800_00), POOL: (0, 0)}
        got = ledger.close(2024, flows)
        right, wrong = model.close(2024, flows)["230822"], mutant.close(2024, flows)["230822"]
        assert (right.current, right.government) == (-1_800_00, 1_800_00)
        assert (wrong.current, wrong.government) == (-1_600_00, 1_600_00)
        assert _agrees(got["230822"], right)
        assert not _agrees(got["230822"], wrong)
    finally:
        _drop_db(db)


def test_a_late_allocation_recorded_after_a_later_dated_payment_shares_what_is_still_owed(  # type: ignore[no-untyped-def]
        pg_server, template_db) -> None:
    """The case the fund run drew (0074): unit 230828's government paid its 2023 share on
    2024-03-10, and finance then recorded the province's allocation for 2023 dated
    2024-01-10. The item is owed once: the allocation is shared by what each government
    still owes now (after every clearing, whatever its date), exactly as the model shares
    it; a unit paid in full gets nothing, no register item is cleared past its amount, and
    an allocation above what is still owed is a typed refusal (adjfund_cap) naming it."""
    db = _fresh_db(pg_server, template_db)
    try:
        _fund_in_order(db)
        ledger = Ledger(db)
        s0 = {"230822": 0, "230828": 0, "230881": 0, POOL: POOL_S0}
        ledger.open(s0)
        model = Model(dict(s0))
        flows = {"230822": (1_000_00, 1_500_00), "230828": (2_000_00, 3_000_00), "230881": (0, 400_00),
                 POOL: (0, 0)}
        got = ledger.close(2023, flows)
        want = model.close(2023, flows)
        assert all(_agrees(got[u], want[u]) for u in flows)
        # 230828's whole share (1,000.00) and 100.00 of 230881's, dated in March, recorded first
        ledger.pay("230828", 1_000_00, dt.date(2024, 3, 10))
        model.pay("230828", 1_000_00)
        ledger.pay("230881", 100_00, dt.date(2024, 3, 10))
        model.pay("230881", 100_00)
        caps = {u: model.owed_for(u, 2023) for u in flows if model.owed_for(u, 2023)}
        assert caps == {"230822": 500_00, "230881": 300_00}
        # more than is still owed now (800.00), though 1,800.00 was owed on 2024-01-10
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            ledger.allocate(2023, 800_01, dt.date(2024, 1, 10))
        assert refused.value.diag.constraint_name == "adjfund_cap", refused.value
        assert "still owed now (800.00" in str(refused.value), refused.value
        got_a = ledger.allocate(2023, 700_01, dt.date(2024, 1, 10))
        want_a = {u: a for u, a in shares(700_01, caps).items() if a}
        assert got_a == want_a and "230828" not in got_a, (got_a, want_a)
        for u, a in want_a.items():
            model.pay_item(u, 2023, a)
        assert ledger.outstanding(dt.date(2024, 12, 31)) == {u: model.outstanding(u) for u in flows
                                                             if model.outstanding(u)}
        # as of any date the register stays within each item: between the two dates, the
        # allocation's clearings alone; 230828 still owes its share until its March payment
        assert ledger.outstanding(dt.date(2024, 2, 1)) == {"230822": 500_00 - want_a["230822"],
                                                           "230828": 1_000_00,
                                                           "230881": 400_00 - want_a["230881"]}
        flows = {u: (0, 0) for u in flows}
        got = ledger.close(2024, flows)
        want = model.close(2024, flows)
        assert all(_agrees(got[u], want[u]) for u in flows)
    finally:
        _drop_db(db)
