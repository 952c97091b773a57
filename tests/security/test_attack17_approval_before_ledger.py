"""ATTACK17 E4: a fund request's approval may be dated years before the request's year and before
the ledger's first year — a business date no other record of the ledger may carry.

0126 (ATTACK15 A10) gave the approval a business date (``request approve --date``) so that "the
books can tell a true story from a back-dated one", and bounded it above only (not after the
region's today). Every entry date is held to the ledger's years (``entry_date_range``: from the
region's ``first_year``, 2021 for Jiamusi); the approval date is not bounded below at all: the
city bureau records that 桦南县's request for the second quarter of 2024 — submitted today — was
approved on 2000-01-01, and ``request show`` / ``report requests`` print it. The approval date is
what a disbursement may not precede, so the lower bound is the one that matters: any date the
reviewer types is accepted as "the day the approval was decided".

Safe behaviour asserted: an approval dated before the ledger's first year (and before the year
before the request's own year, when requests are filed ahead of their quarter) is refused in words
(``approval_date``), nothing written.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

SUBMIT = "SELECT * FROM fl.request_submit('230822', 'RES', '', 2024, 2, 100000, 'q2', 'e4')"


@pytest.mark.parametrize("day", ["2000-01-01", "2019-06-30"])
def test_e4_an_approval_is_not_dated_before_the_ledger_or_the_requests_year(ledger_db: LedgerDB, day: str) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("e4-c", "2024-01-05", "230822", "10000.00"))
    rid = int(ledger_db.connect("o22", autocommit=True).execute(SUBMIT).fetchone()["id"])
    rev = ledger_db.connect("rev", autocommit=True)
    try:
        rev.execute("SELECT id FROM fl.request_approve(%s, NULL, %s)", (rid, day))
    except psycopg.Error as e:
        assert e.diag.constraint_name == "approval_date", e
        return
    got = ledger_db.admin().execute("SELECT state, approved_on FROM fl.fund_request WHERE id = %s", (rid,)).fetchone()
    # On main: approved, approved_on 2000-01-01 — for a request of 2024 Q2 submitted in 2026
    pytest.fail(f"request {rid} (2024 Q2) was approved dated {got['approved_on']} ({got['state']})")


# Variants (the class: every business date a user types is held to the ledger's years, 0133).


def test_e4_an_approval_within_the_bounds_is_still_taken(ledger_db: LedgerDB) -> None:
    """The bound is not a wall against backlogs: a 2024 Q2 request approved on 2023-12-20 (the year
    before its own, filed ahead of its quarter) is taken and keeps that date."""
    post(ledger_db.connect("fin", autocommit=True), collect("e4-ok", "2023-01-05", "230822", "10000.00"))
    rid = int(ledger_db.connect("o22", autocommit=True).execute(SUBMIT).fetchone()["id"])
    ledger_db.connect("rev", autocommit=True).execute("SELECT id FROM fl.request_approve(%s, NULL, '2023-12-20')",
                                                      (rid,))
    got = ledger_db.admin().execute("SELECT approved_on FROM fl.fund_request WHERE id = %s", (rid,)).fetchone()
    assert str(got["approved_on"]) == "2023-12-20"


def test_e4_an_approval_dated_before_the_ledger_is_refused_on_the_cli_in_words(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("e4-cli", "2024-01-05", "230822", "10000.00"))
    rid = int(ledger_db.connect("o22", autocommit=True).execute(SUBMIT).fetchone()["id"])
    r = ledger_db.cli("--lang", "zh", "request", "approve", str(rid), "--date", "2000-01-01", user="rev")
    assert r.exit_code != 0 and "approval_date" in r.stderr and "Traceback" not in r.stderr, r
    assert "批复" in r.stderr or "审批" in r.stderr, r.stderr
    state = ledger_db.admin().execute("SELECT state FROM fl.fund_request WHERE id = %s", (rid,)).fetchone()["state"]
    assert state == "submitted"


@pytest.mark.parametrize("day", ["2099-03-01", "2000-01-01"])
def test_e4_a_bank_line_outside_the_ledgers_years_is_refused_and_nothing_written(
        ledger_db: LedgerDB, tmp_path, day: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "stmt.csv"
    f.write_text(f"date,amount,direction,reference,balance\n2023-03-01,1000.00,in,BK-1,1000.00\n"
                 f"{day},5.00,in,BK-2,1005.00\n", "utf-8")
    r = ledger_db.cli("reconcile", "import", str(f), "--account", "special", "--book", "RES", user="fin")
    assert r.exit_code != 0 and "statement_line_date" in r.stderr and "row 3" in r.stderr, r
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line").fetchone()["n"]
    assert n == 0
