"""JSON texts parsed for the verdict: by orjson where its value is the standard parser's,
by the standard parser everywhere else — the same Python value either way.

The independent verdict parses ~11 texts per entry (the history's held entries, the
actors check's versions, the rules' sources): ``json.loads`` was about a third of the
parent process's time (docs/benchmarks.md, 5b). orjson parses the same texts to equal
values in half the time, except where it differs, and those are sent to ``json.loads``:

* a text orjson refuses (a number past any float such as ``1e400``, NaN, a lone
  surrogate, nesting past its depth): the standard parser gives what it always gave
  (``inf``, ``nan``, the surrogate, RecursionError — ATTACK10 X14 names the last as a
  ledger it cannot judge);
* a value holding a float anywhere: orjson reads an integer past 18 446 744 073 709 551 615
  as a float where the standard parser keeps the exact integer, so a parsed value with a
  float in it is parsed again by the standard parser (the ledger's texts hold none: money
  is integer fen). Looking is a walk of the parsed containers, cheaper than any scan of
  the text.

``tests/unit/test_jsonfast.py`` holds the cases and compares both on the ledger's texts.
"""

from __future__ import annotations

import json
from typing import Any

_orjson: Any
try:
    import orjson as _orjson
except ImportError:         # pragma: no cover - a dependency; the standard parser alone is correct too
    _orjson = None


def _has_float(v: Any) -> bool:
    """Does the parsed container ``v`` hold a float, at any depth?"""
    kinds = set(map(type, v.values() if type(v) is dict else v))
    if float in kinds:
        return True
    if dict in kinds or list in kinds:
        return any(_has_float(x) for x in (v.values() if type(v) is dict else v) if type(x) in (dict, list))
    return False


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``: the same value, or the same exception."""
    return loads_floatless(text)[0]


def loads_floatless(text: str | bytes) -> tuple[Any, bool]:
    """``loads(text)`` and whether the value is known to hold no float at any depth (parsed
    by orjson, and the walk found none): what ``canonical`` needs, so that it does not walk
    the value again."""
    if _orjson is not None:
        try:
            v = _orjson.loads(text)
        except _orjson.JSONDecodeError:
            return json.loads(text), False
        t = type(v)
        if t is not float and not ((t is dict or t is list) and _has_float(v)):
            return v, True
    return json.loads(text), False


_NUMERIC = b"0123456789-,"


def int_list(text: bytes) -> list[int]:
    """``list(map(int, text.split(b",")))`` — the same list, or the same exception — for a
    comma-separated list of integers as PostgreSQL prints them (the grouped postings'
    amounts: ``proof.Proof.grouped``). orjson parses the list as one JSON array in C, ~4×
    faster than an ``int`` call per value; it is used only where its answer is ``int``'s: the
    text holds nothing but digits, ``-`` and commas, orjson accepts it as an array (so each
    value is ``-?(0|[1-9][0-9]*)``: no empty, doubled or leading-zero value, no sign alone)
    and every value came back an ``int`` (orjson reads a value past 64 bits as a float, and
    a sum with a float in it is a float). Anything else goes to ``int``."""
    if _orjson is not None and text and not text.translate(None, _NUMERIC):
        try:
            v = _orjson.loads(b"[" + text + b"]")
        except _orjson.JSONDecodeError:
            pass
        else:
            if type(sum(v)) is int:
                return v  # type: ignore[no-any-return]
    return list(map(int, text.split(b",")))


def canonical(v: dict[str, Any], floatless: bool = False) -> bytes | None:
    """A JSON object's one text, keys sorted (orjson), for a digest that two objects share
    only when they hold equal values; None where that text would not tell values apart or
    cannot be made — a float anywhere (orjson prints NaN and the infinities as ``null``), an
    integer past 64 bits or a lone surrogate (orjson refuses them) — for the caller's own
    slower way. ``floatless``: the caller knows (``loads_floatless``) and the walk is skipped.
    ~1 µs for a held entry's row, against ~10 for ``repr`` of its sorted items."""
    if _orjson is None or (not floatless and _has_float(v)):
        return None
    try:
        return bytes(_orjson.dumps(v, option=_orjson.OPT_SORT_KEYS))
    except (TypeError, _orjson.JSONEncodeError):
        return None
