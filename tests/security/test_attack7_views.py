"""ATTACK7 U8: a system view replaced in place hid a login's BYPASSRLS from the verifier.

``SET allow_system_table_mods = on; CREATE OR REPLACE VIEW pg_catalog.pg_roles …`` keeps
the view's oid (no addition to pg_catalog) and touches no catalogue row the built-ins
check read: the superuser gave an officer BYPASSRLS (it read every unit's postings) and
the view said it had none. The same lever on pg_settings hid a preloaded library.

Now the verifier reads settings through ``current_setting`` (a function the built-ins
check vouches for) and checks the definition of every system view it still reads
(pg_roles: role attributes have no other reader-visible source) against the one
PostgreSQL ships; a sweep keeps it so for every query the verifier makes.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import psycopg
import pytest

from ledger.store.verify_catalogue import SYSTEM_VIEWS
from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = [*sorted((ROOT / "ledger" / "store").glob("verify*.py")), ROOT / "ledger" / "store" / "export.py",
            ROOT / "ledger" / "store" / "audit.py"]
_SHARED = "the shared server is every worker's: a system view is rewritten only on the suite's own embedded server"


def _catalogue(ledger_db: LedgerDB) -> dict[str, str]:
    from ledger.store.verify_independent import verify_independent

    c = ledger_db.connect("aud")
    try:
        rep = verify_independent(c, fork=False)
    finally:
        c.close()
    return {f.account or "": f.message for f in rep.findings if f.check == "catalogue"}


def test_every_system_relation_the_verifier_reads_is_a_catalogue_or_a_checked_view(ledger_db: LedgerDB) -> None:
    """A sweep over the verifier's code: each ``pg_catalog.pg_*`` it reads FROM or JOINs is
    a base catalogue (relkind r) or a view whose definition is checked (SYSTEM_VIEWS)."""
    names: set[str] = set()
    for path in VERIFIER:
        names |= set(re.findall(r"\b(?:FROM|JOIN)\s+(?:ONLY\s+)?pg_catalog\.(pg_\w+)\b(?!\s*\()", path.read_text()))
    assert "pg_roles" in names and "pg_class" in names, names
    kinds = {r["relname"]: r["relkind"] for r in ledger_db.admin().execute(
        "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace "
        "AND relname = ANY(%s)", (sorted(names),)).fetchall()}
    assert set(kinds) == names, names - set(kinds)
    unchecked = sorted(n for n, k in kinds.items() if k != "r" and n not in SYSTEM_VIEWS)
    assert unchecked == [], f"system views the verifier reads without checking their definition: {unchecked}"


def test_the_shipped_definitions_are_this_servers(ledger_db: LedgerDB) -> None:
    """The definitions shipped are what this server (PG 18 embedded, PG 15 in CI) prints."""
    got = _catalogue(ledger_db)
    assert not [k for k in got if k.startswith("view pg_catalog")], got


@pytest.mark.cluster_roles     # o22 BYPASSRLS for a moment: every worker's o22 (tests/conftest.py)
@pytest.mark.parametrize("lever", ["bypassrls", "hidden_row"])
def test_a_rewritten_pg_roles_is_named(ledger_db: LedgerDB, lever: str) -> None:
    """U8 as the red team did it (BYPASSRLS masked for one login), and its variant: the
    login's row hidden from the view altogether, so no check of it ran."""
    admin = ledger_db.admin()
    original = admin.execute("SELECT pg_get_viewdef('pg_catalog.pg_roles'::regclass) AS d").fetchone()["d"]
    admin.execute("ALTER ROLE o22 BYPASSRLS")
    try:
        assert "role o22" in _catalogue(ledger_db)
        admin.execute("SET allow_system_table_mods = on")
        if lever == "bypassrls":
            forged = original.replace("pg_authid.rolbypassrls,",
                                      "pg_authid.rolbypassrls AND pg_authid.rolname <> 'o22' AS rolbypassrls,")
        else:
            forged = original.rstrip().rstrip(";") + " WHERE pg_authid.rolname <> 'o22'"
        assert forged != original
        admin.execute(f"CREATE OR REPLACE VIEW pg_catalog.pg_roles AS {forged}")
        got = _catalogue(ledger_db)
        assert "role o22" not in got                       # the lie works on what the view says …
        assert "rewritten in place" in got.get("view pg_catalog.pg_roles", ""), got   # … and is named
    finally:
        admin.execute("SET allow_system_table_mods = on")
        admin.execute(f"CREATE OR REPLACE VIEW pg_catalog.pg_roles AS {original}")
        admin.execute("RESET allow_system_table_mods")
        admin.execute("ALTER ROLE o22 NOBYPASSRLS")
    assert _catalogue(ledger_db) == {}


