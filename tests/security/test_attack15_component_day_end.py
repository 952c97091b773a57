"""ATTACK15 (a)/(e): S11's day-end rule holds a physical account and a pooled share, not a fund
component: a personal-accounts payment dated before the personal money arrived is paid, on those
days, with pooled money.

BRIEF §4: "a unit's personal-account money held in any physical account never goes below zero …
enforced like the no-overdraft rule". Since ATTACK5 S11 the no-overdraft rule is a *day-end*
rule — no physical account ends any day below zero, from the earliest credit's date on, because a
payment dated before the money arrived shows the account negative in every as-of report of the
days between — and 0030's pooled shares are held the same way. ``fl.component_guard`` still
checks only the component's balance *now*. The county's EMP expenditure account holds pooled
money from 1 March and personal money only from 20 March; its officer imports a ¥30,000 personal
claim dated 10 March (within its cash dates, its own account): the account's total stays positive
every day (no_overdraft passes), the personal component ends 10–19 March at −30,000.00 — the
personal accounts paid with the pooled fund's money (不得相互挤占), shown so by ``balance --as-of``
on any of those days — and verify is whole.

Fixed when a component's money in a physical account is held to the day-end rule as the account
and the pooled shares are (the refusal naming the day and what to do: date the payment on or after
the day the component's money arrived), in the trigger and in both verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
ACCOUNT = "EMP:1004:230881:county_exp:personal"


def test_a15_a_personal_payment_dated_before_the_personal_money_arrived_is_refused(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin,
         entry("a15c-col-pool", "2024-03-01", "EMP", leg("1003", "230881", "D", "100000.00", "special", "pooled"),
               leg("4001", "230881", "C", "100000.00", component="pooled")),
         entry("a15c-down-pool", "2024-03-01", "EMP", leg("1004", "230881", "D", "100000.00", "county_exp", "pooled"),
               leg("1003", "230881", "C", "100000.00", "special", "pooled")),
         entry("a15c-col-pers", "2024-03-20", "EMP", leg("1003", "230881", "D", "50000.00", "special", "personal"),
               leg("4001", "230881", "C", "50000.00", component="personal")),
         entry("a15c-down-pers", "2024-03-20", "EMP",
               leg("1004", "230881", "D", "50000.00", "county_exp", "personal"),
               leg("1003", "230881", "C", "50000.00", "special", "personal")))
    f = tmp_path / "pay.csv"
    f.write_text(f"{PAY}\n2024-03-10,230881,EMP,某某医院,inpatient,30000.00,A15C-1,personal,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    if r.exit_code != 0:
        return                                                                    # refused: fixed
    b = ledger_db.cli("balance", ACCOUNT, "--as-of", "2024-03-15", "--json", user="aud")
    v = ledger_db.cli("verify", "--json", user="aud")
    pytest.fail(f"o81 paid a 30,000.00 personal-accounts claim dated 2024-03-10 from its EMP county account, whose "
                f"personal money arrived on 2024-03-20: {ACCOUNT} as of 2024-03-15 reads {b.stdout.strip()[:300]} "
                f"(the pooled fund's money paid it on 10-19 March); verify exit {v.exit_code}")
