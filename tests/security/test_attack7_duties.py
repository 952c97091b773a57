"""ATTACK7 U5 and U7, through the roles' own logins (sql/0058_city_confirms.sql).

U5 (HIGH): two officers of one county held and confirmed a manual entry Dr 1003 special / Cr
4101.county of ¥900,000,000: city finance's physical account overstated, the county's deficit
gone, no one from the city involved. Now an officer's held entry on the city's figures — its
bank accounts (1003 special, 1004 city_exp, 1005 treasury: either side) and revenue and fund
balance (4xxx, 3xxx) — is confirmed by the city bureau (a reviewer) or city finance only; the
journal refuses such a manual entry written in an officer's session whatever path reaches it,
and the in-database pass of verify names one confirmed by anyone else.

U7 (MED): ``fl.record_matches(bank, '[]')`` locked the pooled special account's row without
0044's busy-holder mark, so a reviewer that kept a statement running after it stopped every
posting on the special account for hours. Now record_matches locks no bank account, and every
function that locks a contended row or takes a table lock that stops other writers carries the
mark — the sweep below reads every function body of the migrated database."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from ledger.store.db import run_tx
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post, reclass

pytestmark = pytest.mark.db

CONFIRM = "SELECT * FROM fl.confirm_entry(%s)"


def _officer(db: LedgerDB, name: str, unit: str) -> psycopg.Connection:
    """A second officer login of ``unit`` (as the admin adds one: ``user add NAME --role officer``)."""
    admin = db.admin()
    if admin.execute("SELECT current_setting('server_version_num')::int AS v").fetchone()["v"] < 160000:  # type: ignore[index]
        # PostgreSQL 15: the ledger's owner cannot create roles; the DBA makes the login first (0009).
        # Two workers adding the same login at once race in pg_authid: unique_violation, not duplicate_object.
        admin.execute(f"DO $$ BEGIN CREATE ROLE {name} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
    for attempt in range(5):
        try:
            admin.execute("SELECT fl.add_user(%s, 'officer', %s)", (name, unit))
            break
        except psycopg.errors.InternalError as e:
            # The login is the cluster's, shared by every worker's database: two workers granting
            # it its group at once meet in pg_auth_members ("tuple concurrently updated", XX000;
            # seen on PostgreSQL 15 in CI). The test's subject is not that race: try again.
            if "concurrently updated" not in str(e) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    return db.connect(name, autocommit=True)


def _hold(conn: psycopg.Connection, key: str, *legs: dict[str, Any], date: str = "2024-03-20") -> int:
    rows = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([entry(key, date, "RES", *legs)]),)
                        ).fetchall()
    assert [r["status"] for r in rows] == ["held"], rows
    return int(rows[0]["held_id"])


def _refused(conn: psycopg.Connection, sql: str, params: Any = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql, params).fetchall()
    return e.value


def _entries(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"])  # type: ignore[index]


def _state(db: LedgerDB, held: int) -> tuple[str, str | None]:
    r = db.admin().execute("SELECT state, decided_by FROM fl.pending_entry WHERE id = %s", (held,)).fetchone()
    assert r is not None
    return r["state"], r["decided_by"]


@pytest.fixture
def county(ledger_db: LedgerDB) -> LedgerDB:
    """230822 with money in the special account (finance's collection) and ¥1,000,000 moved to its
    own expenditure account; a second officer o22b of 230822."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("seed-22", "2024-01-05", "230822", "5000000.00"),
         entry("to-county", "2024-01-06", "RES", leg("1004", "230822", "D", "1000000.00", "county_exp"),
               leg("1003", "230822", "C", "1000000.00", "special")))
    _officer(ledger_db, "o22b", "230822")
    return ledger_db


