"""Reading import files (CSV, XLSX): structure only, streamed, strict. See ``ledger.io.tables``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.io.formats import BUDGET, COLLECTIONS, FORMATS, OPENING, PAYMENTS, STATEMENT, FileFormat
    from ledger.io.tables import MAX_CELL_CHARS, MAX_ERRORS, TableReader, open_table

# Loaded on first use: ``from ledger.io import infile`` (a read command reading its JSON
# argument) does not pay for the table readers and their formats.
_LAZY = {**dict.fromkeys(("BUDGET", "COLLECTIONS", "FORMATS", "OPENING", "PAYMENTS", "STATEMENT", "FileFormat"),
                         "ledger.io.formats"),
         **dict.fromkeys(("MAX_CELL_CHARS", "MAX_ERRORS", "TableReader", "open_table"), "ledger.io.tables")}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "BUDGET",
    "COLLECTIONS",
    "FORMATS",
    "MAX_CELL_CHARS",
    "MAX_ERRORS",
    "OPENING",
    "PAYMENTS",
    "STATEMENT",
    "FileFormat",
    "TableReader",
    "open_table",
]
