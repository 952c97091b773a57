"""ATTACK3 R15: crafted input that reached a user as a traceback.

A Windows-made file whose name keeps its GBK bytes, an argument typed in another
encoding, a JSON string with a lone surrogate escape, a document nested a hundred
thousand levels deep: each is either read correctly or refused with a message naming
it, a non-zero exit and nothing written — never a Python traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.integration.test_imports import DATA, count

pytestmark = pytest.mark.db


def _no_traceback(r) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in r.stdout + r.stderr, r


def test_a_file_named_in_gbk_is_imported_and_recorded_under_its_chinese_name(ledger_db: LedgerDB,
                                                                            tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/" + "桦南县征缴.csv".encode("gbk")
    with open(raw, "wb") as f:
        f.write((DATA / "collections.csv").read_bytes())
    r = ledger_db.cli("collect", "import", os.fsdecode(raw), "--json", user="fin")
    _no_traceback(r)
    assert r.exit_code == 0, r
    assert r.json()["file"].endswith("桦南县征缴.csv")
    row = ledger_db.admin().execute("SELECT file_name FROM fl.import_batch ORDER BY id DESC LIMIT 1").fetchone()
    assert row["file_name"].endswith("桦南县征缴.csv")


def test_an_argument_in_another_encoding_is_refused_by_name(ledger_db: LedgerDB) -> None:
    before = count(ledger_db, "fl.closed_period")
    bad = os.fsdecode(b"month end \xff\xfe")
    r = ledger_db.cli("close", "period", "2023-02", "--reason", bad, user="rev")
    _no_traceback(r)
    assert r.exit_code == 1 and "[bad_input]" in r.stderr
    assert "month end \\xff\\xfe is not UTF-8 text" in " ".join(r.stderr.split())
    assert count(ledger_db, "fl.closed_period") == before


@pytest.mark.parametrize("doc, says", [
    ('[{"date": "2023-02-01", "book": "RES", "idempotency_key": "S-1", "memo": "\\ud800", "postings": []}]',
     "not Unicode text"),
    ("[" * 100_000 + "]" * 100_000, "nests deeper than 64 levels"),
])
def test_entries_that_no_database_can_store_are_refused(ledger_db: LedgerDB, tmp_path: Path, doc: str,
                                                        says: str) -> None:
    f = tmp_path / "entries.json"
    f.write_text(doc, encoding="utf-8")
    before = count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry")
    r = ledger_db.cli("entry", "post", str(f), user="o22")
    _no_traceback(r)
    assert r.exit_code == 1 and "[bad_input]" in r.stderr and says in " ".join(r.stderr.split()), r
    assert count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry") == before


def test_a_digest_nested_a_hundred_thousand_deep_is_refused(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "digest.json"
    f.write_text('{"a":' * 100_000 + "1" + "}" * 100_000, encoding="utf-8")
    r = ledger_db.cli("audit", "check-digest", str(f), user="aud")
    _no_traceback(r)
    assert r.exit_code == 1 and "nests deeper than 64 levels" in " ".join(r.stderr.split()), r
    export = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(export), user="aud").exit_code == 0
    r = ledger_db.cli("verify", "--offline", str(export), "--digest", str(f))
    _no_traceback(r)
    assert r.exit_code == 1 and "nests deeper than 64 levels" in " ".join(r.stderr.split()), r
