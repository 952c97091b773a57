"""Issue 14, ATTACK3 R6 (migration 0035): an import's references and a request's key are the
unit's own.

The register of imported references (fl.import_line) was one namespace per kind for the
whole city: a county officer pre-posted another county's references (¥0.01 each) and that
county's file was refused by row ("already imported by another import"); the answer also
told the officer whether a reference existed. A fund request's key was one key for the
city. Each is now filed under its unit; within a unit a reference is still imported once
and a re-run is still idempotent."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post
from tests.integration.test_imports import DATA, balance, count, fund_expenditure_accounts, write_csv

pytestmark = pytest.mark.db

COLL = "date,unit,book,source,amount,reference,component"
PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _funded(ledger_db: LedgerDB) -> None:
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    fund_expenditure_accounts(ledger_db)
    # 同江市 (230881) gets its subsidy moved to its expenditure account, so its officer can pay.
    post(ledger_db.connect("fin"), entry("fund-tj-res", "2023-02-01", "RES",
                                         leg("1004", "230881", "D", "100.00", "county_exp"),
                                         leg("1003", "230881", "C", "100.00", "special")))


def test_an_officer_cannot_squat_another_countys_references(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _funded(ledger_db)
    # 同江市's officer files 桦南县's coming references first, ¥0.01 each, on its own unit.
    squat_c = write_csv(tmp_path / "squat-c.csv", COLL, "2023-02-10,230881,RES,contribution,0.01,HN-NEXT-1,",
                        "2023-02-10,230881,RES,contribution,0.01,HN-NEXT-2,")
    squat_p = write_csv(tmp_path / "squat-p.csv", PAY, "2023-02-10,230881,RES,x,inpatient,0.01,HN-CLAIM-1,,county")
    # (Since 0039 an officer imports no collections at all: ATTACK5 S1.)
    assert ledger_db.cli("collect", "import", str(squat_c), user="o81").exit_code == 1
    assert ledger_db.cli("pay", "import", str(squat_p), user="o81").exit_code == 0
    # 桦南县's own files go through whole: nothing is "already imported by another import".
    own_c = write_csv(tmp_path / "hn-c.csv", COLL, "2023-02-11,230822,RES,contribution,100.00,HN-NEXT-1,",
                      "2023-02-11,230822,RES,contribution,200.00,HN-NEXT-2,")
    own_p = write_csv(tmp_path / "hn-p.csv", PAY, "2023-02-11,230822,RES,某医院,inpatient,50.00,HN-CLAIM-1,,county")
    before = balance(ledger_db, "RES", "1003", "230822", "special")
    r = ledger_db.cli("collect", "import", str(own_c), "--json", user="fin")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 2, r
    r = ledger_db.cli("pay", "import", str(own_p), "--json", user="o22")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 1, r
    assert balance(ledger_db, "RES", "1003", "230822", "special") == before + 30000
    # By hand, through the stage: the same answer.
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2023-02-12', '230881', 'RES', 'x', 'inpatient', '0.02', 'HN-LATER-1',"
              " '', 'county')")
    assert c.execute("SELECT fl.import_payments('by-hand.csv', NULL) AS r").fetchone()["r"]["rows_posted"] == 1
    c.commit()
    r = ledger_db.cli("pay", "import", str(write_csv(tmp_path / "hn2.csv", PAY,
                      "2023-02-12,230822,RES,某医院,inpatient,1.00,HN-LATER-1,,county")), "--json", user="o22")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 1, r


def test_an_officer_learns_nothing_of_another_countys_references(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _funded(ledger_db)
    hn = write_csv(tmp_path / "hn.csv", PAY, "2023-02-11,230822,RES,某医院,inpatient,100.00,HN-SECRET-1,,county")
    assert ledger_db.cli("pay", "import", str(hn), user="o22").exit_code == 0
    # 同江市's officer probes the reference with other content: the answer is the one a
    # fresh reference gets (posted), never "already imported … conflict".
    probe = write_csv(tmp_path / "probe.csv", PAY, "2023-02-11,230881,RES,x,inpatient,0.01,HN-SECRET-1,,county",
                      "2023-02-11,230881,RES,x,inpatient,0.01,NEVER-USED-1,,county")
    r = ledger_db.cli("pay", "import", str(probe), "--json", user="o81")
    assert r.exit_code == 0, r
    out = r.json()
    assert out["rows_posted"] == 2 and out["rows_skipped"] == 0, out
    assert "conflict" not in r.stdout + r.stderr and "already" not in r.stdout + r.stderr


def test_within_a_unit_a_reference_is_still_imported_once(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _funded(ledger_db)
    f = write_csv(tmp_path / "c.csv", COLL, "2023-02-11,230822,RES,contribution,100.00,HN-ONCE-1,")
    assert ledger_db.cli("collect", "import", str(f), user="fin").exit_code == 0
    entries = count(ledger_db, "fl.entry")
    # A re-run: skipped, nothing new.
    r = ledger_db.cli("collect", "import", str(f), "--json", user="fin")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 0 and r.json()["rows_skipped"] == 1, r
    assert count(ledger_db, "fl.entry") == entries
    # The same reference with other content in the same unit: a conflict, by row.
    g = write_csv(tmp_path / "g.csv", COLL, "2023-02-11,230822,RES,contribution,999.00,HN-ONCE-1,")
    r = ledger_db.cli("--lang", "en", "collect", "import", str(g), user="fin")
    assert r.exit_code == 1 and "HN-ONCE-1" in r.stderr and "conflict" in r.stderr, r
    # Twice in one file within a unit: refused; in two units of a reviewer's file: two rows.
    t = write_csv(tmp_path / "t.csv", COLL, "2023-02-11,230822,RES,contribution,1.00,HN-TWICE,",
                  "2023-02-11,230822,RES,contribution,2.00,HN-TWICE,")
    r = ledger_db.cli("--lang", "en", "collect", "import", str(t), user="fin")
    assert r.exit_code == 1 and "is used again (first on row 2)" in " ".join(r.stderr.split()), r
    two = write_csv(tmp_path / "two.csv", COLL, "2023-02-11,230822,RES,contribution,1.00,SHARED-1,",
                    "2023-02-11,230881,RES,contribution,2.00,SHARED-1,")
    r = ledger_db.cli("collect", "import", str(two), "--json", user="fin")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 2, r
    p = write_csv(tmp_path / "p.csv", PAY, "2023-02-11,230822,RES,某医院,inpatient,1.00,HN-P-TWICE,,county",
                  "2023-02-11,230822,RES,某医院,outpatient,2.00,HN-P-TWICE,,county")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(p), user="o22")
    assert r.exit_code == 1 and "is used again" in " ".join(r.stderr.split()), r
    keys = {x["namespace"] for x in ledger_db.admin().execute(
        "SELECT DISTINCT namespace FROM fl.import_line").fetchall()}
    assert keys == {"collections:230800", "collections:230822", "collections:230881"}, keys


def test_a_request_key_is_the_units_own(ledger_db: LedgerDB) -> None:
    submit = "SELECT * FROM fl.request_submit(%s, 'RES', '', 2023, 1, %s, '', %s)"
    o81 = ledger_db.connect("o81", autocommit=True)
    o22 = ledger_db.connect("o22", autocommit=True)
    assert o81.execute(submit, ("230881", 1, "2023-Q1")).fetchone()["status"] == "submitted"
    mine = o22.execute(submit, ("230822", 500_000, "2023-Q1")).fetchone()
    assert mine["status"] == "submitted"
    # The same key again in the same unit: the same request; with other content: refused by name.
    assert o22.execute(submit, ("230822", 500_000, "2023-Q1")).fetchone() == {"id": mine["id"], "status": "duplicate"}
    with pytest.raises(psycopg.Error) as e, o22.transaction():
        o22.execute(submit, ("230822", 600_000, "2023-Q1"))
    assert e.value.diag.constraint_name == "idempotency_conflict"
    assert str(mine["id"]) in str(e.value)
    # Raw SQL meets the same unique key.
    adm = ledger_db.admin()
    assert adm.execute("SELECT count(*) AS n FROM fl.fund_request WHERE idempotency_key = '2023-Q1'").fetchone()["n"] == 2
    with pytest.raises(psycopg.errors.UniqueViolation, match="fund_request_unit_key"):
        adm.execute("INSERT INTO fl.fund_request (unit, book, year, quarter, amount_requested, idempotency_key) "
                    "VALUES ('230822', 'RES', 2023, 1, 1, '2023-Q1')")
