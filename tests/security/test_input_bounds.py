"""Issue 14, ATTACK4 Q2, Q4, Q6, Q7 and ATTACK3 R20 (migration 0031), through each role's own
login and by raw SQL:

* a 5,000-deep ``source`` was stored, and then ``entry show`` and the confirmation failed on it;
* a bank statement's digest could be '' (anything);
* the operations log's subject and detail had no cap;
* a held entry written before 0029 with a memo past the cap could be neither confirmed nor
  rejected (a NOT VALID check still binds an UPDATE of the old row);
* an entry that moves real money could be dated up to 31 December of next year."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, confirm, entry, leg, reclass
from tests.integration.test_imports import count, write_csv

pytestmark = pytest.mark.db


def _refused(conn: psycopg.Connection, query: str, params: object = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e, conn.transaction():
        conn.execute(query, params)
    return e.value


def _post(conn: psycopg.Connection, *docs: dict[str, Any]) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(list(docs)),)).fetchall()


def _deep(n: int) -> str:
    """A JSON value nested ``n`` objects deep, as text (Python's encoder stops near 1,000)."""
    return '{"a":' * n + "1" + "}" * n


def _with_source(doc: dict[str, Any], source: str) -> str:
    return json.dumps([{**doc, "source": "@SOURCE@"}]).replace('"@SOURCE@"', source)


def _plain(key: str) -> dict[str, Any]:
    """Dr 1101 / Cr 2001: no real money, no revenue or expenditure: posts at once."""
    return entry(key, "2023-03-10", "RES", leg("1101", "230822", "D", "1.00"), leg("2001", "230822", "C", "1.00"))


def _region_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


# ---- Q2: nesting ---------------------------------------------------------------------------

def test_a_source_nested_thousands_deep_is_refused_where_it_is_stored(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    assert _post(o22, _plain("PLAIN-0"))[0]["status"] == "posted"
    before = count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry")
    # An entry that posts at once (no real money) and one that is held: both tables refuse.
    for doc, rule in ((_plain("DEEP-1"), "entry_source_depth"),
                      (collect("DEEP-2", "2023-03-10", "230822", "1.00"), "pending_entry_source_depth")):
        e = _refused(o22, "SELECT * FROM fl.post_entries(%s::jsonb)", (_with_source(doc, _deep(3000)),))
        assert e.diag.constraint_name == rule, e
        e = _refused(o22, "SELECT * FROM fl.post_entries(%s::jsonb)", (_with_source(doc, _deep(65)),))
        assert e.diag.constraint_name == rule, e
    assert count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry") == before
    # The operations log's detail (the operator's record through fl.log_operation; since 0061
    # an admin records nothing by hand).
    adm = ledger_db.admin()
    e = _refused(adm, "SELECT fl.log_operation('rejoin', 'x', '', %s::jsonb)", (_deep(100),))
    assert e.diag.constraint_name == "operation_log_detail_depth"


def test_a_source_within_64_levels_posts_and_reads_back(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    src = '{"note": "x.json", "tree": ' + _deep(60) + "}"
    doc = _with_source(_plain("DEEP-OK"), src)
    assert o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (doc,)).fetchone()["status"] == "posted"
    r = ledger_db.cli("entry", "show", "manual:o22:DEEP-OK", "--json", user="rev")
    assert r.exit_code == 0, r
    doc = _with_source(collect("DEEP-OK2", "2023-03-10", "230822", "1.00"), src)
    held = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (doc,)).fetchone()
    assert held is not None
    assert confirm(o22, [held["held_id"]], "rev")[0]["status"] == "posted"


# ---- Q4, Q6: a statement's digest, the operations log ------------------------------------

def test_a_statement_digest_is_64_hex_digits(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    lines = json.dumps([{"row": 2, "date": "2023-03-10", "direction": "in", "amount": 100, "reference": "S1",
                         "balance": None}])
    for sha in ("", "x", "A" * 64, "0" * 63):
        e = _refused(fin, "SELECT * FROM fl.import_statement('RES', 'special', NULL, 's.csv', %s, %s::jsonb)",
                     (sha, lines))
        assert e.diag.constraint_name == "bank_statement_file_sha256_form", (sha, e)
    r = fin.execute("SELECT * FROM fl.import_statement('RES', 'special', NULL, 's.csv', %s, %s::jsonb)",
                    ("ab" * 32, lines)).fetchone()
    assert r is not None and r["lines_new"] == 1


def test_the_operations_log_caps_its_subject_and_detail(ledger_db: LedgerDB) -> None:
    adm = ledger_db.admin()   # the operator (0061: an admin records no operation by hand)
    e = _refused(adm, "SELECT fl.log_operation('rejoin', repeat('s', 4501), '', '{}')")
    assert e.diag.constraint_name == "operation_log_subject_size"
    e = _refused(adm, "SELECT fl.log_operation('rejoin', 's', '', jsonb_build_object('x', repeat('d', 32001)))")
    assert e.diag.constraint_name == "operation_log_detail_size"
    assert adm.execute("SELECT fl.log_operation('rejoin', repeat('s', 4500), '', '{\"a\": [1, 2]}') AS id"
                       ).fetchone()["id"] > 0


# ---- Q7: the caps bind new text, never a decision on an old row ----------------------------

def _legacy_held(ledger_db: LedgerDB, key: str, memo: str) -> int:
    """A held entry as a ledger from before 0029 holds it: its memo past today's cap."""
    adm = ledger_db.admin()
    adm.execute("ALTER TABLE fl.pending_entry DISABLE TRIGGER pending_entry_caps")
    try:
        rev = ledger_db.connect("rev", autocommit=True)
        row = _post(rev, {**collect(key, "2023-03-10", "230822", "1.00"), "memo": memo,
                          "reason": "r" * 3000})[0]
    finally:
        adm.execute("ALTER TABLE fl.pending_entry ENABLE TRIGGER pending_entry_caps")
    assert row["status"] == "held"
    return int(row["held_id"])


def test_a_held_entry_from_before_the_caps_is_confirmed_or_rejected(ledger_db: LedgerDB) -> None:
    long_memo = "旧" * 9000
    a = _legacy_held(ledger_db, "LEGACY-1", long_memo)
    b = _legacy_held(ledger_db, "LEGACY-2", long_memo)
    fin = ledger_db.connect("fin", autocommit=True)
    posted = fin.execute("SELECT * FROM fl.confirm_entry(%s)", (a,)).fetchone()
    assert posted is not None and posted["status"] == "posted"
    e = ledger_db.admin().execute("SELECT memo, source FROM fl.entry WHERE id = %s", (posted["entry_id"],)).fetchone()
    assert e["memo"] == long_memo and e["source"]["held"] == a   # the journal holds what was held
    fin.execute("SELECT * FROM fl.reject_entry(%s, 'written before the caps; post it again')", (b,))
    states = {r["id"]: r["state"] for r in ledger_db.admin().execute(
        "SELECT id, state FROM fl.pending_entry WHERE id IN (%s, %s)", (a, b)).fetchall()}
    assert states == {a: "confirmed", b: "rejected"}
    r = ledger_db.cli("verify", "--json", user="aud")
    held = [c for c in r.json()["checks"] if c["name"] == "held_entries"]
    assert held and held[0]["ok"], held


def test_the_caps_still_bind_every_new_text(ledger_db: LedgerDB) -> None:
    rev = ledger_db.connect("rev", autocommit=True)
    # A new held entry, a new journal entry: past the cap, refused as before.
    e = _refused(rev, "SELECT * FROM fl.post_entries(%s::jsonb)",
                 (json.dumps([{**collect("NEW-1", "2023-03-10", "230822", "1.00"), "memo": "m" * 8001}]),))
    assert e.diag.constraint_name == "pending_entry_memo_size"
    e = _refused(rev, "SELECT * FROM fl.post_entries(%s::jsonb)",
                 (json.dumps([{**_plain("NEW-2"), "memo": "m" * 8001}]),))
    assert e.diag.constraint_name == "entry_memo_size"
    held = _post(rev, collect("NEW-3", "2023-03-10", "230822", "1.00"))[0]["held_id"]
    fin = ledger_db.connect("fin", autocommit=True)
    e = _refused(fin, "SELECT * FROM fl.reject_entry(%s, repeat('r', 2001))", (held,))
    assert e.diag.constraint_name == "pending_entry_decision_reason_size"
    # A caller cannot take the held entry's exemption: source.held is the ledger's own key.
    e = _refused(rev, "SELECT * FROM fl.post_entries(%s::jsonb)",
                 (json.dumps([{**_plain("NEW-4"), "memo": "m" * 9000,
                               "source": {"held": held}}]),))
    assert e.diag.constraint_name in ("source_reserved", "entry_memo_size"), e
    # A request's note and the register's reference: new rows capped; an old note lets the
    # request be decided (before 0031 its rejection was refused by the note's check).
    o22 = ledger_db.connect("o22", autocommit=True)
    e = _refused(o22, "SELECT * FROM fl.request_submit('230822', 'RES', '', 2023, 1, 100, repeat('n', 2001), 'RQ-1')")
    assert e.diag.constraint_name == "fund_request_note_size"
    rq = o22.execute("SELECT * FROM fl.request_submit('230822', 'RES', '', 2023, 1, 100, 'n', 'RQ-2')"
                     ).fetchone()["id"]
    adm = ledger_db.admin()   # the note as a ledger from before 0029 may hold it
    adm.execute("ALTER TABLE fl.fund_request DISABLE TRIGGER fund_request_caps")
    adm.execute("UPDATE fl.fund_request SET note = repeat('n', 3000) WHERE id = %s", (rq,))
    adm.execute("ALTER TABLE fl.fund_request ENABLE TRIGGER fund_request_caps")
    rev.execute("SELECT * FROM fl.request_reject(%s, 'the special account holds nothing yet')", (rq,))
    assert adm.execute("SELECT state FROM fl.fund_request WHERE id = %s", (rq,)).fetchone()["state"] == "rejected"


# ---- R20: real money is dated no later than the region's today -----------------------------

def _cash_doc(key: str, day: dt.date) -> dict[str, Any]:
    return entry(key, day.isoformat(), "RES", leg("1003", "230822", "D", "1.00", "special"),
                 leg("4001", "230822", "C", "1.00"))


def test_real_money_cannot_be_dated_after_today(ledger_db: LedgerDB, tmp_path: Path) -> None:
    today = _region_today()
    tomorrow, year_end = today + dt.timedelta(days=1), dt.date(today.year + 1, 12, 31)
    before = count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry")
    for who in ("o22", "rev", "fin"):
        c = ledger_db.connect(who, autocommit=True)
        for day in (tomorrow, year_end):
            e = _refused(c, "SELECT * FROM fl.post_entries(%s::jsonb)",
                         (json.dumps([_cash_doc(f"FUT-{who}-{day}", day)]),))
            assert e.diag.constraint_name == "cash_date_future", (who, day, e)
    # An import of next year's collections: refused whole, nothing written.
    f = write_csv(tmp_path / "c.csv", "date,unit,book,source,amount,reference,component",
                  f"{tomorrow.isoformat()},230822,RES,contribution,100.00,FUT-REF-1,")
    r = ledger_db.cli("--lang", "zh", "collect", "import", str(f), user="fin")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    assert "[cash_date_future]" in r.stderr and "银行实际收付款" in r.stderr, r
    assert count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry") == before
    # Raw SQL into the journal's own function path: the posting trigger holds for every writer.
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.posting WHERE entry_date > %s",
                                     (today,)).fetchone()["n"] == 0


def test_real_money_today_and_accruals_next_year_still_post(ledger_db: LedgerDB) -> None:
    today = _region_today()
    rev = ledger_db.connect("rev", autocommit=True)
    held = _post(rev, _cash_doc("TODAY-1", today))[0]
    assert held["status"] == "held"
    assert confirm(rev, [held["held_id"]], "fin")[0]["status"] == "posted"
    # An accrual (no bank account moves) keeps 0009's range: up to 31 December of next year.
    nxt = dt.date(today.year + 1, 12, 31)
    assert _post(rev, reclass("ACCRUAL-1", nxt.isoformat(), "230822", "1.00"))[0]["status"] == "posted"
    # The allowance: a region that books the bank's value date two days ahead says so.
    ledger_db.admin().execute("UPDATE fl.setting SET value = '2' WHERE key = 'cash_date_allowance_days'")
    held = _post(rev, _cash_doc("AHEAD-2", today + dt.timedelta(days=2)))[0]
    assert confirm(rev, [held["held_id"]], "fin")[0]["status"] == "posted"
    e = _refused(rev, "SELECT * FROM fl.post_entries(%s::jsonb)",
                 (json.dumps([_cash_doc("AHEAD-3", today + dt.timedelta(days=3))]),))
    assert e.diag.constraint_name == "cash_date_future"


def test_the_allowance_and_the_stage_limit_are_region_settings(ledger_db: LedgerDB) -> None:
    import tomllib
    from importlib import resources

    from ledger.core.region import parse_region
    from ledger.errors import BadInput

    got = {r["key"]: r["value"] for r in ledger_db.admin().execute(
        "SELECT key, value FROM fl.setting WHERE key IN ('cash_date_allowance_days', 'import_stage_max_mb')")}
    assert got == {"cash_date_allowance_days": 0, "import_stage_max_mb": 1024}
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    for key, bad in (("cash_date_allowance_days", 400), ("cash_date_allowance_days", -1), ("import_stage_max_mb", 0)):
        with pytest.raises(BadInput, match=key):
            parse_region({**doc, "settings": {**doc["settings"], key: bad}})
    assert parse_region({**doc, "settings": {**doc["settings"], "cash_date_allowance_days": 2}}
                        ).settings.cash_date_allowance_days == 2
