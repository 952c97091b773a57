"""ATTACK19 J2 (LOW-MED): a unit registered without a joining date reopens F1, and verify stays green.

0154 (ATTACK17b F1) bounds a unit's first day in the ledger by its registered joining date
(fl.unit_joined): ``init`` registers one for every unit (the file's ``joined``, or first_year's
1 January while the ledger is empty, and it *requires* one for a unit added to a running ledger),
and the migration registered one for every unit it found. But the bound and its verdict twin both
read only the units that have a row: ``fl.unit_first_day_record`` joins fl.unit_joined (no row: no
bound), and ``ledger.core.proof._before_joined`` skips a unit whose ``joined.get(unit)`` is None.
Nothing names a unit that has no joining row at all.

So the DBA adds the new county the way ``init`` does — ``INSERT INTO fl.unit`` with the triggers on
(the chained history records an INSERT, as a region reload does) — and leaves out only the joining
row. City finance's 0.01 dated a year back is then the county's first fund-figure posting, its
recorded first day is a year before it joined (F1 exactly), its first quarter's red months payable
reads on a year's basis — and the independent verdict says every invariant holds.

Safe behaviour asserted: the independent verdict names a unit with no registered joining date (since
0154 every unit has one: ``init`` writes it, the migration wrote it) — or the database refuses the
posting on a unit that has none.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

NEW = "230899"


def test_j2_a_unit_with_no_joining_date_is_named_or_refused(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-01-05", "230881", "5000.00"))      # a running ledger
    fin.commit()
    admin = ledger_db.admin()
    # The DBA registers the county as init's load_reference does, minus fl.unit_joined.
    admin.execute("INSERT INTO fl.unit (code, name_zh, name_en, kind, sort) VALUES (%s, '新县', 'Xinxian', 'county', 7)",
                  (NEW,))
    try:
        # City finance, alone: 0.01 "a year back" as the new county's first fund figure, then its real quarter.
        post(fin, collect("J2-BACK", "2022-03-31", NEW, "0.01"))
        post(fin, collect("x1", "2023-03-01", NEW, "1000000.00"), pay_from_special("x2", "2023-03-15", NEW, "300000.00"))
        fin.commit()
    except psycopg.Error as e:          # refused by the database: safe
        fin.rollback()
        assert "joined" in str(e) or "joining" in str(e), e
        return
    first = admin.execute("SELECT first_day FROM fl.unit_first_day WHERE unit = %s AND book = 'RES'", (NEW,)).fetchone()
    assert str(first["first_day"]) == "2022-03-31"        # what the forgery buys (F1)
    found = verdict(ledger_db)
    # on main: {} — every invariant holds
    assert any(NEW in str(f) for fs in found.values() for f in fs), found


def test_j2_fix_the_verdict_names_a_unit_without_a_joining_date_the_trigger_did_not_stop(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """0165: the superuser turns 0163's refusal off (the statement trigger on fl.account_day) and posts on
    the county registered without a joining date: the independent verdict names the unit, online and
    in the export read offline."""
    from ledger.io import archive

    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-01-05", "230881", "5000.00"))
    fin.commit()
    admin = ledger_db.admin()
    admin.execute("INSERT INTO fl.unit (code, name_zh, name_en, kind, sort) VALUES (%s, '新县', 'Xinxian', 'county', 7)",
                  (NEW,))
    admin.execute("ALTER TABLE fl.account_day DISABLE TRIGGER account_day_unit_first_day")
    try:
        post(fin, collect("J2-BACK", "2022-03-31", NEW, "0.01"))
        fin.commit()
    finally:
        admin.execute("ALTER TABLE fl.account_day ENABLE TRIGGER account_day_unit_first_day")
    found = verdict(ledger_db)
    assert any(NEW in str(f["message"]) and "no registered joining date" in str(f["message"])
               for f in found.get("first_days", [])), found
    out = tmp_path / "export"
    r = ledger_db.cli("audit", "export", str(out), user="aud")
    assert r.exit_code == 0, r
    msgs = [f.message for c in archive.run_proof(out).checks if c.name == "first_days" for f in c.findings]
    assert any(NEW in m and "no registered joining date" in m for m in msgs), msgs
