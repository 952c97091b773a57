"""Year after year, through the CLI only: the shortfall rule across years (BRIEF §5,
corrected 2026-12), with the figures worked by hand.

The books are on the cash basis; the government's share of a year is owed to the fund
from that year's close (obligations register), and the rule's S counts it. Its receipt
is revenue on the books of the year it arrives (4101.shortfall), but it settles the old
year's item and is left out of that year's C.
"""

from __future__ import annotations

import json

import pytest

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


def move(key: str, date: str, unit: str, dr: str, cr: str, yuan: str, *, dr_holder: str | None = None,
         cr_holder: str | None = None) -> dict:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": dr, "unit": unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def revenue(key: str, date: str, unit: str, yuan: str) -> dict:
    return move(key, date, unit, "1003", "4001", yuan, dr_holder="special")


def spending(key: str, date: str, unit: str, yuan: str) -> dict:
    return move(key, date, unit, "5001.inpatient", "1003", yuan, cr_holder="special")


def shortfall(ledger_db, year: int, unit: str) -> dict:  # type: ignore[no-untyped-def]
    rows = run(ledger_db, "aud", "report", "shortfall", "--year", str(year), "--json").json()
    return next(r for r in rows if r["unit"] == unit and r["book"] == "RES")


KEYS = ("revenue_on_books", "share_receipts", "revenue", "expenditure", "current_balance", "surplus_before",
        "covered_by_surplus", "government_share", "surplus_after", "outstanding_after", "surplus_after_on_books")


def figures(row: dict) -> tuple:
    return tuple(row[k] for k in KEYS)


def test_brief_worked_example(ledger_db):
    """BRIEF §5's worked example, unit 230822 (桦南县), RES, in yuan.

    S0 1,000 (opening 2022-12-31: Dr 1003 special / Cr 3001). The city proper holds
    100,000 in the special account, so the physical account is never overdrawn while
    230822 draws on the pool.

    2023: R 6,000, E 7,200 → C −1,200; G 1,200; covered by S min(1,200, 1,000) = 1,000;
    government 200; S after = 1,000 − 1,200 + 200 = 0. On the books after the close:
    3001 = 1,000 + 6,000 − 7,200 = −200 (owed 200 by the government).

    2024: the government pays 200 on 2024-01-20 (Dr 1003 special / Cr 4101.shortfall).
    Revenue on the books 6,000 + 200 = 6,200; the 200 settles 2023's item, so the rule's
    revenue is 6,000. E 7,800 → C = 6,000 − 7,800 = −1,800 (not −1,600). S before = −200 on
    the books + 200 owed at the start of 2024 = 0 = S after 2023. Covered 0; government
    1,800; S after = 0 − 1,800 + 1,800 = 0; owed at the end 200 − 200 + 1,800 = 1,800; on
    the books −200 + 6,200 − 7,800 = −1,800 = 0 − 1,800.
    """
    post(ledger_db, move("o22", "2022-12-31", "230822", "1003", "3001", "1000.00", dr_holder="special"),
         move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         revenue("r23", "2023-03-01", "230822", "6000.00"), spending("e23", "2023-06-30", "230822", "7200.00"))
    run(ledger_db, "rev", "close", "year", "2023", "--date", "2023-12-31")
    y23 = shortfall(ledger_db, 2023, "230822")
    assert figures(y23) == ("6000.00", "0.00", "6000.00", "7200.00", "-1200.00", "1000.00", "1000.00", "200.00",
                            "0.00", "200.00", "-200.00")

    paid = run(ledger_db, "fin", "government", "pay", "--unit", "230822", "--book", "RES", "--amount", "200.00",
               "--date", "2024-01-20", "--json").json()
    assert [(p["fiscal_year"], p["amount"]) for p in paid] == [(2023, "200.00")]
    post(ledger_db, revenue("r24", "2024-03-01", "230822", "6000.00"), spending("e24", "2024-06-30", "230822", "7800.00"))
    run(ledger_db, "rev", "close", "year", "2024", "--date", "2024-12-31")
    y24 = shortfall(ledger_db, 2024, "230822")
    assert figures(y24) == ("6200.00", "200.00", "6000.00", "7800.00", "-1800.00", "0.00", "0.00", "1800.00",
                            "0.00", "1800.00", "-1800.00")
    assert y24["surplus_before"] == y23["surplus_after"]
    assert (y24["surplus_before_on_books"], y24["outstanding_before"]) == ("-200.00", "200.00")

    # The income statement (cash basis) shows the 200 as 2024 revenue; the register shows
    # 2023's item settled and 2024's owed in full.
    items = run(ledger_db, "aud", "report", "registers", "--as-of", "2024-12-31", "--kind", "government_share",
                "--json").json()
    shares = sorted((r["reference"], r["amount"], r["outstanding"]) for s in items["sections"] for r in s["rows"]
                    if r["reference"])
    assert shares == [("govshare:2023:RES:230822", "200.00", "0.00"), ("govshare:2024:RES:230822", "1800.00", "1800.00")]


