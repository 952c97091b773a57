"""ATTACK14 V3: the year-end close may be dated any day of the year, and closes revenue that has
not arrived yet on that day.

``fl.close_year`` checks only ``p_date BETWEEN 1 January AND 31 December`` ("normally 31 December").
``close year --year 2023 --date 2023-06-30`` (one reviewer, run in 2024) posts the closing entries
(Dr 4xxx / Cr 3001 of the *whole year's* revenue, Dr 3001 / Cr 5xxx) dated 30 June, opens the
government's share item on 30 June, and closes every month. From then on every as-of figure of the
second half of 2023 is false and agrees with nothing:

* revenue 4001 of 230822 at the end of 2023-06-30 is **−500.00** (the close took out 1,500.00, of
  which 500.00 arrives on 2023-09-01); fund balance 3001 at 2023-06-30 is 1,500.00 while the special
  account holds 1,000.00 of the unit's money;
* the balance sheet and income statement as of any day of July–August say the unit had negative
  revenue; the government's share of a deficit shows as owed from 30 June, before the year ended.

Both verdicts stay whole (the rule the database holds is the one the verdict re-derives).

Fixed when a year close is dated 31 December of its year (the only date on which its entries
describe the year), in ``fl.close_year`` and in the verdict's re-derivation of the close.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_v3_a_year_close_dated_mid_year_is_refused(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("v3-a", "2023-03-01", "230822", "1000.00"), collect("v3-b", "2023-09-01", "230822", "500.00"))
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-06-30", user="rev")
    if r.exit_code != 0:
        return                                                                   # refused: fixed
    b = ledger_db.cli("balance", "RES:4001:230822", "--as-of", "2023-06-30", "--json", user="aud")
    f = ledger_db.cli("balance", "RES:3001:230822", "--as-of", "2023-06-30", "--json", user="aud")
    v = ledger_db.cli("verify", user="aud")
    pytest.fail(
        "the 2023 close was dated 2023-06-30 and closed the whole year's revenue (1,500.00) on a day when 1,000.00 "
        f"had arrived: revenue 4001/230822 at 2023-06-30 {b.stdout.strip()}; fund balance 3001/230822 "
        f"{f.stdout.strip()}; verify exit {v.exit_code}")