@pytest.mark.skipif(bool(os.environ.get("FUNDLEDGER_TEST_DATABASE_URL")), reason=_SHARED)
def test_a_rewritten_pg_settings_changes_nothing_the_verifier_reads(ledger_db: LedgerDB) -> None:
    """pg_settings made to report every setting as the verifier wants it: the verifier no
    longer reads it (the pinned settings and the preloaded libraries come from
    current_setting), so its verdict is the honest one."""
    admin = ledger_db.admin()
    original = admin.execute("SELECT pg_get_viewdef('pg_catalog.pg_settings'::regclass) AS d").fetchone()["d"]
    admin.execute("SET allow_system_table_mods = on")
    try:
        admin.execute("CREATE OR REPLACE VIEW pg_catalog.pg_settings AS "
                      + original.replace("a.setting,", "CASE WHEN a.name = 'work_mem' THEN 'forged' ELSE a.setting END"
                                         " AS setting,", 1))
        c = ledger_db.connect("aud")
        try:
            from ledger.store.verify_independent import verify_independent
            rep = verify_independent(c, fork=False)
        except psycopg.Error as e:     # pragma: no cover - a failure, shown
            raise AssertionError(e) from e
        finally:
            c.close()
        assert rep.ok, [f.message for f in rep.findings][:5]
    finally:
        admin.execute(f"CREATE OR REPLACE VIEW pg_catalog.pg_settings AS {original}")
        admin.execute("RESET allow_system_table_mods")


@pytest.mark.cluster_roles     # fl_auditor loses pg_read_all_settings for a moment
def test_the_auditor_reads_the_preloaded_libraries(ledger_db: LedgerDB) -> None:
    """U13: pg_settings left superuser-only settings out for the auditor, and the check saw
    no library. The auditor's group may read them now (0059); a login that may not gets a
    finding naming what it cannot read, never an empty "ok"."""
    from ledger.store.verify_catalogue import check_settings
    from ledger.store.verify_independent import pin

    aud = ledger_db.connect("aud")
    try:
        pin(aud)
        res = check_settings(aud)
        assert res.ok, [f.message for f in res.findings]
    finally:
        aud.close()
    admin = ledger_db.admin()
    admin.execute("REVOKE pg_read_all_settings FROM fl_auditor")
    try:
        aud = ledger_db.connect("aud")
        try:
            pin(aud)
            res = check_settings(aud)
        finally:
            aud.close()
        blind = sorted(f.account or "" for f in res.findings)
        assert blind == ["setting dynamic_library_path", "setting session_preload_libraries",
                         "setting shared_preload_libraries"], blind
        assert all("cannot be read" in f.message for f in res.findings)
    finally:
        admin.execute("GRANT pg_read_all_settings TO fl_auditor")


