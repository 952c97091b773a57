"""Is a CSV file *plain*: can its bytes go unparsed into PostgreSQL's ``COPY … (FORMAT csv)``
and yield exactly the cells and row numbers the strict reader (``ledger.io.tables``) yields?

A 1,000,000-line file costs the reader ~3 s of Python (a csv parse, a strip and an
escape per cell); COPY parses the same bytes in ~0.7 s. The two agree when:

* no backslash anywhere (before PostgreSQL 18 a line ``\\.`` ends COPY's data: ATTACK15b B5);
* no ``"`` anywhere: no quoted cell, so no cell holding a comma or a line break, and
  one line is one row (row numbers = line numbers);
* no cell starts or ends with whitespace (the reader strips every cell; COPY keeps it),
  and no NUL or tab-like control byte at all;
* no cell starts with ``=``, ``@``, ``+`` or ``-`` (what Excel may run as a formula: the
  reader judges it by column, ATTACK15 A2);
* no blank line, and no row with too few or too many cells — COPY refuses those
  (``missing data`` / ``extra data``), so they need no check here; nor do bytes that are
  not UTF-8, which COPY refuses too.

Trailing line breaks at the end of the file are dropped (the reader skips blank rows,
and there they shift no row number). Anything else makes the file not plain and it goes
through the reader, which reports every problem by row and column. Cells longer than
``MAX_CELL_CHARS`` are caught by the server's own checks, which then send the file the
same way. The scan is a few byte searches per block (``bytes.__contains__`` runs at
memory speed): ~0.1 s for a million lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

BLOCK = 1 << 20

# What str.strip() removes (str.isspace), as UTF-8. \n and \r end lines; the others must
# not touch a cell's edge (next to a comma or a line end).
_SPACES = tuple(chr(c).encode() for c in range(0x10000) if chr(c).isspace() and chr(c) not in "\n\r")
# A backslash (ATTACK15b B5): PostgreSQL before 18 ends CSV COPY data at a line holding only ``\.``
# and discards the rest of the stream — rows silently not imported. The reader gives a backslash
# no meaning, so a file holding one goes to it.
_NEVER = (b'"', b"\x00", b"\\")
# A cell that starts with what Excel may run as a formula (ATTACK15 A2: =, @, and + or - in a free-text
# column; the reader judges which column): such a file goes to the reader.
_STARTS = tuple(e + c for e in (b",", b"\n", b"\r") for c in (b"=", b"@", b"+", b"-"))
_EDGES = (b",", b"\n", b"\r")


class NotPlain(Exception):
    """The file needs the strict reader."""


def header_ok(line: bytes) -> bool:
    """The header line, which the reader has already checked, is one line without quotes."""
    return line.endswith(b"\n") and b'"' not in line


def _check(window: bytes) -> None:
    """Refuse a window of the body (a block with the previous block's last bytes)."""
    for b in _NEVER:
        if b in window:
            raise NotPlain
    for b in _STARTS:
        if b in window:
            raise NotPlain
    for s in _SPACES:
        if s[:1] in window and s in window:  # the lead byte first: one memchr, usually absent
            for e in _EDGES:
                if s + e in window or e + s in window:
                    raise NotPlain


def blocks(fh: IO[bytes]) -> Iterator[bytes]:
    """The rest of ``fh`` (after the header line) in blocks of about ``BLOCK`` bytes, each
    checked; raises ``NotPlain`` at the first block that is not. The body's first cell is
    checked as if after a line break, its last as if before one."""
    tail = b"\n"  # the last bytes seen, so a pattern across two blocks is still found
    pending = b""  # line breaks held back: written only if more data follows
    while block := fh.read(BLOCK):
        _check(tail + block)
        tail = block[-4:]
        body = block.rstrip(b"\r\n")
        if body:
            yield pending + body
            pending = block[len(body):]
        else:
            pending += block
    _check(tail + b"\n")
