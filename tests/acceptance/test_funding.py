"""Funding standards (筹资标准), through the CLI only, with the figures worked by hand.

2022's standard (医保发〔2022〕20号, the region file): 960 yuan per insured resident, a
fiscal subsidy of at least 610, an individual contribution of 350; subsidy : individual
within 2 : 1 (Shandong). Headcounts are imported per unit, book and year; a changed figure
is a correction, a new version with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.test_attack7_rules import held_rule_off, journal_rule_off

pytestmark = pytest.mark.db


def run(ledger_db, user: str, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    r = ledger_db.cli(*args, user=user, input=input)
    assert r.exit_code == 0, r
    return r


def post(ledger_db, *entries: dict) -> None:  # type: ignore[no-untyped-def]
    """Finance posts; what moves real money is held and the bureau confirms it (复核)."""
    out = run(ledger_db, "fin", "entry", "post", "-", "--json", input=json.dumps(list(entries))).json()
    held = [str(o["held_id"]) for o in out if o["status"] == "held"]
    if held:
        run(ledger_db, "rev", "entry", "confirm", *held)


def receipt(key: str, unit: str, account: str, yuan: str, date: str = "2022-06-30") -> dict:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": "1003", "unit": unit, "holder": "special", "side": "debit", "amount": yuan},
        {"account": account, "unit": unit, "side": "credit", "amount": yuan}]}


def csv(tmp_path: Path, name: str, *rows: str) -> str:
    p = tmp_path / name
    p.write_text("year,unit,book,insured,reason\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(p)


def rows_by_unit(report: dict) -> dict[str, dict]:
    (section,) = report["sections"]
    return {r["unit"]: r for r in section["rows"]}


def test_one_year_against_the_2022_standard(ledger_db, tmp_path):
    """RES, 2022, in yuan. Received (cash, the year), insured, and the check:

    ======  =======  =========  ==========  =======================  =====================
    unit    insured  subsidy    individual  per insured (s / i / t)  flags
    ======  =======  =========  ==========  =======================  =====================
    230822    1,000    660,000     350,000  660.00 / 350.00 / 1010.00 none; ratio 660:350 =
                                                                      1.885… → 1.89
    230826    2,000  1,200,000     700,000  600.00 / 350.00 / 950.00  subsidy 1,200,000 <
                                                                      610 × 2,000 = 1,220,000;
                                                                      total 1,900,000 <
                                                                      1,920,000; ratio 1.71
    230828      300    190,000      90,000  633.33 / 300.00 / 933.33  individual 90,000 <
                                                                      105,000; total 280,000
                                                                      < 288,000; ratio
                                                                      190:90 = 2.11 > 2
    230881        —    100,000      50,000  — (no headcount)          no_headcount; ratio
                                                                      exactly 2.00: within
    ======  =======  =========  ==========  =======================  =====================

    230822's subsidy is 400,000 central + 210,000 county + 50,000 on 4101.shortfall. A government's
    share of a gap is not funding when it is received as the rule reads it — a clearing of the
    government-share register (0101: the only way to post 4101.shortfall) — and is then left out.
    The 50,000 here is a receipt by hand written before 0101 (posted with the rule suspended, as an
    upgraded ledger holds it): it clears nothing, the shortfall rule counts it as the year's revenue
    (and the verdict names it), so since 0104 every report counts it alike, funding included.
    230826's headcount was first imported as 2,100, then corrected to 2,000 (version 2,
    with its reason); without a reason the correction is refused and nothing changes.
    Region totals: subsidy 660,000 + 1,200,000 + 190,000 + 100,000 = 2,150,000;
    individual 350,000 + 700,000 + 90,000 + 50,000 = 1,190,000; ratio 2,150 : 1,190 =
    1.806… → 1.81; no per-insured total (four units have no headcount).
    The year-end close changes none of it (closing entries are not receipts).
    """
    post(ledger_db,
         receipt("s22c", "230822", "4101.central", "400000.00"), receipt("s22k", "230822", "4101.county", "210000.00"),
         receipt("i22", "230822", "4001", "350000.00"),
         receipt("s26", "230826", "4101.provincial", "1200000.00"), receipt("i26", "230826", "4001", "700000.00"),
         receipt("s28", "230828", "4101.city", "190000.00"), receipt("i28", "230828", "4001", "90000.00"),
         receipt("s81", "230881", "4101.central", "100000.00"), receipt("i81", "230881", "4001", "50000.00"))
    with journal_rule_off(ledger_db.admin(), "short"), \
         held_rule_off(ledger_db.admin(), "short"):
        post(ledger_db, receipt("g22", "230822", "4101.shortfall", "50000.00"))
    first = csv(tmp_path, "h1.csv", "2022,230822,RES,1000,", "2022,230826,RES,\"2,100\",", "2022,230828,RES,300,")
    out = run(ledger_db, "rev", "insured", "import", first, "--json").json()
    assert [(h["unit"], h["insured"], h["version"], h["status"]) for h in out["headcounts"]] == [
        ("230822", 1000, 1, "created"), ("230826", 2100, 1, "created"), ("230828", 300, 1, "created")]

    # A correction without a reason is refused, naming the row and the figure on record.
    bad = ledger_db.cli("insured", "import", csv(tmp_path, "h2.csv", "2022,230826,RES,2000,"), user="rev")
    assert bad.exit_code != 0 and "h2.csv" in bad.stderr and "row 2" in bad.stderr and "2100" in bad.stderr, bad
    fixed = run(ledger_db, "rev", "insured", "import",
                csv(tmp_path, "h3.csv", "2022,230822,RES,1000,", "2022,230826,RES,2000,重复参保人员清理"),
                "--json").json()
    assert [(h["unit"], h["insured"], h["version"], h["previous"], h["status"]) for h in fixed["headcounts"]] == [
        ("230822", 1000, 1, None, "unchanged"), ("230826", 2000, 2, 2100, "corrected")]
    history = run(ledger_db, "aud", "insured", "show", "--year", "2022", "--unit", "230826", "--history",
                  "--json").json()
    assert [(h["version"], h["insured"], h["reason"]) for h in history] == [(1, 2100, ""), (2, 2000, "重复参保人员清理")]
    # Only the city bureau imports headcounts.
    denied = ledger_db.cli("insured", "import", first, user="o22")
    assert denied.exit_code != 0, denied

    def check(report: dict) -> None:
        got = rows_by_unit(report)
        want = {
            "230822": (1000, "660000.00", "350000.00", "1010000.00", "660.00", "350.00", "1010.00", "1.89", None),
            "230826": (2000, "1200000.00", "700000.00", "1900000.00", "600.00", "350.00", "950.00", "1.71",
                       "subsidy_below_standard, total_below_standard"),
            "230828": (300, "190000.00", "90000.00", "280000.00", "633.33", "300.00", "933.33", "2.11",
                       "individual_below_standard, total_below_standard, ratio_out_of_range"),
            "230881": (None, "100000.00", "50000.00", "150000.00", None, None, None, "2.00", "no_headcount"),
            "230800": (None, "0.00", "0.00", "0.00", None, None, None, None, "no_headcount"),
        }
        keys = ("insured", "subsidy", "individual", "total", "subsidy_per_insured", "individual_per_insured",
                "total_per_insured", "ratio", "warnings")
        for unit, figures in want.items():
            assert tuple(got[unit][k] for k in keys) == figures, unit
        assert (got["230822"]["subsidy_standard"], got["230822"]["individual_standard"],
                got["230822"]["total_standard"], got["230822"]["ratio_max"]) == ("610.00", "350.00", "960.00", "2.00")
        totals = report["sections"][0]["totals"]
        assert (totals["insured"], totals["subsidy"], totals["individual"], totals["ratio"],
                totals["total_per_insured"]) == (None, "2150000.00", "1190000.00", "1.81", None)

    report = run(ledger_db, "aud", "report", "funding", "--year", "2022", "--json").json()
    assert report["report"] == "funding" and report["period"] == "2022"
    check(report)
    run(ledger_db, "rev", "close", "year", "2022", "--date", "2022-12-31")
    check(run(ledger_db, "aud", "report", "funding", "--year", "2022", "--json").json())

    # An officer sees their own unit only.
    mine = run(ledger_db, "o22", "report", "funding", "--year", "2022", "--json").json()
    assert list(rows_by_unit(mine)) == ["230822"]
    # People read the flags in words (Chinese by default), files carry the codes.
    zh = ledger_db.cli("report", "funding", "--year", "2022", "--unit", "230828", user="aud",
                       env={"FUNDLEDGER_LANG": "zh"})
    assert zh.exit_code == 0 and "筹资标准" in zh.stdout and "ratio_out_of_range" not in zh.stdout, zh
    xlsx = tmp_path / "funding.xlsx"
    run(ledger_db, "aud", "report", "funding", "--year", "2022", "--xlsx", str(xlsx))
    assert xlsx.stat().st_size > 0
