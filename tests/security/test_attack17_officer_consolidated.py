"""ATTACK17 E10: a county officer's monitor, balance sheet and city budget print the officer's own
unit under the city's label — "all units", "Consolidated", "city total" — with the unit's figures.

Row security gives an officer its own unit's rows, and the consolidated rows are summed from
what the session reads: for 桦南县's officer in the demo the monitor's ``all`` RES row says surplus
114,925,623.71, months payable 5.07 and "warning all units RES: deficit of 3,712,294.72 yuan so far
this year", where the city's consolidated row (the auditor's) says 729,765,844.66 and 5.76; the
balance sheet's scope ``all`` "Consolidated" and the city budget's ``all`` "city total" are likewise
the one county. ``report final-accounts`` already refuses this ("the city's final accounts
consolidate every unit; an officer sees only their own: add --unit 230822"); the other
consolidating reports do not, so the same label carries two different numbers.

Safe behaviour asserted: an officer gets no row labelled as the city's consolidation (refused as
final accounts does, or the consolidated rows left out / labelled as the officer's unit).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db


def _two_units(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c22", "2024-01-10", "230822", "1000.00"), collect("c81", "2024-01-10", "230881", "5000.00"),
         pay_from_special("p22", "2024-02-10", "230822", "1200.00"))
    budget = tmp_path / "budget_2024.csv"
    budget.write_text("year,unit,book,line,amount\n2024,230822,RES,4001,1000.00\n2024,230822,RES,5001,1000.00\n"
                      "2024,230881,RES,4001,5000.00\n2024,230881,RES,5001,4000.00\n", "utf-8")
    assert ledger_db.cli("budget", "import", str(budget), user="rev").exit_code == 0


def test_e10_the_officers_monitor_has_no_city_row_of_its_own_unit(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _two_units(ledger_db, tmp_path)
    city = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--json", user="aud")
    assert city.exit_code in (0, 3), city
    mine = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--json", user="o22")
    if mine.exit_code not in (0, 3):
        assert "Traceback" not in mine.stderr, mine
        return
    labelled_city = [r for r in mine.json()["consolidated"] if r["unit"] == "all"]
    city_rows = {(r["unit"], r["book"]): r for r in city.json()["consolidated"]}
    # On main: the officer's "all RES" row is 230822's own figures, not the city's
    for r in labelled_city:
        assert r["surplus"] == city_rows[("all", r["book"])]["surplus"], (
            f"the officer's 'all units' {r['book']} row says surplus {r['surplus']}, the city's "
            f"{city_rows[('all', r['book'])]['surplus']}")


@pytest.mark.parametrize("args", [("report", "balance-sheet", "--as-of", "2024-03-31", "--json"),
                                  ("report", "city-budget", "--year", "2024", "--json")])
def test_e10_the_officers_reports_label_no_consolidation_of_its_own_unit(ledger_db: LedgerDB, tmp_path: Path,
                                                                       args: tuple[str, ...]) -> None:
    _two_units(ledger_db, tmp_path)
    city = ledger_db.cli(*args, user="aud")
    mine = ledger_db.cli(*args, user="o22")
    assert city.exit_code == 0, city
    if mine.exit_code != 0:
        assert "Traceback" not in mine.stderr, mine      # refused, as final accounts is: safe
        return

    def consolidated(res) -> list:  # type: ignore[no-untyped-def]
        return [r for s in res.json()["sections"] for r in s["rows"]
                if r.get("scope") == "all" or r.get("unit") == "all"]
    assert consolidated(mine) in ([], consolidated(city)), (
        f"{' '.join(args)}: the officer's rows labelled as the city's consolidation differ from the city's "
        f"(first: {consolidated(mine)[:1]} against {consolidated(city)[:1]})")
