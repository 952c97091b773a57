"""ATTACK18 G8 (LOW/MED): 0143's guard (and 0138's, the same shape) reads ``fl.year_close`` without
waiting for a close in progress — a request is approved for the year being closed, and the ledger
then fails its own verdict.

``fl._closed_year_request`` (BEFORE UPDATE OF state on fl.fund_request) refuses an approval when
``EXISTS (SELECT 1 FROM fl.year_close …)``; at READ COMMITTED it does not see a close that has
written its row but not committed. The close (``fl.close_year_from_books``) takes SHARE ROW EXCLUSIVE
on fl.year_close and fl.closed_period, but an approval posts no entry and takes neither, so it does
not wait: the bureau's second reviewer approves 230822's 2023 Q4 request (1,200,000.00) while the
first reviewer's 2023 close runs; both commit. The closed year's performance review reads the
approval (requests_vs_spending: F9's very harm), and ``verify`` now names "approve (event 2) of fund
request 1 … after the year's close … (year_closed_reference)" — on a ledger every write of which
passed the database's rules. An approver who sees a close starting (the region's close runs for
seconds to minutes) times the approval into it.

Safe behaviour asserted: either the approval waits for the close and is refused, or it is not named
by the verdict — never both approved and accused.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U = "230822"


def test_g8_an_approval_during_the_close_is_refused_or_whole(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c", "2023-03-01", U, "2000000.00"), pay_from_special("p", "2023-06-15", U, "600000.00"))
    assert ledger_db.cli("request", "submit", "--year", "2023", "--quarter", "4", "--amount", "1200000.00",
                         "--note", "q4", user="o22").exit_code == 0
    rid = ledger_db.admin().execute("SELECT max(id) AS id FROM fl.fund_request").fetchone()["id"]

    closer = ledger_db.connect("rev")                          # the close, in progress
    closer.execute("SELECT * FROM fl.close_year_from_books(2023, '2023-12-31')").fetchall()
    appr = ledger_db.connect("rev2", autocommit=True)
    appr.execute("SET lock_timeout = '3s'")
    approved = True
    try:
        appr.execute("SELECT * FROM fl.request_approve(%s, NULL, '2023-12-20')", (rid,)).fetchall()
    except Exception:                                          # waited and refused (or timed out): secure
        approved = False
    closer.commit()
    state = ledger_db.admin().execute("SELECT state FROM fl.fund_request WHERE id = %s", (rid,)).fetchone()["state"]
    if not approved:
        assert state == "submitted"
        return
    r = ledger_db.cli("verify", "--json", user="aud")
    # On main: approved during the close, then verify exit 1 — "approve … after the year's close … (year_closed_reference)"
    assert "year_closed_reference" not in r.stdout, (state, r.stdout[-2000:])


def test_g8_a_budget_imported_during_the_close_is_refused_or_whole(ledger_db: LedgerDB, tmp_path) -> None:
    """0138's guard, the same shape: a first budget for 2023 imported while the 2023 close runs."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c", "2023-03-01", U, "2000000.00"), pay_from_special("p", "2023-06-15", U, "600000.00"))
    closer = ledger_db.connect("rev")
    closer.execute("SELECT * FROM fl.close_year_from_books(2023, '2023-12-31')").fetchall()
    b = tmp_path / "budget_2023.csv"
    b.write_text(f"year,unit,book,line,amount\n2023,{U},RES,4001,2000000.00\n2023,{U},RES,5001,600000.00\n", "utf-8")
    imp = ledger_db.cli("budget", "import", str(b), user="rev2")
    try:
        closer.commit()
    except psycopg.OperationalError:
        # Since 0156 the import waits for the close; the close here sits idle in its transaction
        # holding SHARE ROW EXCLUSIVE, and the waiting writer's stuck-writer guard (0050) ends it:
        # nothing was closed, and the budget is an open year's.
        assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.year_close WHERE year = 2023"
                                         ).fetchone()["n"] == 0
    if imp.exit_code != 0:
        return                                                    # waited and refused: secure
    r = ledger_db.cli("verify", "--json", user="aud")
    # On main: the budget is taken during the close, then verify names it (year_closed_reference)
    assert "year_closed_reference" not in r.stdout and "budget_year_closed" not in r.stdout, r.stdout[-2000:]
