"""ATTACK11 Y3 variants: the fund balance (3xxx) is the year-end close's to move (0088) — refused when held,
on every path that writes the journal, saying what to do instead, and named by both verdicts when the
database's rule is suspended. The close, the audited openings and their reversals still move it.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, confirmed, entry, leg, post
from tests.security.test_attack7_rules import held_rule_off, journal_rule_off, named, verdict
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db


def _closed(db: LedgerDB) -> None:
    post(db.connect("fin"), collect("y3v", "2023-03-01", "230822", "1000.00"))
    assert db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0


def _held(db: LedgerDB) -> int:
    row = db.admin().execute("SELECT count(*) AS n FROM fl.pending_entry").fetchone()
    assert row is not None
    return int(row["n"])


# Dr / Cr: the closed year's revenue back into the open year, the open year's result into the surplus
# by hand, the surplus taken out with the money, and fake surplus with a temporary receipt.
SHAPES = [("3001", "4001"), ("5001.inpatient", "3001"), ("4101.county", "3001"), ("3001", "1003"), ("1101", "3001")]


# (An officer never credits the special account by hand: that refusal is its own, officer_confinement.)
CASES = [(m, dr, cr) for m in ("fin", "rev", "o22") for dr, cr in SHAPES if not (m == "o22" and cr == "1003")]


@pytest.mark.parametrize(("maker", "dr", "cr"), CASES)
def test_a_manual_entry_on_the_fund_balance_after_a_close_is_refused_when_held(ledger_db: LedgerDB, dr: str, cr: str,
                                                                              maker: str) -> None:
    _closed(ledger_db)
    before = _held(ledger_db)
    doc = entry(f"y3v-{dr}-{cr}", "2024-01-05", "RES", leg(dr, "230822", "D", "10.00", "special" if dr == "1003" else None),
                leg(cr, "230822", "C", "10.00", "special" if cr == "1003" else None))
    with pytest.raises(psycopg.Error) as e:
        ledger_db.connect(maker, autocommit=True).execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),))
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    assert _held(ledger_db) == before                                  # nothing was held


def test_the_refusal_is_chinese_first_and_says_what_to_do(ledger_db: LedgerDB) -> None:
    _closed(ledger_db)
    doc = entry("y3v-zh", "2024-01-05", "RES", leg("3001", "230822", "D", "10.00"), leg("4001", "230822", "C", "10.00"))
    zh = ledger_db.cli("--lang", "zh", "entry", "post", "-", user="fin", input=json.dumps([doc]))
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "一般基金结余" in out and "年终结转" in out and "Traceback" not in out, out
    en = ledger_db.cli("--lang", "en", "entry", "post", "-", "--json", user="fin", input=json.dumps([doc]))
    out = en.stdout + en.stderr
    assert en.exit_code != 0 and "year-end close" in out and "open year" in out, out
    # Against a bank account, after the close: the closed year and the way to correct it are named.
    doc = entry("y3v-zh2", "2024-01-05", "RES", leg("3001", "230822", "D", "10.00"),
                leg("1003", "230822", "C", "10.00", "special"))
    zh = ledger_db.cli("--lang", "zh", "entry", "post", "-", user="fin", input=json.dumps([doc]))
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "2023" in out and "冲销" in out and "Traceback" not in out, out


def test_before_the_first_close_a_result_still_never_moves_into_the_fund_balance_by_hand(ledger_db: LedgerDB) -> None:
    doc = entry("y3v-first", "2023-03-05", "RES", leg("3001", "230822", "D", "10.00"), leg("4001", "230822", "C", "10.00"))
    with pytest.raises(psycopg.Error) as e:
        ledger_db.connect("fin", autocommit=True).execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),))
    assert e.value.diag.constraint_name == "fund_balance_close_only"
    # An opening balance by hand against the special account, before any close, is still taken (held).
    got = post(ledger_db.connect("fin"), entry("y3v-open", "2023-01-02", "RES", leg("1003", "230822", "D", "10.00", "special"),
                                               leg("3001", "230822", "C", "10.00")))
    assert got[0]["status"] == "posted"


def test_the_dba_writing_the_journal_directly_is_refused(ledger_db: LedgerDB) -> None:
    _closed(ledger_db)
    admin = ledger_db.admin()
    for kind in ("manual", "collections", "interest"):
        with pytest.raises(psycopg.Error, match="fund balance 3001") as e:
            admin.execute(
                "SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-05', 'x', %s, %s, NULL, '', NULL, NULL)::fl.new_entry], "
                "ARRAY[ROW(1, 1, 'RES', '3001', '230822', '', '', 'D', 1000, '', NULL)::fl.new_posting, "
                "ROW(1, 2, 'RES', '4001', '230822', '', '', 'C', 1000, '', NULL)::fl.new_posting])",
                (kind, f"{kind}:fin:y3-dba"))
        assert e.value.diag.constraint_name == "fund_balance_close_only"
        admin.rollback()


def test_a_held_entry_that_slipped_past_the_hold_is_refused_at_confirmation(ledger_db: LedgerDB) -> None:
    _closed(ledger_db)
    admin = ledger_db.admin()
    doc = entry("y3v-slip", "2024-01-05", "RES", leg("3001", "230822", "D", "10.00"), leg("4001", "230822", "C", "10.00"))
    with held_rule_off(admin, "fund"):
        held = ledger_db.connect("fin", autocommit=True).execute(
            "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
    assert held is not None and held["status"] == "held"
    with pytest.raises(psycopg.Error) as e:
        ledger_db.connect("rev", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    assert e.value.diag.constraint_name == "fund_balance_close_only"


def test_the_close_openings_and_their_reversals_still_move_it(ledger_db: LedgerDB) -> None:
    _closed(ledger_db)                                                  # the close itself (Dr 4001 / Cr 3001)
    opening = confirmed(ledger_db.connect("rev", autocommit=True),
                        "SELECT * FROM fl.post_opening(%s::jsonb)",
                        (json.dumps([entry("y3v-city", "2024-01-02", "RES", leg("1003", "230800", "D", "50.00", "special"),
                                           leg("3001", "230800", "C", "50.00"))]),), checker="fin")
    assert opening["status"] == "posted", opening
    rv = confirmed(ledger_db.connect("fin", autocommit=True), "SELECT * FROM fl.reverse_entry(%s, 'audit corrected', "
                   "DATE '2024-01-06', 'y3v-undo')", (opening["entry_id"],), checker="rev")
    assert rv["status"] == "posted", rv


def test_an_entry_written_while_the_rule_is_suspended_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _closed(ledger_db)
    admin = ledger_db.admin()
    doc = entry("y3v-off", "2024-01-05", "RES", leg("3001", "230822", "D", "10.00"), leg("4001", "230822", "C", "10.00"))
    with held_rule_off(admin, "fund"), \
         journal_rule_off(admin, "fund"):
        got = post(ledger_db.connect("fin"), doc)
    eid = int(got[0]["entry_id"])
    named(verdict(ledger_db), "workflows", entry_id=eid, words="fund_balance_close_only")
    assert any(f["entry_id"] == eid and "fund_balance_close_only" in str(f["message"])
               for f in offline(ledger_db, tmp_path, "workflows"))
