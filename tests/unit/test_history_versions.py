"""Later versions of a row in the chained history (ATTACK3 R8), judged without a database."""

from __future__ import annotations

import functools
import json

from ledger.core import histories


def _v(i: int, tbl: str, op: str, key: str, row: str) -> list[str]:
    return [str(i), str(i), tbl, op, key, row, "dba", "2026-12-06 04:00:00+00", "\\x00", "\\x00"]


def test_a_second_insert_of_a_row_is_named_with_what_it_changed() -> None:
    s = histories.scan_full([
        _v(1, "fl.app_user", "INSERT", '{"name": "o22"}', '{"name": "o22", "role": "officer"}'),
        _v(2, "fl.app_user", "INSERT", '{"name": "o22"}', '{"name": "o22", "role": "admin"}'),
        _v(3, "fl.closed_period", "INSERT", '{"month": "2023-01-01"}', '{"month": "2023-01-01"}'),
        _v(4, "fl.closed_period", "INSERT", '{"month": "2023-01-01"}', '{"month": "2023-01-01"}'),
    ], [["4", "\\x00"]], 10)
    named = {f.account: f.message for f in s.changes}
    assert set(named) == {"fl.app_user name=o22", "fl.closed_period month=2023-01-01"}
    assert "inserted again" in named["fl.app_user name=o22"] and 'role "officer" → "admin"' in named[
        "fl.app_user name=o22"]
    assert "the same values" in named["fl.closed_period month=2023-01-01"]


def test_an_entrys_postings_written_by_two_statements_are_not_a_finding() -> None:
    """Each statement records the memos of its own postings: their memos together are the
    entry's; only a posting recorded twice is named."""
    s = histories.scan_full([
        _v(1, "fl.posting", "INSERT", '{"entry_id": 7}', '{"memos": {"10": "a"}, "entry_id": 7}'),
        _v(2, "fl.posting", "INSERT", '{"entry_id": 7}', '{"memos": {"11": "b"}, "entry_id": 7}'),
        _v(3, "fl.posting", "INSERT", '{"entry_id": 8}', '{"memos": {"20": "x"}, "entry_id": 8}'),
        _v(4, "fl.posting", "INSERT", '{"entry_id": 8}', '{"memos": {"20": "y"}, "entry_id": 8}'),
    ], [["4", "\\x00"]], 10)
    assert [f.account for f in s.changes] == ["fl.posting entry_id=8"]
    assert "posting(s) 20" in s.changes[0].message
    import json

    assert json.loads(s.latest["fl.posting"]['{"entry_id": 7}'])["memos"] == {"10": "a", "11": "b"}


def test_an_update_of_a_mutable_column_is_not_a_finding() -> None:
    s = histories.scan_full([
        _v(1, "fl.fund_request", "INSERT", '{"id": 1}', '{"id": 1, "state": "submitted"}'),
        _v(2, "fl.fund_request", "UPDATE", '{"id": 1}', '{"id": 1, "state": "approved"}'),
    ], [["2", "\\x00"]], 10)
    assert s.changes == []


def _held(i: int, op: str, **cols: object) -> list[str]:
    import json

    row = {"id": 5, "kind": "manual", "state": "held", "made_by": "fin", "entry_id": None, "decided_by": None,
           "decided_at": None, "idempotency_key": "manual:fin:k1", **cols}
    return _v(i, "fl.pending_entry", op, '{"id": 5}', json.dumps(row, ensure_ascii=False))


def test_a_held_entry_kept_by_digest_judges_its_decision_as_the_full_texts_do() -> None:
    """The online verdict keeps a held entry's latest version as a digest and a projection
    of the columns the actors check reads (memory); its decision (an UPDATE of the columns
    the release changes) is passed by the stable digest, and an UPDATE of any other column
    is judged beside the version before it exactly as the scan of the full texts judges it."""
    decided = {"state": "confirmed", "decided_by": "rev", "entry_id": 9, "decided_at": "2026-12-06"}
    clean = [_held(1, "INSERT"), _held(2, "UPDATE", **decided)]
    forged = [*clean, _held(3, "UPDATE", **decided, made_by="rev", kind="opening")]
    for log in (clean, forged):
        full = histories.scan_full(log, [[str(len(log)), "\\x00"]], 10)
        dig = histories.scan_full(log, [[str(len(log)), "\\x00"]], 10, digested=["fl.pending_entry"])
        assert not dig.changes or log is forged
        texts = {int(r[0]): r[5] for r in log}
        histories.judge_deferred(dig, lambda ids, t=texts: {i: t[i] for i in ids}, 10)
        assert [(f.account, f.message) for f in dig.changes] == [(f.account, f.message) for f in full.changes]
        assert dig.digested["fl.pending_entry"]['{"id": 5}'][0] == len(log)
        kept = json.loads(dig.latest["fl.pending_entry"]['{"id": 5}'])
        assert kept == {k: v for k, v in json.loads(log[-1][5]).items() if k in histories.PROJECTED["fl.pending_entry"]}
    assert len(full.changes) == 1 and "made_by" in full.changes[0].message and "kind" in full.changes[0].message


