"""ATTACK10 X1's variants: the duty rules bind by where the history recorded an entry, not by
the id the DBA chose (ledger.core.rule_binding, verify's held_entries, sql/0077).

* the CHECK entry_id_positive refuses a restarted identity's entry outright (no DBA hand: the
  trigger-side path);
* forced past it (the red team's lever), the export's offline verdict reads the entry with id -7
  as the online verdict does — its postings are not lost, its balances agree — and names it;
  the first pass names the id;
* a gap id *below an upgrade-time point* (positive, so the CHECK passes it): the entry was
  recorded after the point, so money_in binds it, and its id is named as moved — in both passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.store import migrate
from tests.conftest import LedgerDB, Server, run_cli
from tests.helpers import collect, post
from tests.security.test_attack7_rules import body_off, verdict
from tests.security.test_attack8_bank import CONFIRM, MONEY_IN, _hold, county  # noqa: F401  (fixture)
from tests.security.test_attack9_upgrade import _as, at_0063  # noqa: F401  (the fixture)
from tests.security.test_attack10_rule_point import _forge

pytestmark = pytest.mark.db


def _findings(out: str, check: str) -> list[str]:
    return [json.dumps(f, ensure_ascii=False) for c in json.loads(out)["checks"] if c["name"] == check
            for f in c["findings"]]


def test_x1_the_check_refuses_a_restarted_identity(county: LedgerDB) -> None:  # noqa: F811
    hid = _hold(county.connect("o22", autocommit=True), "x1-check", *MONEY_IN["against a temporary receipt (2001)"])
    admin = county.admin()
    top = int(admin.execute("SELECT max(id) AS m FROM fl.entry").fetchone()["m"])  # type: ignore[index]
    admin.execute("ALTER TABLE fl.entry ALTER COLUMN id SET MINVALUE -1000 RESTART WITH -7")
    try:
        with body_off(admin, "fl._money_in(text,text,text)", "\n  SELECT false\n"), \
                pytest.raises(psycopg.Error) as e:
            county.connect("o22b", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    finally:
        admin.execute(f"ALTER TABLE fl.entry ALTER COLUMN id RESTART WITH {top + 1} SET MINVALUE 1")
    assert e.value.diag.constraint_name == "entry_id_positive", e.value
    assert admin.execute("SELECT count(*) AS n FROM fl.entry WHERE id <= 0").fetchone() == {"n": 0}


def test_x1_offline_reads_an_entry_id_below_1_as_online_and_both_passes_name_it(
        county: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    f = _forge(county, -7)
    online = verdict(county)
    assert any(x.get("entry_id") == -7 and "entry_id_positive" in str(x["message"])
               for x in online.get("maker_checker", [])), online
    assert any(x.get("entry_id") == -7 and "city_confirms" in str(x["message"])
               for x in online.get("maker_checker", [])), online            # money_in binds it
    # Nothing but the duty rules is wrong with the entry: it balances, its postings are read.
    assert set(online) == {"maker_checker"}, online
    e = county.cli("audit", "export", str(tmp_path / "x"), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = county.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json", user="aud")
    assert off.exit_code == 1, off.stdout[-2500:]
    red = {c["name"] for c in json.loads(off.stdout)["checks"] if c["findings"]}
    assert red == {"maker_checker"}, (red, off.stdout[-3000:])      # no lost postings, no balance differs
    mc = _findings(off.stdout, "maker_checker")
    assert any('"entry_id": -7' in x and "entry_id_positive" in x for x in mc), mc
    assert any('"entry_id": -7' in x and "city_confirms" in x for x in mc), mc
    first = county.cli("verify", "--json", user="aud")
    held = _findings(first.stdout, "held_entries")
    assert any(f"held entry {f['held']} " in x for x in held), held
    assert any("has id -7" in x for x in held), held


def _gap_forge(name: str, pg_server: Server) -> dict[str, Any]:
    """Under 0063 the identity leaves a gap (ids burnt, as refused calls burn them), an old
    entry above it; the honest upgrade records money_in's point above the gap. Then the DBA
    restarts the identity inside the gap (a positive id: the CHECK passes it) for one
    confirmation of officer o22's money into the county's account by officer o22w6, with
    fl._money_in answering false for that call."""
    url = pg_server.url(name)
    with _as(name, pg_server, "fin") as fin:
        post(fin, collect("x1g-col", "2024-01-05", "230822", "100000.00"))
    with psycopg.connect(url, autocommit=True) as c:
        top = int(c.execute("SELECT max(id) FROM fl.entry").fetchone()[0])  # type: ignore[index]
        c.execute(f"ALTER TABLE fl.entry ALTER COLUMN id RESTART WITH {top + 10}")
    with _as(name, pg_server, "fin") as fin:
        post(fin, collect("x1g-col2", "2024-01-06", "230822", "100.00"))
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as admin:
        point = admin.execute("SELECT after_entry FROM fl.rule_point WHERE rule = 'money_in'").fetchone()["after_entry"]  # type: ignore[index]
        last = admin.execute("SELECT max(id) AS m FROM fl.entry").fetchone()["m"]  # type: ignore[index]
        assert point == last >= top + 10, (point, last, top)
        with _as(name, pg_server, "o22") as o22:
            hid = _hold(o22, "x1g-in", *MONEY_IN["against a temporary receipt (2001)"])
        admin.execute(f"ALTER TABLE fl.entry ALTER COLUMN id RESTART WITH {top + 2}")
        try:
            with body_off(admin, "fl._money_in(text,text,text)", "\n  SELECT false\n"), \
                    _as(name, pg_server, "o22w6") as o22w6:
                done = o22w6.execute(CONFIRM, (hid,)).fetchone()
        finally:
            admin.execute(f"ALTER TABLE fl.entry ALTER COLUMN id RESTART WITH {last + 1}")
    assert done is not None and done["status"] == "posted", done
    assert int(done["entry_id"]) == top + 2 <= point
    return {"held": hid, "entry": int(done["entry_id"]), "point": point}


@pytest.mark.cluster_roles
def test_x1_a_gap_id_below_an_upgrade_time_point_is_bound_and_named(
        at_0063: str, pg_server: Server, tmp_path: Path) -> None:  # noqa: F811
    from tests.security.test_attack9_expenditure_point import _independent

    name = at_0063
    f = _gap_forge(name, pg_server)
    eid = f["entry"]
    mc = _independent(name, pg_server).get("maker_checker", [])
    assert any(f'"entry_id": {eid}' in x and "entry_id_moved" in x for x in mc), mc
    assert any(f'"entry_id": {eid}' in x and "city_confirms" in x for x in mc), mc   # money_in binds it
    r = run_cli(["verify", "--json"], url=pg_server.url(name), user="aud")
    held = _findings(r.stdout, "held_entries")
    assert any(f"held entry {f['held']} " in x for x in held), held
    assert any(f"has id {eid}: the history recorded it after rule money_in" in x for x in held), held
    e = run_cli(["audit", "export", str(tmp_path / "x")], url=pg_server.url(name), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = run_cli(["verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json"], url=pg_server.url(name),
                  user="aud")
    omc = _findings(off.stdout, "maker_checker")
    assert any(f'"entry_id": {eid}' in x and "entry_id_moved" in x for x in omc), omc
    assert any(f'"entry_id": {eid}' in x and "city_confirms" in x for x in omc), omc
