"""Report headers and labels come from the message catalogue, nowhere else.

Every report is built in Chinese and in English from the same rows: in Chinese every
header, title and summary label is Chinese (a header left in English means its message
has no translation); in English there is no Chinese at all (a hand-written Chinese label,
or a Chinese text that bypassed the catalogue, shows up here). And the code holds no
Chinese text of its own: report modules write English message ids (``N_("…")``), the
Chinese lives in ledger/locale/zh/LC_MESSAGES/fundledger.po."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.core.budget import BudgetCheck
from ledger.core.monitor import Thresholds
from ledger.core.shapes import money_keys
from ledger.reports import builders, builders_detail, builders_fund
from ledger.reports.model import Report
from ledger.store.accounts import TrialBalanceLine
from tests.unit.test_builders import AT, LABELS, bs_row, figures

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _trial_balance(lang: str) -> Report:
    rows = [TrialBalanceLine("RES:1003:230822:special", "RES", "1003", "财政专户存款", "Special account deposit",
                             "230822", "special", "", 0, 500, 0, 500)]
    return builders.trial_balance_report(rows, year=2023, labels=LABELS, generated_at=AT, lang=lang)


def _balance_sheet(lang: str) -> Report:
    rows = [bs_row("230822", "1003", "special", "asset", 100, 700), bs_row("230822", "4001", "", "revenue", 0, -700),
            bs_row("230822", "3001", "", "net_assets", -100, -100)]
    return builders.balance_sheet_report(rows, as_of=dt.date(2023, 12, 31), labels=LABELS, generated_at=AT,
                                         lang=lang)


def _income(lang: str, period: str) -> Report:
    mv = [{"book": "RES", "unit": "230822", "component": "", "chart_code": "4101.city", "kind": "revenue",
           "month": dt.date(2023, 2, 1), "debits": 0, "credits": 100}]
    data = {"movements": mv, "opening": [{"book": "RES", "unit": "230822", "component": "", "net_assets": 5}]}
    return builders.income_report(data, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), period=period,
                                  labels=LABELS, generated_at=AT, lang=lang)


def _subledger(lang: str) -> Report:
    rows = [{"book": "RES", "component": "", "chart_code": "1003", "holder": "special", "kind": "asset",
             "opening": 10, "debits": 5, "credits": 1, "op_debits": 0, "op_credits": 0}]
    return builders_detail.subledger_report(rows, unit="230822", as_of=dt.date(2023, 6, 30), labels=LABELS,
                                            generated_at=AT, lang=lang, owed={"RES": (0, 3)})


def _ledger(lang: str) -> Report:
    acc = {"account": "RES:1003:230822:special", "kind": "asset", "holder": "special", "name_zh": "财政专户存款",
           "name_en": "Special account deposit"}
    line = {"entry_date": dt.date(2023, 3, 1), "fiscal_year": 2023, "voucher_no": 4, "memo": "m", "side": "C",
            "amount": 30, "balance": 70, "entry_id": 9, "reverses": None, "reversed_by": None, "created_by": "fin"}
    return builders_detail.ledger_report({"account": acc, "opening": 0, "date_from": dt.date(2023, 1, 1),
                                          "date_to": dt.date(2023, 12, 31), "rows": [line]}, labels=LABELS,
                                         generated_at=AT, lang=lang)


def _vouchers(lang: str) -> Report:
    rows = [{"voucher": "2023-000001", "entry_date": dt.date(2023, 1, 2), "posting_memo": "", "memo": "m",
             "account": "RES:1003:230822:special", "chart_code": "1003", "side": "D", "amount": 5, "entry_id": 1,
             "kind": "manual", "created_by": "fin", "reverses_voucher": None, "reversed_by_voucher": None}]
    return builders_detail.vouchers_report(rows, labels=LABELS, period="2023", generated_at=AT, lang=lang)


def _budget(lang: str) -> Report:
    data = {"budget": [{"unit": "230822", "book": "RES", "component": "", "line": "4001", "kind": "revenue",
                        "amount": 100, "version": 1}], "actual": [], "end": dt.date(2023, 12, 31)}
    return builders_fund.budget_execution_report(data, year=2023, labels=LABELS, generated_at=AT, lang=lang)


def _requests(lang: str) -> Report:
    rows = [{"request_id": 1, "unit": "230822", "book": "RES", "component": "", "quarter": 1,
             "amount_requested": 100, "amount_approved": None, "state": "rejected", "action": "reject",
             "from_state": "submitted", "to_state": "rejected", "amount": None, "reason": "too much",
             "actor": "rev", "at": dt.datetime(2023, 1, 2, tzinfo=dt.UTC), "entry_id": None}]
    return builders_fund.requests_report(rows, year=2023, labels=LABELS, generated_at=AT)


def _registers(lang: str) -> Report:
    rows = [{"kind": kind, "unit": "230822", "book": "RES", "reference": "R1", "opened_on": dt.date(2023, 1, 1),
             "amount": 100, "cleared": 10, "note": None} for kind in builders_fund.REGISTER_KINDS]
    return builders_fund.registers_report(rows, as_of=dt.date(2023, 12, 31), labels=LABELS, generated_at=AT,
                                          lang=lang)


def _monitor(lang: str) -> Report:
    f = [figures("RES", "230822", 300, 1200, -5, -1, None)]
    rows, cons = builders_fund.monitor_rows(f, Thresholds())
    return builders_fund.monitor_report(rows, cons, as_of=dt.date(2023, 12, 31), t=Thresholds(), labels=LABELS,
                                        generated_at=AT, lang=lang)


def _shortfall(lang: str) -> Report:
    from cli.cmd_fund import _shortfall_model
    from ledger import i18n
    from ledger.store import yearend

    before = i18n.get_lang()
    i18n.set_lang(lang)
    try:
        zero = dict.fromkeys(money_keys(yearend.ShortfallLine), 0)
        return _shortfall_model([yearend.ShortfallLine(unit="230822", book="RES", **zero)], 2023, LABELS.region)
    finally:
        i18n.set_lang(before)


def _city_budget(lang: str) -> Report:
    from ledger.reports import builders_budget

    data = {"budget": [{"unit": "230822", "book": "RES", "component": "", "line": "5001", "kind": "expenditure",
                        "amount": 100, "version": 1}], "actual": []}
    checks = [BudgetCheck("city", "RES", "planned_deficit", 0, 100, -100, None, Decimal(0), Decimal(5))]
    return builders_budget.city_budget_report(data, year=2023, labels=LABELS, checks=checks, generated_at=AT,
                                              lang=lang)


def _performance(lang: str) -> Report:
    from decimal import Decimal

    from ledger.core.budget import SurplusRange
    from ledger.core.performance import DEFAULT_WEIGHTS, UnitYear, ranked, review
    from ledger.reports import builders_budget

    u = UnitYear("230822", "RES", 100, 100, 50, 90, 95, 50, Decimal("2.5"), 80, 0)
    return builders_budget.performance_report(ranked([review(u, DEFAULT_WEIGHTS, SurplusRange())]), year=2023,
                                              labels=LABELS, generated_at=AT, lang=lang)


REPORTS: dict[str, Callable[[str], Report]] = {
    "city_budget": _city_budget, "performance": _performance,
    "trial_balance": _trial_balance, "balance_sheet": _balance_sheet,
    "income_month": lambda lang: _income(lang, "month"), "income_quarter": lambda lang: _income(lang, "quarter"),
    "subledger": _subledger, "ledger": _ledger, "vouchers": _vouchers, "budget_execution": _budget,
    "requests": _requests, "registers": _registers, "monitor": _monitor, "shortfall": _shortfall,
}
# Text cells that are labels the program writes (not data such as a memo or a code).
LABEL_CELLS = ("name", "scope_name", "kind_name", "unit_name", "memo", "account_name")


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_header_title_and_label_in_either_language(name: str) -> None:
    zh, en = REPORTS[name]("zh"), REPORTS[name]("en")
    assert [c.key for c in zh.columns] == [c.key for c in en.columns]   # one report, two languages
    untranslated = [c.label for c in zh.columns if not CJK.search(c.header("zh"))]
    assert untranslated == [], f"{name}: headers without Chinese in the catalogue: {untranslated}"
    chinese_in_en = [c.header("en") for c in en.columns if CJK.search(c.header("en"))]
    assert chinese_in_en == [], f"{name}: Chinese headers in English: {chinese_in_en}"
    assert CJK.search(zh.title("zh")) and not CJK.search(en.title("en")), (zh.title("zh"), en.title("en"))
    assert all(CJK.search(s.title("zh")) for s in zh.sections)
    assert not [s.title("en") for s in en.sections if CJK.search(s.title("en"))]
    assert all(CJK.search(n) for n in zh.notes) and not [n for n in en.notes if CJK.search(n)]
    zh_only = {c.key for c in en.columns if c.only == "zh"}   # the Chinese name, kept in the data for scripts
    en_cells = [(s.title("en"), k, v) for s in en.sections for row in s.rows for k, v in row.items()
                if isinstance(v, str) and CJK.search(v) and k not in zh_only]
    assert en_cells == [], f"{name}: Chinese in English cells: {en_cells[:5]}"
    zh_labels = [(k, v) for s in zh.sections for row in s.rows for k, v in row.items()
                 if k in LABEL_CELLS and isinstance(v, str) and v and v != "m" and not CJK.search(v)]
    assert zh_labels == [], f"{name}: English labels in a Chinese report: {zh_labels[:5]}"


def test_the_json_form_keeps_its_ascii_keys_in_either_language() -> None:
    from ledger.reports.export import to_json_obj

    for name, build in REPORTS.items():
        zh, en = (to_json_obj(build(lang), deterministic=True) for lang in ("zh", "en"))
        assert zh["columns"] == en["columns"] and all(k.isascii() for k in zh["columns"]), name
        assert (zh["title"], zh["title_zh"]) == (en["title"], en["title_zh"]), name   # both titles, whatever lang
        assert not CJK.search(zh["title"]) and CJK.search(zh["title_zh"]), name


def _chinese_literals(path: Path) -> list[str]:
    """Chinese string literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text("utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [f"{path.relative_to(ROOT)}:{n.lineno}: {n.value[:30]!r}" for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs and CJK.search(n.value)]


def test_report_modules_hold_no_chinese_of_their_own() -> None:
    """When this fails: write the label in English as ``N_("…")`` (``ledger.i18n``), run
    `make i18n` and put the Chinese in the zh .po."""
    offenders = [hit for path in sorted((ROOT / "ledger" / "reports").glob("*.py")) for hit in _chinese_literals(path)]
    assert offenders == []


def test_every_column_label_is_a_catalogue_message() -> None:
    """``Column(key, label)`` anywhere in the code: the label is ``N_("…")`` (or a name
    bound to one), never a bare string that the extraction would miss."""
    offenders = []
    for path in sorted([*(ROOT / "ledger").rglob("*.py"), *(ROOT / "cli").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Column" and len(node.args) > 1
                    and isinstance(node.args[1], ast.Constant)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _codes_shown(texts: list[str]) -> list[str]:
    from ledger.i18n import CODES
    from ledger.reports.labels import SUMMARY_CODES

    codes = (set(CODES) | SUMMARY_CODES) - {"Dr", "Cr"}
    return sorted({w for t in texts for w in re.findall(r"(?<![.\w])[A-Za-z_]+(?![.\w])", t) if w in codes})


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_a_chinese_workbook_and_screen_show_no_code(name: str, tmp_path: Path) -> None:
    """Colours, warnings, states, kinds and summary-line codes are words (or left out) in
    the XLSX and on the terminal; the JSON and CSV keep the codes for scripts."""
    from openpyxl import load_workbook

    from cli.exports import render_report
    from ledger.reports.export import write_xlsx
    from tests.unit.test_narrow_tables import render

    report = REPORTS[name]("zh")
    write_xlsx(report, tmp_path / "r.xlsx", "zh")
    cells = [str(c.value) for ws in load_workbook(tmp_path / "r.xlsx").worksheets for row in ws.iter_rows()
             for c in row if isinstance(c.value, str)]
    assert _codes_shown(cells) == [], name
    screen = render(200, "zh", lambda: render_report(report, "zh"))
    assert _codes_shown([screen]) == [], name
