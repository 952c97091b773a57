"""The fifth attack's write-side findings left after 0039-0041 (migration 0043), each tried
through the attacker's own login:

* S7, the payment variant — a county officer posted a cheap payment of its own unit under
  the bureau's predictable reference first; the bureau's city-paid file was then refused by
  row. References are now the importing side's (payments:<unit> for the unit's officer,
  payments:<unit>:bureau for the bureau).
* S11 — a payment dated before the money reached the account was accepted and left the
  account's balance at the end of the days in between below zero (the rule held only the
  balance after the statement). Now no physical bank account, and no unit's share of the
  city expenditure account or the treasury, ends any day below zero; verify says so too.
* S9, in part — an acknowledgement's start is one the monitor can compute (a month end of
  the unit's history or the day itself)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, confirm_payments, entry, leg, post
from tests.integration.test_imports import balance, count, write_csv

pytestmark = pytest.mark.db

HEADER = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _request(db: LedgerDB, unit: str, officer: str, amount: str, disburse: str, settle: str | None = None) -> None:
    """A fund request of ``unit`` approved, disbursed on ``disburse`` into the city
    expenditure account and, with ``settle``, settled onward to the county's own account."""
    cli = db.cli
    r = cli("request", "submit", "--unit", unit, "--book", "RES", "--year", "2024", "--quarter", "1",
            "--amount", amount, "--json", user=officer)
    assert r.exit_code == 0, r
    rid = str(r.json()["id"])
    assert cli("request", "approve", rid, "--date", "2024-01-01", user="rev").exit_code == 0
    assert cli("request", "disburse", rid, "--date", disburse, user="fin").exit_code == 0
    if settle:
        s = cli("request", "settle", rid, "--date", settle, user="rev2")
        assert s.exit_code == 0, s


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    """桦南县 (230822): ¥100,000 in its own expenditure account from 2024-02-11 (settled) and
    ¥300,000 of its money in the city expenditure account from 2024-01-10; the city proper:
    ¥1,000 in the city account from 2024-01-15."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000000.00"), collect("c00", "2024-01-05", "230800", "5000.00"))
    fin.commit()
    _request(ledger_db, "230822", "o22", "300000.00", "2024-01-10")
    _request(ledger_db, "230822", "o22", "100000.00", "2024-01-10", settle="2024-02-11")
    _request(ledger_db, "230800", "ocity", "1000.00", "2024-01-15")
    assert balance(ledger_db, "RES", "1004", "230822", "county_exp") == 10_000_000
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == 30_000_000
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 100_000
    return ledger_db


def _import(db: LedgerDB, user: str, path: Path) -> tuple[int, str]:
    r = db.cli("--lang", "en", "pay", "import", str(path), "--json", user=user)
    return r.exit_code, (r.stdout + " " + r.stderr)


# ---- S7: a payment reference is the importing side's ------------------------------------------

def test_an_officer_cannot_pre_empt_the_bureaus_city_paid_reference(funded: LedgerDB, tmp_path: Path) -> None:
    """The attack as found: o22 posts 1 fen under the reference of the bureau's coming
    city-paid claim of its unit; the bureau's file posts anyway, and each side's re-run is
    idempotent."""
    squat = write_csv(tmp_path / "squat.csv", HEADER, "2024-02-12,230822,RES,x,other,0.01,BUR-S7-1,,county")
    code, out = _import(funded, "o22", squat)
    assert code == 0, out
    bureau = write_csv(tmp_path / "bureau.csv", HEADER,
                       "2024-02-12,230822,RES,佳木斯市中心医院,inpatient,150000.00,BUR-S7-1,,city")
    code, out = _import(funded, "rev", bureau)
    assert code == 0, out
    assert balance(funded, "RES", "1004", "230822", "city_exp") == 15_000_000
    assert balance(funded, "RES", "1004", "230822", "county_exp") == 10_000_000 - 1
    admin = funded.admin()
    keys = [r["namespace"] for r in admin.execute(
        "SELECT namespace FROM fl.import_line WHERE reference = 'BUR-S7-1' ORDER BY namespace").fetchall()]
    assert keys == ["payments:230822", "payments:230822:bureau"], keys
    key = admin.execute("SELECT e.idempotency_key FROM fl.entry e JOIN fl.import_line l ON l.entry_id = e.id "
                        "WHERE l.namespace = 'payments:230822:bureau' AND l.reference = 'BUR-S7-1'").fetchone()
    assert ":city:bureau:" in key["idempotency_key"], key
    # Re-runs: nothing new, on either side.
    entries = count(funded, "fl.entry")
    for who, f in (("rev", bureau), ("o22", squat)):
        code, out = _import(funded, who, f)
        assert code == 0 and count(funded, "fl.entry") == entries, (who, out)


def test_an_officers_row_under_a_bureau_reference_is_that_row(funded: LedgerDB, tmp_path: Path) -> None:
    """After the bureau: the officer's row under the bureau's reference is refused with other
    content (naming the bureau and what to do) and skipped with the same; a bureau's row the
    officer already imported with the same content is skipped: the claim is paid once."""
    bureau = write_csv(tmp_path / "bureau.csv", HEADER,
                       "2024-02-12,230822,RES,佳木斯市中心医院,inpatient,1000.00,BUR-S7-2,,county")
    assert _import(funded, "rev", bureau)[0] == 0
    assert confirm_payments(funded)     # paid from the county's account: held, finance confirms (0060)
    other = write_csv(tmp_path / "other.csv", HEADER, "2024-02-12,230822,RES,x,other,0.01,BUR-S7-2,,county")
    entries = count(funded, "fl.entry")
    code, out = _import(funded, "o22", other)
    text = " ".join(out.split())
    assert code == 1 and "already imported by the city bureau with different content" in text, out
    assert "ask the bureau" in text and "Traceback" not in out
    assert count(funded, "fl.entry") == entries
    code, out = _import(funded, "o22", bureau)       # the same row: already imported
    assert code == 0 and count(funded, "fl.entry") == entries, out
    mine = write_csv(tmp_path / "mine.csv", HEADER, "2024-02-13,230822,RES,y,outpatient,500.00,OWN-S7-3,,county")
    assert _import(funded, "o22", mine)[0] == 0
    entries = count(funded, "fl.entry")
    assert _import(funded, "rev", mine)[0] == 0
    assert count(funded, "fl.entry") == entries
    assert balance(funded, "RES", "1004", "230822", "county_exp") == 10_000_000 - 150_000


def test_the_city_officer_cannot_pre_empt_the_bureaus_reference_of_the_city(funded: LedgerDB, tmp_path: Path) -> None:
    """The class, not the county: the city proper's officer (city-paid claims are its own
    too) squats the bureau's reference of the city proper; the bureau's file still posts."""
    squat = write_csv(tmp_path / "squat.csv", HEADER, "2024-02-12,230800,RES,x,other,0.01,BUR-S7-4,,city")
    assert _import(funded, "ocity", squat)[0] == 0
    bureau = write_csv(tmp_path / "bureau.csv", HEADER, "2024-02-12,230800,RES,z,inpatient,900.00,BUR-S7-4,,city")
    code, out = _import(funded, "rev", bureau)
    assert code == 0, out
    assert balance(funded, "RES", "1004", "230800", "city_exp") == 100_000 - 1 - 90_000


# ---- S11: never below zero at any day's end --------------------------------------------------

def test_a_payment_dated_before_the_money_arrived_is_refused(funded: LedgerDB, tmp_path: Path) -> None:
    """The attack as found: o22's payment dated 2024-01-20 from its own account, funded on
    2024-02-11; today's balance holds it, the days between would not. Dated on the 11th it posts."""
    early = write_csv(tmp_path / "early.csv", HEADER, "2024-01-20,230822,RES,x,inpatient,100.00,S11-1,,county")
    entries = count(funded, "fl.entry")
    code, out = _import(funded, "o22", early)
    text = " ".join(out.split())
    assert code == 1 and "[no_overdraft]" in text, out
    assert "would be overdrawn on 2024-01-20" in text and "dated 2024-01-20" in text, text
    assert "-100.00" in text and "Traceback" not in out
    assert count(funded, "fl.entry") == entries
    zh = funded.cli("--lang", "zh", "pay", "import", str(early), user="o22")
    assert zh.exit_code == 1 and "2024-01-20" in zh.stderr and "透支" in zh.stderr, zh
    ok = write_csv(tmp_path / "ok.csv", HEADER, "2024-02-11,230822,RES,x,inpatient,100.00,S11-1,,county")
    code, out = _import(funded, "o22", ok)
    assert code == 0, out


