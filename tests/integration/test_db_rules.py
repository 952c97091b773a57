"""Every accounting rule is enforced by PostgreSQL itself: each test below writes
through raw SQL (as the table owner, bypassing the Python code) and is refused."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from psycopg import errors as pgerr

from tests.helpers import collect, confirmed, entry, leg, pay_from_special, post

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db


def _raw_entry(c: psycopg.Connection, key: str, date: str = "2023-03-01", book: str = "RES") -> int:
    r = c.execute("""INSERT INTO fl.entry (book, entry_date, idempotency_key, content_hash, created_by, created_at, created_xid)
                     VALUES (%s, %s, %s, '\\x00', 'someone-else', now(), '1') RETURNING id""",
                  (book, date, f"manual:owner:{key}")).fetchone()   # a manual key lies in manual:<user>: (0017)
    return r["id"]


def _account(c: psycopg.Connection, book: str, code: str, unit: str, holder: str = "", comp: str = "") -> int:
    return c.execute("SELECT fl.account_for(%s, %s, %s, %s, %s) AS id", (book, code, unit, holder, comp)).fetchone()["id"]


def _raw_posting(c: psycopg.Connection, entry_id: int, account: int, side: str, amount: int, date: str, unit: str) -> None:
    c.execute("""INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit)
                 VALUES (%s, %s, %s, %s, %s, %s)""", (entry_id, account, side, amount, date, unit))


def test_unbalanced_entry_refused_at_commit(ledger_db):
    c = ledger_db.connect()
    e = _raw_entry(c, "raw-unbalanced")
    _raw_posting(c, e, _account(c, "RES", "1003", "230822", "special"), "D", 100000, "2023-03-01", "230822")
    _raw_posting(c, e, _account(c, "RES", "4001", "230822"), "C", 90000, "2023-03-01", "230822")
    with pytest.raises(pgerr.CheckViolation) as ei:
        c.commit()
    assert ei.value.diag.constraint_name == "entry_balanced"
    assert "debits 1,000.00 ≠ credits 900.00 for unit 230822, book RES" in str(ei.value)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == 0


def test_balance_is_per_unit_not_per_entry(ledger_db):
    """Debits of one unit cannot be paid by credits of another inside one entry."""
    c = ledger_db.connect("fin")
    with pytest.raises(pgerr.CheckViolation, match="for unit 230822") as ei:
        post(c, entry("cross", "2023-03-01", "RES", leg("1003", "230822", "D", "10.00", "special"),
                      leg("4001", "230881", "C", "10.00")))
        c.commit()
    assert ei.value.diag.constraint_name == "entry_balanced"


def test_components_never_pay_for_each_other(ledger_db):
    c = ledger_db.connect("fin")
    with pytest.raises(pgerr.CheckViolation, match="component") as ei:
        post(c, entry("comp", "2023-03-01", "EMP", leg("1003", "230822", "D", "10.00", "special", "pooled"),
                      leg("4001", "230822", "C", "10.00", component="personal")))
        c.commit()
    assert ei.value.diag.constraint_name == "entry_balanced"


def test_single_posting_entry_refused(ledger_db):
    c = ledger_db.connect()
    e = _raw_entry(c, "raw-one")
    _raw_posting(c, e, _account(c, "RES", "4001", "230822"), "C", 100, "2023-03-01", "230822")
    with pytest.raises(pgerr.CheckViolation) as ei:
        c.commit()
    assert ei.value.diag.constraint_name == "entry_min_postings"


@pytest.mark.parametrize("amount", [0, -5])
def test_amounts_positive(ledger_db, amount):
    c = ledger_db.connect()
    e = _raw_entry(c, f"raw-amt{amount}")
    with pytest.raises(pgerr.CheckViolation) as ei:
        _raw_posting(c, e, _account(c, "RES", "4001", "230822"), "C", amount, "2023-03-01", "230822")
    assert ei.value.diag.constraint_name == "posting_amount_positive"


def test_side_must_be_explicit(ledger_db):
    c = ledger_db.connect()
    e = _raw_entry(c, "raw-side")
    with pytest.raises(pgerr.CheckViolation):
        _raw_posting(c, e, _account(c, "RES", "4001", "230822"), "X", 100, "2023-03-01", "230822")


@pytest.mark.parametrize("sql", [
    "UPDATE fl.posting SET amount = amount + 1",
    "UPDATE fl.entry SET memo = 'changed'",
    "DELETE FROM fl.posting",
    "DELETE FROM fl.entry",
    "DELETE FROM fl.seal",
    "UPDATE fl.seal SET voucher_no = voucher_no + 100",
    "TRUNCATE fl.posting",
    "TRUNCATE fl.entry CASCADE",
    "TRUNCATE fl.seal",
    "DELETE FROM fl.account",
    "TRUNCATE fl.account_day",
    "DELETE FROM fl.closed_period",
])
def test_journal_is_append_only_even_for_the_owner(refusals_db, sql):
    # Every case sees the same ledger, whichever ran before it on the module's copy: the
    # entry under one key (a second post is a duplicate) and one closed month (ON CONFLICT).
    post(refusals_db.connect("fin", autocommit=True), collect("c1", "2023-01-10", "230822", "100.00"))
    refusals_db.connect("rev", autocommit=True).execute("SELECT fl.close_period('2022-12-01')")
    c = refusals_db.admin()
    with pytest.raises(pgerr.IntegrityConstraintViolation) as ei:
        c.execute(sql)
    assert ei.value.diag.constraint_name == "append_only"


def test_postings_cannot_be_added_to_a_committed_entry(ledger_db):
    post(ledger_db.connect("fin", autocommit=True), collect("c1", "2023-01-10", "230822", "100.00"))
    c = ledger_db.connect()
    acc = _account(c, "RES", "4001", "230822")
    with pytest.raises(pgerr.IntegrityConstraintViolation) as ei:
        _raw_posting(c, 1, acc, "C", 100, "2023-01-10", "230822")
    assert ei.value.diag.constraint_name == "append_only"


def test_no_overdraft_on_the_physical_special_account(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    post(c, collect("c1", "2023-01-10", "230822", "100.00"))
    # A unit's share may go negative (drawing on the pool) while the account total stays >= 0.
    post(c, collect("c2", "2023-01-10", "230881", "500.00"))
    post(c, pay_from_special("p1", "2023-01-11", "230822", "300.00"))
    with pytest.raises(pgerr.CheckViolation) as ei:
        post(c, pay_from_special("p2", "2023-01-12", "230822", "300.01"))
    assert ei.value.diag.constraint_name == "no_overdraft"
    assert "holds 300.00, the payment needs 300.01" in str(ei.value)
    bal = ledger_db.admin().execute(
        "SELECT balance FROM fl.bank_account WHERE holder = 'special' AND book = 'RES'").fetchone()["balance"]
    assert bal == 30000


def test_no_overdraft_through_raw_sql(ledger_db):
    c = ledger_db.connect()
    e = _raw_entry(c, "raw-overdraw")
    _raw_posting(c, e, _account(c, "RES", "5001.inpatient", "230822"), "D", 100, "2023-03-01", "230822")
    with pytest.raises(pgerr.CheckViolation) as ei:
        _raw_posting(c, e, _account(c, "RES", "1003", "230822", "special"), "C", 100, "2023-03-01", "230822")
    assert ei.value.diag.constraint_name == "no_overdraft"


def test_reserved_funds_cannot_be_spent(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    post(c, collect("c1", "2023-01-10", "230822", "100.00"))
    ledger_db.admin().execute("UPDATE fl.bank_account SET reserved = 8000 WHERE holder = 'special'")
    with pytest.raises(pgerr.CheckViolation) as ei:
        post(c, pay_from_special("p1", "2023-01-11", "230822", "20.01"))
    assert ei.value.diag.constraint_name == "reserved_within_balance"


def test_closed_period_refuses_postings(ledger_db):
    ledger_db.connect("rev", autocommit=True).execute("SELECT fl.close_period('2023-01-01')")
    c = ledger_db.connect("fin", autocommit=True)
    with pytest.raises(pgerr.CheckViolation) as ei:
        post(c, collect("c1", "2023-01-31", "230822", "100.00"))
    assert ei.value.diag.constraint_name == "period_closed"
    post(c, collect("c2", "2023-02-01", "230822", "100.00"))
    raw = ledger_db.connect()
    with pytest.raises(pgerr.CheckViolation):
        _raw_entry(raw, "raw-closed", "2023-01-15")


def test_voucher_numbers_gapless_per_book_and_year(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    post(c, collect("a", "2023-01-10", "230822", "100.00"))
    with pytest.raises(pgerr.CheckViolation):  # a failed entry must not burn a number
        post(c, pay_from_special("bad", "2023-01-11", "230822", "999.00"))
    post(c, collect("b", "2023-02-10", "230822", "100.00"),
         collect("e1", "2023-02-10", "230881", "1.00", book="EMP", component="pooled"))
    post(c, collect("cc", "2024-01-10", "230822", "100.00"))
    rows = ledger_db.admin().execute(
        "SELECT book, fiscal_year, voucher_no FROM fl.seal ORDER BY seq").fetchall()
    assert [(r["book"], r["fiscal_year"], r["voucher_no"]) for r in rows] == [
        ("RES", 2023, 1), ("RES", 2023, 2), ("EMP", 2023, 1), ("RES", 2024, 1)]


def test_idempotency_same_content_returns_original_different_content_refused(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    first = post(c, collect("k", "2023-01-10", "230822", "100.00"))
    again = post(c, collect("k", "2023-01-10", "230822", "100.00"))
    assert first[0]["entry_id"] == again[0]["entry_id"] and again[0]["status"] == "duplicate"
    with pytest.raises(pgerr.UniqueViolation) as ei:
        post(c, collect("k", "2023-01-10", "230822", "100.01"))
    assert ei.value.diag.constraint_name == "idempotency_conflict"
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == 1


def test_reversal_mirrors_and_happens_once(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    e = post(c, collect("k", "2023-01-10", "230822", "100.00"))[0]["entry_id"]
    r = confirmed(c, "SELECT * FROM fl.reverse_entry(%s, 'wrong unit', '2023-01-11', 'rev-k')", (e,))
    assert r["status"] == "posted"
    with pytest.raises(pgerr.UniqueViolation) as ei:
        c.execute("SELECT * FROM fl.reverse_entry(%s, 'again', '2023-01-12', 'rev-k2')", (e,))
    assert ei.value.diag.constraint_name == "reversed_once"
    bal = ledger_db.admin().execute("SELECT sum(balance) AS s, sum(abs(balance)) AS a FROM fl.account").fetchone()
    assert bal["a"] == 0
    # A raw 'reversal' that does not mirror the original is refused at commit.
    raw = ledger_db.connect()
    x = post(ledger_db.connect("fin", autocommit=True), collect("k2", "2023-01-10", "230822", "50.00"))[0]["entry_id"]
    eid = raw.execute("""INSERT INTO fl.entry (book, entry_date, idempotency_key, content_hash, reverses, created_by, created_at, created_xid)
                         VALUES ('RES', '2023-01-12', 'manual:owner:raw-rev', '\\x00', %s, 'x', now(), '1') RETURNING id""", (x,)).fetchone()["id"]
    _raw_posting(raw, eid, _account(raw, "RES", "4001", "230822"), "D", 4000, "2023-01-12", "230822")
    _raw_posting(raw, eid, _account(raw, "RES", "1003", "230822", "special"), "C", 4000, "2023-01-12", "230822")
    with pytest.raises(pgerr.CheckViolation) as ei2:
        raw.commit()
    assert ei2.value.diag.constraint_name == "reversal_mirrors"


@pytest.mark.server  # the login the server reports (session_user, roles)
def test_writer_identity_is_the_login_not_what_the_client_says(ledger_db):
    raw = ledger_db.connect("fin")
    post(raw, collect("k", "2023-01-10", "230822", "1.00"))
    raw.commit()
    owner = ledger_db.connect()
    _raw_entry(owner, "raw-claims-someone-else")  # claims created_by='someone-else'
    owner.rollback()
    row = ledger_db.admin().execute("SELECT created_by FROM fl.entry WHERE idempotency_key = 'manual:fin:k'").fetchone()
    assert row["created_by"] == "fin"
    c = ledger_db.connect()
    e = _raw_entry(c, "stamped")
    assert c.execute("SELECT created_by FROM fl.entry WHERE id = %s", (e,)).fetchone()["created_by"] == "postgres"


def test_hash_chain_links_every_entry(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    post(c, collect("a", "2023-01-10", "230822", "1.00"), collect("b", "2023-01-10", "230881", "2.00"))
    post(c, collect("c", "2023-01-11", "230822", "3.00"))
    a = ledger_db.admin()
    seals = a.execute("SELECT entry_id, voucher_no, content_digest, prev_hash, hash FROM fl.seal ORDER BY seq").fetchall()
    h = b"\x00" * 32
    for s in seals:
        canonical = a.execute("SELECT fl.entry_canonical(%s) AS t", (s["entry_id"],)).fetchone()["t"]
        digest = hashlib.sha256(canonical.encode()).digest()
        assert digest == bytes(s["content_digest"])
        assert bytes(s["prev_hash"]) == h
        h = hashlib.sha256(h + digest + str(s["voucher_no"]).encode()).digest()
        assert h == bytes(s["hash"])
    assert bytes(a.execute("SELECT hash FROM fl.chain_head").fetchone()["hash"]) == h


@pytest.mark.server  # the application roles' table privileges (GRANT/REVOKE)
def test_app_roles_cannot_write_tables_directly(ledger_db):
    c = ledger_db.connect("fin", autocommit=True)
    for sql in ["INSERT INTO fl.seal_queue VALUES (1, 'RES', 2023, ''::bytea)",
                "UPDATE fl.account SET balance = 0",
                "INSERT INTO fl.closed_period (month) VALUES ('2020-01-01')",
                "ALTER TABLE fl.posting DISABLE TRIGGER USER"]:
        with pytest.raises(pgerr.InsufficientPrivilege):
            c.execute(sql)


@pytest.mark.parametrize("column", ["entry_id", "batch_id"])
def test_import_register_lines_refer_to_real_entries_and_batches(ledger_db, column):
    """fl.import_line's references are checked once per statement (not by per-row foreign
    keys); a raw insert by the owner naming a missing entry or batch is still refused."""
    c = ledger_db.admin()
    c.execute("INSERT INTO fl.import_batch (kind, file_name, file_sha256, rows_total, rows_posted) "
              "VALUES ('payments', 'f.csv', '', 1, 1)")  # one posted row: 0089 (ATTACK12 Z7) refuses an empty batch
    post(ledger_db.connect("fin", autocommit=True), collect("c1", "2023-01-10", "230822", "100.00"))
    entry_id = 999_999 if column == "entry_id" else 1
    batch_id = 999_999 if column == "batch_id" else 1
    with pytest.raises(pgerr.ForeignKeyViolation) as ei:
        c.execute("""INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
                     VALUES ('payments', 'R1', '\\x00', %s, %s, 2)""", (entry_id, batch_id))
    assert ei.value.diag.constraint_name == f"import_line_{column}_fkey"
