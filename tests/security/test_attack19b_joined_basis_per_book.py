"""ATTACK19b K6: 0157 makes a registered unit's joining date its months-payable basis "in every book"
(ledger.store.monitor._BASIS: fl.unit_joined × fl.book), where 0130 recorded a first day per book and
unit. A registered county whose employees' fund (EMP) starts with the ledger long after it joined —
its first EMP collection in October 2024, joined (for the residents' fund) 1 January 2023 — is read
on the 12-month basis in EMP: three months' spending taken as a year's, months payable four times what
it is ("excess" where a defaulted county with the very same EMP postings reads its real figure, on
0130's recorded first day). The basis shifted by registering the date, in a book the date never
described."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

NEW = "230899"
OLD = "230822"          # a county whose joining date was defaulted (jiamusi.toml names none)
AS_OF = "2024-12-31"


def _emp(db: LedgerDB, unit: str) -> tuple[Any, ...]:
    res = db.cli("monitor", "--as-of", AS_OF, "--unit", unit, "--book", "EMP", "--json", user="aud")
    assert res.exit_code in (0, 3), res
    [r] = [r for r in json.loads(res.stdout)["rows"] if r["unit"] == unit and r["book"] == "EMP"]
    return r["months_payable"], r["colour"]


def test_k6_a_registered_joining_date_is_not_the_basis_of_a_book_the_unit_started_later(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    text += (f'\n[[units]]\ncode = "{NEW}"\nname_zh = "新县"\nname_en = "Xinxian"\nkind = "county"\n'
             'joined = "2023-01-01"\n')
    p = tmp_path / "region.toml"
    p.write_text(text, "utf-8")
    r = ledger_db.cli("init", "--region", str(p))
    assert r.exit_code == 0, r
    fin = ledger_db.connect("fin")
    for u in (NEW, OLD):
        # the residents' fund since 2023
        post(fin, collect(f"r-{u}", "2023-01-10", u, "500000.00"))
        # the employees' fund pooled from October 2024: the same postings for both counties
        post(fin, collect(f"e-{u}", "2024-10-01", u, "1000000.00", book="EMP", component="pooled"))
        for i, day in enumerate(("2024-10-15", "2024-11-15", "2024-12-15")):
            post(fin, entry(f"p{i}-{u}", day, "EMP", leg("5001.inpatient", u, "D", "100000.00", component="pooled"),
                            leg("1003", u, "C", "100000.00", "special", component="pooled")))
    fin.commit()
    old = _emp(ledger_db, OLD)
    # on main: the defaulted county reads ~7 months (0130: first EMP day 2024-10-01), the registered
    # one ~28 months, "excess" (joined 2023-01-01 taken as its first EMP day: a year's basis)
    assert _emp(ledger_db, NEW) == old, old


def test_k6_the_later_books_first_day_is_not_moved_by_a_backdated_001_and_the_first_book_keeps_the_joining_date(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The fix's bounds: the book the unit joined with counts January loaded after its first posting of
    28 March (G5) — from its earliest fund figure, 10 January, never before the registered date (0176,
    ATTACK21 N9: the later of the two) — and the book it opened later keeps the first day
    of its own first transaction — a back-dated 0.01 in EMP after it (D4), dated a day after the joining
    date, moves it not (the registered county still reads as the defaulted one)."""
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    text += (f'\n[[units]]\ncode = "{NEW}"\nname_zh = "新县"\nname_en = "Xinxian"\nkind = "county"\n'
             'joined = "2023-01-01"\n')
    p = tmp_path / "region.toml"
    p.write_text(text, "utf-8")
    assert ledger_db.cli("init", "--region", str(p)).exit_code == 0
    fin = ledger_db.connect("fin")
    for u in (NEW, OLD):
        post(fin, collect(f"r-{u}", "2023-03-28", u, "500000.00"))
        post(fin, collect(f"rj-{u}", "2023-01-10", u, "500000.00"))      # January, loaded after (G5)
        post(fin, collect(f"e-{u}", "2024-10-01", u, "1000000.00", book="EMP", component="pooled"))
        for i, day in enumerate(("2024-10-15", "2024-11-15", "2024-12-15")):
            post(fin, entry(f"p{i}-{u}", day, "EMP", leg("5001.inpatient", u, "D", "100000.00", component="pooled"),
                            leg("1003", u, "C", "100000.00", "special", component="pooled")))
        post(fin, collect(f"d4-{u}", "2023-01-02", u, "0.01", book="EMP", component="pooled"))   # D4
    fin.commit()
    assert _emp(ledger_db, NEW) == _emp(ledger_db, OLD)
    firsts = ledger_db.admin().execute(
        "SELECT book, first_day::text AS d FROM fl.unit_first_day WHERE unit = %s ORDER BY book", (OLD,)).fetchall()
    assert [(r["book"], r["d"]) for r in firsts] == [("EMP", "2024-10-01"), ("RES", "2023-03-28")]
    from ledger.store import monitor as store_monitor
    with ledger_db.connect("aud") as c:
        basis = store_monitor.recorded_first_days(c, unit=NEW)
    # RES: from its earliest figure, 10 January, on or after the registered date (the record of a defaulted
    # county says 28 March: G5); EMP: its own start
    assert basis == {(NEW, "RES"): dt.date(2023, 1, 10), (NEW, "EMP"): dt.date(2024, 10, 1)}
    # one basis: the monitor's EMP figure, the forecast's origin and the chart's point agree
    m = _emp(ledger_db, NEW)
    res = ledger_db.cli("forecast", "--as-of", AS_OF, "--years", "1", "--unit", NEW, "--book", "EMP", "--json",
                        user="aud")
    assert res.exit_code == 0, res
    [f] = json.loads(res.stdout)["units"]
    assert (f["origin"]["months_payable"], f["origin"]["colour"]) == m
    from ledger.reports.builders_fund import monitor_series
    from ledger.store import reports
    end = dt.date.fromisoformat(AS_OF)
    c = ledger_db.connect("aud")
    try:
        series = monitor_series(store_monitor.monthly(c, book="EMP", end=end), year=end.year, through=end,
                                labels=reports.labels(c), first_days=store_monitor.first_days(c, book="EMP"))
        point = dict(series[reports.labels(c).name("units", NEW, "zh")])[end]
    finally:
        c.close()
    assert m[0] == (None if point is None else str(point)), (m, point)
