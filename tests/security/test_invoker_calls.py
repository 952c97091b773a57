"""A SECURITY INVOKER function runs with its caller's rights: every ledger function it calls
must be one its callers may execute. 0056 replaced current_date by fl._region_today() in
fl.request_justification (an invoker function every group calls) without granting the new
function to anyone, and an officer's `request submit` failed with "permission denied for
function _region_today". The sweep reads every invoker function's body as migrated."""

from __future__ import annotations

import re

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

GROUPS = ("fl_officer", "fl_reviewer", "fl_finance", "fl_auditor", "fl_admin")


def test_every_function_an_invoker_function_calls_is_executable_by_its_callers(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    rows = admin.execute("""
        SELECT p.oid, p.proname, pg_get_functiondef(p.oid) AS def,
               ARRAY(SELECT g FROM unnest(%s::text[]) g WHERE has_function_privilege(g, p.oid, 'EXECUTE')) AS callers
          FROM pg_proc p WHERE p.pronamespace = 'fl'::regnamespace AND NOT p.prosecdef AND p.prokind = 'f'
           AND p.prorettype <> 'trigger'::regtype""", (list(GROUPS),)).fetchall()
    names = {r["proname"] for r in admin.execute(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'fl'::regnamespace").fetchall()}
    missing = []
    for r in rows:
        if not r["callers"]:
            continue
        for callee in sorted(set(re.findall(r"\bfl\.(\w+)\s*\(", r["def"])) & names - {r["proname"]}):
            for g in r["callers"]:
                ok = admin.execute("SELECT bool_or(has_function_privilege(%s, p.oid, 'EXECUTE')) AS ok FROM pg_proc p "
                                   "WHERE p.pronamespace = 'fl'::regnamespace AND p.proname = %s", (g, callee)
                                   ).fetchone()["ok"]
                if not ok:
                    missing.append(f"{r['proname']} (callable by {g}) calls fl.{callee}, which {g} may not execute")
    assert missing == [], missing
