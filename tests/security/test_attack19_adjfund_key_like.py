"""ATTACK19 J4 (LOW-MED): an adjustment-fund allocation's idempotency key is matched with LIKE, so a
key holding ``_`` or ``%`` (or one that is a prefix of an earlier key before a ``:``) is taken as
an earlier allocation's key: the second allocation the province paid is reported ``duplicate`` and
never booked (or refused as an idempotency conflict).

``fl.adjfund_allocate`` (0094, its latest definition) looks for "the same allocation again" with
``e.idempotency_key LIKE format('adjfund-alloc:%s:%%', p_key)`` — the caller's key is a LIKE
pattern there: ``_`` matches any one character and ``%`` any text. City finance records the
province's allocation of 100.00 on 2023-05-01 under its document number ``调剂-1``, and a second
allocation of 100.00 the same day under ``调剂_1``: the second is "duplicate", nothing is posted,
and 100.00 the province paid into the special account is missing from the books (and from the
rule's adjustment receipts). A key ``%`` makes every later allocation whose amount and date match
"duplicate", and any other an idempotency conflict naming an unrelated allocation.

Safe behaviour asserted: the second allocation, under a different key, is posted; a key is matched
exactly (the caller's text escaped before LIKE, or compared by equality on the key's prefix).
"""

from __future__ import annotations

import pytest

from tests.acceptance.test_adjustment_fund import FUND, move, post, run, with_fund
from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def test_j4_an_allocation_key_is_not_a_like_pattern(ledger_db: LedgerDB) -> None:
    with_fund(ledger_db, FUND)
    post(ledger_db, move("o22", "2022-12-31", "230822", "1003", "3001", "300.00", dr_holder="special"),
         move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("r23", "2023-03-01", "230822", "1003", "4001", "6000.00", dr_holder="special"),
         move("e23", "2023-04-30", "230822", "5001.inpatient", "1003", "7080.00", cr_holder="special"))
    first = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "100.00", "--date",
                "2023-05-01", "--key", "调剂-1", "--json").json()
    assert [r["status"] for r in first] == ["posted"], first
    second = ledger_db.cli("adjfund", "allocate", "--year", "2023", "--amount", "100.00", "--date", "2023-05-01",
                           "--key", "调剂_1", "--json", user="fin")
    # on main: exit 0, status "duplicate" — the province's second 100.00 is not booked
    assert second.exit_code == 0 and [r["status"] for r in second.json()] == ["posted"], second
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'adjfund_alloc'").fetchone()["n"]
    assert n == 2


def test_j4_a_government_payment_key_is_not_a_prefix_of_another(ledger_db: LedgerDB) -> None:
    """The sibling in ``fl.government_pay`` (0005): "the same payment again" is any register clearing
    whose key starts with ``govpay:<key>:`` — so a payment under key ``G`` after one under ``G:2`` (the
    government's second transfer, its document number without a suffix) is taken as that one: reported
    ``duplicate`` and never booked, the share still owed on the register though the money arrived."""
    from tests.helpers import pay_from_special
    from tests.helpers import post as post_as

    fin = ledger_db.connect("fin")
    post_as(fin, collect_("c00", "2023-01-05", "230800", "9000000.00"), collect_("c22", "2023-01-05", "230822", "1000.00"))
    post_as(fin, pay_from_special("p22", "2023-06-05", "230822", "3000.00"))
    fin.commit()
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    first = ledger_db.cli("government", "pay", "--unit", "230822", "--book", "RES", "--amount", "500.00",
                          "--date", "2024-01-10", "--key", "G:2", "--json", user="fin")
    assert first.exit_code == 0 and [p["status"] for p in first.json()] == ["posted"], first
    second = ledger_db.cli("government", "pay", "--unit", "230822", "--book", "RES", "--amount", "500.00",
                           "--date", "2024-02-10", "--key", "G", "--json", user="fin")
    # on main: exit 0, status "duplicate" — the second 500.00 is not booked
    assert second.exit_code == 0 and [p["status"] for p in second.json()] == ["posted"], second


def collect_(key: str, date: str, unit: str, yuan: str) -> dict:
    from tests.helpers import collect

    return collect(key, date, unit, yuan)


def test_j4_fix_a_key_is_exact_both_ways_and_another_content_under_it_is_a_conflict(ledger_db: LedgerDB) -> None:
    """0163: '%' (a LIKE wildcard for any text) is a key of its own, not every allocation; the same
    key again with the same content is the duplicate it was, with another amount an idempotency
    conflict; a government payment under its key again on another date is a conflict, not a duplicate."""
    with_fund(ledger_db, FUND)
    post(ledger_db, move("o22", "2022-12-31", "230822", "1003", "3001", "300.00", dr_holder="special"),
         move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("r23", "2023-03-01", "230822", "1003", "4001", "6000.00", dr_holder="special"),
         move("e23", "2023-04-30", "230822", "5001.inpatient", "1003", "7080.00", cr_holder="special"))

    def allocate(key: str, amount: str = "100.00"):  # type: ignore[no-untyped-def]
        return ledger_db.cli("adjfund", "allocate", "--year", "2023", "--amount", amount, "--date", "2023-05-01",
                             "--key", key, "--json", user="fin")

    assert [r["status"] for r in allocate("调剂-1").json()] == ["posted"]
    assert [r["status"] for r in allocate("%").json()] == ["posted"]
    assert [r["status"] for r in allocate("调剂-1").json()] == ["duplicate"]
    again = allocate("调剂-1", "50.00")
    assert again.exit_code != 0 and "idempotency_conflict" in again.stderr + again.stdout, again
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'adjfund_alloc'").fetchone()["n"]
    assert n == 2


def test_j4_fix_a_government_payment_again_on_another_date_is_a_conflict(ledger_db: LedgerDB) -> None:
    from tests.helpers import pay_from_special
    from tests.helpers import post as post_as

    fin = ledger_db.connect("fin")
    post_as(fin, collect_("c00", "2023-01-05", "230800", "9000000.00"), collect_("c22", "2023-01-05", "230822", "1000.00"))
    post_as(fin, pay_from_special("p22", "2023-06-05", "230822", "3000.00"))
    fin.commit()
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0

    def pay(on: str):  # type: ignore[no-untyped-def]
        return ledger_db.cli("government", "pay", "--unit", "230822", "--book", "RES", "--amount", "500.00",
                             "--date", on, "--key", "G", "--json", user="fin")

    assert [p["status"] for p in pay("2024-01-10").json()] == ["posted"]
    assert [p["status"] for p in pay("2024-01-10").json()] == ["duplicate"]
    later = pay("2024-02-10")
    assert later.exit_code != 0 and "idempotency_conflict" in later.stderr + later.stdout, later
