"""ATTACK20b M1: ``verify --region FILE`` judges a unit's joining date against fl.unit_joined (0154's,
never changed) and ignores the city bureau's later registration (fl.unit_joined_later, 0167), while
``init --region FILE`` accepts a file naming the date in force ("a date the city bureau registered later
is the unit's date in force: a file naming it is the office's own", ledger/store/migrate.py).

So, after the bureau registers 230822's real date (2023-02-01, over the defaulted 1 January of first_year):
* the office's region file updated to that date is accepted by ``init --region`` and reloaded — and the
  auditor's ``verify --region`` with the same kept file is red (a false finding on fl.unit_joined);
* the auditor's file still naming the superseded date (the defaulted one) is green, though every posting,
  pre-allocation and the months-payable basis now read 2023-02-01: the check that the ledger's
  reference data are the kept file's does not see the date actually in force.

Fails on main (both asserts).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

UNIT = "230822"


def _region(tmp_path: Path, joined: str, name: str) -> Path:
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    anchor = 'code = "230822"\nname_zh = "桦南县"\nname_en = "Huanan"\nkind = "county"\n'
    assert anchor in text
    text = text.replace(anchor, anchor + f'joined = "{joined}"\n')
    p = tmp_path / name
    p.write_text(text, "utf-8")
    return p


def test_m1_verify_region_reads_the_joining_date_in_force(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("m1r-first", "2023-03-28", UNIT, "10000.00"))
    fin.commit()
    r = ledger_db.cli("unit", "register-joined", UNIT, "--on", "2023-02-01", "--reason", "参保登记表所载加入统筹日期",
                      "--document", "佳医保发〔2023〕1号", user="rev")
    assert r.exit_code == 0, r
    in_force = _region(tmp_path, "2023-02-01", "in_force.toml")
    # the office's file naming the date in force is accepted by init (reloaded)
    ok = ledger_db.cli("init", "--region", str(in_force))
    assert ok.exit_code == 0, ok
    # ... and the auditor's verify with that same kept file agrees with it
    v = ledger_db.cli("verify", "--region", str(in_force), "--json", user="aud")
    assert v.exit_code == 0, (v.stdout, v.stderr)
    # a kept file naming the superseded date is named: the ledger's date in force is not the file's
    was = ledger_db.admin().execute("SELECT joined_on::text AS d FROM fl.unit_joined WHERE unit = %s",
                                    (UNIT,)).fetchone()["d"]          # the defaulted first_year date
    old = _region(tmp_path, was, "superseded.toml")
    bad = ledger_db.cli("verify", "--region", str(old), "--json", user="aud")
    assert bad.exit_code != 0 and "2023-02-01" in str(bad.stdout) + str(bad.stderr), (bad.stdout, bad.stderr)

