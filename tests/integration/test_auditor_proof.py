"""The auditor's proof, tried as an insider: a superuser on the server rewrites rows and
sets traps for the auditor's session; the independent verifier (ledger.store.
verify_independent, the verdict computed in Python) must name each change.

FUNDLEDGER_WRITE_FINGERPRINTS=1 on test_fingerprints_are_current rewrites the shipped
fingerprint (ledger/data/fingerprints.json) from the freshly migrated template: do that
in the same commit as a migration that changes the schema fl.
"""

from __future__ import annotations

import os

import pytest

from ledger.store import verify_catalogue
from ledger.store.verify_independent import verify_independent
from tests.conftest import role_settings_restored
from tests.integration.test_tamper import CASES

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db


def _verify(ledger_db, user: str = "aud"):
    c = ledger_db.connect(user)
    try:
        return verify_independent(c)
    finally:
        c.close()


def _failed(rep) -> set[str]:
    return {c.name for c in rep.checks if not c.ok}


def _named(rep) -> set[str]:
    return {f.account for f in rep.findings if f.account}


@pytest.mark.server
def test_fingerprints_are_current(ledger_db):
    c = ledger_db.admin()
    if os.environ.get("FUNDLEDGER_WRITE_FINGERPRINTS"):
        verify_catalogue.write_fingerprints(c)
    got = verify_catalogue.fingerprint(c)
    want = verify_catalogue.shipped()
    assert got == want, ("the schema fl differs from ledger/data/fingerprints.json: if a migration changed it on "
                         "purpose, rerun this test with FUNDLEDGER_WRITE_FINGERPRINTS=1 and commit the file")


@pytest.mark.server
def test_builtin_digests_are_this_servers(ledger_db):
    """The genbki rows of this server's major version are what the release ships
    (ledger/data/builtins/pg<major>.json, ATTACK7 U1b). FUNDLEDGER_WRITE_BUILTINS=1 writes
    them from this (freshly migrated) database: run it once per major version, on the
    embedded server (18) and on the CI server (15)."""
    from ledger.store import verify_builtins, verify_independent

    c = ledger_db.connect("aud")
    verify_independent.pin(c)
    if os.environ.get("FUNDLEDGER_WRITE_BUILTINS"):
        verify_builtins.write(c)
    want = verify_builtins.shipped(verify_builtins.major(c))
    if want is None:
        pytest.skip(f"no built-in digests shipped for PostgreSQL {verify_builtins.major(c)}: the verdict names that")
    n, findings, known = verify_builtins.check(c)
    c.rollback()
    assert known and n > 5000 and findings == [], [f.message for f in findings][:5]


@pytest.mark.server
def test_clean_ledger_is_clean(sample_db, sample_ids):
    from tests.helpers import entry, leg, post

    ids = sample_ids
    fin = sample_db.connect("fin")
    # Texts that CSV and the canonical text must carry exactly: newlines, quotes, commas,
    # backslashes, a Unicode line separator.
    odd = 'line one\nline "two", \\ three\u2028four\r\n'
    post(fin, entry(odd[:20], "2023-02-04", "RES", leg("5001.outpatient", "230822", "D", "1.00"),
                    leg("1004", "230822", "C", "1.00", "county_exp"), memo=odd))
    fin.commit()
    rep = _verify(sample_db)
    assert rep.ok, [f.as_json() for f in rep.findings]
    assert rep.extra["entries"] == len(ids) + 1
    assert rep.extra["postings"] > 2 * len(ids) - 1


@pytest.mark.parametrize("case", list(CASES))
def test_each_tamper_is_named_by_the_independent_verdict(sample_db, sample_ids, case):
    tamper, must_fail, _ = CASES[case]
    ids = sample_ids
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    changed = tamper(c, ids)
    c.execute("SET session_replication_role = origin")
    rep = _verify(sample_db)
    assert not rep.ok
    assert must_fail <= _failed(rep), (case, _failed(rep))
    changed = {changed} if isinstance(changed, int) else (changed or set())
    assert changed <= {f.entry_id for f in rep.findings}


