"""Every report workbook printed as an office prints it (issue 18): a year of the demo (2023,
the first of the run's two-year demo, which test_demo reads too), each report written to
XLSX, all converted to PDF by LibreOffice headless in ONE call, then read back with pypdf.
Checked on every page of every report: A4 landscape, one page wide (every column header of
the report is on the page, so no column spilled onto a page of its own), the header rows
repeated; the signature block (单位负责人 / 审核人 / 制表人 / 日期) under every statement; the
CJK font embedded. The shortfall's key columns (covered by surplus, government share,
surplus after) are on page 1, and the monitor takes one page per book.

LibreOffice (``libreoffice-calc-nogui``) and ``fonts-noto-cjk`` come from Debian's
packages via ``make deps-print``, which ``make test`` runs first (as root it installs
them; CI runs as root). Without them the test fails as root or under ``CI``, and is
skipped with the reason for a developer who cannot install packages.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from typing import Any

import pytest

from cli.cmd_demo import build_reports
from ledger.demo.run import AUDITOR
from ledger.i18n import translate
from ledger.reports import builders_detail, builders_fund
from ledger.reports.export import FONT_NAME, SIGNATURE_FIELDS, write_xlsx
from ledger.reports.model import Report
from ledger.store import reports, reports_budget, reports_ledger
from ledger.store.db import Target, connect, run_tx
from tests.acceptance._demo_built import YEAR, demo_copy

pytestmark = pytest.mark.db

A4_LANDSCAPE = (841.89, 595.28)  # points


def _soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    fonts = subprocess.run(["fc-list", f":family={FONT_NAME}"], capture_output=True, text=True,
                           check=False).stdout if shutil.which("fc-list") else ""
    if exe and fonts.strip():
        return exe
    reason = ("LibreOffice (soffice) or the font Noto Sans CJK SC is missing: run `make deps-print` as root "
              "(apt-get install libreoffice-calc-nogui fonts-noto-cjk)")
    if os.environ.get("CI") or os.geteuid() == 0:  # CI runs as root: make deps-print had to install them
        pytest.fail(reason)
    pytest.skip(reason)


def _all_reports(conn: Any) -> dict[str, Report]:
    """The demo's key reports plus the detail and register reports, as the auditor reads them."""
    end = dt.date(YEAR, 12, 31)
    labels = reports.labels(conn)
    out = build_reports(conn, YEAR)
    out["subledger"] = builders_detail.subledger_report(
        reports_ledger.subledger(conn, unit="230822", as_of=end), unit="230822", as_of=end, labels=labels)
    out["ledger"] = builders_detail.ledger_report(
        reports_ledger.account_ledger(conn, "RES:1003:230822:special", date_from=dt.date(YEAR, 1, 1),
                                      date_to=end, limit=120), labels=labels)
    out["vouchers"] = builders_detail.vouchers_report(
        reports_ledger.vouchers(conn, year=YEAR, book=None, number_from=1, number_to=80, limit=80),
        labels=labels, period=f"{YEAR} 1..80")
    out["requests"] = builders_fund.requests_report(reports_budget.requests(conn, year=YEAR), year=YEAR,
                                                    labels=labels)
    out["registers"] = builders_fund.registers_report(reports_budget.registers(conn, as_of=end), as_of=end,
                                                      labels=labels)
    return out


@pytest.fixture(scope="module")
def printed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, tuple[Report, Any]]:
    soffice = _soffice()
    from pypdf import PdfReader

    tmp = tmp_path_factory.mktemp("print")
    # The demo's first year, on a copy of the run's two-year demo (built once a run, shared with
    # test_demo: tests/acceptance/_demo_built.py); every report reads 2023, as of its end.
    with demo_copy(request.config) as (home, _stories):
        auditor = connect(Target(None, AUDITOR, str(home)))
        try:
            reps = run_tx(auditor, _all_reports)
        finally:
            auditor.close()
    books = tmp / "xlsx"
    books.mkdir()
    for key, rep in reps.items():
        write_xlsx(rep, books / f"{key}.xlsx", "zh")
    pdfs = tmp / "pdf"
    # One soffice process for every workbook: starting LibreOffice is most of the cost.
    done = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/lo",
                           "--convert-to", "pdf", "--outdir", str(pdfs),
                           *sorted(str(p) for p in books.glob("*.xlsx"))],
                          capture_output=True, text=True, timeout=600, check=False)
    out = {}
    for key, rep in reps.items():
        pdf = pdfs / f"{key}.pdf"
        assert pdf.is_file(), (key, done.returncode, done.stdout[-500:], done.stderr[-500:])
        out[key] = (rep, PdfReader(str(pdf)))
    return out


def _text(page: Any) -> str:
    return re.sub(r"\s+", "", page.extract_text() or "")


def test_every_report_is_printed(printed: dict[str, tuple[Report, Any]]) -> None:
    assert set(printed) >= {"trial-balance", "balance-sheet", "income", "budget-execution", "shortfall", "monitor",
                            "subledger", "ledger", "vouchers", "requests", "registers"}


