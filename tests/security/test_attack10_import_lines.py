"""ATTACK10 X4: the import register's "foreign keys" are a trigger, and no verdict re-derives them.

ATTACK9 W1's class, on the table W1 left out. fl.import_line's foreign keys to fl.entry and
fl.import_batch were replaced long ago by a statement trigger (``import_line_entry_exists``,
0004/0066), and ``ledger.core.api_rules`` files ``import_line_entry_id_fkey`` /
``import_line_batch_id_fkey`` as *constraints* (judged by the catalogue alone). A trigger switched
off for one statement validates nothing afterwards, and the catalogue is clean again. fl.import_line
is not among the tables the ``actors`` check judges, so a version written by the DBA's own login is
not named either.

Lever (DBA): ``ALTER TABLE fl.import_line DISABLE TRIGGER import_line_entry_exists``, one INSERT of a
register line for claim X4-A in county 230881's namespace (``payments:230881``) naming entry 999999 and
batch 999998 (neither exists) with the claim's content hash (md5 of its content, reference excluded:
here copied from another claim of the same content), trigger back on.
Impact: the county officer's real import of claim X4-A (¥800) is *skipped as already paid*: the claim
is never paid or recorded, quietly, and both verdicts are whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import verdict
from tests.security.test_attack9_claims import PAY, _paid

pytestmark = pytest.mark.db


def test_x4_a_register_line_naming_no_entry_and_no_batch_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("x4-col", "2024-03-01", "230881", "1000000.00"),
         entry("x4-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    probe = tmp_path / "probe.csv"
    probe.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,X4-P,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(probe), user="o81").exit_code == 0
    admin = ledger_db.admin()
    h = admin.execute("SELECT content_hash FROM fl.import_line WHERE reference = 'X4-P'").fetchone()["content_hash"]  # type: ignore[index]
    admin.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_entry_exists")
    try:
        admin.execute("INSERT INTO fl.import_line (row_no, batch_id, entry_id, namespace, reference, content_hash) "
                      "VALUES (2, 999998, 999999, 'payments:230881', 'X4-A', %s)", (h,))
    finally:
        admin.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_entry_exists")
    claims = tmp_path / "claims.csv"
    claims.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,X4-A,,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(claims), "--json", user="o81")
    assert r.exit_code == 0, r
    assert _paid(ledger_db, "X4-A") == [], "claim X4-A was paid"      # skipped as paid: never paid
    found = verdict(ledger_db)
    assert any("999999" in str(f["message"]) or "999998" in str(f["message"]) or "X4-A" in str(f["message"])
               for fs in found.values() for f in fs), (
        f"a register line names entry 999999 and batch 999998 (neither exists) and made the county's import skip "
        f"claim X4-A as paid (import said {r.json()}): no finding {found}")


def test_x4_a_register_line_naming_an_entry_and_batch_of_another_kind_is_named(ledger_db: LedgerDB,
                                                                                 tmp_path: Path) -> None:
    """The kind variant: a payments line that names an existing collections entry and batch (both
    exist, so a check of existence alone would pass) is named by both links."""
    cols = tmp_path / "collections.csv"
    cols.write_text("date,unit,book,source,amount,reference\n2024-03-01,230881,RES,contribution,1000.00,X4-C1\n", "utf-8")
    r = ledger_db.cli("collect", "import", str(cols), user="fin")
    assert r.exit_code == 0, r
    admin = ledger_db.admin()
    col = admin.execute("SELECT l.entry_id, l.batch_id, l.content_hash FROM fl.import_line l "
                        "WHERE l.namespace LIKE 'collections:%' ORDER BY l.entry_id LIMIT 1").fetchone()
    assert col is not None
    admin.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_entry_exists")
    try:
        admin.execute("INSERT INTO fl.import_line (row_no, batch_id, entry_id, namespace, reference, content_hash) "
                      "VALUES (2, %s, %s, 'payments:230881', 'X4-K', %s)",
                      (col["batch_id"], col["entry_id"], col["content_hash"]))
    finally:
        admin.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_entry_exists")
    found = verdict(ledger_db).get("import_refs", [])
    text = " ".join(str(f["message"]) for f in found)
    assert "X4-K" in text and "a collections entry, not a payments entry" in text, found
    assert "a collections import, not a payments one" in text, found
