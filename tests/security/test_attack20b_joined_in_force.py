"""ATTACK20b M1/M4, variants of the fix: the joining date in force is one definition (ledger.core.joined).

* init --region refuses a file naming a date a later registration superseded (verify names it too), and
  accepts the file naming the date in force;
* register-joined: a plain re-run is a duplicate (nothing written), a re-registration of a replaced date
  with the same command is a new row in force, and an explicit --key whose registration was replaced is
  refused naming the one in force.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from ledger.core.joined import file_names_in_force, in_force
from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

UNIT = "230822"


def test_in_force_is_the_latest_later_registration() -> None:
    assert in_force({"a": 1, "b": 2}, [(5, "a", 7), (3, "a", 6)]) == {"a": 7, "b": 2}
    assert file_names_in_force(None, 1) and file_names_in_force(1, None) and not file_names_in_force(1, 2)


def _region(tmp_path: Path, joined: str, name: str) -> Path:
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    anchor = 'code = "230822"\nname_zh = "桦南县"\nname_en = "Huanan"\nkind = "county"\n'
    p = tmp_path / name
    p.write_text(text.replace(anchor, anchor + f'joined = "{joined}"\n'), "utf-8")
    return p


def _register(db: LedgerDB, on: str, document: str, *extra: str) -> object:
    return db.cli("unit", "register-joined", UNIT, "--on", on, "--reason", "参保登记表所载加入统筹日期",
                  "--document", document, *extra, "--json", user="rev", env={"FUNDLEDGER_LANG": "en"})


def _count(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.unit_joined_later").fetchone()["n"])


def test_init_refuses_a_superseded_date(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("m1v-first", "2023-03-28", UNIT, "10000.00"))
    fin.commit()
    was = ledger_db.admin().execute("SELECT joined_on::text AS d FROM fl.unit_joined WHERE unit = %s",
                                    (UNIT,)).fetchone()["d"]
    assert ledger_db.cli("init", "--region", str(_region(tmp_path, was, "before.toml"))).exit_code == 0
    assert _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号").exit_code == 0
    bad = ledger_db.cli("init", "--region", str(_region(tmp_path, was, "old.toml")), env={"FUNDLEDGER_LANG": "en"})
    assert bad.exit_code != 0 and "2023-02-01" in bad.stderr and "Traceback" not in bad.stderr, bad
    assert ledger_db.cli("init", "--region", str(_region(tmp_path, "2023-02-01", "now.toml"))).exit_code == 0


def test_register_joined_reruns(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("m4v-first", "2023-03-28", UNIT, "10000.00"))
    fin.commit()
    first = _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号")
    assert first.exit_code == 0 and first.json()["status"] == "registered"
    again = _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号")      # a plain re-run: nothing written
    assert again.exit_code == 0 and again.json()["status"] == "duplicate" and _count(ledger_db) == 1
    assert _register(ledger_db, "2023-01-15", "佳医保发〔2023〕2号", "--key", "k-2").exit_code == 0
    back = _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号")       # restored: a new row, in force
    assert back.exit_code == 0 and back.json()["status"] == "registered" and _count(ledger_db) == 3
    assert _register(ledger_db, "2023-02-01", "佳医保发〔2023〕1号").json()["status"] == "duplicate"
    assert _register(ledger_db, "2023-01-15", "佳医保发〔2023〕2号", "--key", "k-2x").exit_code == 0
    old = _register(ledger_db, "2023-01-15", "佳医保发〔2023〕2号", "--key", "k-2")   # k-2's row was replaced
    assert old.exit_code != 0 and "Traceback" not in old.stderr, old
    assert _count(ledger_db) == 4
