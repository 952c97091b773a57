"""Reading import files (CSV, XLSX): structure only, streamed, strict. See ``ledger.io.tables``."""

from ledger.io.formats import BUDGET, COLLECTIONS, FORMATS, OPENING, PAYMENTS, STATEMENT, FileFormat
from ledger.io.tables import MAX_CELL_CHARS, MAX_ERRORS, TableReader, open_table

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
