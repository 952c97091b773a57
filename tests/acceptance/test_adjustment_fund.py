"""The provincial adjustment fund (调剂金) in the shortfall order, through the CLI, with the
figures worked by hand (财社〔2017〕144号 art. 38: surplus, then the adjustment fund, then
the government; BRIEF §5 across years on the cash basis).
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import pytest

from ledger.core.region import parse_region
from ledger.store import migrate

pytestmark = pytest.mark.db

FUND = {"in_order": True, "remit_rate": "0.02", "allocation_rule": "gap"}


def with_fund(ledger_db, fund: dict) -> None:  # type: ignore[no-untyped-def]
    """Jiamusi's region file with an [adjustment_fund] table, loaded as init loads it."""
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    doc["adjustment_fund"] = fund
    with ledger_db.connect(None) as c:
        migrate.load_reference(c, parse_region(doc, "test.toml"))
        c.commit()


def run(ledger_db, user: str, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    r = ledger_db.cli(*args, user=user, input=input)
    assert r.exit_code == 0, r
    return r


def post(ledger_db, *entries: dict) -> None:  # type: ignore[no-untyped-def]
    out = run(ledger_db, "fin", "entry", "post", "-", "--json", input=json.dumps(list(entries))).json()
    held = [str(o["held_id"]) for o in out if o["status"] == "held"]
    if held:
        run(ledger_db, "rev", "entry", "confirm", *held)


def move(key: str, date: str, unit: str, dr: str, cr: str, yuan: str, *, dr_holder: str | None = None,
         cr_holder: str | None = None) -> dict:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": dr, "unit": unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def shortfall(ledger_db, year: int, unit: str = "230822") -> dict:  # type: ignore[no-untyped-def]
    rows = run(ledger_db, "aud", "report", "shortfall", "--year", str(year), "--json").json()
    return next(r for r in rows if r["unit"] == unit and r["book"] == "RES")


KEYS = ("revenue_on_books", "share_receipts", "adjustment_receipts", "revenue", "expenditure", "current_balance",
        "surplus_before", "covered_by_surplus", "covered_by_adjustment_fund", "government_share", "surplus_after",
        "outstanding_after", "surplus_after_on_books")


def test_two_years_with_the_fund_in_the_order_and_a_late_allocation(ledger_db):
    """Unit 230822 (桦南县), RES, in yuan; the region remits 2 % of contributions and
    shares allocations by gap. S0 300 (opening 2022-12-31); the city proper holds 100,000
    in the special account (the pool), and has no gap, so every share goes to 230822.

    2023: contributions 6,000; remittance 2 % × 6,000 = 120 (Dr 5301, held, confirmed by
    the bureau); benefits 7,080; E = 7,080 + 120 = 7,200. C = 6,000 − 7,200 = −1,200;
    covered by S min(1,200, 300) = 300; gap after surplus 900. On 2023-11-20 the
    province pays 400 for 2023 (Dr 1003 / Cr 4401): on the books revenue 6,400, for the
    rule set aside (adjustment_receipts 400, revenue 6,000). Covered by the fund
    min(900, 400) = 400; government 900 − 400 = 500; S after 300 − 1,200 + 400 + 500 = 0;
    owed 500; on the books 300 + 6,400 − 7,200 = −500.

    2024: on 02-10 the province pays 300 more for 2023 (late): it settles 300 of 2023's
    government share (owed 500 → 200) in the government's place; on 03-01 the government
    pays the 200. Both are 2024 revenue on the books (4401 300, 4101.shortfall 200) and
    both settle 2023: share receipts 500. Contributions 6,000, benefits 6,500 → rule R
    6,000, C −500 (counting the 500 would say 0 and charge nobody); S before 0 (books
    −500, owed 500); covered 0; fund 0; government 500; S after 0; owed 500 − 500 + 500 =
    500; on the books −500 + 6,500 − 6,500 = −500.
    """
    with_fund(ledger_db, FUND)
    post(ledger_db, move("o22", "2022-12-31", "230822", "1003", "3001", "300.00", dr_holder="special"),
         move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("r23", "2023-03-01", "230822", "1003", "4001", "6000.00", dr_holder="special"),
         move("e23", "2023-09-30", "230822", "5001.inpatient", "1003", "7080.00", cr_holder="special"))
    remit = run(ledger_db, "fin", "adjfund", "remit", "--year", "2023", "--date", "2023-06-30", "--json").json()
    assert [(r["unit"], r["amount"], r["status"]) for r in remit] == [("230822", "120.00", "held")]
    # the maker never confirms its own remittance; the bureau does
    own = ledger_db.cli("entry", "confirm", str(remit[0]["held_id"]), user="fin")
    assert own.exit_code != 0, own
    run(ledger_db, "rev", "entry", "confirm", str(remit[0]["held_id"]))

    got = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "400.00", "--date", "2023-11-20",
              "--json").json()
    assert [(r["unit"], r["amount"], r["status"], r["settles"]) for r in got] == [("230822", "400.00", "posted", "2023")]
    run(ledger_db, "rev", "close", "year", "2023", "--date", "2023-12-31")
    y23 = shortfall(ledger_db, 2023)
    assert tuple(y23[k] for k in KEYS) == ("6400.00", "0.00", "400.00", "6000.00", "7200.00", "-1200.00", "300.00",
                                           "300.00", "400.00", "500.00", "0.00", "500.00", "-500.00")

    late = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "300.00", "--date", "2024-02-10",
               "--json").json()
    assert [(r["unit"], r["amount"], r["settles"]) for r in late] == [("230822", "300.00", "govshare:2023:RES:230822")]
    # the same allocation again changes nothing
    again = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "300.00", "--date",
                "2024-02-10", "--json").json()
    assert [r["status"] for r in again] == ["duplicate"]
    paid = run(ledger_db, "fin", "government", "pay", "--unit", "230822", "--book", "RES", "--amount", "200.00",
               "--date", "2024-03-01", "--json").json()
    assert [(p["fiscal_year"], p["amount"]) for p in paid] == [(2023, "200.00")]
    # nothing of 2023 is owed any more: a further allocation for 2023 has no gap to cover
    more = ledger_db.cli("adjfund", "allocate", "--year", "2023", "--amount", "1.00", "--date", "2024-03-02", user="fin")
    assert more.exit_code != 0 and "[adjfund_cap]" in more.stderr, more
    assert "more than the government shares of 2023 still owed now (0.00" in more.stderr, more

    post(ledger_db, move("r24", "2024-03-01", "230822", "1003", "4001", "6000.00", dr_holder="special"),
         move("e24", "2024-09-30", "230822", "5001.inpatient", "1003", "6500.00", cr_holder="special"))
    run(ledger_db, "rev", "close", "year", "2024", "--date", "2024-12-31")
    y24 = shortfall(ledger_db, 2024)
    assert tuple(y24[k] for k in KEYS) == ("6500.00", "500.00", "0.00", "6000.00", "6500.00", "-500.00", "0.00",
                                           "0.00", "0.00", "500.00", "0.00", "500.00", "-500.00")
    assert y24["surplus_before"] == y23["surplus_after"]
    assert (y24["surplus_before_on_books"], y24["outstanding_before"]) == ("-500.00", "500.00")

    # The register: 2023's item settled by the fund (300) and the government (200).
    items = run(ledger_db, "aud", "register", "list", "--json").json()
    y23_item = next(i for i in items if i["reference"] == "govshare:2023:RES:230822")
    assert (y23_item["amount"], y23_item["cleared"], y23_item["outstanding"]) == ("500.00", "500.00", "0.00")


