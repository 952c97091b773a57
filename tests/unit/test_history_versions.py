"""Later versions of a row in the chained history (ATTACK3 R8), judged without a database."""

from __future__ import annotations

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
