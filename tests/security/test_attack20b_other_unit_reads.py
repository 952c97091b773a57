"""ATTACK20b M7 (ATTACK20 L6's class, after its fix): an officer (o22, unit 230822) asking for ANOTHER county's
figures by `--unit 230881` gets exit 0 and an empty report — `report subledger`, `monitor`, `journal`,
`account list`, `register list`, `report registers` — i.e. 230881 shown with no accounts, no entries, no
registers, no figures, though it holds money (row security hid them). A report or script reading it takes
"nothing" for the county's books. `entry show` / `entry reverse` of another county's entry say "no entry
'N'" (it exists). L6 fixed the two account readers' wording only; `request show` already says "an officer
sees only unit 230822's requests".

Safe behaviour asserted: refused (exit non-zero), saying the officer sees only its own unit (or that the
object may belong to a unit it cannot see) — never an empty report of another unit, never "no entry".
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

OTHER = "230881"
READERS = [
    ("report", "subledger", "--unit", OTHER, "--year", "2023"),
    ("monitor", "--unit", OTHER, "--as-of", "2023-03-31"),
    ("journal", "--unit", OTHER),
    ("account", "list", "--unit", OTHER),
    ("register", "list", "--unit", OTHER),
    ("report", "registers", "--unit", OTHER, "--as-of", "2023-03-31"),
]


def _said(r: object) -> str:
    return (str(getattr(r, "stdout", "")) + str(getattr(r, "stderr", ""))).lower()


def _other_units_money(db: LedgerDB) -> int:
    fin = db.connect("fin")
    post(fin, collect("m7-81", "2023-03-01", OTHER, "1000.00"))
    fin.commit()
    return int(db.admin().execute("SELECT id FROM fl.entry WHERE idempotency_key LIKE %s", ("%m7-81%",)).fetchone()["id"])


@pytest.mark.parametrize("args", READERS, ids=[" ".join(a[:2]) for a in READERS])
def test_m7_an_officer_asking_for_another_units_figures_is_refused(ledger_db: LedgerDB, args: tuple[str, ...]) -> None:
    _other_units_money(ledger_db)
    r = ledger_db.cli(*args, user="o22", env={"FUNDLEDGER_LANG": "en"})
    said = _said(r)
    assert r.exit_code != 0 and ("230822" in said or "cannot see" in said or "may see" in said), (r.exit_code, said[:400])


@pytest.mark.parametrize("verb", ["show", "reverse"])
def test_m7_another_units_entry_is_not_said_not_to_exist(ledger_db: LedgerDB, verb: str) -> None:
    eid = _other_units_money(ledger_db)
    extra = ("--reason", "x") if verb == "reverse" else ()
    r = ledger_db.cli("entry", verb, str(eid), *extra, user="o22", env={"FUNDLEDGER_LANG": "en"})
    said = _said(r)
    assert r.exit_code != 0, said
    assert "cannot see" in said or "may see" in said or "230822" in said, said[:400]
