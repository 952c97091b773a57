"""A superuser replaces a built-in in place (issue 15, red team B2): ``CREATE OR REPLACE
FUNCTION pg_catalog.sha256(bytea)`` keeps the built-in's oid, so nothing new appears in
pg_catalog, and every in-database digest then says what the attacker wants. The
verdict and ``check-digest`` compute with hashlib from raw rows, and the catalogue check
names the replaced built-in."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.db

MARK = "nothing to see here"

# sha256 in SQL: the sealed digest for any text carrying the marker, the real one otherwise.
# (fmgr calls a built-in by its oid without reading pg_proc, but the planner inlines a
# simple SQL body in its place: a body without a subquery, so the digest is a literal.)
FAKE_SHA256 = """
CREATE OR REPLACE FUNCTION pg_catalog.sha256(bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN pg_catalog.strpos(pg_catalog.encode($1, 'escape'), '{mark}') > 0
              THEN '\\x{sealed}'::pg_catalog.bytea ELSE public.real_sha256($1) END $$"""


def _tamper(ledger_db, ids) -> None:
    c = ledger_db.admin()
    c.execute("CREATE FUNCTION public.real_sha256(bytea) RETURNS bytea LANGUAGE internal IMMUTABLE STRICT "
              "AS 'sha256_bytea'")
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.entry SET memo = %s WHERE id = %s", (MARK, ids["o22-feb"]))
    c.execute("SET session_replication_role = origin")
    sealed = c.execute("SELECT content_digest FROM fl.seal WHERE entry_id = %s", (ids["o22-feb"],)).fetchone()
    c.execute(FAKE_SHA256.format(mark=MARK, sealed=bytes(sealed["content_digest"]).hex()))


def _findings(out: dict, check: str) -> list[dict]:
    return [f for c in out["checks"] if c["name"] == check for f in c["findings"]]


def test_a_replaced_sha256_does_not_fool_check_digest_or_the_verdict(sample_db, sample_ids, tmp_path):
    ids = sample_ids
    filed = tmp_path / "digest.json"
    assert sample_db.cli("audit", "digest", "--out", str(filed), user="aud").exit_code == 0
    _tamper(sample_db, ids)

    fast = sample_db.cli("verify", "--fast", "--json", user="aud")
    assert fast.json()["first_pass_only"] is True and fast.json()["independent"] is None
    assert "not a verdict" in sample_db.cli("verify", "--fast", user="aud").stdout

    r = sample_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    assert r.exit_code == 1, r
    assert ids["o22-feb"] in {f["entry_id"] for f in _findings(r.json(), "digest")}, r
    assert ids["o22-feb"] in {f["entry_id"] for f in _findings(r.json(), "hash_chain")}, r
    assert "function pg_catalog.sha256(bytea)" in {f["account"] for f in _findings(r.json(), "catalogue")}, r

    v = sample_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 1
    ind = v.json()["independent"]
    assert ids["o22-feb"] in {f["entry_id"] for f in _findings(ind, "hash_chain")}
    assert "function pg_catalog.sha256(bytea)" in {f["account"] for f in _findings(ind, "catalogue")}


@pytest.mark.parametrize("lever", [
    "ALTER FUNCTION pg_catalog.convert_to(text, name) SECURITY DEFINER",
    "ALTER FUNCTION pg_catalog.concat_ws(text, \"any\") SET search_path = public",
    "UPDATE pg_catalog.pg_proc SET prosrc = 'int8ne' WHERE oid = 'pg_catalog.int8eq(bigint, bigint)'::regprocedure",
    "UPDATE pg_catalog.pg_operator SET oprcode = 'pg_catalog.int8ne'::regproc "
    "WHERE oid = 'pg_catalog.=(bigint, bigint)'::regoperator",
    "UPDATE pg_catalog.pg_aggregate SET aggtransfn = aggtransfn WHERE aggfnoid = 'pg_catalog.string_agg(text, text)'"
    "::regprocedure",
    "UPDATE pg_catalog.pg_type SET typoutput = typoutput WHERE oid = 'pg_catalog.int8'::regtype",
    "UPDATE pg_catalog.pg_cast SET castcontext = castcontext WHERE castsource = 'int8'::regtype "
    "AND casttarget = 'int4'::regtype",
])
def test_each_lever_on_a_builtin_is_named(sample_db, lever):
    """Each in-place change to a built-in (its function, its operator, the aggregate,
    type or cast row that decides what it computes or prints) is a catalogue finding."""
    c = sample_db.admin()
    c.execute(lever)
    r = sample_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r
    found = {f["account"] for f in _findings(r.json()["independent"], "catalogue")}
    kind = lever.split("pg_catalog.pg_")[-1].split()[0] if lever.startswith("UPDATE") else "proc"
    prefix = {"proc": "function ", "operator": "operator ", "aggregate": "aggregate ", "type": "type ",
              "cast": "cast "}[kind]
    assert any(a.startswith(prefix) for a in found), found


def test_a_clean_server_has_no_builtin_findings(ledger_db):
    from ledger.store.verify_catalogue import check_builtins

    checked, findings = check_builtins(ledger_db.connect("aud"))
    assert checked > 50 and findings == []


def test_the_digests_are_the_servers_own_deletion_row_for_row(ledger_db):
    """The privileges key is cut from each row's text in Python (``_without``), not by the
    server's jsonb ``-``: every row's digest is the same as the server's deletion gives,
    with privileges granted on a built-in, and with a row whose text carries a decoy of the
    key. The decoy row still differs from the shipped one: it is named."""
    import hashlib

    from ledger.store import verify_builtins
    from ledger.store.verify_catalogue import check_builtins

    c = ledger_db.admin()
    c.execute("GRANT EXECUTE ON FUNCTION pg_catalog.md5(text) TO fl_auditor")
    c.execute("""UPDATE pg_catalog.pg_proc SET prosrc = 'int8ne, "proacl": null}'"""
              " WHERE oid = 'pg_catalog.int8eq(bigint, bigint)'::regprocedure")
    aud = ledger_db.connect("aud")
    server = {t: {str(r["k"]): hashlib.sha256(str(r["j"]).encode()).hexdigest()[:16]
                  for r in aud.execute(verify_builtins._rows_sql(t)).fetchall()} for t in verify_builtins.CATALOGUES}
    assert verify_builtins.digests(aud) == server
    _checked, findings = check_builtins(aud)
    assert "function pg_catalog.int8eq(bigint,bigint)" in {f.account for f in findings}


@pytest.mark.parametrize(("text", "value", "cut"), [
    ('{"oid": 1, "proacl": null, "prosrc": "x"}', "null", '{"oid": 1, "prosrc": "x"}'),
    ('{"oid": 1, "proacl": ["a=X/b"]}', '["a=X/b"]', '{"oid": 1}'),
    # a decoy inside a string is escaped: only the object's own key is cut
    ('{"oid": 1, "prosrc": "a, \\"proacl\\": null", "proacl": null}', "null",
     '{"oid": 1, "prosrc": "a, \\"proacl\\": null"}'),
    ('{"oid": 1, "proacl": null, "proacl": null}', "null", None),     # twice: the server decides
    ('{"oid": 1, "prosrc": "x"}', "null", None),                      # missing: the server decides
    ('{"oid": 1, "proacl": nullx}', "null", None),                    # not a whole value
])
def test_the_privileges_key_is_cut_only_where_it_is_the_rows_own(text, value, cut):
    from ledger.store.verify_builtins import _without

    assert _without(text, "proacl", value) == cut
