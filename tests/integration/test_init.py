"""`init` creates, upgrades an older schema, is idempotent, and loads another city."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.store import migrate

pytestmark = [pytest.mark.db, pytest.mark.server]

OTHER_CITY = """
[region]
code = "371000"
name_zh = "威海市"
name_en = "Weihai"

[[units]]
code = "371000"
name_zh = "市本级"
name_en = "City proper"
kind = "city"

[[units]]
code = "371082"
name_zh = "荣成市"
name_en = "Rongcheng"
kind = "county"

[[books]]
code = "RES"
name_zh = "城乡居民基本医疗保险基金"
name_en = "Residents' fund"
components = []

[settings]
preallocation_months = 2
months_red_below = "4"
months_yellow_below = "6"
months_excess_above = "12"
"""


@pytest.fixture
def empty_db(pg_server, template_db):
    """An empty database of the test's own. ``template_db`` (session-scoped, so set up before
    the autouse ``_cluster_guard`` reads the cluster's state) has made the shared roles: a
    migration to 0003 or to head creates fl_* and grants their memberships only where they are
    missing, and on a fresh embedded server a test of this module run first (``-n 0`` alone)
    made them inside the guard's window, which it named as a change to the shared roles."""
    name = f"fl_init_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.url(name)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_init_upgrades_an_older_schema_and_keeps_its_data(empty_db):
    assert migrate.upgrade(empty_db, "0003") == (None, "0003", [])
    with psycopg.connect(empty_db, row_factory=dict_row) as c:
        c.execute("INSERT INTO fl.unit (code, name_zh, name_en, kind) VALUES ('230800', '市本级', 'City', 'city')")
    before, after, drift = migrate.upgrade(empty_db)
    assert (before, after, drift) == ("0003", migrate.head_revision(), [])
    assert migrate.upgrade(empty_db) == (after, after, [])      # idempotent
    with psycopg.connect(empty_db, row_factory=dict_row) as c:
        assert c.execute("SELECT count(*) AS n FROM fl.unit").fetchone()["n"] == 1
        assert c.execute("SELECT to_regclass('fl.bank_statement') IS NOT NULL AS ok").fetchone()["ok"]


def test_init_with_another_city(empty_db, tmp_path):
    from tests.conftest import run_cli

    region = tmp_path / "weihai.toml"
    region.write_text(OTHER_CITY, "utf-8")
    r = run_cli(["init", "--region", str(region), "--json"], url=empty_db)
    assert r.exit_code == 0, r
    assert r.json()["units"] == 2 and r.json()["books"] == ["RES"]
    assert run_cli(["user", "add", "wh_fin", "--role", "finance"], url=empty_db).exit_code == 0
    doc = ('{"date": "2024-01-05", "book": "RES", "idempotency_key": "wh-1", "postings": ['
           '{"account": "1003", "unit": "371082", "holder": "special", "side": "debit", "amount": "5.00"},'
           '{"account": "4001", "unit": "371082", "side": "credit", "amount": "5.00"}]}')
    assert run_cli(["entry", "post", "-"], url=empty_db, user="wh_fin", input=doc).exit_code == 0
    bad = run_cli(["entry", "post", "-"], url=empty_db, user="wh_fin", input=doc.replace("371082", "230822").replace("wh-1", "wh-2"))
    assert bad.exit_code == 1 and "unknown unit '230822'" in bad.stderr
    with psycopg.connect(empty_db, row_factory=dict_row) as c:
        s = {r["key"]: r["value"] for r in c.execute("SELECT key, value FROM fl.setting").fetchall()}
    assert s["preallocation_months"] == 2 and s["months_excess_above"] == "12"
    broken = tmp_path / "broken.toml"
    broken.write_text(OTHER_CITY.replace('kind = "county"', 'kind = "district"'), "utf-8")
    r = run_cli(["init", "--region", str(broken)], url=empty_db)
    assert r.exit_code == 1 and "kind must be 'city' or 'county'" in r.stderr and "Traceback" not in r.stderr
