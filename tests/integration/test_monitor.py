"""Risk monitoring, budget execution, the request register, the memo registers and the
charts over the golden ledger of test_reports (plus an employees' book), with every
figure written out.

Added here (yuan): EMP 230822 collects 600,000 pooled and 100,000 personal on
2023-03-01 and pays 150,000 pooled inpatient benefits on 2023-07-01. 230822's RES
budget for 2023: revenue 4001 1,200,000 + 4101 200,000, expenditure 5001 1,500,000 —
a planned deficit of 100,000.

Months payable at 2023-12-31 = surplus ÷ average monthly expenditure. 230822 has been in
the ledger since 2022-12-31 (its opening), a full 12 months: last 12 months ÷ 12. 230881
arrived on 2023-01-15 (351 days to 2023-12-31) and 230822's EMP book on 2023-03-01 (306
days): their daily spending since then × 365 ÷ 12.
  RES 230822  1,580,000 / (120,000 ÷ 12 = 10,000)                   = 158.00  excess
  RES 230881   −130,000 / (530,000 × 365 ÷ (12 × 351) = 45,928.77)  =  −2.83  red   (share −130,000, deficit)
  RES all     1,450,000 / (10,000 + 45,928.77 = 55,928.77)           =  25.93  excess ("mixed" basis)
  EMP 230822    450,000 / (150,000 × 365 ÷ (12 × 306) = 14,910.13)  =  30.18  excess (pooled only)
At 2023-04-30 230822 has 121 days in the ledger: 1,580,000 / (120,000 × 365 ÷ (12 × 121) =
30,165.29) = 52.38 (the old reading, 120,000 ÷ 12, said 158.00).

Current-year balance rate at 2023-12-31 = (revenue − expenditure since 1 January) ÷ revenue:
  RES 230822  (1,200,000 − 120,000) ÷ 1,200,000 =  90.00 %  excess
  RES 230881  (400,000 − 530,000) ÷ 400,000     = −32.50 %  red    (10,000 keyed twice, reversed)
  EMP 230822  (600,000 − 150,000) ÷ 600,000     =  75.00 %  excess (pooled only)
  RES all     950,000 ÷ 1,600,000 = 59.375 → 59.38 %  excess (half-even)
"""

from __future__ import annotations

import datetime as dt

import pytest
from matplotlib import image as mpimg
from openpyxl import load_workbook

from tests.helpers import collect, entry, leg, pay_from_special, post
from tests.integration.test_reports import U22, U81, golden, rows_of

pytestmark = pytest.mark.db


def fund_cycle_rows(ledger_db) -> None:
    c = ledger_db.connect("fin")
    post(c, entry("emp-col", "2023-03-01", "EMP", leg("1003", U22, "D", "600000.00", "special", "pooled"),
                  leg("4001", U22, "C", "600000.00", component="pooled"),
                  leg("1003", U22, "D", "100000.00", "special", "personal"),
                  leg("4001", U22, "C", "100000.00", component="personal")))
    post(c, entry("emp-pay", "2023-07-01", "EMP", leg("5001.inpatient", U22, "D", "150000.00", component="pooled"),
                  leg("1003", U22, "C", "150000.00", "special", "pooled")))
    c.commit()
    a = ledger_db.admin()
    bid = a.execute("INSERT INTO fl.budget (year, unit, book, content_hash) VALUES (2023, %s, 'RES', '\\x01') "
                    "RETURNING id", (U22,)).fetchone()["id"]
    for line, fen in (("4001", 120_000_000), ("4101", 20_000_000), ("5001", 150_000_000)):
        a.execute("INSERT INTO fl.budget_line (budget_id, line, amount) VALUES (%s, %s, %s)", (bid, line, fen))
    rid = a.execute("""INSERT INTO fl.fund_request (unit, book, year, quarter, amount_requested, amount_approved,
                                                   state, idempotency_key, submitted_by, approved_by)
                       VALUES (%s, 'RES', 2023, 2, 5000000, 4000000, 'approved', 'req-1', 'o22', 'rev')
                       RETURNING id""", (U22,)).fetchone()["id"]
    for action, frm, to, amount, reason, actor in (("submit", None, "submitted", 5000000, "Q2 needs", "o22"),
                                                   ("approve", "submitted", "approved", 4000000, "budget", "rev")):
        a.execute("""INSERT INTO fl.request_event (request_id, action, from_state, to_state, amount, reason, actor)
                     VALUES (%s, %s, %s, %s, %s, %s, %s)""", (rid, action, frm, to, amount, reason, actor))
    entry_id = a.execute("SELECT id FROM fl.entry WHERE idempotency_key = 'manual:fin:col-22'").fetchone()["id"]
    for ref, kind, fen, opened in (("fa-1", "fiscal_arrears", 3_000_000, "2023-10-01"),
                                   ("ea-1", "employer_arrears", 1_000_000, "2023-05-01"),
                                   ("uc-1", "unpaid_claims", 500_000, "2022-06-30")):
        a.execute("""INSERT INTO fl.register_item (kind, unit, book, amount, opened_on, reference)
                     VALUES (%s, %s, 'RES', %s, %s, %s)""", (kind, U22, fen, opened, ref))
    item = a.execute("SELECT id FROM fl.register_item WHERE reference = 'fa-1'").fetchone()["id"]
    a.execute("""INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
                 VALUES (%s, 1000000, '2023-11-15', %s, 'clr-1')""", (item, entry_id))