def test_every_path_holds_the_day_balance(funded: LedgerDB) -> None:
    """Raw SQL through the officer's, the bureau's and finance's own logins: a held manual
    entry confirmed by a second person, a reversal dated back, the bureau's payment — each
    refused when it would leave a day-end below zero."""
    rev = funded.connect("rev", autocommit=True)
    doc = entry("s11-manual", "2024-01-31", "RES", leg("5001.inpatient", "230822", "D", "50.00"),
                leg("1004", "230822", "C", "50.00", "county_exp"))
    with pytest.raises(psycopg.errors.CheckViolation) as e:
        post(rev, doc)
    assert e.value.diag.constraint_name == "no_overdraft" and "2024-01-31" in str(e.value), e.value
    # The special account's physical total: collections arrived on 2024-01-05; a payment out
    # of it dated the 4th is refused (finance and a reviewer, held and confirmed).
    fin = funded.connect("fin", autocommit=True)
    doc = entry("s11-special", "2024-01-04", "RES", leg("5001.inpatient", "230800", "D", "1.00"),
                leg("1003", "230800", "C", "1.00", "special"))
    with pytest.raises(psycopg.errors.CheckViolation) as e:
        post(fin, doc)
    assert e.value.diag.constraint_name == "no_overdraft", e.value