@pytest.mark.parametrize("key", ["trial-balance", "balance-sheet", "income", "budget-execution", "shortfall",
                                 "monitor", "subledger", "ledger", "vouchers", "requests", "registers"])
def test_one_page_wide_a4_landscape_headers_on_every_page_and_signed(
        printed: dict[str, tuple[Report, Any]], key: str) -> None:
    report, pdf = printed[key]
    headers = [re.sub(r"\s+", "", c.header("zh")) for c in report.printed_in("zh")]
    assert not any(c.data_only for c in report.printed_columns)
    pages = [_text(p) for p in pdf.pages]
    assert pages
    for n, (page, text) in enumerate(zip(pdf.pages, pages, strict=True), start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == tuple(round(x) for x in A4_LANDSCAPE), (key, n, width, height)
        missing = [h for h in headers if h not in text]
        assert not missing, f"{key}: page {n} of {len(pages)} lacks the header(s) {missing}: not one page wide"
        assert re.sub(r"\s+", "", report.title_zh) in text, (key, n)   # the title rows repeat too
    # The signature block under every statement (one per sheet), on the sheet's last page.
    sheets = max(1, len(report.sections))
    every = "".join(pages)
    for field in SIGNATURE_FIELDS:
        label = re.sub(r"\s+", "", translate(field, "zh"))
        assert every.count(label) == sheets, (key, label)
    assert "单位负责人" in pages[-1] and "制表人" in pages[-1]
    fonts = {str(f.get_object().get("/BaseFont", "")) for p in pdf.pages
             for f in (p.get("/Resources", {}).get_object().get("/Font", {}) or {}).values()}
    assert any("NotoSansCJK" in f for f in fonts), (key, fonts)


def test_the_shortfall_key_columns_are_on_page_one(printed: dict[str, tuple[Report, Any]]) -> None:
    _report, pdf = printed["shortfall"]
    first = _text(pdf.pages[0])
    for zh in ("结余弥补", "政府分担", "分担后累计结余"):   # covered by surplus, government share, surplus after
        assert zh in first


def test_the_final_accounts_print_portrait_one_page_wide_and_signed(
        printed: dict[str, tuple[Report, Any]]) -> None:
    """决算: every statement on A4 portrait, one page wide (项目, 行次 and both amount
    columns of its own wording on every page), signed by 单位负责人, 财务负责人, 复核, 制表."""
    report, pdf = printed["final-accounts"]
    assert report.orientation == "portrait"
    pages = [_text(p) for p in pdf.pages]
    assert len(pages) >= len(report.sections)
    for n, (page, text) in enumerate(zip(pdf.pages, pages, strict=True), start=1):
        size = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
        assert size == tuple(round(x) for x in reversed(A4_LANDSCAPE)), (n, size)
        assert "项目" in text and "行次" in text, n
        assert ("年初数" in text and "年末数" in text) or ("上年数" in text and "本年数" in text), n
    every = "".join(pages)
    for field in report.signatures:
        label = re.sub(r"\s+", "", translate(field, "zh"))
        assert every.count(label) == len(report.sections), label
    assert "财务负责人" in every


def test_the_final_accounts_agree_with_the_balance_sheet_and_income_reports(
        printed: dict[str, tuple[Report, Any]]) -> None:
    """A year of the demo (both books, the employees' two funds): the city's final accounts
    carry the balance sheet report's consolidated totals and the income report's fund
    balances, fund by fund."""
    final, _pdf = printed["final-accounts"]
    sheet, _p = printed["balance-sheet"]
    income, _q = printed["income"]
    statements = {(s.title_en, s.rows[0]["statement"]): {r["code"]: r for r in s.rows} for s in final.sections}
    checked = 0
    for s in sheet.sections:
        fa = statements[(f"{s.title_en} Balance sheet", "balance_sheet")]
        block = {r["code"]: r for r in s.rows if r["scope"] == "all" and r["holder"] is None}
        for code in ("assets_total", "liabilities_total", "net_assets_total", "liabilities_and_net_assets"):
            assert (fa[code]["previous"], fa[code]["current"]) == (block[code]["year_start"], block[code]["closing"])
            checked += 1
    for s in income.sections:
        fa = statements[(f"{s.title_en} Income and expenditure statement", "income")]
        rows = {r["code"]: r for r in s.rows}
        for code in ("revenue_total", "expenditure_total", "result", "opening_fund_balance", "closing_fund_balance"):
            assert fa[code]["current"] == rows[code]["total"], (s.title_en, code)
            checked += 1
    assert checked >= 3 * 9                                      # RES, EMP pooled, EMP personal
    assert not any("DOES NOT TIE" in n or "不平" in n for n in final.notes)


def test_the_monitor_takes_one_page_per_book(printed: dict[str, tuple[Report, Any]]) -> None:
    report, pdf = printed["monitor"]
    assert len(pdf.pages) == len(report.sections)
