"""The chained histories against a DBA (issue 15, red team B3 and B17): a plain UPDATE of
a row fundledger never changes is recorded — and must be judged; a version forged with
the triggers off must never become a genuine-looking part of the chain."""

from __future__ import annotations

import pytest

from ledger.store.verify_independent import verify_independent
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db


def _verify(ledger_db):
    c = ledger_db.connect("aud")
    try:
        return verify_independent(c)
    finally:
        c.close()


def _named(rep, check: str) -> dict[str, str]:
    return {f.account: f.message for f in rep.findings if f.check == check}


def _legit_write(ledger_db, key: str) -> None:
    fin = ledger_db.connect("fin")
    post(fin, entry(key, "2023-02-05", "RES", leg("5001.outpatient", "230822", "D", "1.00"),
                    leg("1004", "230822", "C", "1.00", "county_exp")))
    fin.commit()


def test_a_plain_update_of_a_row_fundledger_never_changes_is_a_finding(sample_db):
    """B3: the history records the DBA's UPDATE (triggers on), so the row equals its
    latest version — but fundledger never changes a user's role in place."""
    c = sample_db.admin()
    c.execute("UPDATE fl.app_user SET role = 'admin', unit = NULL WHERE name = 'o22'")
    rep = _verify(sample_db)
    named = _named(rep, "histories")
    assert "fl.app_user name=o22" in named, named
    assert "role" in named["fl.app_user name=o22"] and "append-only" in named["fl.app_user name=o22"]


def test_an_append_only_row_updated_with_its_guard_off_is_named(sample_db):
    """B3: the guard switched off for the UPDATE and on again (the catalogue is the
    release's again); the history recorded the change, and that is judged."""
    c = sample_db.admin()
    guards = [r["tgname"] for r in c.execute(
        "SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = 'fl.closed_period'::regclass AND NOT t.tgisinternal "
        "AND t.tgname NOT LIKE '%record%'").fetchall()]
    for g in guards:
        c.execute(f'ALTER TABLE fl.closed_period DISABLE TRIGGER "{g}"')
    c.execute("UPDATE fl.closed_period SET closed_by = 'fin' WHERE month = '2023-01-01'")
    for g in guards:
        c.execute(f'ALTER TABLE fl.closed_period ENABLE TRIGGER "{g}"')
    rep = _verify(sample_db)
    assert {f.check for f in rep.findings if f.check == "catalogue"} == set()
    named = _named(rep, "histories")
    assert any(k.startswith("fl.closed_period") and "closed_by" in m for k, m in named.items()), named


def test_a_legit_change_of_a_mutable_row_is_not_a_finding(sample_db):
    """The request workflow changes a request's state and approver: no finding."""
    rep = _verify(sample_db)
    assert rep.ok, [f.as_json() for f in rep.findings]


def test_a_version_forged_with_the_triggers_off_is_never_chained(sample_db):
    """B17: a role change made with the triggers off, and a matching history version
    inserted by hand; the next legitimate write must not chain it into genuineness."""
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.app_user SET role = 'admin', unit = NULL WHERE name = 'o22'")
    row = c.execute("SELECT to_jsonb(u) AS d FROM fl.app_user u WHERE name = 'o22'").fetchone()
    forged = c.execute("INSERT INTO fl.record_log (tbl, op, row_key, row_data, actor) "
                       "VALUES ('fl.app_user', 'INSERT', '{\"name\": \"o22\"}', %s, 'admin') RETURNING id",
                       (psycopg_json(row["d"]),)).fetchone()["id"]
    c.execute("SET session_replication_role = origin")
    _legit_write(sample_db, "after-forgery")
    seq = c.execute("SELECT seq FROM fl.record_log WHERE id = %s", (forged,)).fetchone()["seq"]
    assert seq is None, "the next write chained the forged version"
    rep = _verify(sample_db)
    named = _named(rep, "history_chain")
    assert f"fl.record_log id={forged}" in named, named
    assert "no seal of its own" in named[f"fl.record_log id={forged}"]


def test_a_disabled_history_trigger_is_a_finding(sample_db):
    c = sample_db.admin()
    c.execute("ALTER TABLE fl.app_user DISABLE TRIGGER app_user_record_update")
    rep = _verify(sample_db)
    assert "fl.app_user.app_user_record_update" in _named(rep, "catalogue")


def psycopg_json(d):
    from psycopg.types.json import Jsonb

    return Jsonb(d)
