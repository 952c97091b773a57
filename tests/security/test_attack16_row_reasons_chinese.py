"""ATTACK16 C3: the import's row problems — the refusals a county officer meets most — reach the
Chinese CLI in English.

ATTACK15 A3 made the library's *raised* refusals catalogue messages, and its sweep
(tests/unit/test_refusals_worded.py) walks ``raise``/``return`` of a ``LedgerError``. A file's row
problems are neither: they are reason strings the reader hands to ``_Problems.add``
(``ledger/io/tables.py``: "row 2 has 8 cells, the header has 7"), the database's per-row checks
(``fl._imp_row_problems``: "the reference is empty; every row needs its own reference", "unknown
category '不知道' (…)", "book EMP needs a component …") and the date reader's hint
(``ledger.io.normalise.with_valid_values``: "'28/02/2024' is not a date (accepted: …)"). The
rule label and "第 2 行，date 列" are Chinese; the reason itself — what is wrong and what to do —
is English. Some reasons are translated (the amount's, through a pattern), so an officer sees a
mixed file report.

Safe behaviour asserted: each of these ordinary mistakes is refused (nothing written) with its
reason in Chinese — no four English words in a row in what the officer reads.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.db

ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")   # four English words in a row
HEADER = "date,unit,book,provider,category,amount,reference\n"

ROWS = {
    "a date in day/month/year order": "28/02/2024,230822,RES,某某医院,inpatient,1.00,R-9",
    "a date with a time of day": "2024-02-28 13:45,230822,RES,某某医院,inpatient,1.00,R-10",
    "an empty reference": "2024-02-28,230822,RES,某某医院,inpatient,1.00,",
    "an empty provider": "2024-02-28,230822,RES,,inpatient,1.00,R-13",
    "an unknown category": "2024-02-28,230822,RES,某某医院,不知道,1.00,R-14",
    "the employees' book without a component": "2024-02-28,230822,EMP,某某医院,inpatient,1.00,R-16",
    "an amount with an unquoted thousands comma": "2024-02-28,230822,RES,某某医院,inpatient,1,000,R-24",
}


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_an_officers_import_row_problem_is_worded_in_chinese(ledger_db, tmp_path, row):
    f = tmp_path / "p.csv"
    f.write_text(HEADER + row + "\n", encoding="utf-8")
    r = ledger_db.cli("pay", "import", str(f), user="o22", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    body = r.stderr.replace(str(tmp_path), "")
    # On main e.g. "第 2 行，reference 列：the reference is empty; every row needs its own reference"
    assert not ENGLISH.search(body), body
