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
from tests.integration.test_tamper import CASES
from tests.integration.test_verify import sample_ledger

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


def test_fingerprints_are_current(ledger_db):
    c = ledger_db.admin()
    if os.environ.get("FUNDLEDGER_WRITE_FINGERPRINTS"):
        verify_catalogue.write_fingerprints(c)
    got = verify_catalogue.fingerprint(c)
    want = verify_catalogue.shipped()
    assert got == want, ("the schema fl differs from ledger/data/fingerprints.json: if a migration changed it on "
                         "purpose, rerun this test with FUNDLEDGER_WRITE_FINGERPRINTS=1 and commit the file")


def test_clean_ledger_is_clean(ledger_db):
    from tests.helpers import entry, leg, post

    ids = sample_ledger(ledger_db)
    fin = ledger_db.connect("fin")
    # Texts that CSV and the canonical text must carry exactly: newlines, quotes, commas,
    # backslashes, a Unicode line separator.
    odd = 'line one\nline "two", \\ three\u2028four\r\n'
    post(fin, entry(odd[:20], "2023-02-04", "RES", leg("5001.outpatient", "230822", "D", "1.00"),
                    leg("1004", "230822", "C", "1.00", "county_exp"), memo=odd))
    fin.commit()
    rep = _verify(ledger_db)
    assert rep.ok, [f.as_json() for f in rep.findings]
    assert rep.extra["entries"] == len(ids) + 1
    assert rep.extra["postings"] > 2 * len(ids) - 1


@pytest.mark.parametrize("case", list(CASES))
def test_each_tamper_is_named_by_the_independent_verdict(ledger_db, case):
    tamper, must_fail, _ = CASES[case]
    ids = sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    changed = tamper(c, ids)
    c.execute("SET session_replication_role = origin")
    rep = _verify(ledger_db)
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


def test_search_path_on_the_role_and_database_cannot_hide_a_change(ledger_db):
    ids = sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.entry SET memo = 'nothing to see here' WHERE id = %s", (ids["o22-feb"],))
    c.execute("SET session_replication_role = origin")
    _shadow_sha256(c)
    c.execute("ALTER ROLE aud SET search_path = shadow, pg_catalog, fl")
    c.execute(f'ALTER DATABASE "{ledger_db.name}" SET search_path = shadow, pg_catalog, fl')
    try:
        rep = _verify(ledger_db)
        assert ids["o22-feb"] in {f.entry_id for f in rep.findings if f.check == "hash_chain"}
        assert "setting search_path" in _named(rep)
    finally:
        c.execute("ALTER ROLE aud RESET ALL")


def test_presentation_settings_do_not_change_the_verdict(ledger_db):
    """No setting of the auditor's role or the database changes the verdict: the clean
    ledger stays clean and the tampered one names the same entries."""
    ids = sample_ledger(ledger_db)
    before = _verify(ledger_db)
    assert before.ok
    c = ledger_db.admin()
    settings = {"DateStyle": "German, DMY", "TimeZone": "Asia/Kathmandu", "IntervalStyle": "sql_standard",
                "extra_float_digits": "-15", "bytea_output": "escape", "lc_numeric": "C", "work_mem": "64kB"}
    try:
        for k, v in settings.items():
            c.execute(f"ALTER ROLE aud SET {k} = '{v}'")
            c.execute(f'ALTER DATABASE "{ledger_db.name}" SET {k} = \'{v}\'')
        assert _verify(ledger_db).ok
        c.execute("SET session_replication_role = replica")
        c.execute("UPDATE fl.posting SET amount = amount + 1 WHERE entry_id = %s", (ids["pay-22-1"],))
        c.execute("SET session_replication_role = origin")
        with_settings = _verify(ledger_db)
    finally:
        c.execute("ALTER ROLE aud RESET ALL")
        c.execute(f'ALTER DATABASE "{ledger_db.name}" RESET ALL')
    without = _verify(ledger_db)
    assert [f.as_json() for f in with_settings.findings] == [f.as_json() for f in without.findings]
    assert ids["pay-22-1"] in {f.entry_id for f in without.findings}


