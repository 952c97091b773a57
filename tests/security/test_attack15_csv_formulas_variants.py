"""ATTACK15 A2, the class: every CSV import, every start Excel runs, both CSV paths.

A CSV cell that starts with ``=`` or ``@`` is a formula to Excel and WPS, and a free-text cell
(reference, provider, note, reason) that starts with ``+`` or ``-`` a formula or a signed number:
what the filed file shows is not the cell's text. The reader refuses such a row by file, row and
column (``ledger.io.tables.csv_formula_problem``); the plain COPY path (``ledger.io.plain``) sends
any file with such a start to the reader. What must stay importable: a reference with a hyphen
inside it, and a negative amount keeps its own refusal (a sign is an amount's, not a formula's).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ledger.io import plain
from ledger.io.formats import COLLECTIONS, OPENING, PAYMENTS
from ledger.io.tables import csv_formula_problem
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


@pytest.mark.parametrize(("fmt", "cells", "column"), [
    (PAYMENTS, ("2024-03-27", "230881", "RES", "某某医院", "inpatient", "800.00", '="V15-1"'), "reference"),
    (PAYMENTS, ("2024-03-27", "230881", "RES", "@SUM(A1)", "inpatient", "800.00", "V15-1"), "provider"),
    (PAYMENTS, ("2024-03-27", "230881", "RES", "+某某医院", "inpatient", "800.00", "V15-1"), "provider"),
    (PAYMENTS, ("2024-03-27", "230881", "RES", "某某医院", "inpatient", "800.00", "-0012"), "reference"),
    (PAYMENTS, ("2024-03-27", "=230881", "RES", "某某医院", "inpatient", "800.00", "V15-1"), "unit"),
    (COLLECTIONS, ("2024-03-01", "230881", "RES", "individual", "=1+1", "C-1"), "amount"),
    (COLLECTIONS, ("2024-03-01", "230881", "RES", "individual", "100.00", "+86-1"), "reference"),
    (OPENING, ("230881", "RES", "cash", "100.00", "O-1", "-补记"), "note"),
])
def test_every_start_excel_runs_is_named_by_its_column(fmt, cells: tuple[str, ...], column: str) -> None:
    cells = (*cells, *("",) * (len(fmt.columns) - len(cells)))
    found = csv_formula_problem(cells, fmt.columns)
    assert found is not None and found[0] == column, found
    assert cells[fmt.columns.index(column)] in found[1]


@pytest.mark.parametrize("cells", [
    ("2024-03-27", "230881", "RES", "某某医院（东院）", "inpatient", "800.00", "V15-1"),   # a hyphen inside
    ("2024-03-27", "230881", "RES", "某某医院", "inpatient", "-800.00", "V15-1"),           # the amount's own rule
    ("2024-03-27", "230881", "RES", "A=B 医院", "inpatient", "800.00", "V=15"),             # = inside, not first
])
def test_what_excel_shows_as_typed_is_not_a_formula(cells: tuple[str, ...]) -> None:
    assert csv_formula_problem((*cells, "", ""), PAYMENTS.columns) is None


@pytest.mark.parametrize("body", [b"2024-03-27,230881,RES,x,inpatient,800.00,=0012\n",
                                  b"=2024-03-27,230881,RES,x,inpatient,800.00,V1\n",
                                  b"2024-03-27,230881,RES,@x,inpatient,800.00,V1\r\n",
                                  b"2024-03-27,230881,RES,x,inpatient,800.00,V1\n2024-03-27,230881,RES,+x,inpatient,1.00,V2\n"])
def test_the_plain_path_sends_such_a_file_to_the_reader(body: bytes) -> None:
    with pytest.raises(plain.NotPlain):
        list(plain.blocks(io.BytesIO(body)))


def test_an_ordinary_file_stays_plain() -> None:
    body = b"2024-03-27,230881,RES,x-1,inpatient,800.00,V15-1\n2024-03-28,230881,RES,y,inpatient,1.00,A=B\n"
    assert b"".join(plain.blocks(io.BytesIO(body))) == body.rstrip(b"\n")


@pytest.mark.db
def test_a_collections_file_with_a_formula_is_refused_whole_and_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Every import kind (here collections, imported by the city finance officer): nothing written,
    the file, row and column named, in Chinese by default."""
    f = tmp_path / "col.csv"
    f.write_text("date,unit,book,source,amount,reference\n"
                 "2024-03-01,230881,RES,individual,100.00,C-ok\n"
                 '2024-03-01,230881,RES,individual,100.00,"=""C-1"""\n', "utf-8")
    before = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]  # type: ignore[index]
    r = ledger_db.cli("collect", "import", str(f), user="fin", env={"FUNDLEDGER_LANG": ""})
    assert r.exit_code != 0
    said = r.stdout + r.stderr
    assert "col.csv" in said and "第 3 行" in said and "reference" in said, r
    assert "公式" in said and "formula" not in said, r
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == before  # type: ignore[index]


@pytest.mark.db
def test_a_payments_file_with_hyphens_inside_still_imports(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("a15v-col", "2024-03-01", "230881", "100000.00"),
         entry("a15v-top", "2024-03-02", "RES", leg("1004", "230881", "D", "100000.00", "county_exp"),
               leg("1003", "230881", "C", "100000.00", "special")))
    f = tmp_path / "claims.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院-东院,inpatient,800.00,V15-1,,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert r.exit_code == 0, r
    assert r.json(), r
