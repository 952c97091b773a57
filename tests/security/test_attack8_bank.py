"""ATTACK8 V5 and V8, through the roles' own logins (sql/0064_money_in.sql).

V5 (HIGH): two officers of one county held and confirmed a manual entry Dr 1004 county_exp / Cr
5001.inpatient: fake money in the county's own expenditure account and a smaller deficit, no one
from the city involved (0058 had left the county's own figures to the county). Now money *into* any
bank or cash account by hand (a debit on 1001-1005 or on an account with a holder, whoever holds
it) is confirmed by the city bureau (a reviewer) or city finance: ``fl._decider`` refuses an
officer's confirmation, the journal refuses such a posting in an officer's session whatever path
reaches it, and both the in-database pass of verify and the independent verdict name one that got
through with the rules switched off.

V8 (MED): a maker held entries and withdrew them (``entry reject`` of its own) without end, every
held entry an append-only row; 0050's cap counted only open ones. Now a user's withdrawals, and an
officer's rejections, are at most 2000 in any 24 hours; past that the entry stays held and the
refusal says who rejects it instead (the city, never capped) or when to try again."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_duties import _officer
from tests.security.test_attack7_rules import body_off, named, verdict

pytestmark = pytest.mark.db

CONFIRM = "SELECT * FROM fl.confirm_entry(%s)"
REJECT = "SELECT * FROM fl.reject_entry(%s, 'withdrawn')"


def _hold(conn: psycopg.Connection, key: str, *legs: dict[str, Any], date: str = "2024-03-20") -> int:
    rows = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([entry(key, date, "RES", *legs)]),)
                        ).fetchall()
    assert [r["status"] for r in rows] == ["held"], rows
    return int(rows[0]["held_id"])


def _refused(conn: psycopg.Connection, sql: str, params: Any = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql, params).fetchall()
    return e.value


def _one(db: LedgerDB, sql: str, params: Any = None) -> Any:
    row = db.admin().execute(sql, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


def _state(db: LedgerDB, held: int) -> tuple[str, str | None]:
    r = db.admin().execute("SELECT state, decided_by FROM fl.pending_entry WHERE id = %s", (held,)).fetchone()
    assert r is not None
    return r["state"], r["decided_by"]


def _county_exp(db: LedgerDB) -> int:
    return int(_one(db, "SELECT coalesce(sum(balance), 0) FROM fl.account WHERE unit = '230822' "
                        "AND holder = 'county_exp'"))


@pytest.fixture
def county(ledger_db: LedgerDB) -> LedgerDB:
    """230822 with money in the special account (finance's collection) and ¥1,000,000 moved to its
    own expenditure account by finance; a second officer o22b of 230822."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("seed-22", "2024-01-05", "230822", "5000000.00"),
         entry("to-county", "2024-01-06", "RES", leg("1004", "230822", "D", "1000000.00", "county_exp"),
               leg("1003", "230822", "C", "1000000.00", "special")))
    _officer(ledger_db, "o22b", "230822")
    return ledger_db


# ---- V5 ------------------------------------------------------------------------------------

FAKE_IN = (leg("1004", "230822", "D", "800000.00", "county_exp"), leg("5001.inpatient", "230822", "C", "800000.00"))

# Money into a bank or cash account of the county, by hand: each needs the city's confirmation.
MONEY_IN: dict[str, tuple[dict[str, Any], ...]] = {
    "the reproduction: Dr 1004 county_exp / Cr 5001.inpatient": FAKE_IN,
    "against other expenditure (5401)": (
        leg("1004", "230822", "D", "500.00", "county_exp"), leg("5401", "230822", "C", "500.00")),
    "against a temporary receipt (2001)": (
        leg("1004", "230822", "D", "500.00", "county_exp"), leg("2001", "230822", "C", "500.00")),
    "against a temporary payment (1101)": (
        leg("1004", "230822", "D", "500.00", "county_exp"), leg("1101", "230822", "C", "500.00")),
    "cash on hand (1001)": (leg("1001", "230822", "D", "500.00"), leg("5001.inpatient", "230822", "C", "500.00")),
    "the county's legacy expenditure account": (
        leg("1004", "230822", "D", "500.00", "legacy_expenditure"), leg("5001.inpatient", "230822", "C", "500.00")),
    "the county's legacy revenue account": (
        leg("1002", "230822", "D", "500.00", "legacy_revenue"), leg("2001", "230822", "C", "500.00")),
}