def _shadow_sha256(c) -> None:
    """A shadow schema whose sha256 maps anything to the digest sealed for the tampered entry."""
    c.execute("CREATE SCHEMA shadow")
    c.execute("GRANT USAGE ON SCHEMA shadow TO PUBLIC")
    c.execute("""CREATE FUNCTION shadow.sha256(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
                   SELECT CASE WHEN pg_catalog.strpos(pg_catalog.convert_from(b, 'UTF8'), 'nothing to see here') > 0
                               THEN (SELECT s.content_digest FROM fl.seal s JOIN fl.entry e ON e.id = s.entry_id
                                      WHERE e.memo = 'nothing to see here')
                               ELSE pg_catalog.sha256(b) END $$""")


@pytest.mark.server
@pytest.mark.cluster_roles
def test_search_path_on_the_role_and_database_cannot_hide_a_change(sample_db, sample_ids):
    ids = sample_ids
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.entry SET memo = 'nothing to see here' WHERE id = %s", (ids["o22-feb"],))
    c.execute("SET session_replication_role = origin")
    _shadow_sha256(c)
    with role_settings_restored(c, "aud"):
        c.execute("ALTER ROLE aud SET search_path = shadow, pg_catalog, fl")
        c.execute(f'ALTER DATABASE "{sample_db.name}" SET search_path = shadow, pg_catalog, fl')
        rep = _verify(sample_db)
        assert ids["o22-feb"] in {f.entry_id for f in rep.findings if f.check == "hash_chain"}
        assert "setting search_path" in _named(rep)


@pytest.mark.server
@pytest.mark.cluster_roles
def test_presentation_settings_do_not_change_the_verdict(sample_db, sample_ids):
    """No setting of the auditor's role or the database changes the verdict: the clean
    ledger stays clean and the tampered one names the same entries."""
    ids = sample_ids
    before = _verify(sample_db)
    assert before.ok
    c = sample_db.admin()
    settings = {"DateStyle": "German, DMY", "TimeZone": "Asia/Kathmandu", "IntervalStyle": "sql_standard",
                "extra_float_digits": "-15", "bytea_output": "escape", "lc_numeric": "C", "work_mem": "64kB"}
    with role_settings_restored(c, "aud"):
        try:
            for k, v in settings.items():
                c.execute(f"ALTER ROLE aud SET {k} = '{v}'")
                c.execute(f'ALTER DATABASE "{sample_db.name}" SET {k} = \'{v}\'')
            assert _verify(sample_db).ok
            c.execute("SET session_replication_role = replica")
            c.execute("UPDATE fl.posting SET amount = amount + 1 WHERE entry_id = %s", (ids["pay-22-1"],))
            c.execute("SET session_replication_role = origin")
            with_settings = _verify(sample_db)
        finally:
            c.execute(f'ALTER DATABASE "{sample_db.name}" RESET ALL')
    without = _verify(sample_db)
    assert [f.as_json() for f in with_settings.findings] == [f.as_json() for f in without.findings]
    assert ids["pay-22-1"] in {f.entry_id for f in without.findings}


@pytest.mark.server
def test_a_view_swapped_for_the_journal_is_named(sample_db, sample_ids):
    ids = sample_ids
    c = sample_db.admin()
    c.execute("ALTER TABLE fl.entry RENAME TO entry_real")
    c.execute("CREATE VIEW fl.entry AS SELECT * FROM fl.entry_real")
    c.execute("GRANT SELECT ON fl.entry TO fl_auditor")
    rep = _verify(sample_db)
    assert "fl.entry" in _named(rep) and "fl.entry_real" in _named(rep)
    assert any("a view" in f.message for f in rep.findings if f.account == "fl.entry")
    assert ids


