"""ATTACK13 W5's class: the verdict's fast reader of an entry's import batch (``rules._batch_of``)
returns exactly what a JSON parse of the top level returns, over texts as jsonb prints them
(keys shortest first, ", " and ": ") with ``import_batch`` nested, escaped, repeated in strings,
as a number or a string, or absent."""

from __future__ import annotations

import json
import random
from typing import Any

from ledger.core.rules import _batch_of, _source

KEYS = ["a", "x", "row", "file", "import_batch", "import_batches", 'q"import_batch', "import_batch\\"]


def _jsonb(v: Any) -> str:
    """``v`` printed as PostgreSQL prints a jsonb: an object's keys by length, then bytes."""
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_jsonb(v[k])}" for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_jsonb(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def _value(rnd: random.Random, depth: int) -> Any:
    pick = rnd.randrange(7 if depth < 3 else 4)
    if pick == 0:
        return rnd.randrange(0, 10 ** rnd.randrange(1, 12))
    if pick == 1:
        return rnd.choice(['"import_batch": 5', "12", "", "{[", "a\\b", -3])
    if pick == 2:
        return rnd.choice([None, True, 1.5])
    if pick == 3:
        return str(rnd.randrange(100))
    if pick in (4, 5):
        return {rnd.choice(KEYS): _value(rnd, depth + 1) for _ in range(rnd.randrange(4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randrange(3))]


def test_the_fast_batch_read_is_the_top_level_key_a_parse_reads() -> None:
    rnd = random.Random(20261206)
    for _ in range(20000):
        top = {rnd.choice(KEYS): _value(rnd, 1) for _ in range(rnd.randrange(5))}
        text = _jsonb(top)
        want = _source(text).get("import_batch")
        assert _batch_of(text) == ("" if want is None else str(want)), text


def test_the_forms_an_import_writes_are_read_without_a_parse_and_right() -> None:
    assert _batch_of('{"row": 3, "file": "c.csv", "import_batch": 12}') == "12"
    assert _batch_of('{"import_batch": 7, "reference": "A-1"}') == "7"
    assert _batch_of('{"held": {"import_batch": 7}}') == ""
    assert _batch_of(None) == "" and _batch_of("") == ""
