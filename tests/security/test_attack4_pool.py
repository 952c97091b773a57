"""ATTACK4 Q1 and Q5: the pooled accounts' per-unit shares.

Q1: the city fund expenditure account (1004 city_exp) is one bank account holding every
unit's money in transit (what city finance disbursed for a county's approved request and
the bureau has not settled onward yet). The city proper's officer imported benefit payments
for its own unit, paid from the city account, beyond what its share held: the bank account's
total stayed positive (the counties' money), so nothing refused it, and the county's
settlement then failed. A unit's share of the city expenditure account and of the treasury now never goes
below zero, whoever posts and by whatever path (constraint ``pooled_share``, 0030); the
special account's share may (BRIEF §3: a unit drawing on the pool).

Q5: the officer's refused import refuses before it takes any lock (a session that stays in
its aborted transaction blocks no one); a legitimate import held open past its call is
ended by the stuck-writer guard."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import background, collect, entry, leg, post
from tests.integration.test_imports import balance, count, write_csv

pytestmark = pytest.mark.db

HEADER = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _in_transit(ledger_db: LedgerDB) -> int:
    """Collections for the county 桦南县 (230822) and the city proper; a request of the county
    approved and disbursed into the city expenditure account, not settled yet: the account
    holds ¥400,000 of the county's money, ¥200,000 of 同江市's (230881) and ¥1,000 of the city
    proper's (a request of its own)."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000000.00"), collect("c00", "2024-01-10", "230800", "5000.00"),
         collect("c81", "2024-01-10", "230881", "500000.00"))
    fin.commit()
    cli = ledger_db.cli
    for unit, officer, amount in (("230822", "o22", "400000.00"), ("230800", "ocity", "1000.00"),
                                  ("230881", "o81", "200000.00")):
        r = cli("request", "submit", "--unit", unit, "--book", "RES", "--year", "2024", "--quarter", "1",
                "--amount", amount, "--json", user=officer)
        assert r.exit_code == 0, r
        rid = str(r.json()["id"])
        assert cli("request", "approve", rid, "--date", "2024-01-02", user="rev").exit_code == 0
        assert cli("request", "disburse", rid, "--date", "2024-01-15", user="fin").exit_code == 0
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == 40_000_000
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 100_000
    return 1   # the county's request id


def test_the_city_officer_cannot_pay_out_the_counties_money_in_transit(ledger_db: LedgerDB, tmp_path) -> None:
    """The attack as found: ``pay import`` as ocity, paid from the city account, ¥300,000 for
    the city proper whose share holds ¥1,000 — the rest is 桦南县's money awaiting settlement."""
    rid = _in_transit(ledger_db)
    entries = count(ledger_db, "fl.entry")
    f = write_csv(tmp_path / "pay.csv", HEADER, "2024-02-10,230800,RES,佳木斯市中心医院,inpatient,300000.00,Q1-CITY-1,,city")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(f), user="ocity")
    assert r.exit_code == 1, r
    text = " ".join(r.stderr.split())
    assert "[pooled_share]" in text, text
    assert "unit 230800's share of the City fund expenditure account (RES) holds 1,000.00" in text, text
    assert "Traceback" not in r.stderr
    assert count(ledger_db, "fl.entry") == entries
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 100_000
    # In Chinese too.
    zh = ledger_db.cli("--lang", "zh", "pay", "import", str(f), user="ocity")
    assert zh.exit_code == 1 and "市医保基金支出户" in zh.stderr and "份额" in zh.stderr, zh

    # The county's settlement still finds its money.
    assert ledger_db.cli("request", "settle", str(rid), "--date", "2024-02-11", user="rev2").exit_code == 0
    assert balance(ledger_db, "RES", "1004", "230822", "county_exp") == 40_000_000
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == 0

    # Within its share the city officer pays from the city account as before.
    ok = write_csv(tmp_path / "ok.csv", HEADER, "2024-02-10,230800,RES,佳木斯市中心医院,inpatient,1000.00,Q1-CITY-2,,city")
    r = ledger_db.cli("pay", "import", str(ok), user="ocity")
    assert r.exit_code == 0, r
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 0


