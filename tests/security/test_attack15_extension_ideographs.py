"""ATTACK15 (b), V1's class: the reference repertoire takes every CJK *extension* ideograph, and
those blocks hold variants drawn like everyday characters.

0098 (ATTACK14 V1) holds a reference to printable ASCII, 汉字 and document punctuation — where
汉字 is every CJK unified ideograph block, the extensions included (U+3400–U+4DBF,
U+20000–U+2EBEF, U+30000–U+3134F: some 90,000 rare characters outside GB2312/GBK). Those
blocks are where the glyph variants of common characters live: 𠮷 (U+20BB7) is 吉 with 土 on top,
𠮟 (U+20B9F) is 叱 with 七 written ヒ — in the fonts Chinese Windows ships (SimSun-ExtB) each is
drawn like its everyday twin. The bureau has paid claim ``吉-1``; the county imports ``𠮷-1``:
another reference, paid again, and every report shows two lines reading 吉-1 — V1's attack with a
character the repertoire was written to admit. No document number of a medical-insurance office
uses an extension ideograph (the claim systems run on GBK).

Fixed when the repertoire's 汉字 is the everyday set (GB2312/GBK's, or the URO block U+4E00–U+9FFF
without the extensions), or an extension ideograph is refused unless no everyday character is its
variant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


@pytest.mark.parametrize(("everyday", "variant"), [("吉-1", "\U00020bb7-1"), ("叱-1", "\U00020b9f-1")])
def test_a15_an_extension_variant_of_an_everyday_character_is_not_another_reference(
        ledger_db: LedgerDB, tmp_path: Path, everyday: str, variant: str) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("a15x-col", "2024-03-01", "230881", "100000.00"),
         entry("a15x-top", "2024-03-02", "RES", leg("1004", "230881", "D", "100000.00", "county_exp"),
               leg("1003", "230881", "C", "100000.00", "special")))
    for n, ref in enumerate((everyday, variant)):
        f = tmp_path / f"claims{n}.csv"
        f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,{ref},,county\n", "utf-8")
        r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
        if n == 0:
            assert r.exit_code == 0, r
    paid = [x["line_ref"] for x in ledger_db.admin().execute(
        "SELECT p.line_ref FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.line_ref IS NOT NULL ORDER BY p.id").fetchall()]
    assert len(paid) == 1, (f"claim {everyday!r} was paid, then {variant!r} "
                            f"(U+{ord(variant[0]):X}, drawn like {everyday[0]}) was paid again: {paid}")