def test_v5_reproduction_two_officers_of_one_county_cannot_put_money_in_its_account(county: LedgerDB,
                                                                                      tmp_path: Any) -> None:
    """The attack as written, through the CLI: officer o22 holds Dr 1004 county_exp / Cr
    5001.inpatient ¥800,000; the county's second officer's `entry confirm` is refused with the
    rule and who confirms (in Chinese by default); nothing moves; a reviewer can confirm it."""
    doc = [{"date": "2024-03-20", "book": "RES", "idempotency_key": "RT8-V5", "memo": "provider refund",
            "postings": [{"account": "1004", "unit": "230822", "holder": "county_exp", "side": "debit",
                          "amount": "800000.00"},
                         {"account": "5001.inpatient", "unit": "230822", "side": "credit", "amount": "800000.00"}]}]
    f = tmp_path / "v5.json"
    f.write_text(json.dumps(doc), "utf-8")
    held = county.cli("entry", "post", str(f), "--json", user="o22")
    assert held.exit_code == 0, held
    hid = int(_one(county, "SELECT id FROM fl.pending_entry WHERE idempotency_key = 'manual:o22:RT8-V5'"))
    before, bank = int(_one(county, "SELECT count(*) FROM fl.entry")), _county_exp(county)
    r = county.cli("--lang", "en", "entry", "confirm", str(hid), user="o22b")
    assert r.exit_code == 1 and "[city_confirms]" in r.stderr, r
    assert "puts money into 1004 county_exp" in r.stderr and "city bureau (a reviewer) or city finance" in r.stderr
    assert f"entry confirm {hid}" in r.stderr and "Traceback" not in r.stderr
    zh = county.cli("entry", "confirm", str(hid), user="o22b", env={"FUNDLEDGER_LANG": ""})
    assert zh.exit_code == 1 and "市医保局" in zh.stderr and "市财政" in zh.stderr and "Traceback" not in zh.stderr, zh
    assert int(_one(county, "SELECT count(*) FROM fl.entry")) == before and _county_exp(county) == bank
    assert _state(county, hid) == ("held", None)
    ok = county.cli("entry", "confirm", str(hid), user="rev")
    assert ok.exit_code == 0, ok
    assert _state(county, hid) == ("confirmed", "rev") and _county_exp(county) == bank + 80000000


