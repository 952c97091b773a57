"""ECMA-376's ``_xHHHH_`` escapes in a workbook's strings (``ledger.io.ooxml_text``, ATTACK19 J7)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.io.ooxml_text import shown, stored


def test_escapes_are_shown_as_excel_shows_them() -> None:
    assert shown("P-_x0031_") == "P-1"
    assert shown("a_x000D_b") == "a\rb"
    assert shown("_x005F_x0031_") == "_x0031_"            # Excel's protected literal
    assert shown("_xD83D__xDE00_") == "\U0001F600"        # a surrogate pair, as Excel writes one
    assert shown("_xD83D_") == "\ufffd"                   # a lone surrogate is no character
    assert shown("P_x31_") == "P_x31_"                    # four hex digits or nothing
    assert shown("plain") == "plain"


# texts rich in underscores, x and hex digits, so that escapes and near-escapes are common
_TEXT = st.text(alphabet=st.sampled_from(["_", "x", "0", "5", "F", "f", "3", "1", "D", "a", "中"]), max_size=30)


@given(_TEXT)
def test_what_is_stored_is_shown_as_the_text(text: str) -> None:
    assert shown(stored(text)) == text


@given(st.text(max_size=20))
def test_any_text_round_trips(text: str) -> None:
    # lone surrogates aside (no file can hold one), any text comes back as it went
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    assert shown(stored(text)) == text