@pytest.mark.server
def test_a_hiding_row_policy_is_named(sample_db, sample_ids):
    ids = sample_ids
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.posting SET amount = amount + 1 WHERE entry_id = %s", (ids["pay-22-1"],))
    c.execute("SET session_replication_role = origin")
    for t in ("entry", "seal", "posting"):
        col = "id" if t == "entry" else "entry_id"
        c.execute(f"CREATE POLICY hide ON fl.{t} AS RESTRICTIVE FOR SELECT TO fl_auditor USING ({col} <> {ids['pay-22-1']})")
    c.execute("ALTER TABLE fl.seal ENABLE ROW LEVEL SECURITY")
    c.execute("ALTER TABLE fl.seal FORCE ROW LEVEL SECURITY")
    c.execute("CREATE POLICY see_all ON fl.seal FOR SELECT USING (true)")
    rep = _verify(sample_db)
    named = _named(rep)
    assert {"fl.entry.hide", "fl.posting.hide", "fl.seal.hide", "fl.seal"} <= named, named
    assert any("chain head counts" in f.message for f in rep.findings)


@pytest.mark.server
@pytest.mark.cluster_roles
def test_operator_and_function_shadowing_in_pg_catalog_is_named(sample_db):
    c = sample_db.admin()
    c.execute("""CREATE FUNCTION pg_catalog.fl_always(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE
                 AS 'SELECT true'""")
    c.execute("CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_catalog.fl_always)")
    with role_settings_restored(c, "aud"):
        c.execute("ALTER ROLE aud SET search_path = public, pg_catalog")
        rep = _verify(sample_db)
    assert "function fl_always(bigint,bigint)" in _named(rep)
    assert "setting search_path" in _named(rep)


@pytest.mark.server
def test_a_replaced_function_and_a_disabled_trigger_are_named(sample_db):
    c = sample_db.admin()
    c.execute("""CREATE OR REPLACE FUNCTION fl.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RETURN COALESCE(NEW, OLD); END $$""")
    c.execute("ALTER TABLE fl.posting DISABLE TRIGGER posting_append_only")
    rep = _verify(sample_db)
    assert {"fl.refuse_change()", "fl.posting.posting_append_only"} <= _named(rep)


@pytest.mark.server
@pytest.mark.cluster_roles
def test_preload_libraries_are_named(sample_db):
    c = sample_db.admin()
    # A library that exists in every installation: what matters is that a session loads code.
    with role_settings_restored(c, "aud"):
        c.execute("ALTER ROLE aud SET session_preload_libraries = 'auto_explain'")
        rep = _verify(sample_db)
    assert {"setting session_preload_libraries"} <= _named(rep), _named(rep)


def test_offline_round_trip(sample_db, sample_ids, tmp_path):
    """Export, verify with no database against the filed SHA-256 and SM3 digests; a byte
    changed in the export is named, and so is an export whose manifest was rewritten."""
    import json
    import shutil

    from ledger.io import archive

    ids = sample_ids
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    res = sample_db.cli("audit", "export", str(out), "--digest-out", str(filed), "--json", user="aud")
    assert res.exit_code == 0, res
    doc = res.json()
    assert doc["verified"] is True and doc["entries"] == len(ids)
    digest = json.loads(filed.read_text())
    assert len(digest["sha256"]) == 64 and len(digest["sm3"]) == 64
    ok = sample_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert ok.exit_code == 0, ok
    assert ok.json()["ok"] is True

    # One byte of one posting's amount, in a copy of the export.
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    p = bad / "tables" / "posting.csv"
    lines = p.read_text().splitlines(keepends=True)
    target = next(i for i, ln in enumerate(lines) if ln.split(",")[1] == str(ids["pay-22-1"]))
    fields = lines[target].split(",")
    fields[4] = fields[4][:-1] + ("1" if fields[4][-1] != "1" else "2")
    lines[target] = ",".join(fields)
    p.write_text("".join(lines))
    rep = archive.verify_offline(bad, filed)
    assert not rep.ok
    assert "tables/posting.csv" in {f.account for f in rep.findings if f.check == "export_files"}
    assert ids["pay-22-1"] in {f.entry_id for f in rep.findings if f.check == "hash_chain"}
    cli = sample_db.cli("verify", "--offline", str(bad), "--digest", str(filed))
    assert cli.exit_code == 1 and "posting.csv" in cli.stdout

    # The forger rewrites the manifest too: only the filed digest exposes it.
    m = json.loads((bad / "manifest.json").read_text())
    m["files"]["tables/posting.csv"] = archive.file_digests(p)
    (bad / "manifest.json").write_text(json.dumps(m))
    rep = archive.verify_offline(bad, filed)
    assert "manifest.json" in {f.account for f in rep.findings if f.check == "export_files"}
    assert not archive.verify_offline(bad, no_digest=True).ok          # and the chain still names the entry


