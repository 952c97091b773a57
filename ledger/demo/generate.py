"""Generate a deterministic synthetic year for the demo city as import files.

Pure: given a year, a seed and a scale it returns rows (dicts of text cells) for the
officers' file formats — opening balances, budgets, monthly collections, monthly
provider payments — and writes them as CSV. The same seed gives the same bytes.
``scale`` multiplies the payment lines (claim-level detail) for the benchmarks.
All arithmetic is in integer fen; noise is drawn as per-mille integers.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ledger.core.money import decimal_text
from ledger.demo import profile as P

Row = dict[str, str]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    weight: int
    pharmacy: bool


@dataclass
class Plan:
    year: int
    seed: int
    scale: int
    openings: list[Row] = field(default_factory=list)
    city_opening: dict[tuple[str, str], int] = field(default_factory=dict)   # (book, component) -> fen
    budgets: list[Row] = field(default_factory=list)
    collections: dict[int, list[Row]] = field(default_factory=dict)         # month -> rows
    payments: dict[int, list[Row]] = field(default_factory=dict)            # month -> rows
    spend: dict[tuple[int, str, str, str], int] = field(default_factory=dict)  # (month, unit, book, comp) -> fen


def split_exact(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` fen in proportion to ``weights``; the parts add up exactly."""
    w = sum(weights)
    parts = [total * x // w for x in weights]
    parts[-1] += total - sum(parts)
    return parts


def _noisy(rng: random.Random, fen: int, spread: int = 60) -> int:
    return fen * rng.randint(1000 - spread, 1000 + spread) // 1000


def providers_for(unit: str, n: int, rng: random.Random, names: dict[str, str]) -> list[Provider]:
    base = names.get(unit, unit)
    out = []
    hospitals = max(2, n * 7 // 10)
    for i in range(n):
        if i == 0:
            name, pharm = f"{base}人民医院", False
        elif i == 1:
            name, pharm = f"{base}中医医院", False
        elif i < hospitals:
            name, pharm = f"{base}第{i - 1}社区卫生服务中心", False
        else:
            name, pharm = f"{base}康泰大药房第{i - hospitals + 1}店", True
        out.append(Provider(name, rng.randint(1, 10) * (8 if i < 2 else 1), pharm))
    return out


def _money(fen: int) -> str:
    return decimal_text(fen)


def build(year: int, seed: int = 2023, scale: int = 1, names: dict[str, str] | None = None) -> Plan:
    rng = random.Random(seed)
    names = names or {}
    plan = Plan(year, seed, scale)
    season_total = sum(P.SEASON)
    for u in P.UNITS:
        county = u.code != P.CITY
        # ---- annual figures (fen)
        res_individual = u.residents * P.RES_INDIVIDUAL
        res_fiscal = {"subsidy_central": u.residents * P.RES_CENTRAL,
                      "subsidy_provincial": u.residents * P.RES_PROVINCIAL,
                      ("subsidy_county" if county else "subsidy_city"): u.residents * P.RES_LOCAL}
        res_revenue = res_individual + sum(res_fiscal.values())
        res_spend = res_revenue * u.res_spend_permille // 1000
        critical = res_revenue * P.CRITICAL_ILLNESS_PERMILLE // 1000
        res_benefits = res_spend - critical
        emp_revenue = u.employees * P.EMP_ANNUAL_PER_PERSON
        emp_pooled = emp_revenue * P.EMP_POOLED_PERMILLE // 1000
        emp_personal = emp_revenue - emp_pooled
        pooled_spend = emp_pooled * u.emp_spend_permille // 1000
        personal_spend = emp_personal * P.EMP_PERSONAL_SPEND_PERMILLE // 1000

        # ---- handover: legacy balances of counties (and the city's own opening surplus)
        res_surplus = res_spend * u.res_surplus_months // 120
        pooled_surplus = pooled_spend * u.emp_surplus_months // 120
        personal_surplus = personal_spend  # a year of personal-account spending
        for book, comp, surplus in (("RES", "", res_surplus), ("EMP", "pooled", pooled_surplus),
                                    ("EMP", "personal", personal_surplus)):
            if not county:
                plan.city_opening[(book, comp)] = surplus
                continue
            special, revenue = surplus * 70 // 100, surplus * 10 // 100
            for item, amount in (("special_account", special), ("revenue_account", revenue),
                                 ("expenditure_account", surplus - special - revenue)):
                plan.openings.append({"unit": u.code, "book": book, "item": item, "amount": _money(amount),
                                      "reference": f"OPEN-{year}-{u.code}-{book}-{comp or 'all'}-{item}",
                                      "note": "审计确认余额 audited balance", "component": comp})
        if county and u.code in ("230822", "230882", "230826"):
            plan.openings.append({"unit": u.code, "book": "RES", "item": "fiscal_arrears",
                                  "amount": _money(u.residents * 3_00), "reference": f"ARR-{year}-{u.code}-FISCAL",
                                  "note": "县级财政补助未到位 county subsidy not yet paid", "component": ""})
        if county and u.code in ("230882", "230828"):
            plan.openings.append({"unit": u.code, "book": "EMP", "item": "employer_arrears",
                                  "amount": _money(u.employees * 40_00), "reference": f"ARR-{year}-{u.code}-EMPLOYER",
                                  "note": "用人单位欠缴 employer arrears", "component": "pooled"})
        if county and u.code in ("230881", "230883"):
            plan.openings.append({"unit": u.code, "book": "RES", "item": "unpaid_claims",
                                  "amount": _money(u.residents * 5_00), "reference": f"ARR-{year}-{u.code}-CLAIMS",
                                  "note": "欠付定点医药机构费用 unpaid provider claims", "component": ""})

        # ---- budget (以收定支): revenue and expenditure lines
        budget_res = res_revenue * u.budget_res_spend_permille // 1000
        for book, comp, line, amount in (
            ("RES", "", "4001", res_individual), ("RES", "", "4101", sum(res_fiscal.values())),
            ("RES", "", "5001", budget_res - critical), ("RES", "", "5101", critical),
            ("EMP", "pooled", "4001", emp_pooled), ("EMP", "pooled", "5001", pooled_spend * 1010 // 1000),
            ("EMP", "personal", "4001", emp_personal), ("EMP", "personal", "5001", personal_spend),
        ):
            plan.budgets.append({"year": str(year), "unit": u.code, "book": book, "line": line,
                                 "amount": _money(amount), "component": comp})

        # ---- collections by month
        for m in range(1, 13):
            rows = plan.collections.setdefault(m, [])
            for source, by_month, total in (
                ("contribution", P.RES_INDIVIDUAL_BY_MONTH, res_individual),
                ("subsidy_central", P.RES_CENTRAL_BY_MONTH, res_fiscal["subsidy_central"]),
                ("subsidy_provincial", P.RES_PROVINCIAL_BY_MONTH, res_fiscal["subsidy_provincial"]),
                ("subsidy_county" if county else "subsidy_city", P.RES_LOCAL_BY_MONTH,
                 res_fiscal["subsidy_county" if county else "subsidy_city"]),
            ):
                share = by_month[m - 1]
                if share:
                    rows.append({"date": f"{year}-{m:02d}-{15 if source == 'contribution' else 25}", "unit": u.code,
                                 "book": "RES", "source": source, "amount": _money(total * share // 1000),
                                 "reference": f"COL-{year}{m:02d}-{u.code}-RES-{source}", "component": ""})
            for comp, total in (("pooled", emp_pooled), ("personal", emp_personal)):
                rows.append({"date": f"{year}-{m:02d}-10", "unit": u.code, "book": "EMP", "source": "contribution",
                             "amount": _money(_noisy(rng, total // 12, 30)),
                             "reference": f"COL-{year}{m:02d}-{u.code}-EMP-{comp}", "component": comp})

        # ---- payments by month: providers x categories, split into `scale` claim lines
        provs = providers_for(u.code, u.providers, rng, names)
        hospitals = [p for p in provs if not p.pharmacy]
        pharmacies = [p for p in provs if p.pharmacy] or hospitals
        paid_from = "county" if county else "city"
        for m in range(1, 13):
            rows = plan.payments.setdefault(m, [])
            for book, comp, annual, cats in (("RES", "", res_benefits, P.RES_CATEGORIES),
                                             ("EMP", "pooled", pooled_spend, P.EMP_POOLED_CATEGORIES),
                                             ("EMP", "personal", personal_spend, P.EMP_PERSONAL_CATEGORIES)):
                month_total = _noisy(rng, annual * P.SEASON[m - 1] // season_total)
                for cat, amount in zip([c for c, _ in cats], split_exact(month_total, [w for _, w in cats]),
                                       strict=True):
                    who = pharmacies if cat == "pharmacy" else hospitals
                    for pi, (prov, part) in enumerate(zip(who, split_exact(amount, [p.weight for p in who]),
                                                          strict=True)):
                        for k, claim in enumerate(split_exact(part, [1] * scale)):
                            if claim <= 0:
                                continue
                            rows.append({"date": f"{year}-{m:02d}-20", "unit": u.code, "book": book,
                                         "provider": prov.name, "category": cat, "amount": _money(claim),
                                         "reference": f"PAY-{year}{m:02d}-{u.code}-{book}{comp[:2]}-{cat}-{pi:03d}-{k:04d}",
                                         "component": comp, "paid_from": paid_from})
                    plan.spend[(m, u.code, book, comp)] = plan.spend.get((m, u.code, book, comp), 0) + amount
                if book == "RES" and m in (1, 4, 7, 10):
                    premium = critical // 4
                    rows.append({"date": f"{year}-{m:02d}-10", "unit": u.code, "book": "RES", "provider": P.INSURER,
                                 "category": "critical_illness", "amount": _money(premium),
                                 "reference": f"PAY-{year}{m:02d}-{u.code}-RES-critical", "component": "",
                                 "paid_from": paid_from})
                    plan.spend[(m, u.code, "RES", "")] = plan.spend.get((m, u.code, "RES", ""), 0) + premium
    return plan


COLUMNS = {
    "opening": ("unit", "book", "item", "amount", "reference", "note", "component"),
    "budget": ("year", "unit", "book", "line", "amount", "component"),
    "collections": ("date", "unit", "book", "source", "amount", "reference", "component"),
    "payments": ("date", "unit", "book", "provider", "category", "amount", "reference", "component", "paid_from"),
}


def write_csv(path: Path, kind: str, rows: Sequence[Row] | Iterator[Row]) -> Path:
    """Write rows in the officers' file format (UTF-8, header first)."""
    cols = COLUMNS[kind]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([r.get(c, "") for c in cols])
    return path
