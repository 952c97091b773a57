"""ATTACK17 E10, the class swept: no command gives a county officer (a reader confined to its own
unit by row security) a row labelled as the city's consolidation — summed from what its session
reads, it would be its own unit's figures under the city's label. Each command with a consolidated
row, run as the officer and as the auditor: the monitor's ``all`` rows, the balance sheet's
``Consolidated`` block, the city budget's ``city total`` block and ``budget show``'s city total are
left out for the officer, ``budget city`` is refused (as the city's final accounts are), the income
statement is titled with the officer's unit, and the performance review's rank — a ranking among
every unit of the book — is blank for the officer and, with ``--unit``, the unit's rank among all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack17_officer_consolidated import _two_units

pytestmark = pytest.mark.db


def test_no_consolidation_of_the_officers_own_unit(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _two_units(ledger_db, tmp_path)
    mon = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--json", user="o22")
    assert mon.exit_code in (0, 3), mon
    assert mon.json()["consolidated"] == [] and {r["unit"] for r in mon.json()["rows"]} == {"230822"}
    assert "all" not in ledger_db.cli("monitor", "--as-of", "2024-03-31", "--csv", str(tmp_path / "m.csv"),
                                      user="o22").stdout.split()
    assert ",all," not in (tmp_path / "m.csv").read_text("utf-8-sig")
    city = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--json", user="aud").json()
    assert [r["unit"] for r in city["consolidated"]] == ["all"]
    one = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--unit", "230822", "--json", user="aud")
    assert one.exit_code in (0, 3) and one.json()["consolidated"] == []      # not one unit as the whole region

    bs = ledger_db.cli("report", "balance-sheet", "--as-of", "2024-03-31", "--json", user="o22").json()
    assert {r["scope"] for s in bs["sections"] for r in s["rows"]} == {"230822"}
    cb = ledger_db.cli("report", "city-budget", "--year", "2024", "--json", user="o22").json()
    assert {r["unit"] for s in cb["sections"] for r in s["rows"]} == {"230822"}
    assert "all" in {r["unit"] for s in ledger_db.cli("report", "city-budget", "--year", "2024", "--json",
                                                      user="aud").json()["sections"] for r in s["rows"]}

    refused = ledger_db.cli("budget", "city", "--year", "2024", user="o22")
    assert refused.exit_code != 0 and "Traceback" not in refused.stderr
    assert "budget show --year 2024 --unit 230822" in refused.stdout + refused.stderr
    shown = ledger_db.cli("budget", "show", "--year", "2024", user="o22")
    assert shown.exit_code == 0 and "city total" not in shown.stdout, shown
    assert "city total" in ledger_db.cli("budget", "show", "--year", "2024", user="aud").stdout

    inc = ledger_db.cli("report", "income", "--year", "2024", "--json", user="o22").json()
    assert all("230822" in s["title"] for s in inc["sections"]), [s["title"] for s in inc["sections"]]

    perf = ledger_db.cli("report", "performance", "--year", "2024", "--json", user="o22").json()
    assert {(r["unit"], r["rank"]) for s in perf["sections"] for r in s["rows"]} == {("230822", None)}
    ranks = {r["unit"]: r["rank"] for s in ledger_db.cli("report", "performance", "--year", "2024", "--json",
                                                          user="aud").json()["sections"] for r in s["rows"]}
    one = ledger_db.cli("report", "performance", "--year", "2024", "--unit", "230822", "--json", user="aud").json()
    assert {r["rank"] for s in one["sections"] for r in s["rows"]} == {ranks["230822"]}
    assert sorted(set(ranks.values())) == [1, 2]
