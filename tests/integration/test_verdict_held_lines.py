"""The held lines' digests (verify_records.HELD_LINES_DIGEST_SQL): the online verdict prints
each held entry's lines by concatenation, unescaped, with no sort inside the aggregate, for
speed (issue 15). The text digested must equal the history's recorded one on a clean ledger
(else every held entry would be read again, and the speed lost), whatever its line
references and memos hold — a row whose text is not the JSON text is read again exactly; a
held line changed behind the history's back is still named, and so is one forged to print,
unescaped, as the recorded lines."""

from __future__ import annotations

import hashlib

import pytest

from ledger.store import verify_records
from ledger.store.verify_independent import copy_rows, pin, verify_independent
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

AWKWARD = ['quote " and back\\slash', "line\nbreak\ttab", "结算 settlement", "", "a, b; c: d|e"]


def _held_ledger(ledger_db) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("hl-col", "2023-02-01", "230822", "1000.00"),
         entry("hl-move", "2023-02-01", "RES", leg("1004", "230822", "D", "1000.00", "county_exp"),
               leg("1003", "230822", "C", "1000.00", "special")))
    for i, text in enumerate(AWKWARD):
        # (0107) a line reference holds no control character: the line break and tab stay in the memo
        ref = text.replace("\n", " ").replace("\t", " ") or None
        legs = [dict(leg("5001.outpatient", "230822", "D", "1.00"), line_ref=ref, memo=text)
                for _ in range(3)]
        post(fin, entry(f"hl-{i}", "2023-02-05", "RES", *legs,
                        leg("1004", "230822", "C", "3.00", "county_exp"), memo=text))
    fin.commit()


def test_the_fast_held_lines_text_is_the_recorded_one(ledger_db) -> None:
    """Each held entry's fast text has the digest of its latest recorded version: a clean
    ledger reads no held entry twice."""
    _held_ledger(ledger_db)
    c = ledger_db.connect("aud")
    try:
        pin(c)
        fast = verify_records.row_digests(c, copy_rows, verify_records.HELD, ["pending_id"])
        exact = {r[0]: hashlib.sha256(r[1].encode()).digest()
                 for r in copy_rows(c, verify_records.HELD_LINES_TEXT_SQL)}
        recorded: dict[str, bytes] = {}
        for r in copy_rows(c, "SELECT t.row_key::pg_catalog.text, t.row_data::pg_catalog.text FROM fl.record_log t "
                              "WHERE t.tbl = 'fl.pending_posting' ORDER BY t.id"):
            recorded[r[0]] = hashlib.sha256(r[1].encode()).digest()
        c.rollback()
    finally:
        c.close()
    assert len(fast) >= len(AWKWARD) + 1
    assert fast == exact
    assert {k: v for k, v in recorded.items() if k in fast} == fast
    rep = verify_independent(ledger_db.connect("aud"))
    assert rep.ok, [f.message for f in rep.findings]


def test_a_held_line_changed_behind_the_history_is_named(ledger_db) -> None:
    """A DBA changes a confirmed entry's held line with the triggers off: the fast digest
    differs, the row is read again exactly and named with the field that changed."""
    _held_ledger(ledger_db)
    adm = ledger_db.admin()
    pid = adm.execute("SELECT max(pending_id) AS p FROM fl.pending_posting").fetchone()["p"]  # type: ignore[index]
    adm.execute("SET session_replication_role = replica")
    adm.execute("UPDATE fl.pending_posting SET amount = amount + 1 WHERE pending_id = %s AND pos = 2", (pid,))
    adm.commit()
    rep = verify_independent(ledger_db.connect("aud"))
    named = {f.account: f.message for f in rep.findings if f.check == "histories"}
    assert f"fl.pending_posting pending_id={pid}" in named, named


def test_a_memo_forged_to_print_as_the_next_line_is_named(ledger_db) -> None:
    """The fast text is unescaped: a DBA who deletes a held entry's second line and writes it
    into the first line's memo — ``m"], [pos, account, "unit", "D", amount, "ref", "m`` —
    makes that text print as the recorded two lines. The double quotes are counted
    (``verify_records._plain_json``): that row is read again exactly, and named."""
    _held_ledger(ledger_db)
    adm = ledger_db.admin()
    pid = adm.execute("SELECT max(pending_id) AS p FROM fl.pending_posting "
                      "WHERE memo = '结算 settlement'").fetchone()["p"]  # type: ignore[index]
    before, last = adm.execute("SELECT pos, account_id, unit, side, amount, line_ref, memo FROM fl.pending_posting "
                               "WHERE pending_id = %s ORDER BY pos LIMIT 2", (pid,)).fetchall()
    assert last["memo"] is not None and '"' not in (before["memo"] or "") + (last["memo"] or "") + (last["line_ref"] or "")

    def s(v: object) -> str:
        return "null" if v is None else f'"{v}"'

    forged = (f'{before["memo"] or ""}"], [{last["pos"]}, {last["account_id"]}, {s(last["unit"])}, {s(last["side"])}, '
              f'{last["amount"]}, {s(last["line_ref"])}, "{last["memo"]}')
    adm.execute("SET session_replication_role = replica")
    adm.execute("DELETE FROM fl.pending_posting WHERE pending_id = %s AND pos = %s", (pid, last["pos"]))
    adm.execute("UPDATE fl.pending_posting SET memo = %s WHERE pending_id = %s AND pos = %s",
                (forged, pid, before["pos"]))
    adm.commit()
    c = ledger_db.connect("aud")
    try:
        pin(c)
        naive = {r[0]: r[1] for r in copy_rows(c, verify_records.HELD_LINES_DIGEST_SQL)}
        recorded = {r[0]: r[1] for r in copy_rows(c, "SELECT t.row_key::pg_catalog.text, t.row_data::pg_catalog.text "
                                                     "FROM fl.record_log t WHERE t.tbl = 'fl.pending_posting' ORDER BY t.id")}
        c.rollback()
    finally:
        c.close()
    key = f'{{"pending_id": {pid}}}'
    assert naive[key] == recorded[key]            # the forgery prints as the recorded text, unescaped
    rep = verify_independent(ledger_db.connect("aud"))
    named = {f.account: f.message for f in rep.findings if f.check == "histories"}
    assert f"fl.pending_posting pending_id={pid}" in named, named
