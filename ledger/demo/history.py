"""Several years of monthly flows for the demo city's units, with shocks, to measure the
forecast against (``ledger.core.forecast``; figures in docs/forecast.md).

Pure and deterministic (a seed). Per unit of ``ledger.demo.profile`` and per book
(residents; employees' pooled fund), month by month in fen:

* **trend**: residents' contributions +6 % a year (the individual standard rises while
  the insured population shrinks a little), subsidies +4 %, employees' contributions
  +5 %, spending +7 % (residents) and +6 % (employees), each unit's rate jittered;
* **seasonality**: spending follows the winter peak of ``profile.SEASON``; residents'
  money arrives in the months of ``profile.RES_*_BY_MONTH``; employees pay monthly;
* **noise**: every monthly figure ±``noise`` ‰ (spending 60, contributions 30);
* **epidemic year** (``epidemic``): hospital visits collapse in February to May (spending
  −40 %), −5 % for the rest of the year; collections −6 %; the next year spending
  catches up (+6 % on the trend);
* **subsidy cut** (``subsidy_cut``): from that year the residents' subsidies fall by
  ``cut_permille`` ‰ (a provincial share withdrawn) and stay down.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from ledger.core.forecast import MonthFlows
from ledger.demo import profile as P

BOOKS = ("RES", "EMP")


@dataclass(frozen=True, slots=True)
class Scenario:
    first_year: int = 2019
    years: int = 6
    epidemic: int | None = 2022
    subsidy_cut: int | None = 2024
    cut_permille: int = 150
    seed: int = 21


def _jitter(rng: random.Random, fen: int, permille: int) -> int:
    return fen * rng.randint(1000 - permille, 1000 + permille) // 1000


def generate(s: Scenario) -> dict[tuple[str, str], list[MonthFlows]]:
    """``{(unit, book): [MonthFlows, ...]}`` from January of ``first_year``, ``years`` years."""
    rng = random.Random(s.seed)
    out: dict[tuple[str, str], list[MonthFlows]] = {}
    season_total = sum(P.SEASON)
    res_subsidy_months = [c + p + loc for c, p, loc in zip(P.RES_CENTRAL_BY_MONTH, P.RES_PROVINCIAL_BY_MONTH,
                                                            P.RES_LOCAL_BY_MONTH, strict=True)]
    for u in P.UNITS:
        # growth in ‰ a year, per unit
        g_contrib = 60 + rng.randint(-15, 15)
        g_subsidy = 40 + rng.randint(-10, 10)
        g_emp = 50 + rng.randint(-15, 15)
        g_res_spend = 70 + rng.randint(-20, 20)
        g_emp_spend = 60 + rng.randint(-20, 20)
        res_contrib = u.residents * P.RES_INDIVIDUAL
        res_subsidy = u.residents * (P.RES_CENTRAL + P.RES_PROVINCIAL + P.RES_LOCAL)
        res_spend = (res_contrib + res_subsidy) * u.res_spend_permille // 1000
        emp_contrib = u.employees * P.EMP_ANNUAL_PER_PERSON * P.EMP_POOLED_PERMILLE // 1000
        emp_spend = emp_contrib * u.emp_spend_permille // 1000
        res: list[MonthFlows] = []
        emp: list[MonthFlows] = []
        for k in range(s.years):
            year = s.first_year + k
            epidemic = year == s.epidemic
            catch_up = s.epidemic is not None and year == s.epidemic + 1
            cut = s.subsidy_cut is not None and year >= s.subsidy_cut
            for m in range(1, 13):
                spend_factor = 1000
                if epidemic:
                    spend_factor = 600 if 2 <= m <= 5 else 950
                elif catch_up:
                    spend_factor = 1060
                collect_factor = 940 if epidemic else 1000
                sub = res_subsidy * res_subsidy_months[m - 1] // 1000
                if cut:
                    sub = sub * (1000 - s.cut_permille) // 1000
                res.append(MonthFlows(
                    dt.date(year, m, 1),
                    contributions=_jitter(rng, res_contrib * P.RES_INDIVIDUAL_BY_MONTH[m - 1] // 1000
                                          * collect_factor // 1000, 30),
                    subsidies=sub,
                    other_revenue=res_contrib // 400,
                    expenditure=_jitter(rng, res_spend * P.SEASON[m - 1] // season_total * spend_factor // 1000,
                                        60)))
                emp.append(MonthFlows(
                    dt.date(year, m, 1),
                    contributions=_jitter(rng, emp_contrib // 12 * collect_factor // 1000, 30),
                    other_revenue=emp_contrib // 500,
                    expenditure=_jitter(rng, emp_spend * P.SEASON[m - 1] // season_total * spend_factor // 1000,
                                        60)))
            res_contrib = res_contrib * (1000 + g_contrib) // 1000
            res_subsidy = res_subsidy * (1000 + g_subsidy) // 1000
            res_spend = res_spend * (1000 + g_res_spend) // 1000
            emp_contrib = emp_contrib * (1000 + g_emp) // 1000
            emp_spend = emp_spend * (1000 + g_emp_spend) // 1000
        out[(u.code, "RES")] = res
        out[(u.code, "EMP")] = emp
    return out
