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