def test_no_path_takes_a_units_share_of_the_city_account_below_zero(ledger_db: LedgerDB, tmp_path) -> None:
    """The same rule whoever posts and however: the bureau's city-paid claims for a county
    beyond its share, a confirmed manual entry of two city users, a reversal of a disbursement
    already settled, and the stage filled by hand — each refused by the database."""
    rid = _in_transit(ledger_db)
    # The bureau pays 桦南县's claims from the city account: within the county's share, fine.
    f = write_csv(tmp_path / "bureau.csv", HEADER, "2024-02-10,230822,RES,佳木斯市中心医院,inpatient,100000.00,Q1-BUR-1,,city")
    assert ledger_db.cli("pay", "import", str(f), user="rev").exit_code == 0
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == 30_000_000
    # Beyond it: refused, nothing written.
    f = write_csv(tmp_path / "bureau2.csv", HEADER,
                  "2024-02-10,230822,RES,佳木斯市中心医院,inpatient,300000.01,Q1-BUR-2,,city")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(f), user="rev")
    assert r.exit_code == 1 and "[pooled_share]" in r.stderr, r
    # The settlement of the whole approved amount now finds only ¥300,000 of it: refused.
    r = ledger_db.cli("--lang", "en", "request", "settle", str(rid), "--date", "2024-02-11", user="rev2")
    assert r.exit_code == 1 and "[pooled_share]" in r.stderr, r
    assert "230822's share of the City fund expenditure account (RES) would be -100,000.00" in " ".join(r.stderr.split())

    # A manual entry, made by finance and confirmed by a reviewer: refused at confirmation.
    fin = ledger_db.connect("fin")
    doc = entry("q1-manual", "2024-02-12", "RES", leg("5001.inpatient", "230800", "D", "2000.00"),
                leg("1004", "230800", "C", "2000.00", "city_exp"))
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        post(fin, doc)
    assert ei.value.diag.constraint_name == "pooled_share"
    fin.rollback()
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 100_000

    # Raw SQL through the stage, as the city officer: the database refuses it the same way.
    c = ledger_db.connect("ocity")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-02-10', '230800', 'RES', 'x', 'inpatient', '1000.01',"
              " 'Q1-RAW-1', '', 'city')")
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        c.execute("SELECT fl.import_payments('by-hand.csv', NULL)")
    assert ei.value.diag.constraint_name == "pooled_share"
    c.rollback()
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 100_000


def test_the_treasury_share_is_kept_like_the_city_accounts_and_the_special_share_may_draw(ledger_db: LedgerDB) -> None:
    """The treasury account (1005) is pooled too: a unit pays out of it only what it holds
    there, even by an entry two city users agree on. The special account is the BRIEF's one
    exception (§3: a unit's share may go negative, drawing on the pool) through its workflow."""
    fin = ledger_db.connect("fin")
    post(fin, entry("q1-treasury-in", "2024-01-10", "RES", leg("1005", "230822", "D", "5000.00", "treasury"),
                    leg("4001", "230822", "C", "5000.00")))
    fin.commit()
    doc = entry("q1-treasury-out", "2024-01-11", "RES", leg("5001.inpatient", "230800", "D", "10.00"),
                leg("1005", "230800", "C", "10.00", "treasury"))
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        post(fin, doc)
    assert ei.value.diag.constraint_name == "pooled_share"
    assert "230800's share of the Treasury (RES) would be -10.00" in str(ei.value)
    fin.rollback()
    assert balance(ledger_db, "RES", "1005", "230822", "treasury") == 500_000

    post(fin, collect("c22", "2024-01-10", "230822", "1000000.00"), collect("c81", "2024-01-10", "230881", "1000.00"))
    fin.commit()
    r = ledger_db.cli("request", "submit", "--unit", "230881", "--book", "RES", "--year", "2024", "--quarter", "1",
                      "--amount", "5000.00", "--json", user="o81")
    assert r.exit_code == 0, r
    assert ledger_db.cli("request", "approve", str(r.json()["id"]), "--date", "2024-01-02", user="rev").exit_code == 0
    assert ledger_db.cli("request", "disburse", str(r.json()["id"]), "--date", "2024-01-15", user="fin").exit_code == 0
    assert balance(ledger_db, "RES", "1003", "230881", "special") == -400_000      # drawing on the pool, by design


def test_a_refused_import_takes_no_lock_and_a_held_one_is_ended(ledger_db: LedgerDB, tmp_path) -> None:
    """Q5: the city officer's over-share import is refused before any lock: a session that
    stays in its aborted transaction blocks no one. A legitimate import whose transaction the
    officer then keeps open (``idle_in_transaction_session_timeout`` set to 0) holds the city
    account's row only until the stuck-writer guard ends it."""
    rid = _in_transit(ledger_db)
    c = ledger_db.connect("ocity")
    c.execute("SET idle_in_transaction_session_timeout = 0")
    c.execute("SET lock_timeout = 0")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-02-10', '230800', 'RES', 'x', 'inpatient', '300000.00',"
              " 'Q5-1', '', 'city')")
    with pytest.raises(psycopg.errors.CheckViolation):
        c.execute("SELECT fl.import_payments('hold.csv', NULL)")
    # c stays in its failed transaction: the bureau's settlement goes through at once.
    t0 = time.monotonic()
    r = ledger_db.cli("request", "settle", str(rid), "--date", "2024-02-11", user="rev2")
    assert r.exit_code == 0, r
    assert time.monotonic() - t0 < 4.5
    c.rollback()

    # A legitimate city-paid import, kept open: held at most until the guard ends the session.
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-02-10', '230800', 'RES', 'x', 'inpatient', '10.00',"
              " 'Q5-2', '', 'city')")
    res = c.execute("SELECT fl.import_payments('hold.csv', NULL) AS r").fetchone()
    assert res is not None and "errors" not in json.dumps(res["r"]), res
    f = write_csv(tmp_path / "bureau.csv", HEADER, "2024-02-12,230800,RES,佳木斯市中心医院,inpatient,10.00,Q5-BUR,,city")
    t, out = background(lambda: ledger_db.cli("pay", "import", str(f), user="rev"))
    t.join(60)
    assert not t.is_alive()
    assert "error" not in out, out
    assert out["result"].exit_code == 0, out["result"]
    with pytest.raises(psycopg.OperationalError):
        c.execute("SELECT 1")   # the holder was ended
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 100_000 - 1_000
