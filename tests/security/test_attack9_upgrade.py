"""ATTACK9 on 0064's upgrade: the new rule judges entries written before it existed.

W6 (MED): 0064's V5 twin (the in-database ``held_entries`` and the independent ``maker_checker``)
judges every entry since the chained history began (ledger.core.rules.legacy_ids: only rows
from before 0010 are legacy). An entry a county's two officers made and confirmed under 0058-0063
— a provider's refund into the county's expenditure account, Dr 1004 county_exp / Cr 2001, allowed
then — is a finding after the upgrade, forever (nothing is edited; a reversal leaves it): the
auditor's verdict on an honestly upgraded ledger is red and stays red, and "red" stops meaning
tampering. A rule applies from when it was migrated, and the verdict must know when that was
(recorded in the chained history, not a date a DBA can move).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.core import rules
from ledger.core.region import load_region
from ledger.store import admin, migrate
from tests.conftest import Server, run_cli
from tests.helpers import collect, entry, leg, post

pytestmark = [pytest.mark.db, pytest.mark.cluster_roles]

CAST = [("rev", "reviewer", None), ("rev2", "reviewer", None), ("fin", "finance", None), ("aud", "auditor", None),
        ("o22", "officer", "230822"), ("o22w6", "officer", "230822")]


@pytest.fixture
def at_0063(pg_server: Server, template_db: str) -> Iterator[str]:
    name = f"fl_w6_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    migrate.upgrade(url, "0063")
    with psycopg.connect(url, row_factory=dict_row) as conn:
        migrate.load_reference(conn, load_region())
        for n, role, unit in CAST:
            admin.add_user(conn, n, role, unit)
        migrate.owner_administers_users(conn)
        conn.commit()
    yield name
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as(name: str, pg_server: Server, user: str) -> psycopg.Connection:
    return psycopg.connect(pg_server.url(name, user), autocommit=True, row_factory=dict_row)


def test_w6_an_entry_confirmed_by_the_rules_of_its_time_is_not_a_finding_after_0064(
        at_0063: str, pg_server: Server) -> None:
    name = at_0063
    url = pg_server.url(name)
    fin = _as(name, pg_server, "fin")
    post(fin, collect("w6-col", "2024-01-05", "230822", "100000.00"),
         entry("w6-top", "2024-01-06", "RES", leg("1004", "230822", "D", "50000.00", "county_exp"),
               leg("1003", "230822", "C", "50000.00", "special")), checker="rev")
    # Under 0063: a provider refunds ¥300 into the county's account; the county's second officer confirms.
    o22 = _as(name, pg_server, "o22")
    rows = post(o22, entry("w6-refund", "2024-02-01", "RES", leg("1004", "230822", "D", "300.00", "county_exp"),
                           leg("2001", "230822", "C", "300.00"), memo="provider refund"), checker="o22w6")
    assert rows[0]["status"] == "posted", rows
    for c in (fin, o22):
        c.close()
    migrate.upgrade(url)                                   # the honest DBA applies 0064
    with psycopg.connect(url) as c:
        assert c.execute("SELECT version_num FROM fl.alembic_version").fetchone()[0] == migrate.head_revision()
    v = run_cli(["verify"], url=pg_server.url(name), user="aud")
    assert v.exit_code == 0, v.stdout[-2500:]


def test_w6_the_export_carries_where_each_rule_took_effect(at_0063: str, pg_server: Server, tmp_path: Path) -> None:
    """(0068) Offline, the same entry is judged by the rules of its time: the export's history
    carries each rule's point, and the verdict judges the point against the whole log."""
    test_w6_an_entry_confirmed_by_the_rules_of_its_time_is_not_a_finding_after_0064(at_0063, pg_server)
    url = pg_server.url(at_0063)
    with psycopg.connect(url) as c:
        points = dict(c.execute("SELECT rule, after_entry FROM fl.rule_point").fetchall())
        last = c.execute("SELECT max(id) FROM fl.entry").fetchone()[0]
    # 0058 was in force at 0063; every rule of a later revision (0064, 0067 recorded by 0072, 0088,
    # 0099, …: rules.RULE_POINTS) took effect now
    assert points == {rule: 0 if rev <= "0063" else last for rule, rev in rules.RULE_POINTS.items()}, points
    assert points["city_figures"] == 0 and points["money_in"] == last
    e = run_cli(["audit", "export", str(tmp_path / "x")], url=url, user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = run_cli(["verify", "--offline", str(tmp_path / "x"), "--no-digest"], url=url, user="aud")
    assert off.exit_code == 0, off.stdout[-2500:]


def test_w6_a_rule_point_recorded_again_later_is_named(at_0063: str, pg_server: Server, tmp_path: Path) -> None:
    """(0068) The point is chained: a DBA who removes it (triggers off) and records it again
    further on — to spare entries written under the rule — leaves two versions in the history,
    and the independent verdict names the point (the first pass reads the table)."""
    name = at_0063
    url = pg_server.url(name)
    migrate.upgrade(url)
    fin = _as(name, pg_server, "fin")
    post(fin, collect("w6f-col", "2024-01-05", "230822", "1000.00"))
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("SET session_replication_role = replica")
        c.execute("DELETE FROM fl.rule_point WHERE rule = 'money_in'")
        c.execute("RESET session_replication_role")
        c.execute("INSERT INTO fl.rule_point (rule, revision, after_entry) "
                  "SELECT 'money_in', '0064', max(id) FROM fl.entry")
    post(fin, collect("w6f-col2", "2024-01-06", "230822", "1000.00"))
    fin.close()
    v = run_cli(["verify", "--json"], url=pg_server.url(name), user="aud")
    assert v.exit_code == 1, v.stdout[-2500:]
    assert "rule point money_in has 2 version(s)" in v.stdout, v.stdout[-4000:]
    # Offline, the export carries the history: the same verdict.
    e = run_cli(["audit", "export", str(tmp_path / "x")], url=pg_server.url(name), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = run_cli(["verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json"], url=pg_server.url(name),
                  user="aud")
    assert off.exit_code == 1 and "rule point money_in has 2 version(s)" in off.stdout, off.stdout[-4000:]
