"""ATTACK16 C5: closing December as a month makes the year unclosable, for ever.

`close period 2024-12` (``fl.close_period``) is a reviewer's ordinary monthly close — the one
every office runs in early January for December, before the year's final accounts — and nothing
refuses it. The year-end close (``fl.close_year_from_books``) then posts its closing entries dated
31 December (0100: a close is dated the last day of its year), and the journal's statement trigger
refuses every entry dated in a closed month, the close's own included (``period_closed``). Closed
months never reopen (docs/security.md, Periods): the year can never be closed, so the shortfall
rule is never applied, no government share is recorded, every later year's close is refused
(``year_close_order``) and the final accounts (决算) of that year and every later one cannot be
made. One reviewer — or the monthly routine done one month too far — stops the ledger's years.

(The demo knows it: ``ledger/demo/run.py`` closes months 1–11 only.)

Safe behaviour asserted: after December is closed as a month, the year still closes (its own
closing entries are the one thing a closed December takes), or closing December as a month is
refused while its year is open, saying to close the year instead.
"""

from __future__ import annotations

import pytest

from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U81 = "230881"


def test_closing_december_as_a_month_does_not_stop_the_year_close(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-02-01", "230822", "5000.00"))     # the pool the deficit draws on
    post(fin, collect("c81", "2024-03-01", U81, "1000.00"))
    post(fin, pay_from_special("p81", "2024-05-15", U81, "1500.00"))  # 230881: a deficit of 500.00
    fin.commit()

    dec = ledger_db.cli("close", "period", "2024-12", user="rev")
    year = ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev")
    # On main: December closes (exit 0), then the year close is refused: period_closed
    assert dec.exit_code != 0 or year.exit_code == 0, (dec, year)
    if year.exit_code == 0:
        n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.year_close WHERE year = 2024").fetchone()["n"]
        assert n >= 1
