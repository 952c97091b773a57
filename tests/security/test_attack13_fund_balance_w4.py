"""ATTACK13 W4: openings and reversals held to the fund balance rule (0095).

0088 (ATTACK11 Y3) made the fund balance 3xxx (一般基金结余) the year-end close's to move, but
exempted the kinds opening and reversal from every check. After book RES closed 2023 the two city
users (the bureau makes, city finance confirms) could post an "opening" dated in the open year with
Dr 3001 / Cr 4001 beside its balances — the closed year's surplus counted as the open year's
revenue, the year-end rule's current balance C, Y3's effect — or reverse the closed year's audited
opening into the open year (Dr 3001 / Cr 1003: the manual entry 0088 refuses after a close), and the
verdict named nothing.

Now (code fund_balance_close_only, Chinese first): no entry but the close puts 3xxx against
4xxx/5xxx — an opening carries balance-sheet balances only, before a close or after it; an entry
dated in a year its book has closed that moves 3xxx is not reversed. Refused when held and on the
DBA's own path; named by both verdicts (workflows, online and offline) when the database's rule was
suspended. The documented flows still pass: the city proper's opening after a close (the officers'
guide posts the 2025 one after the 2024 close), a county's handover after a close, the reversal of
an open year's opening, the reversal of a closed year's entry that does not touch 3xxx.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirmed, entry, leg
from tests.security.test_attack7_rules import body_off, held_rule_off, journal_rule_off, named, verdict
from tests.security.test_attack11_fund_balance_variants import _closed, _held
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db

CITY = "230800"
# Dr / Cr beside an opening's balances: the surplus into revenue, the open year's expenditure into the
# surplus, the surplus into a county's share of revenue.
AGAINST = [("3001", "4001"), ("5001.inpatient", "3001"), ("3001", "4101.county")]
OFF = "\nBEGIN\n  RETURN NULL;\nEND "


def _opening(db: LedgerDB, key: str, date: str, *legs: dict[str, object]) -> dict[str, object]:
    """The city proper's opening (opening post: the bureau holds it, city finance confirms)."""
    return confirmed(db.connect("rev", autocommit=True), "SELECT * FROM fl.post_opening(%s::jsonb)",
                     (json.dumps([entry(key, date, "RES", *legs)]),), checker="fin")


def _audited(db: LedgerDB, date: str = "2023-01-02") -> int:
    """The city proper's audited opening of book RES (Dr 1003 special / Cr 3001)."""
    got = _opening(db, "w4-audited", date, leg("1003", CITY, "D", "50.00", "special"), leg("3001", CITY, "C", "50.00"))
    assert got["status"] == "posted", got
    return int(str(got["entry_id"]))


def _reverse(db: LedgerDB, eid: int, date: str, key: str) -> dict[str, object]:
    return confirmed(db.connect("fin", autocommit=True), "SELECT * FROM fl.reverse_entry(%s, 'audit corrected', %s::date, "
                     "%s)", (eid, date, key), checker="rev")


def _names_it(db: LedgerDB, tmp_path: Path, eid: int) -> None:
    named(verdict(db), "workflows", entry_id=eid, words="fund_balance_close_only")
    assert any(f["entry_id"] == eid and "fund_balance_close_only" in str(f["message"])
               for f in offline(db, tmp_path, "workflows"))


# ---- the attacker's tests --------------------------------------------------------------------------

@pytest.mark.parametrize(("dr", "cr"), AGAINST, ids=["surplus_into_revenue", "expenditure_into_surplus",
                                                     "surplus_into_county_revenue"])
def test_w4_an_opening_after_the_close_moves_no_result_through_the_fund_balance(ledger_db: LedgerDB, dr: str,
                                                                                 cr: str) -> None:
    _closed(ledger_db)                                       # book RES closed 2023 (Dr 4001 / Cr 3001)
    before = _held(ledger_db)
    with pytest.raises(psycopg.Error) as e:
        _opening(ledger_db, f"w4-{dr}-{cr}", "2024-01-02", leg("1003", CITY, "D", "50.00", "special"),
                 leg("3001", CITY, "C", "50.00"), leg(dr, CITY, "D", "40.00"), leg(cr, CITY, "C", "40.00"))
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    assert _held(ledger_db) == before                        # refused when held: nothing waits for finance


