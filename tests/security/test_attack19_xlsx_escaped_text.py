"""ATTACK19 J7 (LOW-MED): an XLSX cell's text is read with its OOXML escapes (``_xHHHH_``) left in, so
what is imported is not what Excel shows — a claim Excel shows as ``P-1`` is imported as ``P-_x0031_``,
a new reference, and paid a second time.

In a workbook's strings (ECMA-376 Part 1, ST_Xstring) ``_xHHHH_`` stands for the character U+HHHH
(Excel writes a carriage return as ``_x000D_``, and protects a literal ``_xHHHH_`` as
``_x005F_xHHHH_``); Excel shows the character (ClosedXML issue #608: text written as
``…CAG_x6904_2`` is displayed as ``…CAG椄2``). openpyxl's reader
(``read_string_table``, and ``ledger.io.xlsx_shown``'s copy of it) only strips ``x005F_`` and leaves
every other escape as six ASCII characters. The reader's "a reference is one visible text" rules
(ATTACK12 Z3: invisible characters, look-alikes, NFKC) and the "paid once" checks then compare a text
no one saw: a provider's or a hospital system's export whose reference cell holds ``P-_x0031_`` is shown
to the officer as ``P-1`` — a claim already paid — and the import pays it again (and ``_x200B_`` smuggles
the zero-width space Z3 refuses past the reader, as text Excel shows as nothing).

Safe behaviour asserted: the second file's row is the claim already paid (skipped) or is refused — never
a second payment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack9_claims import PAY

pytestmark = pytest.mark.db


def test_j7_an_escaped_reference_is_not_a_new_claim(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from openpyxl import Workbook

    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("j7-col", "2024-03-01", "230881", "1000000.00"),
         entry("j7-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))
    first = tmp_path / "march.csv"
    first.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,outpatient,35.00,P-1,,county\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(first), user="o81").exit_code == 0

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PAY.split(","))
    # openpyxl writes the text as it is: <t>P-_x0031_</t>, which Excel shows as P-1
    ws.append(["2024-03-27", "230881", "RES", "某某医院", "outpatient", "35.00", "P-_x0031_", None, "county"])
    again = tmp_path / "march-again.xlsx"
    wb.save(again)
    r = ledger_db.cli("pay", "import", str(again), "--json", user="o81")
    paid = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_line WHERE namespace = 'payments:230881'"
                                     ).fetchone()["n"]
    # on main: exit 0, a second line 'P-_x0031_' posted — 35.00 paid twice for the claim Excel shows as P-1
    assert paid == 1, (r.exit_code, r.stdout[-400:])


def test_j7b_a_report_shows_an_escape_like_text_as_the_ledger_holds_it(tmp_path: Path) -> None:
    """The writer's side: an officer's text holding ``_x0031_`` (a reference), ``_x202E_`` (a bidi
    override Excel would apply) or ``_x200B_`` is stored protected (``_x005F_…``), so the workbook
    shows what the ledger holds — read back as Excel reads it, the same text."""
    import zipfile

    from ledger.io.ooxml_text import shown
    from ledger.reports.export import write_xlsx
    from tests.unit.test_export import RESIDENTS, make_report

    texts = ["P-_x0031_", "某某_x202E_医院", "备注_x200B_", "_x005F_x0031_"]
    rows = tuple({**RESIDENTS.rows[0], "unit": t} for t in texts)
    report = make_report(type(RESIDENTS)(RESIDENTS.title_zh, RESIDENTS.title_en, rows))
    out = tmp_path / "r.xlsx"
    write_xlsx(report, out)
    with zipfile.ZipFile(out) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/"))
    import re
    stored = re.findall(r"<t[^>]*>([^<]*)</t>", xml)
    for t in texts:
        assert t in [shown(s) for s in stored], (t, [s for s in stored if "_x" in s])
