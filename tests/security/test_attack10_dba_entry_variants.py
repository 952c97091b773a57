"""ATTACK10 X10 variants: who wrote an entry, asked by all three passes (first pass, independent online, offline).

* the DBA's ``fl._post`` in its own session: created_by and the history's actor are ``postgres`` — named by
  ``entry_writers`` in the first pass, online and offline (word for word);
* the DBA's stamp put on a user (fl.entry_stamp suspended for one call, created_by = 'fin'): the history
  still records the DBA's login as the one who inserted it;
* a registered user whose role the kind's function does not take (an officer's collections, stamped so by
  the DBA): named with the role;
* the honest path (finance imports collections, the bureau closes the year) is named by nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack7_rules import named, suspended, verdict
from tests.security.test_attack10_dba_entry import FORGE
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db


def _first_pass(db: LedgerDB) -> list[dict[str, object]]:
    r = db.cli("verify", "--check", "entry_writers", "--json", user="aud")
    return list(next(c for c in r.json()["checks"] if c["name"] == "entry_writers")["findings"])


def test_the_dbas_own_entry_is_named_by_all_three_passes(ledger_db: LedgerDB, tmp_path: Path) -> None:
    eid = int(ledger_db.admin().execute(FORGE).fetchone()["entry_id"])  # type: ignore[index]
    found = verdict(ledger_db)
    f = named(found, "entry_writers", entry_id=eid, words="not a fundledger user")
    assert "postgres" in str(f["message"])
    named(found, "entry_writers", entry_id=eid, words="history records")          # the INSERT version's actor
    assert any(x["entry_id"] == eid for x in _first_pass(ledger_db))
    off = offline(ledger_db, tmp_path, "entry_writers")
    assert {x["message"] for x in off} == {x["message"] for x in found["entry_writers"]}


def _stamped(db: LedgerDB, who: str, key: str) -> int:
    """The DBA writes a collections entry with the stamp naming ``who`` (fl.entry_stamp's
    ``session_user`` replaced for the one call, then restored byte for byte)."""
    admin = db.admin()
    with suspended(admin, "fl.entry_stamp()", "NEW.created_by  := coalesce(maker, session_user);",
                   f"NEW.created_by  := '{who}';"):
        row = admin.execute(FORGE.replace("collections:230822:X10-1", key)).fetchone()
    assert row is not None
    return int(row["entry_id"])


def test_a_stamp_put_on_a_user_is_named_by_the_historys_actor(ledger_db: LedgerDB) -> None:
    eid = _stamped(ledger_db, "fin", "collections:230822:X10-2")
    assert ledger_db.admin().execute("SELECT created_by FROM fl.entry WHERE id = %s", (eid,)).fetchone() == {
        "created_by": "fin"}
    found = verdict(ledger_db)
    named(found, "entry_writers", entry_id=eid, words="inserted by postgres")
    assert not any(f["entry_id"] == eid and "made by" in str(f["message"]) for f in found["entry_writers"])


def test_an_officer_stamped_on_collections_is_named_with_its_role(ledger_db: LedgerDB) -> None:
    eid = _stamped(ledger_db, "o22", "collections:230822:X10-3")
    found = verdict(ledger_db)
    named(found, "entry_writers", entry_id=eid, words="role officer")


def test_the_honest_writers_are_named_by_nothing(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin"), collect("x10-ok", "2023-03-01", "230822", "1000.00"))
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    found = verdict(ledger_db)
    assert "entry_writers" not in found, found["entry_writers"]
    assert _first_pass(ledger_db) == []
