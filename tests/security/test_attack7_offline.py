"""ATTACK7 U6: verify --offline hashed each export file, then opened it again by name to
prove it. Whoever could write the export's directory swapped each file right after its
hash was taken, and the verdict said "authenticated, all ok" for bytes the filed digest
never covered. Now the export is copied, each file read once, into a directory only the
verifier uses; what is hashed and what is proven are the same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.io import archive
from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_a_file_swapped_after_its_hash_is_not_what_is_proven(ledger_db: LedgerDB, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("u6-c1", "2023-01-05", "230822", "1000.00"))
    fin.commit()
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    honest = archive.verify_offline(out, filed)
    assert honest.ok
    posting = out / "tables" / "posting.csv"
    forged = posting.read_text("utf-8").replace("100000", "900000")
    assert forged != posting.read_text("utf-8")
    real = archive.check_files
    swapped: list[bool] = []

    def check_then_swap(directory: Path, *a: Any, **k: Any) -> Any:
        res = real(directory, *a, **k)
        if not swapped:          # the attacker's swap, right after the hashes were taken
            swapped.append(True)
            posting.write_text(forged, "utf-8")
        return res

    monkeypatch.setattr(archive, "check_files", check_then_swap)
    got = archive.verify_offline(out, filed)
    assert swapped
    assert got.ok and got.extra["authenticated"] is True
    assert json.dumps([c.checked for c in got.checks]) == json.dumps([c.checked for c in honest.checks])
    assert got.extra["directory"] == str(out)
