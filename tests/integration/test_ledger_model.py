"""Invariants on random workloads: hypothesis posts random entries and a state machine
compares PostgreSQL with a deliberately simple Python model of the books."""

from __future__ import annotations

import itertools
import json
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from psycopg import errors as pgerr
from psycopg.rows import dict_row

from tests.conftest import CLONE, LedgerDB
from tests.helpers import confirmed, post

pytestmark = pytest.mark.db

UNITS = ["230800", "230822", "230881"]
# (chart code, holder, bank account key or None). Deposit accounts are physical.
ACCOUNTS = [("1003", "special", "special"), ("1004", "city_exp", "city_exp"), ("4001", None, None),
            ("4101.central", None, None), ("5001.inpatient", None, None), ("5101", None, None)]
_keys = itertools.count()


def legs_strategy():
    """A balanced entry: per unit, pairs (debit X, credit Y) of the same amount."""
    pair = st.tuples(st.sampled_from(UNITS), st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS),
                     st.integers(min_value=1, max_value=5_000_000))
    return st.lists(pair, min_size=1, max_size=3)


def doc_for(pairs, date="2023-03-15", key=None):
    postings = []
    for unit, (dcode, dh, _), (ccode, ch, _), amount in pairs:
        postings.append({"account": dcode, "unit": unit, "holder": dh, "side": "D", "amount": amount})
        postings.append({"account": ccode, "unit": unit, "holder": ch, "side": "C", "amount": amount})
    return {"date": date, "book": "RES", "idempotency_key": key or f"h-{next(_keys)}-{uuid.uuid4().hex[:6]}",
            "postings": postings}


def seed(conn):
    """Money in the special account so that payments can happen."""
    post(conn, {
        "date": "2023-01-02", "book": "RES", "idempotency_key": f"seed-{uuid.uuid4().hex}",
        "postings": [{"account": "1003", "unit": u, "holder": "special", "side": "D", "amount": 100_000_000}
                     for u in UNITS] + [{"account": "4001", "unit": u, "side": "C", "amount": 100_000_000} for u in UNITS]})


def check_invariants(admin: psycopg.Connection) -> None:
    q = admin.execute
    tb = q("SELECT book, sum(balance) AS s FROM fl.account GROUP BY book").fetchall()
    assert all(r["s"] == 0 for r in tb), tb
    bad = q("""SELECT a.id, a.balance, a.debits, a.credits, coalesce(s.dr, 0) AS dr, coalesce(s.cr, 0) AS cr
                 FROM fl.account a LEFT JOIN (
                   SELECT account_id, sum(amount) FILTER (WHERE side = 'D') AS dr, sum(amount) FILTER (WHERE side = 'C') AS cr
                     FROM fl.posting GROUP BY account_id) s ON s.account_id = a.id
                WHERE a.debits <> coalesce(s.dr, 0) OR a.credits <> coalesce(s.cr, 0)""").fetchall()
    assert bad == []
    bad_days = q("""SELECT d.account_id FROM fl.account_day d
                      JOIN (SELECT account_id, entry_date, sum(amount) FILTER (WHERE side='D') AS dr,
                                   sum(amount) FILTER (WHERE side='C') AS cr FROM fl.posting GROUP BY 1, 2) s
                        ON s.account_id = d.account_id AND s.entry_date = d.day
                     WHERE d.debits <> coalesce(s.dr, 0) OR d.credits <> coalesce(s.cr, 0)""").fetchall()
    assert bad_days == []
    banks = q("""SELECT b.id, b.balance, coalesce(sum(a.balance), 0) AS s FROM fl.bank_account b
                   LEFT JOIN fl.account a ON a.bank_account_id = b.id GROUP BY b.id, b.balance""").fetchall()
    assert all(r["balance"] == r["s"] and r["balance"] >= 0 for r in banks), banks
    gaps = q("""SELECT book, fiscal_year, count(*) AS n, max(voucher_no) AS mx FROM fl.seal GROUP BY 1, 2""").fetchall()
    assert all(r["n"] == r["mx"] for r in gaps), gaps
    assert q("SELECT count(*) AS n FROM fl.entry e LEFT JOIN fl.seal s ON s.entry_id = e.id WHERE s.entry_id IS NULL"
             ).fetchone()["n"] == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(legs_strategy(), min_size=1, max_size=4))
