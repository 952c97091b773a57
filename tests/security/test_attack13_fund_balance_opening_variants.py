"""ATTACK13 W4 variants (0093): the audited openings and the reversals are held to the fund balance rule.

An opening carries balance-sheet balances only (never 3xxx against 4xxx/5xxx); after its book's first
close no opening but a county's handover opening moves 3xxx; a reversal of an entry dated in a closed
year never moves 3xxx. Refused when held, Chinese first, named by both verdicts when the database's
rule is suspended; the honest openings, a county's handover after the close and the reversal of an
open year's opening still pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirmed, entry, leg
from tests.security.test_attack7_rules import body_off, named, verdict
from tests.security.test_attack11_fund_balance_variants import _closed, _held
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db


def _opening(db: LedgerDB, key: str, date: str, *legs: dict[str, object]) -> dict[str, object]:
    return confirmed(db.connect("rev", autocommit=True), "SELECT * FROM fl.post_opening(%s::jsonb)",
                     (json.dumps([entry(key, date, "RES", *legs)]),), checker="fin")


@pytest.mark.parametrize(("dr", "cr"), [("3001", "4001"), ("5001.inpatient", "3001"), ("3001", "4101.county")])
def test_an_opening_never_moves_a_result_through_the_fund_balance_even_before_a_close(
        ledger_db: LedgerDB, dr: str, cr: str) -> None:
    before = _held(ledger_db)
    with pytest.raises(psycopg.Error) as e:
        _opening(ledger_db, f"w4v-{dr}-{cr}", "2023-01-02", leg("1003", "230800", "D", "50.00", "special"),
                 leg("3001", "230800", "C", "50.00"), leg(dr, "230800", "D", "40.00"), leg(cr, "230800", "C", "40.00"))
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    assert _held(ledger_db) == before                                  # refused when held


def test_after_the_close_the_city_opening_is_refused_chinese_first(ledger_db: LedgerDB) -> None:
    _closed(ledger_db)
    doc = entry("w4v-late", "2024-01-02", "RES", leg("1003", "230800", "D", "50.00", "special"),
                leg("3001", "230800", "C", "50.00"))
    zh = ledger_db.cli("--lang", "zh", "opening", "post", "-", user="rev", input=json.dumps([doc]))
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "一般基金结余" in out and "2023" in out and "Traceback" not in out, out
    en = ledger_db.cli("--lang", "en", "opening", "post", "-", user="rev", input=json.dumps([doc]))
    out = en.stdout + en.stderr
    assert en.exit_code != 0 and "handover open" in out and "open year" in out, out


def test_the_reversal_of_a_closed_years_opening_is_refused_chinese_first(ledger_db: LedgerDB) -> None:
    opened = _opening(ledger_db, "w4v-o", "2023-01-02", leg("1003", "230800", "D", "50.00", "special"),
                      leg("3001", "230800", "C", "50.00"))
    _closed(ledger_db)
    before = _held(ledger_db)
    zh = ledger_db.cli("--lang", "zh", "entry", "reverse", str(opened["entry_id"]), "--reason", "audit corrected",
                       "--date", "2024-01-06", user="fin")
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "一般基金结余" in out and "Traceback" not in out, out
    assert _held(ledger_db) == before


def test_a_countys_handover_opening_after_the_close_still_posts(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _closed(ledger_db)
    f = tmp_path / "op.csv"
    f.write_text("unit,book,item,amount,reference,note\n230881,RES,special_account,900.00,HO-W4,\n", encoding="utf-8")
    r = ledger_db.cli("handover", "open", str(f), "--date", "2024-01-03", "--json", user="rev")
    assert r.exit_code == 0, r
    held = r.json()["held"]
    assert len(held) == 1, r.json()
    done = ledger_db.connect("fin", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (held[0],)).fetchone()
    assert done is not None and done["status"] == "posted"
    assert not [f for fs in verdict(ledger_db).values() for f in fs if f["entry_id"] == done["entry_id"]]


@pytest.mark.parametrize("what", ["opening", "reversal"])
def test_written_while_the_rule_is_suspended_it_is_named(ledger_db: LedgerDB, tmp_path: Path, what: str) -> None:
    opened = _opening(ledger_db, "w4v-o", "2023-01-02", leg("1003", "230800", "D", "50.00", "special"),
                      leg("3001", "230800", "C", "50.00"))
    _closed(ledger_db)
    admin = ledger_db.admin()
    with body_off(admin, "fl.pending_posting_fund_balance()", "\nBEGIN\n  RETURN NULL;\nEND "), \
         body_off(admin, "fl.posting_fund_balance()", "\nBEGIN\n  RETURN NULL;\nEND "):
        got = confirmed(ledger_db.connect("fin", autocommit=True), "SELECT * FROM fl.reverse_entry(%s, 'audit corrected', "
                        "DATE '2024-01-02', 'w4v-undo')", (opened["entry_id"],), checker="rev")
        if what == "opening":
            got = _opening(ledger_db, "w4v-again", "2024-01-02", leg("1003", "230800", "D", "50.00", "special"),
                           leg("3001", "230800", "C", "50.00"), leg("3001", "230800", "D", "40.00"),
                           leg("4001", "230800", "C", "40.00"))
    eid = int(str(got["entry_id"]))
    named(verdict(ledger_db), "workflows", entry_id=eid, words="fund_balance_close_only")
    assert any(f["entry_id"] == eid and "fund_balance_close_only" in str(f["message"])
               for f in offline(ledger_db, tmp_path, "workflows"))