def test_without_the_fund_in_the_order_an_allocation_is_refused(ledger_db):
    """Jiamusi (the default region): no adjustment fund in the order; nothing to remit."""
    r = ledger_db.cli("adjfund", "allocate", "--year", "2023", "--amount", "1.00", "--date", "2023-05-01", user="fin")
    assert r.exit_code != 0 and "no adjustment fund" in r.stderr, r
    r = ledger_db.cli("adjfund", "remit", "--year", "2023", "--date", "2023-05-01", user="fin")
    assert r.exit_code != 0 and "remits nothing" in r.stderr, r


def test_fixed_shares_and_who_may(ledger_db):
    """Fixed weights 230822 : 230881 = 3 : 1, gaps (after S0 0) 600 and 900: an allocation
    of 800 gives 600 and 200 (each within its gap); 1,000 would give 230822 750 > its 600
    gap and is refused. Officers and the bureau record no allocation; finance does."""
    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 3, "230881": 1}})
    post(ledger_db, move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("e22", "2023-04-30", "230822", "5001.inpatient", "1003", "600.00", cr_holder="special"),
         move("e81", "2023-04-30", "230881", "5001.inpatient", "1003", "900.00", cr_holder="special"))
    for user in ("o22", "rev", "aud"):
        r = ledger_db.cli("adjfund", "allocate", "--year", "2023", "--amount", "800.00", "--date", "2023-05-01",
                          user=user)
        assert r.exit_code != 0, (user, r)
    too_much = ledger_db.cli("adjfund", "allocate", "--year", "2023", "--amount", "1000.00", "--date", "2023-05-01",
                             user="fin")
    assert too_much.exit_code != 0 and "230822" in too_much.stderr, too_much
    got = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "800.00", "--date", "2023-05-01",
              "--json").json()
    assert [(r["unit"], r["amount"]) for r in got] == [("230822", "600.00"), ("230881", "200.00")]
