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
"""

from __future__ import annotations

import datetime as dt

import pytest
from matplotlib import image as mpimg
from openpyxl import load_workbook

from tests.helpers import entry, leg, post
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
    entry_id = a.execute("SELECT id FROM fl.entry WHERE idempotency_key = 'col-22'").fetchone()["id"]
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
         ["red", "negative_share", "running_deficit"]),
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
    ws = load_workbook(tmp_path / "m.xlsx")["城乡居民基本医疗保险基金"]
    assert ws["A1"].value.startswith("基金运行风险监测")
    # one header row (row 3), data from row 4; the colour in words, the basis a code
    assert [c.value for c in ws[4]][:7] == ["all", "全市", 1450000, 650000, 25.93, "mixed", "结余过多"]
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
         for r in rows_of(res.json())]
    assert b == [
        ("4001", "1200000.00", "1000000.00", "0.00", "1000000.00", "83.33", "-200000.00", None),
        ("4101", "200000.00", "200000.00", "0.00", "200000.00", "100.00", "0.00", None),
        ("revenue_total", "1400000.00", "1200000.00", "0.00", "1200000.00", "85.71", "-200000.00", None),
        ("5001", "1500000.00", "120000.00", "0.00", "120000.00", "8.00", "-1380000.00", None),
        ("expenditure_total", "1500000.00", "120000.00", "0.00", "120000.00", "8.00", "-1380000.00", None),
        ("result", "-100000.00", "1080000.00", "0.00", "1080000.00", "-1080.00", "1180000.00", "planned_deficit"),
    ]
    ws = load_workbook(tmp_path / "b.xlsx").active
    assert [c.value for c in ws[3]][:6] == ["单位编码", "单位", "基金", "预算科目", "名称", "预算数"]
    assert ws["L4"].value == 83.33 and ws["L4"].number_format == '0.00"%"' and ws["F4"].value == 1200000

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
                            first_days=monitor.first_days(c, book="RES", end=dt.date(2023, 12, 31)))
    assert list(series) == ["同江市", "桦南县"]
    for month in (1, 3, 5, 12):
        day = dict(series["同江市"])
        end = next(d for d in day if d.month == month)
        rows = ledger_db.cli("monitor", "--as-of", end.isoformat(), "--unit", U81, "--book", "RES", "--json").json()
        want = rows["rows"][0]["months_payable"] if rows["rows"] else None
        assert (None if day[end] is None else format(day[end], "f")) == want