# The city's figures, each held by an officer of 230822: its second officer may not confirm.
CITY: dict[str, tuple[dict[str, Any], ...]] = {
    "the reproduction: Dr 1003 special / Cr 4101.county": (
        leg("1003", "230822", "D", "900000000.00", "special"), leg("4101.county", "230822", "C", "900000000.00")),
    "money into the special account against a temporary receipt": (
        leg("1003", "230822", "D", "900000000.00", "special"), leg("2001", "230822", "C", "900000000.00")),
    "money into the treasury account": (
        leg("1005", "230822", "D", "5000.00", "treasury"), leg("2001", "230822", "C", "5000.00")),
    "money into the city expenditure account": (
        leg("1004", "230822", "D", "5000.00", "city_exp"), leg("2001", "230822", "C", "5000.00")),
    "revenue into the county's own expenditure account": (
        leg("1004", "230822", "D", "5000.00", "county_exp"), leg("4501", "230822", "C", "5000.00")),
    "the fund balance raised": (
        leg("1101", "230822", "D", "5000.00"), leg("3001", "230822", "C", "5000.00")),
    "revenue taken back (a debit of 4001)": (
        leg("4001", "230822", "D", "5000.00"), leg("2001", "230822", "C", "5000.00")),
}


def test_u5_reproduction_two_officers_of_one_county_cannot_book_city_money(county: LedgerDB, tmp_path: Any) -> None:
    """The attack as written, through the CLI: officer_230822 holds Dr 1003 special / Cr
    4101.county ¥900,000,000; the county's second officer's `entry confirm` is refused with the
    rule and who confirms (in Chinese by default); nothing is posted; a reviewer can confirm it."""
    doc = [{"date": "2024-03-20", "book": "RES", "idempotency_key": "RT7-REV", "memo": "county subsidy received",
            "postings": [{"account": "1003", "unit": "230822", "holder": "special", "side": "debit",
                          "amount": "900000000.00"},
                         {"account": "4101.county", "unit": "230822", "side": "credit", "amount": "900000000.00"}]}]
    f = tmp_path / "s1.json"
    f.write_text(json.dumps(doc), "utf-8")
    held = county.cli("entry", "post", str(f), "--json", user="o22")
    assert held.exit_code == 0, held
    hid = int(county.admin().execute("SELECT id FROM fl.pending_entry WHERE idempotency_key = 'manual:o22:RT7-REV'"
                                     ).fetchone()["id"])  # type: ignore[index]
    before = _entries(county)
    r = county.cli("entry", "confirm", str(hid), user="o22b")
    assert r.exit_code == 1 and "[city_confirms]" in r.stderr, r
    assert "city bureau (a reviewer) or city finance" in r.stderr and "Traceback" not in r.stderr
    zh = county.cli("entry", "confirm", str(hid), user="o22b", env={"FUNDLEDGER_LANG": ""})
    assert zh.exit_code == 1 and "市医保局" in zh.stderr and "市财政" in zh.stderr, zh
    assert _entries(county) == before and _state(county, hid) == ("held", None)
    ok = county.cli("entry", "confirm", str(hid), user="rev")
    assert ok.exit_code == 0, ok
    assert _state(county, hid) == ("confirmed", "rev")


