"""ATTACK14 V11: a JSON file with a key given twice is read by its last value; a person reading it
sees the first.

``ledger.io.infile.parse_json`` (``entry post FILE``, ``audit check-digest``, ``verify --offline``'s
manifest and digest) is ``json.loads``, which keeps the last of duplicate keys silently. An entry
file whose posting reads ``"amount": "1.00"`` on the line a person checks and ``"amount":
"900000.00"`` further along (or a second ``"account"``) posts 900,000.00; PostgreSQL's jsonb keeps
the last too, so nothing later disagrees with what was posted — only with what the file shows.

Fixed when ``parse_json`` refuses an object with a repeated key (``object_pairs_hook``), naming the
key and the file.
"""

from __future__ import annotations

import pytest

from ledger.core.entries import parse_entries
from ledger.errors import BadInput
from ledger.io.infile import parse_json

DOC = """{"idempotency_key": "v11", "date": "2024-03-27", "book": "RES", "memo": "temporary advance",
 "postings": [
  {"account": "1101", "unit": "230822", "side": "debit", "amount": "1.00",
   "memo": "advance to 某某医院 (see contract)",                                      "amount": "900000.00"},
  {"account": "2001", "unit": "230822", "side": "credit", "amount": "1.00",   "amount": "900000.00"}]}"""


def test_v11_a_json_object_with_a_key_given_twice_is_refused() -> None:
    try:
        drafts = parse_entries(parse_json(DOC, "v11.json"), "v11.json")
    except BadInput:
        return                                                                         # refused: fixed
    pytest.fail(f"the file shows amount 1.00 on each posting; read as {[p.amount for p in drafts[0].postings]} fen")


# -- variants of the class (ATTACK14 V11's fix): a key given twice, at any depth, is refused ------

@pytest.mark.parametrize(("doc", "key", "path"), [
    ('{"a": 1, "a": 2}', "a", "$"),
    ('{"postings": [{"x": 1}, {"account": "1101", "account": "2001"}]}', "account", "$.postings[1]"),
    ('[[{"k": {"deep": 1, "deep": 1}}]]', "deep", "$[0][0].k"),
    ('{"金额": "1.00", "金额": "9.00"}', "金额", "$"),
    ('{"a b": {"c": 1, "c": 2}}', "c", '$["a b"]'),
], ids=["top", "in-a-list", "deep-same-value", "chinese-key", "odd-key"])
def test_v11_a_repeated_key_is_refused_naming_key_and_path(doc: str, key: str, path: str) -> None:
    with pytest.raises(BadInput) as e:
        parse_json(doc, "f.json")
    text = str(e.value)
    assert "f.json" in text and f'"{key}"' in text and path in text


def test_v11_distinct_keys_and_same_keys_in_sibling_objects_still_read() -> None:
    assert parse_json('[{"a": 1}, {"a": 2}, {"b": {"a": 3}}]', "f.json") == [{"a": 1}, {"a": 2}, {"b": {"a": 3}}]


def test_v11_read_json_refuses_a_file_with_a_repeated_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ledger.io.infile import read_json

    f = tmp_path / "entry.json"
    f.write_text(DOC, encoding="utf-8")
    with pytest.raises(BadInput, match="amount"):
        read_json(f)
