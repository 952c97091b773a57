"""ATTACK16b D3: C5 stays for ever on a ledger upgraded to 0123 that closed a December as a month
before it — the year is still unclosable, and the upgrade neither repairs nor names it.

0123 refuses closing December as a month while its year has entries and no close (C5: the year
close posts its closing entries dated 31 December, and an entry dated in a closed month is refused,
the close's own included). That guards new closes only. Before 0123 nothing refused `close period
2024-12` — the ordinary monthly routine every office runs in early January (C5's words) — so a
production ledger that ran through a December before upgrading has that December closed as a month,
and after the upgrade: `close year --year 2024 --date 2024-12-31` is still refused (period_closed on
its own closing entry), closed months never reopen, so no shortfall rule, no government share, no
later year's close, and every later month's close is refused too (0123: "close year 2024 first").
The migration (and the verdicts) leave it as it is: the ledger's years are bricked.

The state before the upgrade is made by the previous release's own ``fl.close_period`` (0018's
definition, put back for the close and replaced by 0123's again after it: the upgrade), called by the
reviewer.

Safe behaviour asserted: after the upgrade the year still closes (the year close's own entries are
the one thing a December closed as a month takes, or the upgrade reopens such a December for its
year close) — and the months after it can be closed again.
"""

from __future__ import annotations

import pytest

from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack16b_upgraded_month_order import _previous_close_period

pytestmark = pytest.mark.db

U81 = "230881"


def test_a_december_closed_as_a_month_before_0123_does_not_stop_the_year_close(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-02-01", "230822", "5000.00"))
    post(fin, collect("c81", "2024-03-01", U81, "1000.00"))
    post(fin, pay_from_special("p81", "2024-05-15", U81, "1500.00"))  # 230881: a deficit of 500.00
    fin.commit()
    a = ledger_db.admin()
    current = a.execute("SELECT pg_get_functiondef('fl.close_period(date,text)'::regprocedure) AS d").fetchone()["d"]
    a.execute(_previous_close_period())
    try:
        rev = ledger_db.connect("rev", autocommit=True)
        for m in range(1, 13):                       # the monthly routine, December included
            rev.execute("SELECT fl.close_period(%s, 'monthly close')", (f"2024-{m:02d}-01",))
    finally:
        a.execute(current)                           # the upgrade: 0123's close in place

    year = ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev",
                         env={"FUNDLEDGER_LANG": "zh"})
    # On main: refused, period_closed on the close's own 2024-12-31 entry — for ever
    assert year.exit_code == 0, year
    n = a.execute("SELECT count(*) AS n FROM fl.year_close WHERE year = 2024").fetchone()["n"]
    assert n >= 1
    assert ledger_db.cli("close", "period", "2025-01", user="rev").exit_code == 0
