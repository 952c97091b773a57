"""ATTACK14 V5: a date written with digits of another script is read as a date that it does not
look like.

Amounts (``ledger.core.money``: ``re.ASCII``) and years are ASCII digits only, but the date
reader (``ledger.io.normalise.iso_date``: ``\\d`` without ``re.ASCII``, then ``int()``) takes every
Unicode decimal digit. ``2024/0৪/15`` — U+09EA BENGALI DIGIT FOUR, which Unicode's confusables
table (UTS #39) lists as a look-alike of ``8`` — shows as ``2024/08/15`` in the filed file and is
posted as 2024-04-15: another month and quarter than the officer's file shows. The same through a
workbook's text cell, and with ``৭`` (BENGALI SEVEN, a look-alike of ``9``).

Fixed when dates, like amounts, are ASCII digits only (``re.ASCII`` in ``normalise``'s patterns),
refused naming file, row, column and the code point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import BadFile
from ledger.io import FORMATS, open_table

HEAD = "date,unit,book,provider,category,amount,reference,note\n"


@pytest.mark.parametrize("shown", ["2024/0\u09ea/15", "2024/0\u09ed/15", "2024年\u09ea月15日"],
                         ids=["bengali-4-as-8", "bengali-7-as-9", "chinese-form"])
def test_v5_a_date_in_look_alike_digits_is_refused(tmp_path: Path, shown: str) -> None:
    f = tmp_path / "p.csv"
    f.write_text(HEAD + f"{shown},230822,RES,某某医院,inpatient,900.00,D-1,x\n", encoding="utf-8")
    try:
        with open_table(f, FORMATS["payments"]) as t:
            rows = [c for _, c in t.rows()]
    except BadFile:
        return                                                                      # refused: fixed
    pytest.fail(f"the file shows the date {shown!r} and it was read as {rows[0][0]!r}")


# -- variants of the class (ATTACK14 V5's fix): every digit the readers parse is ASCII 0-9 ---------

@pytest.mark.parametrize("shown", ["2024-0\u09ea-15",                     # the ISO fast path
                                   "\uff12\uff10\uff12\uff14-04-15",      # full-width ２０２４
                                   "2024\u09e6\u09ea15",                  # compact, Bengali ০৪
                                   "2024/4/1\u0665",                      # Arabic-Indic ٥
                                   "4\u0665397",                          # an Excel serial
                                   "2024/4/1\u00b9"],                     # superscript ¹
                         ids=["iso", "full-width", "compact", "arabic-indic", "serial", "superscript"])
def test_v5_every_date_form_refuses_a_digit_other_than_ascii(tmp_path: Path, shown: str) -> None:
    f = tmp_path / "p.csv"
    f.write_text(HEAD + f"{shown},230822,RES,某某医院,inpatient,900.00,D-1,x\n", encoding="utf-8")
    with pytest.raises(BadFile) as e, open_table(f, FORMATS["payments"]) as t:
        list(t.rows())
    err = e.value.errors[0]
    assert (err.row, err.column) == (2, "date")
    bad = next(c for c in shown if not c.isascii())
    assert f"U+{ord(bad):04X}" in err.reason                                   # the code point named


def test_v5_a_workbook_text_date_in_bengali_digits_is_refused(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEAD.strip().split(","))
    ws.append(["2024/0\u09ea/15", "230822", "RES", "某某医院", "inpatient", "900.00", "D-1", "x"])
    f = tmp_path / "p.xlsx"
    wb.save(f)
    with pytest.raises(BadFile) as e, open_table(f, FORMATS["payments"]) as t:
        list(t.rows())
    assert e.value.errors[0].column == "date" and "U+09EA" in e.value.errors[0].reason


def test_v5_ascii_dates_still_read(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(HEAD + "2024/8/15,230822,RES,某某医院,inpatient,900.00,D-1,x\n"
                 "2024年8月16日,230822,RES,某某医院,inpatient,900.00,D-2,x\n", encoding="utf-8")
    with open_table(f, FORMATS["payments"]) as t:
        assert [c[0] for _, c in t.rows()] == ["2024-08-15", "2024-08-16"]


def test_v5_no_pattern_of_the_code_reads_a_unicode_digit() -> None:
    """A sweep: every regular expression in ledger/ and cli/ that holds ``\\d`` is compiled with
    re.ASCII (without it ``\\d`` matches every Unicode decimal digit, and int() reads them)."""
    import ast

    root = Path(__file__).resolve().parents[2]
    calls = {"compile", "match", "search", "fullmatch", "sub", "subn", "findall", "finditer", "split"}
    found: list[str] = []
    for path in sorted([*root.joinpath("ledger").rglob("*.py"), *root.joinpath("cli").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in calls and node.args):
                continue
            pattern = node.args[0]
            if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)
                    and "\\d" in pattern.value):
                continue
            if "ASCII" not in ast.unparse(node):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not found, f"\\d without re.ASCII: {found}"


@pytest.mark.db
@pytest.mark.parametrize("shown", ["2024-0\u09ea-15", "2024/0\u09ea/15"], ids=["plain-copy-path", "reader-path"])
def test_v5_pay_import_of_a_bengali_date_posts_nothing(ledger_db, tmp_path: Path, shown: str) -> None:  # type: ignore[no-untyped-def]
    from tests.security.test_rules_rederived import _claims, _fund

    _fund(ledger_db)
    f = _claims(tmp_path / "bn.csv", f"{shown},230881,RES,某某医院,inpatient,1.00,BN-1,,county")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(f), user="o81")
    assert r.exit_code != 0, r
    assert "BN-1" not in ledger_db.cli("--lang", "en", "report", "ledger", "RES:5001.inpatient:230881",
                                       "--year", "2024", "--json", user="aud").stdout
