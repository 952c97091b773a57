"""ATTACK11 Y2 variants: a collections entry is one imported row of its maker's collections batch, filed once
in the import register — each way of forging one short of that is named by the independent verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.store import imports
from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import verdict
from tests.security.test_attack11_collections_batch import DATA, as_fin

pytestmark = pytest.mark.db


def _batch(db: LedgerDB, kind: str, user: str, path: Path) -> int:
    c = db.connect(user)
    imports.import_file(c, kind, path)
    c.commit()
    row = db.admin().execute("SELECT max(id) AS b FROM fl.import_batch WHERE kind = %s", (kind,)).fetchone()
    assert row is not None and row["b"] is not None
    return int(row["b"])


def _named(db: LedgerDB, eid: int, words: str) -> None:
    found = verdict(db)
    assert any(f["entry_id"] == eid and words in str(f["message"]) for f in found.get("workflows", [])), found


# The forged batches claim a row posted: 0089 (ATTACK12 Z7) refuses at commit a batch that recorded none.
def test_a_payments_batch_named(ledger_db: LedgerDB) -> None:
    _batch(ledger_db, "collections", "fin", DATA / "collections.csv")
    b = int(ledger_db.admin().execute("INSERT INTO fl.import_batch (kind, file_name, file_sha256, imported_by, rows_total, rows_posted) "
                                      "VALUES ('payments', 'p.csv', '', 'fin', 1, 1) RETURNING id").fetchone()["id"])
    eid = as_fin(ledger_db, "collections:230822:Y2v-1", f'{{"import_batch": {b}}}')
    _named(ledger_db, eid, "a collections entry is written by its maker's collections import")


def test_another_users_batch_named(ledger_db: LedgerDB) -> None:
    b = _batch(ledger_db, "collections", "rev", DATA / "collections.csv")
    eid = as_fin(ledger_db, "collections:230822:Y2v-2", f'{{"import_batch": {b}}}')
    _named(ledger_db, eid, "(collections by rev)")


def test_two_debit_lines_in_one_entry(ledger_db: LedgerDB) -> None:
    b = _batch(ledger_db, "collections", "fin", DATA / "collections.csv")
    eid = as_fin(ledger_db, "collections:230822:Y2v-3", f'{{"import_batch": {b}}}', debits=2)
    _named(ledger_db, eid, "has 2 debit line(s)")


def test_a_forged_register_line_of_another_batch(ledger_db: LedgerDB) -> None:
    b1 = _batch(ledger_db, "collections", "fin", DATA / "collections.csv")
    eid = as_fin(ledger_db, "collections:230822:Y2v-4", f'{{"import_batch": {b1}}}')
    admin = ledger_db.admin()
    b2 = int(admin.execute("INSERT INTO fl.import_batch (kind, file_name, file_sha256, imported_by, rows_total, rows_posted) "
                           "VALUES ('collections', 'x.csv', '', 'fin', 1, 1) RETURNING id").fetchone()["id"])
    admin.execute("INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                  "VALUES ('collections:230822', 'Y2v-4', '\\x00', %s, %s, 1)", (eid, b2))
    _named(ledger_db, eid, f"was filed by batch {b2}")