def test_county_two_years_in_deficit_first_share_paid_in_january(ledger_db):
    """桦川县 230826, two years in deficit; its government pays the 2023 share in January
    2024 and nothing of the 2024 share. In yuan.

    S0 50,000. The city proper holds 1,000,000 in the special account (the pool).

    2023: R 300,000, E 420,000 → C −120,000; covered 50,000; government 70,000; S after
    50,000 − 120,000 + 70,000 = 0; on the books 3001 = 50,000 − 120,000 = −70,000.

    2024-01-15 the government pays 70,000 (in two parts: 30,000 on 01-15 and 40,000 on
    01-31). Books: 2024 revenue 250,000 + 70,000 = 320,000. Rule: R 250,000, E 330,000 →
    C −80,000 (the one-year reading would say −10,000 and charge the government 10,000);
    S before 0 (books −70,000, owed 70,000); covered 0; government 80,000; S after 0;
    owed at the end 70,000 − 70,000 + 80,000 = 80,000; books −70,000 + 320,000 −
    330,000 = −80,000.

    2025 (not closed; nothing paid): S before = S after 2024 = 0 (books −80,000, owed 80,000).
    """
    post(ledger_db, move("o26", "2022-12-31", "230826", "1003", "3001", "50000.00", dr_holder="special"),
         move("o00", "2022-12-31", "230800", "1003", "3001", "1000000.00", dr_holder="special"),
         revenue("r23", "2023-02-01", "230826", "300000.00"), spending("e23", "2023-09-30", "230826", "420000.00"))
    run(ledger_db, "rev", "close", "year", "2023", "--date", "2023-12-31")
    y23 = shortfall(ledger_db, 2023, "230826")
    assert figures(y23) == ("300000.00", "0.00", "300000.00", "420000.00", "-120000.00", "50000.00", "50000.00",
                            "70000.00", "0.00", "70000.00", "-70000.00")

    for amount, date in (("30000.00", "2024-01-15"), ("40000.00", "2024-01-31")):
        run(ledger_db, "fin", "government", "pay", "--unit", "230826", "--book", "RES", "--amount", amount,
            "--date", date)
    post(ledger_db, revenue("r24", "2024-02-01", "230826", "250000.00"),
         spending("e24", "2024-09-30", "230826", "330000.00"))
    live = shortfall(ledger_db, 2024, "230826")
    assert live["provisional"] is True and live["current_balance"] == "-80000.00"
    run(ledger_db, "rev", "close", "year", "2024", "--date", "2024-12-31")
    y24 = shortfall(ledger_db, 2024, "230826")
    assert figures(y24) == ("320000.00", "70000.00", "250000.00", "330000.00", "-80000.00", "0.00", "0.00",
                            "80000.00", "0.00", "80000.00", "-80000.00")
    assert y24["surplus_before"] == y23["surplus_after"]

    y25 = shortfall(ledger_db, 2025, "230826")
    assert (y25["surplus_before"], y25["surplus_before_on_books"], y25["outstanding_before"]) == (
        "0.00", "-80000.00", "80000.00")
    # the fund balance on the books says the same, with what is owed beside it
    b = run(ledger_db, "aud", "balance", "RES:3001:230826", "--as-of", "2024-12-31", "--json").json()
    assert b["balance"] == "80000.00"                        # debit balance: −80,000 of surplus on the books
    assert b["government_share_outstanding"] == "80000.00"


def test_closes_in_year_order_and_never_reopened(ledger_db):
    """A year closes only after the one before; a closed year is not closed (or posted) again."""
    post(ledger_db, move("o22", "2022-12-31", "230822", "1003", "3001", "1000.00", dr_holder="special"),
         revenue("r23", "2023-03-01", "230822", "600.00"), revenue("r24", "2024-03-01", "230822", "600.00"))
    early = ledger_db.cli("close", "year", "2024", "--date", "2024-12-31", user="rev")
    assert early.exit_code == 1 and "close year 2023 first" in early.stderr, early
    run(ledger_db, "rev", "close", "year", "2023", "--date", "2023-12-31")
    again = ledger_db.cli("close", "year", "2023", "--date", "2023-12-31", user="rev")
    assert again.exit_code == 1 and "already closed" in again.stderr, again
    late = ledger_db.cli("entry", "post", "-", user="fin",
                         input=json.dumps([revenue("late", "2023-12-30", "230822", "1.00")]))
    assert late.exit_code == 1 and "closed" in late.stderr, late
    run(ledger_db, "rev", "close", "year", "2024", "--date", "2024-12-31")


