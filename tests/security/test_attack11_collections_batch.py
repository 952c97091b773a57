"""ATTACK11 Y2 (the narrowing): a collections entry no import wrote, stamped as finance's.

A superuser runs ``SET SESSION AUTHORIZATION fin`` and calls a definer function of its own that calls the
ledger's internal writer ``fl._post``: a ¥900,000 collections entry into the special account, Dr 1003 special /
Cr 4001, with no import batch behind it. Stamps, ``session_user`` and the history's actor all say ``fin``, so
``entry_writers`` sees an ordinary finance entry, and the shapes (X7) judged a collections entry's legs, not
that an import filed it. A superuser acting as a user *is* that user inside the database (the lasting fix is
outside evidence, not this test); what is asked here is the narrowing: a collections entry names its import
batch — a collections import by its maker — and exactly one line of that batch in the import register names it,
so a superuser must now forge a batch and a register line as well, each a record the verdict reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.store import imports
from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import verdict
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"

POST = """CREATE FUNCTION public.y2_post(p_key text, p_source jsonb, p_debits int) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE eid bigint;
BEGIN
  SELECT r.entry_id INTO eid FROM fl._post(
    ARRAY[ROW(1, 'RES', DATE '2024-03-20', '征缴收入', 'collections', p_key, NULL, NULL, p_source, NULL)::fl.new_entry],
    ARRAY(SELECT ROW(1, g, 'RES', '1003', '230822', 'special', '', 'D', 90000000 / p_debits,
                     split_part(p_key, ':', 3), NULL)::fl.new_posting FROM generate_series(1, p_debits) g)
    || ROW(1, 99, 'RES', '4001', '230822', '', '', 'C', 90000000, split_part(p_key, ':', 3), NULL)::fl.new_posting) r;
  RETURN eid;
END $$"""


def as_fin(db: LedgerDB, key: str, source: str | None = None, debits: int = 1) -> int:
    """The superuser, acting as fin, writes a collections entry through a definer function of its own."""
    admin = db.admin()
    admin.execute("DROP FUNCTION IF EXISTS public.y2_post(text, jsonb, int)")
    admin.execute(POST)
    admin.execute("SET SESSION AUTHORIZATION fin")
    try:
        row = admin.execute("SELECT public.y2_post(%s, %s::jsonb, %s) AS id", (key, source, debits)).fetchone()
    finally:
        admin.execute("RESET SESSION AUTHORIZATION")
        admin.execute("DROP FUNCTION public.y2_post(text, jsonb, int)")
    assert row is not None
    who = admin.execute("SELECT created_by FROM fl.entry WHERE id = %s", (row["id"],)).fetchone()
    assert who == {"created_by": "fin"}, who                            # stamped as finance's
    return int(row["id"])


def test_y2_a_superuser_acting_as_finance_writes_collections_with_no_import_behind_them(ledger_db: LedgerDB,
                                                                                         tmp_path: Path) -> None:
    eid = as_fin(ledger_db, "collections:230822:Y2-1")
    found = verdict(ledger_db)
    mine = [f for fs in found.values() for f in fs if f.get("entry_id") == eid]
    assert any("import" in str(f["message"]) for f in mine), (
        f"entry {eid} (collections Dr 1003 special / Cr 4001 ¥900,000 stamped as fin's, no import batch and no "
        f"register line behind it) is named for it by no check: {found}")
    assert any(f["entry_id"] == eid and "import batch" in str(f["message"])
               for f in offline(ledger_db, tmp_path, "workflows"))


def test_y2_a_real_batch_named_but_no_line_of_it(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    assert imports.import_file(fin, "collections", DATA / "collections.csv").rows_posted == 6
    fin.commit()
    batch = ledger_db.admin().execute("SELECT max(id) AS b FROM fl.import_batch WHERE kind = 'collections'").fetchone()
    assert batch is not None
    eid = as_fin(ledger_db, "collections:230822:Y2-2", f'{{"import_batch": {batch["b"]}, "file": "collections.csv", "row": 9}}')
    found = verdict(ledger_db)
    assert any(f["entry_id"] == eid and "no line of the import register names it" in str(f["message"])
               for f in found.get("workflows", [])), found
    # The honest import's own six entries are named by nothing.
    honest = {r["entry_id"] for r in ledger_db.admin().execute(
        "SELECT entry_id FROM fl.import_line WHERE batch_id = %s", (batch["b"],)).fetchall()}
    assert len(honest) == 6
    assert not [f for fs in found.values() for f in fs if f.get("entry_id") in honest], found
