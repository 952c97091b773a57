"""ATTACK10 X10: KIND_ROLES is the require_role of the function writing each kind, as sql/ defines it last,
and the Writers judge names an entry by no user, by a role its kind does not take, or stamped for another."""

from __future__ import annotations

import re
from pathlib import Path

from ledger.core import entry_writers, rules
from ledger.core.entry_writers import KIND_FUNCTIONS, KIND_ROLES, Writers

SQL = Path(__file__).resolve().parents[2] / "sql"


def _latest_roles(action: str) -> frozenset[str]:
    """The roles of the last migration's ``fl.require_role(ARRAY[...], '<action>')``."""
    pat = re.compile(r"require_role\(ARRAY\[([^\]]*)\],\s*'" + re.escape(action) + "'")
    found: frozenset[str] | None = None
    for f in sorted(SQL.glob("0*.sql")):
        for m in pat.finditer(f.read_text()):
            found = frozenset(x.strip().strip("'") for x in m.group(1).split(","))
    assert found is not None, f"no require_role for {action!r} in sql/"
    return found


def test_kind_roles_are_the_functions_require_role() -> None:
    for kind, action in KIND_FUNCTIONS.items():
        assert KIND_ROLES[kind] == _latest_roles(action), kind
    # register_clear: arrears and government payments (finance), unpaid claims (reviewer)
    assert KIND_ROLES["register_clear"] == (_latest_roles("record government payments")
                                            | _latest_roles("clear unpaid provider claims"))
    assert set(KIND_ROLES) == set(rules.NAMESPACES)              # every kind an operation writes has its row


def _judge(users: dict[str, str]) -> tuple[Writers, list[tuple[str, str, int]]]:
    out: list[tuple[str, str, int]] = []
    return Writers(users, lambda check, message, eid: out.append((check, message, eid))), out


def test_an_entry_by_no_user_or_by_the_wrong_role_is_named() -> None:
    w, out = _judge({"fin": "finance", "off": "officer", "rev": "reviewer"})
    w.entry(1, "collections", "collections:230822:a", "fin")
    w.entry(2, "collections", "collections:230822:b", "postgres")
    w.entry(3, "collections", "collections:230822:c", "off")
    w.entry(4, "year_close", "yearclose:x", "fin")
    w.entry(5, "manual", "manual:off:x", "off")
    assert [e for _c, _m, e in out] == [2, 3, 4]
    assert all(c == entry_writers.CHECK for c, _m, _e in out)
    assert "not a fundledger user" in out[0][1]


def test_an_entry_of_a_kind_no_command_writes_is_named() -> None:
    """0090 moved entry_kind_known from a CHECK into fl.entry_stamp, a body a superuser can
    suspend for one call: the verdict names the kind itself."""
    w, out = _judge({"fin": "finance"})
    w.entry(7, "gift", "manual:fin:x", "fin")
    w.entry(8, "manual", "manual:fin:y", "fin")
    assert [e for _c, _m, e in out] == [7] and "'gift'" in out[0][1]


def test_the_kinds_are_the_ones_fl_entry_stamp_takes() -> None:
    text = max(SQL.glob("0*.sql"), key=lambda f: f.name if "entry_kind_known'" in f.read_text() else "")
    m = re.search(r"NEW\.kind NOT IN \(([^)]*)\)", text.read_text())
    assert m, text
    assert {k.strip().strip("'") for k in m.group(1).split(",")} == set(KIND_ROLES)


def test_the_history_actor_is_registered_and_the_writer() -> None:
    w, out = _judge({"fin": "finance", "rev": "reviewer"})
    w.history({"fin": [1, 2], "postgres": [3], "rev": [4]})
    writer = {1: "fin", 2: "rev", 3: "fin", 4: "rev"}
    w.finish(writer.get, frozenset())
    assert sorted(e for _c, _m, e in out) == [2, 3]
    w2, out2 = _judge({"fin": "finance"})
    w2.history({"postgres": [7]})
    w2.finish(lambda _e: None, frozenset({7}))               # recorded before the history: not judged
    assert out2 == []
