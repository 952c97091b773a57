"""``fundledger forecast`` on a small ledger, every figure worked by hand.

The ledger (residents' book, unit 230822 桦南县, yuan):
  2022-01-01  opening surplus 10,000 (Dr 1003 special / Cr 3001)
  2022-01-10  contributions 12,000;  2022 every month on the 20th: benefits 1,000
  2023-01-10  contributions 12,600;  2023 every month on the 20th: benefits 1,100

Forecast from 2023-12-31 (24 months of history, two 12-month totals each):
* contributions: all in January → profile January 1, other months 0; totals 12,000 →
  12,600, growth g = 5 %; level = 12,600 (fewer than three years: the last year).
  Year j grows by φ^(j−1)·g, φ = 0.8: 2024 12,600 × 1.05 = 13,230.00;
  2025 13,230 × 1.04 = 13,759.20; 2026 13,759.20 × 1.032 = 14,199.4944 → 14,199.49.
* expenditure: flat profile (1/12 each month), 12,000 → 13,200, g = 10 %: 2024 14,520
  (1,210.00 a month); 2025 × 1.08 = 15,681.60 (1,306.80); 2026 × 1.064 = 16,685.2224 a
  year → 1,390.4352 a month → 1,390.44.
* surplus at the origin 10,000 + 12,000 − 12,000 + 12,600 − 13,200 = 9,400; months
  payable 9,400 × 12 ÷ 13,200 = 8.545… → 8.55 green.
* month m of 2025: surplus 8,110 + 13,759.20 − 1,306.80·m, trailing 12 months
  14,520 + 96.80·m. November (m = 11): 7,494.40 × 12 ÷ 15,584.80 = 5.77 → first yellow
  (October: 8,801.20 × 12 ÷ 15,488.00 = 6.82 green).
* month m of 2026: surplus 6,187.60 + 14,199.49 − 1,390.44·m, trailing
  15,681.60 + 83.64·m. December: 3,701.81 × 12 ÷ 16,685.28 = 2.66 → first red
  (November: 5,092.25 × 12 ÷ 16,601.64 = 3.68 yellow).
* year ends (缺口分担): 2024 C = 13,230 − 14,520 = −1,290, S before 9,400, covered
  1,290, government 0, S after 8,110; 2025 C = −1,922.40, S after 6,187.60; 2026
  C = 14,199.49 − 16,685.28 = −2,485.79, S after 3,701.81.
"""

from __future__ import annotations

import pytest
from matplotlib import image as mpimg

from tests.helpers import collect, entry, leg, pay_from_special, post

pytestmark = pytest.mark.db
U = "230822"


def small_ledger(ledger_db) -> None:
    c = ledger_db.connect("fin")
    docs = [entry("open", "2022-01-01", "RES", leg("1003", U, "D", "10000.00", "special"),
                  leg("3001", U, "C", "10000.00"), memo="opening surplus"),
            collect("c22", "2022-01-10", U, "12000.00"), collect("c23", "2023-01-10", U, "12600.00")]
    for year, yuan in ((2022, "1000.00"), (2023, "1100.00")):
        docs += [pay_from_special(f"p{year}{m:02d}", f"{year}-{m:02d}-20", U, yuan) for m in range(1, 13)]
    post(c, *docs)
    c.commit()


