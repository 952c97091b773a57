"""ATTACK19 J5 (LOW): ``preallocate`` holds a pre-allocation for a county that has not joined yet, dated
before its joining date — and finance's confirmation of the city's pre-allocations (``entry confirm``
with the held ids ``preallocate`` printed, as the README says) is then refused for every county.

0154 registers a unit's joining date and refuses any posting on the unit dated before it
(``before_unit_joined``) — at confirmation for a held entry. ``fl.preallocate`` (0094) tops up every
county with a budget (or last year's spending) and knows nothing of joining dates: a county added to
the region file with ``joined = 2024-03-01`` and given its 2024 budget gets a held pre-allocation
dated 2024-01-15. ``entry confirm 4 5`` is all-or-nothing: ``[before_unit_joined] entry #8
(prealloc:2024:230899:RES) … date it on or after 2024-03-01`` — nothing is confirmed, 桦南县's
pre-allocation included, and the advice cannot be followed for a held entry (its date is the
workflow's). The new county's key (prealloc:2024:230899:RES) is spent on an entry that can only be
rejected.

Safe behaviour asserted: the pre-allocation dated before a unit's joining date leaves that unit out
and the rest confirm together — or it is refused before anything is held, naming the unit and its
joining date.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack17b_first_statement import NEW, _region_file

pytestmark = pytest.mark.db


def test_j5_preallocation_leaves_out_a_unit_not_yet_joined(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2023-01-05", "230822", "5000.00"), collect("c00", "2023-01-05", "230800", "9000000.00"))
    fin.commit()
    assert ledger_db.cli("init", "--region", str(_region_file(tmp_path, '"2024-03-01"'))).exit_code == 0
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    b = tmp_path / "budget_2024.csv"
    b.write_text(f"year,unit,book,line,amount\n2024,230822,RES,5001,1200000.00\n2024,{NEW},RES,5001,1200000.00\n",
                 "utf-8")
    assert ledger_db.cli("budget", "import", str(b), user="rev").exit_code == 0
    pre = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-15", "--json", user="rev")
    if pre.exit_code != 0:      # refused before anything is held, naming the unit and its joining date: safe too
        assert NEW in pre.stderr and "2024-03-01" in pre.stderr, pre
        return
    ids = [str(x["held_id"]) for x in pre.json() if x.get("held_id")]
    # on main: both counties held (230899 dated 2024-01-15, before it joined on 2024-03-01) …
    assert NEW not in [x["unit"] for x in pre.json() if x.get("status") in ("held", "posted")], pre.json()
    c = ledger_db.cli("entry", "confirm", *ids, user="fin")
    # … and confirming them together is refused for every county: [before_unit_joined]
    assert c.exit_code == 0, c


def test_j5_fix_the_county_left_out_is_preallocated_from_its_joining_date(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """0163: preallocate names the county it leaves out and the day to pre-allocate for it; run again on
    that day it holds that county's line alone (the others already done), and finance confirms it."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2023-01-05", "230822", "5000.00"), collect("c00", "2023-01-05", "230800", "9000000.00"))
    fin.commit()
    assert ledger_db.cli("init", "--region", str(_region_file(tmp_path, '"2024-03-01"'))).exit_code == 0
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    b = tmp_path / "budget_2024.csv"
    b.write_text(f"year,unit,book,line,amount\n2024,230822,RES,5001,1200000.00\n2024,{NEW},RES,5001,1200000.00\n",
                 "utf-8")
    assert ledger_db.cli("budget", "import", str(b), user="rev").exit_code == 0
    pre = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-15", user="rev", env={"FUNDLEDGER_LANG": "en"})
    said = " ".join(pre.stdout.split())
    assert pre.exit_code == 0 and f"unit {NEW} joins the pooled fund on 2024-03-01" in said, pre
    assert "--date 2024-03-01" in said, pre
    first = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-15", "--json", user="rev").json()
    assert {x["unit"]: x["status"] for x in first} == {"230822": "held", NEW: "not yet joined"}, first
    assert ledger_db.cli("entry", "confirm", str(first[0]["held_id"]), user="fin").exit_code == 0
    later = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-03-01", "--json", user="rev").json()
    assert {x["unit"]: x["status"] for x in later} == {"230822": "already posted", NEW: "held"}, later
    held = [str(x["held_id"]) for x in later if x["status"] == "held"]
    assert ledger_db.cli("entry", "confirm", *held, user="fin").exit_code == 0
