"""ATTACK16 C2's class (0123): months close in order, so a closed month is a prefix of the books.

The close takes the months before it in order from the ledger's first year: an earlier open
month that holds an entry refuses it (close that month first), as does the open December of an
earlier year that holds entries and has no year close (close that year first: its close dates its
closing entries 31 December and then closes its months); every other earlier month — nothing is
dated in it — is closed with it. Each refusal names the month and the command to run, in Chinese
by default, and writes nothing."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import collect, post, reclass

pytestmark = pytest.mark.db

U22 = "230822"


def _close(db, month: str) -> None:
    db.cached("rev").execute("SELECT fl.close_period(%s, 'monthly close')", (month,))


def _closed(db) -> set[str]:
    return {f"{r['month']:%Y-%m}" for r in db.admin().execute("SELECT month FROM fl.closed_period").fetchall()}


def test_an_earlier_open_month_with_entries_refuses_the_close_and_is_named(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c-jan", "2024-01-10", U22, "1000.00"), collect("c-feb", "2024-02-10", U22, "2000.00"))
    fin.commit()
    _close(ledger_db, "2024-01-01")
    with pytest.raises(psycopg.Error) as e:
        _close(ledger_db, "2024-03-01")
    assert e.value.diag.constraint_name == "period_order"
    assert "2024-02" in str(e.value) and "close period 2024-02" in str(e.value)
    assert "2024-03" not in _closed(ledger_db)                  # nothing was closed
    _close(ledger_db, "2024-02-01")                              # in order, it closes
    _close(ledger_db, "2024-03-01")
    assert {"2024-01", "2024-02", "2024-03"} <= _closed(ledger_db)


def test_the_months_before_it_with_nothing_in_them_close_with_it(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c-mar", "2024-03-10", U22, "1000.00"))
    fin.commit()
    before = _closed(ledger_db)
    _close(ledger_db, "2024-03-01")
    closed = _closed(ledger_db)
    assert {"2024-01", "2024-02", "2023-12", "2023-01"} <= closed - before
    reasons = {f"{r['month']:%Y-%m}": r["reason"] for r in ledger_db.admin().execute(
        "SELECT month, reason FROM fl.closed_period").fetchall()}
    assert reasons["2024-02"] == "closed with 2024-03 (no entries)"
    # ... so nothing can be dated there any more: the officer's back-dated reclass is refused
    o22 = ledger_db.connect("o22")
    with pytest.raises(psycopg.Error) as e:
        post(o22, reclass("into-feb", "2024-02-20", U22, "100.00"))
    assert e.value.diag.constraint_name == "period_closed", e.value
    o22.rollback()


def test_an_open_december_of_a_year_with_entries_waits_for_its_year_close(ledger_db):
    """Closing an empty December first would leave the year unclosable (its closing entries are
    dated 31 December): the close of January of the next year is refused until the year close."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c-2023", "2023-06-10", U22, "1000.00"), collect("c-2024", "2024-01-10", U22, "500.00"))
    fin.commit()
    for m in range(1, 6):
        _close(ledger_db, f"2023-{m:02d}-01")
    _close(ledger_db, "2023-06-01")
    for m in range(7, 12):
        _close(ledger_db, f"2023-{m:02d}-01")                # July to November: nothing in them
    with pytest.raises(psycopg.Error) as e:
        _close(ledger_db, "2024-01-01")
    assert e.value.diag.constraint_name == "period_order"
    assert "close year 2023" in str(e.value), e.value
    assert "2023-12" not in _closed(ledger_db) and "2024-01" not in _closed(ledger_db)


def test_the_refusal_reaches_the_officer_in_chinese_with_the_command_to_run(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c-jan", "2024-01-10", U22, "1000.00"), collect("c-feb", "2024-02-10", U22, "2000.00"))
    fin.commit()
    assert ledger_db.cli("close", "period", "2024-01", user="rev").exit_code == 0
    res = ledger_db.cli("--lang", "zh", "close", "period", "2024-03", user="rev")
    assert res.exit_code != 0
    out = res.stdout + res.stderr
    assert "2024-02" in out and "close period 2024-02" in out and "按月顺序结账" in out, out
    assert "Traceback" not in out and any("\u4e00" <= ch <= "\u9fff" for ch in out), out
    en = ledger_db.cli("close", "period", "2024-03", user="rev")
    assert en.exit_code != 0 and "months close in order" in en.stdout + en.stderr, en


def test_december_of_a_year_with_entries_is_closed_by_its_year_close_not_as_a_month(ledger_db):
    """ATTACK16 C5's class: a December closed as a month made its year unclosable (the close's
    own entries are dated 31 December). Refused while the year has no close, every earlier month
    closed or not, saying which command closes it; a December of a year with nothing in it closes."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c-2024", "2024-03-10", U22, "1000.00"))
    fin.commit()
    for m in range(1, 12):
        _close(ledger_db, f"2024-{m:02d}-01")
    with pytest.raises(psycopg.Error) as e:
        _close(ledger_db, "2024-12-01")
    assert e.value.diag.constraint_name == "december_close"
    assert "close year 2024" in str(e.value) and "2024-12" not in _closed(ledger_db)
    zh = ledger_db.cli("--lang", "zh", "close", "period", "2024-12", user="rev")
    assert zh.exit_code != 0 and "年终结转" in zh.stdout + zh.stderr and "Traceback" not in zh.stderr, zh
    _close(ledger_db, "2021-12-01")        # an empty year's December is not refused (closed with 2024-01 already)
    assert "2021-12" in _closed(ledger_db)
