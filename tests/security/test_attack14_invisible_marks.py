"""ATTACK14 V1: ATTACK12 Z3's fix lets through characters that show nothing, and letters that
show as other letters.

Z3's rule (``ledger.io.tables.reference_form_problem`` and 0089's ``fl.reference_form_ok``)
refuses Cc/Cf/Zl/Zp/Co/Cs/Cn, spaces other than U+0020, a combining mark with nothing before it,
and non-NFKC text. It does not refuse characters that are *default-ignorable* or blank but of
another category: U+034F COMBINING GRAPHEME JOINER and the variation selectors U+FE00–U+FE0F,
U+E0100–U+E01EF (Mn, invisible, accepted after any letter), the Hangul fillers U+115F/U+1160
(Lo, render as nothing), U+2800 BRAILLE PATTERN BLANK (So, a blank). Nor a letter of another
script that looks the same (Cyrillic U+0410 'А' for Latin 'A'). So the county officer re-imports
the bureau's claim ``Z-A`` as ``Z-A<U+FE0F>`` (or ``Z-А`` in Cyrillic) and pays it a second time;
both references read ``Z-A`` everywhere.

Fixed when a reference is held to a closed repertoire a person can read unambiguously (for
example printable ASCII plus CJK ideographs and the full-width CJK punctuation the region uses),
or at least when default-ignorable code points (Unicode's ``Default_Ignorable_Code_Point``),
blanks and mixed-script confusables are refused — in the reader and in ``fl.reference_form_ok``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import _claims, _fund

pytestmark = pytest.mark.db


@pytest.mark.parametrize("twin", [
    "Z-A\u034f",      # COMBINING GRAPHEME JOINER (Mn, default ignorable)
    "Z-A\ufe0f",      # VARIATION SELECTOR-16 (Mn, default ignorable)
    "Z-A\U000e0100",  # VARIATION SELECTOR-17 (Mn, default ignorable)
    "Z-\u115fA",      # HANGUL CHOSEONG FILLER (Lo, default ignorable)
    "Z-A\u2800",      # BRAILLE PATTERN BLANK (So, a blank)
    "Z-\u0410",       # CYRILLIC CAPITAL LETTER A: reads as Latin A
], ids=["cgj", "vs16", "vs17", "hangul-filler", "braille-blank", "cyrillic-a"])
def test_v1_the_bureaus_claim_reimported_with_a_mark_that_shows_nothing_is_not_paid_again(
        ledger_db: LedgerDB, tmp_path: Path, twin: str) -> None:
    _fund(ledger_db)
    f = _claims(tmp_path / "bureau.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-A,,county")
    held = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert held.exit_code == 0 and len(held.json()["held"]) == 1, held
    assert ledger_db.cli("entry", "confirm", str(held.json()["held"][0]), user="fin").exit_code == 0
    again = _claims(tmp_path / "county.csv", f"2024-03-27,230881,RES,某某医院,inpatient,800.00,{twin},,county")
    ledger_db.cli("pay", "import", str(again), "--json", user="o81")
    paid = ledger_db.admin().execute(
        "SELECT p.line_ref, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.side = 'D' ORDER BY e.id").fetchall()
    assert [r["created_by"] for r in paid] == ["rev"], (
        f"claim Z-A paid by the bureau was paid again by the county as {paid[-1]['line_ref']!r}: {paid}")


@pytest.mark.parametrize("twin", ["Z-A\ufe0f", "Z-\u115fA", "Z-A\u034f", "Z-A\U000e0100", "Z-A\u2800", "Z-\u0410",
                                  "Z-\u0391", "Z-A\u1160", "Z-A\u180b", "Z-A\u3164", "Z-A\uffa0", "Z-A ", " Z-A",
                                  "Z-\u00c5", "Z-A\u2024"],
                         ids=["vs16", "hangul-filler", "cgj", "vs17", "braille-blank", "cyrillic-a", "greek-alpha",
                              "jungseong-filler", "mongolian-fvs", "hangul-filler-compat", "halfwidth-filler",
                              "trailing-space", "leading-space", "latin-a-ring", "one-dot-leader"])
def test_v1_the_database_refuses_such_a_reference_on_every_path(ledger_db: LedgerDB, twin: str) -> None:
    ok = ledger_db.admin().execute("SELECT fl.reference_form_ok(%s) AS ok", (twin,)).fetchone()["ok"]
    assert ok is False, f"fl.reference_form_ok accepts {twin!r}, which reads as 'Z-A'"


@pytest.mark.parametrize("ref", ["Z-A", "住院-甲-001", "佳医保〔2024〕12号", "《通知》、【甲】「乙」『丙』〖丁〗。", "二〇二四-1",
                                 "\u9fa0-1", "A B"])  # (ATTACK15 A5: the extension blocks' 汉字 are refused;
# ATTACK15b B3: a new reference's 汉字 are GB2312's, U+9FA0 龠 its last)
def test_v1_the_references_of_the_region_are_kept_by_both_rules(ledger_db: LedgerDB, ref: str) -> None:
    from ledger.io.tables import reference_form_problem
    assert reference_form_problem(ref) == "", ref
    ok = ledger_db.admin().execute("SELECT fl.reference_form_ok(%s) AS ok", (ref,)).fetchone()["ok"]
    assert ok is True, ref


def test_v1_the_reader_names_the_row_the_column_and_the_code_point(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    f = _claims(tmp_path / "county.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-B,,county",
                "2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-\u0410,,county")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "county.csv" in text and "U+0410" in text and "reference" in text, text
    assert "<U+0410>" in text       # shown where it is, not drawn as the A it imitates
    assert "Traceback" not in text
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'payments'").fetchone()["n"]
    assert n == 0, "nothing is written when one row is refused"
