"""The fast path of imports (ledger/io/plain.py): a plain CSV file's bytes go straight to
COPY. It must stage exactly what the strict reader stages (same cells, same row
numbers), or decline and leave the file to the reader. Whatever the path, a file with
problems is reported by row and column (tests/integration/test_imports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import BadFile
from ledger.io.formats import PAYMENTS
from ledger.store import imports

pytestmark = pytest.mark.db

HEADER = "date,unit,book,provider,category,amount,reference"
ROWS = ["2023-02-03,230822,RES,定点医院 A,inpatient,1200.00,P-1",
        "2023-02-03,230822,RES,Pharmacy,pharmacy,12.5,P-2"]


def staged(conn) -> list[tuple]:
    """The stage's rows (fl.import_stage grants its caller SELECT on it)."""
    return [tuple(r.values()) for r in conn.execute("SELECT * FROM pg_temp.fl_stage_payments ORDER BY row_no").fetchall()]


def both(db, path: Path) -> tuple[list[tuple] | None, list[tuple] | None]:
    """What (the fast path, the reader) staged; None when it declined or refused."""
    c = db.connect("rev")
    c.execute("SELECT 1")  # the caller's transaction (the stage is dropped at commit)
    fast = None
    if imports.stage_plain(c, path, PAYMENTS, "payments") is not None:
        fast = staged(c)
    try:
        imports.stage(c, path, PAYMENTS, "payments")      # a fresh stage: the first one is dropped
        slow = staged(c)
    except BadFile:
        slow = None
    c.rollback()
    return fast, slow


@pytest.mark.parametrize("text", [
    "\n".join([HEADER, *ROWS]) + "\n",
    "\n".join([HEADER, *ROWS]),                                   # no final line break
    "\r\n".join([HEADER, *ROWS]) + "\r\n\r\n\r\n",                # CRLF, blank lines at the end
    "\ufeff" + "\n".join(["Reference,AMOUNT,category,provider,book,unit,date,paid_from",
                          "P-1,1200.00,inpatient,A B,RES,230822,2023-02-03,city"]) + "\n",
    "\n".join([HEADER, "2023-02-03,230822,RES,,inpatient,,P-1"]) + "\n",   # empty cells are ''
])
def test_plain_files_stage_exactly_as_the_reader(ledger_db, tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode())
    fast, slow = both(ledger_db, path)
    assert fast is not None and fast == slow


@pytest.mark.parametrize("rows", [
    ['2023-02-03,230822,RES,"A, B",inpatient,1200.00,P-1'],   # a quoted cell
    ["2023-02-03,230822,RES, A,inpatient,1200.00,P-1"],       # a cell the reader strips
    ["2023-02-03,230822,RES,A\u3000,inpatient,1200.00,P-1"],  # an ideographic space at the edge
    ["2023-02-03,230822,RES,A,inpatient,1200.00,P-1 "],       # trailing space, last cell
    [ROWS[0], "", ROWS[1]],                                   # a blank line shifts row numbers
    [ROWS[0], "2023-02-03,230822,RES,A,inpatient,1.00"],      # a cell missing
    [ROWS[0], ",,,,,,"],                                      # a row of empty cells
    ["2023-02-03,230822,RES," + "x" * 1001 + ",inpatient,1.00,P-9"],   # too long a cell
])
def test_other_files_are_left_to_the_reader(ledger_db, tmp_path: Path, rows: list[str]) -> None:
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    fast, slow = both(ledger_db, path)
    if rows[-1] == ",,,,,,":
        # Staged as is (the reader skips it): the import's checks refuse the row, and the
        # file is then staged again by the reader (next test).
        assert fast is not None and slow is not None and len(fast) == len(slow) + 1
    else:
        assert fast is None


def test_a_refused_plain_file_is_reported_by_the_reader(ledger_db, tmp_path: Path) -> None:
    """The blank-cells row is skipped by the reader: the file imports (the fast attempt,
    which saw a row of empty cells, was rolled back)."""
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, "2023-02-03,230822,RES,A,inpatient,1.00,P-1", ",,,,,,"]) + "\n",
                    encoding="utf-8")
    c = ledger_db.connect("o22")   # the county's officer: its own rows post at once (0060)
    c.execute("SELECT 1")
    with pytest.raises(Exception) as ei:  # the expenditure account holds nothing: overdraft
        imports.import_file(c, "payments", path)
    assert "overdrawn" in str(ei.value)
