"""ATTACK18 G11 (LOW): a handover's memo-register items take an opening day in the future — E4's class
(0133: "every business date a user types is held to the ledger's years", approvals and bank lines
not after today) left the register's ``opened_on`` out.

``handover open FILE --date <next year>`` with only memo rows (fiscal arrears, employer arrears,
unpaid claims: no bank account, so the cash-date rule never sees them) records the items as opened
on that future day: ``register list`` shows them with a negative age (-205 days), ``report
registers`` as of today leaves them out (not yet opened) — two reports of the same register
disagree — and when the arrears are paid now, no clearing can be recorded: a clearing is never dated
before its item's opening (0126, clearing_predates) nor real money after today (cash_date_future).
The county's audited arrears are stuck out of every report until that day.

Safe behaviour asserted: a register item's opening day is not after the region's today (refused,
naming the file and the date; nothing written).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def test_g11_a_register_item_is_not_opened_in_the_future(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "opening.csv"
    f.write_text("unit,book,item,amount,reference,note\n230883,RES,fiscal_arrears,100.00,HO-883-1,财政欠缴\n", "utf-8")
    future = dt.date(dt.date.today().year + 1, 6, 30).isoformat()
    r = ledger_db.cli("handover", "open", str(f), "--date", future, user="rev")
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.register_item WHERE opened_on > current_date"
                                  ).fetchone()["n"]
    # On main: exit 0, "recorded 1 register item(s)", opened_on next year (register list: age_days negative)
    assert r.exit_code != 0 and n == 0, r
