"""The forecast's measured error, as the markdown tables of docs/forecast.md.

``python -m ledger.demo.forecast_eval`` prints them; a unit test checks that every line
it prints is in docs/forecast.md, so the published figures are the measured ones.
"""

from __future__ import annotations

from decimal import Decimal

from ledger.core.backtest import SeriesScore, backtest, mean
from ledger.core.forecast import Assumptions
from ledger.demo.history import Scenario, generate

CASES = (
    ("2024, subsidy cut announced (`--subsidy-change -15`)", 2024, Assumptions(subsidy_change=Decimal("-0.15"))),
    ("2024, subsidy cut not announced", 2024, Assumptions()),
    ("2023, the year after the epidemic", 2023, Assumptions()),
    ("2022, the epidemic year itself", 2022, Assumptions()),
)


def _cell(x: Decimal | None) -> str:
    return "—" if x is None else format(x, "f")


def summary(seed: int = Scenario().seed) -> str:
    data = generate(Scenario(seed=seed))
    lines = ["| held-out year | series | WAPE % ours / naive | MAPE % ours / naive | MASE ours / naive "
             "| annual error % ours / naive | series won (WAPE) |",
             "|---|---|---|---|---|---|---|"]
    main: list[SeriesScore] = []
    for title, year, a in CASES:
        scores = backtest(data, year, assumptions=a)
        main = main or scores
        for series in ("revenue", "expenditure"):
            cells = [f"{mean(scores, series, m, 'ours')} / {mean(scores, series, m, 'naive')}"
                     for m in ("wape", "mape", "mase", "annual_error")]
            won = sum(1 for s in scores if s.series == series and s.ours.wape is not None
                      and s.naive.wape is not None and s.ours.wape < s.naive.wape)
            lines.append(f"| {title} | {series} | {' | '.join(cells)} | {won} of 14 |")
    lines += ["", "| unit | book | series | WAPE % ours | WAPE % naive | MASE ours | MASE naive |",
              "|---|---|---|---|---|---|---|"]
    for s in main:
        lines.append(f"| {s.unit} | {s.book} | {s.series} | {_cell(s.ours.wape)} | {_cell(s.naive.wape)} "
                     f"| {_cell(s.ours.mase)} | {_cell(s.naive.mase)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary())
