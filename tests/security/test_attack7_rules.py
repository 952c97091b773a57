"""ATTACK7 U1a and U3: a superuser suspends one API rule for one call and restores it.

A rule held only by a SQL function or trigger body is switched off with ``CREATE OR
REPLACE`` for one call and put back byte for byte (``pg_get_functiondef`` saved first): the
catalogue's content fingerprint sees nothing afterwards, and the call's rows look like any
other. Each test below does exactly that for one rule, makes the write the rule forbids
through an ordinary user's own login, restores the function, checks that the catalogue
is clean again (the restore left no trace) — and asserts that the independent verdict
(``verify_independent``, Python over raw rows: ledger.core.rules) names the record and the
rule anyway.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.core import api_rules
from ledger.store import imports
from tests.conftest import LedgerDB
from tests.helpers import confirm, entry, leg, reclass

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    """collections.csv imported by finance: money in the pooled special account for each RES unit."""
    fin = ledger_db.connect("fin")
    assert imports.import_file(fin, "collections", DATA / "collections.csv").rows_posted == 6
    fin.commit()
    return ledger_db


@contextlib.contextmanager
def suspended(admin: psycopg.Connection, function: str, old: str, new: str) -> Iterator[None]:
    """``function``'s definition with ``old`` replaced by ``new`` for the block, then its
    exact definition again (as the red team did: nothing is left in the catalogue)."""
    saved = admin.execute("SELECT pg_catalog.pg_get_functiondef(%s::regprocedure) AS d", (function,)).fetchone()["d"]
    assert old in saved, saved
    admin.execute(saved.replace(old, new))
    try:
        yield
    finally:
        admin.execute(saved)
    again = admin.execute("SELECT pg_catalog.pg_get_functiondef(%s::regprocedure) AS d", (function,)).fetchone()["d"]
    assert again == saved


def verdict(db: LedgerDB) -> dict[str, list[dict[str, object]]]:
    """The independent verdict as the auditor gets it: findings by check; the catalogue
    must be clean (the suspended rule was restored without a trace)."""
    from ledger.store.verify_independent import verify_independent

    c = db.connect("aud")
    try:
        rep = verify_independent(c)
    finally:
        c.close()
    assert set(c.name for c in rep.checks) <= set(api_rules.INDEPENDENT)
    out: dict[str, list[dict[str, object]]] = {}
    for f in rep.findings:
        out.setdefault(f.check, []).append(f.as_json())
    assert "catalogue" not in out, out["catalogue"]
    return out


def named(found: dict[str, list[dict[str, object]]], check: str, *, entry_id: int | None = None,
          request_id: int | None = None, words: str = "") -> dict[str, object]:
    for f in found.get(check, []):
        if ((entry_id is None or f["entry_id"] == entry_id) and (request_id is None or f["request_id"] == request_id)
                and words in str(f["message"])):
            return f
    raise AssertionError(f"no {check} finding for entry {entry_id} / request {request_id} with {words!r}: {found}")


def _post(conn: psycopg.Connection, doc: dict[str, object]) -> dict[str, object]:
    return dict(conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchone())


# ---- U1a: maker-checker ----------------------------------------------------------------------

def test_u1a_one_reviewer_takes_special_account_money_alone(funded: LedgerDB) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    assert verdict(funded) == {}
    steal = entry("rt7-steal", "2023-02-20", "RES", leg("5001.other", "230822", "D", "1000.00"),
                  leg("1003", "230822", "C", "1000.00", "special"), memo="consulting")
    with suspended(admin, "fl._held_by_hand(text,text)", "SELECT fl._real_money(p_chart, p_holder)",
                   "SELECT false WHERE false AND fl._real_money(p_chart, p_holder)"):
        r = _post(rev, steal)
    assert r["status"] == "posted" and r["held_id"] is None     # no second person was asked
    f = named(verdict(funded), "maker_checker", entry_id=int(r["entry_id"]), words="without a second person")
    assert "manual:rev:rt7-steal" in str(f["message"]) and "1003 special" in str(f["message"])


def test_u1a_an_officer_confirms_the_bureaus_held_entry(funded: LedgerDB) -> None:
    admin = funded.admin()
    rev, o22 = funded.connect("rev", autocommit=True), funded.connect("o22", autocommit=True)
    # (Bonds bought against borrowing: held whoever makes it, no money into a bank account, which
    # since 0064 no officer confirms, and no expenditure, which since 0067 neither.)
    held = _post(rev, entry("rt7-cross", "2023-02-20", "RES", leg("1201", "230822", "D", "10.00"),
                            leg("2101", "230822", "C", "10.00")))
    assert held["status"] == "held"        # for unit 230822 only: its officer sees it (row security)
    with suspended(admin, "fl._decider(fl.pending_entry,text)", "IF u.role = 'officer' AND (",
                   "IF false AND ("):
        done = o22.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],)).fetchone()
    assert done["status"] == "posted"
    named(verdict(funded), "maker_checker", entry_id=int(done["entry_id"]), words="an officer confirms only")


# ---- U3: request duties ----------------------------------------------------------------------

def test_u3_the_approver_settles_what_it_approved(funded: LedgerDB, tmp_path: Path) -> None:
    admin = funded.admin()
    o22, rev, fin = (funded.connect(u, autocommit=True) for u in ("o22", "rev", "fin"))
    rid = int(o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 1, 1000000, 'q1', 'rt7-u3')"
                          ).fetchone()["id"])
    rev.execute("SELECT fl.request_approve(%s, NULL, '2023-01-20')", (rid,))
    fin.execute("SELECT fl.request_disburse(%s, '2023-02-01', NULL)", (rid,))
    with suspended(admin, "fl.request_event_duties()", "  IF FOUND THEN", "  IF false THEN"):
        rev.execute("SELECT fl.request_settle(%s, '2023-02-02', NULL)", (rid,))
    row = admin.execute("SELECT approved_by, state FROM fl.fund_request WHERE id = %s", (rid,)).fetchone()
    assert (row["approved_by"], row["state"]) == ("rev", "settled")
    f = named(verdict(funded), "request_duties", request_id=rid, words="settle")
    assert "by rev, who approved it" in str(f["message"])
    # The auditor's archive says the same with no database (verify --offline: the same code).
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = funded.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    r = funded.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert r.exit_code == 1, r
    offline = next(c for c in r.json()["checks"] if c["name"] == "request_duties")["findings"]
    assert [x["message"] for x in offline] == [f["message"]] and offline[0]["request_id"] == rid


# ---- officer confinement (0039, 0043) -----------------------------------------------------------

def test_an_officer_posts_for_another_unit(funded: LedgerDB) -> None:
    admin, o22 = funded.admin(), funded.connect("o22", autocommit=True)
    with suspended(admin, "fl._check_units(fl.app_user,fl.new_posting[])", "IF u.role = 'officer' THEN",
                   "IF false THEN"):
        r = _post(o22, reclass("rt7-other-unit", "2023-02-20", "230881", "10.00"))
    assert r["status"] == "posted"
    named(verdict(funded), "officer_confinement", entry_id=int(r["entry_id"]), words="posts for unit 230881")


def test_an_officer_moves_money_out_of_the_special_account_by_hand(funded: LedgerDB) -> None:
    admin, o22 = funded.admin(), funded.connect("o22", autocommit=True)
    doc = entry("rt7-out", "2023-02-20", "RES", leg("5401", "230822", "D", "10.00"),
                leg("1003", "230822", "C", "10.00", "special"))
    with suspended(admin, "fl._manual_policy(fl.app_user,fl.new_posting[])", "  IF FOUND THEN", "  IF false THEN"):
        held = _post(o22, doc)
    assert held["status"] == "held"
    done = confirm(o22, [int(held["held_id"])], "rev")[0]       # a reviewer confirms what it is shown
    assert done["status"] == "posted"
    named(verdict(funded), "officer_confinement", entry_id=int(done["entry_id"]), words="credits 1003 special")


# ---- key namespaces ---------------------------------------------------------------------------

def test_an_officer_files_a_key_in_a_reviewers_namespace(funded: LedgerDB) -> None:
    admin, o22 = funded.admin(), funded.connect("o22", autocommit=True)
    with suspended(admin, "fl.post_entries(jsonb)", "WHEN left(d.key, length(ns)) = ns THEN",
                   "WHEN d.key LIKE 'manual:%' THEN"):
        r = _post(o22, reclass("manual:rev:planted", "2023-02-20", "230822", "10.00"))
    assert r["status"] == "posted"
    key = admin.execute("SELECT idempotency_key AS k FROM fl.entry WHERE id = %s", (r["entry_id"],)).fetchone()["k"]
    assert key == "manual:rev:planted"
    named(verdict(funded), "key_namespaces", entry_id=int(r["entry_id"]), words="not filed under manual:o22:")


# ---- dates --------------------------------------------------------------------------------------

def test_an_entry_dated_before_the_regions_first_year(funded: LedgerDB) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    first = json.loads(admin.execute("SELECT value::text AS v FROM fl.setting WHERE key = 'first_year'"
                                     ).fetchone()["v"])
    # (0154) the joining date's refusal is the same rule's other half for a unit: off too. (0167) The
    # date in force is read from fl.unit_joining (a row for every unit; joined_on NULL when none is
    # registered): "no registered date" stays on, only "before the date in force" is off.
    with suspended(admin, "fl.entry_inserted()", "n.entry_date < make_date(lim.first, 1, 1)",
                   "n.entry_date < make_date(1900, 1, 1)"), \
            suspended(admin, "fl.unit_first_day_record()", "WHERE j.joined_on IS NULL OR n.day < j.joined_on",
                      "WHERE j.joined_on IS NULL OR n.day < '1900-01-01'"):
        r = _post(rev, reclass("rt7-old", f"{int(first) - 2}-06-01", "230822", "10.00"))
    assert r["status"] == "posted"
    named(verdict(funded), "entry_dates", entry_id=int(r["entry_id"]), words="before the region's first year")


def test_real_money_dated_after_the_day_it_was_written(funded: LedgerDB) -> None:
    admin, fin = funded.admin(), funded.connect("fin", autocommit=True)
    later = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    with suspended(admin, "fl._cash_date_limit()", "SELECT (now() AT TIME ZONE",
                   "SELECT ((now() + interval '3650 days') AT TIME ZONE"):
        held = _post(fin, entry("rt7-future", later, "RES", leg("1003", "230822", "D", "10.00", "special"),
                                leg("2001", "230822", "C", "10.00")))
        done = confirm(fin, [int(held["held_id"])], "rev")[0]
    assert done["status"] == "posted"
    named(verdict(funded), "entry_dates", entry_id=int(done["entry_id"]), words="cash_date_future")


# ---- once only -----------------------------------------------------------------------------------

def test_the_city_propers_opening_recorded_twice(funded: LedgerDB) -> None:
    admin, rev, fin = (funded.admin(), funded.connect("rev", autocommit=True), funded.connect("fin", autocommit=True))

    def opening(key: str) -> int:
        h = rev.execute("SELECT * FROM fl.post_opening(%s::jsonb)", (json.dumps(
            {"date": "2023-01-02", "book": "RES", "idempotency_key": key, "postings": [
                leg("1003", "230800", "D", "50.00", "special"), leg("3001", "230800", "C", "50.00")]}),)).fetchone()
        return int(fin.execute("SELECT * FROM fl.confirm_entry(%s)", (h["held_id"],)).fetchone()["entry_id"])

    first = opening("audited")
    with suspended(admin, "fl.post_opening(jsonb)", "  IF FOUND THEN\n    PERFORM fl.refuse('opening_once'",
                   "  IF false THEN\n    PERFORM fl.refuse('opening_once'"):
        second = opening("again")
    found = verdict(funded)
    named(found, "once_only", entry_id=second, words=f"entry {first} already recorded it")
    assert not any(f["entry_id"] == first for f in found.get("once_only", []))


# ---- U5's twin: an officer's manual entry on a city figure is confirmed by the city (0058) ----------

@contextlib.contextmanager
def body_off(admin: psycopg.Connection, function: str, body: str) -> Iterator[None]:
    """``function``'s whole body replaced by ``body`` for the block when the function exists
    (the rule it holds may not be in this release yet), then restored exactly."""
    exists = admin.execute("SELECT pg_catalog.to_regprocedure(%s) IS NOT NULL AS x", (function,)).fetchone()["x"]
    if not exists:
        yield
        return
    saved = admin.execute("SELECT pg_catalog.pg_get_functiondef(%s::regprocedure) AS d", (function,)).fetchone()["d"]
    rest = saved.split("AS $function$", 1)[1]
    with suspended(admin, function, rest, body + "$function$\n"):
        yield


@contextlib.contextmanager
def journal_rule_off(admin: psycopg.Connection, rule: str) -> Iterator[None]:
    """One of the journal's account rules switched off for the block, then restored exactly: since
    0168 the three are parts of one statement trigger, fl.posting_account_rules, each beginning with
    its own line — ``rule`` 'cat' (category component, 0115), 'fund' (fund balance, 0088/0095) or
    'short' (shortfall clearing, 0101). Since 0171 the fund rule's list is of entries (fund_ent)."""
    line = "IF fund_ent IS NOT NULL THEN" if rule == "fund" else f"IF {rule}_acc IS NOT NULL THEN"
    with suspended(admin, "fl.posting_account_rules()", line, "IF false THEN"):
        yield


