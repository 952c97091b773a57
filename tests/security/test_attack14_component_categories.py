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
