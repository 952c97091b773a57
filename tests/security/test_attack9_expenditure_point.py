"""ATTACK9 W2 after W6 (0072): expenditure 5xxx binds from 0067's own rule point.

0067 made an officer's manual entry on expenditure 5xxx the city's to confirm; 0068 judged the
city figures only above 0058's point. On a ledger past 0058 before 0067, a second officer's
confirmation of an officer's manual 5xxx entry — allowed then — would be a finding forever after
an honest upgrade. 0072 records 5xxx's own point ('city_expenditure', revision 0067): the old
confirmation is whole (first pass, independent, offline from an export); a new one is refused,
and forced (the superuser switching the rule off) both verdicts name it.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.core import rules
from ledger.store import migrate
from ledger.store.verify_independent import verify_independent
from tests.conftest import Server, run_cli
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import body_off
from tests.security.test_attack9_upgrade import _as, at_0063  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.db, pytest.mark.cluster_roles]

CONFIRM = "SELECT * FROM fl.confirm_entry(%s)"
LOWER = (leg("1101", "230822", "D", "300.00"), leg("5001.inpatient", "230822", "C", "300.00"))


def _hold(conn: psycopg.Connection, key: str) -> int:
    row = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                       (json.dumps([entry(key, "2024-02-01", "RES", *LOWER, memo="refund due")]),)).fetchone()
    assert row is not None and row["status"] == "held", row
    return int(row["held_id"])


def _independent(name: str, pg_server: Server) -> dict[str, list[str]]:
    with psycopg.connect(pg_server.url(name, "aud"), row_factory=dict_row) as c:
        rep = verify_independent(c)
    out: dict[str, list[str]] = {}
    for f in rep.findings:
        out.setdefault(f.check, []).append(json.dumps(f.as_json(), ensure_ascii=False))
    return out


def _upgraded_with_an_old_confirmation(name: str, pg_server: Server) -> int:
    """Under 0063 (0058's city figures in force, 5xxx not yet one): an officer's manual credit
    on 5001 against a temporary payment, confirmed by a second officer of the county; then the
    honest upgrade to head. Returns the old entry's id."""
    with _as(name, pg_server, "fin") as fin:
        post(fin, collect("w2p-col", "2024-01-05", "230822", "100000.00"))
    with _as(name, pg_server, "o22") as o22:
        hid = _hold(o22, "w2p-old")
    with _as(name, pg_server, "o22w6") as o22w6:
        old = o22w6.execute(CONFIRM, (hid,)).fetchone()
    assert old is not None and old["status"] == "posted", old
    migrate.upgrade(pg_server.url(name))
    return int(old["entry_id"])


def test_an_officer_confirmation_on_expenditure_before_0067_is_whole_after_the_upgrade(
        at_0063: str, pg_server: Server, tmp_path: Path) -> None:  # noqa: F811
    name = at_0063
    url = pg_server.url(name)
    _upgraded_with_an_old_confirmation(name, pg_server)
    with psycopg.connect(url) as c:
        points = dict(c.execute("SELECT rule, after_entry FROM fl.rule_point").fetchall())
        last = c.execute("SELECT max(id) FROM fl.entry").fetchone()[0]
    # every rule whose revision came after 0063 takes effect at the upgrade (0068: rules.RULE_POINTS;
    # 0058's was in force at 0063)
    assert points == {rule: 0 if rev <= "0063" else last for rule, rev in rules.RULE_POINTS.items()}, points
    assert points["city_figures"] == 0 and points["city_expenditure"] == last
    v = run_cli(["verify"], url=url, user="aud")
    assert v.exit_code == 0, v.stdout[-2500:]
    assert "maker_checker" not in _independent(name, pg_server)
    e = run_cli(["audit", "export", str(tmp_path / "x")], url=url, user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = run_cli(["verify", "--offline", str(tmp_path / "x"), "--no-digest"], url=url, user="aud")
    assert off.exit_code == 0, off.stdout[-2500:]


def test_after_the_upgrade_the_same_confirmation_is_refused_and_forced_it_is_named(
        at_0063: str, pg_server: Server) -> None:  # noqa: F811
    name = at_0063
    _upgraded_with_an_old_confirmation(name, pg_server)
    with _as(name, pg_server, "o22") as o22:
        hid = _hold(o22, "w2p-new")
    with _as(name, pg_server, "o22w6") as o22w6, pytest.raises(psycopg.Error) as e:
        o22w6.execute(CONFIRM, (hid,)).fetchone()
    assert e.value.diag.constraint_name == "city_confirms", e.value
    with psycopg.connect(pg_server.url(name), autocommit=True, row_factory=dict_row) as admin, \
            body_off(admin, "fl._city_figure(text,text)", "\n  SELECT false\n"), \
            _as(name, pg_server, "o22w6") as o22w6:
        done = o22w6.execute(CONFIRM, (hid,)).fetchone()
    assert done is not None and done["status"] == "posted", done
    eid = int(done["entry_id"])
    mc = _independent(name, pg_server).get("maker_checker", [])
    assert len(mc) == 1 and f'"entry_id": {eid}' in mc[0] and "confirmed by o22w6, an officer" in mc[0], mc
    r = run_cli(["verify", "--json"], url=pg_server.url(name), user="aud")
    assert r.exit_code == 1, r.stdout[-2500:]
    held = [json.dumps(f) for c in json.loads(r.stdout)["checks"] if c["name"] == "held_entries"
            for f in c["findings"]]
    assert len(held) == 1 and f"held entry {hid} " in held[0] and "o22w6 (officer)" in held[0], held