@pytest.mark.parametrize("what", list(MONEY_IN))
def test_v5_money_into_any_bank_or_cash_account_is_the_citys_to_confirm(county: LedgerDB, what: str) -> None:
    """Each bank or cash account of the county, whatever it is credited against: the county's
    second officer is refused (city_confirms, naming the command that works), finance confirms."""
    hid = _hold(county.connect("o22", autocommit=True), f"in-{list(MONEY_IN).index(what)}", *MONEY_IN[what])
    e = _refused(county.connect("o22b", autocommit=True), CONFIRM, (hid,))
    assert e.diag.constraint_name == "city_confirms" and f"--as REVIEWER entry confirm {hid}" in str(e), e
    assert _state(county, hid) == ("held", None)
    out = county.connect("fin", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    assert out is not None and out["status"] == "posted"


def test_v5_the_countys_payments_by_hand_are_the_citys_to_confirm_since_0067(county: LedgerDB) -> None:
    """Money *out* of the county's account by hand (Dr 5001 / Cr 1004 county_exp) touches its
    expenditure, which the year-end shortfall rule reads: since 0067 (ATTACK9 W2) the second
    officer no longer confirms it, the bureau does. The second officer still rejects (a rejection
    moves no money). The county's own payments import posts at once (test_attack9_deficit)."""
    o22, o22b = county.connect("o22", autocommit=True), county.connect("o22b", autocommit=True)
    pay = _hold(o22, "pay", leg("5001.inpatient", "230822", "D", "300.00"),
                leg("1004", "230822", "C", "300.00", "county_exp"))
    e = _refused(o22b, CONFIRM, (pay,))
    assert e.diag.constraint_name == "city_confirms" and f"--as REVIEWER entry confirm {pay}" in str(e), e
    assert county.connect("rev", autocommit=True).execute(CONFIRM, (pay,)).fetchone()["status"] == "posted"  # type: ignore[index]
    fake = _hold(o22, "fake", *FAKE_IN)
    assert o22b.execute("SELECT state FROM fl.reject_entry(%s, 'not ours')", (fake,)).fetchone()["state"] == "rejected"  # type: ignore[index]


def test_v5_reversal_of_a_payment_is_money_in(county: LedgerDB) -> None:
    """A payment's reversal puts the money back into the account. By hand (a manual entry that
    mirrors the payment): the second officer is refused. As a reversal: no officer reverses, and
    the bureau's held reversal is confirmed by the city only."""
    o22, o22b = county.connect("o22", autocommit=True), county.connect("o22b", autocommit=True)
    pay = _hold(o22, "pay", leg("5001.inpatient", "230822", "D", "300.00"),
                leg("1004", "230822", "C", "300.00", "county_exp"))
    eid = int(county.connect("rev", autocommit=True).execute(CONFIRM, (pay,)).fetchone()["entry_id"])  # type: ignore[index]
    mirror = _hold(o22, "undo-pay", leg("1004", "230822", "D", "300.00", "county_exp"),
                   leg("5001.inpatient", "230822", "C", "300.00"))
    assert _refused(o22b, CONFIRM, (mirror,)).diag.constraint_name == "city_confirms"
    e = _refused(o22, "SELECT * FROM fl.reverse_entry(%s, 'wrong', '2024-03-21', 'rv-o22')", (eid,))
    assert e.diag.constraint_name in ("permission_denied", "workflow_kind"), e
    r = county.connect("rev", autocommit=True).execute(
        "SELECT * FROM fl.reverse_entry(%s, 'wrong', '2024-03-21', 'rv-rev')", (eid,)).fetchone()
    assert r is not None and r["status"] == "held"
    for who in (o22, o22b):
        assert _refused(who, CONFIRM, (r["held_id"],)).diag.constraint_name == "permission_denied"
    bank = _county_exp(county)
    assert county.connect("fin", autocommit=True).execute(CONFIRM, (r["held_id"],)).fetchone()["status"] == "posted"  # type: ignore[index]
    assert _county_exp(county) == bank + 30000


@contextlib.contextmanager
def _without_decider_rule(db: LedgerDB) -> Iterator[None]:
    """As the superuser: fl._decider without 0064's rule for the block, then exactly as migrated."""
    admin = db.admin()
    migrated = admin.execute("SELECT pg_get_functiondef('fl._decider'::regproc) AS d").fetchone()["d"]  # type: ignore[index]
    stripped, n = re.subn(r"  -- \(0064, ATTACK8 V5\).*?\n  END IF;\n", "", migrated, count=1, flags=re.S)
    assert n == 1 and "fl._money_in" not in stripped
    admin.execute(stripped)
    try:
        yield
    finally:
        admin.execute(migrated)


def test_v5_the_journal_refuses_it_in_an_officers_session_whatever_path(county: LedgerDB) -> None:
    """Raw SQL: with the confirmation rule suspended by the superuser, the second officer's
    confirmation (and its batch form) still writes nothing — the posting trigger refuses, in an
    officer's session, any posting that debits a bank or cash account. The officer cannot write
    the journal itself either."""
    hid = _hold(county.connect("o22", autocommit=True), "trg", *MONEY_IN["against a temporary receipt (2001)"])
    o22b = county.connect("o22b", autocommit=True)
    before, bank = int(_one(county, "SELECT count(*) FROM fl.entry")), _county_exp(county)
    with _without_decider_rule(county):
        for sql, params in [(CONFIRM, (hid,)), ("SELECT * FROM fl.confirm_entries(%s)", ([hid],))]:
            e = _refused(o22b, sql, params)
            assert e.diag.constraint_name == "city_confirms" and "puts money into 1004 county_exp" in str(e), e
    for sql in ("INSERT INTO fl.posting (entry_id, account_id, side, amount) VALUES (1, 1, 'D', 1)",
                "SELECT * FROM fl._post(NULL, NULL)"):
        e = _refused(o22b, sql)
        assert isinstance(e, psycopg.errors.InsufficientPrivilege), e
    assert int(_one(county, "SELECT count(*) FROM fl.entry")) == before and _county_exp(county) == bank
    assert _state(county, hid) == ("held", None)


def test_v5_verify_names_money_in_by_hand_without_the_city(county: LedgerDB) -> None:
    """The superuser switches the rule off for one confirmation (fl._money_in, which both the
    confirmation and the journal's trigger ask, answers false) and puts it back byte for byte: the
    independent verdict (ledger.core.rules: maker_checker) and the in-database pass
    (held_entries) still name the entry and its officer confirmer."""
    # (against a temporary receipt: no expenditure, which 0067 makes the city's figure as well)
    hid = _hold(county.connect("o22", autocommit=True), "forced", *MONEY_IN["against a temporary receipt (2001)"])
    assert verdict(county) == {}
    with body_off(county.admin(), "fl._money_in(text,text,text)", "\n  SELECT false\n"):
        done = county.connect("o22b", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    assert done is not None and done["status"] == "posted"
    f = named(verdict(county), "maker_checker", entry_id=int(done["entry_id"]), words="money into")
    assert "confirmed by o22b, an officer" in str(f["message"]) and "1004 county_exp" in str(f["message"])
    r = county.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r
    held = [f for c in r.json()["checks"] if c["name"] == "held_entries" for f in c["findings"]]
    assert any(f"held entry {hid} " in json.dumps(f) and "o22b (officer)" in json.dumps(f) for f in held), held


# ---- V8 ------------------------------------------------------------------------------------

def _hold_many(conn: psycopg.Connection, prefix: str, n: int) -> list[int]:
    docs = [entry(f"{prefix}-{i}", "2024-03-20", "RES", leg("1004", "230822", "D", "1.00", "county_exp"),
                  leg("2001", "230822", "C", "1.00")) for i in range(n)]
    rows = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(docs),)).fetchall()
    assert {r["status"] for r in rows} == {"held"}
    return [int(r["held_id"]) for r in rows]


