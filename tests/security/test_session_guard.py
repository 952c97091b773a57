"""ATTACK6 T4 and T12, as the insider does them (sql/0047_session_guard.sql).

T4: the superuser `SET SESSION AUTHORIZATION`s to one reviewer to make a held payment out
of the special account and to another to confirm it — one person, maker and checker under
two real names, every history version and event naming them. Every API call now refuses a
session whose session_user is not the login that authenticated it.

T12: the superuser sets ``session_replication_role = replica`` on an officer's login
(ALTER ROLE … IN DATABASE … SET): every trigger is off for that login's writes, inside the
definer functions too. Every API call refuses such a session — tried through the officer's
own login."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db


def _money_out(key: str) -> str:
    """Dr 1004 county_exp / Cr 1003 special of 230822: real money, held for a second person."""
    return json.dumps(entry(key, "2023-03-10", "RES", leg("1004", "230822", "D", "1000.00", "county_exp"),
                            leg("1003", "230822", "C", "1000.00", "special")))


def _refused(conn: psycopg.Connection, query: str, params: object = None) -> psycopg.Error:
    try:
        with conn.transaction():
            conn.execute(query, params).fetchall()
    except psycopg.Error as e:
        return e
    raise AssertionError(f"not refused: {query}")


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    post(ledger_db.connect("fin", autocommit=True), collect("seed-22", "2023-01-05", "230822", "100000.00"))
    return ledger_db


def _counts(db: LedgerDB) -> dict[str, int]:
    row = db.admin().execute("""SELECT (SELECT count(*) FROM fl.entry) AS entries,
                                       (SELECT count(*) FROM fl.pending_entry) AS held,
                                       (SELECT count(*) FROM fl.closed_period) AS closes,
                                       (SELECT count(*) FROM fl.app_user) AS users""").fetchone()
    return dict(row)


def test_the_superuser_cannot_act_as_two_people(funded: LedgerDB) -> None:
    """T4's reproduction: maker and checker of one payment by one superuser session."""
    before = _counts(funded)
    su = funded.connect(None, autocommit=True)
    su.execute("SET SESSION AUTHORIZATION rev")
    assert su.execute("SELECT session_user AS u").fetchone()["u"] == "rev"
    e = _refused(su, "SELECT * FROM fl.post_entries(%s::jsonb)", (_money_out("x-1"),))
    assert e.diag.constraint_name == "session_impersonated", e
    assert "authenticated as postgres but acts as rev" in str(e), e
    # Every other API path goes through the same door: a decision, a close, a user, a request.
    for q in ("SELECT * FROM fl.close_period('2023-01-01', 'x')",
              "SELECT fl.add_user('mallory', 'admin', NULL)",
              "SELECT * FROM fl.request_approve(1, 100)",
              "SELECT * FROM fl.confirm_entry(1)",
              "SELECT * FROM fl.reject_entry(1, 'dup')",
              "SELECT fl.caller()"):
        e = _refused(su, q)
        assert e.diag.constraint_name == "session_impersonated", (q, e)
    # The held entry made by rev's own login, "confirmed" by the superuser acting as fin.
    rev = funded.connect("rev", autocommit=True)
    held = rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_money_out("x-2"),)).fetchone()
    assert held["status"] == "held"
    su.execute("RESET SESSION AUTHORIZATION")
    su.execute("SET SESSION AUTHORIZATION fin")
    e = _refused(su, "SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    assert e.diag.constraint_name == "session_impersonated", e
    # SET ROLE leaves session_user the superuser itself: not a fundledger user, refused as before.
    su.execute("RESET SESSION AUTHORIZATION")
    su.execute("SET ROLE fin")
    _refused(su, "SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    e = _refused(su, "SELECT fl.caller()")
    assert e.diag.constraint_name == "permission_denied" and "postgres is not a fundledger user" in str(e), e
    su.execute("RESET ROLE")
    after = _counts(funded)
    assert after == {**before, "held": before["held"] + 1}, (before, after)
    # Control: fin's own login confirms.
    fin = funded.connect("fin", autocommit=True)
    assert fin.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],)).fetchone()["status"] == "posted"


def test_a_replica_session_is_refused_through_the_officers_own_login(funded: LedgerDB) -> None:
    """T12's reproduction: the role setting placed by the superuser, the write by the officer."""
    admin = funded.admin()
    admin.execute(f'ALTER ROLE o22 IN DATABASE "{funded.name}" SET session_replication_role = replica')
    before = _counts(funded)
    o22 = funded.connect("o22", autocommit=True)
    assert o22.execute("SELECT current_setting('session_replication_role') AS s").fetchone()["s"] == "replica"
    reclass = json.dumps(entry("srr-1", "2023-03-10", "RES", leg("1101", "230822", "D", "5000000.00"),
                               leg("2001", "230822", "C", "5000000.00")))
    for q, p in (("SELECT * FROM fl.post_entries(%s::jsonb)", (reclass,)),
                 ("SELECT * FROM fl.post_entries(%s::jsonb)", (_money_out("srr-2"),)),
                 ("SELECT * FROM fl.import_stage('payments')", None),
                 ("SELECT * FROM fl.request_submit('230822', 'RES', 'county_exp', 2023, 2, 100, 'x', 'k1')", None)):
        e = _refused(o22, q, p)
        assert e.diag.constraint_name == "session_replica", (q, e)
        assert "session_replication_role = replica" in str(e)
    assert _counts(funded) == before
    # The officer cannot set it back on without the server's say, nor on for itself.
    _refused(o22, "SET session_replication_role = origin")
    admin.execute(f'ALTER ROLE o22 IN DATABASE "{funded.name}" RESET session_replication_role')
    o22 = funded.connect("o22", autocommit=True)
    assert o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (reclass,)).fetchone()["status"] == "posted"


def test_the_check_leaves_no_stale_view_of_the_server(funded: LedgerDB) -> None:
    """The login is read from the server's backend status table; the copy PostgreSQL keeps
    for the transaction is dropped at once, so a later read of pg_stat_activity in the same
    transaction (the stuck-writer guards after a lock wait) sees the server as it is then."""
    rev = funded.connect("rev")
    rev.execute("SELECT fl.caller()")
    row = rev.execute("SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()
    assert "pg_stat_activity" in row["query"], row
    rev.rollback()
