"""ATTACK16b D6: `close period` closes every empty month back to the region's first year with it, for
ever, and says it closed one.

0123 closes the months before the one named that hold no entry ("closed with YYYY-MM (no entries)"),
from the region's first_year on — Jiamusi's 2021 — so that nothing can be dated under a closed month.
Closed months never reopen. On a ledger whose history is not loaded yet (the city records the current
months first and back-loads the years since the handover — openings, old collections — later) one
reviewer's `close period 2025-11` closes 59 months, 2021-01 … 2025-11, and every back-loaded entry is
refused for ever; the command prints only "2025-11 期间已结账" (the English: "period 2025-11 closed"),
nothing is asked, nothing says 58 other months were closed.

Safe behaviour asserted: the close names what it closes besides the month given (the empty months, as
a span and a count), so the one person who can do it irreversibly is told before anyone relies on it.
"""

from __future__ import annotations

import pytest

from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_close_period_names_the_empty_months_it_closes_with_it(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22-nov", "2025-11-10", "230822", "1000.00"))
    fin.commit()
    r = ledger_db.cli("close", "period", "2025-11", user="rev", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code == 0, r
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.closed_period").fetchone()["n"]
    assert n == 59                       # 2021-01 .. 2025-11: first_year 2021 (jiamusi.toml)
    # On main: stdout is only "2025-11 期间已结账"
    assert "2021-01" in r.stdout and "58" in r.stdout, r.stdout


def test_close_period_json_lists_the_months_closed_with_it(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22-mar", "2024-03-10", "230822", "1000.00"))
    fin.commit()
    r = ledger_db.cli("close", "period", "2024-03", "--json", user="rev")
    assert r.exit_code == 0, r
    out = r.json()
    assert out["month"] == "2024-03" and out["closed"] is True and out["digest"] is None
    assert out["closed_with_it"][0] == "2021-01" and out["closed_with_it"][-1] == "2024-02"
    assert len(out["closed_with_it"]) == 38
    again = ledger_db.cli("close", "period", "2024-03", "--json", user="rev").json()
    assert again == {"month": "2024-03", "closed": False, "closed_with_it": [], "digest": None}
