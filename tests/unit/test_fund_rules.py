"""ledger.core.fund_rules over hand-made rows: the close's equations are the shortfall rule's,
and a stored table, a register item and an allocation are judged as the API would."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given
from hypothesis import strategies as st

from ledger.core import fund_rules
from ledger.core.shortfall import ShortfallInput, apply_shortfall_rule

FEN = st.integers(0, 10**12)


@given(revenue=FEN, expenditure=FEN, surplus=st.integers(-10**12, 10**12), owed=FEN, data=st.data())
def test_the_close_equations_are_the_shortfall_rule(revenue: int, expenditure: int, surplus: int, owed: int,
                                                    data: st.DataObject) -> None:
    receipts = data.draw(st.integers(0, owed))
    alloc = data.draw(FEN)
    i = ShortfallInput("230822", "RES", revenue, expenditure, surplus, receipts, owed, alloc)
    r = apply_shortfall_rule(i)
    got = fund_rules.rule_columns({"revenue": revenue, "expenditure": expenditure, "surplus_before": surplus,
                                   "share_receipts": receipts, "outstanding_before": owed,
                                   "adjustment_receipts": alloc})
    assert got == {k: getattr(r, k) for k in got}


def _rows(result: list[dict[str, int | str]], *, government_item: int | None = None) -> fund_rules.FundRows:
    """One county, RES, 2023: revenue 1,000 and expenditure 1,600 on the days, S0 0."""
    f = fund_rules.FundRows(pooled={"RES": ""}, chart_kind={"4001": "revenue", "5001.inpatient": "expenditure",
                                                            "3001": "fund_balance"})
    f.acct = {"1": ("RES", "4001", "230822", "", ""), "2": ("RES", "5001.inpatient", "230822", "", ""),
              "3": ("RES", "3001", "230822", "", "")}
    f.day("1", "2023-02-01", "0", "100000")
    f.day("2", "2023-04-30", "160000", "0")
    # the close's entries (dated 2023-12-31) move both to 3001
    for aid, side, amount in (("1", "D", 100000), ("3", "C", 100000), ("2", "C", 160000), ("3", "D", 160000)):
        f.posting(90 if aid != "2" else 91, aid, side, amount)
        f.day(aid, "2023-12-31", str(amount if side == "D" else 0), str(amount if side == "C" else 0))
    f.closing = {90: ("RES", 2023), 91: ("RES", 2023)}
    f.closes = [["2023", "RES", "2024-01-02 08:00:00+00", "2023-12-31",
                 json.dumps({"component": "", "rule": "across_years_adjustment_fund", "rows": result})]]
    if government_item is not None:
        f.items = [["7", "government_share", "230822", "RES", str(government_item), "2023-12-31", "2023",
                    "govshare:2023:RES:230822"]]
    return f


def _honest() -> list[dict[str, int | str]]:
    r = apply_shortfall_rule(ShortfallInput("230822", "RES", 100000, 160000, 0))
    return [{k: getattr(r, k) for k in ("unit", "revenue", "expenditure", "current_balance", "surplus_before",
                                          "covered_by_surplus", "government_share", "surplus_after",
                                          "revenue_on_books", "share_receipts", "surplus_before_on_books",
                                          "outstanding_before", "outstanding_after", "surplus_after_on_books",
                                          "adjustment_receipts", "covered_by_adjustment_fund")}]


def test_an_honest_close_and_its_item_pass() -> None:
    assert list(fund_rules.findings(_rows(_honest(), government_item=60000))) == []


def test_a_close_without_its_item_or_with_another_amount() -> None:
    assert [m for m, _ in fund_rules.findings(_rows(_honest()))] == [
        "the close of 2023 for book RES: unit 230822's government share is 600.00; the register holds no item for it "
        "— the close opens one item of the share (year_close_result)"]
    found = [m for m, _ in fund_rules.findings(_rows(_honest(), government_item=50000))]
    assert len(found) == 1 and "item 7 of 500.00" in found[0]


def test_a_stored_table_off_the_books() -> None:
    table = _honest()
    table[0]["expenditure"] = 150000
    found = [m for m, _ in fund_rules.findings(_rows(table, government_item=60000))]
    assert found == ["the close of 2023 for book RES: unit 230822's expenditure is 1,500.00 in the stored table; the "
                     "books give 1,600.00 — the table does not match the books (year_close_result)"]


def test_allocation_dates() -> None:
    f = _rows(_honest(), government_item=60000)
    at = dt.datetime(2023, 11, 20, tzinfo=dt.UTC)
    f.entries = {
        5: fund_rules.Entry("adjfund_alloc", "RES", "2023-11-20", "adjfund-alloc:a:230822", {"year": 2023}, at),
        6: fund_rules.Entry("adjfund_alloc", "RES", "2024-01-05", "adjfund-alloc:b:230822", {"year": 2023}, at),
        8: fund_rules.Entry("adjfund_remit", "RES", "2024-01-05", "adjfund-remit:2023:RES:230822", {"year": 2023}, at),
    }
    found = {eid: m for m, eid in fund_rules.adjfund_date_findings(f)}
    assert set(found) == {6, 8}
    assert "dated 2024-01-05, before its year's close" in found[6] and "a remittance for a year" in found[8]
