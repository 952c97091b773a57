"""ATTACK16 C1: a county officer moves its own unit's months payable (可支付月数) from red to
"excess" with one fen on temporary accounts dated a year back.

The monitor's basis (BRIEF §5): with less than 12 months of a unit in the ledger, the average
monthly expenditure is the daily average since the unit's *first day in the ledger* × 365 ÷ 12;
with 12 months, the last 12 months' spending ÷ 12. The first day is read from every account of
the unit (``ledger.store.monitor.figures``: ``min(operating_day.day)`` over all its accounts), so
any posting dated earlier moves it. An officer's manual entry Dr 1101 / Cr 2001 moves no bank
account and no figure of the year-end rule: it posts at once, alone (``fl._held_by_hand``), and
may be dated in any year not closed (first_year 2021). Dated 12 months before the day, it turns
the basis into ``last_12_months``: a quarter's spending ÷ 12 — the short-span overstatement the
BRIEF forbids ("never a short span's spending ÷ 12, which overstates the months many times").

Safe behaviour asserted: the unit's months payable, basis and colour at the day are what the
fund's own figures give, whatever temporary entry the officer dated before them (and the
monitor still exits 3 for the red unit, so the scheduler still sees it).
"""

from __future__ import annotations

import pytest

from tests.helpers import collect, entry, leg, pay_from_special, post, reclass

pytestmark = pytest.mark.db

U81 = "230881"


def _row(res):
    assert res.exit_code in (0, 3), res
    rows = [r for r in res.json()["rows"] if r["unit"] == U81 and r["book"] == "RES"]
    assert len(rows) == 1, res.json()
    r = rows[0]
    return r["months_payable"], r["basis"], r["colour"], res.exit_code


def test_an_officer_cannot_turn_its_red_months_payable_green_with_a_backdated_reclass(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-03-01", U81, "1000000.00"))
    post(fin, pay_from_special("p81", "2023-03-15", U81, "300000.00"))
    fin.commit()

    args = ("monitor", "--as-of", "2023-03-31", "--unit", U81, "--book", "RES", "--json")
    before = _row(ledger_db.cli(*args, user="aud"))
    # 700,000 / (300,000 × 365 ÷ (12 × 31)) = 2.38: red, the scheduler's exit 3
    assert before == ("2.38", "daily_since_first_day", "red", 3)

    # The county's own officer, alone: 0.01 on its temporary accounts, a year before the day.
    o81 = ledger_db.connect("o81")
    rows = post(o81, reclass("first-day", "2022-03-01", U81, "0.01"))
    o81.commit()
    assert rows[0]["status"] == "posted"        # no second person saw it

    after = _row(ledger_db.cli(*args, user="aud"))
    # On main: ("28.00", "last_12_months", "excess", 0) — a quarter's spending ÷ 12.
    assert after == before


def test_a_reclass_undone_the_same_day_leaves_no_earlier_first_day(ledger_db):
    """The variant that leaves nothing on the books: the reclass and its opposite (both by the
    officer, at once, the same day) net to zero on every account, and the first day still moved."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-03-01", U81, "1000000.00"))
    post(fin, pay_from_special("p81", "2023-03-15", U81, "300000.00"))
    fin.commit()
    args = ("monitor", "--as-of", "2023-03-31", "--unit", U81, "--book", "RES", "--json")
    before = _row(ledger_db.cli(*args, user="aud"))

    o81 = ledger_db.connect("o81")
    undo = entry("first-day-undo", "2022-03-01", "RES", leg("2001", U81, "D", "0.01"), leg("1101", U81, "C", "0.01"))
    rows = post(o81, reclass("first-day", "2022-03-01", U81, "0.01"), undo)
    o81.commit()
    assert [r["status"] for r in rows] == ["posted", "posted"]
    assert _row(ledger_db.cli(*args, user="aud")) == before


def test_the_forecast_at_its_origin_keeps_the_basis_too(ledger_db):
    """The forecast reads the unit's first day by its own query (ledger.store.monitor.recorded_first_days):
    the same reclass must not move its origin's months payable either, so the forecast still
    prints at the origin what the monitor prints that day."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c81", "2023-03-01", U81, "1000000.00"))
    post(fin, pay_from_special("p81", "2023-03-15", U81, "300000.00"))
    fin.commit()
    args = ("forecast", "--as-of", "2023-03-31", "--years", "1", "--unit", U81, "--book", "RES", "--json")

    def origin():
        res = ledger_db.cli(*args, user="aud")
        assert res.exit_code == 0, res
        [f] = res.json()["units"]
        return f["origin"]["months_payable"], f["origin"]["colour"]

    before = origin()
    assert before == ("2.38", "red")
    o81 = ledger_db.connect("o81")
    post(o81, reclass("first-day", "2022-03-01", U81, "0.01"))
    o81.commit()
    assert origin() == before


def test_a_real_earlier_fund_figure_still_moves_the_first_day(ledger_db):
    """The other side of the rule (it must not be a constant): a collection dated a year back —
    revenue on the pooled fund, held for a second person — is the unit's first day in the
    ledger, and with 12 months held the basis is the last 12 months' spending."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c81-old", "2022-03-01", U81, "1000.00"))
    post(fin, collect("c81", "2023-03-01", U81, "1000000.00"))
    post(fin, pay_from_special("p81", "2023-03-15", U81, "300000.00"))
    fin.commit()
    res = ledger_db.cli("monitor", "--as-of", "2023-03-31", "--unit", U81, "--book", "RES", "--json", user="aud")
    assert _row(res)[1] == "last_12_months"
