"""A deferred guard fires at commit as the committing login (0042).

A deferred constraint trigger runs outside every SECURITY DEFINER function: at COMMIT, with
the committing login's rights and row security. `fl.component_guard` was an ordinary
function: a reviewer confirming an employees' payment that would make one component pay for
another got "permission denied for function refuse" on a server instead of the refusal, and
its city-wide sum ran under the login's row security. The class: every deferred trigger's
function is a definer with a pinned search_path, and the refusal reaches the user."""

from __future__ import annotations

import json

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def test_every_deferred_guard_runs_as_the_owner_with_a_pinned_path(ledger_db: LedgerDB) -> None:
    rows = ledger_db.admin().execute(
        """SELECT t.tgname, p.proname, p.prosecdef, coalesce(p.proconfig, '{}') AS config,
                  pg_get_userbyid(p.proowner) AS owner
             FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'fl'::regnamespace)
              AND t.tgdeferrable AND NOT t.tgisinternal""").fetchall()
    assert {r["tgname"] for r in rows} >= {"account_components_separate", "account_pooled_share",
                                           "seal_transaction"}, rows
    for r in rows:
        assert r["prosecdef"], f"{r['proname']} fires at commit as the caller: it must be SECURITY DEFINER"
        path = next((c for c in r["config"] if c.startswith("search_path=")), "")
        assert path.startswith("search_path=pg_catalog") and path.endswith("pg_temp"), (r["proname"], path)


def _emp(key: str, dr: str, cr: str, yuan: str, component: str, *, dr_holder: str | None = None,
         cr_holder: str | None = None) -> dict:
    return {"date": "2024-03-01", "book": "EMP", "idempotency_key": key, "postings": [
        {"account": dr, "unit": "230822", "holder": dr_holder, "side": "debit", "amount": yuan,
         "component": component},
        {"account": cr, "unit": "230822", "holder": cr_holder, "side": "credit", "amount": yuan,
         "component": component}]}


def _post(ledger_db: LedgerDB, *docs: dict) -> list[dict]:
    r = ledger_db.cli("entry", "post", "-", "--json", user="fin", input=json.dumps(list(docs)))
    assert r.exit_code == 0, r
    return r.json()  # type: ignore[no-any-return]


def test_a_reviewers_confirmation_that_mixes_components_gets_the_refusal(ledger_db: LedgerDB) -> None:
    """230822's employees' money in the special account: pooled 100,000 and personal 30,000.
    A personal payment of 50,000, confirmed by the bureau's reviewer through its own login,
    would take 20,000 of pooled money: refused as `components_separate` with the figure
    (the reviewer reads every unit), not a permission error — and nothing is posted."""
    held = [str(o["held_id"]) for o in _post(
        ledger_db, _emp("cp", "1003", "4001", "100000.00", "pooled", dr_holder="special"),
        _emp("cq", "1003", "4001", "30000.00", "personal", dr_holder="special")) if o["status"] == "held"]
    if held:
        assert ledger_db.cli("entry", "confirm", *held, user="rev").exit_code == 0
    [pay] = _post(ledger_db, _emp("x1", "5001.pharmacy", "1003", "50000.00", "personal", cr_holder="special"))
    r = ledger_db.cli("entry", "confirm", str(pay["held_id"]), user="rev")
    assert r.exit_code == 1 and "components_separate" in r.stderr and "-20,000.00" in r.stderr, r
    assert "permission denied" not in r.stderr, r
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key LIKE '%%x1'").fetchone()
    assert n["n"] == 0
