"""ATTACK10 X5: claim references as Excel writes long numbers are taken as they are.

Claim numbers (业务编号/单据号) are long digit strings: 18-20 digits in the hospital systems' exports.
Excel keeps 15 significant digits of a number and, saving a CSV in the General format, writes a
long number in scientific form: every claim 2024030001234xxxx of a month becomes ``2.02403E+16``.
fundledger accepts both forms as references: an XLSX numeric cell is printed as the float's digits
(``20240300012345680`` for 20240300012345678 — another claim's number), a CSV cell ``2.02403E+16``
is a reference. Two claims then share a reference: within one file it is refused as "used twice",
but across files (the month's second file, or the county's CSV against the bureau's XLSX of the
same claim) the second claim of equal content is *skipped as already paid* (never paid, quietly),
and the same claim under two spellings (``2.02403E+16`` / ``20240300012345678``) is paid twice with
no verdict able to tell (claims_once compares references).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack9_claims import PAY

pytestmark = pytest.mark.db


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("x5-col", "2024-03-01", "230881", "1000000.00"),
         entry("x5-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    return ledger_db


def _posted(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.import_line WHERE namespace = 'payments:230881'"
                                  ).fetchone()["n"])  # type: ignore[index]


def test_x5_a_csv_reference_in_excels_scientific_form_is_refused(funded: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "march.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,outpatient,35.00,2.02403E+16,,county\n", "utf-8")
    r = funded.cli("pay", "import", str(f), "--json", user="o81")
    assert r.exit_code == 1 and _posted(funded) == 0, (
        f"reference '2.02403E+16' (a claim number Excel shortened) imported: exit {r.exit_code} {r.stdout[-300:]}")


def test_x5_an_xlsx_numeric_reference_beyond_15_digits_is_refused(funded: LedgerDB, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    ws.append(["2024-03-27", "230881", "RES", "某某医院", "outpatient", 35.00, 20240300012345678, None, "county"])
    f = tmp_path / "march.xlsx"
    wb.save(f)
    r = funded.cli("pay", "import", str(f), "--json", user="o81")
    refs = [x["reference"] for x in funded.admin().execute(
        "SELECT reference FROM fl.import_line WHERE namespace = 'payments:230881'").fetchall()]
    assert r.exit_code == 1 and refs == [], (
        f"the numeric claim number 20240300012345678 was imported as reference {refs}: a number Excel cannot hold "
        "(more than 15 significant digits) became another claim's number")


# ---- fix10c: variants --------------------------------------------------------------------------

from ledger.errors import BadFile  # noqa: E402
from ledger.io import FORMATS, open_table  # noqa: E402

REF_KINDS = sorted(k for k, f in FORMATS.items() if "reference" in f.columns)


def _row(kind: str, ref: object) -> list[object]:
    """One row of ``kind`` with every column filled plausibly and ``ref`` as its reference."""
    sample = {"date": "2024-03-27", "unit": "230881", "book": "RES", "provider": "某某医院", "category": "outpatient",
              "amount": "35.00", "source": "同江市税务局", "item": "1003", "direction": "in", "note": "",
              "component": "", "paid_from": "county", "balance": ""}
    return [ref if c == "reference" else sample.get(c, "") for c in FORMATS[kind].columns]


def test_x5_every_kind_with_a_reference_column_is_covered() -> None:
    assert REF_KINDS == ["collections", "opening", "payments", "statement"]


@pytest.mark.parametrize("kind", REF_KINDS)
@pytest.mark.parametrize("ref", ["2.02403E+16", "2.02403e+16", "1E+19", "2.0240300012346E+19"])
def test_x5_the_reader_refuses_scientific_references_of_every_kind_in_csv(tmp_path: Path, kind: str,
                                                                          ref: str) -> None:
    """A CSV of any kind with a reference column: row, column and what to do (format as Text)."""
    f = tmp_path / f"{kind}.csv"
    cols = FORMATS[kind].columns
    f.write_text(",".join(cols) + "\n" + ",".join(map(str, _row(kind, "OK-1"))) + "\n"
                 + ",".join(map(str, _row(kind, ref))) + "\n", "utf-8")
    with pytest.raises(BadFile) as e, open_table(f, FORMATS[kind]) as t:
        list(t.rows())
    [err] = e.value.errors
    assert (err.row, err.column) == (3, "reference") and ref in err.reason and "Text (文本)" in err.reason, err


@pytest.mark.parametrize("kind", REF_KINDS)
@pytest.mark.parametrize("ref", [20240300012345678, 2.02403000123457e16, 1e15, 12.5])
def test_x5_the_reader_refuses_numeric_references_excel_cannot_hold_in_xlsx(tmp_path: Path, kind: str,
                                                                            ref: object) -> None:
    """An XLSX number cell of 16+ digits (what Excel stores is rounded to 15 significant digits,
    so its trailing digits are not the claim's) or with a fraction, whatever its kind."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(FORMATS[kind].columns))
    ws.append(_row(kind, ref))
    f = tmp_path / f"{kind}.xlsx"
    wb.save(f)
    with pytest.raises(BadFile) as e, open_table(f, FORMATS[kind]) as t:
        list(t.rows())
    [err] = e.value.errors
    assert (err.row, err.column) == (2, "reference") and "15 digits" in err.reason and "文本" in err.reason, err


@pytest.mark.parametrize("ref", ["12345", "999999999999999", "0012345", "20240300012345678", "2.02403E+16 ", "E+16",
                                 "ZS-1E+5", "1E5"])
def test_x5_references_excel_holds_exactly_are_read_as_before(tmp_path: Path, ref: object) -> None:
    """A text cell of any length (the advice works) and text that only resembles the form are
    references as before. (A number cell of at most 15 digits was too, until ATTACK11 Y6: a
    reference cell is text, tests/security/test_attack11_excel_short_refs.py.)"""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(FORMATS["payments"].columns))
    ws.append(_row("payments", ref))
    f = tmp_path / "p.xlsx"
    wb.save(f)
    if isinstance(ref, str) and ref.strip() == "2.02403E+16":
        with pytest.raises(BadFile), open_table(f, FORMATS["payments"]) as t:   # a text cell in the form too
            list(t.rows())
        return
    with open_table(f, FORMATS["payments"]) as t:
        [(_, cells)] = list(t.rows())
    assert cells[FORMATS["payments"].columns.index("reference")] == str(ref)


