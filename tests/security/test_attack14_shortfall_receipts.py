"""ATTACK14 V4: two definitions of "the government's shortfall payments", and two reports that
disagree on the current balance C of the same unit and year.

The year-end rule (BRIEF §5, ``fl.year_figures_v2``/``v3``, the close, ``report shortfall``)
leaves out of C the *register clearings* of government-share items dated in the year. The monitor
(``ledger/store/monitor.py``: ``current_balance``, the balance rate) leaves out every posting on
the *account* ``4101.shortfall``. ``fl.government_pay`` and ``register clear`` do both at once,
but nothing holds the two together: an entry on ``4101.shortfall`` that is no clearing (city finance
records the county government's payment by ``entry post`` — Dr 1003 special / Cr 4101.shortfall,
held and confirmed by the bureau, as the guides teach for any receipt) is

* left out of C by the monitor (current balance 1,000.00, the balance rate);
* counted in C by ``report shortfall`` and by the close (current balance 1,200.00), while the
  government-share item it was meant to settle stays outstanding;

and ``verify`` is whole. The reverse (a clearing posted elsewhere) is the same split.

Fixed when the figure has one definition: ``4101.shortfall`` is written only by the clearing of a
government-share item (a posting rule in the database, re-derived by the verdict), and the monitor
reads the same receipts as the rule (one SQL function both call).
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db


def test_v4_the_monitor_and_the_shortfall_rule_agree_on_the_current_balance(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    try:
        post(fin, collect("v4-a", "2024-02-01", "230822", "1000.00"),
             entry("v4-gs", "2024-03-01", "RES", leg("1003", "230822", "D", "200.00", "special"),
                   leg("4101.shortfall", "230822", "C", "200.00"), memo="县政府缺口补助 by hand"), checker="rev")
    except Exception:                                                        # refused: one definition (fixed)
        return
    m = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--json", user="aud")
    s = ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="aud")
    mon = next(r for r in m.json()["rows"] if r["unit"] == "230822" and r["book"] == "RES")
    rule = next(r for r in s.json() if r["unit"] == "230822" and r["book"] == "RES")
    assert mon["current_balance"] == rule["current_balance"], (
        f"230822 RES 2024 at 2024-03-31: the monitor's current balance is {mon['current_balance']}, the shortfall "
        f"rule's (report shortfall, the close) {rule['current_balance']}; verify exit "
        f"{ledger_db.cli('verify', user='aud').exit_code}")