def test_forecast_small_ledger_by_hand(ledger_db, tmp_path):
    small_ledger(ledger_db)
    png = tmp_path / "forecast.png"
    res = ledger_db.cli("forecast", "--as-of", "2023-12-31", "--years", "3", "--book", "RES", "--json",
                        "--chart", str(png), user="aud")
    assert res.exit_code == 0, res
    out = res.json()
    assert out["origin"] == "2023-12-31" and out["years"] == 3
    assert out["assumptions"]["contribution_growth_pct"] is None and out["assumptions"]["damping"] == "0.8"
    [f] = out["units"]
    assert (f["unit"], f["book"], f["history_months"]) == (U, "RES", 24)
    assert f["origin"] == {"month": "2023-12", "surplus": "9400.00", "government_outstanding": "0.00",
                           "months_payable": "8.55", "colour": "green"}
    assert f["model"]["contributions"]["growth_pct"] == "5.00"
    assert f["model"]["expenditure"] == {"annual_level": "13200.00", "growth_pct": "10.00", "estimated": True,
                                         "years_of_history": 2}
    path = {p["month"]: p for p in f["path"]}
    assert len(path) == 36
    assert (path["2024-01"]["contributions"], path["2024-01"]["expenditure"]) == ("13230.00", "1210.00")
    assert path["2024-02"]["contributions"] == "0.00"
    assert (path["2025-01"]["contributions"], path["2025-06"]["expenditure"]) == ("13759.20", "1306.80")
    assert (path["2026-01"]["contributions"], path["2026-12"]["expenditure"]) == ("14199.49", "1390.44")
    assert (path["2025-10"]["surplus"], path["2025-10"]["months_payable"], path["2025-10"]["colour"]) == \
        ("8801.20", "6.82", "green")
    assert (path["2025-11"]["surplus"], path["2025-11"]["months_payable"], path["2025-11"]["colour"]) == \
        ("7494.40", "5.77", "yellow")
    assert (path["2026-11"]["months_payable"], path["2026-11"]["colour"]) == ("3.68", "yellow")
    assert (path["2026-12"]["surplus"], path["2026-12"]["months_payable"], path["2026-12"]["colour"]) == \
        ("3701.81", "2.66", "red")
    assert (f["first_yellow"], f["first_red"]) == ("2025-11", "2026-12")
    assert [(y["year"], y["current_balance"], y["surplus_before"], y["covered_by_surplus"], y["government_share"],
             y["surplus_after"]) for y in f["years"]] == [
        (2024, "-1290.00", "9400.00", "1290.00", "0.00", "8110.00"),
        (2025, "-1922.40", "8110.00", "1922.40", "0.00", "6187.60"),
        (2026, "-2485.79", "6187.60", "2485.79", "0.00", "3701.81")]
    img = mpimg.imread(png)
    assert img.shape[:2] == (900, 1600)

    # Assumptions replace the estimates: 2025 contributions 12,600 × 1.05² = 13,891.50,
    # spending 13,200 × 1.1² / 12 = 1,331.00 a month; a subsidy change touches nothing here.
    res = ledger_db.cli("forecast", "--as-of", "2023-12-31", "--years", "2", "--contribution-growth", "5",
                        "--spending-growth", "10%", "--subsidy-change", "-15", "--json", user="aud")
    assert res.exit_code == 0, res
    path = {p["month"]: p for p in res.json()["units"][0]["path"]}
    assert (path["2025-01"]["contributions"], path["2025-01"]["expenditure"]) == ("13891.50", "1331.00")

    # From the middle of a year: the origin is the previous month end, and S before of
    # 2023 is S after of 2022 (9,400 + 12,600 − 5 × 1,100 … minus the year so far = 10,000).
    res = ledger_db.cli("forecast", "--as-of", "2023-06-15", "--years", "1", "--json", user="aud")
    f = res.json()["units"][0]
    assert res.json()["origin"] == "2023-05-31" and f["origin"]["surplus"] == "17100.00"
    assert [(y["year"], y["surplus_before"], y["months_forecast"]) for y in f["years"]] == [(2023, "10000.00", 7)]

    # The text view, and an officer of another unit sees no history at all (row security).
    res = ledger_db.cli("forecast", "--as-of", "2023-12-31", "--years", "3", user="aud")
    assert res.exit_code == 0 and "2025-11" in res.stdout and "2026-12" in res.stdout, res
    res = ledger_db.cli("forecast", "--as-of", "2023-12-31", user="o81")
    assert res.exit_code != 0 and "no history" in res.stderr, res
    res = ledger_db.cli("forecast", "--as-of", "2023-12-31", "--damping", "2", user="aud")
    assert res.exit_code != 0 and "damping" in res.stderr, res


def test_monitor_and_forecast_agree_on_months_payable_at_the_as_of_day(ledger_db):
    """At a month end the forecast starts from the monitor's figure (issue 16's basis).

    230822 (RES) from 2023-01-05: contributions 30,000, then 1,000 paid on the 15th of
    every month to 2025-03 — in the ledger 12 months and more: the last 12 months ÷ 12.
    230881 (RES) from 2024-02-10: contributions 7,000, 500 paid on 2024-02-29 and on the
    20th of every month from 2024-03 to 2025-03.
      2024-06-30  230822: 30,000 − 18 × 1,000 = 12,000 ÷ (12,000 ÷ 12) = 12.00 green.
                  230881: less than 12 months: 2,500 spent in 142 days (2024-02-10 …
                  06-30), 2,500 × 365 ÷ (12 × 142) = 535.50 a month; 4,500 ÷ 535.50 = 8.40 green.
      2025-02-28  230881: the 12 months after 2024-02-29 (the month end a year before, so
                  March 2024 … February 2025, not 29 February as well): 6,000;
                  surplus 7,000 − 500 − 12 × 500 = 500; 500 × 12 ÷ 6,000 = 1.00 red (with 29
                  February counted too, 6,500, it would be 0.92).
    Each as-of day: `monitor --as-of D` and `forecast --as-of D` print the same months
    payable and colour for every unit."""
    c = ledger_db.connect("fin")
    docs = [collect("a22", "2023-01-05", U, "30000.00"), collect("a81", "2024-02-10", "230881", "7000.00"),
            pay_from_special("b81-leap", "2024-02-29", "230881", "500.00")]
    for k in range(27):
        y, m = 2023 + k // 12, k % 12 + 1
        docs.append(pay_from_special(f"b22-{y}{m:02d}", f"{y}-{m:02d}-15", U, "1000.00"))
        if (y, m) >= (2024, 3):
            docs.append(pay_from_special(f"b81-{y}{m:02d}", f"{y}-{m:02d}-20", "230881", "500.00"))
    post(c, *docs)
    c.commit()
    want = {"2024-06-30": {U: ("12.00", "green"), "230881": ("8.40", "green")},
            "2025-02-28": {"230881": ("1.00", "red")}}
    for day in ("2023-06-30", "2024-01-31", "2024-02-29", "2024-06-30", "2025-01-31", "2025-02-28", "2025-03-31"):
        mon = ledger_db.cli("monitor", "--as-of", day, "--book", "RES", "--json", user="aud")
        assert mon.exit_code in (0, 3), mon
        fc = ledger_db.cli("forecast", "--as-of", day, "--years", "1", "--book", "RES", "--json", user="aud")
        assert fc.exit_code == 0, fc
        monitored = {r["unit"]: (r["months_payable"], r["colour"]) for r in mon.json()["rows"]}
        forecast = {f["unit"]: (f["origin"]["months_payable"], f["origin"]["colour"]) for f in fc.json()["units"]}
        assert monitored == forecast, day
        for unit, figures in want.get(day, {}).items():
            assert monitored[unit] == figures, (day, unit)
