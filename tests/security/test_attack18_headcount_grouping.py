"""ATTACK18 G7 (LOW): an insured headcount's thousands separators are removed wherever they stand —
``"1,5"`` is imported as 15, ``"1,0,0"`` as 100, ``",,,7"`` as 7 — where every amount in the ledger
refuses a comma that is not a thousands separator (``'6,00' is not an amount in yuan``). A figure a
person wrote with a decimal comma (``1,5`` for 1.5 万, or a European export) or a typo is taken,
recorded as version 1 and read by the funding-standard report, instead of being refused by row and
column with nothing written (``fl.import_insured``, sql/0025: ``replace(btrim(s.insured), ',', '')``).

Safe behaviour asserted: a headcount whose commas are not thousands separators (groups of three
digits after the first group of one to three) is refused, naming the row and column; nothing is
written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


@pytest.mark.parametrize("text", ["1,5", "1,0,0", ",,,7", "12,34"])
def test_g7_a_comma_that_groups_nothing_is_refused(ledger_db: LedgerDB, tmp_path: Path, text: str) -> None:
    f = tmp_path / "insured.csv"
    f.write_text(f'year,unit,book,insured\n2024,230822,RES,"{text}"\n', "utf-8")
    r = ledger_db.cli("insured", "import", str(f), user="rev")
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.insured_count").fetchone()["n"]
    # On main: exit 0, "created: 2024 230822 RES: 15 insured (version 1)" (1,5 -> 15)
    assert r.exit_code != 0 and n == 0, r
    assert "insured" in (r.stdout + r.stderr) and "row 2" in (r.stdout + r.stderr), r
