"""ledger.core.since_digest: what check-digest lists as changed since a digest, pure."""

from __future__ import annotations

import json

from ledger.core import since_digest


def _v(i: int, seq: int | None, tbl: str, key: dict, row: dict, actor: str, op: str = "UPDATE") -> list[str]:  # type: ignore[type-arg]
    return [str(i), "" if seq is None else str(seq), tbl, op, json.dumps(key), json.dumps(row), actor,
            "2026-01-01 00:00:00+00", "", "", "", ""]


REQ = "fl.fund_request"
R1 = {"id": 1, "state": "submitted", "approved_by": None, "amount_approved": None, "unit": "230822"}
USERS = {"rev": "reviewer", "fin": "finance"}


def _cur(**rows: dict) -> dict[str, dict[str, str]]:  # type: ignore[type-arg]
    return {REQ: {json.dumps({"id": r["id"]}): json.dumps(r) for r in rows.values()}}


def test_a_workflow_change_by_a_user_is_explained_and_one_by_the_dba_is_not() -> None:
    approved = R1 | {"state": "approved", "approved_by": "rev", "amount_approved": 5}
    forged = approved | {"approved_by": "rev2"}
    log = [_v(1, 1, REQ, {"id": 1}, R1, "o22", "INSERT"), _v(2, 2, REQ, {"id": 1}, approved, "rev"),
           _v(3, None, REQ, {"id": 1}, forged, "postgres")]
    got = since_digest.changes_since(log, 1, _cur(a=forged), USERS)
    assert got.records == 1
    ok, bad = got.changes
    assert ok.explained and ok.by == "rev" and ok.role == "reviewer" and ok.history_version == 2
    assert ok.columns == {"amount_approved": {"before": None, "after": 5}, "approved_by": {"before": None, "after": "rev"},
                          "state": {"before": "submitted", "after": "approved"}}
    assert not bad.explained and bad.by == "postgres" and bad.history_version is None and bad.history_id == 3
    res = since_digest.check(got, 10)
    assert not res.ok and [f.account for f in res.findings] == ["fl.fund_request id=1"]


def test_a_change_no_version_recorded_and_a_row_gone_are_findings() -> None:
    log = [_v(1, 1, REQ, {"id": 1}, R1, "o22", "INSERT"), _v(2, 1, REQ, {"id": 2}, R1 | {"id": 2}, "o22", "INSERT")]
    got = since_digest.changes_since(log, 2, _cur(a=R1 | {"approved_by": "rev"}), USERS)
    reasons = {json.dumps(c.record): c.reason for c in got.changes if not c.explained}
    assert "no history version" in reasons['{"id": 1}'] and "gone" in reasons['{"id": 2}']


def test_nothing_changed_nothing_created_before_and_unreadable_tables() -> None:
    later = _v(2, 2, REQ, {"id": 9}, R1 | {"id": 9}, "o22", "INSERT")    # created after the digest: not listed
    log = [_v(1, 1, REQ, {"id": 1}, R1, "o22", "INSERT"), later]
    assert since_digest.changes_since(log, 1, _cur(a=R1, b=R1 | {"id": 9}), USERS).changes == []
    assert since_digest.changes_since(log, 1, {}, USERS).changes == []        # fl.fund_request unreadable here
    assert since_digest.check(since_digest.changes_since(log, 1, {}, USERS), 10).ok
