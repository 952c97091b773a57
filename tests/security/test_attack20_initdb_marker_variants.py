"""ATTACK20 L2's variants: the verdict's built-ins check has no reference point the superuser
can move. The old marker (the xmin of pg_extension's plpgsql row) is gone; a genbki row is
judged by its own xmin against PostgreSQL's BootstrapTransactionId (1) and by its content
against the digests the release ships, initdb's SQL range by rule (ledger.store.verify_builtins).
Each variant is a move of the attacker's against a reference point read from the database:
the marker row deleted, every row of initdb's last transaction rewritten at once (so that a
cross-check of several of initdb's rows agrees again), the tampered catalogue frozen or
rewritten by VACUUM FULL (xmin kept). And the rules that replaced the marker's coverage of
initdb's SQL range: a system view's rowtype and plpgsql's language row. (Catalogue rows are
this test database's own.)"""

from __future__ import annotations

import pytest

from ledger.store import verify_builtins
from ledger.store.verify_catalogue import check_builtins

pytestmark = pytest.mark.db

LEVERS = {
    "aggregate": ("UPDATE pg_catalog.pg_aggregate SET aggtransfn = aggtransfn "
                  "WHERE aggfnoid = 'pg_catalog.string_agg(text, text)'::regprocedure",
                  "aggregate pg_catalog.string_agg(text,text)"),
    "type": ("UPDATE pg_catalog.pg_type SET typoutput = typoutput WHERE oid = 'pg_catalog.int8'::regtype",
             "type pg_catalog.bigint"),
    "cast": ("UPDATE pg_catalog.pg_cast SET castcontext = castcontext WHERE castsource = 'int8'::regtype "
             "AND casttarget = 'int4'::regtype", "cast bigint -> integer"),
    "operator": ("UPDATE pg_catalog.pg_operator SET oprcode = oprcode "
                 "WHERE oid = 'pg_catalog.=(bigint, bigint)'::regoperator", "operator pg_catalog.=(bigint,bigint)"),
}
# Every row initdb's last transaction (CREATE EXTENSION plpgsql) made, rewritten in one
# transaction: several "independent" markers that agree again, on the attacker's id.
PLPGSQL_ROWS = """
UPDATE pg_catalog.pg_extension SET extname = extname WHERE extname = 'plpgsql';
UPDATE pg_catalog.pg_language SET lanname = lanname WHERE lanname = 'plpgsql';
UPDATE pg_catalog.pg_proc SET proname = proname WHERE proname LIKE 'plpgsql%';
UPDATE pg_catalog.pg_namespace SET nspname = nspname WHERE nspname = 'pg_catalog';
"""
MOVES = {
    "deleted": "DELETE FROM pg_catalog.pg_extension WHERE extname = 'plpgsql'",
    "all-of-initdbs-last-transaction": PLPGSQL_ROWS,
    "frozen": "VACUUM (FREEZE) pg_catalog.{table}",
    "vacuum-full": "VACUUM (FULL, FREEZE) pg_catalog.{table}",
}


def _accounts(ledger_db) -> dict[str, str]:
    # the auditor's session is closed before the test's next move: left idle in its
    # transaction it holds its lock on the catalogue it read, and VACUUM FULL waits on it
    # for ever (the clean-clone CI hung there on both servers)
    aud = ledger_db.connect("aud")
    try:
        _n, findings = check_builtins(aud)
    finally:
        aud.close()
    return {f.account or "": f.message for f in findings}


@pytest.mark.parametrize("move", sorted(MOVES))
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_l2_variant_a_rewritten_builtin_row_stays_named(ledger_db, lever, move):
    sql, account = LEVERS[lever]
    c = ledger_db.admin()
    c.execute(sql)
    assert account in _accounts(ledger_db)
    table = sql.split("pg_catalog.pg_")[1].split()[0]
    for stmt in MOVES[move].format(table=f"pg_{table}").split(";"):
        if stmt.strip():
            c.execute(stmt)
    got = _accounts(ledger_db)
    assert account in got, got
    assert "transaction 1" in got[account] and "rewrote it" in got[account], got[account]


def test_l2_variant_the_verdict_names_it_after_every_move_at_once(sample_db):
    """The whole CLI verdict after the lever and every move together (exit 1, named)."""
    c = sample_db.admin()
    c.execute(LEVERS["cast"][0])
    for stmt in PLPGSQL_ROWS.split(";"):
        if stmt.strip():
            c.execute(stmt)
    c.execute("UPDATE pg_catalog.pg_extension SET extname = 'plpgsql_' WHERE extname = 'plpgsql'")
    c.execute("VACUUM (FULL, FREEZE) pg_catalog.pg_cast")
    r = sample_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-600:]
    found = {f["account"] for ch in r.json()["independent"]["checks"] if ch["name"] == "catalogue"
             for f in ch["findings"]}
    assert "cast bigint -> integer" in found, found


def test_l2_a_frozen_and_rewritten_clean_catalogue_has_no_findings(ledger_db):
    """Freezing keeps xmin (VACUUM FREEZE, VACUUM FULL): a DBA's maintenance of the
    catalogues is no finding; neither is the marker row the old rule read, renamed or gone
    (the verdict no longer reads it)."""
    c = ledger_db.admin()
    for table in (*verify_builtins.WRITTEN_ONCE, "pg_proc"):
        c.execute(f"VACUUM (FULL, FREEZE) pg_catalog.{table}")
    c.execute("DELETE FROM pg_catalog.pg_extension WHERE extname = 'plpgsql'")
    assert _accounts(ledger_db) == {}


@pytest.mark.parametrize(("lever", "account"), [
    # a system view's rowtype printed by another function (the old marker rule named it; a rule of
    # its kind does now, whatever the row's age)
    ("UPDATE pg_catalog.pg_type SET typoutput = 'pg_catalog.textout'::regproc WHERE oid = 'pg_catalog.pg_roles'::regtype",
     "type pg_catalog.pg_roles"),
    ("UPDATE pg_catalog.pg_type SET typinput = 'pg_catalog.textin'::regproc "
     "WHERE oid = 'information_schema.cardinal_number'::regtype", "type information_schema.cardinal_number"),
    ("UPDATE pg_catalog.pg_type SET typsend = 'pg_catalog.textsend'::regproc WHERE oid = 'pg_catalog._pg_roles'::regtype",
     "type pg_catalog._pg_roles"),
    # plpgsql run by another of its C functions, or made untrusted / given to another owner
    ("UPDATE pg_catalog.pg_language SET lanvalidator = 'pg_catalog.plpgsql_inline_handler(internal)'::regprocedure "
     "WHERE lanname = 'plpgsql'", "language plpgsql"),
    ("UPDATE pg_catalog.pg_language SET lanpltrusted = false WHERE lanname = 'plpgsql'", "language plpgsql"),
])
def test_l2_initdbs_sql_range_is_judged_by_rule(ledger_db, lever, account):
    ledger_db.admin().execute(lever)
    got = _accounts(ledger_db)
    assert account in got and "initdb makes" in got[account], got


def test_l2_no_shipped_digests_is_a_finding_not_a_marker(ledger_db, monkeypatch):
    """A major version the release has no digests for: the verdict says it cannot vouch for
    the built-ins (it used to fall back on the marker)."""
    monkeypatch.setattr(verify_builtins, "shipped", lambda version: None)
    got = _accounts(ledger_db)
    key = next((k for k in got if k.startswith("built-ins of PostgreSQL")), None)
    assert key is not None and "no digests" in got[key], got
    assert len(got) == 1, got
