"""ATTACK11 Y3: a held manual entry moves a closed year's revenue into the open year's result.

0082 refused reversing a ``year_close`` entry (ATTACK10 X13). The two city users it refused then wrote the
same thing by hand: finance holds a manual entry Dr 3001 fund balance / Cr 4001 contributions dated in the
open year, the bureau confirms it (maker-checker of the city: two people, as the rule asks). 2023's
collections, closed into 3001, count again as 2024's revenue — the year-end rule's current balance C of
2024 — shrinking 2024's deficit and the local government's share, while 2023 stays closed. Both verdicts
were whole: nothing said that the fund balance is the year-end close's to move.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db


def _revenue_2024(db: LedgerDB, unit: str) -> int:
    row = db.admin().execute(
        "SELECT coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0) AS n FROM fl.posting p "
        "JOIN fl.account a ON a.id = p.account_id WHERE a.chart_code = '4001' AND a.unit = %s "
        "AND p.entry_date >= '2024-01-01'", (unit,)).fetchone()
    assert row is not None
    return int(row["n"])


def test_y3_two_city_users_move_a_closed_years_revenue_into_the_open_year(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin"), collect("y3", "2023-03-01", "230822", "1000.00"))
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    doc = entry("y3-back", "2024-01-05", "RES", leg("3001", "230822", "D", "1000.00"),
                leg("4001", "230822", "C", "1000.00"), memo="2023 collections brought back")
    for p in doc["postings"]:
        p["amount"] = "1000.00"                                       # a document's amounts are yuan
    held = ledger_db.cli("--lang", "en", "entry", "post", "-", "--json", user="fin", input=json.dumps([doc]))
    if held.exit_code == 0 and held.json()[0].get("held_id"):
        ok = ledger_db.cli("entry", "confirm", str(held.json()[0]["held_id"]), "--json", user="rev")
        if ok.exit_code == 0:
            v = ledger_db.cli("verify", user="aud")
            raise AssertionError(
                f"2023's ¥1,000.00 of collections, closed into 3001, was posted again as 2024 revenue by hand: 2024's "
                f"4001 of 230822 now counts {_revenue_2024(ledger_db, '230822') / 100:.2f}, and verify exits "
                f"{v.exit_code}")
    out = held.stdout + held.stderr
    assert held.exit_code != 0 and "year-end close" in out, out
    assert _revenue_2024(ledger_db, "230822") == 0