@pytest.mark.parametrize(("handover", "days", "want"), [
    ("2023-01-03", (29, 179, 363), ("18.77", "14.41", "8.64")),
    ("2023-01-20", (12, 162, 346), ("7.77", "13.04", "8.24")),
])
def test_months_payable_in_the_first_year(ledger_db, handover, days, want):
    """可支付月数 in a unit's first year: its daily spending since its first day × 365 ÷ 12,
    never a short span's spending ÷ 12. Unit 230822 (RES), in yuan.

    Handover (its first day in the ledger): 1,200,000 into the special account (3001).
    It pays 58,000 to providers on the last day of every month from January.

    months = surplus ÷ (spent × 365 ÷ (12 × days)) = surplus × 12 × days ÷ (spent × 365):

    ============  =========  =======  ==========================================  ==============
    as of         surplus    spent    handover 3 January (days)                    20 January
    ============  =========  =======  ==========================================  ==============
    2023-01-31    1,142,000   58,000  × 12 × 29 ÷ (58,000 × 365)   = 18.77       (12 days) 7.77
    2023-06-30      852,000  348,000  × 12 × 179 ÷ (348,000 × 365) = 14.41       (162)    13.04
    2023-12-31      504,000  696,000  × 12 × 363 ÷ (696,000 × 365) =  8.64       (346)     8.24
    ============  =========  =======  ==========================================  ==============

    The old reading (spent ÷ 12) said 236.28 at the end of January: "excess" for a unit
    with about eight months of money.
    """
    docs = [move("o22", handover, "230822", "1003", "3001", "1200000.00", dr_holder="special")]
    for month in range(1, 13):
        end = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(month, 31)
        docs.append(spending(f"p{month}", f"2023-{month:02d}-{end}", "230822", "58000.00"))
    post(ledger_db, *docs)
    for as_of, d, months in zip(("2023-01-31", "2023-06-30", "2023-12-31"), days, want, strict=True):
        res = ledger_db.cli("monitor", "--as-of", as_of, "--unit", "230822", "--book", "RES", "--json", user="aud")
        [r] = res.json()["rows"]
        assert (r["months_payable"], r["basis"]) == (months, "daily_since_first_day"), (as_of, d, r)
        # No revenue all year and money going out: the current-year dimension is red (exit 3),
        # whatever months payable says.
        assert (r["balance_rate"], r["balance_rate_colour"], r["level"], res.exit_code) == (None, "red", "red", 3)


def emp(key: str, date: str, dr: str, cr: str, yuan: str, component: str, *, dr_holder: str | None = None,
        cr_holder: str | None = None) -> dict:
    doc = move(key, date, "230822", dr, cr, yuan, dr_holder=dr_holder, cr_holder=cr_holder)
    doc["book"] = "EMP"
    for p in doc["postings"]:
        p["component"] = component
    return doc


def test_an_employees_payment_is_refused_when_its_component_holds_too_little(ledger_db):
    """Components never pay for each other (BRIEF §4, 不得相互挤占). 230822's employees'
    book, the city finance special account, in yuan:

    * collections: pooled 100,000, personal 30,000 → the account holds 130,000;
    * a personal pharmacy payment of 50,000: personal money would be −20,000 although the
      account holds 130,000 → refused (personal claims are paid only from personal money);
    * a pooled inpatient payment of 120,000: pooled money would be −20,000 in total, the
      rest being personal-account money → refused;
    * a personal payment of 30,000 and a pooled one of 100,000: exactly what each holds → posted.
    """
    post(ledger_db, emp("cp", "2024-03-01", "1003", "4001", "100000.00", "pooled", dr_holder="special"),
         emp("cq", "2024-03-01", "1003", "4001", "30000.00", "personal", dr_holder="special"))
    for key, code, yuan, comp, what in (("x1", "5001.pharmacy", "50000.00", "personal", "personal"),
                                        ("x2", "5001.inpatient", "120000.00", "pooled", "pooled")):
        held = run(ledger_db, "fin", "entry", "post", "-", "--json",
                   input=json.dumps([emp(key, "2024-04-01", code, "1003", yuan, comp, cr_holder="special")])).json()
        r = ledger_db.cli("entry", "confirm", str(held[0]["held_id"]), user="rev")   # refused when it would post
        assert r.exit_code == 1 and "components_separate" in r.stderr and what in r.stderr, r
        assert "-20,000.00" in r.stderr, r
    post(ledger_db, emp("ok1", "2024-04-02", "5001.pharmacy", "1003", "30000.00", "personal", cr_holder="special"),
         emp("ok2", "2024-04-02", "5001.inpatient", "1003", "100000.00", "pooled", cr_holder="special"))
    assert run(ledger_db, "aud", "balance", "EMP:1003:230822:special:pooled", "--json").json()["balance"] == "0.00"
