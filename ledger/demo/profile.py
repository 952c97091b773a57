"""The demo city: a Jiamusi-sized pooled fund (BRIEF §1), as data.

Figures are our estimates of the right order of magnitude for a city of 2.1 million:
about 1.6 million insured residents at 960 yuan each (医保发〔2022〕20号: 350 individual,
610 fiscal) and 0.45 million insured employees, about 3.3 billion yuan a year in all.
Ratios are per-mille integers so that every amount stays exact integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitProfile:
    code: str
    residents: int                 # insured residents
    employees: int                 # insured employees
    res_spend_permille: int        # residents' spending as ‰ of their revenue this year
    emp_spend_permille: int        # employees' pooled spending as ‰ of pooled revenue
    res_surplus_months: int        # accumulated residents' surplus at handover, in tenths of a month
    emp_surplus_months: int        # accumulated employees' pooled surplus, tenths of a month
    budget_res_spend_permille: int  # what the approved budget planned (a deficit when > 1000)
    providers: int                 # designated providers (hospitals, clinics, pharmacies)


# 市本级 and six county-level units, with their real administrative codes.
UNITS: tuple[UnitProfile, ...] = (
    UnitProfile("230800", 520_000, 260_000, 955, 930, 70, 90, 960, 120),
    UnitProfile("230881", 110_000, 30_000, 930, 900, 80, 110, 940, 25),
    UnitProfile("230882", 300_000, 55_000, 965, 920, 60, 80, 970, 45),
    UnitProfile("230883", 70_000, 22_000, 900, 880, 100, 120, 920, 18),
    UnitProfile("230822", 290_000, 40_000, 975, 940, 50, 70, 980, 40),
    # 桦川县: spends well beyond its revenue and has almost no surplus: its government pays.
    UnitProfile("230826", 160_000, 20_000, 1_090, 950, 3, 60, 1_040, 24),
    # 汤原县: a deficit its accumulated surplus covers.
    UnitProfile("230828", 170_000, 25_000, 1_040, 930, 40, 70, 1_000, 26),
)

CITY = "230800"
NEEDS_GOVERNMENT = "230826"
COVERED_BY_SURPLUS = "230828"

# Per-person standards, fen (医保发〔2022〕20号): 960 yuan = 350 individual + 610 fiscal.
RES_INDIVIDUAL = 350_00
RES_CENTRAL = 366_00
RES_PROVINCIAL = 122_00
RES_LOCAL = 122_00          # the city pays it for 市本级, each county for itself
EMP_ANNUAL_PER_PERSON = 3_840_00   # about 8% of a 4,000-yuan monthly base, 12 months
EMP_POOLED_PERMILLE = 700          # the rest goes to personal accounts (个人账户)
EMP_PERSONAL_SPEND_PERMILLE = 850
CRITICAL_ILLNESS_PERMILLE = 60     # residents' revenue paid to the critical-illness insurer (大病保险)

# Seasonal weights of benefit spending, January..December: a winter peak.
SEASON = (110, 100, 98, 95, 93, 92, 92, 94, 96, 100, 108, 122)

# When residents' money arrives (‰ of the year by month).
RES_INDIVIDUAL_BY_MONTH = (300, 100, 0, 0, 0, 0, 0, 0, 100, 200, 200, 100)
RES_CENTRAL_BY_MONTH = (0, 0, 500, 0, 0, 0, 500, 0, 0, 0, 0, 0)
RES_PROVINCIAL_BY_MONTH = (0, 0, 0, 500, 0, 0, 0, 500, 0, 0, 0, 0)
RES_LOCAL_BY_MONTH = (0, 0, 0, 0, 0, 500, 0, 0, 0, 0, 500, 0)

# Benefit categories (5001 sub-accounts) and their shares of spending, ‰.
RES_CATEGORIES = (("inpatient", 640), ("outpatient", 170), ("chronic", 150), ("other", 40))
EMP_POOLED_CATEGORIES = (("inpatient", 600), ("outpatient_pooled", 160), ("chronic", 120),
                         ("maternity_medical", 50), ("maternity_allowance", 70))
EMP_PERSONAL_CATEGORIES = (("pharmacy", 600), ("outpatient", 400))

INSURER = "中国人寿佳木斯分公司(大病保险)"
