"""Bad input: every file of the corpus (tests/reliability/corpus, see its README) is
refused by the real import commands with a non-zero exit, a message naming the file
(and the row where the README says), and nothing written. Plus property tests of the
amount parser against an oracle written from the documented grammar, and the same
grammar as PostgreSQL's import validation implements it.

(The CSV/XLSX reader is fuzzed in tests/unit/test_tables.py: random bytes, damaged
workbooks, round trips. Not repeated here.)
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.money import MAX_FEN, parse_fen
from ledger.errors import BadAmount

CORPUS = Path(__file__).resolve().parent / "corpus"
STRUCTURAL = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")
VALUES = sorted((CORPUS / "values").iterdir())

# Where the README says the problem is (row as in a spreadsheet: header = row 1).
WHERE = {
    "missing_column.csv": "row 1",
    "duplicate_column.csv": "row 1", "blank_column_name.csv": "row 1", "short_row.csv": "row 3",
    "long_row.csv": "row 3", "long_cell.csv": "row 3", "unclosed_quote.csv": "row 3",
    "text_after_quote.csv": "row 3", "nul_bytes.csv": "row 3", "formula.xlsx": "row 3",
    "number_reference.xlsx": "row 4",
}
# values/: the column the README's rule is about, on row 3.
VALUE_COLUMN = {"three_decimals.csv": "amount", "negative_amount.csv": "amount", "huge_number.csv": "amount",
                "blank_amount.csv": "amount", "date_2023_02_30.csv": "date", "unknown_unit.csv": "unit",
                "unknown_book.csv": "book", "duplicate_reference.csv": "reference"}
PAYMENT_FILES = {"missing_column.csv", "formula.xlsx", "truncated.xlsx", "number_reference.xlsx"}   # the rest are collections files
COMMANDS = [("collect", "import"), ("pay", "import")]   # each file through both: both must refuse


def _counts(admin: Any) -> tuple[int, int, int]:
    r = admin.execute("""SELECT (SELECT count(*) FROM fl.entry), (SELECT count(*) FROM fl.posting),
                                (SELECT count(*) FROM fl.import_batch)""").fetchone()
    return tuple(r.values()) if isinstance(r, dict) else tuple(r)  # type: ignore[return-value]


def _own_command(path: Path) -> tuple[str, str]:
    return ("pay", "import") if path.name in PAYMENT_FILES else ("collect", "import")


def _refused(ledger_db: Any, path: Path, figures: dict[str, Any] | None = None, every: bool = False) -> list[str]:
    """Run the file through its import command (``every``: through both); return what went
    wrong (empty = all good)."""
    admin = ledger_db.admin()
    bad = []
    for cmd in COMMANDS if every else [_own_command(path)]:
        before = _counts(admin)
        r = ledger_db.cli(*cmd, str(path), user="rev")
        out = r.stderr + r.stdout
        where = f"{' '.join(cmd)} {path.relative_to(CORPUS)}"
        if r.exit_code == 0:
            bad.append(f"{where}: accepted")
        if path.name not in out:
            bad.append(f"{where}: message does not name the file: {out[:300]!r}")
        if "Traceback" in out:
            bad.append(f"{where}: traceback")
        if _counts(admin) != before:
            bad.append(f"{where}: something was written")
        if cmd == _own_command(path):
            want = (f"row 3, column {VALUE_COLUMN[path.name]}" if path.parent.name == "values"
                    else WHERE.get(path.name))
            if want and want not in out:
                bad.append(f"{where}: message does not say {want}: {out[:300]!r}")
            if path.parent.name == "values" and "row 2, column" in out:
                bad.append(f"{where}: the valid row 2 was refused too: {out[:300]!r}")
        if figures is not None:
            figures["bad_files_tried"] = figures.get("bad_files_tried", 0) + 1
            figures["bad_files_refused"] = figures.get("bad_files_refused", 0) + (r.exit_code != 0)
    return bad


def _corpus(ledger_db: Any, figures: dict[str, Any], every: bool, name: str) -> None:
    seen: dict[str, Any] = {}
    problems = [p for path in STRUCTURAL + VALUES for p in _refused(ledger_db, path, seen, every)]
    figures[name] = {**seen, "files": len(STRUCTURAL) + len(VALUES)}
    assert problems == []
    assert seen["bad_files_refused"] == seen["bad_files_tried"] == (2 if every else 1) * (len(STRUCTURAL) + len(VALUES))


def test_every_corpus_file_is_refused_cleanly(ledger_db: Any, figures: dict[str, Any]) -> None:
    _corpus(ledger_db, figures, every=False, name="bad_input_short")


@pytest.mark.slow
def test_every_corpus_file_is_refused_by_every_import_command(ledger_db: Any, figures: dict[str, Any]) -> None:
    _corpus(ledger_db, figures, every=True, name="bad_input")


def test_a_good_file_does_import(ledger_db: Any, tmp_path: Path) -> None:
    """The refusals above are not the command refusing everything."""
    f = tmp_path / "good.csv"
    f.write_text("date,unit,book,source,amount,reference\n2023-01-05,230881,RES,contribution,\"1,234.56\",ZS-1\n"
                 "2023-01-06,230882,RES,contribution,15.50,ZS-2\n", "utf-8")
    r = ledger_db.cli("collect", "import", str(f), "--json", user="rev")
    assert r.exit_code == 0, r
    assert r.json()["rows_posted"] == 2


@pytest.mark.slow
def test_a_gigabyte_of_garbage_is_refused_by_the_command(ledger_db: Any, tmp_path: Path) -> None:
    from tests.reliability.garbage import write_garbage

    path = write_garbage(tmp_path / "garbage.csv", 1 << 30, seed=8, kind="text")
    admin = ledger_db.admin()
    before = _counts(admin)
    r = ledger_db.cli("pay", "import", str(path), user="rev")
    assert r.exit_code != 0 and "garbage.csv" in r.stderr and "Traceback" not in r.stderr
    assert _counts(admin) == before


# ---- the amount parser ------------------------------------------------------------

DIGITS = "0123456789"


def oracle(text: str, *, allow_negative: bool = False, allow_zero: bool = True) -> int | None:
    """The grammar of ledger/core/money.py's docstring, written out by hand:
    [-] (0 | nonzero digits | 1-3 digits then ,ddd groups) [. d or dd], ASCII only,
    surrounding white space ignored, at most MAX_FEN fen. None = must be refused."""
    s = text.strip()
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    whole, dot, frac = s.partition(".")
    if dot and not (1 <= len(frac) <= 2 and all(c in DIGITS for c in frac)):
        return None
    if not whole or whole[0] not in DIGITS:
        return None
    groups = whole.split(",")
    if not all(g and all(c in DIGITS for c in g) for g in groups):
        return None
    if len(groups) > 1 and not (len(groups[0]) <= 3 and whole[0] != "0" and all(len(g) == 3 for g in groups[1:])):
        return None
    if len(groups) == 1 and len(whole) > 1 and whole[0] == "0":
        return None
    fen = int("".join(groups)) * 100 + int((frac + "00")[:2])
    if fen > MAX_FEN or (neg and not allow_negative) or (fen == 0 and not allow_zero):
        return None
    return -fen if neg else fen


def _amount_texts() -> st.SearchStrategy[str]:
    digits = st.integers(0, 10**22)

    def render(n: int, commas: bool, decimals: int, sign: str, pad: str, lead0: bool) -> str:
        whole = f"{n // 100:,}" if commas else str(n // 100)
        frac = "" if decimals == 0 else "." + f"{n % 100:02d}"[:decimals]
        return f"{pad}{sign}{'0' if lead0 else ''}{whole}{frac}{pad}"

    shaped = st.builds(render, digits, st.booleans(), st.sampled_from([0, 1, 2, 3]), st.sampled_from(["", "-", "+"]),
                       st.sampled_from(["", " ", "\t", "\u3000"]), st.booleans())
    noise = st.text(alphabet="0123456789,.-+ e\u0661\uff11_", max_size=30)
    return st.one_of(shaped, noise, st.text(max_size=20))


@settings(max_examples=int(os.environ.get("FUNDLEDGER_FUZZ_EXAMPLES", "300")), deadline=None)
@given(text=_amount_texts(), allow_negative=st.booleans(), allow_zero=st.booleans())
def test_parse_fen_accepts_exactly_the_grammar(text: str, allow_negative: bool, allow_zero: bool) -> None:
    want = oracle(text, allow_negative=allow_negative, allow_zero=allow_zero)
    try:
        got = parse_fen(text, allow_negative=allow_negative, allow_zero=allow_zero)
    except BadAmount:
        assert want is None, f"{text!r} refused, but the grammar accepts it ({want})"
        return
    assert want is not None, f"{text!r} accepted as {got}, but the grammar refuses it"
    assert got == want


@given(value=st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_parse_fen_refuses_non_text_with_badamount_only(value: Any) -> None:
    with pytest.raises(BadAmount):
        parse_fen(value)


def test_import_validation_in_postgresql_agrees_with_parse_fen(ledger_db: Any) -> None:
    """Imports check amounts in SQL (fl.imp_amount_num/imp_fen), entries in Python: the
    two must accept the same positive amounts with the same value."""
    rnd = random.Random(8)
    samples = ["0", "0.00", "1", "1.5", "12.345", "1,234.56", "1,23", "01", "-5.00", "9e3", "１２", "1,234,567.89",
               "90000000000000000.00", "90000000000000000.01", "1.", ".5", ",123", "1,2345"]
    for _ in range(3000):
        n = rnd.randrange(10 ** rnd.randrange(1, 22))
        t = f"{n // 100:,}" if rnd.random() < 0.5 else str(n // 100)
        t += rnd.choice(["", f".{n % 100:02d}", f".{n % 10}", f".{n % 1000:03d}"])
        t = rnd.choice(["", "-", "0"]) + t
        samples.append(t if rnd.random() < 0.9 else t.replace(rnd.choice(t), rnd.choice(",.0"), 1))
    texts = set(samples)
    admin = ledger_db.admin()
    rows = admin.execute("SELECT t, fl.imp_fen(fl.imp_amount_num(t)) AS fen FROM unnest(%s::text[]) t",
                         (sorted(texts),)).fetchall()
    disagree = []
    for r in rows:
        t, sql_fen = (r["t"], r["fen"]) if isinstance(r, dict) else r
        py = oracle(t, allow_zero=False)
        try:
            got: int | None = parse_fen(t, allow_zero=False)
        except BadAmount:
            got = None
        if not (got == py == sql_fen):
            disagree.append((t, got, sql_fen, py))
    assert disagree == []
