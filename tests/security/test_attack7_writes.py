"""ATTACK7 write-side findings, through the roles' own logins (raw SQL and the CLI).

U11 (HIGH): one reviewer paid ¥800,000 out of a county's expenditure account at once through
`pay import` (rows ``paid_from county``): T17's movement (Dr 5001 / Cr 1004 county_exp), which
0051 held for `register clear`, through another command. Since 0060 the rule is by account and
side, whatever command or raw INSERT writes it (trigger ``fl.posting_own_bank_credit``): a
credit on a county's own bank account posts at once only in that unit's officer's session, as
finance's transfer up of the legacy accounts, or as a held entry confirmed by someone other
than its maker; the bureau's payment rows paid from a county account are held."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, drop_login, entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _refused(conn: psycopg.Connection, sql: str, params: Any = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql, params)
    return e.value


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([PAY, *rows]) + "\n", encoding="utf-8")
    return path


def _county_exp(db: LedgerDB, unit: str = "230881") -> int:
    row = db.admin().execute(
        "SELECT coalesce(sum(balance), 0)::bigint AS b FROM fl.account WHERE book = 'RES' AND chart_code = '1004' "
        "AND unit = %s AND holder = 'county_exp'", (unit,)).fetchone()
    assert row is not None
    return int(row["b"])


def _fund(db: LedgerDB, unit: str = "230881", yuan: str = "1000000.00") -> None:
    """Money in the county's expenditure account: a collection into the special account, then
    finance's transfer to the county (both confirmed by a reviewer)."""
    fin = db.connect("fin", autocommit=True)
    post(fin, collect(f"col-{unit}", "2024-03-01", unit, yuan),
         entry(f"top-up-{unit}", "2024-03-02", "RES", leg("1004", unit, "D", yuan, "county_exp"),
               leg("1003", unit, "C", yuan, "special")))


def _at_once_by_a_stranger(db: LedgerDB) -> list[dict[str, Any]]:
    """The sweep: every entry crediting a county's own bank account (a holder that is not
    pooled) that was neither posted in an officer-of-that-unit's session, nor a transfer up
    of the legacy accounts, nor a held entry confirmed by someone other than its maker."""
    return [dict(r) for r in db.admin().execute("""
        SELECT DISTINCT e.id, e.kind, e.created_by, a.unit, a.holder
          FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
          JOIN fl.holder h ON h.code = a.holder AND NOT h.pooled
          JOIN fl.entry e ON e.id = p.entry_id
         WHERE p.side = 'C'
           AND NOT EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = e.created_by AND u.role = 'officer'
                             AND u.unit = a.unit)
           AND NOT (e.kind = 'handover_transfer' AND a.holder LIKE 'legacy%%')
           AND NOT EXISTS (SELECT 1 FROM fl.pending_entry pe WHERE pe.id::text = e.source ->> 'held'
                             AND pe.entry_id = e.id AND pe.state = 'confirmed' AND pe.decided_by <> pe.made_by)
         ORDER BY e.id""").fetchall()]


# ---- U11 ---------------------------------------------------------------------------------

