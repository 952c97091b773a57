"""0103 and 0105 (issue 24): the write path's lock records that went, and the rules that stay.

0103 writes an account's existing day row by a plain UPDATE (INSERT … ON CONFLICT only for its
first row of a day); 0105 checks an entry's book in fl.entry_inserted instead of by the foreign key
entry_book_fkey (whose FOR KEY SHARE locked the book's row for every entry). Each rule is met by
the table owner's raw SQL under the key's name and error code, and with the check suspended (a
superuser's edit of the trigger's body) an entry on a book that does not exist still cannot be
committed: its postings must be on accounts of its book, whose book is a foreign key.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import suspended

pytestmark = pytest.mark.db

ENTRY = ("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, reason) "
         "VALUES (%s, fl._region_today(), '', 'manual', %s, '\\x00', '')")
BOOK_CHECK = "WHERE NOT EXISTS (SELECT 1 FROM fl.book bk WHERE bk.code = d.book)"


def _refused(c: psycopg.Connection, sql: str, args: tuple[object, ...] = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e, c.transaction():
        c.execute(sql, args)
    return e.value


def _entries(c: psycopg.Connection) -> int:
    return int(c.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"])  # type: ignore[index]


def test_an_entry_on_a_book_that_does_not_exist_is_refused_by_the_keys_name(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    before = _entries(admin)
    fks = admin.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = 'fl.entry'::regclass "
                        "AND confrelid = 'fl.book'::regclass").fetchall()
    assert fks == [], fks   # no lock on the book's row per entry (0105)
    e = _refused(admin, ENTRY, ("NOPE", "manual:dba:b1"))
    assert e.diag.constraint_name == "entry_book_fkey" and e.sqlstate == "23503", e
    assert "NOPE" in (e.diag.message_primary or ""), e
    # Two rows in one statement, the second on no book: neither is written.
    e = _refused(admin, ENTRY.replace("'')", "''), (%s, fl._region_today(), '', 'manual', %s, '\\x00', '')"),
                 ("RES", "manual:dba:b2", "NOPE", "manual:dba:b3"))
    assert e.diag.constraint_name == "entry_book_fkey", e
    # Refused before the date checks, as the key's row event came before fl.entry_inserted.
    e = _refused(admin, ENTRY.replace("fl._region_today()", "DATE '1901-01-01'"), ("NOPE", "manual:dba:b4"))
    assert e.diag.constraint_name == "entry_book_fkey", e
    assert _entries(admin) == before


def test_with_the_book_check_suspended_such_an_entry_still_cannot_commit(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    before = _entries(admin)
    acc = [admin.execute("SELECT fl.account_for('RES', %s, '230822', '', '') AS id", (a,)).fetchone()["id"]  # type: ignore[index]
           for a in ("1101", "2001")]
    with suspended(admin, "fl.entry_inserted()", BOOK_CHECK, "WHERE false AND " + BOOK_CHECK[len("WHERE "):]):
        # Its postings must be on accounts of its book (and an account's book is a foreign key) …
        with pytest.raises(psycopg.Error) as e, admin.transaction():
            eid = admin.execute(ENTRY + " RETURNING id", ("NOPE", "manual:dba:s1")).fetchone()["id"]  # type: ignore[index]
            admin.execute("INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) "
                          "VALUES (%s, %s, 'D', 100, fl._region_today(), '230822'), "
                          "(%s, %s, 'C', 100, fl._region_today(), '230822')", (eid, acc[0], eid, acc[1]))
        assert e.value.diag.constraint_name == "posting_book", e.value
        # … and without postings it is refused at its commit.
        with pytest.raises(psycopg.Error) as e, admin.transaction():
            admin.execute(ENTRY, ("NOPE", "manual:dba:s2"))
        assert e.value.diag.constraint_name == "entry_min_postings", e.value
    assert _entries(admin) == before


def test_day_rows_equal_their_postings_whether_updated_or_inserted(ledger_db: LedgerDB) -> None:
    """0103: a day row that exists is updated, an account's first of a day inserted — by fl.post_entries
    and by the owner's raw postings of two statements in one transaction alike."""
    admin, fin = ledger_db.admin(), ledger_db.connect("fin", autocommit=True)
    for i, days in enumerate((0, 0, -1)):
        doc = {"date": admin.execute("SELECT (fl._region_today() + %s)::text AS d", (days,)).fetchone()["d"],  # type: ignore[index]
               "book": "RES", "idempotency_key": f"wpl-{i}", "memo": "temporary payment",
               "postings": [{"account": "1101", "unit": "230822", "side": "D", "amount": 100 + i},
                            {"account": "2001", "unit": "230822", "side": "C", "amount": 100 + i}]}
        r = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchone()
        assert r is not None and r["status"] == "posted", r
    acc = [admin.execute("SELECT fl.account_for('RES', %s, '230822', '', '') AS id", (a,)).fetchone()["id"]  # type: ignore[index]
           for a in ("1101", "2001")]
    with admin.transaction():
        eid = admin.execute(ENTRY.replace("fl._region_today()", "fl._region_today() - 2") + " RETURNING id",
                            ("RES", "manual:dba:d1")).fetchone()["id"]  # type: ignore[index]
        for amount in (7, 9):   # the first statement inserts the day row, the second updates it
            admin.execute("INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) "
                          "VALUES (%s, %s, 'D', %s, fl._region_today() - 2, '230822'), "
                          "(%s, %s, 'C', %s, fl._region_today() - 2, '230822')",
                          (eid, acc[0], amount, eid, acc[1], amount))
    bad = admin.execute(
        "SELECT d.account_id, d.day, d.debits, d.credits, s.dr, s.cr FROM fl.account_day d "
        "JOIN (SELECT p.account_id, p.entry_date, coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr, "
        "             coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr "
        "        FROM fl.posting p WHERE p.account_id = ANY (%s) GROUP BY 1, 2) s "
        "  ON s.account_id = d.account_id AND s.entry_date = d.day "
        "WHERE d.debits <> s.dr OR d.credits <> s.cr", (acc,)).fetchall()
    assert bad == [], bad
    days = admin.execute("SELECT count(*) AS n FROM fl.account_day WHERE account_id = ANY (%s) "
                         "AND day >= fl._region_today() - 2", (acc,)).fetchone()["n"]  # type: ignore[index]
    assert days == 6, days
