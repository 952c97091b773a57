"""ATTACK14 V10: a county officer cannot see its own unit's provisional shortfall — the refusal is
PostgreSQL's own words.

``report shortfall --year Y`` for a year not yet closed computes the table live from
``fl.year_figures_v3``, whose adjustment-fund part reads ``fl.entry.source`` — a column officers may
not read (0016b: they read it through ``fl.entry_source``). An officer gets
``error [permission_denied]: PostgreSQL refused: permission denied for table entry`` for the figure
that decides what its own government will owe, while the same table for a closed year is theirs
(``fl.year_closes`` gives officers their unit's rows) and ``monitor`` shows them the year's result.
Fixed when the live table is computed by a function that reads what it needs for the caller's own
unit (row security deciding the rows), and the officer sees its unit's row.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_v10_an_officer_reads_its_own_units_provisional_shortfall(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin"), collect("v10", "2024-03-01", "230822", "1000.00"))
    r = ledger_db.cli("--lang", "en", "report", "shortfall", "--year", "2024", "--json", user="o22")
    assert r.exit_code == 0, r
    assert {x["unit"] for x in r.json()} == {"230822"}, r.stdout
