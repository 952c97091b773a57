"""The final accounts' builder (决算, ledger.reports.builders_final), without a database:
the city's eliminations, the employees' two funds, a result not yet closed at the start of
the year, and a set of figures that does not tie. Amounts in fen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledger.core.chart import CHART
from ledger.core.region import parse_eliminations
from ledger.errors import BadInput
from ledger.reports.builders import Labels
from ledger.reports.builders_final import SIGNATURES, FinalFigures, final_accounts_report
from ledger.reports.export import to_json_obj

LABELS = Labels(
    region="佳木斯市 230800",
    units={"230800": {"name_zh": "市本级", "name_en": "City proper"},
           "230822": {"name_zh": "桦南县", "name_en": "Huanan"}},
    books={"RES": {"name_zh": "城乡居民基本医疗保险基金", "name_en": "Residents", "components": [],
                   "pooled_component": ""},
           "EMP": {"name_zh": "职工基本医疗保险基金", "name_en": "Employees", "components": ["pooled", "personal"],
                   "pooled_component": "pooled"}},
    chart={a.code: {"name_zh": a.name_zh, "name_en": a.name_en, "kind": a.kind, "parent": a.parent} for a in CHART})
def parse_region_eliminations(v: object) -> tuple[tuple[str, str], ...]:
    return parse_eliminations(v, "region")


AT = dt.datetime(2025, 1, 5, 9, 0, tzinfo=dt.UTC)
KIND = {a.code: a.kind for a in CHART}


def bal(unit: str, code: str, start: int, end: int, *, book: str = "RES", comp: str = "",
        holder: str = "") -> dict[str, Any]:
    """A balance-sheet row: debits − credits at the year start and end."""
    return {"book": book, "unit": unit, "component": comp, "chart_code": code, "holder": holder,
            "kind": KIND[code], "year_start": start, "closing": end}


def mv(unit: str, code: str, amount: int, *, book: str = "RES", comp: str = "") -> dict[str, Any]:
    """A movement of ``amount`` in the account's normal direction."""
    debit = KIND[code] in ("asset", "expenditure")
    return {"book": book, "unit": unit, "component": comp, "chart_code": code, "kind": KIND[code],
            "month": dt.date(2024, 6, 1), "debits": amount if debit else 0, "credits": 0 if debit else amount}


def by_code(rep: Any, statement: str, fund: str = "RES") -> dict[str, tuple[Any, Any]]:
    [sec] = [s for s in rep.sections if s.title_en.startswith(fund) and s.rows[0]["statement"] == statement]
    return {r["code"]: (r["previous"], r["current"]) for r in sec.rows}


def test_the_city_eliminates_flows_between_its_levels() -> None:
    """市本级 subsidises 桦南县 by 100 (5302 at the city, 4401 at the county); the province's
    adjustment fund gives the county 50 more (4401, external). 桦南县 remits 30 up to the
    city (5301 / 4402). City: 5302 100 − 100 = 0, 4401 150 − 100 = 50, 5301 30 − 30 = 0,
    4402 30 − 30 = 0; revenue 1,000 + 150 + 30 − 130 = 1,050; expenditure 700 + 100 + 30 −
    130 = 700; result 350 either way. Each unit alone keeps its own flows."""
    income = {"movements": [mv("230800", "5302", 100), mv("230822", "4401", 150), mv("230822", "5301", 30),
                            mv("230800", "4402", 30), mv("230822", "4001", 1000), mv("230822", "5001.inpatient", 700)],
              "opening": [{"book": "RES", "unit": "230822", "component": "", "net_assets": 0}]}
    balances = [bal("230800", "1003", 0, -70, holder="special"), bal("230800", "3001", 0, 0),
                bal("230800", "5302", 0, 100), bal("230800", "4402", 0, -30),
                bal("230822", "1003", 0, 420, holder="special"), bal("230822", "4001", 0, -1000),
                bal("230822", "4401", 0, -150), bal("230822", "5301", 0, 30), bal("230822", "5001.inpatient", 0, 700)]
    f = FinalFigures(2024, balances, income, {"movements": [], "opening": []}, {})
    city = final_accounts_report(f, labels=LABELS, unit=None, generated_at=AT)
    inc = by_code(city, "income")
    assert (inc["5302"][1], inc["4401"][1], inc["5301"][1], inc["4402"][1]) == (0, 50, 0, 0)
    assert (inc["revenue_total"][1], inc["expenditure_total"][1], inc["result"][1]) == (1050, 700, 350)
    assert by_code(city, "balance_sheet")["1003"] == (0, 350)          # shares −70 + 420: one account
    assert by_code(city, "balance_sheet")["unclosed_result"] == (0, 350)
    assert any("5302/4401 1.00" in n and "5301/4402 0.30" in n for n in city.notes), city.notes
    assert "DOES NOT TIE" not in " ".join(city.notes)

    mine = [r for r in balances if r["unit"] == "230822"]
    unit_income = {"movements": [m for m in income["movements"] if m["unit"] == "230822"], "opening": []}
    alone = final_accounts_report(FinalFigures(2024, mine, unit_income, {"movements": [], "opening": []}, {}),
                                  labels=LABELS, unit="230822", generated_at=AT)
    inc = by_code(alone, "income")
    assert (inc["4401"][1], inc["5301"][1], inc["result"][1]) == (150, 30, 420)
    assert alone.title_en == "Final accounts 2024: Huanan 230822"

    # The region may eliminate nothing (final_accounts_eliminate = []): the city's flows stay gross.
    gross = final_accounts_report(FinalFigures(2024, balances, income, {"movements": [], "opening": []}, {},
                                               eliminate=()), labels=LABELS, unit=None, generated_at=AT)
    inc = by_code(gross, "income")
    assert (inc["5302"][1], inc["4401"][1], inc["revenue_total"][1], inc["result"][1]) == (100, 150, 1180, 350)


