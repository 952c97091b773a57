"""ATTACK12: an officer appends chained import batches without bound — imports that write nothing.

0085 (ATTACK10 X15) bounded what one login appends for ever per region day (acknowledgements,
fund requests, bank statements, manual entries) and left payment imports out: "entries of real
money under references unique per unit". But an import that posts nothing still appends: a
payments file of its header alone (or one whose every row is already paid and skipped) writes an
``fl.import_batch`` row, chained in the history (``fl.record_log``: two versions per call measured),
carried by every export and read by every verify, for ever. Nothing counts it (``fl.manual_day`` stays
empty) and no money is needed: an officer's loop of ``pay import header.csv`` (or the SQL behind
it) grows the permanent record without end, at no cost but its own time. Same for collections
(finance), openings and budgets (the city), which 0085 also left unbounded.

Fixed when an import that writes no entry, held entry or register line appends nothing chained (the
refusal or the notice says the file held nothing new), and imports that do write are counted in
the 0073/0085 day row like the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.store import imports
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack9_claims import PAY

pytestmark = pytest.mark.db


def _batches(db: LedgerDB) -> tuple[int, int]:
    r = db.admin().execute("SELECT (SELECT count(*) FROM fl.import_batch) AS b, "
                           "(SELECT count(*) FROM fl.record_log) AS h").fetchone()
    assert r is not None
    return int(r["b"]), int(r["h"])


def test_z_imports_that_write_nothing_append_nothing(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("z-col", "2024-03-01", "230881", "1000.00"),
         entry("z-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000.00", "county_exp"),
               leg("1003", "230881", "C", "1000.00", "special")))
    real = tmp_path / "real.csv"
    real.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,1.00,Z-E1,,county\n", "utf-8")
    o81 = ledger_db.connect("o81", autocommit=True)
    assert imports.import_file(o81, "payments", real).rows_posted == 1
    before = _batches(ledger_db)
    empty = tmp_path / "header.csv"
    empty.write_text(f"{PAY}\n", "utf-8")
    for _ in range(20):
        assert imports.import_file(o81, "payments", empty).rows_posted == 0
        assert imports.import_file(o81, "payments", real).rows_posted == 0        # every row already paid
    after = _batches(ledger_db)
    assert after == before, (
        f"40 payment imports that posted, held and filed nothing appended {after[0] - before[0]} import batches and "
        f"{after[1] - before[1]} history versions (uncounted by any daily cap)")
