"""The forecast's pure parts: the seasonal profile, the robust damped trend, the
shortfall rule across forecast years, and its error on a held-out year against
seasonal naive (docs/forecast.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.core.backtest import backtest, errors, mean, seasonal_naive
from ledger.core.forecast import Assumptions, MonthFlows, fit_series, forecast_unit, origin_for, profile_of
from ledger.core.monitor import Colour, Thresholds
from ledger.demo.history import Scenario, generate
from ledger.errors import BadInput

DOCS = Path(__file__).resolve().parents[2] / "docs" / "forecast.md"


def months(year: int, values: list[int], **kw: int) -> list[MonthFlows]:
    return [MonthFlows(dt.date(year, m, 1), expenditure=v, **kw) for m, v in enumerate(values, 1)]


def test_profile_is_the_median_share_and_handles_empty_months():
    # Money arrives in March and July only; one year (the middle) is abnormal.
    years = [[0, 0, 500, 0, 0, 0, 500, 0, 0, 0, 0, 0], [0, 0, 900, 0, 0, 0, 100, 0, 0, 0, 0, 0],
             [0, 0, 520, 0, 0, 0, 480, 0, 0, 0, 0, 0]]
    p = profile_of([v for y in years for v in y], 12)
    assert p[2] == Decimal("0.52") and p[6] == Decimal("0.48") and p[0] == 0 and sum(p) == 1
    # Fewer than 12 months: flat; 12 months not starting in January: realigned by calendar month.
    assert profile_of([5, 7], 2) == tuple(Decimal(1) / 12 for _ in range(12))
    p = profile_of([10] * 6 + [20] * 6, 6)        # July..June
    assert p[6] == p[11] == Decimal(10) / 180 and p[0] == p[5] == Decimal(20) / 180


def test_growth_is_the_median_clipped_and_the_level_robust_to_one_year():
    a = Assumptions()
    # Four years growing 10 % with the third year's spending down 40 % (an epidemic).
    totals = [1200, 1320, 871, 1597]           # 1452 expected in year 3, 1597.2 in year 4
    series = [t * 100 for t in totals for _ in range(12)]   # monthly fen
    m = fit_series(series, 12, robust_level=True, growth=None, a=a)
    # ratios 0.10, −0.340…, 0.833… → median 0.10; level = median of each year carried
    # forward at 10 %: 1200·1.331 = 1597.2, 1320·1.21 = 1597.2, 871·1.1 = 958.1, 1597.
    assert m.growth == Decimal("0.1") and m.estimated
    # sorted: 958.1, 1597, 1597.2, 1597.2 → median (1597 + 1597.2) ÷ 2 = 1597.1 a year, × 1200 fen-months
    assert m.level == Decimal("1916520")
    assert m.annual(1) == m.level * Decimal("1.1") and m.annual(2) == m.level * Decimal("1.1") * Decimal("1.08")
    wild = fit_series([100] * 12 + [300] * 12, 12, robust_level=False, growth=None, a=a)
    assert wild.growth == Decimal("0.15")      # +200 % clipped to max_growth
    assumed = fit_series([100] * 24, 12, robust_level=True, growth=Decimal("0.05"), a=a)
    assert not assumed.estimated and assumed.annual(2) == Decimal(1200) * Decimal("1.05") ** 2


def test_government_share_across_forecast_years():
    """BRIEF §5 across years: revenue 900 and spending 1,000 a month in 2023, surplus
    1,500 brought in (so 300 at the end of 2023), and 200 still owed by the government at
    the origin. 2024: C = 10,800 − 12,000 = −1,200; S before = 300 + 200 owed = 500;
    covered 500, government 700, S after 0. The 200 arrives in January 2024 (one month
    after the origin) and is not revenue; 700 arrives in January 2025. 2025: S before 0,
    C −1,200, government 1,200, S after 0."""
    hist = [MonthFlows(dt.date(2023, m, 1), contributions=900, expenditure=1000, equity=1500 if m == 1 else 0)
            for m in range(1, 13)]
    f = forecast_unit("U", "RES", hist, origin=dt.date(2023, 12, 31), years=2, outstanding=200,
                      assumptions=Assumptions(), thresholds=Thresholds())
    assert f.start.surplus == 300
    assert [(y.year, y.current_balance, y.surplus_before, y.covered_by_surplus, y.government_share,
             y.surplus_after) for y in f.years] == [(2024, -1200, 500, 500, 700, 0), (2025, -1200, 0, 0, 1200, 0)]
    got = {p.month: p for p in f.path}
    assert got[dt.date(2024, 1, 1)].government_received == 200
    assert got[dt.date(2024, 1, 1)].surplus == 300 + 200 - 100
    assert got[dt.date(2024, 12, 1)].surplus == 300 + 200 - 1200 and got[dt.date(2024, 12, 1)].colour == Colour.red
    assert got[dt.date(2024, 12, 1)].government_outstanding == 700
    assert got[dt.date(2025, 1, 1)].government_received == 700
    assert f.first_red == dt.date(2024, 1, 1)   # 400 × 12 ÷ 12,000 = 0.40 months


def test_inputs_are_refused():
    with pytest.raises(BadInput):
        forecast_unit("U", "RES", [], origin=dt.date(2023, 12, 31), years=1, outstanding=0,
                      assumptions=Assumptions(), thresholds=Thresholds())
    with pytest.raises(BadInput):
        forecast_unit("U", "RES", months(2023, [1] * 12), origin=dt.date(2023, 12, 30), years=1, outstanding=0,
                      assumptions=Assumptions(), thresholds=Thresholds())
    with pytest.raises(BadInput):
        Assumptions(damping=Decimal("1.5"))
    assert origin_for(dt.date(2024, 2, 29)) == dt.date(2024, 2, 29)
    assert origin_for(dt.date(2024, 3, 5)) == dt.date(2024, 2, 29)


def test_error_measures():
    e = errors([110, 90, 100], [100, 100, 0], [100] * 12 + [110] * 12)
    assert e.wape == Decimal("60.00")         # (10 + 10 + 100) / 200 (where MAPE would divide by 0)
    assert e.mape == Decimal("10.00")         # over the two non-zero months
    assert e.mase == Decimal("4.00")          # mean error 40 / naive's in-sample 10
    assert e.annual_error == Decimal("50.00")
    assert seasonal_naive(list(range(24)), 14) == [*range(12, 24), 12, 13]


CUT = Assumptions(subsidy_change=Decimal("-0.15"))


@pytest.mark.parametrize(("held_out", "assume"), [(2024, CUT), (2023, Assumptions())])
def test_beats_seasonal_naive_on_a_held_out_year_with_shocks(held_out, assume):
    """Fixed seed 21: 2019–2024, an epidemic in 2022 (spending −40 % February–May) and a
    15 % subsidy cut from 2024, announced (given as ``--subsidy-change -15``). Held out:
    2024 (trained on five years, the epidemic two years back) and 2023 (the year after
    the epidemic). Ours must beat seasonal naive on mean WAPE, MAPE and MASE of revenue
    and of expenditure, and on WAPE in at least three quarters of the 28 series."""
    scores = backtest(generate(Scenario()), held_out, assumptions=assume)
    assert len(scores) == 28
    for series in ("revenue", "expenditure"):
        for measure in ("wape", "mape", "mase"):
            assert mean(scores, series, measure, "ours") < mean(scores, series, measure, "naive"), (series, measure)
    wins = sum(1 for s in scores if s.ours.wape is not None and s.naive.wape is not None and s.ours.wape < s.naive.wape)
    assert wins >= 21, wins


def test_docs_carry_the_measured_figures():
    """docs/forecast.md shows the figures this code measures (regenerated by
    ``python -m ledger.demo.forecast_eval``), so they cannot drift."""
    from ledger.demo.forecast_eval import summary

    text = DOCS.read_text("utf-8")
    for line in summary().splitlines():
        assert line in text, line
