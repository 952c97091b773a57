"""ATTACK17 E7: ATTACK16 C8's class left open in the digest's other fields — a damaged filed digest
still makes ``audit check-digest`` accuse the database.

C8 made the chained history's head (``history.seq``/``hash``) refused as the file's fault, booleans
and fractions included. The rest of the file is read by ``int(...)`` (``ledger/store/audit.py``
``_load``), which takes ``true`` as 1, ``34.9`` as 34 and ``"35"`` as 35, and iterates whatever
``vouchers`` holds (``{}`` passes as "no voucher to compare"). A digest whose ``last_seq`` reads
``true`` makes check-digest name every later entry of an honest ledger "not in the digest but
created … before the digest was taken: inserted after the fact, back-dated" (39 findings on the
README's ledger); ``"vouchers": {}`` silently drops the per-book voucher comparison and says "all
invariants hold". ``check_digest_file``'s docstring promises "Every field of a filed digest checked
for its shape".

Safe behaviour asserted: each such field is refused as the file's fault (``bad_input`` naming the
field), before any row is read.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import collect, post

pytestmark = pytest.mark.db

BASE = {"format": "fundledger-digest/3", "last_seq": 1, "head_hash": "0" * 64,
        "checkpoints": [{"seq": 1, "entry_id": 1, "voucher": "RES/2024-000001", "hash": "0" * 64}],
        "taken_at": "2024-01-10T00:00:00+00:00", "vouchers": [{"book": "RES", "fiscal_year": 2024, "last_voucher": 1}],
        "queued": [], "unchained": [], "history": {"seq": 0, "hash": "0" * 64}}


@pytest.mark.parametrize(("field", "value"), [
    ("last_seq", True), ("last_seq", 1.5), ("last_seq", -3),
    ("checkpoints", [{"seq": True, "entry_id": 1, "voucher": "RES/2024-000001", "hash": "0" * 64}]),
    ("vouchers", {}), ("vouchers", [{"book": "RES", "fiscal_year": 2024, "last_voucher": 1.5}]),
], ids=["last_seq-boolean", "last_seq-fraction", "last_seq-negative", "checkpoint-seq-boolean", "vouchers-object",
        "last_voucher-fraction"])
def test_e7_every_damaged_field_is_the_files_fault(field: str, value: object) -> None:
    from ledger.errors import BadInput
    from ledger.store.audit import check_digest_file

    check_digest_file(BASE)                          # a sound digest passes
    with pytest.raises(BadInput):
        check_digest_file({**BASE, field: value})


def test_e7_a_boolean_last_seq_does_not_accuse_an_honest_ledger(ledger_db, tmp_path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"), collect("c2", "2024-01-11", "230822", "1000.00"),
         collect("c3", "2024-01-12", "230822", "1000.00"))
    fin.commit()
    assert ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud").exit_code == 0
    d = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    d["last_seq"] = True
    (tmp_path / "bad.json").write_text(json.dumps(d), encoding="utf-8")
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "bad.json"), user="aud")
    # On main: exit 1, findings "not in the digest but created … inserted after the fact, back-dated"
    assert "back-dated" not in r.stdout and "bad_input" in r.stderr, r