# ALTER SYSTEM persists in the server's postgresql.auto.conf: a run stopped halfway would leave
# the machine's shared server poisoned for everyone, so this one stays on the embedded server.
@pytest.mark.skipif(bool(os.environ.get("FUNDLEDGER_TEST_DATABASE_URL")), reason=_SHARED)
@pytest.mark.cluster_roles
def test_a_server_wide_search_path_changes_no_report(ledger_db: LedgerDB) -> None:
    """U14: ALTER SYSTEM SET search_path put a shadow schema with its own sum(bigint) before
    pg_catalog, and every report of every office showed its figures. Every user's session
    now pins search_path in its startup packet: the report is the honest one."""
    from tests.helpers import collect, post

    fin = ledger_db.connect("fin")
    post(fin, collect("u14-c1", "2023-01-05", "230822", "1000.00"))
    fin.commit()
    honest = ledger_db.cli("report", "trial-balance", "--year", "2023", "--json", user="aud")
    assert honest.exit_code == 0, honest
    admin = ledger_db.admin()
    admin.execute("CREATE SCHEMA u14")
    admin.execute("GRANT USAGE ON SCHEMA u14 TO PUBLIC")
    admin.execute("CREATE FUNCTION u14.s(numeric, bigint) RETURNS numeric LANGUAGE sql IMMUTABLE "
                  "AS 'SELECT coalesce($1, 0) + coalesce($2, 0)'")
    admin.execute("CREATE FUNCTION u14.f(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 100000000'")
    admin.execute("CREATE AGGREGATE u14.sum(bigint) (sfunc = u14.s, stype = numeric, finalfunc = u14.f)")
    admin.execute("ALTER SYSTEM SET search_path = u14, pg_catalog, \"$user\", public")
    admin.execute("SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        probe = psycopg.connect(ledger_db.url("aud"))
        try:      # the lever works on a session that does not pin its path
            assert probe.execute("SHOW search_path").fetchone()[0].startswith("u14")
        finally:
            probe.close()
        shadowed = ledger_db.cli("report", "trial-balance", "--year", "2023", "--json", user="aud")
        assert shadowed.exit_code == 0, shadowed
        assert shadowed.json() == honest.json()
    finally:
        admin.execute("ALTER SYSTEM RESET search_path")
        admin.execute("SELECT pg_reload_conf()")
        admin.execute("DROP SCHEMA u14 CASCADE")


def test_u1b_a_rewritten_cast_is_named_whatever_the_anchor_says(ledger_db: LedgerDB) -> None:
    """U1b: the "after initdb" anchor (pg_extension's plpgsql row) rewritten after a
    built-in row was: the xmin rule saw nothing older than the anchor. The content rule
    names the row. (Catalogue rows are per database: only this test's database changes.)"""
    admin = ledger_db.admin()
    admin.execute("SET allow_system_table_mods = on")
    admin.execute("UPDATE pg_cast SET castcontext = 'i' WHERE castsource = 'bigint'::regtype "
                  "AND casttarget = 'integer'::regtype")
    admin.execute("UPDATE pg_extension SET extversion = extversion WHERE extname = 'plpgsql'")
    got = _catalogue(ledger_db)
    assert any(k.startswith("pg_cast row") and "rewritten" in m for k, m in got.items()), got


def test_u1b_addendum_string_agg_pointed_at_a_sql_function_is_named(ledger_db: LedgerDB) -> None:
    """The addendum: string_agg(text, text)'s transition function pointed at a SQL function
    of the superuser's (which turned a cut amount back into the sealed one), the anchor
    bumped after. Named twice over: a built-in calling a function made after initdb, and a
    pg_aggregate row that is not PostgreSQL's."""
    admin = ledger_db.admin()
    admin.execute("CREATE FUNCTION public.u1_sfunc(acc text, val text, delim text) RETURNS text LANGUAGE sql "
                  "IMMUTABLE AS $$ SELECT CASE WHEN acc IS NULL THEN val ELSE acc || delim || val END $$")
    admin.execute("SET allow_system_table_mods = on")
    admin.execute("UPDATE pg_aggregate SET aggtransfn = 'public.u1_sfunc'::regproc, aggfinalfn = 0, aggcombinefn = 0, "
                  "aggserialfn = 0, aggdeserialfn = 0, aggtranstype = 'text'::regtype, aggtransspace = 0 "
                  "WHERE aggfnoid = 'pg_catalog.string_agg(text,text)'::regprocedure")
    admin.execute("UPDATE pg_extension SET extversion = extversion WHERE extname = 'plpgsql'")
    got = _catalogue(ledger_db)
    key = "aggregate pg_catalog.string_agg(text,text)"
    assert key in got, got
    assert "made after initdb" in got[key] or "rewritten" in got[key], got[key]


def test_v9_an_operator_placed_among_initdbs_objects_is_named(ledger_db: LedgerDB) -> None:
    """ATTACK8 V9: objects given oids between genbki's range (< 12,000, checked by content)
    and the first normal oid (16,384, where the additions check began) looked like
    initdb's. PostgreSQL puts only five C functions in pg_catalog there; an operator or a
    function of anyone else's is named. (Catalogue rows are this test database's own.)"""
    admin = ledger_db.admin()
    admin.execute("CREATE FUNCTION public.v9_cat(text, bigint) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT $1'")
    admin.execute("CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = bigint, FUNCTION = public.v9_cat)")
    admin.execute("SET allow_system_table_mods = on")
    oid = admin.execute("SELECT max(oid)::int + 1 AS o FROM pg_operator WHERE oid < 16384").fetchone()["o"]
    oid = max(oid, 12000)
    admin.execute("UPDATE pg_operator SET oid = %s, oprnamespace = 'pg_catalog'::regnamespace "
                  "WHERE oprcode = 'public.v9_cat'::regproc", (oid,))
    got = _catalogue(ledger_db)
    key = next((k for k in got if k.startswith("operator pg_catalog.||(text,bigint)")), None)
    assert key is not None and "sits among the objects initdb makes" in got[key], got


@pytest.mark.cluster_roles
@pytest.mark.skipif(bool(os.environ.get("FUNDLEDGER_TEST_DATABASE_URL")), reason=_SHARED)
def test_v7_a_library_path_elsewhere_is_named(ledger_db: LedgerDB) -> None:
    """ATTACK8 V7: the preload check judged a library by its name, and dynamic_library_path
    (never read) made "auth_delay" any file the superuser wrote. The path is a finding."""
    from ledger.store.verify_catalogue import check_settings
    from ledger.store.verify_independent import pin

    admin = ledger_db.admin()
    admin.execute("ALTER SYSTEM SET dynamic_library_path = '/tmp/v7:$libdir'")
    admin.execute("SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        aud = ledger_db.connect("aud")
        try:
            pin(aud)
            res = check_settings(aud)
        finally:
            aud.close()
        assert "setting dynamic_library_path" in {f.account for f in res.findings}, [f.message for f in res.findings]
    finally:
        admin.execute("ALTER SYSTEM RESET dynamic_library_path")
        admin.execute("SELECT pg_reload_conf()")