@pytest.mark.parametrize("what", list(CITY))
def test_u5_every_city_figure_is_confirmed_by_the_city(county: LedgerDB, what: str) -> None:
    """Each city figure, either side: the county's second officer is refused, and so is an officer
    of another county; finance (or a reviewer) confirms it."""
    o22 = county.connect("o22", autocommit=True)
    hid = _hold(o22, f"city-{list(CITY).index(what)}", *CITY[what])
    before = _entries(county)
    e = _refused(county.connect("o22b", autocommit=True), CONFIRM, (hid,))
    assert e.diag.constraint_name == "city_confirms", e
    assert f"entry confirm {hid}" in str(e)
    e = _refused(county.connect("o81", autocommit=True), CONFIRM, (hid,))
    assert e.diag.constraint_name in ("permission_denied", "not_found"), e
    assert _entries(county) == before and _state(county, hid) == ("held", None)
    out = county.connect("fin", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    assert out is not None and out["status"] == "posted"


def test_u5_the_countys_expenditure_by_hand_is_the_citys_since_0067(county: LedgerDB) -> None:
    """A benefit paid by hand from the county's own expenditure account (Dr 5001 / Cr 1004
    county_exp), and its expenditure reclassified: both change what the year-end shortfall rule
    reads (ATTACK9 W2), so since 0067 the second officer of the county is refused and the city
    bureau confirms; the second officer may still reject."""
    o22 = county.connect("o22", autocommit=True)
    o22b = county.connect("o22b", autocommit=True)
    rev = county.connect("rev", autocommit=True)
    for key, legs in [("pay", (leg("5001.inpatient", "230822", "D", "300.00"),
                               leg("1004", "230822", "C", "300.00", "county_exp"))),
                      ("recl", (leg("5001.outpatient", "230822", "D", "100.00"),
                                leg("5001.inpatient", "230822", "C", "100.00")))]:
        hid = _hold(o22, key, *legs)
        e = _refused(o22b, CONFIRM, (hid,))
        assert e.diag.constraint_name == "city_confirms" and f"entry confirm {hid}" in str(e), (key, e)
        assert rev.execute(CONFIRM, (hid,)).fetchone()["status"] == "posted", key  # type: ignore[index]
    hid = _hold(o22, "withdrawn", leg("5001.outpatient", "230822", "D", "1.00"), leg("5001.inpatient", "230822", "C", "1.00"))
    assert o22b.execute("SELECT state FROM fl.reject_entry(%s, 'no')", (hid,)).fetchone()["state"] == "rejected"  # type: ignore[index]


def test_u5_variants_the_bureaus_own_entries_reversals_openings_interest(county: LedgerDB) -> None:
    """The bureau's own held entry on the special account: no officer confirms it. Its reversal:
    an officer neither reverses nor confirms it. An officer posts no opening and no interest."""
    rev, rev2, fin = (county.connect(u, autocommit=True) for u in ("rev", "rev2", "fin"))
    o22, o22b = county.connect("o22", autocommit=True), county.connect("o22b", autocommit=True)
    hid = _hold(rev, "bureau-in", *CITY["the reproduction: Dr 1003 special / Cr 4101.county"])
    for who in (o22, o22b):
        assert _refused(who, CONFIRM, (hid,)).diag.constraint_name == "permission_denied"
    eid = int(rev2.execute(CONFIRM, (hid,)).fetchone()["entry_id"])  # type: ignore[index]
    # Its reversal: not by an officer, and held for the city when the bureau makes it.
    e = _refused(o22, "SELECT * FROM fl.reverse_entry(%s, 'wrong', '2024-03-21', 'rv-o22')", (eid,))
    assert e.diag.constraint_name in ("permission_denied", "workflow_kind"), e
    r = rev.execute("SELECT * FROM fl.reverse_entry(%s, 'wrong', '2024-03-21', 'rv-rev')", (eid,)).fetchone()
    assert r is not None and r["status"] == "held"
    rhid = int(r["held_id"])
    for who in (o22, o22b):
        assert _refused(who, CONFIRM, (rhid,)).diag.constraint_name == "permission_denied"
    assert fin.execute(CONFIRM, (rhid,)).fetchone()["status"] == "posted"  # type: ignore[index]
    # Openings and interest are the city's commands.
    for sql, params in [
        ("SELECT * FROM fl.post_opening(%s::jsonb)",
         (json.dumps([entry("op", "2024-01-01", "RES", leg("1003", "230822", "D", "1.00", "special"),
                            leg("3001", "230822", "C", "1.00"))]),)),
        ("SELECT * FROM fl.allocate_interest('RES', '2024-03-21', 'int-o22', 100, '2024-01-01', '2024-03-20', "
         "'[]'::jsonb)", None),
    ]:
        _refused(o22, sql, params)
    # A manual entry with a workflow kind typed in: refused as before (0017), on any figure.
    doc = entry("kind-typed", "2024-03-20", "RES", *CITY["the reproduction: Dr 1003 special / Cr 4101.county"])
    for kind in ("interest", "opening", "reversal", "collections"):
        e = _refused(o22, "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([{**doc, "kind": kind}]),))
        assert e.diag.constraint_name == "workflow_kind", (kind, e)


def _without_decider_rule(db: LedgerDB) -> Callable[[], None]:
    """As the superuser (ATTACK7 U3's way): fl._decider without 0058's rule (and 0064's, ATTACK8 V5:
    money into a bank account, which the special account is too) for a moment; returns the function
    that puts the migrated definition back exactly."""
    admin = db.admin()
    migrated = admin.execute("SELECT pg_get_functiondef('fl._decider'::regproc) AS d").fetchone()["d"]  # type: ignore[index]
    stripped, n = re.subn(r"  -- \((?:0058, ATTACK7 U5|0064, ATTACK8 V5)\).*?\n  END IF;\n", "", migrated,
                          flags=re.S)
    assert n == 2 and "city_confirms" not in stripped
    admin.execute(stripped)
    return lambda: admin.execute(migrated)


def test_u5_the_journal_refuses_it_in_an_officers_session_whatever_path(county: LedgerDB) -> None:
    """The last word is the journal's: with the confirmation rule suspended by the superuser, the
    second officer's confirmation still writes nothing (the posting trigger refuses, in an
    officer's session, a manual entry on a city figure)."""
    hid = _hold(county.connect("o22", autocommit=True), "trg",
                *CITY["the reproduction: Dr 1003 special / Cr 4101.county"])
    restore = _without_decider_rule(county)
    try:
        before = _entries(county)
        e = _refused(county.connect("o22b", autocommit=True), CONFIRM, (hid,))
        assert e.diag.constraint_name == "city_confirms" and "may not post a manual entry" in str(e), e
        assert _entries(county) == before
    finally:
        restore()


def test_u5_verify_names_an_officer_confirmation_of_a_city_figure(county: LedgerDB) -> None:
    """The superuser suspends both rules for one confirmation and puts them back: the in-database
    pass of verify (held_entries) names the held entry and its officer confirmer."""
    hid = _hold(county.connect("o22", autocommit=True), "forced",
                *CITY["money into the special account against a temporary receipt"])
    admin = county.admin()
    restore = _without_decider_rule(county)
    # (0090) the journal's city rules are columns of fl.posting_inserted's first statement, gated on the session's
    # being an officer's: that gate off, as DISABLE TRIGGER posting_city_figures did before
    officer = ("EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user::text COLLATE \"default\" "   # (0159)
               "AND u.role = 'officer') AS officer")
    rules = admin.execute("SELECT pg_get_functiondef('fl.posting_inserted()'::regprocedure) AS d").fetchone()["d"]  # type: ignore[index]
    assert rules.count(officer) == 1
    admin.execute(rules.replace(officer, "false AS officer"))
    try:
        assert county.connect("o22b", autocommit=True).execute(CONFIRM, (hid,)).fetchone()["status"] == "posted"  # type: ignore[index]
    finally:
        admin.execute(rules)
        restore()
    r = county.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r
    doc = r.json()
    held = [f for c in doc["checks"] if c["name"] == "held_entries" for f in c["findings"]]
    assert any(f"held entry {hid} " in json.dumps(f) and "o22b (officer)" in json.dumps(f) for f in held), held


# ---- U7 -----------------------------------------------------------------------------------

CONTENDED = ("account", "bank_account", "voucher_counter", "chain_head")
ROW_LOCK = re.compile(r"\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b", re.I)
TABLE_LOCK = re.compile(r"\bLOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?fl\.([a-z_]+)(?:\s+IN\s+([a-z ]+?)\s+MODE)?\s*(?:NOWAIT\s*)?$",
                        re.I)
# Table locks that do not conflict with a writer's ROW EXCLUSIVE: nobody waits on them.
HARMLESS = {"ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE"}
MARK = "fl._contended_mark()"
# (0159) the same mark written out in a function body, as fl.contended_written (0076), fl.posting_inserted
# and fl.seal_transaction (0159) take it: the advisory key 1179404375 ('FLHW') and the statement's start.
MARK_INLINE = "pg_catalog.pg_advisory_xact_lock_shared((1179404375 + us / 2147483648)::int, (us % 2147483648)::int)"


def marked(body: str) -> bool:
    """The body takes 0044's mark: by fl._contended_mark() or written out."""
    return MARK in body or MARK_INLINE in body


def _statements(body: str) -> list[str]:
    """A function body's statements, comments and string literals blanked in one left-to-right
    pass (a lock named in a message is not a lock; '--as' inside a literal is no comment)."""
    text = re.sub(r"'(?:[^']|'')*'|--[^\n]*", lambda m: "''" if m.group().startswith("'") else " ", body)
    return [s.strip() for s in text.split(";")]


def _stops_writers(st: str) -> bool:
    """A table lock in a mode that conflicts with a writer's, or a row lock in a statement that
    reads a contended table."""
    m = TABLE_LOCK.search(st)
    if m:
        return " ".join((m.group(2) or "ACCESS EXCLUSIVE").upper().split()) not in HARMLESS
    return bool(ROW_LOCK.search(st)) and any(re.search(rf"\bfl\.{t}\b", st) for t in CONTENDED)


def unmarked_locks(functions: dict[str, str]) -> dict[str, list[str]]:
    """Per function: each statement that locks a contended row (FOR UPDATE / NO KEY UPDATE /
    SHARE / KEY SHARE on fl.account, fl.bank_account, fl.voucher_counter, fl.chain_head, SKIP
    LOCKED or not) or takes a table lock that stops other writers, when the body never takes
    0044's mark (fl._contended_mark()). The mark is per statement start, the same for the whole
    call, so one in the body covers every lock it takes."""
    out: dict[str, list[str]] = {}
    for name, body in functions.items():
        found = [st for st in _statements(body) if _stops_writers(st)]
        if found and not marked(body):
            out[name] = found
    return out


def _functions(conn: psycopg.Connection) -> dict[str, str]:
    return {r["f"]: r["d"] for r in conn.execute(
        "SELECT p.oid::regprocedure::text AS f, pg_get_functiondef(p.oid) AS d FROM pg_proc p "
        "WHERE p.pronamespace = 'fl'::regnamespace AND p.prokind IN ('f', 'p') ORDER BY 1").fetchall()}


def test_u7_sweep_every_lock_on_a_contended_row_carries_the_mark(ledger_db: LedgerDB) -> None:
    """Every function of the migrated database: a lock on fl.account, fl.bank_account,
    fl.voucher_counter or fl.chain_head, or a table lock that stops writers (fl.closed_period,
    which every entry needs), is taken with 0044's mark; the sweep sees the locks it should (it
    is not blind), and record_matches takes none on the bank account."""
    funcs = _functions(ledger_db.admin())
    assert unmarked_locks(funcs) == {}
    locking = {f for f, b in funcs.items() if marked(b)}
    for f in ("fl._special_account(text)", "fl.posting_inserted()", "fl.seal_pending()", "fl.seal_transaction()",
              "fl._lock_closed_period()", "fl.close_year_from_books(integer,date)", "fl.handover_transfer(text,date)"):
        assert f in locking, f
    assert not any(re.search(r"\bfl\.bank_account\b", s) and ROW_LOCK.search(s)
                   for s in _statements(funcs["fl.record_matches(integer,jsonb)"]))
    # The sweep itself: what it must catch, and what it must let by.
    assert unmarked_locks({"f": "BEGIN PERFORM 1 FROM fl.bank_account WHERE id = p FOR UPDATE; END"}) != {}
    assert unmarked_locks({"f": "BEGIN SELECT 1 INTO x FROM fl.account a\n WHERE a.id = 1\n FOR NO KEY UPDATE SKIP "
                                "LOCKED; END"}) != {}
    assert unmarked_locks({"f": "BEGIN LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE; END"}) != {}
    assert unmarked_locks({"f": "BEGIN LOCK fl.closed_period; END"}) != {}
    assert unmarked_locks({"f": "BEGIN LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE; END"}) == {}
    assert unmarked_locks({"f": "BEGIN RAISE 'FOR UPDATE on fl.account'; -- FOR UPDATE fl.account\nEND"}) == {}
    assert unmarked_locks({"f": "BEGIN PERFORM fl._contended_mark(); PERFORM 1 FROM fl.chain_head FOR UPDATE; END"}
                          ) == {}
    assert unmarked_locks({"f": f"BEGIN PERFORM {MARK_INLINE}; PERFORM 1 FROM fl.chain_head FOR UPDATE; END"}) == {}
    assert unmarked_locks({"f": "BEGIN PERFORM pg_catalog.pg_advisory_xact_lock_shared(1, 2); "
                                "PERFORM 1 FROM fl.chain_head FOR UPDATE; END"}) != {}
    # And no caller can take such a row lock itself: row locks need UPDATE on the table.
    adm = ledger_db.admin()
    for t in CONTENDED:
        for g in ("fl_officer", "fl_reviewer", "fl_finance", "fl_auditor", "fl_admin", "o22", "rev", "fin"):
            r = adm.execute("SELECT has_any_column_privilege(%s, %s, 'UPDATE') AS u", (g, f"fl.{t}")).fetchone()
            assert r is not None and r["u"] is False, (g, t)


def _bank(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT id FROM fl.bank_account WHERE book = 'RES' AND holder = 'special' "
                                  "AND unit IS NULL").fetchone()["id"])  # type: ignore[index]


def _no_limits(c: psycopg.Connection) -> None:
    for s in ("idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout"):
        c.execute(f"SET {s} = 0")


def test_u7_reproduction_record_matches_holds_nothing_on_the_special_account(ledger_db: LedgerDB) -> None:
    """The reviewer calls record_matches(special, '[]') and keeps its transaction computing;
    finance's entry on the special account posts at once (before: busy, for as long as the
    reviewer liked)."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("seed", "2024-01-05", "230822", "100.00"))
    bank = _bank(ledger_db)
    hog = ledger_db.connect("rev")
    _no_limits(hog)
    assert hog.execute("SELECT fl.record_matches(%s, '[]'::jsonb) AS n", (bank,)).fetchone()["n"] == 0  # type: ignore[index]
    pid = int(hog.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]
    out: dict[str, Any] = {}

    def spin() -> None:
        try:
            hog.execute("SELECT count(*) FROM generate_series(1, 100000000000)")
        except psycopg.Error as e:
            out["e"] = e

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    try:
        # The bank account's row is free: NOWAIT succeeds (the superuser's probe).
        adm = ledger_db.connect(None)
        adm.execute("SELECT 1 FROM fl.bank_account WHERE id = %s FOR UPDATE NOWAIT", (bank,)).fetchall()
        adm.rollback()
        t0 = time.monotonic()
        fin.execute("SET lock_timeout = '3s'")
        post(fin, collect("during", "2024-01-06", "230822", "100.00"))
        assert time.monotonic() - t0 < 3
    finally:
        ledger_db.admin().execute("SELECT pg_cancel_backend(%s)", (pid,))
        t.join(20)
    assert isinstance(out.get("e"), psycopg.errors.QueryCanceled)


def _marked(db: LedgerDB, pid: int) -> bool:
    """Whether session ``pid`` holds 0044's mark (the guard's own reading of pg_locks)."""
    return bool(db.admin().execute(
        "SELECT count(*) AS n FROM pg_locks l WHERE l.pid = %s AND l.locktype = 'advisory' AND l.objsubid = 2 "
        "AND l.granted AND l.classid::bigint BETWEEN 1179404375 AND 1179404375 + 1000", (pid,)).fetchone()["n"])  # type: ignore[index]


def test_u7_closing_a_period_is_marked_and_its_holder_is_ended(ledger_db: LedgerDB) -> None:
    """The same class on a table every writer needs: a reviewer closes a month (SHARE ROW EXCLUSIVE on
    fl.closed_period, no contended row written) and keeps a statement running. The call left the
    mark; another writer's entry goes through within the library's retries and the holder is ended."""
    hog = ledger_db.connect("rev2")
    _no_limits(hog)
    pid = int(hog.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]
    hog.execute("SELECT fl.close_period('2023-01-01', 'month end')")
    assert _marked(ledger_db, pid)
    out: dict[str, Any] = {}

    def spin() -> None:
        try:
            hog.execute("SELECT count(*) FROM generate_series(1, 100000000000)")
        except psycopg.Error as e:
            out["e"] = e

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    rev = ledger_db.connect("rev")
    t0 = time.monotonic()
    rows = run_tx(rev, lambda c: c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        [reclass("after", "2023-03-02", "230800", "2.00")]),)).fetchall())
    assert rows[0]["status"] == "posted"
    assert time.monotonic() - t0 < 45
    t.join(10)
    assert isinstance(out.get("e"), psycopg.OperationalError), out
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.closed_period WHERE month = '2023-01-01'"
                                     ).fetchone()["n"] == 0  # type: ignore[index]
