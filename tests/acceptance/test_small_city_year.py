"""A small city's year, from handover to the government's payment, through the CLI only.

Three units of Jiamusi (佳木斯), residents' book RES: 230800 市本级 (the city), 230822
桦南县, 230881 同江市. Files in tests/acceptance/data/. All amounts in yuan.

1. Handover (opening_2023.csv, dated 2023-12-31, reviewer). Legacy deposits, Cr 3001:
   230822: special 300,000 + revenue 50,000 + expenditure 30,000 = S 380,000
   230881: special  80,000 + revenue 20,000                     = S 100,000
   plus a memo item: 230881 fiscal arrears 20,000 (no entry). The city has no handover: S 0.
   Transfer up (上划, 2024-01-02, finance): 380,000 and 100,000 into the special account.

2. Collections (collections_2024.csv, finance): revenue
   230800: 600,000 + 400,000 (central) = 1,000,000
   230822: 500,000 + 300,000 (central) + 100,000 (county) = 900,000
   230881: 200,000 + 100,000 (central) = 300,000

3. Budget 2024 (budget_2024.csv): annual 5xxx expenditure
   230822: 1,080,000 + 120,000 = 1,200,000 → 100,000 a month → quarter 300,000
   230881: 480,000 → 40,000 a month → quarter 120,000

4. Pre-allocation (2024-01-05, 3 months of the budget, counties only, nothing held yet):
   230822: 3 × 100,000 = 300,000;  230881: 3 × 40,000 = 120,000.

5. Requests (Q1, Q2):
   r1 230800 Q1 300,000 approved, disbursed 01-20, settled (no entry: the city's own account)
   r2 230822 Q1 150,000 approved, disbursed 03-15, settled 03-16
   r3 230881 Q1 100,000 REJECTED ("pre-allocation covers Q1")
   r4 230800 Q2 400,000 approved, disbursed 04-10, settled
   r5 230822 Q2 700,000 approved REDUCED to 650,000, disbursed 04-10, settled 04-11
   r6 230881 Q2 440,000 approved, disbursed 04-10, settled 04-11
   The fiscal arrears of 230881 arrive 2024-05-10: register clear → +20,000 revenue (4101.county).

6. Payments (payments_2024.csv, reviewer; the rows paid from a county's account are held and
   city finance confirms them, 0060): expenditure
   230800: 250,000 + 350,000 + 100,000 = 700,000 (from the city expenditure account: 300,000 + 400,000 → 0)
   230822: 200,000 + 150,000 + 500,000 + 120,000 + 130,000 = 1,100,000
           (county account: 300,000 + 150,000 + 650,000 = 1,100,000 → 0)
   230881: 100,000 + 300,000 + 160,000 = 560,000 (county account: 120,000 + 440,000 → 0)

7. Special-account shares at the end of May (no special-account movement in June):
   230800: 1,000,000 − 300,000 − 400,000                          = 300,000
   230822: 380,000 − 300,000 + 900,000 − 150,000 − 650,000        = 180,000
   230881: 100,000 − 120,000 + 300,000 + 20,000 − 440,000         = −140,000 (drew on the pool)
   Interest 1,000.01 for 2024-06-01 … 06-30 (30 days): weights 30 × balance; 230881 is
   negative so earns nothing. 100,001 fen × 300/480 = 62,500.625, × 180/480 = 37,500.375;
   floors 62,500 + 37,500 leave 1 fen → largest remainder (230800, .625):
   230800 625.01, 230822 375.00, 230881 0.00.

8. Close 2024 (2024-12-31), C = revenue − expenditure, G = −C when negative:
   230800: R 1,000,000 + 625.01 = 1,000,625.01; E 700,000; C = +300,625.01 (surplus);
           covered 0, government 0, S after 0 + 300,625.01 = 300,625.01
   230822: R 900,000 + 375.00 = 900,375.00; E 1,100,000; C = −199,625.00; S 380,000 ≥ G:
           covered 199,625.00, government 0, S after 380,000 − 199,625 = 180,375.00
   230881: R 300,000 + 20,000 = 320,000; E 560,000; C = −240,000; S 100,000 < G:
           covered 100,000, government 140,000, S after 100,000 − 240,000 + 140,000 = 0
   3001 after the close (credit +): 300,625.01; 180,375.00; −140,000 (until paid).
   Each unit's 3001 equals its deposits: special share + expenditure accounts (all 0).

9. The government of 同江市 pays 140,000 on 2025-01-15: its special share −140,000 → 0,
   the register item is cleared; paying 0.01 more is refused.

11. The performance review of 2024 (预算绩效考核, default weights 15/15/15/15/15/10/15 out
    of 100; each value rounded to 0.01 first, the score computed from it). 桦南县 230822:
    revenue executed   900,375.00 ÷   900,000.00 = 100.04 %  → 100 − 2 × 0.04   = 99.92
    expenditure        1,100,000.00 ÷ 1,200,000.00 = 91.67 %  → 100 − 2 × 8.33   = 83.34
    contributions 4001   500,000.00 ÷   500,000.00 = 100.00 % → 100
    balance rate (900,375 − 1,100,000) ÷ 900,375 = −22.17 %  → 100 − 10 × 22.17 < 0 → 0
    months payable 180,375.00 ÷ (1,100,000.00 ÷ 12) = 1.97    → 1.97 ÷ 6 × 100   = 32.83
    requests approved (150,000 + 650,000) ÷ 1,100,000 = 72.73 % ≤ 100          → 100
    government shares 0 ÷ 1,100,000 = 0.00 %                                  → 100
    total (15 × 99.92 + 15 × 83.34 + 15 × 100 + 15 × 0 + 15 × 32.83 + 10 × 100 + 15 × 100)
          ÷ 100 = 7,241.35 ÷ 100 = 72.41 (72.4135).
    The others, the same way: 230800 75.74 (months payable since its first day, 15 January:
    300,625.01 ÷ (700,000 × 365 ÷ (12 × 352)) = 4.97), 230881 48.00 (a negative surplus:
    0 months; government share 140,000 ÷ 560,000 = 25 % → 0). Ranked: 230800, 230822, 230881.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.core.money import parse_fen
from tests.helpers import cli_confirm, confirm_openings

pytestmark = pytest.mark.db

DATA = Path(__file__).parent / "data"


def run(ledger_db, user: str, *args: str):  # type: ignore[no-untyped-def]
    r = ledger_db.cli(*args, user=user)
    assert r.exit_code == 0, r
    return r


def balance(ledger_db, key: str) -> str:  # type: ignore[no-untyped-def]
    return str(run(ledger_db, "aud", "balance", key, "--json").json()["balance"])


def test_small_city_year(ledger_db):
    # 1. handover
    run(ledger_db, "rev", "handover", "open", str(DATA / "opening_2023.csv"), "--date", "2023-12-31")
    assert confirm_openings(ledger_db) == [1, 2, 3, 4, 5]   # city finance confirms the legacy balances (0052)
    for unit in ("230822", "230881"):
        run(ledger_db, "fin", "handover", "transfer", "--unit", unit, "--date", "2024-01-02")
    assert balance(ledger_db, "RES:1003:230822:special") == "380000.00"
    assert balance(ledger_db, "RES:1003:230881:special") == "100000.00"
    assert balance(ledger_db, "RES:1003:230822:legacy_special") == "0.00"

    # 2–3. collections and budget
    run(ledger_db, "fin", "collect", "import", str(DATA / "collections_2024.csv"))
    again = run(ledger_db, "fin", "collect", "import", str(DATA / "collections_2024.csv"), "--json").json()
    assert (again["rows_posted"], again["rows_skipped"]) == (0, 7)
    run(ledger_db, "rev", "budget", "import", str(DATA / "budget_2024.csv"))

    # 4. pre-allocation
    pre = run(ledger_db, "rev", "preallocate", "--year", "2024", "--date", "2024-01-05", "--json").json()
    assert [(p["unit"], p["monthly_basis"], p["target"], p["held"], p["amount"], p["status"]) for p in pre] == [
        ("230822", "100000.00", "300000.00", "0.00", "300000.00", "held"),
        ("230881", "40000.00", "120000.00", "0.00", "120000.00", "held")]
    # City finance executes it (0046): a transfer out of its special account.
    run(ledger_db, "fin", "entry", "confirm", *[str(p["held_id"]) for p in pre])
    assert balance(ledger_db, "RES:1003:230881:special") == "280000.00"      # 100,000 + 300,000 − 120,000

    # 5. requests, two quarters
    def submit(user: str, unit: str, q: int, amount: str) -> int:
        return int(run(ledger_db, user, "request", "submit", "--unit", unit, "--book", "RES", "--year", "2024",
                       "--quarter", str(q), "--amount", amount, "--json").json()["id"])

    r1, r2, r3 = submit("ocity", "230800", 1, "300000.00"), submit("o22", "230822", 1, "150000.00"), \
        submit("o81", "230881", 1, "100000.00")
    j3 = run(ledger_db, "rev", "request", "show", str(r3), "--json").json()["justification"]
    assert (j3["budget_for_quarter"], j3["held_county_exp"], j3["held_special"]) == ("120000.00", "120000.00", "280000.00")
    # (0126) each approval with its business date: the bureau decided Q1's on 18 January
    run(ledger_db, "rev", "request", "approve", str(r1), "--date", "2024-01-18")
    run(ledger_db, "rev", "request", "approve", str(r2), "--date", "2024-01-18")
    run(ledger_db, "rev", "request", "reject", str(r3), "--reason", "pre-allocation covers Q1")
    run(ledger_db, "fin", "request", "disburse", str(r1), "--date", "2024-01-20")
    run(ledger_db, "fin", "request", "disburse", str(r2), "--date", "2024-03-15")
    run(ledger_db, "rev2", "request", "settle", str(r1), "--date", "2024-01-21")
    run(ledger_db, "rev2", "request", "settle", str(r2), "--date", "2024-03-16")
    r4, r5, r6 = submit("ocity", "230800", 2, "400000.00"), submit("o22", "230822", 2, "700000.00"), \
        submit("o81", "230881", 2, "440000.00")
    run(ledger_db, "rev", "request", "approve", str(r4), "--date", "2024-04-08")
    run(ledger_db, "rev2", "request", "approve", str(r5), "--amount", "650000.00", "--date", "2024-04-08")
    run(ledger_db, "rev", "request", "approve", str(r6), "--date", "2024-04-08")
    for r in (r4, r5, r6):   # the reviewer who did not approve settles (separation of duties)
        run(ledger_db, "fin", "request", "disburse", str(r), "--date", "2024-04-10")
        run(ledger_db, "rev" if r == r5 else "rev2", "request", "settle", str(r), "--date", "2024-04-11")
    listed = run(ledger_db, "aud", "request", "list", "--year", "2024", "--json").json()
    assert [(r["quarter"], r["unit"], r["amount_requested"], r["amount_approved"], r["state"]) for r in listed] == [
        (1, "230800", "300000.00", "300000.00", "settled"), (1, "230822", "150000.00", "150000.00", "settled"),
        (1, "230881", "100000.00", None, "rejected"), (2, "230800", "400000.00", "400000.00", "settled"),
        (2, "230822", "700000.00", "650000.00", "settled"), (2, "230881", "440000.00", "440000.00", "settled")]

    item = next(i for i in run(ledger_db, "fin", "register", "list", "--kind", "fiscal_arrears", "--json").json()
                if i["unit"] == "230881")
    run(ledger_db, "fin", "register", "clear", str(item["id"]), "--amount", "20000.00", "--date", "2024-05-10")

    # 6. payments
    paid = run(ledger_db, "rev", "pay", "import", str(DATA / "payments_2024.csv"), "--json").json()
    # The bureau's rows paid from a county's account are held; city finance confirms them (0060).
    assert paid["held"] and paid["rows_held"] > 0, paid
    run(ledger_db, "fin", "entry", "confirm", *[str(h) for h in paid["held"]])
    for key in ("RES:1004:230800:city_exp", "RES:1004:230822:county_exp", "RES:1004:230881:county_exp",
                "RES:1004:230822:city_exp", "RES:1004:230881:city_exp"):
        assert balance(ledger_db, key) == "0.00", key

    # 7. interest
    allocated = run(ledger_db, "fin", "interest", "allocate", "--amount", "1000.01", "--from", "2024-06-01",
                    "--date", "2024-06-30", "--book", "RES", "--json").json()
    assert cli_confirm(ledger_db, allocated)["status"] == "posted"     # a second person confirms (0017)
    shares = allocated["shares"]
    assert [(s["unit"], s["balance_days"], s["share"]) for s in shares] == [
        ("230800", "9000000.00", "625.01"), ("230822", "5400000.00", "375.00"), ("230881", "-4200000.00", "0.00")]

    # 8. close
    provisional = run(ledger_db, "rev", "report", "shortfall", "--year", "2024", "--json").json()
    assert all(r["provisional"] is True for r in provisional)
    run(ledger_db, "rev", "close", "year", "2024", "--date", "2024-12-31")
    expected = [
        {"unit": "230800", "book": "RES", "revenue": "1000625.01", "expenditure": "700000.00",
         "current_balance": "300625.01", "surplus_before": "0.00", "covered_by_surplus": "0.00",
         "government_share": "0.00", "surplus_after": "300625.01"},
        {"unit": "230822", "book": "RES", "revenue": "900375.00", "expenditure": "1100000.00",
         "current_balance": "-199625.00", "surplus_before": "380000.00", "covered_by_surplus": "199625.00",
         "government_share": "0.00", "surplus_after": "180375.00"},
        {"unit": "230881", "book": "RES", "revenue": "320000.00", "expenditure": "560000.00",
         "current_balance": "-240000.00", "surplus_before": "100000.00", "covered_by_surplus": "100000.00",
         "government_share": "140000.00", "surplus_after": "0.00"},
    ]
    # The first year: nothing was owed or received before it; the books and the rule differ
    # only by the share the close records as owed (S after on the books = S after − owed).
    for e, on_books in zip(expected, ("300625.01", "180375.00", "-140000.00"), strict=True):
        e.update(revenue_on_books=e["revenue"], share_receipts="0.00", surplus_before_on_books=e["surplus_before"],
                 outstanding_before="0.00", outstanding_after=e["government_share"], surplus_after_on_books=on_books,
                 adjustment_receipts="0.00", covered_by_adjustment_fund="0.00")   # Jiamusi: no adjustment fund
    assert run(ledger_db, "aud", "report", "shortfall", "--year", "2024", "--json").json() == expected
    assert provisional == [dict(e, provisional=True) for e in expected]   # the close changed no figure
    assert balance(ledger_db, "RES:3001:230800") == "-300625.01"
    assert balance(ledger_db, "RES:3001:230822") == "-180375.00"
    assert balance(ledger_db, "RES:3001:230881") == "140000.00"
    assert balance(ledger_db, "RES:1003:230800:special") == "300625.01"
    assert balance(ledger_db, "RES:1003:230822:special") == "180375.00"
    assert balance(ledger_db, "RES:1003:230881:special") == "-140000.00"
    for key in ("RES:4001:230822", "RES:4101.central:230822", "RES:4201:230800", "RES:5001.inpatient:230881",
                "RES:5101:230822"):
        assert balance(ledger_db, key) == "0.00", key
    twice = ledger_db.cli("close", "year", "2024", "--date", "2024-12-31", user="rev")
    assert twice.exit_code == 1 and "already closed" in twice.stderr

    # 9. the government pays next January
    gov = run(ledger_db, "fin", "register", "list", "--kind", "government_share", "--json").json()
    assert [(i["unit"], i["amount"], i["outstanding"]) for i in gov] == [("230881", "140000.00", "140000.00")]
    run(ledger_db, "fin", "government", "pay", "--unit", "230881", "--book", "RES", "--amount", "140000.00",
        "--date", "2025-01-15")
    assert balance(ledger_db, "RES:1003:230881:special") == "0.00"
    assert balance(ledger_db, "RES:4101.shortfall:230881") == "-140000.00"
    more = ledger_db.cli("government", "pay", "--unit", "230881", "--book", "RES", "--amount", "0.01",
                         "--date", "2025-01-16", user="fin")
    assert more.exit_code == 1 and "owes no government share" in more.stderr
    pool = sum(parse_fen(balance(ledger_db, f"RES:1003:{u}:special"), allow_negative=True)
               for u in ("230800", "230822", "230881"))
    assert pool == parse_fen("481000.01")     # 300,625.01 + 180,375.00 + 0: the whole pool, to the fen

    # 10. the auditor proves the whole year is intact
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, v
    assert v.json()["ok"] is True and all(c["ok"] for c in v.json()["checks"])

    # 11. the performance review of 2024
    perf = run(ledger_db, "aud", "report", "performance", "--year", "2024", "--json").json()
    rows = perf["sections"][0]["rows"]
    mine = {r["indicator"]: (r["value"], r["months"], r["score"]) for r in rows if r["unit"] == "230822"}
    assert mine == {
        "revenue_execution": ("100.04", None, "99.92"), "expenditure_execution": ("91.67", None, "83.34"),
        "collection_completion": ("100.00", None, "100.00"), "balance_rate": ("-22.17", None, "0.00"),
        "months_payable": (None, "1.97", "32.83"), "requests_vs_spending": ("72.73", None, "100.00"),
        "government_shares": ("0.00", None, "100.00"), "total": (None, None, "72.41")}
    totals = [(r["rank"], r["unit"], r["score"]) for r in rows if r["indicator"] == "total"]
    assert totals == [(1, "230800", "75.74"), (2, "230822", "72.41"), (3, "230881", "48.00")]
    evidence = {r["indicator"]: r["evidence"] for r in rows if r["unit"] == "230822"}
    assert evidence["expenditure_execution"] == "1,100,000.00 ÷ 1,200,000.00"
