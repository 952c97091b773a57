"""ATTACK19b K7: J7's decoding joins a rich text's runs before it decodes ``_xHHHH_`` — but an escape
is a property of ONE string element (ECMA-376 ST_Xstring is the type of each run's ``<t>``): a cell
whose runs are ``P-_x00`` and ``31_`` holds no escape, and Excel shows ``P-_x0031_``. The reader
(``ledger.io.xlsx_shown``: ``Text.content`` of the runs, then ``ooxml_text.shown``) reads ``P-1``.
What is imported is again not what the officer saw: a claim the workbook shows as ``P-_x0031_`` —
already paid from a CSV — is read as a new reference ``P-1`` and paid a second time.

Safe behaviour asserted: the second file's row is the claim already paid (skipped) or is refused —
never a second payment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack9_claims import PAY

pytestmark = pytest.mark.db


def test_k7_an_escape_split_across_runs_is_not_decoded(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("k7-col", "2024-03-01", "230881", "1000000.00"),
         entry("k7-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    first = tmp_path / "march.csv"
    first.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,outpatient,35.00,P-_x0031_,,county\n", "utf-8")
    r1 = ledger_db.cli("pay", "import", str(first), user="o81")
    assert r1.exit_code == 0, r1
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    ws.append(["2024-03-27", "230881", "RES", "某某医院", "outpatient", "35.00", None, None, "county"])
    # two plain runs (no colour, size or strike): <r><t>P-_x00</t></r><r><rPr/><t>31_</t></r> — no run holds
    # an escape, so Excel shows P-_x0031_: the claim already paid
    ws["G2"] = CellRichText(["P-_x00", TextBlock(InlineFont(), "31_")])
    again = tmp_path / "march-again.xlsx"
    wb.save(again)
    r = ledger_db.cli("pay", "import", str(again), "--json", user="o81")
    refs = [x["reference"] for x in ledger_db.admin().execute(  # type: ignore[call-overload]
        "SELECT reference FROM fl.import_line WHERE namespace = 'payments:230881' ORDER BY reference").fetchall()]
    # on main: exit 0, a second line 'P-1' posted — 35.00 paid again for the claim Excel shows as P-_x0031_
    assert refs == ["P-_x0031_"], (r.exit_code, refs, r.stdout[-400:], r.stderr[-400:])