def test_a_view_swapped_for_the_journal_is_named(ledger_db):
    ids = sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("ALTER TABLE fl.entry RENAME TO entry_real")
    c.execute("CREATE VIEW fl.entry AS SELECT * FROM fl.entry_real")
    c.execute("GRANT SELECT ON fl.entry TO fl_auditor")
    rep = _verify(ledger_db)
    assert "fl.entry" in _named(rep) and "fl.entry_real" in _named(rep)
    assert any("a view" in f.message for f in rep.findings if f.account == "fl.entry")
    assert ids


def test_a_hiding_row_policy_is_named(ledger_db):
    ids = sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.posting SET amount = amount + 1 WHERE entry_id = %s", (ids["pay-22-1"],))
    c.execute("SET session_replication_role = origin")
    for t in ("entry", "seal", "posting"):
        col = "id" if t == "entry" else "entry_id"
        c.execute(f"CREATE POLICY hide ON fl.{t} AS RESTRICTIVE FOR SELECT TO fl_auditor USING ({col} <> {ids['pay-22-1']})")
    c.execute("ALTER TABLE fl.seal ENABLE ROW LEVEL SECURITY")
    c.execute("ALTER TABLE fl.seal FORCE ROW LEVEL SECURITY")
    c.execute("CREATE POLICY see_all ON fl.seal FOR SELECT USING (true)")
    rep = _verify(ledger_db)
    named = _named(rep)
    assert {"fl.entry.hide", "fl.posting.hide", "fl.seal.hide", "fl.seal"} <= named, named
    assert any("chain head counts" in f.message for f in rep.findings)


def test_operator_and_function_shadowing_in_pg_catalog_is_named(ledger_db):
    sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("""CREATE FUNCTION pg_catalog.fl_always(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE
                 AS 'SELECT true'""")
    c.execute("CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_catalog.fl_always)")
    c.execute("ALTER ROLE aud SET search_path = public, pg_catalog")
    try:
        rep = _verify(ledger_db)
    finally:
        c.execute("ALTER ROLE aud RESET ALL")
    assert "function fl_always(bigint,bigint)" in _named(rep)
    assert "setting search_path" in _named(rep)


def test_a_replaced_function_and_a_disabled_trigger_are_named(ledger_db):
    sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("""CREATE OR REPLACE FUNCTION fl.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RETURN COALESCE(NEW, OLD); END $$""")
    c.execute("ALTER TABLE fl.posting DISABLE TRIGGER posting_append_only")
    rep = _verify(ledger_db)
    assert {"fl.refuse_change()", "fl.posting.posting_append_only"} <= _named(rep)


def test_preload_libraries_are_named(ledger_db):
    sample_ledger(ledger_db)
    c = ledger_db.admin()
    # A library that exists in every installation: what matters is that a session loads code.
    c.execute("ALTER ROLE aud SET session_preload_libraries = 'auto_explain'")
    try:
        rep = _verify(ledger_db)
    finally:
        c.execute("ALTER ROLE aud RESET ALL")
    assert {"setting session_preload_libraries"} <= _named(rep), _named(rep)


def test_offline_round_trip(ledger_db, tmp_path):
    """Export, verify with no database against the filed SHA-256 and SM3 digests; a byte
    changed in the export is named, and so is an export whose manifest was rewritten."""
    import json
    import shutil

    from ledger.io import archive

    ids = sample_ledger(ledger_db)
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    res = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), "--json", user="aud")
    assert res.exit_code == 0, res
    doc = res.json()
    assert doc["verified"] is True and doc["entries"] == len(ids)
    digest = json.loads(filed.read_text())
    assert len(digest["sha256"]) == 64 and len(digest["sm3"]) == 64
    ok = ledger_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
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
    cli = ledger_db.cli("verify", "--offline", str(bad), "--digest", str(filed))
    assert cli.exit_code == 1 and "posting.csv" in cli.stdout

    # The forger rewrites the manifest too: only the filed digest exposes it.
    m = json.loads((bad / "manifest.json").read_text())
    m["files"]["tables/posting.csv"] = archive.file_digests(p)
    (bad / "manifest.json").write_text(json.dumps(m))
    rep = archive.verify_offline(bad, filed)
    assert "manifest.json" in {f.account for f in rep.findings if f.check == "export_files"}
    assert not archive.verify_offline(bad).ok          # and the chain still names the entry