@contextlib.contextmanager
def held_rule_off(admin: psycopg.Connection, rule: str) -> Iterator[None]:
    """The same for held entries: since 0169 their three account rules are parts of one statement
    trigger on fl.pending_posting, fl.pending_posting_held_rules, each beginning with its own line —
    ``rule`` 'cat', 'fund' or 'short'. Since 0171 the fund rule's list is of held entries (fund_ent)."""
    line = "IF fund_ent IS NOT NULL THEN" if rule == "fund" else f"IF {rule} THEN"
    with suspended(admin, "fl.pending_posting_held_rules()", line, "IF false THEN"):
        yield


def test_u5_two_officers_of_one_county_put_revenue_on_the_special_account(funded: LedgerDB) -> None:
    admin = funded.admin()
    # Logins are the cluster's: one a stopped run left behind is dropped first (the drop of
    # the test's database took its objects; DROP OWNED clears what else it holds here).
    admin.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'o22u5') THEN "
                  "EXECUTE 'DROP OWNED BY o22u5'; DROP ROLE o22u5; END IF; END $$")
    if admin.execute("SELECT current_setting('server_version_num')::int AS v").fetchone()["v"] < 160000:
        # PostgreSQL 15: the ledger's owner cannot create roles; the DBA makes the login first (0009).
        admin.execute("DO $$ BEGIN CREATE ROLE o22u5 LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    r = funded.cli("user", "add", "o22u5", "--role", "officer", "--unit", "230822", user="admin")
    assert r.exit_code == 0, r
    o22, o22u5 = funded.connect("o22", autocommit=True), funded.connect("o22u5", autocommit=True)
    held = _post(o22, entry("rt7-u5", "2023-03-20", "RES", leg("1003", "230822", "D", "9000.00", "special"),
                            leg("4101.county", "230822", "C", "9000.00"), memo="county subsidy received"))
    assert held["status"] == "held"
    with body_off(admin, "fl._city_figure(text,text)", "\n  SELECT false\n"), \
         body_off(admin, "fl._money_in(text,text,text)", "\n  SELECT false\n"):   # 0064: the special account too
        done = o22u5.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],)).fetchone()
    assert done["status"] == "posted"
    f = named(verdict(funded), "maker_checker", entry_id=int(done["entry_id"]), words="a city figure")
    assert "confirmed by o22u5, an officer" in str(f["message"])
