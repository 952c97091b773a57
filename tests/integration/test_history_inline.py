"""The history's versions are chained as they are written (sql/0034, issue 24).

A writer that gets fl.record_head computes its versions' links and inserts them chained:
no version is updated to link it. A writer that finds the head taken leaves them
unchained, and the next writer chains those first (their own seals checked), then its
own. Either way the chain is whole: every link recomputes from the previous hash and the
version's values, the sequence has no gap, and the head is the last link."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.db


def _doc(key: str, amount: int = 100, memo: str | None = None) -> dict:
    debit = {"account": "1101", "unit": "230822", "side": "D", "amount": amount}
    if memo is not None:
        debit["memo"] = memo
    return {"date": "2023-03-01", "book": "RES", "idempotency_key": key,
            "postings": [debit, {"account": "2001", "unit": "230822", "side": "C", "amount": amount}]}


def _chain_whole(admin) -> None:  # type: ignore[no-untyped-def]
    row = admin.execute(
        """SELECT count(*) AS n, count(*) FILTER (WHERE seq IS NULL) AS unchained, max(seq) AS top,
                  count(*) FILTER (WHERE seq IS NOT NULL AND hash IS DISTINCT FROM sha256(prev_hash || convert_to(
                    concat_ws('|', seq, tbl, op, actor, row_key::text, row_data::text), 'UTF8'))) AS bad_links,
                  count(*) FILTER (WHERE vseal IS DISTINCT FROM fl._record_vseal(id, tbl, op, actor, row_key, row_data,
                                                                                  vxid)) AS bad_seals,
                  (SELECT count(*) FROM (SELECT prev_hash, lag(hash) OVER (ORDER BY seq) AS before, seq
                                           FROM fl.record_log WHERE seq IS NOT NULL) x
                    WHERE x.seq > (SELECT min(seq) FROM fl.record_log) AND x.before IS DISTINCT FROM x.prev_hash)
                    AS broken
             FROM fl.record_log""").fetchone()
    head = admin.execute("SELECT seq, hash FROM fl.record_head").fetchone()
    last = admin.execute("SELECT hash FROM fl.record_log WHERE seq = %s", (head["seq"],)).fetchone()
    assert row["unchained"] == 0 and row["bad_links"] == 0 and row["bad_seals"] == 0 and row["broken"] == 0, row
    assert row["top"] == head["seq"] and last is not None and last["hash"] == head["hash"]


def test_an_entry_writes_its_versions_chained_and_updates_none(ledger_db):
    fin = ledger_db.connect("fin")
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc("inline-1", memo="a note")),)).fetchall()
    stats = fin.execute("SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables "
                        "WHERE relid = 'fl.record_log'::regclass").fetchone()
    unchained = fin.execute("SELECT count(*) AS n FROM fl.record_log WHERE seq IS NULL").fetchone()["n"]
    fin.commit()
    # One version for the entry and its postings' memos (0055): inserted chained, never updated.
    assert (stats["n_tup_ins"], stats["n_tup_upd"], unchained) == (1, 0, 0)
    admin = ledger_db.admin()
    v = admin.execute("SELECT tbl, row_data FROM fl.record_log ORDER BY id DESC LIMIT 1").fetchone()
    assert v["tbl"] == "fl.entry" and v["row_data"]["idempotency_key"].endswith(":inline-1")
    assert list(v["row_data"]["_m"].values()) == ["a note"]
    _chain_whole(admin)


def test_versions_written_while_the_head_is_taken_are_chained_by_the_next_writer(ledger_db):
    admin = ledger_db.admin()
    holder = ledger_db.connect()            # holds the head, as a slow writer's commit would
    holder.execute("SELECT seq FROM fl.record_head FOR UPDATE").fetchone()
    fin = ledger_db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc("taken-1")),)).fetchall()
    left = admin.execute("SELECT id FROM fl.record_log WHERE seq IS NULL ORDER BY id").fetchall()
    assert len(left) == 1, "the head was taken: the entry's version waits unchained"
    holder.rollback()
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc("taken-2")),)).fetchall()
    # The leftovers first, then the new writer's own.
    order = admin.execute("SELECT id FROM fl.record_log ORDER BY seq DESC LIMIT 2").fetchall()
    assert sorted(r["id"] for r in order[1:]) == [r["id"] for r in left]
    _chain_whole(admin)


def test_a_version_forged_while_unchained_is_never_chained(ledger_db):
    """The leftovers are chained only when their own seal recomputes (sql/0023)."""
    admin = ledger_db.admin()
    holder = ledger_db.connect()
    holder.execute("SELECT seq FROM fl.record_head FOR UPDATE").fetchone()
    fin = ledger_db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc("forged-1")),)).fetchall()
    holder.rollback()
    admin.execute("SET session_replication_role = replica")
    admin.execute("UPDATE fl.record_log SET row_data = row_data || '{\"memo\": \"forged\"}' "
                  "WHERE seq IS NULL AND tbl = 'fl.entry'")
    admin.execute("SET session_replication_role = origin")
    fin.execute("SELECT * FROM fl.post_entries(%s)", (json.dumps(_doc("forged-2")),)).fetchall()
    still = admin.execute("SELECT count(*) AS n FROM fl.record_log WHERE seq IS NULL").fetchone()["n"]
    assert still == 1, "the forged version stays unchained for verify to name"


def test_a_statement_of_many_versions_is_chained_in_chunks(ledger_db, tmp_path):
    # Two chunks of 5,000 and one more, written by one statement: a collection import's (one
    # entry per line). A post_entries call takes at most 1,000 entries since 0050 (ATTACK6 T16).
    from ledger.store import imports

    fin = ledger_db.connect("fin")
    f = tmp_path / "many.csv"
    f.write_text("date,unit,book,source,amount,reference,component\n"
                 + "".join(f"2023-03-01,230822,RES,contribution,{1 + i % 7}.00,MANY-{i},\n" for i in range(5_003)),
                 "utf-8")
    assert imports.import_file(fin, "collections", f).rows_posted == 5_003
    fin.commit()
    admin = ledger_db.admin()
    n = admin.execute("SELECT count(*) AS n FROM fl.record_log WHERE tbl = 'fl.entry' AND op = 'INSERT'"
                      ).fetchone()["n"]
    assert n == 5_003
    _chain_whole(admin)
