"""ATTACK15 A5, the class: every CJK extension block, in the reader and in the database.

0111 narrows the repertoire's 汉字 to the basic block (U+4E00–U+9FFF) and 〇: the reader
(``reference_form_problem``) and ``fl.reference_form_ok`` (the CHECK of every new import line,
register item and statement line) refuse an ideograph of Extension A–G, where the glyph variants of
everyday characters live, and keep every basic-block one.
"""

from __future__ import annotations

import pytest

from ledger.io.tables import reference_form_problem
from tests.conftest import LedgerDB

# The first and last code point of each extension block, and two variants drawn like 吉 and 叱.
EXTENSIONS = ["\u3400", "\u4dbf", "\U00020000", "\U0002a6df", "\U0002a700", "\U0002b739", "\U0002b740",
              "\U0002b81d", "\U0002b820", "\U0002cea1", "\U0002ceb0", "\U0002ebe0", "\U00030000", "\U0003134a",
              "\U00020bb7", "\U00020b9f"]
# (ATTACK15b B3, 0122) the basic block's 汉字 a new reference keeps are GB2312's: U+4E00 and U+9FA0 are its
# first and last; U+9FA5 and U+9FFF stay in fl.reference_form_ok's form and are refused by fl.reference_hanzi_ok
BASIC = ["\u4e00", "\u9fa0", "\u3007", "吉", "叱", "佳", "〔"]


@pytest.mark.parametrize("ch", EXTENSIONS)
def test_the_reader_refuses_an_extension_ideograph_naming_it(ch: str) -> None:
    why = reference_form_problem(f"Z-{ch}1")
    assert why and f"U+{ord(ch):04X}" in why, why


@pytest.mark.parametrize("ch", BASIC)
def test_the_reader_keeps_the_basic_blocks(ch: str) -> None:
    assert reference_form_problem(f"Z-{ch}1") == ""


@pytest.mark.db
def test_the_database_answers_as_the_reader(ledger_db: LedgerDB) -> None:
    c = ledger_db.admin()
    refs = [f"Z-{ch}1" for ch in (*EXTENSIONS, *BASIC)]
    judged = [r["ok"] for r in c.execute(
        "SELECT fl.reference_form_ok(r) AND fl.reference_hanzi_ok(r) AS ok "
        "FROM unnest(%s::text[]) WITH ORDINALITY AS t(r, n) ORDER BY n",
        (refs,)).fetchall()]
    assert judged == [not reference_form_problem(r) for r in refs] == [False] * len(EXTENSIONS) + [True] * len(BASIC)
