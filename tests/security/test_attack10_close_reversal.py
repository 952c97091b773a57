"""ATTACK10 X13: a year-close entry reversed into the next year brings the closed year's revenue back.

The year-end close moves each unit's revenue and expenditure into fund balance (Dr 4xxx / Cr 3001,
Dr 3001 / Cr 5xxx, kind ``year_close``). A reversal must be dated in an open period; the closed year's months
are closed, so ``entry reverse`` takes the next year's date — and is allowed (held: finance reverses, the
bureau confirms). Dr 3001 / Cr 4001 dated 2024-01-05 then puts 2023's collections into 2024's revenue: the
year-end rule's current balance C of 2024 counts money that arrived in 2023 — BRIEF §5's "one payment would
cover two years' gaps", through the correction path — while 2023 stays closed and can never be closed again.
Both verdicts are whole (``entry_dates`` allows a reversal after its original's year).
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_x13_a_year_close_entry_is_not_reversed_into_the_next_year(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin"), collect("x13", "2023-03-01", "230822", "1000.00"))
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    admin = ledger_db.admin()
    close = admin.execute("SELECT e.id FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a "
                          "ON a.id = p.account_id WHERE e.kind = 'year_close' AND a.chart_code = '4001' "
                          "AND a.unit = '230822'").fetchone()
    assert close is not None
    rv = ledger_db.cli("--lang", "en", "entry", "reverse", str(close["id"]), "--reason", "redo", "--date",
                       "2024-01-05", "--json", user="fin")
    if rv.exit_code == 0 and rv.json().get("held_id"):
        ok = ledger_db.cli("entry", "confirm", str(rv.json()["held_id"]), user="rev")
        if ok.exit_code == 0:
            rev24 = admin.execute(
                "SELECT coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0) AS n FROM fl.posting p "
                "JOIN fl.account a ON a.id = p.account_id WHERE a.chart_code = '4001' AND a.unit = '230822' "
                "AND p.entry_date >= '2024-01-01'").fetchone()["n"]  # type: ignore[index]
            v = ledger_db.cli("verify", user="aud")
            assert v.exit_code == 1, (
                f"2023's close of ¥1,000.00 of collections was reversed into 2024: 2024's revenue (4001, 230822) now "
                f"counts {rev24 / 100:.2f} that arrived in 2023, and verify exits {v.exit_code}")