def _reject_all(conn: psycopg.Connection, ids: list[int]) -> None:
    n = conn.execute("SELECT count(*) AS n FROM unnest(%s::bigint[]) i, fl.reject_entry(i, 'withdrawn') r "
                     "WHERE r.state = 'rejected'", (ids,)).fetchone()
    assert n is not None and n["n"] == len(ids)


def test_v8_withdrawals_are_bounded_and_the_maker_is_never_stuck(county: LedgerDB) -> None:
    """The attack's loop (hold 1000, withdraw them, again) stops at 2000 withdrawals in 24 hours:
    the 2001st is refused (withdrawal_cap, Chinese first, saying who rejects it instead and when
    to try again), and the entry stays held. The maker still holds new entries (0050's open cap
    is unchanged), a reviewer rejects the one left (the city's rejections are never capped), and
    a colleague's own withdrawals are its own count."""
    o22 = county.connect("o22", autocommit=True)
    for rnd in range(2):
        _reject_all(o22, _hold_many(o22, f"junk{rnd}", 1000))
    assert int(_one(county, "SELECT count(*) FROM fl.pending_entry WHERE made_by = 'o22' AND state = 'rejected'")) == 2000
    county.next_region_day("o22")   # 2,000 manual entries are a day's (0073); withdrawals count 24 hours
    (last,) = _hold_many(o22, "junk2", 1)
    e = _refused(o22, REJECT, (last,))
    assert e.diag.constraint_name == "withdrawal_cap", e
    assert "2000" in str(e) and f"entry reject {last}" in str(e) and "again after" in str(e)
    assert _state(county, last) == ("held", None)
    zh = county.cli("entry", "reject", str(last), "--reason", "again", user="o22", env={"FUNDLEDGER_LANG": ""})
    assert zh.exit_code == 1 and "Traceback" not in zh.stderr, zh
    assert "2000" in zh.stderr and re.search(r"[\u4e00-\u9fff]", zh.stderr) and "held entries" not in zh.stderr, zh
    en = county.cli("--lang", "en", "entry", "reject", str(last), "--reason", "again", user="o22")
    assert en.exit_code == 1 and "[withdrawal_cap]" in en.stderr, en
    # Not stuck: it holds new entries, and the city rejects the one it could not withdraw.
    assert len(_hold_many(o22, "next", 3)) == 3
    rev = county.connect("rev", autocommit=True)
    assert rev.execute("SELECT state FROM fl.reject_entry(%s, 'withdrawn for o22')", (last,)).fetchone()["state"] == "rejected"  # type: ignore[index]
    # o22b's withdrawals are its own: one is allowed.
    o22b = county.connect("o22b", autocommit=True)
    (own,) = _hold_many(o22b, "b", 1)
    assert o22b.execute(REJECT, (own,)).fetchone()["state"] == "rejected"  # type: ignore[index]


def test_v8_two_officers_rejecting_for_each_other_are_bounded_too(county: LedgerDB) -> None:
    """Two officers of one county take turns: o22 holds, o22b rejects. An officer's rejections
    count like withdrawals (at most 2000 in 24 hours); the maker itself may still withdraw."""
    o22, o22b = county.connect("o22", autocommit=True), county.connect("o22b", autocommit=True)
    for rnd in range(2):
        _reject_all(o22b, _hold_many(o22, f"pair{rnd}", 1000))
    county.next_region_day("o22")   # 2,000 manual entries are a day's (0073); rejections count 24 hours
    (last,) = _hold_many(o22, "pair2", 1)
    assert _refused(o22b, REJECT, (last,)).diag.constraint_name == "withdrawal_cap"
    assert o22.execute(REJECT, (last,)).fetchone()["state"] == "rejected"  # type: ignore[index]
