"""One history version per entry (sql/0055_entry_version.sql, issue 24).

An entry's row and its postings' memos are recorded as one version (table fl.entry, the
memos under the history's own key "_m") instead of two. Every tamper the two versions
let ``verify`` see must still be seen by both passes and by ``verify --offline`` of an
export: an entry's column rewritten, a posting's memo rewritten or added, an entry
written with the triggers off, the entry's version itself rewritten."""

from __future__ import annotations

import json

import pytest

from ledger.core import histories
from tests.integration.test_tamper_records import _accounts, _both, _tamper, _verify

pytestmark = pytest.mark.db


def _doc(key: str, memo: str | None = "clinic 7") -> dict:
    debit = {"account": "1101", "unit": "230822", "side": "D", "amount": 100}
    if memo is not None:
        debit["memo"] = memo
    return {"date": "2023-03-01", "book": "RES", "idempotency_key": key, "memo": "entry memo",
            "postings": [debit, {"account": "2001", "unit": "230822", "side": "C", "amount": 100}]}


def _post(ledger_db, key: str, memo: str | None = "clinic 7") -> int:
    fin = ledger_db.connect("fin")
    rows = fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc(key, memo)),)).fetchall()
    fin.commit()
    return int(rows[0]["entry_id"])


def test_split_entry_version_gives_the_row_and_the_memos_as_before():
    key = '{"id": 7}'
    text = '{"_m": {"12": "a \\"}, \\" b", "13": "c"}, "id": 7, "book": "RES", "memo": "x"}'
    row, memos = histories.split_entry_version(key, text)
    assert row == '{"id": 7, "book": "RES", "memo": "x"}'
    assert memos == ('{"entry_id": 7}', '{"memos": {"12": "a \\"}, \\" b", "13": "c"}, "entry_id": 7}')
    assert json.loads(memos[1])["memos"]["12"] == 'a "}, " b'
    assert histories.split_entry_version(key, '{"_m": {}, "id": 7}') == (
        '{"id": 7}', ('{"entry_id": 7}', '{"memos": {}, "entry_id": 7}'))
    # A version from before 0055 is the row alone.
    assert histories.split_entry_version(key, '{"id": 7, "memo": "x"}') == ('{"id": 7, "memo": "x"}', None)


def test_one_version_per_entry_and_a_clean_verify(ledger_db):
    eid = _post(ledger_db, "one-1")
    _post(ledger_db, "one-2", memo=None)
    admin = ledger_db.admin()
    got = admin.execute("SELECT tbl, row_key, row_data FROM fl.record_log WHERE tbl IN ('fl.entry', 'fl.posting') "
                        "ORDER BY id").fetchall()
    assert [g["tbl"] for g in got] == ["fl.entry", "fl.entry"]
    assert got[0]["row_key"] == {"id": eid} and list(got[0]["row_data"]["_m"].values()) == ["clinic 7"]
    assert got[1]["row_data"]["_m"] == {}
    doc = _verify(ledger_db)
    assert doc["ok"] is True, _both(doc)


def test_tampers_with_an_entry_and_its_memos_are_named_by_both_passes(ledger_db):
    eid = _post(ledger_db, "t-1")
    other = _post(ledger_db, "t-2", memo=None)
    assert _verify(ledger_db)["ok"] is True
    _tamper(ledger_db,
            ("UPDATE fl.entry SET memo = 'rewritten' WHERE id = %s", (eid,)),
            ("UPDATE fl.posting SET memo = 'another clinic' WHERE entry_id = %s AND memo IS NOT NULL", (eid,)),
            ("UPDATE fl.posting SET memo = 'added' WHERE entry_id = %s AND side = 'D'", (other,)))
    first, ind = _both(_verify(ledger_db))
    for failed in (first, ind):
        assert f"fl.entry id={eid}" in _accounts(failed["histories"]), failed["histories"]
        assert any("memo now" in f["message"] for f in failed["histories"]), failed["histories"]
    # The memos: the independent verdict compares them (the first pass leaves them to it).
    memo = [f for f in ind["histories"] if "posting memo" in f["message"]]
    assert {f["entry_id"] for f in memo} == {eid, other}, ind["histories"]
    assert any("another clinic" in f["message"] and "clinic 7" in f["message"] for f in memo), memo


def test_an_entry_version_rewritten_or_an_entry_without_one_is_named(ledger_db):
    eid = _post(ledger_db, "v-1")
    # The version's memos rewritten (with its own seal and link left as they were).
    _tamper(ledger_db, ("""UPDATE fl.record_log SET row_data = jsonb_set(row_data, '{_m}', '{}')
                            WHERE tbl = 'fl.entry' AND row_key = jsonb_build_object('id', %s::bigint)""", (eid,)))
    first, ind = _both(_verify(ledger_db))
    for failed in (first, ind):
        assert "history_chain" in failed, failed
    assert any(f["entry_id"] == eid and "posting memo" in f["message"] for f in ind["histories"]), ind


def test_an_entry_written_with_the_triggers_off_has_no_history(ledger_db):
    eid = _post(ledger_db, "w-1")
    admin = ledger_db.admin()
    row = admin.execute("SELECT * FROM fl.entry WHERE id = %s", (eid,)).fetchone()
    cols = [c for c in row if c != "id"]
    exprs = [f"{c} || ':copy'" if c == "idempotency_key" else c for c in cols]
    new_id = admin.execute("SELECT max(id) + 1000 AS n FROM fl.entry").fetchone()["n"]
    _tamper(ledger_db, (f"INSERT INTO fl.entry (id, {', '.join(cols)}) OVERRIDING SYSTEM VALUE "
                        f"SELECT %s, {', '.join(exprs)} FROM fl.entry WHERE id = %s", (new_id, eid)))
    first, ind = _both(_verify(ledger_db))
    for failed in (first, ind):
        hits = [f for f in failed.get("histories", []) if f"fl.entry id={new_id}" in (f["account"] or "")]
        assert hits and "no history" in hits[0]["message"], failed


def test_the_export_of_entries_recorded_since_0055_verifies_offline_and_names_a_memo(ledger_db, tmp_path):
    from ledger.io import archive

    eid = _post(ledger_db, "x-1")
    out = tmp_path / "export"
    res = ledger_db.cli("audit", "export", str(out), "--json", user="aud")
    assert res.exit_code == 0 and res.json()["verified"] is True, res
    rep = archive.verify_offline(out, no_digest=True)
    assert rep.ok, [f.as_json() for f in rep.findings]

    _tamper(ledger_db, ("UPDATE fl.posting SET memo = 'another clinic' WHERE entry_id = %s AND memo IS NOT NULL",
                        (eid,)))
    out2 = tmp_path / "export2"
    res = ledger_db.cli("audit", "export", str(out2), "--json", user="aud")
    assert res.json()["verified"] is False
    rep = archive.verify_offline(out2, no_digest=True)
    failed = {c.name: c for c in rep.checks if not c.ok}
    assert any(f.entry_id == eid and "posting memo" in f.message for f in failed["histories"].findings), failed
