"""ATTACK20 L4 (HIGH): the superuser plants code in ``fl_guard`` — a schema the verdict's catalogue
check does not look at — that the ledger's own definer function runs, as ``fl_owner``, inside a real
user's authenticated session: writes under that user's name, ``verify`` green.

``fl.end_stuck_writers()`` (SECURITY DEFINER, fl_owner; EXECUTE granted to every group) calls
``fl_guard.end_stuck_writers(interval, interval)``. The library calls ``fl.end_stuck_writers()`` in
its own committed transaction whenever a write waits past ``lock_timeout`` (``ledger.store.db.run_tx``
→ ``_end_stuck_writers``), and ``fl.seal_pending`` — run after every command — calls it whenever the
chain head is held; so whoever holds a contended row for a few seconds chooses when it runs, and in
whose session. The ``fl`` schema is fingerprinted whole (every function by pg_get_functiondef, owners,
ACLs), pg_catalog's built-ins are checked, but nothing of ``fl_guard`` is: ``CREATE OR REPLACE
FUNCTION fl_guard.end_stuck_writers(...) ... SECURITY INVOKER`` (the owner stays fl_guard, the body
now runs with the caller's rights — fl_owner inside the definer wrapper) can call any ``fl`` API
function. ``fl.caller()`` is satisfied — session_user IS the login that authenticated (0047's T4
guard against SET SESSION AUTHORIZATION is not engaged) — so the write is recorded, chained and
sealed as the user's own: the same forgery T4 closed for ``SET SESSION AUTHORIZATION`` (one DBA as
maker and checker under two real people's names: in a reviewer's session the hook approves a
request, in finance's it disburses), with no evidence in the connection log and ``verify`` exit 0.

Reproduction: the hook posts a manual entry when o22's own session runs the library's
``_end_stuck_writers``; verify is green on main.

Safe behaviour asserted: the verdict's catalogue check names a replaced ``fl_guard`` function (the
fingerprint covers every schema the ledger's functions call into: ``fl_guard``'s functions whole,
owners, ACLs, SECURITY DEFINER, settings), so ``verify`` exits 1.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

DOC = json.dumps([{"date": "2024-03-01", "book": "RES", "idempotency_key": "planted-by-dba", "memo": "planted",
                   "postings": [{"account": "1101", "unit": "230822", "side": "D", "amount": 123456},
                                {"account": "2001", "unit": "230822", "side": "C", "amount": 123456}]}])

HOOK = f"""
CREATE OR REPLACE FUNCTION fl_guard.end_stuck_writers(p_age interval, p_idle interval) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, fl AS $$
BEGIN
  IF session_user = 'o22' THEN
    PERFORM * FROM fl.post_entries('{DOC}'::jsonb);
  END IF;
  RETURN 0;
END $$"""


def test_l4_a_planted_guard_function_is_named_by_verify(sample_db: LedgerDB) -> None:
    if sample_db.admin().execute("SELECT to_regprocedure('fl_guard.end_stuck_writers(interval,interval)') AS p"
                                 ).fetchone()["p"] is None:
        pytest.skip("no busy-holder guard on this server (its migration needs a superuser)")
    assert sample_db.cli("verify", "--json", user="aud").exit_code == 0
    sample_db.admin().execute(HOOK)

    # o22's own connection, as the library uses it after a lock wait (ledger.store.db.run_tx)
    from ledger.store.db import _end_stuck_writers
    o22 = sample_db.connect("o22", autocommit=True)
    _end_stuck_writers(o22)
    planted = sample_db.admin().execute("SELECT id, created_by FROM fl.entry WHERE idempotency_key LIKE "
                                        "'manual:o22:planted-by-dba'").fetchall()
    assert [r["created_by"] for r in planted] == ["o22"], planted     # written under o22's name

    v = sample_db.cli("verify", "--json", user="aud")
    # on main: exit 0 — the entry is o22's by every record, and nothing checks fl_guard
    assert v.exit_code == 1, v.stdout[-800:]
    found = {f.get("account") or "" for c in v.json()["independent"]["checks"] if c["name"] == "catalogue"
             for f in c["findings"]}
    assert any("fl_guard" in a for a in found), found


@pytest.mark.parametrize("lever", [
    "ALTER FUNCTION fl_guard.end_stuck_writers(interval, interval) SECURITY INVOKER",
    "ALTER FUNCTION fl_guard.end_idle_holders(integer[]) SET search_path = fl_guard, pg_catalog",
    "ALTER FUNCTION fl_guard.end_stuck_writers(interval, interval) OWNER TO {owner}",
    "GRANT CREATE ON SCHEMA fl_guard TO fl_officer",
    "GRANT EXECUTE ON FUNCTION fl_guard.end_idle_holders(integer[]) TO fl_officer",
    "CREATE FUNCTION fl_guard.end_stuck_writers(p_age interval) RETURNS int LANGUAGE sql AS 'SELECT 0'",
    "CREATE TABLE fl_guard.planted (x int)",
], ids=["invoker", "path", "owner", "schema-create", "execute", "overload", "table"])
def test_l4_every_change_to_the_guard_schema_is_named(sample_db: LedgerDB, lever: str) -> None:
    """The variants of the class: whatever in ``fl_guard`` a superuser changes — a function's
    security, settings, owner or privileges, the schema's privileges, a function or table added
    beside the release's — the catalogue check names it."""
    admin = sample_db.admin()
    if admin.execute("SELECT to_regnamespace('fl_guard') AS n").fetchone()["n"] is None:
        pytest.skip("no busy-holder guard on this server (its migration needs a superuser)")
    owner = admin.execute("SELECT nspowner::regrole::text AS o FROM pg_namespace WHERE nspname = 'fl'"
                          ).fetchone()["o"]
    admin.execute(lever.format(owner=owner))
    v = sample_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 1, v.stdout[-800:]
    found = {f.get("account") or "" for c in v.json()["independent"]["checks"] if c["name"] == "catalogue"
             for f in c["findings"]}
    assert any("fl_guard" in a for a in found), found
