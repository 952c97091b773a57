"""ATTACK15 (a), V6's class: the category → component rule is a deny-list, and two categories of
neither list pass on the personal accounts.

BRIEF §2/§4: in the employees' book the personal accounts (个人账户基金) pay 住院/门诊/药店 only,
and 大病保险 (critical illness) is paid out of the residents' book (account 5101). 0099 refuses a
pooled-only category (门诊大病, 门诊统筹, 生育医疗, 生育津贴) on the personal component and a
personal-only one on the pooled — and lets every other pass: ``pay import`` still takes category
``other`` (其他 → 5001.other) and ``critical_illness`` (大病保险 → 5101) with component
``personal`` in EMP, posted at once by one county officer from its own account. So the officer of
230881 books its maternity allowances (a pooled benefit) as 其他 on the personal accounts: the
pooled fund's expenditure — and the deficit its government owes at year end — falls by the whole
amount, exactly ATTACK14 V6, with one word changed in the category column. ATTACK14 V1's lesson
(a list of what is refused misses what nobody listed) holds here too: the personal accounts'
categories are a closed list in the BRIEF.

Fixed when, in a book with components, a category is accepted only on the components the region
lists for it (personal: inpatient, outpatient, pharmacy), 5101 not on the personal accounts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _personal_money(db: LedgerDB, unit: str = "230881", yuan: str = "500000.00") -> None:
    fin = db.connect("fin", autocommit=True)
    post(fin, entry(f"emp-col-{unit}", "2024-03-01", "EMP", leg("1003", unit, "D", yuan, "special", "personal"),
                    leg("4001", unit, "C", yuan, component="personal")),
         entry(f"emp-pool-{unit}", "2024-03-01", "EMP", leg("1003", unit, "D", "100000.00", "special", "pooled"),
               leg("4001", unit, "C", "100000.00", component="pooled")),
         entry(f"emp-down-{unit}", "2024-03-02", "EMP", leg("1004", unit, "D", yuan, "county_exp", "personal"),
               leg("1003", unit, "C", yuan, "special", "personal")))


@pytest.mark.parametrize("category", ["other", "其他", "critical_illness", "大病保险"])
def test_a15_a_category_the_personal_accounts_do_not_pay_is_refused_on_them(
        ledger_db: LedgerDB, tmp_path: Path, category: str) -> None:
    _personal_money(ledger_db)
    f = tmp_path / "pay.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,EMP,某某医院,{category},300000.00,A15-1,personal,county\n", encoding="utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    if r.exit_code != 0:
        return                                                                    # refused: fixed
    rule = next(x for x in ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="aud").json()
                if x["unit"] == "230881" and x["book"] == "EMP")
    pytest.fail(f"o81 paid 300,000.00 as category {category!r} from the personal accounts of EMP at once (posted, "
                f"no second person): the pooled fund's 2024 expenditure in the shortfall rule is {rule['expenditure']} "
                f"and its current balance {rule['current_balance']} — the same effect as ATTACK14 V6's "
                f"maternity_allowance, which 0099 refuses")
