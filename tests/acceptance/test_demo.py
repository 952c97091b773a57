"""The demo's story must be true of its own reports, verify must pass, and the same
seed must give byte-identical JSON reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.cmd_demo import write_outputs
from ledger.demo import profile as P
from ledger.demo.generate import build
from ledger.demo.run import Demo
from ledger.store import embedded

pytestmark = pytest.mark.db


def _run(tmp: Path, seed: int) -> tuple[Demo, dict, object, object]:
    home, out = tmp / f"db{seed}", tmp / f"out{seed}"
    d = Demo(home, out, year=2023, seed=seed, scale=1)
    try:
        story = d.run()
        reps, written, verified = write_outputs(d, out)
        assert out / "charts" / "forecast-RES-2023.png" in written and (out / "charts" / "forecast-EMP-2023.png").exists()
    finally:
        d.close()
        embedded.stop(home, mode="immediate")
    return d, story, reps, verified


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


def test_demo_story_matches_reports_and_is_deterministic(tmp_path):
    _d1, story, reps, verified = _run(tmp_path, 2023)
    assert verified.ok, [f for c in verified.checks for f in c.findings][:5]
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
    assert story.reduced and story.reduced["approved"] < story.reduced["amount_requested"]
    assert story.rejected and story.rejected["unit"] == "230883"
    mon = {(s.title_en, r["unit"]): r for s in reps["monitor"].sections for r in s.rows}
    assert any(k[1] == P.NEEDS_GOVERNMENT and str(r["colour"]) == "red" for k, r in mon.items())
    # Trial balance: every book's debits equal credits.
    for s in reps["trial-balance"].sections:
        assert s.totals["period_debits"] == s.totals["period_credits"]
    # Same seed, fresh database: byte-identical JSON reports.
    out1 = tmp_path / "out2023" / "reports"
    second = tmp_path / "second"
    second.mkdir()
    _run(second, 2023)
    for f in sorted(out1.glob("*.json")):
        assert (second / "out2023" / "reports" / f.name).read_bytes() == f.read_bytes(), f.name
    assert json.loads((out1 / "shortfall-2023.json").read_text())["report"] == "shortfall"
