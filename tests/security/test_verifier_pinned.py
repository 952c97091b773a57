"""The auditor's verifier under a hostile server (issue 15, red team B14): a superuser
prepares the auditor's sessions with role or database settings; verify must give the
same verdict, name the trap where it is one, and never crash or misread."""

from __future__ import annotations

import contextlib

import pytest

from ledger.store import verify_session
from tests.conftest import role_settings_restored

pytestmark = pytest.mark.db

# Settings that only change how values print or how long a statement may run: the
# verifier pins each of them, so the verdict is the same as without.
PINNED_AWAY = [
    "client_encoding = 'LATIN1'", "client_encoding = 'SQL_ASCII'", "client_encoding = 'GBK'", "DateStyle = 'SQL, DMY'",
    "TimeZone = 'Pacific/Chatham'", "extra_float_digits = -15", "bytea_output = 'escape'",
    "IntervalStyle = 'iso_8601'", "default_transaction_read_only = off", "statement_timeout = 1",
    "lock_timeout = 1", "default_transaction_isolation = 'serializable'", "standard_conforming_strings = off",
    "default_transaction_deferrable = on", "transform_null_equals = on", "quote_all_identifiers = on",
]


def _checks(out: dict) -> dict[str, dict]:
    return {c["name"]: c for c in out["checks"] + out["independent"]["checks"]}


# ALTER ROLE aud SET holds in every database of the cluster (statement_timeout = 1 for
# every worker's auditor on a shared server): that case runs alone and puts aud's own
# settings back.
@pytest.mark.parametrize("where", [pytest.param("ROLE aud", marks=pytest.mark.cluster_roles), "DATABASE"])
def test_settings_on_the_auditors_role_or_database_do_not_change_the_verdict(sample_db, sample_ids, where):
    ids = sample_ids
    c = sample_db.admin()
    target = f'DATABASE "{sample_db.name}"' if where == "DATABASE" else where
    with role_settings_restored(c, "aud") if where == "ROLE aud" else contextlib.nullcontext():
        for s in PINNED_AWAY:
            c.execute(f"ALTER {target} SET {s}")
        try:
            clean = sample_db.cli("verify", "--json", user="aud")
            c.execute("SET session_replication_role = replica")
            c.execute("UPDATE fl.posting SET amount = amount + 1 WHERE entry_id = %s", (ids["pay-22-1"],))
            c.execute("SET session_replication_role = origin")
            tampered = sample_db.cli("verify", "--json", user="aud")
        finally:
            if where == "DATABASE":
                c.execute(f"ALTER {target} RESET ALL")
    assert clean.exit_code == 0 and "Traceback" not in clean.stderr, clean
    assert clean.json()["ok"] is True
    assert tampered.exit_code == 1, tampered
    out = tampered.json()
    assert ids["pay-22-1"] in {f["entry_id"] for f in _checks(out)["hash_chain"]["findings"]}
    assert out["independent"]["ok"] is False and _checks(out)["settings"]["ok"] is True


@pytest.mark.cluster_roles    # GRANT rev TO aud: a membership the whole cluster shares, for a moment
def test_a_trap_in_the_auditors_settings_is_named(sample_db):
    """Both traps in one test, each set on the auditor in this database only: roles are
    cluster-wide, and on a shared server two workers changing one role raced."""
    c = sample_db.admin()
    c.execute("GRANT rev TO aud")
    try:
        for setting in ("search_path = public, pg_catalog", "role = 'rev'"):
            c.execute(f'ALTER ROLE aud IN DATABASE "{sample_db.name}" SET {setting}')
            try:
                r = sample_db.cli("verify", "--json", user="aud")
            finally:
                c.execute(f'ALTER ROLE aud IN DATABASE "{sample_db.name}" RESET ALL')
            assert r.exit_code == 1 and "Traceback" not in r.stderr, (setting, r)
            checks = _checks(r.json())
            name = setting.split()[0]
            assert [f["account"] for f in checks["settings"]["findings"]] == [f"setting {name}"], setting
            # The trap's means is itself named: the auditor's login made a member of rev
            # (pg_auth_members against fl.app_user, ATTACK3 R14).
            assert [(f["account"], "member of rev" in f["message"]) for f in checks["catalogue"]["findings"]] \
                == [("role aud", True)], setting
            assert all(c["ok"] for n, c in checks.items() if n not in ("settings", "catalogue")), (setting, r)
    finally:
        c.execute("REVOKE rev FROM aud")


def test_a_setting_the_server_keeps_is_a_refusal_not_a_verdict(ledger_db):
    """The verifier reads every pinned setting back: one that did not take (here set
    again after the pin) is refused by name."""
    conn = ledger_db.connect("aud")
    conn.read_only = True
    verify_session.pin(conn)
    conn.execute("SET LOCAL bytea_output = 'escape'")
    with pytest.raises(verify_session.SessionNotPinned, match="bytea_output"):
        verify_session.check(conn)
