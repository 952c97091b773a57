"""ATTACK17b F3 (LOW): E7's shape check passes a digest whose lists repeat a key — two vouchers
rows for one (book, fiscal year), two checkpoints of one seq — or whose whole numbers are past
any bigint; the loader keeps the last of each repeat (a dict), so a damaged file still makes
``audit check-digest`` accuse an honest ledger, or fails in the database instead of naming the
field.

Safe behaviour asserted: a repeated key in a list of the digest, and a whole number past the
database's range (2^63 − 1), are the file's fault: ``bad_input`` naming the field, no finding
against the ledger.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import collect, post

pytestmark = pytest.mark.db


def _digest(ledger_db: Any, tmp_path: Any) -> dict[str, Any]:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"), collect("c2", "2024-01-11", "230822", "1000.00"),
         collect("c3", "2024-01-12", "230822", "1000.00"))
    fin.commit()
    assert ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud").exit_code == 0
    d: dict[str, Any] = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    return d


def _check(ledger_db: Any, tmp_path: Any, d: dict[str, Any]) -> Any:
    (tmp_path / "bad.json").write_text(json.dumps(d), encoding="utf-8")
    return ledger_db.cli("audit", "check-digest", str(tmp_path / "bad.json"), user="aud")


def test_a_repeated_voucher_row_is_the_files_fault(ledger_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = _digest(ledger_db, tmp_path)
    assert _check(ledger_db, tmp_path, d).exit_code == 0          # the honest digest: whole
    v = d["vouchers"][0]
    d["vouchers"] = [v, {**v, "last_voucher": v["last_voucher"] + 50}]
    r = _check(ledger_db, tmp_path, d)
    assert r.exit_code != 0 and "bad_input" in r.stderr and "vouchers" in r.stderr, (r.stdout, r.stderr)


def test_a_repeated_checkpoint_is_the_files_fault(ledger_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = _digest(ledger_db, tmp_path)
    c = d["checkpoints"][0]
    d["checkpoints"] = [c, {**c, "hash": "f" * 64}]
    r = _check(ledger_db, tmp_path, d)
    assert r.exit_code != 0 and "bad_input" in r.stderr and "checkpoints" in r.stderr, (r.stdout, r.stderr)


@pytest.mark.parametrize("field", ["last_seq", "history"])
def test_a_number_past_bigint_is_the_files_fault(ledger_db, tmp_path, field: str) -> None:  # type: ignore[no-untyped-def]
    d = _digest(ledger_db, tmp_path)
    if field == "history":
        d["history"] = {**d["history"], "seq": 2 ** 64}
    else:
        d[field] = 2 ** 64
    r = _check(ledger_db, tmp_path, d)
    assert "Traceback" not in r.stderr and "bad_input" in r.stderr and field in r.stderr, (r.stdout, r.stderr)