def _workflow(ledger_db, ids: dict[str, int]) -> dict[str, int]:
    """The sample ledger (a copy, ``sample_db``; ``ids`` its entries) plus a request
    (submitted, approved), a budget, a posting memo."""
    from tests.helpers import entry, leg, post
    from tests.integration._cycle import add_budget

    o22 = ledger_db.connect("o22")
    ids["request"] = o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 2, 10000, 'Q2', "
                                 "'rq-h15')").fetchone()["id"]
    o22.commit()
    rv = ledger_db.connect("rev")
    rv.execute("SELECT fl.request_approve(%s, 8000)", (ids["request"],))
    rv.commit()
    add_budget(ledger_db.admin(), 2023, "230822", "RES", {"4001": "1000.00", "5001": "900.00"})
    fin = ledger_db.connect("fin")
    pay = leg("5001.inpatient", "230822", "D", "5.00")
    pay["memo"] = "桦南县人民医院"
    ids["memo"] = post(fin, entry("memo-1", "2023-02-05", "RES", pay,
                                  leg("1004", "230822", "C", "5.00", "county_exp")))[0]["entry_id"]
    fin.commit()
    return ids


def test_what_the_chain_did_not_cover_is_now_chained(sample_db, sample_ids):
    """Each change a DBA made unseen before (issue 15, point 2), all at once on one
    ledger: the independent verdict names every one."""
    ids = _workflow(sample_db, sample_ids)
    assert sample_db.admin().execute("SELECT memo FROM fl.posting WHERE entry_id = %s AND memo IS NOT NULL",
                                     (ids["memo"],)).fetchone(), "the posting memo must be stored"
    assert _verify(sample_db).ok
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.posting SET memo = '某某诊所' WHERE entry_id = %s AND memo IS NOT NULL", (ids["memo"],))
    c.execute("""UPDATE fl.entry SET source = '{"file": "elsewhere.csv"}' WHERE id = %s""", (ids["col-22-jan"],))
    c.execute("UPDATE fl.entry SET reason = 'nothing' WHERE id = %s", (ids["rev-pay-81-1"],))
    c.execute("UPDATE fl.entry SET created_at = created_at - interval '1 day' WHERE id = %s", (ids["pre-22"],))
    c.execute("UPDATE fl.entry SET client_addr = '10.9.9.9' WHERE id = %s", (ids["pay-81-1"],))
    c.execute("UPDATE fl.fund_request SET approved_by = 'rev2' WHERE id = %s", (ids["request"],))
    ev = c.execute("SELECT id FROM fl.request_event WHERE request_id = %s AND action = 'approve'",
                   (ids["request"],)).fetchone()["id"]
    c.execute("UPDATE fl.request_event SET actor = 'rev2' WHERE id = %s", (ev,))
    c.execute("UPDATE fl.app_user SET role = 'admin' WHERE name = 'aud'")
    c.execute("UPDATE fl.budget_line SET amount = amount + 100 WHERE line = '5001'")
    c.execute("SET session_replication_role = origin")
    rep = _verify(sample_db, "rev")
    hist = [f for f in rep.findings if f.check == "histories"]
    named = {f.entry_id for f in hist} | {f.request_id for f in hist}
    assert {ids["memo"], ids["col-22-jan"], ids["rev-pay-81-1"], ids["pre-22"], ids["pay-81-1"],
            ids["request"]} <= named, hist
    accounts = " | ".join(f.account or "" for f in hist)
    assert f"fl.request_event id={ev}" in accounts and "fl.app_user name=aud" in accounts
    assert "fl.budget_line" in accounts
    assert any("approved_by now" in f.message for f in hist)


