"""The import reader (``ledger.io``): structure refused with file, row and rule; good rows streamed exactly.

No database. The corpus lives in ``tests/reliability/corpus`` (see its README); garbage
generators in ``tests/reliability/garbage.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from ledger.errors import BadFile
from ledger.io import (
    COLLECTIONS,
    FORMATS,
    MAX_ERRORS,
    OPENING,
    PAYMENTS,
    STATEMENT,
    FileFormat,
    open_table,
)
from ledger.io.tables import column_letter, csv_formula_problem, excel_reference_problem, float_text
from tests.helpers import use_lang
from tests.reliability import garbage, make_corpus


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the reader's English wording; its row reasons are catalogue messages (ATTACK16 C3),
    Chinese by default."""
    with use_lang("en"):
        yield


CORPUS = make_corpus.CORPUS
Rows = list[tuple[int, tuple[str, ...]]]


def read(path: Path | str, fmt: FileFormat = COLLECTIONS) -> Rows:
    with open_table(path, fmt) as reader:
        return list(reader.rows())


def refusal(path: Path | str, fmt: FileFormat = COLLECTIONS) -> BadFile:
    with pytest.raises(BadFile) as info:
        read(path, fmt)
    return info.value


def write_csv(path: Path, rows: list[list[str]], **kw: str) -> Path:
    with open(path, "w", newline="", encoding=kw.get("encoding", "utf-8")) as f:
        csv.writer(f).writerows(rows)
    return path


COLL_HEADER = list(COLLECTIONS.columns[:-1])
GOOD = ["2023-01-05", "230881", "RES", "同江市税务局", "1,234.56", "ZS-1"]


# -- the corpus: every structural case refused, naming file, row and rule ---------------------

STRUCTURAL = {
    # file: (format, row, phrase naming the rule, column)
    "utf16_collections.csv": (COLLECTIONS, 0, "the file is UTF-16 text", ""),
    "missing_column.csv": (
        PAYMENTS,
        1,
        "required column 'amount' is missing; expected columns: date, unit",
        "amount",
    ),
    "duplicate_column.csv": (COLLECTIONS, 1, "duplicate column 'amount' (columns E 'amount', G 'Amount')", "amount"),
    "blank_column_name.csv": (COLLECTIONS, 1, "column G has no name in the header", "G"),
    "short_row.csv": (COLLECTIONS, 3, "row 3 has 5 cells, the header has 6", ""),
    "long_row.csv": (COLLECTIONS, 3, "row 3 has 7 cells, the header has 6", ""),
    "long_cell.csv": (COLLECTIONS, 3, "the cell is longer than 1,000 characters", "source"),
    "unclosed_quote.csv": (COLLECTIONS, 3, 'a quote (") opened in this row is never closed', ""),
    "text_after_quote.csv": (COLLECTIONS, 3, 'text follows the closing quote (")', ""),
    "empty.csv": (COLLECTIONS, 0, "the file is empty", ""),
    "bom_only.csv": (COLLECTIONS, 0, "the file is empty", ""),
    "blank_first_row.csv": (COLLECTIONS, 1, "row 1 is blank: the first row must name the columns", ""),
    "nul_bytes.csv": (COLLECTIONS, 3, "binary data (NUL bytes), not a CSV", ""),
    "mac_line_endings.csv": (COLLECTIONS, 0, "bare CR (old Mac format)", ""),
    "formula.xlsx": (PAYMENTS, 3, "formula in cell; paste values only", "amount"),
    "number_reference.xlsx": (PAYMENTS, 4, "'1003' (worksheet 'payments') is a number cell, not text", "reference"),
    "truncated.xlsx": (PAYMENTS, 0, "the workbook is damaged or incomplete", ""),
    "csv_named.xlsx": (COLLECTIONS, 0, "named .xlsx but is not an Excel workbook", ""),
    "old_excel.xls": (COLLECTIONS, 0, "save it as .xlsx or CSV", ""),
}


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_structural_corpus_case_is_refused_naming_file_row_and_rule(name: str) -> None:
    fmt, row, phrase, column = STRUCTURAL[name]
    path = CORPUS / name
    err = refusal(path, fmt)
    assert err.file == str(path)
    first = err.errors[0]
    assert (first.file, first.row, first.column) == (str(path), row, column)
    assert phrase in first.reason
    assert str(path) in str(err) and phrase in str(err)
    assert f"row {row}" in str(err)


