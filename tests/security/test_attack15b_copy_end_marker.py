"""ATTACK15b B5: the plain COPY path (A2's "other path") ends a file at a line ``\\.``: on PostgreSQL
15 the rows after it are silently not imported — an import is no longer all or nothing.

``ledger.io.plain`` sends a CSV's bytes unparsed to ``COPY … FROM STDIN (FORMAT csv)`` when the file is
*plain* (no ``"``, no NUL, no edge spaces, and since be08164 no cell starting = @ + -). A backslash is
not looked at. PostgreSQL before 18 takes a line holding only ``\\.`` as the end of the copy's data and
discards everything after it. So a payments (or collections) file whose body holds that line is
imported as far as the line: ``pay import`` says ``rows_total 2, rows_posted 2`` for a file of three
claims, exit 0, the batch records the *whole* file's sha256 — the register says the file was imported,
its last rows never were, nothing tells the officer (re-importing skips the rows already in and stops
at the same line). The strict reader refuses that line (one cell, too few). Measured on the
PostgreSQL 15 at 127.0.0.1:5432 (CI's and the deployment guide's oldest supported server); PostgreSQL
18 (the embedded test server) refuses the copy and the reader takes over.

Fixed when a plain file holding a line ``\\.`` (or any backslash) goes to the reader.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ledger.io import plain
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

PAY = "date,unit,book,provider,category,amount,reference"
ROWS = [f"2024-03-27,230881,RES,H,inpatient,10.00,B5-{i}" for i in range(1, 4)]
BODY = "\n".join([*ROWS[:2], "\\.", ROWS[2]]) + "\n"


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_b5_the_plain_scan_sends_an_end_of_copy_line_to_the_reader(eol: str) -> None:
    data = BODY.replace("\n", eol).encode()
    with pytest.raises(plain.NotPlain):
        list(plain.blocks(io.BytesIO(data)))


@pytest.mark.db
@pytest.mark.server   # the server run: PostgreSQL 15 is where COPY ends at the line
def test_b5_a_file_with_an_end_of_copy_line_is_imported_whole_or_not_at_all(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Fails on PostgreSQL 15 (FUNDLEDGER_TEST_DATABASE_URL=…127.0.0.1:5432…): 2 of 3 rows posted."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("b5-col", "2024-03-01", "230881", "100000.00"),
         entry("b5-top", "2024-03-02", "RES", leg("1004", "230881", "D", "100000.00", "county_exp"),
               leg("1003", "230881", "C", "100000.00", "special")))
    f = tmp_path / "claims.csv"
    f.write_text(PAY + "\n" + BODY, "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    if r.exit_code != 0:
        return                                                          # refused whole: fine
    done = r.json()
    assert done["rows_total"] == 3 and done["rows_posted"] == 3, (
        f"a file of 3 claims was imported as {done['rows_total']} rows ({done['rows_posted']} posted), exit 0: "
        "the rows after the line '\\.' were dropped by COPY and nobody was told")
