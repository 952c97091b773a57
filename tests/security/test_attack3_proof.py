"""ATTACK3 R1: a superuser unhooks a table from the chained history, then rewrites it.

The verifier took the list of tables to compare from ``fl.chained_table`` — data the
superuser deleted with triggers off — so the rewritten table simply dropped out of the
comparison. The release's own list (the history triggers in the shipped fingerprint)
now decides: a table the release hooks that the data no longer lists is a finding, in
the online verdict and offline on an export."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def _histories(report: dict) -> list[dict]:  # type: ignore[type-arg]
    checks = report["independent"]["checks"] if "independent" in report else report["checks"]
    return [f for c in checks if c["name"] == "histories" for f in c["findings"]]


def test_an_unhooked_rewritten_table_is_still_judged(ledger_db: LedgerDB, tmp_path: Path) -> None:
    clean = ledger_db.cli("verify", "--json", user="aud")
    assert clean.exit_code == 0, clean.stdout[-2000:]
    admin = ledger_db.admin()
    admin.execute("BEGIN")
    admin.execute("SET LOCAL session_replication_role = replica")
    admin.execute("DELETE FROM fl.chained_table WHERE tbl = 'fl.app_user'")
    admin.execute("UPDATE fl.app_user SET role = 'admin', unit = NULL WHERE name = 'o22'")
    admin.execute("COMMIT")

    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-2000:]
    named = [f for f in _histories(r.json()) if f.get("account") == "fl.app_user"]
    assert named and "no longer lists it" in named[0]["message"], _histories(r.json())

    export = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert off.exit_code == 1
    assert any(f.get("account") == "fl.app_user" for f in _histories(off.json())), off.stdout[-2000:]


def _checks(report: dict, name: str) -> list[dict]:  # type: ignore[type-arg]
    checks = (report.get("independent") or report)["checks"]
    return [f for c in checks if c["name"] == name for f in c["findings"]]


def test_a_second_insert_version_of_an_append_only_row_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """ATTACK3 R8: the DBA deletes a user's row with the triggers off and inserts it again,
    as an admin, with them on: the history records a second INSERT version, chained and
    sealed by its own trigger, and the row equals it. A row is inserted once: the second
    INSERT is named — by the independent verdict, offline, and by the first pass."""
    admin = ledger_db.admin()
    admin.execute("CREATE TEMP TABLE r8 AS SELECT * FROM fl.app_user WHERE name = 'o22'")
    admin.execute("UPDATE r8 SET role = 'admin', unit = NULL")
    admin.execute("SET session_replication_role = replica")
    admin.execute("DELETE FROM fl.app_user WHERE name = 'o22'")
    admin.execute("SET session_replication_role = origin")
    admin.execute("INSERT INTO fl.app_user SELECT * FROM r8")
    admin.commit()
    versions = admin.execute("SELECT op, seq IS NOT NULL AS chained FROM fl.record_log WHERE tbl = 'fl.app_user' "
                             "AND row_key ->> 'name' = 'o22' ORDER BY id").fetchall()
    assert [v["op"] for v in versions][-1] == "INSERT" and len(versions) >= 2 and versions[-1]["chained"]

    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-2000:]
    named = {f.get("account"): f["message"] for f in _checks(r.json(), "histories")}
    assert "fl.app_user name=o22" in named, named
    assert "inserted again" in named["fl.app_user name=o22"] and "role" in named["fl.app_user name=o22"]

    fast = ledger_db.cli("verify", "--fast", "--json", user="aud")
    assert fast.exit_code == 1, fast.stdout[-2000:]
    assert any(f.get("account") == "fl.app_user name=o22" and "inserted again" in f["message"]
               for f in _checks(fast.json(), "histories")), fast.stdout[-3000:]

    export = tmp_path / "export"
    ledger_db.cli("audit", "export", str(export), user="aud")
    assert (export / "manifest.json").exists()
    off = ledger_db.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert off.exit_code == 1
    assert any(f.get("account") == "fl.app_user name=o22" and "inserted again" in f["message"]
               for f in _histories(off.json())), off.stdout[-2000:]


def test_a_backdated_entry_with_the_closing_transactions_xid_is_still_named(ledger_db: LedgerDB,
                                                                           tmp_path: Path) -> None:
    """ATTACK3 R9: the exemption for a year close's own entries was keyed on the entry's
    created_xid, a column the DBA sets: a back-dated entry given the close's transaction
    id passed. The history places the close and each entry; an entry recorded after the
    close is named, whatever its columns say — online, offline and in the first pass."""
    from tests.integration.test_tamper import backdated_insert
    from tests.integration.test_verify import sample_ledger

    ids = sample_ledger(ledger_db)
    c = ledger_db.admin()
    xid = c.execute("SELECT l.row_data ->> '_xid' AS x FROM fl.record_log l WHERE l.tbl = 'fl.closed_period' "
                    "AND l.row_key ->> 'month' = '2023-01-01' ORDER BY l.id LIMIT 1").fetchone()["x"]
    assert xid
    c.execute("SET session_replication_role = replica")
    forged = backdated_insert(c, ids, stamp_now=True)
    c.execute("UPDATE fl.entry SET created_xid = %s::xid8, created_at = '2023-01-05 10:00+00' WHERE id = %s",
              (xid, forged))
    c.execute("SET session_replication_role = origin")
    c.commit()
    for args in (("verify", "--json"),):
        r = ledger_db.cli(*args, user="aud")
        assert r.exit_code == 1
        closed = _checks(r.json(), "closed_periods")
        assert any(f.get("entry_id") == forged and "chain position" in f["message"] for f in closed), closed
    export = tmp_path / "export"
    ledger_db.cli("audit", "export", str(export), user="aud")
    assert (export / "manifest.json").exists()
    off = ledger_db.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert any(f.get("entry_id") == forged for f in _checks(off.json(), "closed_periods")), off.stdout[-2000:]


@pytest.mark.cluster_roles   # rev made SUPERUSER, fl_auditor BYPASSRLS ... for a moment
def test_constraints_privileges_and_roles_are_part_of_the_catalogue(ledger_db: LedgerDB) -> None:
    """ATTACK3 R14: the fingerprint compared relations, columns, policies, triggers, rules
    and functions — not constraints, privileges, role memberships or role attributes. A
    dropped CHECK, a GRANT to a role of the DBA's, a login made a member of the owner,
    BYPASSRLS on a group and SUPERUSER on a login: each is a catalogue finding naming the
    object. (Roles are cluster-wide: every change is undone at the end.)"""
    from ledger.store.verify_independent import verify_independent

    def named() -> dict[str, str]:
        c = ledger_db.connect("aud")
        try:
            rep = verify_independent(c)
        finally:
            c.close()
        return {f.account or "": f.message for f in rep.findings if f.check == "catalogue"}

    assert named() == {}
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.posting DROP CONSTRAINT posting_amount_cap")
    admin.execute("DROP ROLE IF EXISTS r14_mallory")      # a run stopped halfway on a shared server
    admin.execute("CREATE ROLE r14_mallory NOLOGIN")
    administers, v16, revoked = 0, True, False
    try:
        admin.execute("GRANT SELECT ON fl.entry TO r14_mallory")
        admin.execute("GRANT EXECUTE ON FUNCTION fl.refuse(text, text, text) TO r14_mallory")
        administers = admin.execute(
            "SELECT count(*) AS n FROM pg_auth_members WHERE roleid = 'o22'::regrole AND member = 'fl_owner'::regrole"
        ).fetchone()["n"]
        v16 = int(admin.execute("SHOW server_version_num").fetchone()["server_version_num"]) >= 160000
        if administers:
            admin.execute("REVOKE o22 FROM fl_owner")      # the owner administers the login: no cycle allowed
        admin.execute("GRANT fl_owner TO o22")
        admin.execute("ALTER ROLE fl_auditor BYPASSRLS")
        admin.execute("ALTER ROLE rev SUPERUSER")
        admin.execute("GRANT fl_admin TO fin")              # finance made an admin too, outside fundledger
        admin.execute("GRANT pg_read_all_data TO fin")
        grantor = admin.execute("SELECT m.grantor::regrole::text AS g FROM pg_auth_members m WHERE "
                                "m.member = 'admin'::regrole AND m.roleid = 'fl_admin'::regrole").fetchone()["g"]
        admin.execute(f"REVOKE fl_admin FROM admin GRANTED BY {grantor}")   # the registry says admin, the server no
        revoked = True                                                      # longer
        got = named()
    finally:
        if revoked:
            admin.execute(f"GRANT fl_admin TO admin GRANTED BY {grantor}")
        admin.execute("REVOKE pg_read_all_data FROM fin")
        admin.execute("REVOKE fl_admin FROM fin")
        admin.execute("ALTER ROLE rev NOSUPERUSER")
        admin.execute("ALTER ROLE fl_auditor NOBYPASSRLS")
        admin.execute("REVOKE fl_owner FROM o22")
        if administers:
            admin.execute("GRANT o22 TO fl_owner WITH ADMIN TRUE, INHERIT FALSE, SET FALSE" if v16 else
                          "GRANT o22 TO fl_owner WITH ADMIN OPTION")
        admin.execute("REVOKE ALL ON fl.entry FROM r14_mallory")
        admin.execute("REVOKE ALL ON FUNCTION fl.refuse(text, text, text) FROM r14_mallory")
        admin.execute("DROP ROLE r14_mallory")
    assert "missing" in got.get("fl.posting.posting_amount_cap", ""), got
    assert "r14_mallory" in got.get("fl.entry", ""), got
    assert "r14_mallory" in got.get("fl.refuse(text,text,text)", ""), got
    assert "fl_owner" in got.get("role o22", ""), got
    assert "bypassrls" in got.get("fl_auditor", ""), got
    assert "SUPERUSER" in got.get("role rev", ""), got
    fin = got.get("role fin", "")
    assert "fl_admin, pg_read_all_data beside fl_finance" in fin, got
    assert "not a member of fl_admin" in got.get("role admin", ""), got
