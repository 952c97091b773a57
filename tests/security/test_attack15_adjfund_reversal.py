"""ATTACK15 (e): an in-year adjustment-fund allocation, once reversed, is still counted as received.

0082 swept "the kinds whose meaning is tied to a year" for their reversals, but not the in-year
adjustment-fund allocation (调剂金, kind ``adjfund_alloc``). The year-end rule
(``fl.year_figures_v3``) and the monitor take the year's allocations from the entries of kind
``adjfund_alloc`` alone, so the allocation's reversal (kind ``reversal``: the province took the
money back, or finance recorded it by mistake) is never subtracted: after the reversal the books
hold nothing on 4401 for the unit, yet ``report shortfall`` still says the adjustment fund paid
in and covered the gap, its revenue (C's input) is the books' revenue *less* money that is no
longer there, and the current balance C shows a deficit larger than the books' by the whole
allocation. The statement (4401 on the books: 0) and the shortfall report (adjustment receipts
300.00) disagree at the same date, with no reconciling line that explains it. And the correction
city finance then makes — the right allocation — is measured against a cap that still counts the
reversed one.

Fixed when an allocation's reversal undoes it for the rule (the allocations read net of their
reversals, in both the rule and the monitor, and in the caps), or when such a reversal is refused
as 0082 refuses the close's.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirmed
from tests.security.test_adjfund import _fund, _year_with_gaps

pytestmark = pytest.mark.db


def test_a15_a_reversed_allocation_is_not_counted_as_received(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    _year_with_gaps(ledger_db)               # 230822: revenue 1,000, expenditure 1,600 (gap 600); 230881 gap 200
    fin = ledger_db.connect("fin", autocommit=True)
    rows = fin.execute("SELECT unit, amount, entry_id FROM fl.adjfund_allocate(2023, 'RES', 40000, '2023-05-01', 'a1')"
                       ).fetchall()
    mine = next(r for r in rows if r["unit"] == "230822")
    assert mine["amount"] == 30000
    rev = confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, 'recorded by mistake', '2023-05-02', 'a15-rev')",
                    (mine["entry_id"],), checker="rev")
    assert rev["status"] == "posted", rev
    on_books = ledger_db.admin().execute(
        """SELECT coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0) AS n
             FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
            WHERE a.chart_code = '4401' AND a.unit = '230822' AND a.book = 'RES'""").fetchone()["n"]
    assert on_books == 0                     # the books: the allocation and its reversal cancel
    r = ledger_db.cli("report", "shortfall", "--year", "2023", "--json", user="aud")
    assert r.exit_code == 0, r
    row = next(x for x in r.json() if x["unit"] == "230822" and x["book"] == "RES")
    assert (row["adjustment_receipts"], row["current_balance"]) == ("0.00", "-600.00"), (
        f"after the allocation's reversal the books hold 0.00 on 4401 for 230822 (revenue 1,000.00, expenditure "
        f"1,600.00: C -600.00), but report shortfall says adjustment receipts {row['adjustment_receipts']}, "
        f"covered by the adjustment fund {row.get('covered_by_adjustment_fund')}, current balance "
        f"{row['current_balance']}: {row}")
