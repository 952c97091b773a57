"""The owner of schema fl (fl_owner): not a superuser, no login, no way to make itself
or anyone else more than an ordinary role, and the owner of everything in fl."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.conftest import PAYLOAD, Guard

pytestmark = pytest.mark.db

GROUPS = {"fl_officer", "fl_reviewer", "fl_finance", "fl_auditor", "fl_admin"}


def test_the_owner_is_an_ordinary_role_without_login(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    o = admin.execute("SELECT * FROM pg_roles WHERE rolname = 'fl_owner'").fetchone()
    assert o is not None
    assert not (o["rolsuper"] or o["rolcanlogin"] or o["rolcreatedb"] or o["rolreplication"] or o["rolbypassrls"])
    v16 = int(admin.execute("SHOW server_version_num").fetchone()["server_version_num"]) >= 160000
    assert o["rolcreaterole"] is v16        # PostgreSQL 15's CREATEROLE could grant any role: not there
    # Its memberships: ADMIN on the five groups (to grant them) and, on 16+, on the login
    # roles it created for fl.add_user — never their rights (no INHERIT, no SET), and never
    # a superuser, a predefined pg_* role or a role with more attributes than an ordinary one.
    uses = "m.inherit_option OR m.set_option" if v16 else "false"   # (15 has no such options: membership is use)
    member_of = admin.execute(f"""SELECT r.rolname, m.admin_option, r.rolsuper OR r.rolbypassrls OR r.rolreplication
                                         OR r.rolcreaterole OR r.rolcreatedb OR r.rolname LIKE 'pg\\_%%' AS strong,
                                         {uses} AS uses
                                    FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
                                   WHERE m.member = 'fl_owner'::regrole""").fetchall()
    assert {m["rolname"] for m in member_of} >= GROUPS
    assert [m["rolname"] for m in member_of if not m["admin_option"] or m["uses"] or m["strong"]] == []
    # Nor, through any chain of memberships, the rights of a predefined or a superuser role.
    # (On 15, where a membership is use, the owner's ADMIN on the verifying groups also gives it
    # pg_read_all_settings, which 0059 grants them so the verifier sees preloaded libraries:
    # reading settings, for a role that cannot log in. Nothing else is allowed.)
    reach = admin.execute("""SELECT array_agg(rolname) AS r FROM pg_roles
                              WHERE (rolsuper OR rolname LIKE 'pg\\_%%') AND pg_has_role('fl_owner', oid, 'USAGE')"""
                          ).fetchone()["r"]
    assert reach is None or (not v16 and reach == ["pg_read_all_settings"]), reach


def test_the_owner_owns_everything_in_fl(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    owners = admin.execute("""
        SELECT 'schema' AS what, nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'fl'
        UNION SELECT 'relation', relowner::regrole::text FROM pg_class WHERE relnamespace = 'fl'::regnamespace
        UNION SELECT 'function', proowner::regrole::text FROM pg_proc WHERE pronamespace = 'fl'::regnamespace
        UNION SELECT 'type', typowner::regrole::text FROM pg_type WHERE typnamespace = 'fl'::regnamespace""").fetchall()
    assert {(o["what"], o["owner"]) for o in owners} == {
        ("schema", "fl_owner"), ("relation", "fl_owner"), ("function", "fl_owner"), ("type", "fl_owner")}


@pytest.mark.parametrize("attempt", [
    "ALTER ROLE fl_owner SUPERUSER",
    "ALTER ROLE fl_owner BYPASSRLS",
    "ALTER ROLE fl_owner LOGIN",
    "CREATE ROLE fl_pwn_super SUPERUSER",
    "CREATE ROLE fl_pwn_bypass BYPASSRLS",
    "CREATE ROLE fl_pwn_repl REPLICATION",
    "CREATE ROLE fl_pwn_db CREATEDB",
    "GRANT pg_execute_server_program TO fl_owner",
    "GRANT pg_read_server_files TO fl_owner",
    "GRANT pg_write_server_files TO fl_owner",
    "GRANT pg_read_all_data TO fl_owner",
    "GRANT pg_write_all_data TO fl_owner",
    "GRANT {superuser} TO fl_owner",
    "ALTER ROLE {superuser} PASSWORD 'x'",
])
def test_the_owner_cannot_raise_itself(refusals_db: LedgerDB, attempt: str) -> None:
    """What code running as fl_owner (an escaped definer function) could try. Each in its
    own transaction, as fl_owner, and each must be refused by PostgreSQL."""
    admin = refusals_db.connect(None)
    superuser = admin.execute("SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY oid LIMIT 1").fetchone()["rolname"]
    attempt = attempt.format(superuser=f'"{superuser}"')
    admin.execute("SET ROLE fl_owner")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        admin.execute(attempt)
    admin.rollback()


def test_the_payload_works_when_it_runs_as_the_owner(ledger_db: LedgerDB, guard: Guard) -> None:
    """The planted payload (tests/security/conftest.py) is real: run as fl_owner it does
    rewrite fl.app_user, so an attack that reached the owner's rights would be seen."""
    admin = ledger_db.connect(None)
    admin.execute(PAYLOAD)
    admin.execute("SET ROLE fl_owner")
    admin.execute("SELECT set_config('fl.x', '1', true)")      # no-op: keeps the transaction open
    # The payload promotes session_user; here that is the administrator's login, which has
    # no fl.app_user row, so give it one first (as the owner: the payload's own rights).
    admin.execute("INSERT INTO fl.app_user (name, role, unit) VALUES (session_user, 'officer', '230822')")
    assert admin.execute("SELECT pg_temp.pwn() AS ok").fetchone()["ok"]
    row = admin.execute("SELECT role FROM fl.app_user WHERE name = session_user").fetchone()
    assert row["role"] == "admin"
    marker = admin.execute("SELECT count(*) AS n FROM fl.closed_period WHERE month = '2001-01-01'").fetchone()
    assert marker["n"] == 1
    admin.rollback()
    guard.assert_defended("o22")
