"""ATTACK18b H8: 0146's fold lookup picks ONE of the other register's look-alikes — the earliest — and
if that one was rejected (released, 0063) the county pays a claim another look-alike still stands for.

``fl.import_payments`` (0146) sets ``reg_ref`` from ``SELECT DISTINCT ON (namespace, reference_fold(...))
… ORDER BY …, batch_id, row_no``: the other side's first stored look-alike. A bureau register written
before 0134/0141 may hold two (0141's index on the fold is not unique; F4 was exactly that): the
bureau's 囗丨1 (batch 1, paid from the county's account, held, rejected by city finance) and its
re-import 口丨1 (batch 2, held, confirmed: paid). The county officer's 口|1 (what both read as) is
folded to 囗丨1, found released (0063), and posted: the claim the bureau's confirmed 口丨1 paid is
paid a second time out of the same county account. The verdict's ``claims_once`` names it (its dict
keeps the standing one) — the database allowed what its twin forbids.

The history before 0134/0141 is made as those releases made it (the two reference triggers off for
the bureau's two imports, as test_claim_paid_once_folded does for one).

Safe behaviour asserted: the county's row is skipped or refused, never posted; the claim is paid once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_claim_paid_once_folded import PAY, _fund

pytestmark = pytest.mark.db


def _bureau_before_0134(db: LedgerDB, ref: str, amount: str, fname: str) -> int:
    a = db.admin()
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_hanzi")
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_lookalike")
    try:
        c = db.connect("rev")
        c.execute("SELECT fl.import_stage('payments')")
        c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, "
                  "reference, component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', '某某医院', "
                  "'inpatient', %s, %s, '', 'county')", (amount, ref))
        out = c.execute("SELECT fl.import_payments(%s, NULL) AS r", (fname,)).fetchone()["r"]
        c.commit()
        c.close()
    finally:
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_hanzi")
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_lookalike")
    assert isinstance(out, dict) and len(out["held"]) == 1, out
    return int(out["held"][0])


def test_h8_a_released_look_alike_does_not_release_the_standing_one(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    first = _bureau_before_0134(ledger_db, "\u56d7\u4e281", "800.00", "b1.csv")        # 囗丨1
    r = ledger_db.cli("entry", "reject", str(first), "--reason", "wrong amount", user="fin")
    assert r.exit_code == 0, r
    second = _bureau_before_0134(ledger_db, "\u53e3\u4e281", "800.00", "b2.csv")       # 口丨1
    assert ledger_db.cli("entry", "confirm", str(second), user="fin").exit_code == 0
    f = tmp_path / "c.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,口|1,,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    paid = ledger_db.admin().execute(
        "SELECT p.line_ref, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.side = 'D' ORDER BY p.id").fetchall()
    # On main: [口丨1 by rev (confirmed by fin), 口|1 by o81] — one claim paid twice from the county's account
    assert len(paid) == 1, (paid, r)


def test_h8_a_rejected_exact_duplicate_does_not_release_a_paid_look_alike(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The mirror: the bureau paid 囗腔-1 before 0134 (confirmed); between 0134 and 0141 its file came
    again as 口腔-1 (F4 let it in), and finance rightly rejected that duplicate. The exact 口腔-1 is
    preferred to the fold (``NOT EXISTS`` an exact line) and is released (0063): the county's 口腔-1
    posts — the claim the bureau's 囗腔-1 paid is paid twice."""
    _fund(ledger_db)
    paid = _bureau_before_0134(ledger_db, "\u56d7腔-1", "800.00", "b1.csv")              # 囗腔-1
    assert ledger_db.cli("entry", "confirm", str(paid), user="fin").exit_code == 0
    dup = _bureau_before_0134(ledger_db, "口腔-1", "800.00", "b2.csv")                    # the file again
    assert ledger_db.cli("entry", "reject", str(dup), "--reason", "already paid as 囗腔-1", user="fin").exit_code == 0
    f = tmp_path / "c.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,口腔-1,,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    rows = ledger_db.admin().execute(
        "SELECT p.line_ref, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.side = 'D' ORDER BY p.id").fetchall()
    # On main: [囗腔-1 by rev (confirmed by fin), 口腔-1 by o81] — paid twice from the county's account
    assert len(rows) == 1, (rows, r)