@pytest.mark.parametrize(("dr", "cr"), AGAINST[:2])
def test_w4_nor_before_any_close(ledger_db: LedgerDB, dr: str, cr: str) -> None:
    with pytest.raises(psycopg.Error) as e:
        _opening(ledger_db, f"w4-first-{dr}", "2023-01-02", leg("1003", CITY, "D", "50.00", "special"),
                 leg("3001", CITY, "C", "50.00"), leg(dr, CITY, "D", "40.00"), leg(cr, CITY, "C", "40.00"))
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value


def test_w4_the_reversal_of_a_closed_years_opening_is_refused_when_asked_for(ledger_db: LedgerDB) -> None:
    opened = _audited(ledger_db)
    _closed(ledger_db)
    before = _held(ledger_db)
    with pytest.raises(psycopg.Error) as e:
        _reverse(ledger_db, opened, "2024-01-06", "w4-undo")
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    assert _held(ledger_db) == before                        # nothing held


def test_w4_a_reversal_held_before_the_close_is_refused_at_confirmation(ledger_db: LedgerDB) -> None:
    opened = _audited(ledger_db)
    held = ledger_db.connect("fin", autocommit=True).execute(
        "SELECT * FROM fl.reverse_entry(%s, 'audit corrected', DATE '2024-01-06', 'w4-early')", (opened,)).fetchone()
    assert held is not None and held["status"] == "held", held
    _closed(ledger_db)                                       # 2023 closes while the reversal waits
    with pytest.raises(psycopg.Error) as e:
        ledger_db.connect("rev", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value


# ---- every path, in Chinese first --------------------------------------------------------------------

def test_w4_the_refusals_are_chinese_first_and_say_what_to_do(ledger_db: LedgerDB) -> None:
    _closed(ledger_db)
    doc = entry("w4-zh", "2024-01-02", "RES", leg("1004", CITY, "D", "50.00", "city_exp"),
                leg("3001", CITY, "C", "50.00"), leg("3001", CITY, "D", "40.00"), leg("4001", CITY, "C", "40.00"))
    zh = ledger_db.cli("--lang", "zh", "opening", "post", "-", user="rev", input=json.dumps([doc]))
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "一般基金结余" in out and "期初余额" in out and "Traceback" not in out, out
    en = ledger_db.cli("--lang", "en", "opening", "post", "-", "--json", user="rev", input=json.dumps([doc]))
    out = en.stdout + en.stderr
    assert en.exit_code != 0 and "balance-sheet balances only" in out and "fund_balance_close_only" in out, out


def test_w4_the_reversal_refusal_is_chinese_first_and_says_what_to_do(ledger_db: LedgerDB) -> None:
    opened = _audited(ledger_db)
    _closed(ledger_db)
    zh = ledger_db.cli("--lang", "zh", "entry", "reverse", str(opened), "--reason", "audit corrected",
                       "--date", "2024-01-06", user="fin")
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "一般基金结余" in out and "2023" in out and "Traceback" not in out, out
    en = ledger_db.cli("--lang", "en", "entry", "reverse", str(opened), "--reason", "audit corrected",
                       "--date", "2024-01-06", user="fin")
    out = en.stdout + en.stderr
    assert en.exit_code != 0 and "closed year 2023" in out and "open year" in out, out


def test_w4_the_dba_writing_the_journal_directly_is_refused(ledger_db: LedgerDB) -> None:
    opened = _audited(ledger_db)
    _closed(ledger_db)
    admin = ledger_db.admin()
    # An opening with Dr 3001 / Cr 4001, by fl._post in the DBA's own session.
    with pytest.raises(psycopg.Error) as e:
        admin.execute("SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-05', 'x', 'opening', "
                      "'opening-city:RES:w4-dba', NULL, '', NULL, NULL)::fl.new_entry], ARRAY[ROW(1, 1, 'RES', '3001', "
                      "'230800', '', '', 'D', 100, '', NULL)::fl.new_posting, ROW(1, 2, 'RES', '4001', '230800', '', '', "
                      "'C', 100, '', NULL)::fl.new_posting])")
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    admin.rollback()
    # The closed year's opening reversed (its exact mirror) the same way.
    with pytest.raises(psycopg.Error) as e:
        admin.execute("SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-05', 'x', 'reversal', "
                      "'reversal:fin:w4-dba', %s, 'redo', NULL, NULL)::fl.new_entry], "
                      "(SELECT array_agg(ROW(1, p.id::int, a.book, a.chart_code, a.unit, a.holder, a.component, "
                      "CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, '', NULL)::fl.new_posting) "
                      "FROM fl.posting p JOIN fl.account a ON a.id = p.account_id WHERE p.entry_id = %s))",
                      (opened, opened))
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    admin.rollback()
    # A "reversal" that reverses nothing is no writer of the fund balance.
    with pytest.raises(psycopg.Error) as e:
        admin.execute("SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-05', 'x', 'reversal', "
                      "'reversal:fin:w4-none', NULL, 'redo', NULL, NULL)::fl.new_entry], ARRAY[ROW(1, 1, 'RES', "
                      "'3001', '230800', '', '', 'D', 100, '', NULL)::fl.new_posting, ROW(1, 2, 'RES', '4001', "
                      "'230800', '', '', 'C', 100, '', NULL)::fl.new_posting])")
    assert e.value.diag.constraint_name == "fund_balance_close_only", e.value
    admin.rollback()


# ---- written while the database's rule was suspended: named by both verdicts -----------------------

def test_w4_an_opening_against_revenue_written_while_the_rule_is_suspended_is_named(ledger_db: LedgerDB,
                                                                                     tmp_path: Path) -> None:
    _closed(ledger_db)
    admin = ledger_db.admin()
    with held_rule_off(admin, "fund"), journal_rule_off(admin, "fund"):
        got = _opening(ledger_db, "w4-off", "2024-01-02", leg("1003", CITY, "D", "50.00", "special"),
                       leg("3001", CITY, "C", "50.00"), leg("3001", CITY, "D", "40.00"), leg("4001", CITY, "C", "40.00"))
    assert got["status"] == "posted", got
    _names_it(ledger_db, tmp_path, int(str(got["entry_id"])))


def test_w4_a_closed_years_opening_reversed_by_the_dba_while_the_rule_is_suspended_is_named(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    opened = _audited(ledger_db)
    _closed(ledger_db)
    admin = ledger_db.admin()
    with body_off(admin, "fl.reversal_allowed_of(fl.entry)", "\nBEGIN\n  RETURN;\nEND "):
        row = admin.execute(
            "SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-05', 'x', 'reversal', 'reversal:fin:w4-off', %s, "
            "'redo', NULL, NULL)::fl.new_entry], (SELECT array_agg(ROW(1, p.id::int, a.book, a.chart_code, a.unit, "
            "a.holder, a.component, CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, '', NULL)::fl.new_posting) "
            "FROM fl.posting p JOIN fl.account a ON a.id = p.account_id WHERE p.entry_id = %s))",
            (opened, opened)).fetchone()
        admin.commit()
    assert row is not None
    _names_it(ledger_db, tmp_path, int(row["entry_id"]))


# ---- the documented flows still pass ----------------------------------------------------------------

def test_w4_the_city_proper_opening_after_a_close_still_posts(ledger_db: LedgerDB) -> None:
    """As the officers' guide does (the city's audited 2025 opening, after the 2024 close): a book and
    component not opened before, on a bank account against 3001 — and it is reversed in its own year."""
    _closed(ledger_db)
    got = _opening(ledger_db, "audited", "2024-01-02", leg("1004", CITY, "D", "200.00", "city_exp"),
                   leg("3001", CITY, "C", "200.00"))
    assert got["status"] == "posted", got
    eid = int(str(got["entry_id"]))
    rv = _reverse(ledger_db, eid, "2024-01-06", "w4-own-year")
    assert rv["status"] == "posted", rv
    mine = {eid, int(str(rv["entry_id"]))}
    assert not [f for fs in verdict(ledger_db).values() for f in fs if f["entry_id"] in mine]


def test_w4_a_countys_handover_opening_after_the_close_still_posts(ledger_db: LedgerDB, tmp_path: Path) -> None:
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


def test_w4_a_closed_years_entry_off_the_fund_balance_is_still_reversed_in_the_open_year(ledger_db: LedgerDB) -> None:
    """0082 keeps a closed year's collection, payment or interest reversible in the open year (it is that
    year's correction): 0095 refuses only what moves 3xxx."""
    _closed(ledger_db)
    row = ledger_db.admin().execute("SELECT id FROM fl.entry WHERE kind = 'manual' AND entry_date = '2023-03-01'"
                                    ).fetchone()                 # _closed's collection (Dr 1003 special / Cr 4001)
    assert row is not None
    rv = _reverse(ledger_db, int(row["id"]), "2024-01-06", "w4-coll")
    assert rv["status"] == "posted", rv
