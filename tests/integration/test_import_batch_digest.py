"""One history version per import batch (sql/0057_import_batch_digest.sql, issue 24).

An import's lines are recorded as one version per batch: the number of its lines and a
digest over them in line order, which the verifiers recompute from the lines. A line
rewritten, removed, added or moved to another batch behind the history is named by its
batch, by both passes of ``verify`` and by ``verify --offline`` of an export."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.core import histories
from tests.integration.test_tamper_records import _both, _tamper, _verify

pytestmark = pytest.mark.db

DATA = Path(__file__).parent / "data"


def _import(ledger_db) -> int:
    r = ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin")
    assert r.exit_code == 0, r
    return int(ledger_db.admin().execute("SELECT max(batch_id) AS b FROM fl.import_line").fetchone()["b"])


def _named(failed: dict, batch: int) -> list[dict]:
    return [f for f in failed.get("histories", []) if f["account"] == f"fl.import_line batch_id={batch}"]


def test_with_batches_recomputes_the_digest_the_trigger_wrote(ledger_db):
    batch = _import(ledger_db)
    admin = ledger_db.admin()
    versions = admin.execute("SELECT row_key, row_data FROM fl.record_log WHERE tbl = 'fl.import_line'").fetchall()
    assert [v["row_key"] for v in versions] == [{"batch_id": batch}], "one version for the batch, none per line"
    lines = admin.execute("SELECT to_jsonb(l)::text AS t FROM fl.import_line l ORDER BY row_no").fetchall()
    want = hashlib.sha256(b"".join(hashlib.sha256(r["t"].encode()).digest() for r in lines)).hexdigest()
    assert versions[0]["row_data"] == {"batch_id": batch, "lines": len(lines), "digest": want}
    rows = [(f'{{"k": {i}}}', r["t"]) for i, r in enumerate(lines)]
    got = list(histories.with_batches(rows))
    assert got[-1] == (histories.batch_key(batch), histories.batch_text(batch, len(lines), want))
    assert _verify(ledger_db)["ok"] is True


@pytest.mark.parametrize("case", ["deleted", "added", "moved", "row_no"])
def test_a_line_changed_behind_the_history_names_its_batch(ledger_db, case):
    batch = _import(ledger_db)
    admin = ledger_db.admin()
    line = admin.execute("SELECT * FROM fl.import_line ORDER BY row_no LIMIT 1").fetchone()
    if case == "deleted":
        stmt = ("DELETE FROM fl.import_line WHERE namespace = %s AND reference = %s",
                (line["namespace"], line["reference"]))
    elif case == "added":
        stmt = ("INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                "VALUES (%s, 'FORGED-9', %s, %s, %s, 999)",
                (line["namespace"], line["content_hash"], line["entry_id"], batch))
    elif case == "moved":          # to another batch (its own, made for it)
        other = batch + 100
        _tamper(ledger_db, ("INSERT INTO fl.import_batch (id, kind, file_name, file_sha256, rows_total) "
                            "OVERRIDING SYSTEM VALUE SELECT %s, kind, file_name, file_sha256, rows_total "
                            "FROM fl.import_batch WHERE id = %s", (other, batch)))
        stmt = ("UPDATE fl.import_line SET batch_id = %s WHERE namespace = %s AND reference = %s",
                (other, line["namespace"], line["reference"]))
    else:
        stmt = ("UPDATE fl.import_line SET row_no = row_no + 1000 WHERE namespace = %s AND reference = %s",
                (line["namespace"], line["reference"]))
    _tamper(ledger_db, stmt)
    first, ind = _both(_verify(ledger_db))
    for failed in (first, ind):
        named = _named(failed, batch)
        assert named and "differ from the digest" in named[0]["message"], failed
    if case == "moved":
        for failed in (first, ind):
            assert any("have no history" in f["message"] for f in _named(failed, other)), failed


def test_the_export_recomputes_the_batch_digest_offline(ledger_db, tmp_path):
    from ledger.io import archive

    batch = _import(ledger_db)
    out = tmp_path / "export"
    res = ledger_db.cli("audit", "export", str(out), "--json", user="aud")
    assert res.exit_code == 0 and res.json()["verified"] is True, res
    rep = archive.verify_offline(out, no_digest=True)
    assert rep.ok, [f.as_json() for f in rep.findings]
    # A line rewritten in the export's own copy of the lines (the history file): its batch's
    # digest no longer recomputes offline.
    p = out / "history" / "import_line.csv"
    text = p.read_text("utf-8")
    ref = ledger_db.admin().execute("SELECT reference FROM fl.import_line ORDER BY row_no LIMIT 1").fetchone()["reference"]
    assert ref in text
    p.write_text(text.replace(ref, "FORGED-1", 2), "utf-8")
    rep = archive.verify_offline(out, no_digest=True)
    failed = {c.name: c for c in rep.checks if not c.ok}
    assert any(f.account == f"fl.import_line batch_id={batch}" for f in failed["histories"].findings), failed
