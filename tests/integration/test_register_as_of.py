"""The memo registers (备查簿) at a date, the same in every report that shows them (ATTACK20 L5).

``register list --as-of D``, ``report registers --as-of D`` and the monitor's ``outstanding_share``
(the government's shortfall share still owed, ``fl.government_shares``) read one figure: what a
register item owed at the end of D — the items opened by D, less the clearings dated by D, a reversed
clearing's negative row (0081) counted from the reversal's date. Walked through the life of one
local government's share: before it was opened, the day it was, before and after a partial payment,
after that payment's reversal, after the real payment.

230826 ends 2023 ¥70,000 short (50,000 + 300,000 − 420,000): the 2023 close (2023-12-31) opens a
share of ¥70,000; ¥30,000 paid 2024-01-15, that payment reversed 2024-02-10 (the bank returned it),
¥70,000 paid 2024-03-05.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import cli_post

pytestmark = pytest.mark.db

UNIT = "230826"


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.exit_code == 0, r
    return r


def _move(key: str, date: str, dr: str, cr: str, yuan: str, unit: str = UNIT, dr_holder: str | None = None,
          cr_holder: str | None = None) -> dict[str, object]:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": dr, "unit": unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def _pay(db: LedgerDB, amount: str, date: str) -> int:
    r = _ok(db.cli("government", "pay", "--unit", UNIT, "--book", "RES", "--amount", amount, "--date", date,
                   "--json", user="fin")).json()
    return int(r["entry_id"] if "entry_id" in r else r[0]["entry_id"])


def _reverse(db: LedgerDB, eid: int, date: str) -> None:
    rv = _ok(db.cli("entry", "reverse", str(eid), "--reason", "bank returned the transfer", "--date", date, "--json",
                    user="fin")).json()
    assert rv["status"] == "held", rv
    _ok(db.cli("entry", "confirm", str(rv["held_id"]), "--json", user="rev"))


def _figures(db: LedgerDB, *as_of: str) -> dict[str, object]:
    """What each reader says 230826's government share owed (None: no item listed), and its age."""
    listed = [i for i in _ok(db.cli("register", "list", *as_of, "--json", user="aud")).json()
              if i["unit"] == UNIT and i["kind"] == "government_share"]
    open_only = [i for i in _ok(db.cli("register", "list", *as_of, "--open-only", "--json", user="aud")).json()
                 if i["unit"] == UNIT and i["kind"] == "government_share"]
    report = [r for s in _ok(db.cli("report", "registers", *as_of, "--json", user="aud")).json()["sections"]
              for r in s["rows"] if r.get("unit") == UNIT and r.get("kind") == "government_share"]
    mon = db.cli("monitor", *as_of, "--unit", UNIT, "--book", "RES", "--json", user="aud")
    assert mon.exit_code in (0, 3), mon
    [m] = mon.json()["rows"]
    assert len(listed) <= 1 and len(report) <= 1, (listed, report)
    return {"list": (listed[0]["cleared"], listed[0]["outstanding"], listed[0]["age_days"]) if listed else None,
            "open_only": [i["outstanding"] for i in open_only],
            "report": (str(report[0]["cleared"]), str(report[0]["outstanding"]), report[0]["age_days"])
            if report else None,
            "monitor": m["outstanding_share"]}


def _share(db: LedgerDB) -> None:
    """The 2023 close opens 230826's share of ¥70,000 on 2023-12-31."""
    cli_post(db, "fin", [_move("o26", "2022-12-31", "1003", "3001", "50000.00", dr_holder="special"),
                         _move("o00", "2022-12-31", "1003", "3001", "1000000.00", unit="230800", dr_holder="special"),
                         _move("r23", "2023-02-01", "1003", "4001", "300000.00", dr_holder="special"),
                         _move("e23", "2023-09-30", "5001.inpatient", "1003", "420000.00", cr_holder="special")])
    _ok(db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev"))


def test_register_list_report_registers_and_the_monitor_agree_at_every_date(ledger_db: LedgerDB) -> None:
    db = ledger_db
    _share(db)
    paid = _pay(db, "30000.00", "2024-01-15")
    _reverse(db, paid, "2024-02-10")
    _pay(db, "70000.00", "2024-03-05")

    def same(cleared: str, owed: str, age: int) -> dict[str, object]:
        return {"list": (cleared, owed, age), "report": (cleared, owed, age), "monitor": owed,
                "open_only": [owed] if owed != "0.00" else []}

    expected = {
        "2023-06-30": {"list": None, "report": None, "monitor": "0.00", "open_only": []},   # not opened yet
        "2023-12-31": same("0.00", "70000.00", 0),              # opened by the close
        "2024-01-10": same("0.00", "70000.00", 10),             # before the payment of 2024-01-15
        "2024-01-15": same("30000.00", "40000.00", 15),         # the partial payment's day
        "2024-02-09": same("30000.00", "40000.00", 40),
        "2024-02-10": same("0.00", "70000.00", 41),             # the payment reversed (0081's negative row)
        "2024-03-04": same("0.00", "70000.00", 64),
        "2024-03-31": same("70000.00", "0.00", 91),             # paid
    }
    got = {day: _figures(db, "--as-of", day) for day in expected}
    assert got == expected
    # without --as-of, every reader's today: the same figures
    today = _figures(db)
    assert today["list"] is not None and today["list"][:2] == today["report"][:2] == ("70000.00", "0.00")  # type: ignore[index]
    assert today["monitor"] == "0.00" and today["open_only"] == []


def test_register_list_as_of_names_its_day_and_lists_no_item_before_it_was_opened(ledger_db: LedgerDB) -> None:
    db = ledger_db
    _share(db)
    before = _ok(db.cli("register", "list", "--as-of", "2023-06-30", user="aud"))
    assert "2023-06-30" in before.stdout and "230826" not in before.stdout, before.stdout
    at = _ok(db.cli("--lang", "zh", "register", "list", "--as-of", "2024-01-10", user="aud"))
    assert "2024-01-10" in at.stdout and "70,000.00" in at.stdout, at.stdout
    assert all(i["age_days"] >= 0 for i in _ok(db.cli("register", "list", "--as-of", "2024-01-10", "--json",
                                                      user="aud")).json())
