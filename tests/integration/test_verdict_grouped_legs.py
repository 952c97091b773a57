"""The API rules' legs of the entries the grouped postings judged come from the keys those
rows carry (``proof.Partial.leg_keys``, ``rules.Rules.grouped_legs``), not from the server
grouping every wanted entry's postings again (``verify_rules.LEGS_SQL``, issue 15): the legs,
their order and the verdict are what the server's grouping gave — on a clean ledger, and on
one where an entry leaves the grouped path and its legs are read by ``LEGS_SQL`` as before."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.core import rules
from ledger.store import verify_rules
from ledger.store.verify_independent import verify_independent
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db


def _ledger(ledger_db: Any) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("gl-col", "2023-02-01", "230822", "1000.00"),
         entry("gl-move", "2023-02-01", "RES", leg("1004", "230822", "D", "1000.00", "county_exp"),
               leg("1003", "230822", "C", "1000.00", "special")))
    # legs interleaved: their first-seen order is not the accounts' order
    post(fin, entry("gl-mixed", "2023-02-05", "RES", leg("5001.inpatient", "230822", "D", "2.00"),
                    leg("5001.outpatient", "230822", "D", "1.00"), leg("5001.inpatient", "230822", "D", "3.00"),
                    leg("1004", "230822", "C", "6.00", "county_exp")))
    for i in range(3):
        post(fin, entry(f"gl-{i}", "2023-02-06", "RES",
                        *[dict(leg("5001.outpatient", "230822", "D", "1.00"), line_ref=f"c{j}") for j in range(4)],
                        leg("1004", "230822", "C", "4.00", "county_exp")))
    fin.commit()


def _verdict(ledger_db: Any, monkeypatch: pytest.MonkeyPatch, grouped: bool) -> tuple[dict[int, Any], list[str], int]:
    """The rules' legs after ``verify_rules.finish``, the findings, and how many entries the
    grouped postings gave legs for; ``grouped=False``: every wanted entry by ``LEGS_SQL``."""
    seen: dict[str, Any] = {"fed": 0}
    real_finish, real_grouped = verify_rules.finish, rules.Rules.grouped_legs

    def finish(conn: Any, copy_rows: Any, r: rules.Rules) -> Any:
        out = real_finish(conn, copy_rows, r)
        seen["legs"] = dict(r.legs)
        return out

    def grouped_legs(self: rules.Rules, ids: Any, keys: Any, want: Any) -> None:
        before = len(self.legs)
        if grouped:
            real_grouped(self, ids, keys, want)
        seen["fed"] += len(self.legs) - before

    with monkeypatch.context() as m:
        m.setattr(verify_rules, "finish", finish)
        m.setattr(rules.Rules, "grouped_legs", grouped_legs)
        rep = verify_independent(ledger_db.connect("aud"))
    return seen["legs"], sorted(f"{f.check}: {f.message}" for f in rep.findings), seen["fed"]


def test_the_grouped_legs_are_the_servers(ledger_db, monkeypatch) -> None:
    _ledger(ledger_db)
    legs, findings, fed = _verdict(ledger_db, monkeypatch, grouped=True)
    want, want_findings, none = _verdict(ledger_db, monkeypatch, grouped=False)
    assert none == 0 and fed >= 4, fed
    assert legs == want       # each entry's legs in its first-posting order (the map is only looked up)
    assert findings == want_findings == []
    # first-seen order of the interleaved entry's legs
    assert any([leg[1] for leg in legs_of] == ["D", "D", "C"] for legs_of in legs.values())


def test_an_entry_off_the_grouped_path_has_its_legs_read(ledger_db, monkeypatch) -> None:
    """A DBA moves one posting to another unit with the triggers off: that entry leaves the
    grouped path (its key's unit is not its account's) and its legs are read by ``LEGS_SQL``;
    the legs and the findings are the server-grouped run's."""
    _ledger(ledger_db)
    adm = ledger_db.admin()
    pid = adm.execute("SELECT max(p.id) AS p FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
                      "WHERE e.idempotency_key = 'manual:fin:gl-1' AND p.side = 'D'").fetchone()["p"]  # type: ignore[index]
    adm.execute("SET session_replication_role = replica")
    adm.execute("UPDATE fl.posting SET unit = '230823' WHERE id = %s", (pid,))
    adm.commit()
    legs, findings, fed = _verdict(ledger_db, monkeypatch, grouped=True)
    want, want_findings, _ = _verdict(ledger_db, monkeypatch, grouped=False)
    assert fed >= 3
    assert legs == want       # each entry's legs in its first-posting order (the map is only looked up)
    assert findings == want_findings and findings
    assert any(leg[2] == "230823" for legs_of in legs.values() for leg in legs_of)
