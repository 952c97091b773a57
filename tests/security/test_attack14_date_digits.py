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
