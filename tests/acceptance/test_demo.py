"""The demo's story must be true of its own reports, verify must pass, and the same
seed must give byte-identical JSON reports. Its workbooks are in one language each: an
English one holds no Chinese label, a Chinese one no English header (codes aside)."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import openpyxl
import pytest

from cli.cmd_demo import write_json_reports, write_outputs
from ledger.demo import profile as P
from ledger.demo.generate import build
from ledger.demo.run import AUDITOR, Demo
from ledger.i18n import get_lang, set_lang
from ledger.store import embedded
from tests.acceptance import _agreement as agreement
from tests.acceptance import _demo_built

pytestmark = pytest.mark.db


def _run(tmp: Path, seed: int, *, english: bool = False, json_only: bool = False,
         built: pytest.Config | None = None) -> tuple[Demo, list, dict, object]:
    """The demo on a server of its own. ``built`` (the run's config): the demo's two years are
    a copy of the run's (tests/acceptance/_demo_built.py: built once a run, shared with
    test_print), not run again here. ``json_only``: the second run of the
    determinism check, which compares the JSON reports only: the workbooks, charts, forecast
    and verify are the first run's to check (write_outputs after the JSON: 4.4 CPU-s of the
    client and 1.7 of the server, 2026-12-06); it runs the demo from nothing."""
    home, out = tmp / f"db{seed}", tmp / f"out{seed}"
    with contextlib.ExitStack() as stack:
        if built is not None:
            assert seed == _demo_built.YEAR
            home, stories = stack.enter_context(_demo_built.demo_copy(built))
        d = Demo(home, out, year=2023, seed=seed, scale=1, years=2)
        was = get_lang()
        try:
            set_lang("zh")
            if built is None:
                stories = d.run()
            if json_only:
                by_year, _written = write_json_reports(d, out)
                return d, stories, by_year, None
            by_year, written, verified = write_outputs(d, out)
            # Every report × unit × book of the two years against the rule's one definition (ATTACK17)
            agreement.check(d.conn(AUDITOR), by_year)
            if english:   # the same ledger's reports and charts as `fundledger --lang en demo` writes them
                # — not its verify: the auditor's reads since the one above committed nothing, and a
                # verify of the two demo years would give the same verdict over the same rows
                set_lang("en")
                write_outputs(d, tmp / f"out{seed}-en", verified=False)
        finally:
            set_lang(was)
            d.close()
            if built is None:
                embedded.stop(home, mode="immediate")
    # `make demo` draws the forecast from the last year end, one chart per book (issue 21).
    from matplotlib import image as mpimg

    charts = sorted(p.name for p in written if p.name.startswith("forecast-"))
    assert charts == ["forecast-EMP-2024.png", "forecast-RES-2024.png"], charts
    assert mpimg.imread(out / "charts" / charts[1]).shape[:2] == (900, 1600)
    return d, stories, by_year, verified


def test_generator_is_deterministic_and_exact():
    a, b = build(2023, 7), build(2023, 7)
    assert a.payments == b.payments and a.collections == b.collections and a.openings == b.openings
    assert build(2023, 8).payments != a.payments
    # Payment lines add up exactly to the planned spending of each month, unit, book, component.
    from ledger.core.money import parse_fen
    sums: dict = {}
    for m, rows in a.payments.items():
        for r in rows:
            k = (m, r["unit"], r["book"], r["component"])
            sums[k] = sums.get(k, 0) + parse_fen(r["amount"])
    assert sums == a.spend
    big = build(2023, 7, scale=3)
    assert sum(len(r) for r in big.payments.values()) > 2.5 * sum(len(r) for r in a.payments.values())


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Codes a Chinese workbook may show: book codes, the debit/credit sides, account codes.
CODES = {"RES", "EMP", "Dr", "Cr"}


def _sheets(path: Path):  # type: ignore[no-untyped-def]
    return openpyxl.load_workbook(path).worksheets


def _labels(ws) -> list[str]:  # type: ignore[no-untyped-def]
    """What a workbook says besides its figures and names: the title and period rows, the
    header row, the totals label, the notes and signature block, the footer."""
    texts = [str(c.value) for row in ws.iter_rows(min_row=1, max_row=3) for c in row if isinstance(c.value, str)]
    below = [row for row in ws.iter_rows(min_row=4) if isinstance(row[0].value, str)]
    texts += [str(row[0].value) for row in below if not any(isinstance(c.value, int | float) for c in row[1:])
              or row[0].value in ("合计", "Total")]
    return [*texts, ws.oddFooter.center.text or ""]


def check_languages(zh_dir: Path, en_dir: Path) -> None:
    books = sorted(zh_dir.glob("*.xlsx"))
    assert len(books) >= 12 and {p.name for p in books} == {p.name for p in en_dir.glob("*.xlsx")}
    for path in books:
        for ws in _sheets(path):
            for text in _labels(ws):
                words = set(re.findall(r"[A-Za-z]{2,}", re.sub(r"\b\d{4}\.\w+|\+\d\d:\d\d", "", text))) - CODES
                assert not words, (path.name, ws.title, text, words)
        for ws in _sheets(en_dir / path.name):
            for row in ws.iter_rows():
                for c in row:
                    assert not (isinstance(c.value, str) and CJK.search(c.value)), (path.name, ws.title, c.coordinate,
                                                                                    c.value)
            assert not CJK.search(ws.oddFooter.center.text or "") and not CJK.search(ws.title)


def test_demo_story_matches_reports_and_is_deterministic(tmp_path, pytestconfig):
    _d1, stories, by_year, verified = _run(tmp_path, 2023, english=True, built=pytestconfig)
    check_languages(tmp_path / "out2023" / "reports", tmp_path / "out2023-en" / "reports")
    assert verified.ok, [f for c in verified.checks for f in c.findings][:5]
    story, reps = stories[0], by_year[2023]
    rows = {(r["unit"], r["book"]): r for s in reps["shortfall"].sections for r in s.rows}
    gov, cov = rows[(P.NEEDS_GOVERNMENT, "RES")], rows[(P.COVERED_BY_SURPLUS, "RES")]
    # 桦川县: a gap larger than its surplus; its government pays the rest.
    assert gov["current_balance"] < 0 and gov["government_share"] > 0
    assert gov["covered_by_surplus"] == gov["surplus_before"] > 0
    assert gov["covered_by_surplus"] + gov["government_share"] == -gov["current_balance"]
    assert story.government_paid == {f"{P.NEEDS_GOVERNMENT}/RES": gov["government_share"]}
    # 汤原县: its surplus covers its whole gap.
    assert cov["current_balance"] < 0 and cov["government_share"] == 0
    assert cov["covered_by_surplus"] == -cov["current_balance"]
    # Every other unit and book closed in surplus.
    others = [r for k, r in rows.items() if k not in {(P.NEEDS_GOVERNMENT, "RES"), (P.COVERED_BY_SURPLUS, "RES")}]
    assert others and all(r["current_balance"] >= 0 and r["government_share"] == 0 for r in others)
    # One reduced approval, one rejection, and the monitor flags 桦川县 red at year end.
    assert story.reduced and story.reduced[1] < story.reduced[0].amount_requested
    assert story.rejected and story.rejected.unit == "230883"
    mon = {(s.title_en, r["unit"]): r for s in reps["monitor"].sections for r in s.rows}
    assert any(k[1] == P.NEEDS_GOVERNMENT and str(r["colour"]) == "red" for k, r in mon.items())
    # Trial balance: every book's debits equal credits.
    for s in reps["trial-balance"].sections:
        assert s.totals["period_debits"] == s.totals["period_credits"]

    # The second year (BRIEF §5 across years): 桦川县's government paid the 2023 share in
    # January 2024 — 2024 revenue on the books, but not in 2024's C — and its 2024 gap is
    # charged to its government in full (S before = S after 2023 = 0), still owed at the end.
    later = stories[1]
    assert later.second_handover_refused and "once per county and book" in later.second_handover_refused
    assert later.government_paid == {} and later.preallocated > 0
    rows24 = {(r["unit"], r["book"]): r for s in by_year[2024]["shortfall"].sections for r in s.rows}
    g24 = rows24[(P.NEEDS_GOVERNMENT, "RES")]
    assert g24["share_receipts"] == gov["government_share"]
    assert g24["revenue"] == g24["revenue_on_books"] - g24["share_receipts"]
    assert g24["surplus_before"] == gov["surplus_after"] == 0
    assert g24["current_balance"] < 0 and g24["government_share"] == -g24["current_balance"]
    assert g24["outstanding_after"] == g24["government_share"]
    for key, r in rows24.items():                       # S after (2023) = S before (2024), every unit and book
        assert r["surplus_before"] == rows[key]["surplus_after"], key
    mon24 = {(s.title_en, r["unit"]): r for s in by_year[2024]["monitor"].sections for r in s.rows}
    owed = [r["outstanding_share"] for k, r in mon24.items() if k[1] == P.NEEDS_GOVERNMENT]
    assert sorted(owed) == [0, g24["government_share"]]  # RES: shown beside the surplus, not in it; EMP: none

    # Same seed, fresh database: byte-identical JSON reports.
    out1 = tmp_path / "out2023" / "reports"
    second = tmp_path / "second"
    second.mkdir()
    _run(second, 2023, json_only=True)
    assert len(list(out1.glob("*-2024.json"))) >= 6
    for f in sorted(out1.glob("*.json")):
        assert (second / "out2023" / "reports" / f.name).read_bytes() == f.read_bytes(), f.name
    assert json.loads((out1 / "shortfall-2024.json").read_text())["report"] == "shortfall"
