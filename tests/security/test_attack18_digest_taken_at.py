"""ATTACK18 G1 (LOW): a damaged filed digest still makes ``audit check-digest`` accuse the database,
or silently skips a comparison — ATTACK16 C8 / ATTACK17 E7 / ATTACK17b F3's class, in fields the
shape check takes without judging.

* ``taken_at`` is checked only by ``datetime.fromisoformat``, which takes a time with no offset
  (``"2024-01-10T00:00:00"``, or a bare date ``"2024-01-10"``). ``check_digest`` then compares it
  with each later entry's ``created_at`` (offset-aware) inside the verdict's run: ``TypeError`` —
  which the verdict reports as ``illegal_state``: "the database holds a value no fundledger command
  writes … the books are not proven whole". A damaged auditor's file is reported as an unprovable
  database (exactly what C8 fixed for the history head).
* ``queued`` and ``unchained`` are read as ``digest.get(x) or []``: ``{}``, ``0``, ``false`` or
  ``""`` in a /3 digest are taken as "nothing was queued / unchained" and the comparison of the
  entries queued (ATTACK10 X9) or the versions unchained (ATTACK11 Y5) when the digest was taken is
  skipped without a word — as ``"vouchers": {}`` did before E7.

Safe behaviour asserted: each is refused as the file's fault (``bad_input``, naming the field)
before a row is read.
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
    ("taken_at", "2024-01-10T00:00:00"), ("taken_at", "2024-01-10"),
    ("queued", {}), ("queued", 0), ("queued", False), ("unchained", {}), ("unchained", ""),
], ids=["taken_at-no-offset", "taken_at-bare-date", "queued-object", "queued-zero", "queued-false",
        "unchained-object", "unchained-empty-text"])
def test_g1_a_damaged_field_is_the_files_fault(field: str, value: object) -> None:
    from ledger.errors import BadInput
    from ledger.store.audit import check_digest_file

    check_digest_file(BASE)
    with pytest.raises(BadInput):
        check_digest_file({**BASE, field: value})


def test_g1_a_taken_at_without_offset_does_not_accuse_an_honest_ledger(ledger_db, tmp_path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    assert ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud").exit_code == 0
    post(fin, collect("c2", "2024-01-11", "230822", "1000.00"))          # an honest later entry
    fin.commit()
    d = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    d["taken_at"] = d["taken_at"][:19]                                    # the offset lost (a hand copy)
    (tmp_path / "bad.json").write_text(json.dumps(d), encoding="utf-8")
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "bad.json"), user="aud")
    # On main: error [illegal_state] … (TypeError: can't compare offset-naive and offset-aware datetimes): the
    # database holds a value no fundledger command writes … the books are not proven whole
    assert "illegal_state" not in r.stderr + r.stdout and "not proven whole" not in r.stderr + r.stdout, r
    assert "bad_input" in r.stderr, r


@pytest.mark.parametrize("change", [
    {"checkpoints": [{"seq": 1, "entry_id": 1, "voucher": "RES/2024-000001", "hash": "0" * 64},
                     {"seq": 2, "entry_id": 2, "voucher": "RES/2024-000002", "hash": "1" * 64}]},
    {"head_hash": "2" * 64},
], ids=["checkpoint-beyond-last_seq", "head-not-its-own-checkpoint"])
def test_g1_a_file_that_disagrees_with_itself_is_the_files_fault(change: dict) -> None:
    """(G1's note) A checkpoint past last_seq would never be compared; a head_hash that is not the
    hash of the file's own checkpoint at last_seq would read as a fork of the ledger."""
    from ledger.errors import BadInput
    from ledger.store.audit import check_digest_file

    with pytest.raises(BadInput):
        check_digest_file({**BASE, **change})


def test_g1_a_digest_taken_after_the_servers_now_is_refused_not_judged(ledger_db, tmp_path) -> None:
    """(G1's note) taken_at after the database's clock: every honest later entry would be named
    back-dated. The file (or the clock) is at fault, and nothing is certified either way."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    assert ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud").exit_code == 0
    post(fin, collect("c2", "2024-01-11", "230822", "1000.00"))
    fin.commit()
    d = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    d["taken_at"] = "2999-01-01T00:00:00+00:00"
    (tmp_path / "future.json").write_text(json.dumps(d), encoding="utf-8")
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "future.json"), user="aud")
    assert r.exit_code != 0 and "bad_input" in r.stderr and "back-dated" not in r.stdout + r.stderr, r
