"""ATTACK16b D4 (MED): city finance moves a unit's months payable (可支付月数) from red to "excess"
with a 0.01 collection dated a year back.

BRIEF §5: with less than 12 months of a unit in the ledger, months payable divides by its average
daily spending since its *first day in the ledger* × 365 ÷ 12. That first day was recomputed by
every report from the dates of the unit's entries on its fund figures (ATTACK16 C1's rule). City
finance posts alone (a collections import posts at once): 0.01 into 4001 dated a year back, in a
month not closed, made the first day a year earlier, so the basis became the last 12 months'
spending ÷ 12 — a quarter's spending ÷ 12 — and red became "excess". Any first day read from entry
dates moves with a back-dated entry of a role that posts alone.

Safe behaviour asserted (sql/0130): the first day is recorded once, by the statement that first
posts on one of the unit's fund figures (fl.unit_first_day, append-only, chained), and no later
entry — of any role, on any fund figure, however dated — moves it: the monitor, its chart, the
forecast and the performance report keep the unit's months payable, basis and colour. The
independent verdict re-derives the record from the journal and names one changed behind the
triggers' back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, pay_from_special, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

U81 = "230881"
AS_OF = "2023-03-31"


def _history(db: LedgerDB) -> None:
    """230881's first quarter in the ledger: 1,000,000 collected on 1 March, 300,000 paid on
    15 March — at 31 March, 700,000 ÷ (300,000 × 365 ÷ (12 × 31)) = 2.38 months: red."""
    fin = db.connect("fin")
    post(fin, collect("c81", "2023-03-01", U81, "1000000.00"))
    post(fin, pay_from_special("p81", "2023-03-15", U81, "300000.00"))
    fin.commit()


def _monitor(db: LedgerDB, as_of: str = AS_OF) -> tuple[Any, ...]:
    res = db.cli("monitor", "--as-of", as_of, "--unit", U81, "--book", "RES", "--json", user="aud")
    assert res.exit_code in (0, 3), res
    [r] = [r for r in res.json()["rows"] if r["unit"] == U81 and r["book"] == "RES"]
    return r["months_payable"], r["basis"], r["colour"], res.exit_code


def _forecast_origin(db: LedgerDB, as_of: str = AS_OF) -> tuple[str, str]:
    res = db.cli("forecast", "--as-of", as_of, "--years", "1", "--unit", U81, "--book", "RES", "--json", user="aud")
    assert res.exit_code == 0, res
    [f] = res.json()["units"]
    return f["origin"]["months_payable"], f["origin"]["colour"]


def _chart_point(db: LedgerDB, as_of: str = AS_OF) -> Any:
    """The monitor chart's months payable for 230881 at ``as_of`` (a month end)."""
    from ledger.reports.builders_fund import monitor_series
    from ledger.store import monitor, reports

    end = dt.date.fromisoformat(as_of)
    c = db.connect("aud")
    try:
        series = monitor_series(monitor.monthly(c, book="RES", end=end), year=end.year, through=end,
                                labels=reports.labels(c), first_days=monitor.first_days(c, book="RES"))
        name = reports.labels(c).name("units", U81, "zh")
    finally:
        c.close()
    return dict(series[name])[end]


def _recorded(db: LedgerDB, unit: str = U81) -> tuple[Any, ...] | None:
    row = db.admin().execute("SELECT first_day, entry_id, frozen_through FROM fl.unit_first_day "
                             "WHERE book = 'RES' AND unit = %s", (unit,)).fetchone()
    return None if row is None else (row["first_day"], row["entry_id"], row["frozen_through"])


def _import_collection(db: LedgerDB, tmp_path: Path, date: str, yuan: str, ref: str) -> None:
    """City finance's collections import: posts at once, no second person."""
    f = tmp_path / f"{ref}.csv"
    f.write_text(f"date,unit,book,source,amount,reference\n{date},{U81},RES,contribution,{yuan},{ref}\n", "utf-8")
    r = db.cli("collect", "import", str(f), user="fin")
    assert r.exit_code == 0, r


