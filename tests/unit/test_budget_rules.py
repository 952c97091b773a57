"""The budget rules of ledger.core.budget and the plan reader of ledger.core.plan, by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.budget import (
    CITY,
    BudgetLine,
    SurplusRange,
    UnitBudget,
    changed_lines,
    check_budget,
    consolidate,
    planned_months,
)
from ledger.core.plan import read_plan
from ledger.errors import BadInput

RNG = SurplusRange()


def test_surplus_range_edges() -> None:
    # 5 % of 1,000.00 is 50.00: exactly at the top is within range, one fen more is not.
    assert check_budget("230822", "RES", 100_000, 95_000, RNG) == []
    [c] = check_budget("230822", "RES", 100_000, 94_999, RNG)
    assert (c.code, c.balance, c.rate) == ("surplus_above_range", 5_001, Decimal("5.00"))
    [d] = check_budget("230822", "RES", 100_000, 100_001, RNG)
    assert (d.code, d.balance, d.rate) == ("planned_deficit", -1, Decimal("0.00"))
    assert check_budget("230822", "RES", 100_000, 100_000, RNG) == []          # exact balance: 0 % is in 0–5
    [e] = check_budget("230822", "RES", 100_000, 100_000, SurplusRange(Decimal("1"), Decimal("5")))
    assert e.code == "surplus_below_range"
    [f] = check_budget(CITY, "RES", 0, 1, RNG)
    assert (f.code, f.rate) == ("planned_deficit", None)
    with pytest.raises(BadInput):
        SurplusRange(Decimal("6"), Decimal("5"))


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_exactly_one_finding_or_none_and_it_matches_the_figures(rev: int, exp: int) -> None:
    found = check_budget("u", "RES", rev, exp, RNG)
    assert len(found) <= 1
    bal = rev - exp
    want = "planned_deficit" if bal < 0 else ("surplus_above_range" if bal * 100 > 5 * rev else None)
    assert (found[0].code if found else None) == want


def test_consolidation_sums_every_line_and_checks_the_city() -> None:
    a = UnitBudget("A", "RES", 1, (BudgetLine("", "4001", "revenue", 100), BudgetLine("", "5001", "expenditure", 90)))
    b = UnitBudget("B", "RES", 2, (BudgetLine("", "4001", "revenue", 50), BudgetLine("", "5101", "expenditure", 70)))
    [cb] = consolidate([a, b], RNG)
    assert [(ln.line, dict(ln.by_unit), ln.total) for ln in cb.lines] == [
        ("4001", {"A": 100, "B": 50}, 150), ("5001", {"A": 90}, 90), ("5101", {"B": 70}, 70)]
    assert (cb.revenue[CITY], cb.expenditure[CITY]) == (150, 160)
    assert {(c.scope, c.code) for c in cb.checks} == {("A", "surplus_above_range"), ("B", "planned_deficit"),
                                                      (CITY, "planned_deficit")}


def test_changed_lines_names_added_removed_and_changed() -> None:
    old = [BudgetLine("", "5001", "expenditure", 10), BudgetLine("", "5101", "expenditure", 5)]
    new = [BudgetLine("", "5001", "expenditure", 12), BudgetLine("", "4001", "revenue", 3)]
    assert [(c.line, c.before, c.after) for c in changed_lines(old, new)] == [
        ("4001", 0, 3), ("5001", 10, 12), ("5101", 5, 0)]


def test_planned_months() -> None:
    q = {1: 300, 2: 280, 3: 280, 4: 290}
    assert planned_months("quarter", q, 3) == 300
    assert planned_months("quarter", q, 4) == 300 + 93        # 280 × 1 ÷ 3 = 93.33 → 93
    assert planned_months("quarter", q, 5) == 300 + 187       # 280 × 2 ÷ 3 = 186.67 → 187
    assert planned_months("quarter", q, 12) == 1150
    assert planned_months("month", {1: 10, 2: 20, 3: 30, 4: 40}, 3) == 60
    with pytest.raises(BadInput):
        planned_months("week", q, 3)


def test_plan_reader_lists_every_problem_by_row_and_column() -> None:
    books = {"RES": (), "EMP": ("pooled", "personal")}
    rows = [(2, ("2025", "230822", "RES", "Q1", "expenditure", "1.00", "")),
            (3, ("2025", "230822", "RES", "5", "expenditure", "1.00", "")),        # month in a quarterly plan
            (4, ("25", "999", "XXX", "Q9", "spend", "-1", "")),
            (5, ("2025", "230822", "RES", "Q1", "支出", "2.00", "")),               # Q1 again
            (6, ("2025", "230822", "EMP", "Q1", "revenue", "2.00", ""))]            # EMP needs a component
    good, errors = read_plan("plan.csv", rows, {"230822"}, books)
    assert [(g.period, g.amount) for g in good] == [(1, 100)]
    assert sorted((e.row, e.column) for e in errors) == [
        (3, "period"), (4, "amount"), (4, "book"), (4, "kind"), (4, "period"), (4, "unit"), (4, "year"),
        (5, "period"), (6, "component")]


def test_performance_scores_clip_and_weights_refuse_nonsense() -> None:
    from ledger.core.performance import DEFAULT_WEIGHTS, UnitYear, check_weights, ranked, review

    # Spent 150 % of its budget: 100 − 2 × 50 = 0 (clipped, not −0); no revenue: the
    # balance rate does not exist and scores 0; nothing owed by the government: 100.
    u = UnitYear("A", "RES", 100, 100, 0, 0, 150, 0, None, 0, 0)
    r = review(u, DEFAULT_WEIGHTS, RNG)
    by = {s.indicator: (s.value, s.score) for s in r.scores}
    assert by["expenditure_execution"] == (Decimal("150.00"), Decimal("0.00"))
    assert by["balance_rate"] == (None, Decimal(0)) and by["government_shares"][1] == Decimal("100.00")
    assert by["requests_vs_spending"] == (Decimal("0.00"), Decimal("100.00"))
    # total = (15×0 [rev 0 %] + 15×0 + 15×0 [no 4001 budget] + 15×0 + 15×0 + 10×100 + 15×100) ÷ 100 = 25.00
    assert r.total == Decimal("25.00")
    # Only the requests weight: the total is that one score.
    assert review(u, check_weights({k: 0 for k in DEFAULT_WEIGHTS} | {"requests_vs_spending": 1}),
                  RNG).total == Decimal("100.00")
    for bad in ({"nonsense": 1}, {"balance_rate": -1}, {k: 0 for k in DEFAULT_WEIGHTS}, {"balance_rate": "x"}):
        with pytest.raises(BadInput):
            check_weights(bad)
    a, b = review(u, DEFAULT_WEIGHTS, RNG), review(UnitYear("B", "RES", 100, 100, 0, 0, 150, 0, None, 0, 0),
                                                  DEFAULT_WEIGHTS, RNG)
    assert [(x.unit, x.rank) for x in ranked([b, a])] == [("A", 1), ("B", 1)]      # a tie shares its rank
