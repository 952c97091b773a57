"""ATTACK16 C8: a filed digest whose ``history`` object is damaged makes `audit check-digest`
declare the *database* unprovable.

`audit check-digest FILE` schema-checks most of a digest file — a checkpoint, voucher, queued or
unchained row of the wrong shape is ``bad_input: the digest file is damaged or incomplete`` — but
not the chained history's head (``"history": {"seq": …, "hash": …}``). ``{}`` or ``{"seq": "x"}``
reach the independent verdict, whose reading error is reported as the books' fault:

    错误 [illegal_state]: 独立核验无法判定账簿中的行（KeyError: 'seq'）：数据库中有 fundledger 任何命令都
    不会写入的值……因此不能证明账簿完整；请按审计指南中的原始查询找到该行并报告

The auditor is told the ledger holds values no command writes and cannot be proven whole — the
accusation the proof reserves for a tampering DBA — when the file the auditor keeps (outside the
database, by design) is what is damaged. Whoever can touch the auditor's filed digests can raise a
false alarm against an honest database.

Safe behaviour asserted: a damaged ``history`` is refused as the digest file's fault (``bad_input``,
naming the file), never ``illegal_state`` about the books.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import collect, post

pytestmark = pytest.mark.db


@pytest.mark.parametrize("history", [{}, {"seq": "x", "hash": "ab"}], ids=["empty", "seq-not-a-number"])
def test_a_damaged_history_head_is_the_digest_files_fault(ledger_db, tmp_path, history):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    assert ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud").exit_code == 0
    d = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    d["history"] = history
    (tmp_path / "bad.json").write_text(json.dumps(d), encoding="utf-8")
    r = ledger_db.cli("audit", "check-digest", str(tmp_path / "bad.json"), user="aud")
    assert r.exit_code != 0, r
    # On main: "error [illegal_state]: the independent verdict could not judge a row of the ledger
    # (KeyError: 'seq') … cannot prove the books whole"
    assert "illegal_state" not in r.stderr and "bad_input" in r.stderr, r.stderr


@pytest.mark.parametrize("history", ["x", {"seq": -1, "hash": "0" * 64}, {"seq": True, "hash": "0" * 64},
                                     {"seq": 1, "hash": "zz"}, {"seq": 1.5, "hash": "0" * 64}],
                         ids=["a-string", "seq-negative", "seq-a-boolean", "hash-not-hex", "seq-a-fraction"])
def test_every_damaged_history_head_is_refused_naming_the_file_and_field(history):
    from ledger.errors import BadInput
    from ledger.store.audit import check_digest_file

    d = {"format": "fundledger-digest/3", "last_seq": 0, "head_hash": "0" * 64, "checkpoints": [],
         "taken_at": "2024-01-10T00:00:00+00:00", "vouchers": [], "queued": [], "unchained": [], "history": history}
    with pytest.raises(BadInput) as e:
        check_digest_file(d)
    assert "history" in e.value.message, e.value.message
    check_digest_file({**d, "history": {"seq": 0, "hash": "0" * 64}})   # a sound head passes
