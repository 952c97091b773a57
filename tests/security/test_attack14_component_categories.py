"""ATTACK14 V6: a county officer pays pooled-fund benefits out of the insured's personal accounts,
and its pooled deficit — what its local government owes — shrinks by as much.

BRIEF §2/§4: in the employees' book the pooled fund (统筹基金) pays 住院/门诊大病/门诊统筹/
生育医疗/生育津贴, the personal accounts (个人账户基金) pay 住院/门诊/药店, and "the components
never pay for each other (不得相互挤占)". The year-end shortfall rule and months payable read the
pooled component only. ``pay import`` takes any category with any component (docs/imports.md:
"which categories a book uses is not enforced"), so the officer of 230881 imports its maternity
allowances (生育津贴, ``maternity_allowance`` — pooled only) as ``component personal``: posted at
once from its own account, Dr 5001.maternity_allowance [personal] / Cr 1004 county_exp [personal].
The pooled fund's expenditure for the year is understated by the whole amount, its current
balance C and deficit improve by it, the government's share falls by it, and the personal accounts
(the insured's own money) paid a pooled benefit. Verify is whole.

Fixed when the category decides the component: a category of one component only is refused with
the other (the region file lists each component's categories, the SQL import and the verdict read
the same list), and a category of both (住院 inpatient) is left to the file.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _personal_money(db: LedgerDB, unit: str = "230881", yuan: str = "500000.00") -> None:
    """Employees' personal-account contributions for ``unit``, moved down to its county account by finance."""
    fin = db.connect("fin", autocommit=True)
    post(fin, entry(f"emp-col-{unit}", "2024-03-01", "EMP", leg("1003", unit, "D", yuan, "special", "personal"),
                    leg("4001", unit, "C", yuan, component="personal")),
         entry(f"emp-pool-{unit}", "2024-03-01", "EMP", leg("1003", unit, "D", "100000.00", "special", "pooled"),
               leg("4001", unit, "C", "100000.00", component="pooled")),
         entry(f"emp-down-{unit}", "2024-03-02", "EMP", leg("1004", unit, "D", yuan, "county_exp", "personal"),
               leg("1003", unit, "C", yuan, "special", "personal")))


@pytest.mark.parametrize("category", ["maternity_allowance", "maternity_medical", "outpatient_pooled"])
def test_v6_a_pooled_only_benefit_is_not_paid_from_personal_accounts(
        ledger_db: LedgerDB, tmp_path: Path, category: str) -> None:
    _personal_money(ledger_db)
    f = tmp_path / "pay.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,EMP,某某医院,{category},300000.00,V6-1,personal,county\n", encoding="utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    if r.exit_code != 0:
        return                                                                    # refused: fixed
    rule = next(x for x in ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="aud").json()
                if x["unit"] == "230881" and x["book"] == "EMP")
    v = ledger_db.cli("verify", user="aud")
    pytest.fail(f"o81 paid 300,000.00 of {category} (a pooled-fund benefit) from the personal accounts at once: the "
                f"pooled fund's 2024 expenditure in the shortfall rule is {rule['expenditure']} and its current balance "
                f"{rule['current_balance']} (-200,000.00 had the benefit been booked where it belongs: a 200,000.00 "
                f"deficit for its government); verify exit {v.exit_code}")


def _pay(db: LedgerDB, tmp_path: Path, *rows: str, user: str = "o81"):  # type: ignore[no-untyped-def]
    f = tmp_path / "pay.csv"
    f.write_text("\n".join([PAY, *rows]) + "\n", encoding="utf-8")
    return db.cli("pay", "import", str(f), "--json", user=user)


def _payments(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'payments'").fetchone()["n"])


@pytest.mark.parametrize(("category", "component"), [
    ("maternity_allowance", "personal"), ("chronic", "personal"), ("pharmacy", "pooled"), ("outpatient", "pooled")])
def test_v6_the_import_is_refused_in_words_naming_category_and_component_and_writes_nothing(
        ledger_db: LedgerDB, tmp_path: Path, category: str, component: str) -> None:
    _personal_money(ledger_db)
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,EMP,某某医院,inpatient,10.00,V6-0,personal,county",
             f"2024-03-27,230881,EMP,某某医院,{category},10.00,V6-1,{component},county")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert f"5001.{category}" in text and "不得相互挤占" in text and "Traceback" not in text, text
    assert _payments(ledger_db) == 0, "the file is all or nothing: its valid row is not posted either"


def test_v6_inpatient_is_either_components_and_the_right_component_posts(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _personal_money(ledger_db)
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,EMP,某某医院,inpatient,10.00,V6-2,personal,county",
             "2024-03-27,230881,EMP,某某药店,pharmacy,10.00,V6-3,personal,county")
    assert r.exit_code == 0, r
    assert _payments(ledger_db) == 1
    assert ledger_db.cli("verify", user="aud").exit_code == 0


def test_v6_the_database_refuses_such_an_account_on_every_path(ledger_db: LedgerDB) -> None:
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        ledger_db.admin().execute("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
                                  "VALUES ('EMP', '5001.maternity_allowance', '230881', '', 'personal')")
    assert "category_component" in str(ei.value) or "不得相互挤占" in str(ei.value), ei.value
    ok = ledger_db.admin().execute(
        "SELECT fl.category_component_problem('5001.inpatient', 'personal', 'pooled') IS NULL AS a, "
        "fl.category_component_problem('5001.pharmacy', 'personal', 'pooled') IS NULL AS b, "
        "fl.category_component_problem('5001.chronic', '', '') IS NULL AS c").fetchone()
    assert (ok["a"], ok["b"], ok["c"]) == (True, True, True)


def test_v6_the_verdict_names_a_payment_on_such_an_account_made_behind_the_trigger(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The DBA makes the account with the triggers off (session_replication_role). The county's
    payments import refuses the row all the same (0106: judged by row, not by the account), and so
    is an entry by hand (0115: no new entry posts an account off its component but a reversal or a
    close); the DBA posts it by hand with 0115's triggers off too. Both verdicts name the entry
    (account_rules)."""
    _personal_money(ledger_db)
    admin = ledger_db.admin()
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
                      "VALUES ('EMP', '5001.maternity_allowance', '230881', '', 'personal')")
    r = _pay(ledger_db, tmp_path, "2024-03-27,230881,EMP,某某医院,maternity_allowance,300000.00,V6-4,personal,county")
    assert r.exit_code != 0 and "row 2, column component" in r.stdout + r.stderr, r
    doc = entry("v6-by-hand", "2024-03-27", "EMP", leg("5001.maternity_allowance", "230881", "D", "300000.00",
                                                       component="personal"),
                leg("1004", "230881", "C", "300000.00", "county_exp", "personal"))
    with pytest.raises(psycopg.errors.CheckViolation, match="不得相互挤占"):
        post(ledger_db.connect("fin", autocommit=True), doc)
    behind = (("fl.posting", "posting_account_rules"), ("fl.pending_posting", "pending_posting_held_rules"))
    for table, trigger in behind:
        admin.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    try:
        post(ledger_db.connect("fin", autocommit=True), doc)
    finally:
        for table, trigger in behind:
            admin.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0, v
    assert "category_component" in v.stdout and "5001.maternity_allowance" in v.stdout, v.stdout[-3000:]
    out = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(out), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(out), "--json", user="aud")
    assert off.exit_code != 0 and "category_component" in off.stdout, off.stdout[-3000:]
