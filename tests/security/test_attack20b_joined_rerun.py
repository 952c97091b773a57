"""ATTACK20b M4: `unit register-joined` run again with the same unit, date and document after another
registration superseded it says "registration N was already made with this key: unit U joined on D"
(exit 0; JSON status 'duplicate', joined_on D) — while the unit's date in force stays the LATER
registration's other date. The default key is content-derived (unit, date, document hash): the bureau
that corrects 2023-02-01 -> 2023-01-15 and then restores 2023-02-01 with the original document (the
same command as the first time) is told the unit joined on 2023-02-01, and postings, pre-allocation and
months payable keep reading 2023-01-15. A success that says the opposite of what is in force.

Fails on main.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

UNIT = "230822"


def _register(db: LedgerDB, on: str, document: str) -> object:
    return db.cli("unit", "register-joined", UNIT, "--on", on, "--reason", "参保登记表所载加入统筹日期",
                  "--document", document, user="rev", env={"FUNDLEDGER_LANG": "en"})


def test_m4_a_rerun_after_a_later_registration_does_not_report_a_superseded_date(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("m4-first", "2023-03-28", UNIT, "10000.00"))
    fin.commit()
    assert _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号").exit_code == 0
    assert _register(ledger_db, "2023-01-15", "佳医保发〔2023〕2号").exit_code == 0
    again = _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号")       # restore the first date, same command
    said = str(again.stdout) + str(again.stderr)
    in_force = ledger_db.admin().execute("SELECT joined_on::text AS d FROM fl.unit_joining WHERE unit = %s",
                                         (UNIT,)).fetchone()["d"]
    # either the date asked for is now in force, or the answer says it is not (names the one in force)
    assert in_force == "2023-02-01" or (again.exit_code != 0 or "2023-01-15" in said), (in_force, again.exit_code, said)
