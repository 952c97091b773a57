"""ATTACK14 V6's limit: a payments row whose category its component does not pay is refused by file,
row and column (0106), not only by the account it would make (0099).

0099 refuses the account (book, 5001.<category>, unit, component) wherever it is made, naming book,
unit, category and component — an officer with a claims file of ten thousand rows had no row to
correct, and a file with several such rows was refused for one at a time. Now ``fl.import_payments``
judges every row as it judges its unit and book: each such row is listed (``row N, column
component``) with the rule's name and the value to write, all together with the file's other
problems, nothing written; a file refused for that alone is refused under ``category_component``.
The variants an officer (or a raw caller) would try: the category or component in capitals, several
rows at once beside a valid one, the city bureau's file, a raw ``fl.import_payments`` call, and
the refusal read in Chinese.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack14_component_categories import PAY, _pay, _payments, _personal_money

pytestmark = pytest.mark.db


def test_each_such_row_is_named_by_row_and_column_with_its_rule_and_nothing_is_written(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    _personal_money(ledger_db)
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,EMP,某某医院,inpatient,10.00,R-0,personal,county",
             "2024-03-27,230881,EMP,某某医院,maternity_allowance,10.00,R-1,personal,county",
             "2024-03-27,230881,EMP,某某药店,pharmacy,10.00,R-2,pooled,county",
             "2024-03-28,230881,EMP,某某医院,chronic,10.00,R-3,personal,county")
    assert r.exit_code != 0, r
    err = json.loads(r.stderr or r.stdout)["error"] if (r.stderr or r.stdout).lstrip().startswith("{") else None
    text = r.stdout + r.stderr
    for row, chart in ((3, "5001.maternity_allowance"), (4, "5001.pharmacy"), (5, "5001.chronic")):
        assert f"row {row}, column component" in text and chart in text, text
    assert "row 2" not in text, "the valid inpatient row is not named"
    assert "category_component" in text and "write pooled in this row's component column" in text, text
    assert "write personal in this row's component column" in text, text
    if err is not None:
        assert err.get("rule") == "category_component", err
    assert _payments(ledger_db) == 0
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.account WHERE chart_code LIKE '5001.%' "
                                     "AND book = 'EMP'").fetchone()["n"] == 0, "no account was made"


def test_capitals_do_not_slip_past_the_row_check(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _personal_money(ledger_db)
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,emp,某某医院,Maternity_Allowance,10.00,R-4,PERSONAL,county")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "row 2, column component" in text and "5001.maternity_allowance" in text, text
    assert _payments(ledger_db) == 0


def test_with_other_problems_every_problem_is_listed_together(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _personal_money(ledger_db)
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,EMP,某某医院,maternity_medical,10.00,R-5,personal,county",
             "2024-03-27,230881,EMP,,inpatient,10.00,R-6,personal,county")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "row 2, column component" in text and "5001.maternity_medical" in text, text
    assert "row 3, column provider" in text, text
    assert _payments(ledger_db) == 0


def test_the_city_bureaus_file_is_refused_by_row_too(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _personal_money(ledger_db)
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,EMP,某某医院,outpatient_pooled,10.00,R-7,personal,county",
             user="rev")
    assert r.exit_code != 0, r
    assert "row 2, column component" in r.stdout + r.stderr
    held = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.pending_entry WHERE kind = 'payments'").fetchone()
    assert held["n"] == 0 and _payments(ledger_db) == 0


def test_a_raw_call_of_the_import_gets_the_row_and_its_kind(ledger_db: LedgerDB) -> None:
    _personal_money(ledger_db)
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (7, '2024-03-27', '230881', 'EMP', 'x', 'maternity_allowance', '800.00',"
              " 'R-8', 'personal', 'county')")
    doc = c.execute("SELECT fl.import_payments('by-hand.csv', NULL) AS r").fetchone()["r"]
    c.rollback()
    assert doc["errors"] == [{"row": 7, "column": "component", "kind": "category_component",
                              "reason": doc["errors"][0]["reason"]}], doc
    assert "5001.maternity_allowance" in doc["errors"][0]["reason"]
    assert _payments(ledger_db) == 0


def test_the_account_trigger_still_holds_every_other_path(ledger_db: LedgerDB) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        ledger_db.admin().execute("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
                                  "VALUES ('EMP', '5001.outpatient', '230881', '', 'pooled')")


def test_the_officer_reads_it_in_chinese_with_what_to_write(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _personal_money(ledger_db)
    f = tmp_path / "pay.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,EMP,某某医院,maternity_allowance,10.00,R-9,personal,county\n",
                 encoding="utf-8")
    r = ledger_db.cli("pay", "import", str(f), user="o81", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "统筹基金" in text and "不得相互挤占" in text and "component" in text and "pooled" in text, text
    assert "is paid by the" not in text, f"the row's reason is not in Chinese: {text}"
    assert "Traceback" not in text