def test_monitor_budget_requests_registers(ledger_db, tmp_path):
    golden(ledger_db)
    fund_cycle_rows(ledger_db)

    res = ledger_db.cli("monitor", "--lang", "zh", "--as-of", "2023-12-31", "--json", "--xlsx", str(tmp_path / "m.xlsx"), user="aud")
    assert res.exit_code == 3, res          # 230881 is red
    m = res.json()
    assert m["as_of"] == "2023-12-31"
    assert m["thresholds"] == {"red_below": "3", "yellow_below": "6", "excess_above": "15"}

    def flat(r):
        return (r["unit"], r["book"], r["surplus"], r["trailing_12m_expenditure"], r["months_payable"], r["basis"],
                r["colour"], r["year_result"], r["special_share"], r["planned_result"], r["outstanding_share"],
                [w["code"] for w in r["warnings"]])
    daily, trailing = "daily_since_first_day", "last_12_months"
    assert [flat(r) for r in m["rows"]] == [      # sorted by unit code within each book
        (U22, "RES", "1580000.00", "120000.00", "158.00", trailing, "excess", "1080000.00", "900000.00", "-100000.00",
         "0.00", ["excess", "planned_deficit"]),
        (U81, "RES", "-130000.00", "530000.00", "-2.83", daily, "red", "-130000.00", "-130000.00", None, "0.00",
         ["red", "negative_share", "running_deficit", "balance_rate_red", "red_unacknowledged"]),
        (U22, "EMP", "450000.00", "150000.00", "30.18", daily, "excess", "450000.00", "450000.00", None, "0.00",
         ["excess"]),
    ]
    assert [flat(r) for r in m["consolidated"]] == [
        ("all", "RES", "1450000.00", "650000.00", "25.93", "mixed", "excess", "950000.00", "770000.00", "-100000.00",
         "0.00", ["excess", "planned_deficit"]),
        ("all", "EMP", "450000.00", "150000.00", "30.18", daily, "excess", "450000.00", "450000.00", None, "0.00",
         ["excess"]),
    ]
    assert "share of the special account is -130,000.00 yuan" in m["rows"][1]["warnings"][1]["message"]
    # The second dimension: revenue since 1 January without shortfall receipts, its balance, the rate.
    assert [(r["unit"], r["book"], r["year_revenue"], r["current_balance"], r["balance_rate"], r["balance_rate_colour"],
             r["level"]) for r in m["rows"] + m["consolidated"]] == [
        (U22, "RES", "1200000.00", "1080000.00", "90.00", "excess", "excess"),
        (U81, "RES", "400000.00", "-130000.00", "-32.50", "red", "red"),
        (U22, "EMP", "600000.00", "450000.00", "75.00", "excess", "excess"),
        ("all", "RES", "1600000.00", "950000.00", "59.38", "excess", "excess"),
        ("all", "EMP", "600000.00", "450000.00", "75.00", "excess", "excess")]
    # 230881 went red at the end of May (530,000 spent against 400,000): the red plan's
    # first step was due 7 days later, nobody acknowledged — flagged.
    resp = m["rows"][1]["response"]
    assert (resp["level"], resp["since"], resp["overdue"], resp["acknowledgement"]) == ("red", "2023-05-31", True, None)
    assert [(s["step"], s["days"], s["due"]) for s in resp["steps"]] == [(1, 7, "2023-06-07"), (2, 30, "2023-06-30")]
    assert m["rows"][0]["response"] is None and m["consolidated"][0]["response"] is None
    ws = load_workbook(tmp_path / "m.xlsx")["城乡居民基本医疗保险基金"]
    assert ws["A1"].value.startswith("基金运行风险监测")
    # one header row (row 3), data from row 4; the colour and the basis in words, the whole region's
    # code ("all", in the JSON) left out beside its name
    assert [c.value for c in ws[4]][:7] == [None, "全市", 1450000, 650000, 25.93, "混合口径", "结余过多"]
    assert ws["E4"].number_format == "0.00" and ws["C4"].number_format.startswith("#,##0.00")

    # Half way through the year, without 230881's premium: no red, exit 0.
    ok = ledger_db.cli("monitor", "--as-of", "2023-04-30", "--unit", U22, "--book", "RES", "--json")
    assert ok.exit_code == 0, ok
    assert [(r["months_payable"], r["basis"]) for r in ok.json()["rows"]] == [("52.38", "daily_since_first_day")]
    table = ledger_db.cli("monitor", "--as-of", "2023-12-31")
    assert table.exit_code == 3 and "share of the special account is -130,000.00" in table.stdout and "1,450,000.00" in table.stdout
    zh = ledger_db.cli("monitor", "--as-of", "2023-12-31", env={"FUNDLEDGER_LANG": "zh", "COLUMNS": "80"})
    assert zh.exit_code == 3 and "专户份额为负" in zh.stdout and "红" in zh.stdout and "negative_share" not in zh.stdout
    assert "1,450,000.00" in zh.stdout and "…" not in zh.stdout

    # ---- budget execution
    res = ledger_db.cli("--lang", "zh", "report", "budget-execution", "--year", "2023", "--json", "--xlsx", str(tmp_path / "b.xlsx"))
    assert res.exit_code == 0, res
    b = [(r["line"], r["budget"], r["q1"], r["q2"], r["actual"], r["executed_pct"], r["variance"], r["flag"])
         for r in rows_of(res.json()) if r["unit"] == U22]
    assert b == [
        ("4001", "1200000.00", "1000000.00", "0.00", "1000000.00", "83.33", "-200000.00", None),
        ("4101", "200000.00", "200000.00", "0.00", "200000.00", "100.00", "0.00", None),
        ("revenue_total", "1400000.00", "1200000.00", "0.00", "1200000.00", "85.71", "-200000.00", None),
        ("5001", "1500000.00", "120000.00", "0.00", "120000.00", "8.00", "-1380000.00", None),
        ("expenditure_total", "1500000.00", "120000.00", "0.00", "120000.00", "8.00", "-1380000.00", None),
        ("result", "-100000.00", "1080000.00", "0.00", "1080000.00", "-1080.00", "1180000.00", "planned_deficit"),
    ]
    # A unit with actuals and no 2023 budget has its block too (ATTACK17b F5): every actual on a line of
    # its own, budget 0, flagged unbudgeted — so 230881's year is in the report and in the city's totals.
    assert [(r["line"], r["budget"], r["actual"], r["executed_pct"], r["flag"])
            for r in rows_of(res.json()) if r["unit"] == U81] == [
        ("4001", "0.00", "400000.00", None, "unbudgeted"),
        ("revenue_total", "0.00", "400000.00", None, None),
        ("5001.outpatient", "0.00", "50000.00", None, "unbudgeted"),
        ("5101", "0.00", "480000.00", None, "unbudgeted"),
        ("expenditure_total", "0.00", "530000.00", None, None),
        ("result", "0.00", "-130000.00", None, None)]
    # the employees' book (no budget at all): its section, each component's block
    assert [(r["component"], r["line"], r["actual"]) for r in rows_of(res.json(), 1) if "total" not in r["line"]] == [
        ("personal", "4001", "100000.00"), ("personal", "result", "100000.00"),
        ("pooled", "4001", "600000.00"), ("pooled", "5001.inpatient", "150000.00"), ("pooled", "result", "450000.00")]
    ws = load_workbook(tmp_path / "b.xlsx").active
    assert [c.value for c in ws[3]][:6] == ["单位编码", "单位", "基金", "预算科目", "名称", "预算数"]
    assert ws["A10"].value == U22 and ws["D10"].value == "4001"
    assert ws["L10"].value == 83.33 and ws["L10"].number_format == '0.00"%"' and ws["F10"].value == 1200000
    assert ws["A4"].value == U81 and ws["F4"].value == 0 and ws["L4"].value is None and ws["N4"].value == "未列入预算"

    # ---- fund requests: every state change and who made it
    res = ledger_db.cli("--lang", "zh", "report", "requests", "--year", "2023", "--json")
    assert res.exit_code == 0, res
    assert [(r["action"], r["from_state"], r["to_state"], r["amount"], r["actor"], r["state"])
            for r in rows_of(res.json())] == [("submit", None, "submitted", "50000.00", "o22", "approved"),
                                              ("approve", "submitted", "approved", "40000.00", "rev", "approved")]
    assert ledger_db.cli("--lang", "zh", "report", "requests", "--year", "2023", "--json", user="o81").json()["sections"][0]["rows"] == []

    # ---- memo registers with ageing as of 2023-12-31
    res = ledger_db.cli("--lang", "zh", "report", "registers", "--as-of", "2023-12-31", "--json")
    assert res.exit_code == 0, res
    regs = rows_of(res.json())
    assert [(r["reference"], r["amount"], r["cleared"], r["outstanding"], r["age_days"], r["b0_90"], r["b91_180"],
             r["b181_365"], r["over_365"]) for r in regs] == [
        ("ea-1", "10000.00", "0.00", "10000.00", 244, None, None, "10000.00", None),
        ("fa-1", "30000.00", "10000.00", "20000.00", 91, None, "20000.00", None, None),
        ("uc-1", "5000.00", "0.00", "5000.00", 549, None, None, None, "5000.00"),
    ]
    totals = res.json()["sections"][0]["totals"]
    assert (totals["outstanding"], totals["b91_180"], totals["over_365"]) == ("35000.00", "20000.00", "5000.00")
    early = rows_of(ledger_db.cli("--lang", "zh", "report", "registers", "--as-of", "2023-11-01", "--kind", "fiscal_arrears",
                                  "--json").json())
    assert [(r["cleared"], r["outstanding"], r["b0_90"]) for r in early] == [("0.00", "30000.00", "30000.00")]

    # ---- charts
    for kind in ("monitor", "balances"):
        out = tmp_path / f"{kind}.png"
        res = ledger_db.cli("chart", kind, "--year", "2023", "--out", str(out))
        assert res.exit_code == 0, res
        assert mpimg.imread(out).shape[:2] == (900, 1600)
    res = ledger_db.cli("chart", "monitor", "--year", "2023", "--out", str(tmp_path / "no" / "x.png"))
    assert res.exit_code == 1 and "does not exist" in res.stderr


