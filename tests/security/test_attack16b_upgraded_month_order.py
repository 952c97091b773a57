"""ATTACK16b D1: on a ledger upgraded to 0123 whose months were closed out of order before it (the
ordinary state 0123's own header describes: "A ledger closed out of order before this migration keeps
its open months"), C2 is as open as before the fix — an officer alone still dates an entry into the
skipped month and changes the closed month's balances, and neither verdict, nor the filed period
digest, says a word.

0123 fixed C2 on the *close* side only (``fl.close_period`` closes the months before it in order); the
posting trigger still refuses only an entry dated *in* a closed month (``closed_period.month =
date_trunc('month', entry_date)``), and both verdicts judge an entry by its own month's close. So the
invariant "a closed month is a prefix of the books" holds only for closes made after 0123 — a
ledger that closed January and March 2024 under the previous release (February skipped: that release
allowed it, nothing said so) keeps February open under closed March until somebody next tries a
close, and nothing makes anyone do that. Meanwhile a county officer's 1101/2001 reclass (posts at
once, alone) dated in February moves closed March's balance sheet, and a collection by finance
dated in February moves March's closing balance of the special account.

The state before the upgrade is made by the previous release's own ``fl.close_period`` (0018's
definition, put back for the two closes and replaced by 0123's again after them: the upgrade), called
by the reviewer: January and March 2024 closed, February skipped.

Safe behaviour asserted: after the upgrade, nothing is dated on or before the last day of a closed
month (the posting rule refuses an entry dated before the latest closed month, as 0105 does for a
closed year — the class on the posting side, whatever wrote the closes), or the migration closed the
skipped months under a closed one.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import collect, post, reclass

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.db

U22 = "230822"


def _temp_balance(db, as_of: str) -> int:
    return db.admin().execute(
        """SELECT coalesce(sum(d.debits - d.credits), 0)::bigint AS b FROM fl.account a
             JOIN fl.account_day d ON d.account_id = a.id
            WHERE a.unit = %s AND a.chart_code = '1101' AND d.day <= %s""", (U22, as_of)).fetchone()["b"]


def _previous_close_period() -> str:
    """fl.close_period as the release before 0123 defined it (0018's, the latest before 0123)."""
    text = (ROOT / "sql" / "0018_duties.sql").read_text("utf-8")
    start = text.index("CREATE OR REPLACE FUNCTION fl.close_period(")
    return text[start:text.index("END $function$;", start) + len("END $function$;")]


def _closed_out_of_order_before_0123(db) -> None:
    """January and March 2024 closed by the reviewer, February skipped, as fl.close_period allowed
    before 0123; then the database is upgraded (0123's definition back in place)."""
    fin = db.connect("fin")
    post(fin, collect("c22-jan", "2024-01-10", U22, "1000.00"))
    post(fin, collect("c22-mar", "2024-03-10", U22, "1000.00"))
    fin.commit()
    a = db.admin()
    current = a.execute("SELECT pg_get_functiondef('fl.close_period(date,text)'::regprocedure) AS d").fetchone()["d"]
    a.execute(_previous_close_period())
    try:
        rev = db.connect("rev", autocommit=True)
        rev.execute("SELECT fl.close_period('2024-01-01', 'monthly close')")
        rev.execute("SELECT fl.close_period('2024-03-01', 'monthly close')")
    finally:
        a.execute(current)                  # the upgrade: 0123's close in place
    assert a.execute("SELECT count(*) AS n FROM fl.closed_period").fetchone()["n"] == 2


def test_an_officer_cannot_date_into_a_month_skipped_before_the_upgrade(ledger_db):
    _closed_out_of_order_before_0123(ledger_db)
    before = _temp_balance(ledger_db, "2024-03-31")
    o22 = ledger_db.connect("o22")
    try:
        post(o22, reclass("under-march", "2024-02-20", U22, "500000.00"))
        o22.commit()
    except psycopg.Error:
        o22.rollback()          # the safe outcome: refused
    # On main: posted at once; 暂付款 1101 of 桦南县 at 2024-03-31 (a closed month) 0.00 -> 500,000.00
    assert _temp_balance(ledger_db, "2024-03-31") == before


def test_verify_names_an_entry_dated_under_a_closed_month(ledger_db):
    """If such an entry is on the books (written before a fix, or by the path left open), the
    auditor's verify names it: an entry dated before a closed month, written after that close."""
    _closed_out_of_order_before_0123(ledger_db)
    o22 = ledger_db.connect("o22")
    try:
        post(o22, reclass("under-march-v", "2024-02-20", U22, "500000.00"))
        o22.commit()
    except psycopg.Error:
        o22.rollback()
        return                  # refused: nothing to name
    v = ledger_db.cli("verify", "--json", user="aud")
    # On main: exit 0, every check ok
    assert v.exit_code != 0, v.stdout[-1500:]


def test_the_period_digest_filed_before_the_upgrade_sees_the_closed_month_move(ledger_db, tmp_path):
    """The auditor's side (C2's third test) on the upgraded ledger: March's period digest, filed at
    its close (`close period 2024-03 --digest-dir`, February skipped, under the previous release),
    still says "all invariants hold" after the officer's entry dated in February moved March's
    closing balances."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22-jan", "2024-01-10", U22, "1000.00"))
    post(fin, collect("c22-mar", "2024-03-10", U22, "1000.00"))
    fin.commit()
    a = ledger_db.admin()
    current = a.execute("SELECT pg_get_functiondef('fl.close_period(date,text)'::regprocedure) AS d").fetchone()["d"]
    a.execute(_previous_close_period())
    try:
        assert ledger_db.cli("close", "period", "2024-01", user="rev").exit_code == 0
        assert ledger_db.cli("close", "period", "2024-03", user="rev").exit_code == 0
    finally:
        a.execute(current)
    # March's digest as its close filed it: taken once the release's own function is back, since
    # a digest is refused while the verdict's catalogue check names a changed function (ATTACK18b
    # H2) — this stand-in for the previous release is one; nothing was written in between.
    assert ledger_db.cli("audit", "digest", "--out", str(tmp_path / "period-2024-03.json"), user="aud").exit_code == 0
    o22 = ledger_db.connect("o22")
    try:
        post(o22, reclass("under-march-d", "2024-02-20", U22, "500000.00"))
        o22.commit()
    except psycopg.Error:
        o22.rollback()
        return                                  # refused: safe
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "period-2024-03.json"), user="aud")
    # On main: exit 0, "all invariants hold"
    assert r.exit_code != 0, r