def _link(i: int, seq: int, prev: bytes) -> tuple[list[str], bytes]:
    import hashlib

    r = [str(i), str(seq), "fl.unit", "INSERT", f'{{"code": "{i}"}}', f'{{"code": "{i}"}}',
         "dba", "2026-12-06 04:00:00+00", "\\x" + prev.hex(), ""]
    h = hashlib.sha256(prev + "|".join((r[1], r[2], r[3], r[6], r[4], r[5])).encode()).digest()
    r[9] = "\\x" + h.hex()
    return r, h


def test_the_history_chain_is_checked_streaming_whatever_order_the_ids_give_the_seqs() -> None:
    """The links are judged in seq order as the versions pass in id order (nothing kept per
    version): a version chained after a later id is judged once its turn comes, and a
    removed version is named as one sorted list names it."""
    prev = histories.GENESIS
    chain = []
    for seq in range(1, 7):
        r, prev = _link(seq, seq, prev)
        chain.append(r)
    head = [["6", "\\x" + prev.hex()]]
    swapped = [chain[0], chain[2], chain[1], chain[4], chain[3], chain[5]]     # seq 3 at a lower id than 2
    s = histories.scan_full(swapped, head, 10)
    assert s.chain.ok and s.chain.checked == 6, [f.message for f in s.chain.findings]
    gone = [r for r in chain if r[1] != "3"]
    s = histories.scan_full(gone, [["5", head[0][1]]], 10)
    msgs = [f.message for f in s.chain.findings]
    assert "history version 4 where 3 was expected (versions removed or renumbered)" in msgs, msgs
    assert "history version 4 does not follow version 3 (versions removed, inserted or reordered)" in msgs, msgs
    twice = [*chain, chain[2]]
    s = histories.scan_full(twice, head, 10)
    assert not s.chain.ok and s.chain.checked == 7


def test_a_side_sessions_rows_digest_matches_only_rows_equal_to_their_recorded_versions() -> None:
    """The held entries and held lines come back from the side session as one digest
    (verify_records.RowsDigest): it passes only when every row equals its recorded
    latest version and none is missing or extra; anything else is read again and named."""
    from ledger.store import verify_records as vr

    v = histories.Versions()
    rows = {'{"id": 1}': b"\x01" * 32, '{"id": 2}': b"\x02" * 32}
    for i, (k, d) in enumerate(rows.items(), 1):
        v.put(k, i, d, None)
    same = vr.RowsDigest(2, vr.pairs_digest(rows.items()))
    assert vr.matches(same, {}, v)
    assert v['{"id": 2}'] == (2, b"\x02" * 32) and v.stable('{"id": 2}') is None
    changed = vr.RowsDigest(2, vr.pairs_digest({**rows, '{"id": 2}': b"\x03" * 32}.items()))
    gone = vr.RowsDigest(1, vr.pairs_digest(list(rows.items())[:1]))
    extra = vr.RowsDigest(3, vr.pairs_digest({**rows, '{"id": 3}': b"\x03" * 32}.items()))
    assert not vr.matches(changed, {}, v) and not vr.matches(gone, {}, v) and not vr.matches(extra, {}, v)
    assert not vr.matches(same, {'{"pending_id": 1, "pos": 1}': "{}"}, v)   # a version kept as text
    assert not vr.matches(same, {}, None)


def test_the_stable_digest_is_equal_exactly_when_the_columns_an_update_may_not_touch_are_equal() -> None:
    """stable_digest through orjson's one sorted text (``jsonfast.canonical``) where it tells
    values apart, ``repr`` where it may not (a float: orjson prints NaN as null; an integer
    past 64 bits, a lone surrogate: orjson refuses them). Key order, the history's own
    keys and the columns the release changes never count; any other column does, and a
    digest of either way never equals one of the other (those versions are judged in full)."""
    from ledger.core import jsonfast

    sd = functools.partial(histories.stable_digest, "fl.pending_entry")
    row = {"id": 5, "made_by": "fin", "units": ["230800"], "source": {"a": [1, {"b": None}]}, "state": "held"}
    same = {"state": "confirmed", "decided_by": "rev", "_m": {"1": "x"}, "source": {"a": [1, {"b": None}]},
            "units": ["230800"], "made_by": "fin", "id": 5}
    assert sd(row) == sd(same) is not None
    for changed in ({"made_by": "rev"}, {"units": ["230801"]}, {"source": {"a": [1, {"b": 0}]}}, {"id": True},
                    {"id": 5.0}, {"kind": None}):
        assert sd(row) != sd({**row, **changed}), changed
    for odd in (float("nan"), 2**70, "\ud800", 1.5):
        assert jsonfast.canonical({"v": odd}) is None
        assert sd({**row, "memo": odd}) == sd({**row, "memo": odd}) != sd({**row, "memo": None})
    assert sd({**row, "memo": float("nan")}) != sd({**row, "memo": None})
    assert sd([1]) is None


def test_loads_floatless_says_whether_the_value_holds_a_float() -> None:
    from ledger.core import jsonfast

    assert jsonfast.loads_floatless('{"a": [1, {"b": "1.5"}]}') == ({"a": [1, {"b": "1.5"}]}, True)
    for text in ('{"a": [1, {"b": 1.5}]}', "18446744073709551616", '[1e400]', "NaN"):
        value, floatless = jsonfast.loads_floatless(text)
        assert not floatless and repr(value) == repr(json.loads(text))
