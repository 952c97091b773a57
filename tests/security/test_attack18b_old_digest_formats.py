"""ATTACK18b H3: an honest ``fundledger-digest/1`` or ``/2`` file the auditor filed before ATTACK11 can
no longer be checked.

ATTACK18 G1 made ``unchained`` required whenever the digest holds a ``history`` head
(``ledger.store.audit._unchained_of``: ``_field(digest, "unchained") if "history" in digest``). But
``/1`` (0010's) and ``/2`` (ATTACK10 X9's) writers recorded the history head without ``unchained`` —
``unchained`` arrived with ``/3`` (ATTACK11 Y5). The auditors' guide: "A fundledger-digest/1 or /2
file, from before, lacks these lists and is checked as before". Every such file is now refused as
incomplete (``bad_input``: "the digest file is incomplete: it has no field unchained") on an honest
ledger: the auditor's evidence from before ATTACK11 proves nothing any more.

Safe behaviour asserted: a /1 or /2 digest as its release wrote it is checked, and an honest ledger
extends it (exit 0); /3 still requires ``unchained`` beside its history head.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


@pytest.mark.parametrize(("fmt", "drop"), [("fundledger-digest/2", ("unchained",)),
                                            ("fundledger-digest/1", ("unchained", "queued"))], ids=["v2", "v1"])
def test_h3_an_old_digest_with_a_history_head_is_still_checked(ledger_db: LedgerDB, tmp_path: Path, fmt: str,
                                                               drop: tuple[str, ...]) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    filed = tmp_path / "d.json"
    assert ledger_db.cli("audit", "digest", "--out", str(filed), user="aud").exit_code == 0
    d = json.loads(filed.read_text(encoding="utf-8"))
    assert "history" in d
    old = {k: v for k, v in d.items() if k not in drop} | {"format": fmt}     # as the /1 and /2 writers wrote it
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    post(fin, collect("c2", "2024-01-11", "230822", "1000.00"))
    fin.commit()
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "old.json"), user="aud")
    # On main: exit 2, error [bad_input]: the digest file is incomplete: it has no field unchained …
    assert r.exit_code == 0, r


def test_h3_a_v3_digest_still_needs_unchained(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from ledger.errors import BadInput
    from ledger.store.audit import check_digest_file

    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    filed = tmp_path / "d.json"
    assert ledger_db.cli("audit", "digest", "--out", str(filed), user="aud").exit_code == 0
    d = json.loads(filed.read_text(encoding="utf-8"))
    check_digest_file(d)
    with pytest.raises(BadInput):
        check_digest_file({k: v for k, v in d.items() if k != "unchained"})
