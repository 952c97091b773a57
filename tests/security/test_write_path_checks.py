"""0090 (issue 24): the rules that moved hold against raw SQL as they held before.

fl.entry's kind and size CHECKs are fl.entry_stamp's since 0090 and fl.posting's three rule
triggers are fl.posting_inserted's first statement; each is met by the table owner's raw SQL (the DBA's INSERT, a
multi-row INSERT, ``fl._post`` called by hand, an UPDATE with the append-only refusal switched
off) under the same constraint name as before, and nothing of the refused statement is written.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

ENTRY = ("INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, reason, source) "
         "VALUES (%s, fl._region_today(), %s, %s, %s, '\\x00', %s, %s::jsonb)")


def _refused(c: psycopg.Connection, sql: str, args: tuple[object, ...] = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e, c.transaction():
        c.execute(sql, args)
    return e.value


def _entries(c: psycopg.Connection) -> int:
    return int(c.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"])  # type: ignore[index]


def _row(memo: str = "", kind: str = "manual", key: str = "manual:dba:w1", reason: str = "",
         source: object = None) -> tuple[object, ...]:
    return ("RES", memo, kind, key, reason, None if source is None else json.dumps(source))


def test_the_dbas_insert_meets_every_cap_by_its_name(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    before = _entries(admin)
    deep: object = []
    for _ in range(70):
        deep = [deep]
    for row, name in ((_row(memo="m" * 8001), "entry_memo_size"),
                      (_row(reason="r" * 2001), "entry_reason_size"),
                      (_row(source="s" * 32001), "entry_source_size"),       # a JSON string, not only objects
                      (_row(source={"x": "s" * 32001}), "entry_source_size"),
                      (_row(source=deep), "entry_source_depth")):
        e = _refused(admin, ENTRY, row)
        assert e.diag.constraint_name == name and e.sqlstate == "23514", (name, e)
    # A kind the ledger does not know is refused before its key could be taken.
    e = _refused(admin, ENTRY, _row(kind="gift", key="gift:x"))
    assert e.diag.constraint_name in ("key_namespace", "entry_kind_known"), e
    # Two rows in one statement, the second past the cap: neither is written.
    e = _refused(admin, ENTRY.replace("%s::jsonb)", "%s::jsonb), (%s, fl._region_today(), %s, %s, %s, '\\x00', "
                                                    "%s, %s::jsonb)"),
                 _row(key="manual:dba:w2") + _row(memo="m" * 8001, key="manual:dba:w3"))
    assert e.diag.constraint_name == "entry_memo_size", e
    # At the cap it is written (in a transaction rolled back: the entry has no postings).
    with admin.transaction(force_rollback=True):
        admin.execute(ENTRY, _row(memo="m" * 8000, reason="r" * 2000, key="manual:dba:w4"))
    assert _entries(admin) == before


def test_an_update_meets_the_caps_should_the_append_only_refusal_be_off(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    with admin.transaction(force_rollback=True):
        # (switched off first: ALTER TABLE waits for no pending trigger event of this transaction)
        admin.execute("ALTER TABLE fl.entry DISABLE TRIGGER entry_append_only")
        admin.execute(ENTRY, _row(key="manual:dba:u1"))
        for sql, name in (("UPDATE fl.entry SET memo = repeat('m', 8001) WHERE idempotency_key = 'manual:dba:u1'",
                           "entry_memo_size"),
                          ("UPDATE fl.entry SET kind = 'gift' WHERE idempotency_key = 'manual:dba:u1'",
                           "entry_kind_known"),
                          ("UPDATE fl.entry SET source = to_jsonb(repeat('s', 32001)) "
                           "WHERE idempotency_key = 'manual:dba:u1'", "entry_source_size")):
            e = _refused(admin, sql)
            assert e.diag.constraint_name == name, (name, e)


def _post(key: str, date: str, *legs: tuple[str, str, str, str]) -> str:
    rows = ", ".join(f"ROW(1, {i}, 'RES', '{a}', '{u}', '{h}', '', '{s}', 100, NULL, NULL)::fl.new_posting"
                     for i, (a, u, h, s) in enumerate(legs, 1))
    return (f"SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', {date}, '', 'manual', '{key}', NULL, NULL, NULL, "
            f"NULL)::fl.new_entry], ARRAY[{rows}])")


def test_the_posting_rules_meet_the_dbas_own_post(ledger_db: LedgerDB) -> None:
    """fl._post called by hand (no API function's checks before it): the posting statement's
    trigger refuses a real-money entry dated after the region's today, and money out of a
    county's own bank account by someone who is not its officer — in that order when one entry
    breaks both, as the three triggers fired before."""
    admin = ledger_db.admin()
    before = _entries(admin)
    late = "fl._region_today() + 30"
    e = _refused(admin, _post("manual:dba:p1", late, ("1003", "230822", "special", "D"), ("4001", "230822", "", "C")))
    assert e.diag.constraint_name == "cash_date_future", e
    e = _refused(admin, _post("manual:dba:p2", "fl._region_today()", ("1101", "230881", "", "D"),
                              ("1004", "230881", "county_exp", "C")))
    assert e.diag.constraint_name == "own_bank_credit", e
    e = _refused(admin, _post("manual:dba:p3", late, ("1101", "230881", "", "D"),
                              ("1004", "230881", "county_exp", "C")))
    assert e.diag.constraint_name == "cash_date_future", e
    # A raw INSERT of postings into an entry of this transaction meets the same rules.
    with admin.transaction(force_rollback=True):
        eid = admin.execute(ENTRY.replace("fl._region_today()", "fl._region_today() + 30") + " RETURNING id",
                            _row(key="manual:dba:p4")).fetchone()["id"]  # type: ignore[index]
        acc = [admin.execute("SELECT fl.account_for('RES', %s, '230822', %s, '') AS id", (a, h)).fetchone()["id"]  # type: ignore[index]
               for a, h in (("1003", "special"), ("4001", ""))]
        e = _refused(admin, "INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) "
                            "VALUES (%s, %s, 'D', 100, fl._region_today() + 30, '230822'), "
                            "(%s, %s, 'C', 100, fl._region_today() + 30, '230822')", (eid, acc[0], eid, acc[1]))
        assert e.diag.constraint_name == "cash_date_future", e
    assert _entries(admin) == before
