"""ATTACK3 (a fresh red team's pass): the import paths, as a county officer would abuse them.

R5: a county officer's payment file with ``paid_from = city`` credited 1004 city_exp — the
pooled account the city bureau settles from — for any amount, alone: no request, no
second person. The database now refuses such a row, whichever way the officer sends it
(the CLI, or the stage and ``fl.import_payments`` by hand), and nothing is written."""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post
from tests.integration.test_imports import DATA, balance, count, fund_expenditure_accounts, write_csv

pytestmark = pytest.mark.db

HEADER = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _funded(ledger_db: LedgerDB) -> None:
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    fund_expenditure_accounts(ledger_db)


def test_a_county_officer_cannot_pay_out_of_the_city_expenditure_account(ledger_db: LedgerDB, tmp_path) -> None:
    _funded(ledger_db)
    city_before = balance(ledger_db, "RES", "1004", "230800", "city_exp")
    entries = count(ledger_db, "fl.entry")
    f = write_csv(tmp_path / "pay.csv", HEADER,
                  "2023-02-10,230822,RES,桦南县某诊所,inpatient,100.00,RED-OWN-1,,county",
                  "2023-02-10,230822,RES,桦南县某诊所,inpatient,3000.00,RED-PAY-1,,city")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(f), user="o22")
    assert r.exit_code == 1, r
    text = " ".join(r.stderr.split())
    assert "[permission_denied]" in text
    assert "pay.csv: row 3, column paid_from: a county officer pays from its own county expenditure account" in text
    assert "row 2," not in text   # the own-account row was fine; the file is refused whole
    assert count(ledger_db, "fl.entry") == entries
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == city_before
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == 0

    # The same rows through the stage by hand: the database answers with the same problem.
    c = ledger_db.connect("o22")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2023-02-10', '230822', 'RES', 'x', 'inpatient', '3000.00',"
              " 'RED-PAY-2', '', 'city')")
    res = c.execute("SELECT fl.import_payments('by-hand.csv', NULL) AS r").fetchone()["r"]
    c.commit()
    assert [(e["row"], e["column"], e["kind"]) for e in res["errors"]] == [(2, "paid_from", "permission")], res
    assert count(ledger_db, "fl.entry") == entries
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == city_before


def test_the_city_bureau_and_the_city_officer_still_pay_from_the_city_account(ledger_db: LedgerDB, tmp_path) -> None:
    _funded(ledger_db)
    # The bureau pays a county's claims from the city account out of that county's share of it
    # (what city finance disbursed for it and was not settled yet; 0030, ATTACK4 Q1).
    post(ledger_db.connect("fin"), entry("in-transit-hn", "2023-02-01", "RES",
                                         leg("1004", "230822", "D", "500.00", "city_exp"),
                                         leg("1003", "230822", "C", "500.00", "special")))
    f = write_csv(tmp_path / "pay.csv", HEADER,
                  "2023-02-10,230822,RES,佳木斯市中心医院,inpatient,300.00,CITY-FOR-HN-1,,city")
    r = ledger_db.cli("pay", "import", str(f), user="rev")
    assert r.exit_code == 0, r
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == 20000
    own = write_csv(tmp_path / "city.csv", HEADER, "2023-02-10,230800,RES,佳木斯市中心医院,inpatient,200.00,CITY-1,,")
    r = ledger_db.cli("pay", "import", str(own), user="ocity")
    assert r.exit_code == 0, r
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == 3_000_000 - 20_000
