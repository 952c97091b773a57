"""ATTACK15 (b): a CSV cell Excel runs as a formula is imported as its formula text.

The XLSX reader refuses a formula cell ("formula in cell; paste values only", ledger/io/tables.py),
because what a person sees in the filed workbook is the formula's *result*, not its text. A CSV
cell has no type: Excel (and WPS) evaluate every cell that starts with ``=`` when they open a
CSV — ``="V15-1"`` is the well-known way to keep leading zeros in a CSV, and it is shown as
``V15-1``; ``=0012`` is shown as ``12``; ``=HYPERLINK("http://…","某某医院")`` as 某某医院. The
CSV reader takes each of those as printable ASCII (the reference repertoire of 0098 allows
``=`` and ``"``), so the county's officer imports claim ``="V15-1"``: the filed file shows the
bureau's claim ``V15-1`` (already paid) while the ledger records — and pays — another reference.
The same row in an XLSX is refused.

Fixed when a CSV text cell the readers would call a formula in an XLSX (starting with ``=``, and
the other starts Excel evaluates: ``+``, ``-``, ``@`` in a reference/provider column) is refused
by row and column with what to do, as the XLSX reader refuses a formula.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _money(db: LedgerDB) -> None:
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("a15-col", "2024-03-01", "230881", "100000.00"),
         entry("a15-top", "2024-03-02", "RES", leg("1004", "230881", "D", "100000.00", "county_exp"),
               leg("1003", "230881", "C", "100000.00", "special")))


def _refs(db: LedgerDB) -> list[str]:
    return [r["line_ref"] for r in db.admin().execute(
        "SELECT p.line_ref FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id WHERE e.kind = 'payments' "
        "ORDER BY p.id").fetchall() if r["line_ref"]]


@pytest.mark.parametrize(("reference", "provider", "shown"), [
    ('="V15-1"', "某某医院", "V15-1"),            # the text-forcing formula: Excel shows V15-1
    ("=0012", "某某医院", "12"),                  # no quote at all: the plain (COPY) path
    ("V15-2", '=HYPERLINK("http://x.example/","某某医院")', "某某医院"),
])
def test_a15_a_csv_formula_cell_is_refused_like_an_xlsx_formula(ledger_db: LedgerDB, tmp_path: Path,
                                                                reference: str, provider: str, shown: str) -> None:
    _money(ledger_db)
    f = tmp_path / "claims.csv"
    cells = ["2024-03-27", "230881", "RES", provider, "inpatient", "800.00", reference, "", "county"]
    quoted = ['"' + c.replace('"', '""') + '"' if ('"' in c or "," in c) and c.startswith("=HYPER") else c for c in cells]
    f.write_text(f"{PAY}\n{','.join(quoted)}\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert r.exit_code != 0, (
        f"a CSV cell Excel shows as {shown!r} was imported as its formula text: references {_refs(ledger_db)} "
        f"(the same cell in an XLSX is refused as a formula)")
    assert _refs(ledger_db) == []