def test_the_history_cannot_be_rewritten_or_updated(sample_db, sample_ids):
    import psycopg

    ids = _workflow(sample_db, sample_ids)
    c = sample_db.admin()
    with pytest.raises(psycopg.Error):
        c.execute("UPDATE fl.record_log SET actor = 'x' WHERE id = 1")
    with pytest.raises(psycopg.Error):
        c.execute("DELETE FROM fl.record_log WHERE id = 1")
    # With the triggers off, a rewritten version breaks its chain.
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.app_user SET role = 'admin' WHERE name = 'aud'")
    c.execute("""UPDATE fl.record_log SET row_data = jsonb_set(row_data, '{role}', '"admin"')
                  WHERE tbl = 'fl.app_user' AND row_key->>'name' = 'aud'""")
    c.execute("SET session_replication_role = origin")
    rep = _verify(sample_db, "rev")
    assert "history_chain" in _failed(rep) and "histories" not in _failed(rep)
    assert ids


def test_a_backdated_entry_sealed_after_the_close_is_named_whatever_its_timestamps(sample_db, sample_ids, tmp_path):
    """Inserted into the closed January at the end of the chain, created_at forged to
    before the close: the close's history says how far the chain reached."""
    from tests.integration.test_tamper import backdated_insert

    ids = sample_ids
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    forged = backdated_insert(c, ids)
    c.execute("SET session_replication_role = origin")
    rep = _verify(sample_db)
    closed = [f for f in rep.findings if f.check == "closed_periods"]
    assert forged in {f.entry_id for f in closed}, closed
    assert any("sealed at chain position" in f.message for f in closed)


@pytest.mark.server
def test_period_digest_exposes_a_full_consistent_rechain(sample_db, sample_ids, tmp_path):
    """close period --digest-dir files the digest; a DBA then edits an entry and re-chains
    every seal after it consistently (verify's chain holds again): check-digest names it."""
    from tests.helpers import collect, post

    ids = sample_ids
    res = sample_db.cli("close", "period", "2023-02", "--digest-dir", str(tmp_path), user="rev")
    assert res.exit_code == 0, res
    filed = tmp_path / "period-2023-02.json"
    assert filed.exists() and "SM3" in res.stdout and "SHA-256" in res.stdout
    fin = sample_db.connect("fin")
    post(fin, collect("later-1", "2023-03-02", "230822", "3.00"))
    fin.commit()
    assert sample_db.cli("audit", "check-digest", str(filed), user="aud").exit_code == 0

    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.entry SET memo = 'rewritten' WHERE id = %s", (ids["pay-22-1"],))
    _rechain(c, ids["pay-22-1"])
    c.execute("SET session_replication_role = origin")
    chain_only = _verify(sample_db)
    assert "hash_chain" not in _failed(chain_only)          # the re-chain is consistent
    chk = sample_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    assert chk.exit_code == 1
    dig = next(ch for ch in chk.json()["checks"] if ch["name"] == "digest")
    assert not dig["ok"] and ids["pay-22-1"] in {f["entry_id"] for f in dig["findings"]}


def _rechain(c, from_entry: int) -> None:
    """Recompute every seal from ``from_entry`` on, as a forger with the triggers off would."""
    import hashlib

    from ledger.store import verify

    c.execute("SET DateStyle = 'ISO, YMD'")
    start = c.execute("SELECT seq FROM fl.seal WHERE entry_id = %s", (from_entry,)).fetchone()["seq"]
    prev = bytes(c.execute("SELECT prev_hash FROM fl.seal WHERE seq = %s", (start,)).fetchone()["prev_hash"])
    for s in c.execute("SELECT seq, entry_id, voucher_no FROM fl.seal WHERE seq >= %s ORDER BY seq", (start,)).fetchall():
        d = bytes(c.execute(f"SELECT sha256(convert_to(canonical, 'UTF8')) AS d FROM ({verify.CANONICAL_SQL}) v "
                            "WHERE entry_id = %s", (s["entry_id"],)).fetchone()["d"])
        h = hashlib.sha256(prev + d + str(s["voucher_no"]).encode()).digest()
        c.execute("UPDATE fl.seal SET content_digest = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                  (d, prev, h, s["seq"]))
        prev = h
    c.execute("UPDATE fl.chain_head SET hash = %s", (prev,))
