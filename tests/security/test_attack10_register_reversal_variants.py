"""ATTACK10 X12 variants: a reversed clearing is undone on the register (0081), across a year close, and
the verdict names a reversal that left its clearing counted.

* a local government's 2023 share, paid in January 2024 and that payment reversed: the share is owed again
  (government_shares, monitor's outstanding share), 2024's close counts no receipt, the real payment is
  taken afterwards up to what is owed and no further; verify exits 0 throughout;
* the row undoing a clearing is the reversal's, chained, and re-reversing puts the clearing back;
* a reversal confirmed while the database's rule is suspended (fl.reversal_unclears a no-op for the call,
  restored byte for byte): the item stays cleared, and both verdicts name the clearing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.core.money import parse_fen
from tests.conftest import LedgerDB
from tests.helpers import cli_post
from tests.integration.test_registers_budget import items, open_handover
from tests.security.test_attack7_rules import body_off, named, verdict
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db

UNIT = "230826"


def _move(key: str, date: str, dr: str, cr: str, yuan: str, unit: str = UNIT, dr_holder: str | None = None,
          cr_holder: str | None = None) -> dict[str, object]:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": dr, "unit": unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.exit_code == 0, r
    return r


def _reverse(db: LedgerDB, eid: int, date: str) -> int:
    rv = _ok(db.cli("entry", "reverse", str(eid), "--reason", "bank returned the transfer", "--date", date, "--json",
                    user="fin")).json()
    assert rv["status"] == "held", rv
    ok = _ok(db.cli("entry", "confirm", str(rv["held_id"]), "--json", user="rev")).json()
    return int(ok[0]["entry_id"])


def _owed(db: LedgerDB, as_of: str) -> int:
    r = db.cli("monitor", "--as-of", as_of, "--unit", UNIT, "--book", "RES", "--json", user="aud")
    assert r.exit_code in (0, 3), r
    [m] = r.json()["rows"]
    return parse_fen(m["outstanding_share"])


@pytest.fixture
def share(ledger_db: LedgerDB) -> LedgerDB:
    """230826 ends 2023 ¥70,000 short (50,000 + 300,000 - 420,000): its government owes ¥70,000."""
    cli_post(ledger_db, "fin", [_move("o26", "2022-12-31", "1003", "3001", "50000.00", dr_holder="special"),
                                _move("o00", "2022-12-31", "1003", "3001", "1000000.00", unit="230800",
                                      dr_holder="special"),
                                _move("r23", "2023-02-01", "1003", "4001", "300000.00", dr_holder="special"),
                                _move("e23", "2023-09-30", "5001.inpatient", "1003", "420000.00", cr_holder="special")])
    _ok(ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev"))
    return ledger_db


def _pay(db: LedgerDB, amount: str, date: str) -> int:
    r = _ok(db.cli("government", "pay", "--unit", UNIT, "--book", "RES", "--amount", amount, "--date", date,
                   "--json", user="fin")).json()
    return int(r["entry_id"] if "entry_id" in r else r[0]["entry_id"])


def test_a_reversed_government_payment_is_owed_again_across_the_close(share: LedgerDB) -> None:
    db = share
    assert _owed(db, "2024-01-01") == 70_000_00
    paid = _pay(db, "30000.00", "2024-01-15")
    assert _owed(db, "2024-01-20") == 40_000_00
    rev = _reverse(db, paid, "2024-02-10")
    assert _owed(db, "2024-02-09") == 40_000_00            # before the reversal's date: paid then
    assert _owed(db, "2024-02-10") == 70_000_00            # from its date: owed again
    admin = db.admin()
    undo = admin.execute("SELECT c.amount, c.entry_id, c.cleared_on::text AS d, c.idempotency_key FROM "
                         "fl.register_clearing c WHERE c.entry_id = %s", (rev,)).fetchall()
    assert [(u["amount"], u["d"]) for u in undo] == [(-30_000_00, "2024-02-10")], undo
    assert undo[0]["idempotency_key"].startswith("register-unclear:")
    assert admin.execute("SELECT count(*) AS n FROM fl.record_log WHERE tbl = 'fl.register_clearing' AND op = 'INSERT' "
                         "AND (row_data->>'entry_id')::bigint = %s", (rev,)).fetchone()["n"] == 1   # chained
    _ok(db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev"))
    [s] = [r for r in _ok(db.cli("report", "shortfall", "--year", "2024", "--json", user="aud")).json()
           if r["unit"] == UNIT and r["book"] == "RES"]
    assert parse_fen(s["outstanding_before"]) == 70_000_00 and parse_fen(s["share_receipts"]) == 0, s
    # the real payment is taken up to what is owed — and no further
    assert db.cli("government", "pay", "--unit", UNIT, "--book", "RES", "--amount", "70000.01", "--date",
                  "2025-01-10", user="fin").exit_code != 0
    _pay(db, "70000.00", "2025-01-10")
    assert _owed(db, "2025-01-10") == 0
    found = verdict(db)
    assert "actors" not in found and "workflows" not in found, found
    assert db.cli("verify", user="aud").exit_code == 0


def test_reversing_the_reversal_clears_again(share: LedgerDB) -> None:
    db = share
    paid = _pay(db, "30000.00", "2024-01-15")
    rev = _reverse(db, paid, "2024-02-10")
    _reverse(db, rev, "2024-02-11")
    assert _owed(db, "2024-02-11") == 40_000_00
    assert db.cli("verify", user="aud").exit_code == 0


def test_arrears_cleared_then_reversed_are_owed_again(ledger_db: LedgerDB) -> None:
    open_handover(ledger_db)
    fid = str(items(ledger_db)["HN-REG-1"]["id"])
    r = _ok(ledger_db.cli("register", "clear", fid, "--amount", "100000.00", "--date", "2023-03-01", "--json",
                          user="fin")).json()
    _reverse(ledger_db, int(r["entry_id"]), "2023-03-02")
    after = items(ledger_db)["HN-REG-1"]
    assert (after["cleared"], after["outstanding"]) == ("0.00", "300000.00"), after
    r = _ok(ledger_db.cli("register", "clear", fid, "--amount", "300000.00", "--date", "2023-03-05", "--json",
                          user="fin")).json()                  # the real payment, in full
    assert r["outstanding"] == "0.00"
    assert ledger_db.cli("verify", user="aud").exit_code == 0


def test_a_reversal_that_left_its_clearing_counted_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    open_handover(ledger_db)
    fid = str(items(ledger_db)["HN-REG-1"]["id"])
    r = _ok(ledger_db.cli("register", "clear", fid, "--amount", "100000.00", "--date", "2023-03-01", "--json",
                          user="fin")).json()
    admin = ledger_db.admin()
    with body_off(admin, "fl.reversal_unclears()", "\nBEGIN\n  RETURN NULL;\nEND "):
        _reverse(ledger_db, int(r["entry_id"]), "2023-03-02")
    assert items(ledger_db)["HN-REG-1"]["outstanding"] == "200000.00"      # the arrears vanished
    cid = admin.execute("SELECT id FROM fl.register_clearing WHERE entry_id = %s", (int(r["entry_id"]),)
                        ).fetchone()["id"]  # type: ignore[index]
    found = verdict(ledger_db)
    named(found, "actors", words="yet no row undoes the clearing")
    assert any(f"id={cid}" in str(f["account"]) for f in found["actors"])
    assert any("yet no row undoes" in str(f["message"]) for f in offline(ledger_db, tmp_path, "actors"))
