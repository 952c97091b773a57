"""ATTACK15 (d): two refusals that tell a Chinese officer nothing they can act on.

* ``entry post FILE`` of a JSON file saved as "UTF-8" by Windows Notepad (before Windows 10 1903,
  and by many Chinese editors: a BOM first) is refused ``不是有效的 JSON：Unexpected UTF-8 BOM
  (decode using utf-8-sig): line 1 column 1 (char 0)`` — Python's own words and a Python hint, while
  the CSV reader takes the same BOM silently (ledger/io/tables.py). The same for ``audit
  check-digest`` of a digest re-saved in Notepad, and ``--password-file``.
* An idempotency key past 200 characters is refused as ``表 entry 的新记录违反了规则
  entry_idempotency_key_check；未写入任何内容（请核对输入，或把这条信息交给管理员）`` — the
  constraint's name, not the limit (200 characters) nor which entry.

Fixed when a JSON file's BOM is read (or refused in Chinese saying to save it as UTF-8 without a
BOM), and the key's length is checked before the call with the limit and the entry named.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")


def _doc(key: str) -> list[dict[str, object]]:
    return [{"date": "2024-03-27", "book": "RES", "idempotency_key": key, "postings": [
        {"account": "1101", "unit": "230822", "side": "debit", "amount": "1.00"},
        {"account": "2001", "unit": "230822", "side": "credit", "amount": "1.00"}]}]


def test_a15_a_json_file_saved_with_a_bom_is_read_or_refused_in_words(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "entries.json"
    f.write_text(json.dumps(_doc("a15-bom"), ensure_ascii=False), encoding="utf-8-sig")
    r = ledger_db.cli("entry", "post", str(f), user="o22", env={"FUNDLEDGER_LANG": "zh"})
    if r.exit_code == 0:
        return
    body = r.stderr.replace(str(tmp_path), "")
    assert "utf-8-sig" not in body and not ENGLISH.search(body), body


def test_a15_a_key_too_long_is_refused_with_the_limit(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "entries.json"
    f.write_text(json.dumps(_doc("k" * 201)), encoding="utf-8")
    r = ledger_db.cli("entry", "post", str(f), user="o22", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    assert "200" in r.stderr, r.stderr
