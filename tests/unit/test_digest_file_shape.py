"""A filed digest's fields, each replaced by any JSON value: ``check_digest_file`` either takes
the file or refuses it as the file's fault (``BadInput``) — never another exception, which would
reach the user as a traceback or be read inside the verdict as the database's fault (ATTACK16 C8,
ATTACK17 E7, ATTACK17b F3)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import BadInput
from ledger.store.audit import check_digest_file

SOUND: dict[str, Any] = {
    "format": "fundledger-digest/3", "database": "fl", "taken_at": "2024-01-10T00:00:00+00:00", "taken_by": "aud",
    "entries": 1, "last_seq": 1, "last_entry_id": 1, "last_voucher": "RES/2024-000001", "head_hash": "0" * 64,
    "vouchers": [{"book": "RES", "fiscal_year": 2024, "last_voucher": 1}], "checkpoint_step": 1,
    "checkpoints": [{"seq": 1, "entry_id": 1, "voucher": "RES/2024-000001", "hash": "0" * 64}],
    "queued": [{"entry_id": 2, "digest": "1" * 64}],
    "unchained": [{"id": 5, "table": "fl.budget", "key": "1", "at": "2024-01-10", "digest": "2" * 64}],
    "history": {"seq": 0, "hash": "0" * 64}}

# (ATTACK19 J3) a /4 digest also records the snapshot it was taken in
SOUND4: dict[str, Any] = {**SOUND, "format": "fundledger-digest/4",
                          "snapshot": {"xmin": 7, "xmax": 9, "next": 11, "in_progress": [7, 10]}}

JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
                    | st.floats(allow_nan=False) | st.text(max_size=70),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=8)


def test_the_sound_digest_is_taken() -> None:
    check_digest_file(SOUND)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(SOUND)), value=JSON)
def test_any_value_in_any_field_is_taken_or_refused_as_the_files_fault(field: str, value: object) -> None:
    with contextlib.suppress(BadInput):       # any other exception fails the test
        check_digest_file({**SOUND, field: value})


@pytest.mark.parametrize("lst", ["vouchers", "checkpoints", "queued", "unchained"])
def test_a_row_repeated_in_a_keyed_list_is_refused(lst: str) -> None:
    row = SOUND[lst][0]
    with pytest.raises(BadInput):
        check_digest_file({**SOUND, lst: [row, dict(row)]})


def test_the_sound_v4_digest_is_taken() -> None:
    check_digest_file(SOUND4)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(["xmin", "xmax", "next", "in_progress", "other"]), value=JSON)
def test_any_value_in_the_snapshot_is_taken_or_refused_as_the_files_fault(field: str, value: object) -> None:
    with contextlib.suppress(BadInput):
        check_digest_file({**SOUND4, "snapshot": {**SOUND4["snapshot"], field: value}})


@pytest.mark.parametrize("snapshot", [None, [], {"xmin": 9, "xmax": 7, "next": 11, "in_progress": []},
                                      {"xmin": 7, "xmax": 9, "next": 8, "in_progress": []},
                                      {"xmin": 7, "xmax": 9, "next": 11, "in_progress": [11]},
                                      {"xmin": 7, "xmax": 9, "next": 11, "in_progress": [8, 8]}],
                         ids=["null", "list", "xmax<xmin", "next<xmax", "past-next", "repeated"])
def test_a_v4_snapshot_lost_or_inconsistent_is_refused(snapshot: object) -> None:
    with pytest.raises(BadInput):
        check_digest_file({**SOUND4, "snapshot": snapshot})
    with pytest.raises(BadInput):
        check_digest_file({k: v for k, v in SOUND4.items() if k != "snapshot"})
