"""ATTACK16 C2: a closed month's figures change after its close — an entry dated in an earlier
month nobody closed goes through, and moves every balance "as at" the closed month's end.

`close period` (``fl.close_period``) closes one month, any month whose last day has passed, in any
order; the posting trigger refuses only an entry dated *in* a closed month
(``closed_period.month = date_trunc('month', entry_date)``). A month is not a prefix of the books:
closing March leaves February open, and closing January 2024 leaves December 2023 (its year not
closed yet, as in the README's quick start, where the opening is dated 2023-12-31 and 2023 is never
closed) open. An entry dated there changes the closing balances of every closed month after it —
the figures the bureau reported and filed a period digest for at the close.

Here a county officer, alone (a 1101/2001 reclass posts at once), moves the balance sheet of
closed January 2024; and the bureau's March close leaves February open to a collection that
changes March's closing balance on the special account.

Safe behaviour asserted: once a month of a book is closed, nothing is dated on or before its last
day — an entry in an earlier open month is refused (``period_closed``), or the close of a month
is refused while an earlier month of the ledger's data is open.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import collect, post, reclass

pytestmark = pytest.mark.db

U22 = "230822"


def _close(db, month: str) -> bool:
    rev = db.connect("rev", autocommit=True)
    try:
        rev.execute("SELECT fl.close_period(%s, 'monthly close')", (month,))
    except psycopg.errors.RaiseException:
        return False
    except psycopg.Error:
        return False
    return True


def _temp_balance(db, as_of: str) -> int:
    return db.admin().execute(
        """SELECT coalesce(sum(d.debits - d.credits), 0)::bigint AS b FROM fl.account a
             JOIN fl.account_day d ON d.account_id = a.id
            WHERE a.unit = %s AND a.chart_code = '1101' AND d.day <= %s""", (U22, as_of)).fetchone()["b"]


def test_an_officer_cannot_change_a_closed_months_balance_sheet_by_dating_into_last_year(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", U22, "1000.00"))
    fin.commit()
    assert _close(ledger_db, "2024-01-01")
    before = _temp_balance(ledger_db, "2024-01-31")

    o22 = ledger_db.connect("o22")
    try:
        post(o22, reclass("after-close", "2023-12-20", U22, "500000.00"))
        o22.commit()
    except psycopg.Error:
        o22.rollback()          # the safe outcome: refused
    # On main: posted at once; 暂付款 1101 of 桦南县 at 2024-01-31 (a closed month) 0.00 -> 500,000.00
    assert _temp_balance(ledger_db, "2024-01-31") == before


def test_closing_march_leaves_no_open_february_under_it(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22-jan", "2024-01-10", U22, "1000.00"))
    fin.commit()
    assert _close(ledger_db, "2024-01-01")
    march_closed = _close(ledger_db, "2024-03-01")        # February skipped
    if not march_closed:
        return                                             # safe: months close in order
    special = """SELECT coalesce(sum(d.debits - d.credits), 0)::bigint AS b FROM fl.account a
                   JOIN fl.account_day d ON d.account_id = a.id
                  WHERE a.unit = %s AND a.chart_code = '1003' AND d.day <= '2024-03-31'"""
    before = ledger_db.admin().execute(special, (U22,)).fetchone()["b"]
    fin = ledger_db.connect("fin")
    try:
        post(fin, collect("c22-feb", "2024-02-10", U22, "2000.00"))
        fin.commit()
    except psycopg.Error:
        fin.rollback()
    # On main: March closed, its closing share of the special account 1,000.00 -> 3,000.00
    assert ledger_db.admin().execute(special, (U22,)).fetchone()["b"] == before


def test_the_auditors_period_digest_names_an_entry_dated_under_the_closed_month(ledger_db, tmp_path):
    """The auditor's side of C2: `close period --digest-dir` files the period's digest; an entry
    dated before the closed month and written after it changes the month's closing balances, and
    `audit check-digest period-2024-01.json` still says "all invariants hold" (exit 0) — the digest
    filed to pin the closed month does not see its figures move."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", U22, "1000.00"))
    fin.commit()
    assert ledger_db.cli("close", "period", "2024-01", "--digest-dir", str(tmp_path), user="rev").exit_code == 0

    o22 = ledger_db.connect("o22")
    try:
        post(o22, reclass("after-close", "2023-12-20", U22, "500000.00"))
        o22.commit()
    except psycopg.Error:
        o22.rollback()
        return                                  # refused: safe
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "period-2024-01.json"), user="aud")
    # On main: exit 0, "all invariants hold"
    assert r.exit_code != 0, r