def test_every_corpus_file_is_covered_and_small() -> None:
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"}
    assert {f for f in files if "/" not in f} == set(STRUCTURAL)
    assert files == set(make_corpus.build())
    assert all((CORPUS / f).stat().st_size < 20_000 for f in files)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{f}`" in readme for f in files)


def test_corpus_is_what_make_corpus_builds() -> None:
    assert make_corpus.differences() == []


def test_header_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "h.csv", [["Date", "unit", " UNIT ", "book", "foo", "", "amount"]])
    err = refusal(path)
    reasons = [(e.row, e.column, e.reason.split(";")[0]) for e in err.errors]
    assert reasons == [
        (1, "unit", "duplicate column 'unit' (columns B 'unit', C 'UNIT')"),
        (1, "F", "column F has no name in the header"),
        (1, "source", "required column 'source' is missing"),
        (1, "reference", "required column 'reference' is missing"),
    ]
    assert all(COLLECTIONS.describe() in e.reason for e in err.errors)


# -- valid files ------------------------------------------------------------------------------


def test_bom_file_streams_and_bom_does_not_leak_into_the_header() -> None:
    with open_table(CORPUS / "valid/bom_collections.csv", COLLECTIONS) as reader:
        assert reader.header == tuple(COLL_HEADER)
        assert reader.kind == "csv"
        rows = list(reader.rows())
    assert rows[0] == (2, ("2023-01-05", "230881", "RES", "同江市税务局", "1,234,567.89", "ZS-2023-0001", ""))
    assert [r for r, _ in rows] == [2, 3, 4]


def test_header_only_is_valid_with_zero_rows() -> None:
    assert read(CORPUS / "valid/header_only.csv") == []


def test_quoted_cells_survive_exactly() -> None:
    rows = read(CORPUS / "valid/quoted_cells.csv")
    assert rows[1] == (
        3,
        ("2023-01-06", "230882", "RES", '富锦市税务局 "二分局", 城区', "1,234.56", "ZS-2", ""),
    )
    # a quoted line break stays inside its cell and the row keeps spreadsheet numbering
    assert rows[2] == (4, ("2023-01-07", "230882", "RES", "第一行\r\n第二行", "0.01", "ZS-3", ""))


def test_columns_come_back_in_canonical_order() -> None:
    with open_table(CORPUS / "valid/reordered_columns.csv", COLLECTIONS) as reader:
        assert reader.header == ("reference", "amount", "source", "book", "unit", "date", "component")
        rows = list(reader.rows())
    assert rows == [
        (2, ("2023-01-05", "230881", "EMP", "同江市税务局", "100.00", "ZS-1", "pooled")),
        (3, ("2023-01-06", "230882", "EMP", "富锦市税务局", "200.00", "ZS-2", "personal")),
    ]


def test_missing_optional_columns_are_empty_strings_in_place(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [["component", "unit", "book", "item", "amount", "reference"]])
    path.write_text(path.read_text() + "pooled,230881,EMP,1002,5.00,OB-1\r\n", encoding="utf-8")
    assert read(path, OPENING) == [(2, ("230881", "EMP", "1002", "5.00", "OB-1", "", "pooled"))]


def test_blank_lines_are_skipped_but_counted() -> None:
    assert [r for r, _ in read(CORPUS / "valid/blank_lines.csv")] == [2, 6]


def test_valid_xlsx_streams_exact_text() -> None:
    with open_table(CORPUS / "valid/payments.xlsx", PAYMENTS) as reader:
        assert reader.kind == "xlsx"
        rows = list(reader.rows())
    assert rows == [
        (2, ("2023-03-01", "230881", "RES", "同江市人民医院", "inpatient", "1234.5", "ZF-0001", "", "")),
        (3, ("2023-03-02", "230882", "RES", "富锦市中心医院", "outpatient", "88", "ZF-0002", "", "")),
        (4, ("2023-03-03", "230883", "RES", "抚远市人民医院", "inpatient", "10000000", "0000001003", "", "")),
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "values").iterdir()))
def test_value_errors_are_structurally_fine(name: str) -> None:
    rows = read(CORPUS / "values" / name)
    assert [r for r, _ in rows] == [2, 3]
    assert all(len(cells) == len(COLLECTIONS.columns) for _, cells in rows)


def test_formats_are_as_specified() -> None:
    assert set(FORMATS) == {"opening", "collections", "payments", "budget", "insured", "statement"}
    assert FORMATS["insured"].columns == ("year", "unit", "book", "insured", "reason")
    assert FORMATS["payments"].columns == (
        *("date", "unit", "book", "provider", "category", "amount", "reference"),
        *("component", "paid_from"),
    )
    assert OPENING.columns[-2:] == ("note", "component")
    assert STATEMENT.required == ("date", "amount", "direction", "reference")


# -- body errors: collected, capped, good rows still streamed -----------------------------------


def test_bad_rows_are_not_yielded_and_the_error_comes_at_the_end(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [COLL_HEADER, GOOD, GOOD[:5], GOOD, [*GOOD, "x"]])
    seen = []
    with pytest.raises(BadFile) as info, open_table(path, COLLECTIONS) as reader:
        for row, _cells in reader.rows():
            seen.append(row)
    assert seen == [2, 4]
    assert [(e.row, e.reason) for e in info.value.errors] == [
        (3, "row 3 has 5 cells, the header has 6"),
        (5, "row 5 has 7 cells, the header has 6"),
    ]


def test_every_problem_is_counted_and_the_first_200_are_listed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [COLL_HEADER] + [GOOD[:2]] * 5000)
    err = refusal(path)
    assert len(err.errors) == MAX_ERRORS == 200
    assert err.errors[-1].row == MAX_ERRORS + 1
    assert err.total == 5000 and err.complete
    assert "(5,000 problem(s))" in str(err)
    assert "… and 4,800 more not listed (the first 200 are above)" in str(err)
    assert str(err).count("has 2 cells, the header has 6") == 200


HEAD = b"date,unit,book,source,amount,reference\r\n"


def _rows(n: int) -> bytes:
    return b"2023-01-05,230881,RES,x,1.00,ZS\r\n" * n


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        ("2023-01-06,230882,RES,富锦,1.00,ZS\r\n".encode("gbk"), "it looks like GBK/GB18030"),
        (b"2023-01-06,230882,RES,Caf\xe9,1.00,ZS\r\n", "byte 0xE9 cannot be read"),
        (b"2023-01-06,230882,RES,\x00,1.00,ZS\r\n", "binary data (NUL bytes)"),
    ],
)
def test_a_bad_byte_deep_in_the_file_is_reported_on_its_row(tmp_path: Path, bad: bytes, phrase: str) -> None:
    path = tmp_path / "deep.csv"
    utf8 = "2023-01-05,230881,RES,同江,1.00,ZS\r\n".encode()  # the file is UTF-8: row 2 says so
    path.write_bytes(HEAD + utf8 + _rows(4999) + bad + _rows(3))  # well past the 64 KiB sniff
    assert path.stat().st_size > 128 * 1024
    err = refusal(path)
    assert [(e.row, phrase in e.reason) for e in err.errors] == [(5002, True)]


def test_gbk_after_a_long_ascii_start_is_read_as_gb18030_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "late-gbk.csv"
    path.write_bytes(HEAD + _rows(5000) + "2023-01-06,230882,RES,富锦市税务局,1.00,ZS\r\n".encode("gbk"))
    with open_table(path, COLLECTIONS) as reader:
        rows = list(reader.rows())
        assert reader.encoding == "gb18030" and reader.plain_columns is None
        assert any("read as GB18030/GBK" in n for n in reader.notices)
    assert rows[-1] == (5002, ("2023-01-06", "230882", "RES", "富锦市税务局", "1.00", "ZS", ""))


def test_a_stray_cr_in_an_unquoted_cell_is_refused_on_its_row(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(HEAD + _rows(2) + b"2023-01-06,230882,RES,a\rb,1.00,ZS\r\n" + _rows(1))
    err = refusal(path)
    assert [(e.row, "line break (CR)" in e.reason) for e in err.errors] == [(4, True)]


# -- file-level problems ----------------------------------------------------------------------


def test_missing_file_and_folder_are_refused_on_row_0(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope.csv").errors[0].reason == "the file does not exist"
    assert refusal(tmp_path).errors[0].reason == "this is a folder, not a file"
    assert refusal(tmp_path).errors[0].row == 0


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "locked.csv", [COLL_HEADER])

    def locked(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")  # chmod 000 means nothing to root, so fake it

    monkeypatch.setattr("ledger.io.tables.open_regular", locked)
    err = refusal(path)
    assert (err.errors[0].row, err.errors[0].reason) == (0, "the file cannot be read (permission denied)")


def test_kind_is_sniffed_from_content_when_the_name_does_not_say(tmp_path: Path) -> None:
    text = write_csv(tmp_path / "upload.dat", [COLL_HEADER, GOOD])
    book = tmp_path / "upload.bin"
    book.write_bytes((CORPUS / "valid/payments.xlsx").read_bytes())
    with open_table(text, COLLECTIONS) as a, open_table(book, PAYMENTS) as b:
        assert (a.kind, b.kind) == ("csv", "xlsx")
        assert len(list(a.rows())) == 1 and len(list(b.rows())) == 3


def test_xls_is_refused_by_name_whatever_it_holds(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.XLS", [COLL_HEADER, GOOD])
    assert "save it as .xlsx or CSV" in refusal(path).errors[0].reason


def test_rows_can_be_read_once_only() -> None:
    with open_table(CORPUS / "valid/header_only.csv", COLLECTIONS) as reader:
        list(reader.rows())
        with pytest.raises(RuntimeError):
            reader.rows()


# -- XLSX cells -------------------------------------------------------------------------------


def _workbook(path: Path, rows: list[list[object]], setup: object = None) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    if callable(setup):
        setup(ws)
    wb.save(path)
    return path


STMT = ["date", "amount", "direction", "reference", "balance"]


def test_xlsx_numbers_and_dates_become_exact_text(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "s.xlsx",
        [
            [*STMT, None, None],  # trailing empty header cells are ignored
            [dt.datetime(2023, 5, 6, 14, 30), 1234.5, "in", "0042", 1e20],  # a reference is a text cell (Y6)
            [dt.date(2023, 5, 7), 12.345, True, "R-2", 5.0],
            [dt.date(2023, 5, 8), 100, " out ", "R-3"],  # a short row: the missing cell is ''
            [None, None, None, None, None, None, None],  # blank: skipped
        ],
    )
    assert read(path, STATEMENT) == [
        (2, ("2023-05-06", "1234.5", "in", "0042", "100000000000000000000")),
        (3, ("2023-05-07", "12.345", "TRUE", "R-2", "5")),
        (4, ("2023-05-08", "100", "out", "R-3", "")),
    ]


def test_xlsx_cell_problems_are_refused_with_their_cell(tmp_path: Path) -> None:
    def setup(ws: object) -> None:
        ws["B3"] = "=B2*2"  # type: ignore[index]
        ws["B4"] = "#DIV/0!"  # type: ignore[index]
        ws["B4"].data_type = "e"  # type: ignore[index]
        ws["G5"] = "stray"  # type: ignore[index]
        ws["D6"] = "x" * 1001  # type: ignore[index]

    rows: list[list[object]] = [STMT] + [[dt.date(2023, 5, 6), 1, "in", f"R{i}"] for i in range(6)]
    err = refusal(_workbook(tmp_path / "bad.xlsx", rows, setup), STATEMENT)
    assert [(e.row, e.column, e.reason.split(";")[0]) for e in err.errors] == [
        (3, "amount", "formula in cell"),
        (4, "amount", "the cell holds an Excel error (#DIV/0!)"),
        (5, "", "row 5 has 7 cells, the header has 5"),
        (6, "reference", "the cell is longer than 1,000 characters"),
    ]


def test_empty_workbook_and_blank_header_row(tmp_path: Path) -> None:
    assert refusal(_workbook(tmp_path / "e.xlsx", []), STATEMENT).errors[0].reason == "the file is empty"
    blank_top = _workbook(tmp_path / "b.xlsx", [[None], STMT])
    assert "row 1 is blank" in refusal(blank_top, STATEMENT).errors[0].reason


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.5, "1234.5"),
        (0.01, "0.01"),
        (-7.25, "-7.25"),
        (5.0, "5"),
        (-0.0, "0"),
        (1e20, "100000000000000000000"),
        (12.345, "12.345"),  # three decimals: kept so the amount check refuses it
        (0.1 + 0.2, "0.30000000000000004"),  # binary noise is never rounded into money
        (1e-05, "1e-05"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
    ],
)
def test_float_text(value: float, text: str) -> None:
    assert float_text(value) == text


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


# -- property tests ---------------------------------------------------------------------------

# Any text a spreadsheet cell can hold, except NUL (refused as binary) and lone surrogates.
cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
CJK = st.text(st.sampled_from('佳木斯同江富锦,"\r\n \t元'), max_size=12)


# A reference the reader keeps (ATTACK12 Z3 refuses one holding a character that does not show, or
# not in NFKC form: test_attack12_reference_form.py); every other cell is any text.
reference = st.one_of(cell, CJK).filter(lambda t: not excel_reference_problem(t.strip()))
# A date the reader keeps (ATTACK14 V5 refuses one holding a digit other than ASCII 0-9:
# test_attack14_date_digits.py).
date_text = st.one_of(cell, CJK).filter(lambda t: not any(c.isdigit() and not c.isascii() for c in t))
# A row without a cell Excel would run as a formula (ATTACK15 A2 refuses it:
# test_attack15_csv_formulas_variants.py).
row5 = st.tuples(date_text, st.one_of(cell, CJK), st.one_of(cell, CJK), reference,
                 st.one_of(cell, CJK)).map(list).filter(
                     lambda r: csv_formula_problem(tuple(c.strip() for c in r), STATEMENT.columns) is None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row5, max_size=25))
def test_csv_writer_rows_round_trip_exactly(tmp_path: Path, rows: list[list[str]]) -> None:
    path = write_csv(tmp_path / "rt.csv", [STMT, *rows])
    expected = [(i + 2, tuple(c.strip() for c in r)) for i, r in enumerate(rows)]
    assert read(path, STATEMENT) == [(n, cells) for n, cells in expected if any(cells)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=3000),
    prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"date,amount,direction,reference\r\n", b"PK\x03\x04"]),
    suffix=st.sampled_from([".csv", ".xlsx", ".txt", ""]),
)
def test_random_bytes_never_raise_anything_but_badfile(
    tmp_path: Path, data: bytes, prefix: bytes, suffix: str
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(prefix + data)
    try:
        for _row, cells in read(path, STATEMENT):
            assert len(cells) == len(STATEMENT.columns)
    except BadFile as e:
        assert e.errors and all(err.file == str(path) for err in e.errors)


VALID_XLSX = (CORPUS / "valid/payments.xlsx").read_bytes()
with zipfile.ZipFile(CORPUS / "valid/payments.xlsx") as _z:
    XLSX_PARTS = {name: _z.read(name) for name in _z.namelist()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    part=st.sampled_from(sorted(XLSX_PARTS)),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=6)), min_size=1, max_size=6
    ),
    cut=st.one_of(st.none(), st.integers(0, len(VALID_XLSX))),
)
def test_damaged_workbooks_never_raise_anything_but_badfile(
    tmp_path: Path, part: str, edits: list[tuple[float, bytes]], cut: int | None
) -> None:
    """Edit the XML inside a good workbook (so openpyxl's parser, not just unzip, meets the damage)."""
    text = XLSX_PARTS[part]
    for where, junk in edits:
        at = int(where * len(text))
        text = text[:at] + junk + text[at + len(junk) :]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in XLSX_PARTS.items():
            z.writestr(name, text if name == part else data)
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(out.getvalue()[:cut])
    try:
        for _row, cells in read(path, PAYMENTS):
            assert len(cells) == len(PAYMENTS.columns)
    except BadFile as e:
        assert e.errors and all(err.file == str(path) for err in e.errors)


# -- streaming and garbage --------------------------------------------------------------------


def test_50k_lines_stream_in_bounded_memory(tmp_path: Path) -> None:
    """A reader that streams holds a row at a time: 0.26 MB at the peak whatever the
    file's length. 50,000 rows (a 3.9 MB file) under a 2 MB bound catch a reader that
    holds the whole file, even as one string; 200,000 rows under 20 MB (until 2026-12-06)
    cost four times the CPU (tracemalloc slows each allocation) and let a 15.8 MB file
    read whole pass."""
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(PAYMENTS.columns)
        for i in range(50_000):
            w.writerow(
                [
                    "2023-03-01",
                    "230881",
                    "EMP",
                    "佳木斯市中心医院",
                    "inpatient",
                    f"{i}.50",
                    f"P{i}",
                    "pooled",
                    "",
                ]
            )
    tracemalloc.start()
    try:
        count, last = 0, None
        with open_table(path, PAYMENTS) as reader:
            for item in reader.rows():
                count += 1
                last = item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000 and last is not None
    assert last[0] == 50_001 and last[1][6] == "P49999"
    assert path.stat().st_size > 3 * 1024 * 1024 and peak < 2 * 1024 * 1024


def _refused_fast(path: Path, fmt: FileFormat = PAYMENTS) -> tuple[BadFile, float, int]:
    """The refusal, its time (measured without tracemalloc, which slows every allocation
    tenfold) and its peak memory (a second read, traced)."""
    start = time.perf_counter()
    with pytest.raises(BadFile) as info:
        read(path, fmt)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        with pytest.raises(BadFile):
            read(path, fmt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return info.value, seconds, peak


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [
        ("bytes", "binary data"),
        ("text", ""),  # every row wrong in some way: stops at the error cap
        ("line", "a line is longer than 65,536 bytes"),
        ("quote", 'a quote (") is probably never closed'),
    ],
)
def test_garbage_is_refused_fast_in_bounded_memory(tmp_path: Path, kind: garbage.Kind, phrase: str) -> None:
    path = garbage.write_garbage(tmp_path / f"garbage-{kind}.csv", 8 * 1024 * 1024, seed=11, kind=kind)
    err, seconds, peak = _refused_fast(path)
    assert phrase in err.errors[0].reason
    assert len(err.errors) == (1 if phrase else MAX_ERRORS)
    assert seconds < 2 and peak < 2 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bytes", "text", "line", "quote"])
def test_one_gigabyte_of_garbage_is_refused_fast(tmp_path: Path, kind: garbage.Kind) -> None:
    path = garbage.write_garbage(tmp_path / f"huge-{kind}.csv", 1 << 30, seed=3, kind=kind)
    try:
        _err, seconds, peak = _refused_fast(path)
        assert seconds < 2 and peak < 2 * 1024 * 1024
    finally:
        path.unlink()


def test_garbage_is_deterministic_and_exact_in_size(tmp_path: Path) -> None:
    a = garbage.write_garbage(tmp_path / "a", 3_000_001, seed=5, kind="text").read_bytes()
    b = garbage.write_garbage(tmp_path / "b", 3_000_001, seed=5, kind="text").read_bytes()
    assert a == b and len(a) == 3_000_001 and a.startswith(garbage.HEADER)


def test_reader_never_changes_the_process_wide_csv_limit(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    read(CORPUS / "valid/quoted_cells.csv")
    assert csv.field_size_limit() == before
