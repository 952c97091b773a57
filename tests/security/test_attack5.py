"""ATTACK5 (a fresh red team on main 8459bde): the write side, migration 0039.

S1 (HIGH): a county officer booked ¥900 M of revenue and special-account (1003) money alone
by `collect import` (kind collections, posted at once). Collections and subsidies are the
record of money the bank moved into finance's special account: only finance or the bureau
imports them, and the entry trigger refuses any entry but a manual one or a payment posted
in an officer's session, whatever path wrote it.

S4 (MED): one fen dated 2022 (a year before the data, never closed) blocked every unit's year
close, and the refusal asked to close a year already closed. Nothing is dated in a year
before the last year its book closed (a reversal in the same year as the entry it reverses
excepted: that is the way out for such an entry written before 0039), and the close's order
refusal names the year, the entries and what to do."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ledger.store import imports
from tests.conftest import LedgerDB
from tests.helpers import collect, confirmed, entry, leg, post
from tests.integration.test_imports import balance, count, write_csv

pytestmark = pytest.mark.db

COLL = "date,unit,book,source,amount,reference,component"
PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


# ---- S1 ------------------------------------------------------------------------------------

def test_an_officer_cannot_book_collections_or_subsidies(ledger_db: LedgerDB, tmp_path: Path) -> None:
    special = balance(ledger_db, "RES", "1003", "230826", "special")
    entries = count(ledger_db, "fl.entry")
    f = write_csv(tmp_path / "col.csv", COLL, "2023-02-01,230822,RES,subsidy_county,900000000.00,RED5-FAKE-1,")
    r = ledger_db.cli("--lang", "en", "collect", "import", str(f), user="o22")
    assert r.exit_code == 1, r
    text = " ".join(r.stderr.split())
    assert "[permission_denied]" in text and "may not import collections and subsidies" in text, text
    assert "reviewer or finance" in text, text
    # The same through the stage and the function by hand: refused before anything is staged.
    o22 = ledger_db.connect("o22")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        o22.execute("SELECT fl.import_collections('by-hand.csv', NULL)")
    o22.rollback()
    assert count(ledger_db, "fl.entry") == entries
    assert balance(ledger_db, "RES", "1003", "230822", "special") == 0
    assert balance(ledger_db, "RES", "1003", "230826", "special") == special


def test_the_entry_trigger_refuses_an_officers_workflow_kind_whatever_path_wrote_it(ledger_db: LedgerDB) -> None:
    """The class, below every function: an entry of a workflow kind (collections, opening,
    pre-allocation, …) inserted in an officer's session is refused by fl.entry's statement
    trigger. The test plays a path that would reach the journal in an officer's session: the
    superuser's own session is registered as an officer for one transaction and writes the
    entry straight into the tables."""
    db = ledger_db.admin()
    for kind, key in [("collections", "collections:230822:X"), ("opening", "opening:230822:X"),
                      ("preallocation", "prealloc:2023:230822:RES")]:
        with pytest.raises(psycopg.Error) as e, db.transaction():
            db.execute("INSERT INTO fl.app_user (name, role, unit) VALUES (session_user, 'officer', '230822')")
            db.execute("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, reason)"
                       " VALUES ('RES', '2023-02-01', 'x', %s, %s,"
                       " '\\x00', '')", (kind, key))
        msg = e.value.diag.message_primary or ""
        assert e.value.diag.sqlstate == "42501" and f"may not post {kind} entries" in msg, (kind, msg)
    # A manual entry in the same officer's session passes this rule (0017/0027 hold it when it must).
    with pytest.raises(_Undo), db.transaction():
        db.execute("INSERT INTO fl.app_user (name, role, unit) VALUES (session_user, 'officer', '230822')")
        db.execute("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, reason)"
                   " VALUES ('RES', '2023-02-01', 'x', 'manual',"
                   " 'manual:' || session_user || ':x', '\\x00', '')")
        raise _Undo   # (an entry without postings is not the point here)


class _Undo(Exception):
    pass


def test_finance_and_the_bureau_import_collections_and_officers_pay(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "col.csv", COLL, "2023-02-01,230822,RES,contribution,1000.00,COL-202302-230822-RES-c,",
                  "2023-02-01,230822,RES,subsidy_county,500.00,COL-202302-230822-RES-s,")
    r = ledger_db.cli("collect", "import", str(f), "--json", user="fin")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 2, r
    g = write_csv(tmp_path / "col2.csv", COLL, "2023-02-02,230881,RES,contribution,10.00,COL-202302-230881-RES-c,")
    r = ledger_db.cli("collect", "import", str(g), "--json", user="rev")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 1, r
    assert balance(ledger_db, "RES", "1003", "230822", "special") == 150_000
    # The officer's own work is unchanged: its unit's payments from its expenditure account.
    post(ledger_db.connect("fin"), entry("fund-hn", "2023-02-05", "RES", leg("1004", "230822", "D", "200.00", "county_exp"),
                                         leg("1003", "230822", "C", "200.00", "special")))
    p = write_csv(tmp_path / "pay.csv", PAY, "2023-02-10,230822,RES,某医院,inpatient,100.00,PAY-1,,county")
    r = ledger_db.cli("pay", "import", str(p), "--json", user="o22")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 1, r


# ---- S4 ------------------------------------------------------------------------------------

def _close(ledger_db: LedgerDB, year: int) -> None:
    r = ledger_db.cli("--lang", "en", "close", "year", "--year", str(year), "--date", f"{year}-12-31", user="rev")
    assert r.exit_code == 0, r


def test_nothing_is_dated_in_a_year_before_the_last_closed_one(ledger_db: LedgerDB, tmp_path: Path) -> None:
    post(ledger_db.connect("fin"), collect("c23", "2023-03-01", "230822", "1000.00"))
    _close(ledger_db, 2023)
    entries = count(ledger_db, "fl.entry")
    # The attack's file, dated 2022 (first_year is 2021; 2022 was never closed), now from finance.
    old = write_csv(tmp_path / "old.csv", COLL, "2022-06-01,230822,RES,other,0.01,RED5-OLD-1,")
    r = ledger_db.cli("--lang", "en", "collect", "import", str(old), user="fin")
    assert r.exit_code == 1, r
    text = " ".join(r.stderr.split())
    assert "[entry_date_range]" in text and "book RES closed year 2023" in text, text
    # The same by hand, any kind, any role: the trigger.
    rev = ledger_db.connect("rev")
    with pytest.raises(psycopg.Error) as e:
        post(rev, collect("c22", "2021-06-01", "230822", "1.00"))
    assert "closed year 2023" in (e.value.diag.message_primary or ""), e.value
    rev.rollback()
    assert count(ledger_db, "fl.entry") == entries
    # The legitimate flow: the next year's collections post.
    new = write_csv(tmp_path / "new.csv", COLL, "2024-01-10,230822,RES,other,0.01,OK-2024-1,")
    r = ledger_db.cli("collect", "import", str(new), "--json", user="fin")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 1, r


def test_the_close_names_an_entry_in_an_unclosed_earlier_year(ledger_db: LedgerDB, tmp_path: Path) -> None:
    post(ledger_db.connect("fin"), collect("c23", "2023-03-01", "230822", "1000.00"))
    # Dated 2021 (first_year), the data start in 2023: nothing is closed yet, so it posts.
    old = write_csv(tmp_path / "old.csv", COLL, "2021-06-01,230822,RES,other,0.01,OLD-1,")
    assert ledger_db.cli("collect", "import", str(old), user="fin").exit_code == 0
    r = ledger_db.cli("--lang", "en", "close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 1
    text = " ".join(r.stderr.split())
    assert "[year_close_order]" in text and "dated in 2021" in text and "account 4501" in text, text
    assert "collections:230822:OLD-1" in text and "Close year 2021 first" in text, text
    assert "close year 2022 first" not in text, text


def test_an_entry_left_before_a_closed_year_is_named_and_undone_by_a_reversal(ledger_db: LedgerDB,
                                                                              tmp_path: Path) -> None:
    """The state the attack left (a fen dated 2022 after 2023 closed), as a ledger written
    before 0039 holds it: the close of 2024 names the entry and the way out, a reversal dated
    in 2022, and closes once it is done."""
    post(ledger_db.connect("fin"), collect("c23", "2023-03-01", "230822", "1000.00"))
    _close(ledger_db, 2022)
    _close(ledger_db, 2023)
    # Written as before 0039: the superuser switches the date rule off for one import of
    # finance's, made through finance's own login (since 0047 no API call runs under a
    # SET SESSION AUTHORIZATION).
    old = write_csv(tmp_path / "old.csv", COLL, "2021-06-01,230822,RES,other,0.01,RED5-OLD-1,")
    db = ledger_db.admin()
    db.execute("ALTER TABLE fl.entry DISABLE TRIGGER entry_inserted")
    db.commit()
    try:
        fin = ledger_db.connect("fin")
        assert imports.import_file(fin, "collections", old).rows_posted == 1
        fin.commit()
    finally:
        db.execute("ALTER TABLE fl.entry ENABLE TRIGGER entry_inserted")
        db.commit()
    eid = db.execute("SELECT id FROM fl.entry WHERE idempotency_key = 'collections:230822:RED5-OLD-1'").fetchone()["id"]
    r = ledger_db.cli("--lang", "en", "close", "year", "--year", "2024", "--date", "2024-12-31", user="rev")
    assert r.exit_code == 1
    text = " ".join(r.stderr.split())
    assert "[year_close_order]" in text and "dated in 2021" in text and "can no longer be closed" in text, text
    assert "RED5-OLD-1" in text and "entry reverse ID --date 2021-12-31" in text and "close year 2023" not in text
    # The way out: a reversal dated in 2021 (the one kind allowed there), then the close.
    rev = ledger_db.connect("rev")
    with pytest.raises(psycopg.Error):
        rev.execute("SELECT * FROM fl.reverse_entry(%s, 'wrong year', '2022-01-05', 'red5-undo-x')", (eid,))
    rev.rollback()
    out = confirmed(rev, "SELECT * FROM fl.reverse_entry(%s, 'dated before the data start', '2021-12-31', "
                         "'red5-undo')", (eid,), checker="fin")
    assert out["status"] == "posted", out
    rev.commit()
    _close(ledger_db, 2024)
