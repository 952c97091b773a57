"""Huge garbage files for the reader's bounded-memory tests, written in 1 MiB chunks.

``write_garbage(path, size_bytes, seed)`` writes exactly ``size_bytes`` (the last chunk is
cut short, mid-row and mid-character) and is deterministic for a given seed. ``kind``:

- ``"bytes"`` (default): uniformly random bytes (the reader must refuse it while sniffing);
- ``"text"``: a valid payments header, then random ASCII with commas, quotes and line
  breaks (every row is wrong: the reader stops at its error cap);
- ``"line"``: a valid payments header, then one endless line with no line break (the
  reader must stop at its line cap instead of reading 1 GB into memory);
- ``"quote"``: a valid header, a row that opens a quote, then endless short lines with no
  quote (the quoted cell would grow forever: the reader's row cap must stop it).

The slow test writes 1 GB of each; the quick tests a few MB.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

Kind = Literal["bytes", "text", "line", "quote"]
HEADER = b"date,unit,book,provider,category,amount,reference\r\n"
CHUNK = 1 << 20


def _table(alphabet: bytes) -> bytes:
    """A ``bytes.translate`` table mapping every byte value into ``alphabet``."""
    return bytes(alphabet[i % len(alphabet)] for i in range(256))


_TEXT = _table(b'abcdefghijklmnopqrstuvwxyz0123456789,,,,"  .-\n\n')
_LINE = _table(b"abcdefghijklmnopqrstuvwxyz0123456789,,,,  .-")
_QUOTED = _table(b"abcdefghijklmnopqrstuvwxyz0123456789,,  .-\n")


def write_garbage(path: Path | str, size_bytes: int, seed: int, kind: Kind = "bytes") -> Path:
    """Write ``size_bytes`` of ``kind`` garbage to ``path`` and return the path."""
    rnd = random.Random(seed)
    table = {"bytes": None, "text": _TEXT, "line": _LINE, "quote": _QUOTED}[kind]
    prefix = b"" if kind == "bytes" else HEADER + (b'2023-01-01,230881,RES,"' if kind == "quote" else b"")
    path = Path(path)
    with open(path, "wb") as out:
        left = size_bytes
        head = prefix[:left]
        out.write(head)
        left -= len(head)
        while left > 0:
            n = min(CHUNK, left)
            chunk = rnd.randbytes(n)
            out.write(chunk if table is None else chunk.translate(table))
            left -= n
    return path
