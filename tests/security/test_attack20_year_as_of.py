"""ATTACK20 L3 (LOW): ``--year`` and ``--as-of`` that contradict each other are silently
reconciled differently by each report.

``report income --year 2024 --as-of 2023-05-01`` is refused ("--as-of 2023-05-01 is before the
start of 2024"). The balance sheet, the trial balance and the unit subledger take the same pair
without a word: ``report balance-sheet --year 2023 --as-of 2024-03-31`` shows 2024's balance sheet
(the ``--year`` the user typed is dropped), ``report subledger --year 2023 --as-of 2024-03-31`` the
same, and ``report trial-balance --year 2023 --as-of 2024-03-31`` prints a 15-month trial balance
(2023's opening, every posting from 2023-01-01 to 2024-03-31, the 2023 close's entries included as
"debits/credits") under the heading of neither year. A user asking for 2023's figures gets 2024's
(or a mix) with exit 0: a misleading answer where the rule is a refusal that names both options.

Safe behaviour asserted: each report refuses the contradictory pair (exit 1, naming --year and
--as-of), as ``report income`` does.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, pay_from_special, post

pytestmark = pytest.mark.db


def _two_years(db: LedgerDB) -> None:
    fin = db.connect("fin")
    post(fin, entry("o", "2022-12-31", "RES", leg("1003", "230822", "D", "50000.00", "special"),
                    leg("3001", "230822", "C", "50000.00")),
         collect("c23", "2023-02-01", "230822", "300000.00"),
         pay_from_special("e23", "2023-09-30", "230822", "280000.00"),
         collect("c24", "2024-02-01", "230822", "100000.00"))
    fin.commit()
    assert db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0


@pytest.mark.parametrize("report", [("report", "balance-sheet"), ("report", "trial-balance"),
                                    ("report", "subledger", "--unit", "230822")],
                         ids=["balance-sheet", "trial-balance", "subledger"])
@pytest.mark.parametrize("pair", [("--year", "2023", "--as-of", "2024-03-31"),
                                  ("--year", "2024", "--as-of", "2023-06-30")], ids=["as-of-after", "as-of-before"])
def test_l3_a_contradictory_year_and_as_of_is_refused(ledger_db: LedgerDB, report: tuple[str, ...],
                                                      pair: tuple[str, ...]) -> None:
    _two_years(ledger_db)
    income = ledger_db.cli("report", "income", "--year", "2024", "--as-of", "2023-06-30", user="rev")
    assert income.exit_code == 1 and "--as-of" in income.stderr, income      # the rule one report keeps
    r = ledger_db.cli(*report, *pair, "--json", user="rev")
    # on main: exit 0 — the other year's figures (or a 15-month trial balance), the --year typed dropped
    assert r.exit_code == 1, r.stdout[:400]
    assert "--year" in r.stderr and "--as-of" in r.stderr, r.stderr