def test_the_region_names_what_is_eliminated() -> None:
    assert parse_region_eliminations([["5302", "4401"]]) == (("5302", "4401"),)
    assert parse_region_eliminations([]) == ()
    for bad in ([["4401", "5302"]], [["5302"]], "5302", [["5001.inpatient", "4401"]], [["9999", "4401"]]):
        with pytest.raises(BadInput, match="final_accounts_eliminate"):
            parse_region_eliminations(bad)


def test_the_employees_two_funds_and_the_share_owed() -> None:
    """EMP: pooled and personal each get their three statements; 待转 4601/4602 lines are
    in the employees' income statement; the government's share owed is a memo line of the
    pooled fund's balance sheet only. The JSON row keys are the shape's."""
    balances = [bal("230822", "1003", 100, 80, book="EMP", comp="pooled", holder="special"),
                bal("230822", "3001", -100, -80, book="EMP", comp="pooled"),
                bal("230822", "1003", 40, 40, book="EMP", comp="personal", holder="special"),
                bal("230822", "3001", -40, -40, book="EMP", comp="personal")]
    income = {"movements": [mv("230822", "4001", 10, book="EMP", comp="pooled"),
                            mv("230822", "5001.inpatient", 30, book="EMP", comp="pooled")],
              "opening": [{"book": "EMP", "unit": "230822", "component": "pooled", "net_assets": 100},
                          {"book": "EMP", "unit": "230822", "component": "personal", "net_assets": 40}]}
    f = FinalFigures(2024, balances, income, {"movements": [], "opening": []}, {"EMP": (0, 20)})
    rep = final_accounts_report(f, labels=LABELS, unit="230822", generated_at=AT)
    assert [s.title_en for s in rep.sections] == [
        "EMP personal-account fund Balance sheet", "EMP personal-account fund Income and expenditure statement",
        "EMP personal-account fund Schedule of revenue and expenditure",
        "EMP pooled fund Balance sheet", "EMP pooled fund Income and expenditure statement",
        "EMP pooled fund Schedule of revenue and expenditure"]
    pooled = by_code(rep, "balance_sheet", "EMP pooled")
    assert pooled["government_share_outstanding"] == (0, 20) and pooled["net_assets_total"] == (100, 80)
    assert "government_share_outstanding" not in by_code(rep, "balance_sheet", "EMP personal")
    inc = by_code(rep, "income", "EMP pooled")
    assert {"4601", "4602"} <= set(inc) and inc["result"] == (0, -20) and inc["closing_fund_balance"] == (0, 80)
    assert (rep.orientation, rep.signatures) == ("portrait", SIGNATURES)
    obj = to_json_obj(rep, deterministic=True)
    assert obj["columns"] == ["statement", "code", "name", "line_no", "previous", "current"]
    assert obj["sections"][3]["rows"][-1] == {
        "statement": "balance_sheet", "code": "government_share_outstanding",
        "name": "政府应补未到位(备查簿)", "line_no": None, "previous": "0.00", "current": "0.20"}


def test_figures_that_do_not_tie_are_named() -> None:
    """Net assets 500 at the end on the balance sheet, but the income statement ends at 400."""
    balances = [bal("230822", "1003", 0, 500, holder="special"), bal("230822", "3001", 0, -500)]
    income = {"movements": [mv("230822", "4001", 400)], "opening": []}
    rep = final_accounts_report(FinalFigures(2024, balances, income, {"movements": [], "opening": []}, {}),
                                labels=LABELS, unit="230822", lang="en", generated_at=AT)
    assert any(n.startswith("DOES NOT TIE") and "RES" in n for n in rep.notes), rep.notes
