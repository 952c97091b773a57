"""At any date, the monitor, ``balance``, the subledger and the shortfall report agree, or
differ by exactly the government share still owed, as docs/reports.md says.

A county (230826, RES) two years in deficit: S0 50,000; 2023 R 300,000 E 420,000
(government share 70,000, paid 30,000 on 2024-01-15 and 40,000 on 2024-01-31); 2024
R 250,000 E 330,000 (share 80,000, never paid); 2025 revenue 10,000 in March. At a date D
(random, 2023-01-01 … 2025-12-31):

* monitor ``surplus`` (cash on the books) = the subledger's ``surplus`` line at D;
* monitor ``outstanding_share`` = ``balance RES:3001:230826 --as-of D``'s
  ``government_share_outstanding`` = the register's outstanding at D;
* the rule's S to date = monitor surplus + outstanding share = S before (year of D) +
  (revenue on the books to D − share receipts to D − expenditure to D), plus the year's
  government share on 31 December of a closed year, where it is the report's S after.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.core.money import parse_fen
from tests.helpers import cli_post

pytestmark = pytest.mark.db

UNIT = "230826"


def _move(key: str, date: str, dr: str, cr: str, yuan: str, unit: str = UNIT, dr_holder: str | None = None,
          cr_holder: str | None = None) -> dict:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": dr, "unit": unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.exit_code == 0, r
    return r


@pytest.fixture
def two_years(ledger_db):  # type: ignore[no-untyped-def]
    def post(*docs: dict) -> None:
        cli_post(ledger_db, "fin", list(docs))

    post(_move("o26", "2022-12-31", "1003", "3001", "50000.00", dr_holder="special"),
         _move("o00", "2022-12-31", "1003", "3001", "1000000.00", unit="230800", dr_holder="special"),
         _move("r23", "2023-02-01", "1003", "4001", "300000.00", dr_holder="special"),
         _move("e23", "2023-09-30", "5001.inpatient", "1003", "420000.00", cr_holder="special"))
    _ok(ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev"))
    for amount, date in (("30000.00", "2024-01-15"), ("40000.00", "2024-01-31")):
        _ok(ledger_db.cli("government", "pay", "--unit", UNIT, "--book", "RES", "--amount", amount, "--date", date,
                          user="fin"))
    post(_move("r24", "2024-02-01", "1003", "4001", "250000.00", dr_holder="special"),
         _move("e24", "2024-09-30", "5001.inpatient", "1003", "330000.00", cr_holder="special"))
    _ok(ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev"))
    post(_move("r25", "2025-03-10", "1003", "4001", "10000.00", dr_holder="special"))
    return ledger_db


def _flows_to(d: dt.date) -> tuple[int, int, int]:
    """(revenue on the books, share receipts, expenditure) from 1 January of D's year to D, fen."""
    events = [(dt.date(2023, 2, 1), "r", 300_000_00), (dt.date(2023, 9, 30), "e", 420_000_00),
              (dt.date(2024, 1, 15), "g", 30_000_00), (dt.date(2024, 1, 31), "g", 40_000_00),
              (dt.date(2024, 2, 1), "r", 250_000_00), (dt.date(2024, 9, 30), "e", 330_000_00),
              (dt.date(2025, 3, 10), "r", 10_000_00)]
    seen = [(k, a) for day, k, a in events if day.year == d.year and day <= d]
    receipts = sum(a for k, a in seen if k == "g")
    return sum(a for k, a in seen if k in "rg"), receipts, sum(a for k, a in seen if k == "e")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(dt.date(2023, 1, 1), dt.date(2025, 12, 31)))
@example(day=dt.date(2023, 12, 31))
@example(day=dt.date(2024, 1, 20))       # between the two parts of the 2023 share
@example(day=dt.date(2024, 12, 31))
def test_reports_agree_at_any_date(two_years, day):
    db, d = two_years, day.isoformat()
    r = db.cli("monitor", "--as-of", d, "--unit", UNIT, "--book", "RES", "--json", user="aud")
    assert r.exit_code in (0, 3), r                                                 # 3: a red row
    mon = r.json()
    [m] = mon["rows"] or [None]
    sub = _ok(db.cli("report", "subledger", "--unit", UNIT, "--as-of", d, "--book", "RES", "--json", user="aud")).json()
    [line] = [r for s in sub["sections"] for r in s["rows"] if r.get("code") == "surplus"]
    bal = _ok(db.cli("balance", "RES:3001:230826", "--as-of", d, "--json", user="aud")).json()
    short = [r for r in _ok(db.cli("report", "shortfall", "--year", str(day.year), "--json", user="aud")).json()
             if r["unit"] == UNIT and r["book"] == "RES"]
    surplus, owed = parse_fen(m["surplus"], allow_negative=True), parse_fen(m["outstanding_share"])
    assert parse_fen(line["closing"], allow_negative=True) == surplus               # the subledger: on the books
    assert parse_fen(bal["government_share_outstanding"]) == owed                   # balance: owed, beside
    beside = [r for s in sub["sections"] for r in s["rows"] if r.get("code") == "government_share_outstanding"]
    assert [parse_fen(r["closing"]) for r in beside] == [owed]                      # the subledger: owed, beside
    books, receipts, spent = _flows_to(day)
    [s] = short
    s_before = parse_fen(s["surplus_before"], allow_negative=True)
    # the close (31 December of a closed year) records the year's share as owed
    closed_share = parse_fen(s["government_share"]) if day == dt.date(day.year, 12, 31) and day.year < 2025 else 0
    assert surplus + owed == s_before + books - receipts - spent + closed_share     # the rule's S to date
    assert owed == parse_fen(s["outstanding_before"]) - receipts + closed_share
    if day == dt.date(day.year, 12, 31) and day.year < 2025:
        assert surplus + owed == parse_fen(s["surplus_after"], allow_negative=True)  # = S after at the close