def test_finance_cannot_turn_a_red_months_payable_excess_with_a_backdated_collection(ledger_db: LedgerDB,
                                                                                      tmp_path: Path) -> None:
    _history(ledger_db)
    before = _monitor(ledger_db)
    assert before == ("2.38", "daily_since_first_day", "red", 3)
    origin, point = _forecast_origin(ledger_db), _chart_point(ledger_db)
    assert origin == ("2.38", "red") and str(point) == "2.38"
    recorded = _recorded(ledger_db)
    assert recorded is not None and recorded[0] == dt.date(2023, 3, 1) and recorded[2] is None

    # City finance, alone: 0.01 collected "a year back", 31 March 2022 (the day 12 months before).
    _import_collection(ledger_db, tmp_path, "2022-03-31", "0.01", "D4-BACK")
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE entry_date = '2022-03-31'").fetchone()["n"]
    assert n == 1                       # it posted, at once

    # On main: ("28.00", "last_12_months", "excess", 0) — a quarter's spending ÷ 12.
    assert _monitor(ledger_db) == before
    assert _forecast_origin(ledger_db) == origin
    assert _chart_point(ledger_db) == point
    assert _recorded(ledger_db) == recorded
    assert verdict(ledger_db) == {}     # the record agrees with the journal: whole


def _officer_revenue(key: str, date: str) -> dict[str, Any]:
    """An officer's reclass into revenue (Dr 1101 / Cr 4001): held for the city, confirmed."""
    return entry(key, date, "RES", leg("1101", U81, "D", "0.01"), leg("4001", U81, "C", "0.01"))


@pytest.mark.parametrize(("maker", "doc"), [
    ("fin", collect("back-col", "2022-03-31", U81, "0.01")),                # revenue, city finance
    ("fin", entry("back-pay", "2022-03-31", "RES", leg("5001.inpatient", U81, "D", "0.01"),
                  leg("2001", U81, "C", "0.01"))),                          # expenditure (an accrual)
    ("rev", collect("back-rev", "2022-03-31", U81, "0.01")),                # the bureau's reviewer
    ("o81", _officer_revenue("back-o81", "2022-03-31")),                    # the county's own officer
    ("fin", collect("back-far", "2021-06-30", U81, "0.01")),                # further back still
], ids=["finance-revenue", "finance-expenditure", "reviewer", "officer", "two-years-back"])
def test_no_backdated_fund_figure_of_any_role_moves_the_first_day(ledger_db: LedgerDB, maker: str,
                                                                   doc: dict[str, Any]) -> None:
    """Every role, every kind of fund figure (revenue, expenditure), confirmed by a second person or
    not: the unit's first day stays where its first posting recorded it."""
    _history(ledger_db)
    before, origin, recorded = _monitor(ledger_db), _forecast_origin(ledger_db), _recorded(ledger_db)
    c = ledger_db.connect(maker)
    rows = post(c, doc)
    c.commit()
    assert rows[0]["status"] == "posted", rows
    assert _recorded(ledger_db) == recorded
    after = _monitor(ledger_db)
    assert after[1:] == before[1:] and after[0] == before[0], (before, after)
    assert _forecast_origin(ledger_db) == origin


def test_a_new_unit_in_its_first_year_keeps_its_daily_basis_all_year(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A unit that joined on 1 March: at 31 December its basis is still the daily average since
    1 March, whatever finance dates on 31 December 2022 (exactly 12 months before, which would make
    the ledger "hold 12 months" of it) — and at every month end the monitor, the chart and the
    forecast print the same figure."""
    _history(ledger_db)
    fin = ledger_db.connect("fin")
    post(fin, collect("c81-2", "2023-09-01", U81, "500000.00"), pay_from_special("p81-2", "2023-11-20", U81, "200000.00"))
    fin.commit()
    ends = ("2023-03-31", "2023-06-30", "2023-11-30", "2023-12-31")
    before = {d: (_monitor(ledger_db, d), _forecast_origin(ledger_db, d), _chart_point(ledger_db, d)) for d in ends}
    assert all(b[0][1] == "daily_since_first_day" for b in before.values()), before
    for m, o, p in before.values():
        assert (m[0], m[2]) == o and m[0] == (None if p is None else str(p)), (m, o, p)
    _import_collection(ledger_db, tmp_path, "2022-12-31", "0.01", "D4-YEAR")
    assert {d: (_monitor(ledger_db, d), _forecast_origin(ledger_db, d), _chart_point(ledger_db, d)) for d in ends} == before


def test_a_unit_with_exactly_12_months_is_on_the_12_month_basis_and_stays_there(ledger_db: LedgerDB,
                                                                                   tmp_path: Path) -> None:
    """The boundary: the first posting on 28 February 2023 and the day 29 February 2024 (12 months
    before it is 28 February 2023): the last 12 months' spending ÷ 12; a day later in 2023 (1 March)
    it would still be the daily average. A back-dated collection changes neither."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-02-28", U81, "1000000.00"), pay_from_special("p81", "2023-06-15", U81, "300000.00"))
    fin.commit()
    assert _recorded(ledger_db) is not None and _recorded(ledger_db)[0] == dt.date(2023, 2, 28)  # type: ignore[index]
    full = _monitor(ledger_db, "2024-02-29")
    assert full[:3] == ("28.00", "last_12_months", "excess"), full
    short = _monitor(ledger_db, "2024-01-31")
    assert short[1] == "daily_since_first_day", short
    _import_collection(ledger_db, tmp_path, "2022-06-30", "0.01", "D4-12")
    assert _monitor(ledger_db, "2024-02-29")[1:] == full[1:]
    assert _monitor(ledger_db, "2024-01-31")[1:] == short[1:]