def test_x5_the_refusal_is_chinese_first_and_names_file_row_and_column(funded: LedgerDB, tmp_path: Path) -> None:
    """Through the CLI in Chinese: the file, the row, the column and what to do (文本)."""
    f = tmp_path / "march.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,outpatient,35.00,X5-OK,,county\n"
                 f"2024-03-27,230881,RES,某某医院,outpatient,36.00,2.02403E+16,,county\n", "utf-8")
    r = funded.cli("--lang", "zh", "pay", "import", str(f), user="o81")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "march.csv" in text and "3" in text and "科学计数法" in text and "文本" in text, r
    assert "Traceback" not in r.stderr and _posted(funded) == 0


def test_x5_a_collections_file_not_plain_is_refused_by_the_reader_too(funded: LedgerDB, tmp_path: Path) -> None:
    """A file the fast path does not take (an extra column): the precise reader refuses it alike."""
    f = tmp_path / "col.csv"
    f.write_text("date,unit,book,source,amount,reference,备注x\n"
                 "2024-03-05,230881,RES,同江市税务局,100.00,2.02403E+16,x\n", "utf-8")
    r = funded.cli("collect", "import", str(f), "--json", user="fin")
    assert r.exit_code == 1 and "2.02403E+16" in (r.stdout + r.stderr), r
    assert funded.admin().execute("SELECT count(*) AS n FROM fl.import_line WHERE reference LIKE '%%E+%%'"
                                  ).fetchone()["n"] == 0  # type: ignore[index]