def test_random_entries_keep_the_books_whole(ledger_db, batch):
    """Random balanced entries, some overdrawing (refused whole): invariants hold after each batch."""
    fin = ledger_db.cached("fin")
    if not getattr(ledger_db, "_seeded", False):
        seed(fin)
        ledger_db._seeded = True
    before = ledger_db.cached().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]
    docs = [doc_for(p) for p in batch]
    try:
        post(fin, *docs)    # held (real money) and confirmed by a second person
        posted = len(docs)
    except pgerr.CheckViolation as e:
        assert e.diag.constraint_name in ("no_overdraft", "reserved_within_balance", "pooled_share")
        # The maker's batch is all or nothing; what moves real money or touches 3xxx-5xxx was held
        # and its confirmation (a second transaction) refused: only the other entries posted.
        posted = sum(not any(p["holder"] or p["account"][:4] in ("1001", "1002", "1003", "1004", "1005")
                             or p["account"][0] in "345" for p in d["postings"]) for d in docs)
    after = ledger_db.cached().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]
    assert after == before + posted  # all or nothing
    check_invariants(ledger_db.cached())


class LedgerMachine(RuleBasedStateMachine):
    """The database against a model: balances per account key, bank totals, reversals, closed months."""

    server = None
    template = None

    def __init__(self) -> None:
        super().__init__()
        name = f"fl_sm_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server.admin_url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" {CLONE}')
        self.db = LedgerDB(self.server, name)
        self.fin = self.db.connect("fin", autocommit=True)
        self.rev = self.db.connect("rev", autocommit=True)
        self.admin = psycopg.connect(self.db.url(), autocommit=True, row_factory=dict_row)
        self.balances: dict[tuple, int] = {}
        self.moves: list[tuple[str, tuple, int]] = []    # (date, account key, delta) of every posted leg
        self.entries: dict[int, tuple[list[tuple], str]] = {}
        self.reversed: set[int] = set()
        self.closed: set[int] = set()      # closed months of 2023
        self.used: set[int] = set()        # months of 2023 an entry is dated in (0123: they close in order)
        self.vouchers = 0

    def teardown(self) -> None:
        self.db.close()
        self.admin.close()
        with psycopg.connect(self.server.admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.db.name}" WITH (FORCE)')

    def _bank(self, unit: str, holder: str | None) -> str | None:
        return holder

    def _apply(self, legs, day, sign=1):
        for unit, code, holder, side, amount in legs:
            delta = sign * (amount if side == "D" else -amount)
            key = (unit, code, holder)
            self.balances[key] = self.balances.get(key, 0) + delta
            self.moves.append((day, key, delta))

    def _would_overdraw(self, legs, day, sign=1):
        """A bank account's total, or a unit's share of the pooled city expenditure account
        (0030), below zero at the end of any day (0043: a payment dated before the money
        that reached the account later is refused too)."""
        moves = self.moves + [(day, (u, c, h), sign * (a if sd == "D" else -a)) for u, c, h, sd, a in legs]
        runs: dict[object, dict[str, int]] = {}
        for d, (unit, code, holder), delta in moves:
            groups = ([holder] if holder else []) + ([(unit, code, holder)] if holder == "city_exp" else [])
            for g in groups:
                runs.setdefault(g, {})
                runs[g][d] = runs[g].get(d, 0) + delta
        for days in runs.values():
            total = 0
            for d in sorted(days):
                total += days[d]
                if total < 0:
                    return True
        return False

    @rule(pairs=legs_strategy(), month=st.integers(min_value=1, max_value=6))
    def post(self, pairs, month):
        doc = doc_for(pairs, date=f"2023-{month:02d}-10")
        legs = [(p["unit"], p["account"], p["holder"], p["side"], p["amount"]) for p in doc["postings"]]
        # (0123, 0128) a closed month is a prefix: nothing dated in it or before the latest one
        expect_ok = month > max(self.closed, default=0) and not self._would_overdraw(legs, doc["date"])
        try:
            r = post(self.fin, doc)[0]
        except pgerr.CheckViolation as e:
            assert not expect_ok, f"refused unexpectedly: {e}"
            assert e.diag.constraint_name in ("no_overdraft", "period_closed", "pooled_share")
            return
        assert expect_ok, "the database accepted what the model refuses"
        self.entries[r["entry_id"]] = (legs, doc["date"])
        self.used.add(month)
        self._apply(legs, doc["date"])
        self.vouchers += 1

    @precondition(lambda self: any(e not in self.reversed for e in self.entries))
    @rule(data=st.data())
    def reverse(self, data):
        eid = data.draw(st.sampled_from(sorted(e for e in self.entries if e not in self.reversed)))
        legs, _ = self.entries[eid]
        expect_ok = not self._would_overdraw(legs, "2023-06-30", sign=-1) and 6 not in self.closed
        try:
            confirmed(self.rev, "SELECT * FROM fl.reverse_entry(%s, 'model says so', '2023-06-30', %s)",
                      (eid, f"rev-{eid}"))
        except pgerr.CheckViolation as e:
            assert not expect_ok, f"reversal refused unexpectedly: {e}"
            return
        assert expect_ok
        self.reversed.add(eid)
        self.used.add(6)
        self._apply(legs, "2023-06-30", sign=-1)
        self.vouchers += 1

    @rule(month=st.integers(min_value=1, max_value=5))
    def close_period(self, month):
        # (0123) months close in order: refused while an earlier month holding entries is open;
        # the empty ones before it close with it
        open_used = [m for m in self.used if m < month and m not in self.closed]
        try:
            self.rev.execute("SELECT fl.close_period(%s)", (f"2023-{month:02d}-01",))
        except pgerr.CheckViolation as e:
            assert open_used and e.diag.constraint_name == "period_order", f"close refused unexpectedly: {e}"
            return
        assert not open_used, f"closed {month} while {open_used} hold entries and are open"
        self.closed |= set(range(1, month + 1))

    @rule(pairs=legs_strategy())
    def bad_entry(self, pairs):
        doc = doc_for(pairs, date="2023-06-10")
        doc["postings"][0]["amount"] += 1  # unbalance one unit
        with pytest.raises(pgerr.CheckViolation) as ei:
            self.fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(doc),))
        assert ei.value.diag.constraint_name in ("entry_balanced", "no_overdraft")

    @invariant()
    def database_matches_model(self):
        rows = self.admin.execute("SELECT unit, chart_code, nullif(holder, '') AS holder, balance FROM fl.account").fetchall()
        db = {(r["unit"], r["chart_code"], r["holder"]): r["balance"] for r in rows}
        model = {k: v for k, v in self.balances.items()}
        for k in set(db) | set(model):
            assert db.get(k, 0) == model.get(k, 0), k
        n = self.admin.execute("SELECT count(*) AS n FROM fl.seal").fetchone()["n"]
        assert n == self.vouchers


def test_stateful_database_matches_model(pg_server, template_db):
    from hypothesis.stateful import run_state_machine_as_test

    LedgerMachine.server = pg_server
    LedgerMachine.template = template_db
    run_state_machine_as_test(LedgerMachine, settings=settings(max_examples=8, stateful_step_count=25, deadline=None))
    # and the full invariants on one more fresh run are covered by the property test above