def test_the_first_statement_records_its_earliest_date(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A unit's first import of several rows: its first day is the earliest of them (not the
    first row's), and the entry that dated it is named."""
    f = tmp_path / "first.csv"
    f.write_text("date,unit,book,source,amount,reference\n"
                 f"2023-03-05,{U81},RES,contribution,10.00,D4-F1\n"
                 f"2023-03-02,{U81},RES,contribution,20.00,D4-F2\n", "utf-8")
    r = ledger_db.cli("collect", "import", str(f), user="fin")
    assert r.exit_code == 0, r
    rec = _recorded(ledger_db)
    assert rec is not None and rec[0] == dt.date(2023, 3, 2)
    named = ledger_db.admin().execute("SELECT entry_date FROM fl.entry WHERE id = %s", (rec[1],)).fetchone()
    assert named["entry_date"] == dt.date(2023, 3, 2)


def test_a_temporary_account_alone_records_no_first_day(ledger_db: LedgerDB) -> None:
    """Only a fund figure makes the unit's first day (ATTACK16 C1): the officer's reclass on its
    temporary accounts records nothing, and the unit's first collection does."""
    from tests.helpers import reclass

    o81 = ledger_db.connect("o81")
    post(o81, reclass("tmp", "2022-03-01", U81, "0.01"))
    o81.commit()
    assert _recorded(ledger_db) is None
    _history(ledger_db)
    assert _recorded(ledger_db) is not None and _recorded(ledger_db)[0] == dt.date(2023, 3, 1)  # type: ignore[index]


def test_the_record_is_never_changed_and_the_verdict_names_a_change_behind_the_triggers(ledger_db: LedgerDB) -> None:
    _history(ledger_db)
    admin = ledger_db.admin()
    for sql in ("UPDATE fl.unit_first_day SET first_day = '2022-03-31'", "DELETE FROM fl.unit_first_day",
                "TRUNCATE fl.unit_first_day"):
        with pytest.raises(psycopg.Error):
            admin.execute(sql)
        admin.rollback()
    for user in ("fin", "o81", "rev", "aud"):
        c = ledger_db.connect(user)
        with pytest.raises(psycopg.Error):
            c.execute("INSERT INTO fl.unit_first_day (book, unit, first_day, entry_id) "
                      "SELECT 'RES', '230881', '2022-03-31', min(id) FROM fl.entry")
        c.rollback()
        with pytest.raises(psycopg.Error):
            c.execute("SELECT fl.unit_first_day_record()")
        c.close()

    # The DBA, with the triggers off: the first day a year earlier, naming finance's back-dated
    # 0.01 (a real fund-figure entry of the unit, dated that day).
    fin = ledger_db.connect("fin")
    [row] = post(fin, collect("back", "2022-03-31", U81, "0.01"))
    fin.commit()
    assert _monitor(ledger_db)[:3] == ("2.38", "daily_since_first_day", "red")
    admin.execute("ALTER TABLE fl.unit_first_day DISABLE TRIGGER USER")
    try:
        admin.execute("UPDATE fl.unit_first_day SET first_day = '2022-03-31', entry_id = %s", (row["entry_id"],))
    finally:
        admin.execute("ALTER TABLE fl.unit_first_day ENABLE TRIGGER USER")
    admin.commit()
    assert _monitor(ledger_db)[:3] == ("28.00", "last_12_months", "excess")   # what the forgery buys
    found = verdict(ledger_db)
    text = " ".join(str(f["message"]) for f in found.get("first_days", []))
    assert "230881" in text and "2022-03-31" in text, found