def test_a_units_share_of_the_city_account_holds_at_every_days_end(funded: LedgerDB, tmp_path: Path) -> None:
    """The city account held 桦南县's money from 2024-01-10, the city proper's ¥1,000 from the
    15th: the city officer's claims dated the 12th would have paid with the county's money on
    the 12th-14th (the bank total stayed positive): refused, named as the share; on the 15th fine."""
    early = write_csv(tmp_path / "early.csv", HEADER, "2024-01-12,230800,RES,z,inpatient,500.00,S11-2,,city")
    code, out = _import(funded, "ocity", early)
    text = " ".join(out.split())
    assert code == 1 and "[pooled_share]" in text, out
    assert "at the end of 2024-01-12" in text and "other units' money" in text, text
    ok = write_csv(tmp_path / "ok.csv", HEADER, "2024-01-15,230800,RES,z,inpatient,500.00,S11-2,,city")
    assert _import(funded, "ocity", ok)[0] == 0


def test_verify_names_the_account_and_the_day(funded: LedgerDB, tmp_path: Path) -> None:
    """Written around the triggers (a DBA moving a payment's date back): verify's day_balances
    names the county account and the day it ended below zero, in both passes."""
    ok = write_csv(tmp_path / "ok.csv", HEADER, "2024-02-12,230822,RES,x,inpatient,100.00,S11-3,,county")
    assert _import(funded, "o22", ok)[0] == 0
    clean = funded.cli("verify", "--json", "--check", "day_balances", user="aud")
    assert clean.exit_code == 0, clean.stdout[-2000:]
    admin = funded.admin()
    admin.execute("SET session_replication_role = replica")
    eid = admin.execute("SELECT entry_id FROM fl.import_line WHERE reference = 'S11-3'").fetchone()["entry_id"]
    admin.execute("UPDATE fl.entry SET entry_date = '2024-01-20' WHERE id = %s", (eid,))
    admin.execute("UPDATE fl.posting SET entry_date = '2024-01-20' WHERE entry_id = %s", (eid,))
    admin.execute("""INSERT INTO fl.account_day (account_id, day, debits, credits)
                     SELECT account_id, '2024-01-20', debits, credits FROM fl.account_day
                      WHERE day = '2024-02-12' AND account_id IN (SELECT account_id FROM fl.posting WHERE entry_id = %s)""",
                  (eid,))
    admin.execute("DELETE FROM fl.account_day WHERE day = '2024-02-12' AND account_id IN "
                  "(SELECT account_id FROM fl.posting WHERE entry_id = %s)", (eid,))
    admin.execute("SET session_replication_role = origin")
    v = funded.cli("verify", "--json", "--check", "day_balances", user="aud")
    assert v.exit_code == 1, v.stdout[-2000:]
    found = [f for c in v.json()["checks"] if c["name"] == "day_balances" for f in c["findings"]]
    assert found and "county_exp account (RES, unit 230822) ended 2024-01-20 at -100.00" in found[0]["message"], found
    # The independent pass recomputes it in Python from the postings (ledger.core.proof).
    full = funded.cli("verify", "--json", user="aud")
    assert full.exit_code == 1
    ind = [f for c in full.json()["independent"]["checks"] if c["name"] == "day_balances" for f in c["findings"]]
    assert ind and "ended 2024-01-20 at -100.00" in ind[0]["message"], ind


# ---- S9, in part: the acknowledgement's start ---------------------------------------------------

ACK = "SELECT * FROM fl.monitor_acknowledge('230881', 'RES', 'yellow', %s, %s, 'noted', %s)"


def test_an_acknowledgement_start_must_be_one_the_monitor_computes(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-03-05", "230881", "1000.00"))
    fin.commit()
    o81 = ledger_db.connect("o81", autocommit=True)
    for since, key in (("2023-11-15", "k1"), ("2023-01-31", "k2")):   # not a month end; before any figure
        with pytest.raises(psycopg.Error) as e:
            o81.execute(ACK, (since, "2023-12-05", key))
        assert e.value.diag.constraint_name == "ack_since", e.value
        assert "fundledger monitor --as-of 2023-12-05" in str(e.value)
    assert o81.execute(ACK, ("2023-11-30", "2023-12-05", "k3")).fetchone()["status"] == "recorded"
    assert o81.execute(ACK, ("2023-12-05", "2023-12-05", "k4")).fetchone()["status"] == "recorded"
