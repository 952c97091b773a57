"""ATTACK10 X1: the duty rules bind by entry *id*, and the id is a key the DBA chooses.

0068 (ATTACK9 W6) made each maker-checker duty rule (city_figures, money_in, city_expenditure)
judge only the entries "written after it took effect", and both verdicts implement "after" as
``entry.id > rule_point.after_entry`` (verify's held_entries: ``pe.entry_id > coalesce(point, 0)``;
ledger.core.rules: ``eid > self.point(rule)``). The point itself is chained and checked, but the
entry's id is not: ``fl.entry.id`` is an identity column whose sequence a superuser restarts at
will (or writes with OVERRIDING SYSTEM VALUE). An entry whose id is not above the point — 0, a
negative id, or any gap id below an upgrade-time point (every refused call leaves gaps) — is
never judged by any duty rule, even where every point is 0 ("binds from the beginning"), and
nothing in either verdict asks whether an id is positive or whether the entries recorded after a
point all have ids above it.

Lever (DBA hostile to the auditor): the same suspension ATTACK8 V5's test uses (``fl._money_in``
answering false for one call, put back byte for byte), plus ``ALTER TABLE fl.entry ALTER COLUMN id
SET MINVALUE -1000 RESTART WITH -7`` for the confirmation and the sequence put back after it.
Impact: two officers of one county put ¥500 (any amount) into the county's expenditure account by
hand with no one from the city; `verify` (both passes) is whole.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import body_off, verdict
from tests.security.test_attack8_bank import CONFIRM, MONEY_IN, _hold, county  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


def _id_restarted_at(admin: psycopg.Connection, start: int) -> int:
    """The entry id sequence restarted at ``start`` (minimum lowered) and, since 0077, the CHECK
    entry_id_positive dropped for the call (the DBA's way past it); returns what to put back."""
    top = int(admin.execute("SELECT coalesce(max(id), 0) AS m FROM fl.entry").fetchone()["m"])  # type: ignore[index]
    admin.execute("ALTER TABLE fl.entry DROP CONSTRAINT IF EXISTS entry_id_positive")
    admin.execute(f"ALTER TABLE fl.entry ALTER COLUMN id SET MINVALUE -1000 RESTART WITH {int(start)}")
    return top


def _id_put_back(admin: psycopg.Connection, top: int) -> None:
    """The sequence put back, and the CHECK with it exactly as the release has it (its row cannot
    pass validation now: added NOT VALID, then marked validated in the catalogue by hand, so
    the catalogue's fingerprint sees nothing)."""
    admin.execute(f"ALTER TABLE fl.entry ALTER COLUMN id RESTART WITH {top + 1} SET MINVALUE 1")
    admin.execute("ALTER TABLE fl.entry ADD CONSTRAINT entry_id_positive CHECK (id > 0) NOT VALID")
    admin.execute("UPDATE pg_catalog.pg_constraint SET convalidated = true WHERE conname = 'entry_id_positive' "
                  "AND conrelid = 'fl.entry'::regclass")


def _forge(db: LedgerDB, start: int) -> dict[str, Any]:
    hid = _hold(db.connect("o22", autocommit=True), f"x1-{start}", *MONEY_IN["against a temporary receipt (2001)"])
    admin = db.admin()
    top = _id_restarted_at(admin, start)
    try:
        with body_off(admin, "fl._money_in(text,text,text)", "\n  SELECT false\n"):
            done = db.connect("o22b", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    finally:
        _id_put_back(admin, top)
    assert done is not None and done["status"] == "posted", done
    return {"held": hid, "entry": int(done["entry_id"])}


@pytest.mark.parametrize("start", [-7, 0])
def test_x1_an_entry_id_not_above_the_point_escapes_every_duty_rule(county: LedgerDB, start: int) -> None:  # noqa: F811
    assert verdict(county) == {}
    f = _forge(county, start)
    assert f["entry"] == start
    # The money moved into the county's own account on two officers' word alone.
    moved = county.admin().execute(
        "SELECT sum(p.amount) AS n FROM fl.posting p JOIN fl.account a ON a.id = p.account_id "
        "WHERE p.entry_id = %s AND p.side = 'D' AND a.holder = 'county_exp'", (f["entry"],)).fetchone()
    assert moved is not None and moved["n"] == 50000
    found = verdict(county)      # the independent verdict (catalogue clean: everything was put back)
    assert any(x.get("entry_id") == f["entry"] for xs in found.values() for x in xs), (
        f"entry {f['entry']} (officer o22's money into 1004 county_exp, confirmed by officer o22b) is named by "
        f"no check of the independent verdict: {found}")
    r = county.cli("verify", "--json", user="aud")
    held = [x for c in r.json()["checks"] if c["name"] == "held_entries" for x in c["findings"]]
    assert any(f"held entry {f['held']} " in json.dumps(x) for x in held), (
        f"verify's held_entries does not name held entry {f['held']}: exit {r.exit_code}")