def test_u11_a_reviewers_payment_from_a_county_account_is_held_not_paid(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The reproduction: rev_wang's `pay import` of ¥800,000 paid from 230881's county account.
    Held: nothing leaves the account; the maker and the county's officer cannot confirm it; a
    second reviewer (or finance) does, and only then is the county's account charged."""
    _fund(ledger_db)
    before = _county_exp(ledger_db)
    f = _csv(tmp_path / "pay_bureau.csv", "2024-03-27,230881,RES,某某医院,inpatient,800000.00,RT7-BUREAU-1,,county")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(f), user="rev")
    assert r.exit_code == 0, r
    assert "held 1 rows paid from a county's expenditure account in 1 held entries" in r.stdout, r.stdout
    assert "fundledger entry confirm" in r.stdout
    assert _county_exp(ledger_db) == before
    held = ledger_db.admin().execute(
        "SELECT id, made_by, units FROM fl.pending_entry WHERE kind = 'payments' AND state = 'held'").fetchall()
    assert [(h["made_by"], h["units"]) for h in held] == [("rev", ["230881"])]
    hid = held[0]["id"]
    for who, rule in [("rev", "maker_checker"), ("o81", "permission_denied")]:
        e = _refused(ledger_db.connect(who, autocommit=True), "SELECT * FROM fl.confirm_entry(%s)", (hid,))
        assert e.diag.constraint_name == rule, (who, e)
    # The same file again: its reference is registered, nothing new is held or posted.
    again = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert again.exit_code == 0 and again.json()["held"] == [] and again.json()["rows_skipped"] == 1, again
    # The county's officer cannot pay the same claim a second time under its own namespace.
    mine = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert mine.exit_code == 0 and mine.json()["rows_skipped"] == 1, mine
    assert _county_exp(ledger_db) == before
    done = ledger_db.cli("entry", "confirm", str(hid), "--json", user="rev2")
    assert done.exit_code == 0, done
    assert _county_exp(ledger_db) == before - 80000000
    row = ledger_db.admin().execute(
        "SELECT kind, created_by, source->>'made_by' AS m, source->>'confirmed_by' AS c FROM fl.entry WHERE id = %s",
        (done.json()[0]["entry_id"],)).fetchone()
    assert row is not None and (row["kind"], row["created_by"], row["m"], row["c"]) == ("payments", "rev", "rev", "rev2")
    assert _at_once_by_a_stranger(ledger_db) == []
    verdict = ledger_db.cli("verify", user="aud")
    assert verdict.exit_code == 0, verdict.stdout


