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
    ('[{"date": "2023-02-01", "amount": ' + "9" * 5000 + "}]", "not valid JSON"),   # ATTACK4 Q3
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


# R10: no text a writer chose had a size limit; a 90 MB memo was accepted for good and a
# memo past 131,072 characters ended every later verify with a traceback.

def _entry(memo: str, amount: object = "0.01") -> list[dict[str, object]]:
    """A document as the CLI reads it (amount in yuan) or as fl.post_entries takes it (fen)."""
    return [{"date": "2023-02-01", "book": "RES", "idempotency_key": "BIGMEMO-1", "memo": memo,
             "postings": [{"account": "1101", "unit": "230822", "side": "D", "amount": amount},
                          {"account": "2001", "unit": "230822", "side": "C", "amount": amount}]}]


def test_a_memo_past_its_cap_is_refused_by_the_database(ledger_db: LedgerDB, tmp_path: Path) -> None:
    import json

    f = tmp_path / "big.json"
    f.write_text(json.dumps(_entry("垃" * 8001), ensure_ascii=False), encoding="utf-8")
    before = count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry")
    r = ledger_db.cli("entry", "post", str(f), user="o22")
    _no_traceback(r)
    assert r.exit_code == 1 and "[text_too_long]" in r.stderr, r
    assert "an entry's memo is longer than 8,000 characters" in " ".join(r.stderr.split())
    assert count(ledger_db, "fl.entry") + count(ledger_db, "fl.pending_entry") == before
    # Raw SQL meets the same CHECK.
    c = ledger_db.connect("o22")
    with pytest.raises(Exception, match=r"entry_memo_size|pending_entry_memo_size"):
        c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(_entry("x" * 30_000, 1)),))
    c.rollback()
    # At the cap it posts.
    f.write_text(json.dumps(_entry("垃" * 8000), ensure_ascii=False), encoding="utf-8")
    assert ledger_db.cli("entry", "post", str(f), user="o22").exit_code == 0


def test_a_long_memo_written_before_the_cap_does_not_break_verify(ledger_db: LedgerDB) -> None:
    import json

    admin = ledger_db.admin()
    # A ledger from before the cap (or a DBA who dropped it) holds a 200,000-character memo.
    # (0090: the cap is fl.entry_stamp's, not a CHECK's; the DBA takes it out of the stamp)
    stamp = admin.execute("SELECT pg_get_functiondef('fl.entry_stamp()'::regprocedure) AS d").fetchone()["d"]  # type: ignore[index]
    assert stamp.count("IF length(NEW.memo) > 8000 THEN") == 1
    admin.execute(stamp.replace("IF length(NEW.memo) > 8000 THEN", "IF false THEN"))
    c = ledger_db.connect("o22")
    c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(_entry("m" * 200_000, 1)),))
    c.commit()
    r = ledger_db.cli("verify", "--json", user="aud")
    _no_traceback(r)
    assert r.exit_code in (0, 1), r
    out = r.json()
    checks = out["checks"] + out["independent"]["checks"]
    assert len(out["independent"]["checks"]) > 5   # a verdict was computed over the long memo
    # Every check holds but the schema's (a dropped constraint is the DBA's doing, and the
    # catalogue check may name it): the memo is data like any other.
    assert all(c["ok"] for c in checks if c["name"] != "catalogue"), [c for c in checks if not c["ok"]]
