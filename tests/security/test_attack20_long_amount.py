"""ATTACK20 L1 (LOW): an amount of more than 4,300 digits ends a command in a traceback.

``ledger.core.money.parse_fen`` matches the text against an anchored ASCII regex and then
calls ``int()`` on the digits. Python 3.11+ refuses ``int()`` of a string longer than 4,300
digits with a plain ``ValueError`` ("Exceeds the limit (4300 digits) for integer string
conversion") — not a ``BadAmount`` — so every caller that catches ``BadAmount`` (the CLI's
``--amount`` of government pay, interest allocate, request submit, register clear, adjfund
allocate, ``budget adjust --set``; an ``entry post`` document whose amount is a string) lets
it out as a traceback. JSON numbers were guarded (infile.parse_json), strings were not; the
file importers' 1,000-character cell cap hides it for CSV/XLSX cells. A region file with a
5,000-digit integer does the same through ``tomllib`` (init --region).

Safe behaviour asserted: a one-line refusal naming the amount as too long/large, exit 1, no
traceback, nothing written.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

BIG = "1" * 5000


def _run(db: LedgerDB, *args: str, user: str | None) -> tuple[object, str]:
    try:
        r = db.cli(*args, user=user)
    except BaseException as e:  # what escapes the CLI's edge is the finding
        return "traceback", "".join(traceback.format_exception_only(e))
    return r.exit_code, r.stderr + r.stdout


@pytest.mark.parametrize(("user", "args"), [
    ("rev", ("government", "pay", "--unit", "230822", "--book", "RES", "--amount", BIG, "--date", "2023-02-01")),
    ("fin", ("interest", "allocate", "--amount", BIG, "--date", "2023-02-01", "--book", "RES")),
    ("o22", ("request", "submit", "--year", "2023", "--quarter", "1", "--amount", BIG, "--note", "x")),
    ("fin", ("adjfund", "allocate", "--year", "2023", "--date", "2023-02-01", "--amount", BIG)),
    ("rev", ("budget", "adjust", "--year", "2023", "--unit", "230822", "--book", "RES", "--set", f"5001={BIG}",
             "--reason", "r", "--key", "k1")),
], ids=["government-pay", "interest", "request-submit", "adjfund", "budget-adjust"])
def test_l1_a_very_long_amount_is_a_refusal_not_a_traceback(ledger_db: LedgerDB, user: str,
                                                             args: tuple[str, ...]) -> None:
    code, said = _run(ledger_db, *args, user=user)
    assert code == 1, (code, said[-400:])
    assert "Traceback" not in said and "4300" not in said, said[-400:]


def test_l1_entry_post_amount_string_of_5000_digits(ledger_db: LedgerDB, tmp_path: Path) -> None:
    doc = {"date": "2023-02-01", "book": "RES", "memo": "m", "idempotency_key": "k", "postings": [
        {"account": "1101", "unit": "230822", "side": "debit", "amount": BIG},
        {"account": "2001", "unit": "230822", "side": "credit", "amount": BIG}]}
    f = tmp_path / "e.json"
    f.write_text(json.dumps(doc), "utf-8")
    code, said = _run(ledger_db, "entry", "post", str(f), user="o22")
    assert code == 1, (code, said[-400:])
    assert "Traceback" not in said, said[-400:]


def test_l1_region_file_with_a_5000_digit_integer(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from importlib import resources
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    f = tmp_path / "region.toml"
    f.write_text(text + f"\n[zz_huge]\nvalue = {BIG}\n", "utf-8")
    code, said = _run(ledger_db, "init", "--region", str(f), user=None)
    assert code == 1, (code, said[-400:])
    assert "Traceback" not in said, said[-400:]


@pytest.mark.parametrize("ref", [BIG, f"2023-{BIG}", f"RES/{BIG}-1", "9" * 25], ids=["id", "voucher-no", "voucher-year", "past-bigint"])
def test_l1_an_entry_looked_up_by_thousands_of_digits_is_not_found_not_a_traceback(ledger_db: LedgerDB,
                                                                                     ref: str) -> None:
    """The variant of the class at the lookup of an entry (``entry show``): digits past a bigint
    id or a voucher's year are looked up as a key and not found — a refusal that says so."""
    code, said = _run(ledger_db, "entry", "show", ref, user="aud")
    assert code == 1, (code, said[-400:])
    assert "Traceback" not in said and "4300" not in said and len(said) < 6000, said[-400:]


def test_l1_a_long_amount_is_quoted_cut_in_the_refusal(ledger_db: LedgerDB) -> None:
    """A refusal of a 5,000-digit amount quotes it cut, not whole: it fits the officer's screen."""
    code, said = _run(ledger_db, "interest", "allocate", "--amount", BIG, "--date", "2023-02-01", "--book", "RES",
                      user="fin")
    assert code == 1 and len(said) < 600, (code, len(said), said[:300])
