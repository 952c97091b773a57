"""Year-end close (年终结转) with the shortfall rule (缺口分担), and the government's payment.

Openings (2023-12-31, Dr 1003 special / Cr 3001), the year 2024, by hand (RES):

=========  ==========  ==========  ===========  ===========  =========  ==========  ==========
unit       S before    revenue     expenditure  C = R − E    covered    government  S after
=========  ==========  ==========  ===========  ===========  =========  ==========  ==========
230800     200,000     800,000     700,000      +100,000     0          0           300,000
230822     500,000     1,000,000   1,300,000    −300,000     300,000    0           200,000
230881     100,000     400,000     650,000      −250,000     100,000    150,000     0
=========  ==========  ==========  ===========  ===========  =========  ==========  ==========

* 230800 is in surplus: nothing to share, S grows by C.
* 230822's gap (300,000) is covered by its surplus (500,000) → 200,000 left.
* 230881's gap (250,000) exceeds its surplus (100,000): the government owes 150,000;
  S after = 100,000 − 250,000 + 150,000 = 0 once paid. Until then its 3001 stands at
  −150,000 (debit balance 150,000.00).

EMP, 230822 pooled only (personal is closed but never shared): S 20,000, revenue
100,000, expenditure 140,000 → C −40,000, covered 20,000, government 20,000, S after 0.

Revenue 230881 = 4001 300,000 + 4101.central 100,000; expenditure = 5001.inpatient
600,000 + 5101 50,000. The government then pays 100,000 + 50,000 in January 2025.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from ledger.core.money import decimal_text
from tests.helpers import collect, entry, leg, pay_from_special, post
from tests.integration._cycle import bal, fen

pytestmark = pytest.mark.db

RES_2024 = [
    {"unit": "230800", "book": "RES", "revenue": "800000.00", "expenditure": "700000.00", "current_balance": "100000.00",
     "surplus_before": "200000.00", "covered_by_surplus": "0.00", "government_share": "0.00",
     "surplus_after": "300000.00"},
    {"unit": "230822", "book": "RES", "revenue": "1000000.00", "expenditure": "1300000.00",
     "current_balance": "-300000.00", "surplus_before": "500000.00", "covered_by_surplus": "300000.00",
     "government_share": "0.00", "surplus_after": "200000.00"},
    {"unit": "230881", "book": "RES", "revenue": "400000.00", "expenditure": "650000.00", "current_balance": "-250000.00",
     "surplus_before": "100000.00", "covered_by_surplus": "100000.00", "government_share": "150000.00",
     "surplus_after": "0.00"},
]
EMP_2024 = [{"unit": "230800", "book": "EMP", "revenue": "0.00", "expenditure": "0.00",
             "current_balance": "0.00", "surplus_before": "50000.00", "covered_by_surplus": "0.00",
             "government_share": "0.00", "surplus_after": "50000.00"},
            {"unit": "230822", "book": "EMP", "revenue": "100000.00", "expenditure": "140000.00",
             "current_balance": "-40000.00", "surplus_before": "20000.00", "covered_by_surplus": "20000.00",
             "government_share": "20000.00", "surplus_after": "0.00"}]


def _reconciled(r: dict) -> dict:
    """A first year: nothing was owed or received before it, so the books and the rule
    read the same except for the share the close itself records as owed."""
    owed = fen(r["government_share"])
    return dict(r, revenue_on_books=r["revenue"], share_receipts="0.00", surplus_before_on_books=r["surplus_before"],
                outstanding_before="0.00", outstanding_after=r["government_share"],
                surplus_after_on_books=decimal_text(fen(r["surplus_after"]) - owed),
                adjustment_receipts="0.00", covered_by_adjustment_fund="0.00")


RES_2024 = [_reconciled(r) for r in RES_2024]
EMP_2024 = [_reconciled(r) for r in EMP_2024]


def _opening(key: str, unit: str, yuan: str, book: str = "RES", component: str = "") -> dict:
    return entry(key, "2023-12-31", book, leg("1003", unit, "D", yuan, "special", component),
                 leg("3001", unit, "C", yuan, component=component))


def _year(ledger_db) -> None:  # type: ignore[no-untyped-def]
    fin = ledger_db.connect("fin")
    post(fin,
         _opening("o00", "230800", "200000.00"), _opening("o22", "230822", "500000.00"),
         _opening("o81", "230881", "100000.00"), _opening("oe22", "230822", "20000.00", "EMP", "pooled"),
         # the city's pooled money in the EMP special account, which 230822's pooled fund
         # draws on (units may draw on the pool; never on personal accounts)
         _opening("oe00", "230800", "50000.00", "EMP", "pooled"),
         collect("c00", "2024-03-01", "230800", "800000.00"), collect("c22", "2024-03-01", "230822", "1000000.00"),
         collect("c81", "2024-03-01", "230881", "300000.00"),
         entry("s81", "2024-03-02", "RES", leg("1003", "230881", "D", "100000.00", "special"),
               leg("4101.central", "230881", "C", "100000.00")),
         pay_from_special("p00", "2024-06-30", "230800", "700000.00"),
         pay_from_special("p22", "2024-06-30", "230822", "1300000.00"),
         pay_from_special("p81", "2024-06-30", "230881", "600000.00"),
         entry("ci81", "2024-07-01", "RES", leg("5101", "230881", "D", "50000.00"),
               leg("1003", "230881", "C", "50000.00", "special")),
         collect("ce22", "2024-03-01", "230822", "100000.00", book="EMP", component="pooled"),
         collect("ce22q", "2024-03-01", "230822", "30000.00", book="EMP", component="personal"),
         entry("pe22", "2024-06-30", "EMP", leg("5001.inpatient", "230822", "D", "140000.00", component="pooled"),
               leg("1003", "230822", "C", "140000.00", "special", "pooled")),
         entry("pe22q", "2024-06-30", "EMP", leg("5001.pharmacy", "230822", "D", "5000.00", component="personal"),
               leg("1003", "230822", "C", "5000.00", "special", "personal")))
    fin.commit()


def test_year_close_shares_shortfalls_and_locks_the_year(ledger_db):
    _year(ledger_db)
    cli, db = ledger_db.cli, ledger_db.admin()

    live = cli("report", "shortfall", "--year", "2024", "--json", user="aud")
    assert live.exit_code == 0, live
    assert live.json() == [dict(r, provisional=True) for r in EMP_2024 + RES_2024]

    refused = cli("close", "year", "2024", "--date", "2024-12-31", user="fin")
    assert refused.exit_code == 1 and "needs the reviewer role" in refused.stderr, refused
    outside = cli("close", "year", "2024", "--date", "2025-01-01", user="rev")
    assert outside.exit_code == 1 and "must be dated within 2024" in outside.stderr, outside

    done = cli("close", "year", "2024", "--date", "2024-12-31", "--json", user="rev")
    assert done.exit_code == 0, done
    assert {b["book"]: (b["entries"], b["government_items"]) for b in done.json()["books"]} == {
        "EMP": (2, 1), "RES": (6, 1)}    # EMP: one revenue + one expenditure entry (both components)

    report = cli("report", "shortfall", "--year", "2024", "--json", user="aud").json()
    assert report == EMP_2024 + RES_2024                       # exactly the keys, no "provisional"
    assert cli("report", "shortfall", "--year", "2024", "--json", user="o81").json() == [RES_2024[2]]

    # The closing entries leave every revenue and expenditure account at zero …
    left = db.execute("""SELECT a.book, a.chart_code, a.unit, a.component, a.balance FROM fl.account a
                          JOIN fl.chart c ON c.code = a.chart_code
                         WHERE c.kind IN ('revenue', 'expenditure') AND a.balance <> 0""").fetchall()
    assert left == []
    # … and 3001 holds S + C (before the government pays), per component.
    assert bal(db, "RES", "3001", "230800") == -fen("300000.00")
    assert bal(db, "RES", "3001", "230822") == -fen("200000.00")
    assert bal(db, "RES", "3001", "230881") == fen("150000.00")
    assert bal(db, "EMP", "3001", "230822", "", "pooled") == fen("20000.00")
    assert bal(db, "EMP", "3001", "230822", "", "personal") == -fen("25000.00")
    items = db.execute("""SELECT kind, unit, book, component, amount, fiscal_year, opened_on::text AS opened
                            FROM fl.register_item ORDER BY book, unit""").fetchall()
    assert [tuple(i.values()) for i in items] == [
        ("government_share", "230822", "EMP", "pooled", fen("20000.00"), 2024, "2024-12-31"),
        ("government_share", "230881", "RES", "", fen("150000.00"), 2024, "2024-12-31")]
    assert db.execute("SELECT count(*) AS n FROM fl.closed_period WHERE month BETWEEN '2024-01-01' AND '2024-12-01'"
                      ).fetchone()["n"] == 12

    # Once only; nothing more may be dated in 2024.
    twice = cli("close", "year", "2024", "--date", "2024-12-31", user="rev")
    assert twice.exit_code == 1 and "year 2024 is already closed for book EMP" in twice.stderr, twice
    fin = ledger_db.connect("fin")
    with pytest.raises(psycopg.Error) as ei:
        post(fin, collect("late", "2024-12-31", "230822", "1.00"))
        fin.commit()
    assert ei.value.diag.constraint_name == "period_closed"
    fin.rollback()

    # The government pays next January: oldest items first; never more than owed.
    pay = ["government", "pay", "--unit", "230881", "--book", "RES", "--date", "2025-01-20"]
    assert cli(*pay, "--amount", "100000.00", user="rev").exit_code == 1
    first = cli(*pay, "--amount", "100000.00", "--key", "gp1", "--json", user="fin")
    assert first.exit_code == 0, first
    assert [(r["fiscal_year"], r["amount"], r["status"]) for r in first.json()] == [(2024, "100000.00", "posted")]
    replay = cli(*pay, "--amount", "100000.00", "--key", "gp1", "--json", user="fin")
    assert [r["status"] for r in replay.json()] == ["duplicate"], replay
    over = cli(*pay, "--amount", "50000.01", user="fin")
    assert over.exit_code == 1 and "owes 50,000.00" in over.stderr, over
    assert cli(*pay, "--amount", "50000.00", user="fin").exit_code == 0
    none_left = cli(*pay, "--amount", "0.01", user="fin")
    assert none_left.exit_code == 1 and "owes no government share" in none_left.stderr, none_left
    assert db.execute("SELECT cleared FROM fl.register_item WHERE unit = '230881'").fetchone()["cleared"] == fen("150000.00")
    assert bal(db, "RES", "4101.shortfall", "230881") == -fen("150000.00")
    assert bal(db, "RES", "1003", "230881", "special") == fen("0.00")   # 100k+400k−650k+150k

    # 2025 so far (provisional): the payment is 2025 revenue on the books, but it settles
    # 2024's share: it is not in 2025's C (BRIEF §5). S before 2025 = S after 2024 = 0.
    y25 = {r["unit"]: r for r in cli("report", "shortfall", "--year", "2025", "--json", user="rev").json()
           if r["book"] == "RES"}
    assert (y25["230881"]["revenue_on_books"], y25["230881"]["share_receipts"], y25["230881"]["revenue"],
            y25["230881"]["surplus_before_on_books"], y25["230881"]["outstanding_before"],
            y25["230881"]["surplus_before"], y25["230881"]["current_balance"], y25["230881"]["surplus_after"],
            y25["230881"]["outstanding_after"], y25["230881"]["provisional"]) == (
        "150000.00", "150000.00", "0.00", "-150000.00", "150000.00", "0.00", "0.00", "0.00", "0.00", True)

    # Prior-year pre-allocation basis reads 2024's spending without the closing entries.
    prior = cli("preallocate", "--year", "2025", "--date", "2025-01-02", "--basis", "prior-year", "--dry-run",
                "--json", user="rev").json()
    assert [(r["unit"], r["book"], r["component"], r["monthly_basis"], r["target"]) for r in prior] == [
        ("230822", "EMP", "personal", "416.67", "1250.01"), ("230822", "EMP", "pooled", "11666.67", "35000.01"),
        ("230822", "RES", "", "108333.33", "324999.99"), ("230881", "RES", "", "54166.67", "162500.01")]

    # Years close in order.
    skip = cli("close", "year", "2026", "--date", "2026-12-31", user="rev")
    assert skip.exit_code == 1 and "close year 2025 first" in skip.stderr, skip


def test_database_checks_the_shortfall_table_it_is_given(ledger_db):
    _year(ledger_db)
    rev = ledger_db.connect("rev")
    rows = {"RES": [{k: int(fen(v)) if k not in ("unit", "book") else v for k, v in r.items()} for r in RES_2024],
            "EMP": [{k: int(fen(v)) if k not in ("unit", "book") else v for k, v in r.items()} for r in EMP_2024]}

    def refused(constraint: str, results: dict, date: str = "2024-12-31") -> None:
        with pytest.raises(psycopg.Error) as ei:
            rev.execute("SELECT * FROM fl.close_year(2024, %s, %s::jsonb)", (date, json.dumps(results)))
        rev.rollback()
        assert ei.value.diag.constraint_name == constraint, ei.value

    cheat = json.loads(json.dumps(rows))
    cheat["RES"][2]["government_share"] += 1
    cheat["RES"][2]["surplus_after"] += 1
    refused("year_close_result", cheat)                                  # the rule, not what the caller says
    stale = json.loads(json.dumps(rows))
    stale["RES"][1]["revenue"] -= 1
    stale["RES"][1]["current_balance"] -= 1
    stale["RES"][1]["covered_by_surplus"] += 1
    stale["RES"][1]["surplus_after"] -= 1
    refused("year_close_result", stale)                                  # figures the books do not show
    missing = {"RES": rows["RES"][:2], "EMP": rows["EMP"]}
    refused("year_close_result", missing)
    refused("close_date", rows, "2025-01-01")
    refused("year_close_date", rows, "2024-06-30")                      # 0100: the last day of the year only
    fin = ledger_db.connect("fin")
    with pytest.raises(psycopg.Error) as ei:
        fin.execute("SELECT * FROM fl.close_year(2024, '2024-12-31', %s::jsonb)", (json.dumps(rows),))
    assert ei.value.diag.constraint_name == "permission_denied"

    assert len(rev.execute("SELECT * FROM fl.close_year(2024, '2024-12-31', %s::jsonb)", (json.dumps(rows),)).fetchall()) == 2
    rev.commit()
    refused("year_closed", rows)
