"""0141 (ATTACK17b F4): a new reference read as a stored one — the stored one holding one of 0134's
radicals, written before 0134 refused them — is refused where references are unique (the import
register per namespace, the register items, the statement lines per account, date, direction and
amount), in SQL, naming the stored reference; a reference that merely holds a look-alike (口, /, |)
and reads as no stored one is written as before.

The stored rows are made as the previous release made them: with 0134's trigger switched off for
that one insert (see test_attack17b_confusable_stored.py for the officer's pay import)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack15b_simplified_references import _claim, _fund, _paid

pytestmark = pytest.mark.db

ITEM = ("INSERT INTO fl.register_item (kind, unit, book, amount, opened_on, reference) "
        "VALUES ('unpaid_claims', '230881', 'RES', 100, '2024-03-01', %s)")


def _stored(db: LedgerDB, table: str, sql: str, ref: str) -> None:
    a = db.admin()
    a.execute(f"ALTER TABLE fl.{table} DISABLE TRIGGER {table}_reference_hanzi")
    try:
        a.execute(sql, (ref,))
    finally:
        a.execute(f"ALTER TABLE fl.{table} ENABLE TRIGGER {table}_reference_hanzi")


def test_the_officers_import_is_refused_in_chinese_naming_the_stored_reference(ledger_db: LedgerDB,
                                                                              tmp_path: Path) -> None:
    _fund(ledger_db)
    a = ledger_db.admin()
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_hanzi")
    try:
        c = ledger_db.connect("o81")
        c.execute("SELECT fl.import_stage('payments')")
        c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, "
                  "reference, component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', '某某医院', "
                  "'inpatient', '800.00', 'A\u4e281/\u4e3f', '', 'county')")
        c.execute("SELECT fl.import_payments('before-0134.csv', NULL)")
        c.commit()
    finally:
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_hanzi")
    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", "A|1//"), user="o81", env={"FUNDLEDGER_LANG": "zh"})
    text = r.stdout + r.stderr
    assert r.exit_code != 0 and "A\u4e281/\u4e3f" in text and "看起来相同" in text and "Traceback" not in text, text
    assert _paid(ledger_db) == ["A\u4e281/\u4e3f"]
    # a reference with the look-alikes that reads as no stored one is paid as before
    assert ledger_db.cli("pay", "import", _claim(tmp_path / "c.csv", "A|1/"), user="o81").exit_code == 0
    assert _paid(ledger_db) == ["A\u4e281/\u4e3f", "A|1/"]


def test_a_raw_register_item_read_as_a_stored_one_is_refused(ledger_db: LedgerDB) -> None:
    _stored(ledger_db, "register_item", ITEM, "\u56d7腔-7")
    a = ledger_db.admin()
    with pytest.raises(psycopg.Error) as ei, a.transaction():
        a.execute(ITEM, ("口腔-7",))
    assert ei.value.diag.constraint_name == "reference_confusable" and "\u56d7腔-7" in str(ei.value), ei.value
    with a.transaction():
        a.execute(ITEM, ("口腔-8",))
    assert a.execute("SELECT count(*) AS n FROM fl.register_item WHERE reference LIKE '%腔-%'").fetchone()["n"] == 2


def test_a_raw_import_line_of_another_namespace_is_not_compared(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Uniqueness is per namespace, the look-alike rule too: the same folded reference of another
    unit is another claim."""
    _fund(ledger_db)
    assert ledger_db.cli("pay", "import", _claim(tmp_path / "a.csv", "X-1"), user="o81").exit_code == 0
    a = ledger_db.admin()
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_hanzi")
    try:
        batch, entry = a.execute("SELECT batch_id, entry_id FROM fl.import_line LIMIT 1").fetchone().values()
        a.execute("INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                  "VALUES ('payments:230881', '\u5ddb-1', '\\x00', %s, %s, 90)", (entry, batch))
    finally:
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_hanzi")
    with pytest.raises(psycopg.Error) as ei, a.transaction():
        a.execute("INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                  "VALUES ('payments:230881', '川-1', '\\x00', %s, %s, 91)", (entry, batch))
    assert ei.value.diag.constraint_name == "reference_confusable" and "\u5ddb-1" in str(ei.value), ei.value
    assert "batch" in str(ei.value) and "row 90" in str(ei.value), ei.value
    with a.transaction():
        a.execute("INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                  "VALUES ('payments:230882', '川-1', '\\x00', %s, %s, 92)", (entry, batch))
