"""ATTACK15 A8, the class: a refusal an officer can act on, whatever the JSON file or the key.

Every JSON file a person names (entries, a filed digest, an export's manifest) is read by
``ledger.io.infile.parse_json``: a byte-order mark is skipped as the CSV reader skips it, and a
decoder error is told by line, column and what is wrong in the user's language — never Python's
words or its hint. An idempotency key past 200 characters is refused with the limit, by the
entry reader (naming the entry) and, for a raw call, by the constraint's translation.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ledger.errors import BadInput
from ledger.io.infile import parse_json
from ledger.store.translate import translate
from tests.conftest import LedgerDB
from tests.helpers import ENGLISH, entry, leg, use_lang


@pytest.mark.parametrize("text", ["", "[1,]", '{"a" 1}', "{1:2}", '"abc', '"a\nb"', '"\\q"', '"\\u12"', "1 2",
                                  '{"a":1,}', "[1 2]", "\ufeff\ufeff[]"])
def test_every_decoder_error_is_told_in_chinese_with_its_place(text: str) -> None:
    with use_lang("zh"), pytest.raises(BadInput) as e:
        parse_json(text, "f.json")
    said = str(e.value)
    assert "第 " in said and " 列" in said, said
    assert not ENGLISH.search(said.replace("JSON", "")) and "utf-8-sig" not in said, said


def test_a_bom_is_not_content() -> None:
    assert parse_json("\ufeff" + json.dumps({"a": [1, "乙"]}, ensure_ascii=False), "f.json") == {"a": [1, "乙"]}


@pytest.mark.db
def test_a_raw_call_with_a_long_key_is_refused_with_the_limit(ledger_db: LedgerDB) -> None:
    doc = [entry("k" * 201, "2024-03-27", "RES", leg("1101", "230822", "D", "1.00"), leg("2001", "230822", "C", "1.00"))]
    conn = ledger_db.connect("o22", autocommit=True)
    with pytest.raises(psycopg.Error) as e:
        conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchall()
    with use_lang("zh"):
        said = str(translate(e.value))
    assert "200" in said and "idempotency_key_check" not in said, said


@pytest.mark.db
def test_a_digest_file_saved_with_a_bom_is_read(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "digest.json"
    r = ledger_db.cli("audit", "digest", "--out", str(f), user="aud")
    assert r.exit_code == 0, r
    f.write_text(f.read_text("utf-8"), encoding="utf-8-sig")   # re-saved by Notepad
    c = ledger_db.cli("audit", "check-digest", str(f), "--json", user="aud")
    assert c.exit_code == 0, c