def test_u11_the_countys_officer_pays_its_own_claims_at_once_and_the_bureau_pays_from_the_city(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Unchanged: the county's own officer's rows post at once; the bureau's rows paid from the
    city expenditure account (its pooled account) post at once too."""
    _fund(ledger_db)
    before = _county_exp(ledger_db)
    own = _csv(tmp_path / "own.csv", "2024-03-27,230881,RES,某某医院,inpatient,1000.00,OWN-1,,county")
    r = ledger_db.cli("pay", "import", str(own), "--json", user="o81")
    assert r.exit_code == 0 and r.json()["held"] == [] and r.json()["entries"] == 1, r
    assert _county_exp(ledger_db) == before - 100000
    assert _at_once_by_a_stranger(ledger_db) == []


@pytest.mark.parametrize("who", ["rev", "fin", "o22", "ocity", "aud", "admin"])
def test_u11_sweep_no_command_pays_out_of_another_units_bank_account_at_once(
        ledger_db: LedgerDB, tmp_path: Path, who: str) -> None:
    """Every write path a role has onto 230881's county expenditure account — a payment import
    (paid from county), a manual entry crediting it, an unpaid-claims clearing, a reversal of
    the money that reached it — leaves no entry posted at once by someone not of 230881: each
    is refused or held."""
    _fund(ledger_db)
    before = _county_exp(ledger_db)
    conn = ledger_db.connect(who, autocommit=True)
    f = _csv(tmp_path / f"p-{who}.csv", f"2024-03-27,230881,RES,医院,inpatient,10.00,SWEEP-{who},,county")
    ledger_db.cli("pay", "import", str(f), user=who)
    doc = [entry(f"sweep-{who}", "2024-03-27", "RES", leg("5001.other", "230881", "D", "10.00"),
                 leg("1004", "230881", "C", "10.00", "county_exp"))]
    for sql, params in [("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)),
                        ("SELECT * FROM fl.reverse_entry((SELECT id FROM fl.entry WHERE idempotency_key = "
                         "'top-up-230881'), 'sweep', NULL, NULL)", None)]:
        with contextlib.suppress(psycopg.Error):
            conn.execute(sql, params)
    assert _county_exp(ledger_db) == before
    assert _at_once_by_a_stranger(ledger_db) == []


def test_u11_the_rule_holds_against_raw_sql_and_any_function(ledger_db: LedgerDB) -> None:
    """The trigger judges every statement that inserts postings, not a command: the owner's own
    INSERT (a session of no officer of the unit) of a credit on a county account, outside a
    held entry's confirmation, is refused."""
    _fund(ledger_db)
    adm = ledger_db.admin()
    e = _refused(adm, """
        WITH e AS (INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash)
                   VALUES ('RES', '2024-03-28', 'raw', 'payments', 'payments:raw-u11', '\\x00') RETURNING id)
        INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit)
        SELECT e.id, a.id, s.side, 100, '2024-03-28', '230881'
          FROM e, (VALUES ('C', '1004', 'county_exp'), ('D', '5001.other', '')) s(side, chart, holder)
          JOIN fl.account a ON a.book = 'RES' AND a.unit = '230881' AND a.chart_code = s.chart AND a.holder = s.holder""")
    assert e.diag.constraint_name == "own_bank_credit", e


# ---- U12: a maker withdraws its own held entry; the verdict agrees with the database ---------

def test_u12_every_allowed_decision_on_a_held_entry_leaves_verify_whole(ledger_db: LedgerDB) -> None:
    """The database lets a maker withdraw (reject) its own held entry while it is held, and a
    second person confirm or reject it; the verdict judges by the same rule (a second person
    confirms): after each allowed action `verify` is whole. A maker still never confirms."""
    _fund(ledger_db)
    o81 = ledger_db.connect("o81", autocommit=True)
    rev = ledger_db.connect("rev", autocommit=True)

    def held(conn: psycopg.Connection, key: str) -> int:
        doc = [entry(key, "2024-03-26", "RES", leg("5001.other", "230881", "D", "0.01"),
                     leg("1004", "230881", "C", "0.01", "county_exp"))]
        row = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchone()
        assert row is not None and row["status"] == "held", row
        return int(row["held_id"])

    o81.execute("SELECT * FROM fl.reject_entry(%s, 'mine, typed twice')", (held(o81, "U12-1"),))   # the reproduction
    rev.execute("SELECT * FROM fl.reject_entry(%s, 'withdrawn')", (held(rev, "U12-2"),))
    ledger_db.connect("fin", autocommit=True).execute("SELECT * FROM fl.reject_entry(%s, 'no')", (held(rev, "U12-3"),))
    ledger_db.connect("rev2", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (held(rev, "U12-4"),))
    mine = held(o81, "U12-5")
    e = _refused(o81, "SELECT * FROM fl.confirm_entry(%s)", (mine,))
    assert e.diag.constraint_name == "maker_checker", e
    v = ledger_db.cli("--lang", "en", "verify", user="aud")
    assert v.exit_code == 0, v.stdout[-3000:]


# ---- U9: the operations log holds only what happened ------------------------------------------

@pytest.mark.parametrize("action", ["password", "login_enabled", "login_disabled", "promote", "fence",
                                    "standby_async", "standby_sync", "rejoin", "backup", "restore"])
def test_u9_an_admin_cannot_write_an_operator_event_by_hand(refusals_db: LedgerDB, action: str) -> None:
    adm = refusals_db.connect("admin", autocommit=True)
    e = _refused(adm, "SELECT fl.log_operation(%s, 'rev', 'drill', '{}')", (action,))
    assert isinstance(e, psycopg.errors.InsufficientPrivilege), e
    e = _refused(adm, "SELECT fl._log_operation(%s, 'rev', 'drill', '{}')", (action,))
    assert isinstance(e, psycopg.errors.InsufficientPrivilege), e
    assert refusals_db.admin().execute("SELECT count(*) AS n FROM fl.operation_log").fetchone()["n"] == 0


def test_u9_the_function_that_performs_an_operation_records_it(ledger_db: LedgerDB) -> None:
    """A password reset and a login change are recorded by the functions that make them, under
    the admin's name; the operator (the owner's seat) still records its own operations.
    The password is set on a reviewer's login of the test's own (roles are cluster-wide: a
    shared one's password would change for every worker's ledger on a shared server)."""
    ops = ledger_db.admin()
    if ops.execute("SELECT current_setting('server_version_num')::int AS v").fetchone()["v"] < 160000:
        pytest.skip("on PostgreSQL 15 a login's password is the DBA's to set (the owner has no CREATEROLE, 0009); "
                    "the admin's refusal of every kind is tested above on both servers")
    own = f"rev_{uuid.uuid4().hex[:8]}"
    try:
        ops.execute("SELECT fl.add_user(%s, 'reviewer', NULL)", (own,))    # creates the login
        adm = ledger_db.connect("admin", autocommit=True)
        adm.execute("SELECT fl.set_password(%s, 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy')", (own,))
        assert ops.execute("SELECT fl.log_operation('rejoin', 'standby-2', '', '{}') AS id").fetchone()["id"] > 0
        rows = [(r["action"], r["actor"], r["subject"]) for r in ops.execute(
            "SELECT action, actor, subject FROM fl.operation_log ORDER BY id").fetchall()]
        assert rows[0] == ("password", "admin", own) and rows[1][0] == "rejoin", rows
    finally:   # leave no role behind on the cluster
        drop_login(ops, own)


# ---- U10: a call at 0050's bounds costs linear work, not GBs of temp files ---------------------

def _temp_bytes(db: LedgerDB) -> int:
    adm = db.admin()
    adm.execute("SELECT pg_stat_clear_snapshot()")
    row = adm.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()").fetchone()
    assert row is not None
    return int(row["temp_bytes"])


def _flush_stats(db: LedgerDB) -> None:
    """pg_stat_database is updated when a backend reports (at most every second, and at exit)."""
    time.sleep(1.2)


@pytest.mark.parametrize("shape", ["one_entry_20000_postings_8mb", "1000_entries_of_20_postings", "one_entry_big_memos"])
def test_u10_post_entries_at_the_bounds_writes_no_temp_files(ledger_db: LedgerDB, shape: str) -> None:
    """The reproduction's shapes at 0050's bounds (20,000 postings, 1,000 entries, 8 MB) through
    an officer's own login: held (real money), and the temp files written stay under 64 MB
    (before 0062: 1.7 GB for 2,000 postings of a 0.8 MB entry, past the 4 GB limit for 5,000).
    A budget on bytes, not seconds."""
    def pair(memo: str) -> list[dict[str, Any]]:
        return [{"account": "5001.other", "unit": "230822", "side": "D", "amount": 1, "memo": memo},
                {"account": "1004", "unit": "230822", "holder": "county_exp", "side": "C", "amount": 1, "memo": memo}]
    if shape == "one_entry_20000_postings_8mb":
        docs = [{"date": "2024-03-26", "book": "RES", "idempotency_key": "U10-A", "memo": "m",
                 "postings": [p for _ in range(10000) for p in pair("x" * 300)]}]
    elif shape == "1000_entries_of_20_postings":
        docs = [{"date": "2024-03-26", "book": "RES", "idempotency_key": f"U10-B-{i}", "memo": "m" * 300,
                 "postings": [p for _ in range(10) for p in pair("y" * 250)]} for i in range(1000)]
    else:
        docs = [{"date": "2024-03-26", "book": "RES", "idempotency_key": "U10-C", "memo": "m",
                 "postings": [p for _ in range(2500) for p in pair("z" * 1500)]}]
    text = json.dumps(docs)
    assert len(text) < 8_388_608
    o22 = ledger_db.connect("o22", autocommit=True)
    _flush_stats(ledger_db)
    before = _temp_bytes(ledger_db)
    rows = o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (text,)).fetchall()
    assert {r["status"] for r in rows} == {"held"} and len(rows) == len(docs)
    o22.close()
    _flush_stats(ledger_db)
    assert _temp_bytes(ledger_db) - before < 64 * 1024 * 1024


def test_u10_post_opening_reads_its_document_once(ledger_db: LedgerDB) -> None:
    """fl.post_opening read its document the same way: a 4,000-posting opening (the reviewer's)
    writes no temp files either."""
    legs = [p for _ in range(2000) for p in (
        {"account": "1101", "unit": "230800", "side": "D", "amount": 1, "memo": "q" * 300},
        {"account": "3001", "unit": "230800", "side": "C", "amount": 1, "memo": "q" * 300})]
    rev = ledger_db.connect("rev", autocommit=True)
    _flush_stats(ledger_db)
    before = _temp_bytes(ledger_db)
    rows = rev.execute("SELECT status FROM fl.post_opening(%s::jsonb)",
                       (json.dumps([{"date": "2023-01-01", "book": "RES", "postings": legs}]),)).fetchall()
    assert len(rows) == 1
    rev.close()
    _flush_stats(ledger_db)
    assert _temp_bytes(ledger_db) - before < 64 * 1024 * 1024
