"""A workbook's text as Excel shows it, and as Excel must be given it (ATTACK19 J7).

In a workbook's strings (ECMA-376 Part 1, 22.9.2.19 ST_Xstring) ``_xHHHH_`` stands for the
character U+HHHH: Excel writes a carriage return as ``_x000D_`` and shows ``P-_x0031_`` as ``P-1``;
a literal ``_xHHHH_`` is written with its underscore escaped, ``_x005F_xHHHH_``. openpyxl reads
shared strings with only ``x005F_`` removed and inline strings as written, and writes any text as
it is — so what an import took and what a report wrote were not what a person sees in Excel.
"""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_STARTS_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def shown(stored: str) -> str:
    """The text Excel shows for a string as the workbook stores it: each ``_xHHHH_`` decoded,
    left to right; a surrogate pair (two escapes) is one character, a lone surrogate U+FFFD."""
    if "_x" not in stored:
        return stored
    text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), stored)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def stored(text: str) -> str:
    """The string to store for Excel to show ``text``: every underscore that would begin an
    escape is itself escaped (``_x005F_``); ``shown(stored(t)) == t``."""
    return _STARTS_ESCAPE.sub("_x005F_", text) if "_x" in text else text