def test_monitor_series_months_at_month_end(ledger_db):
    """The chart's monthly figures agree with ``monitor --as-of`` at each month end."""
    from ledger.reports.builders_fund import monitor_series
    from ledger.store import monitor, reports

    golden(ledger_db)
    c = ledger_db.connect("aud")
    series = monitor_series(monitor.monthly(c, book="RES", end=dt.date(2023, 12, 31)), year=2023,
                            through=dt.date(2023, 12, 31), labels=reports.labels(c),
                            first_days=monitor.first_days(c, book="RES"))
    assert list(series) == ["同江市", "桦南县"]
    for month in (1, 3, 5, 12):
        day = dict(series["同江市"])
        end = next(d for d in day if d.month == month)
        rows = ledger_db.cli("monitor", "--as-of", end.isoformat(), "--unit", U81, "--book", "RES", "--json").json()
        want = rows["rows"][0]["months_payable"] if rows["rows"] else None
        assert (None if day[end] is None else format(day[end], "f")) == want


def test_two_dimensions_response_plans_and_acknowledgements_by_hand(ledger_db):
    """Both warning dimensions, the response plan and `monitor ack` on a small ledger.

    230881 同江市 (RES), yuan: 2023-01-05 contributions 120,000, then 9,000 paid on the
    15th of every month of 2023 (surplus at the end of 2023: 12,000); 2024-01-05
    contributions 100,000 (a smaller year), then 10,000 paid on the 15th of every month.
    In the ledger since 2023-01-05, so at every 2024 month end: the last 12 months ÷ 12.

    | month end  | surplus | last 12 months          | months payable      | balance rate            | level  |
    |------------|---------|-------------------------|---------------------|-------------------------|--------|
    | 2024-05-31 | 62,000  | 7×9,000+5×10,000=113,000 | 62,000×12÷113,000=6.58 green | 50,000÷100,000=50.00 % excess | excess |
    | 2024-06-30 | 52,000  | 114,000                 | 5.47 yellow         | 40.00 % excess          | yellow |
    | 2024-07-31 | 42,000  | 115,000                 | 4.38 yellow         | 30.00 % excess          | yellow |
    | 2024-08-31 | 32,000  | 116,000                 | 3.31 yellow         | 20.00 % excess          | yellow |
    | 2024-09-30 | 22,000  | 117,000                 | 2.26 red            | 10.00 % green           | red    |
    | 2024-10-31 | 12,000  | 118,000                 | 1.22 red            | 0.00 % green (0 is green) | red  |
    | 2024-11-30 |  2,000  | 119,000                 | 0.20 red            | −10.00 % red            | red    |

    * 2024-07-31: yellow since 2024-06-30 (May was excess); the yellow plan's steps are
      due 30 and 60 days later: 2024-07-30, 2024-08-29. The unit's own officer may
      acknowledge a yellow, and does. A yellow is never "overdue".
    * 2024-10-31: red since 2024-09-30 (August was yellow); steps due 2024-10-07 and
      2024-10-30. The yellow acknowledgement does not answer a red: red_unacknowledged.
      The officer may not acknowledge the red (the database refuses), nor acknowledge it as
      yellow (the command: the unit is red). The city bureau does, on 2024-11-02 — late.
    * 2024-11-30: both dimensions red, the same warning (red since 2024-09-30), answered by
      the acknowledgement of 2024-11-02: no longer flagged, marked late.
    """
    from rich.cells import cell_len

    c = ledger_db.connect("fin")
    docs = [collect("w23", "2023-01-05", U81, "120000.00"), collect("w24", "2024-01-05", U81, "100000.00")]
    docs += [pay_from_special(f"wp23-{m}", f"2023-{m:02d}-15", U81, "9000.00") for m in range(1, 13)]
    docs += [pay_from_special(f"wp24-{m}", f"2024-{m:02d}-15", U81, "10000.00") for m in range(1, 12)]
    post(c, *docs)
    c.commit()

    def row(day, user="rev"):
        res = ledger_db.cli("monitor", "--as-of", day, "--unit", U81, "--book", "RES", "--json", user=user)
        assert res.exit_code in (0, 3), res
        [r] = res.json()["rows"]
        return res.exit_code, r

    want = {"2024-05-31": ("6.58", "green", "50.00", "excess", "excess"),
            "2024-06-30": ("5.47", "yellow", "40.00", "excess", "yellow"),
            "2024-07-31": ("4.38", "yellow", "30.00", "excess", "yellow"),
            "2024-08-31": ("3.31", "yellow", "20.00", "excess", "yellow"),
            "2024-09-30": ("2.26", "red", "10.00", "green", "red"),
            "2024-10-31": ("1.22", "red", "0.00", "green", "red"),
            "2024-11-30": ("0.20", "red", "-10.00", "red", "red")}
    for day, figures in want.items():
        code, r = row(day)
        assert (r["months_payable"], r["colour"], r["balance_rate"], r["balance_rate_colour"], r["level"]) == figures
        assert code == (3 if figures[-1] == "red" else 0), day

    code, r = row("2024-07-31")
    resp = r["response"]
    assert (resp["level"], resp["since"], resp["overdue"]) == ("yellow", "2024-06-30", False)
    assert [(s["due"], s["notify"]) for s in resp["steps"]] == [("2024-07-30", "市医保局基金科; 县(市)医保局"),
                                                                 ("2024-08-29", "市医保局分管局长")]
    ok = ledger_db.cli("monitor", "ack", U81, "--level", "yellow", "--on", "2024-07-31",
                       "--decision", "加强费用审核, 核对预算执行", "--json", user="o81")
    assert ok.exit_code == 0, ok
    assert ok.json()["status"] == "recorded" and ok.json()["since"] == "2024-06-30"
    code, r = row("2024-07-31", user="o81")
    assert r["response"]["acknowledgement"]["acknowledged_by"] == "o81"

    code, r = row("2024-10-31")
    resp = r["response"]
    assert (resp["level"], resp["since"], resp["overdue"], resp["acknowledgement"]) == ("red", "2024-09-30", True, None)
    assert [s["due"] for s in resp["steps"]] == ["2024-10-07", "2024-10-30"]
    assert "red_unacknowledged" in [w["code"] for w in r["warnings"]]
    refused = ledger_db.cli("monitor", "ack", U81, "--level", "red", "--on", "2024-11-01", "--decision", "知道了",
                            user="o81")
    assert refused.exit_code == 1 and "city bureau" in refused.stderr, refused
    refused = ledger_db.cli("monitor", "ack", U81, "--level", "yellow", "--on", "2024-11-01", "--decision", "知道了",
                            user="o81")
    assert refused.exit_code == 1 and "not yellow" in refused.stderr, refused
    args = ("monitor", "ack", U81, "--level", "red", "--on", "2024-11-02", "--decision",
            "已通知县政府, 复核用款申请, 测算缺口")
    first, again = ledger_db.cli(*args, "--json", user="rev"), ledger_db.cli(*args, "--json", user="rev")
    assert (first.json()["status"], again.json()["status"]) == ("recorded", "duplicate"), (first, again)
    assert first.json()["id"] == again.json()["id"] and first.json()["since"] == "2024-09-30"

    code, r = row("2024-11-30")
    resp = r["response"]
    # The acknowledgement dated 2024-11-02 was recorded today (this test writes 2024's ledger in
    # 2026): it is shown, late, but as of 2024-11-30 the database had no answer yet, so the red
    # is still overdue that day (ATTACK17 E8, ATTACK17b F2: answered_on is the later of the two).
    assert (resp["since"], resp["overdue"]) == ("2024-09-30", True) and code == 3
    a = resp["acknowledgement"]
    assert (a["acknowledged_by"], a["acknowledged_on"], a["late"]) == ("rev", "2024-11-02", True)
    assert a["recorded_on"] is not None and a["recorded_on"] > "2024-11-30", a
    assert "red_unacknowledged" in [w["code"] for w in r["warnings"]]

    # Chinese at 80 columns: every line fits, nothing cut, the plan and the acknowledgement shown.
    zh = ledger_db.cli("monitor", "--as-of", "2024-10-31", "--unit", U81, user="rev",
                       env={"FUNDLEDGER_LANG": "zh", "COLUMNS": "80"})
    assert zh.exit_code == 3 and "…" not in zh.stdout
    assert max(cell_len(line) for line in zh.stdout.splitlines()) <= 80
    assert "当期结余率" in zh.stdout and "2024-10-07" in zh.stdout and "市财政局社保科" in zh.stdout
