"""verify's fused posting pass and set-based chain: each check it answers still fails on
its own kind of damage and names what is wrong; every pass is timed in ``--json``."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.store import verify, verify_chain
from ledger.store.verify_postings import POSTING_CHECKS
from tests.helpers import collect, post

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db


def _tampered(ledger_db, sql: str, *args) -> dict:
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute(sql, args)
    c.execute("SET session_replication_role = origin")
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 1, res
    return {ch["name"]: ch for ch in res.json()["checks"]}


def _failed(checks: dict) -> set[str]:
    return {n for n, ch in checks.items() if not ch["ok"]}


def test_every_pass_is_timed_in_json(sample_db, monkeypatch):
    alone = sample_db.cli("verify", "--json", user="aud").json()
    # Eight entries, below verify.SECOND_SESSION_FROM: the chain on the same session, after the others.
    assert alone["ok"] is True and alone["sessions"] == 1 and alone["independent"]["sessions"] == 1
    monkeypatch.setattr(verify, "SECOND_SESSION_FROM", 0)      # a ledger large enough for two
    doc = sample_db.cli("verify", "--json", user="aud").json()
    assert doc["ok"] is True and doc["postings"] == 16
    assert doc["sessions"] == 2     # the chain ran beside the other checks, on the same snapshot
    assert [c["name"] for c in doc["checks"]] == [c["name"] for c in alone["checks"]]
    assert isinstance(doc["seconds"], float) and doc["seconds"] >= 0
    steps = {t["step"]: t for t in doc["timings"]}
    assert set(doc["timings"][0]) == {"step", "checks", "seconds"}
    # The six posting checks share one pass; every other check and the chain have their own.
    assert steps["postings"]["checks"] == [c.name for c in POSTING_CHECKS]
    timed = {name for t in doc["timings"] for name in t["checks"]}
    assert timed == set(verify.check_names())
    assert all(t["seconds"] >= 0 for t in doc["timings"])
    only = sample_db.cli("verify", "--check", "account_days", "--json", user="aud").json()
    assert [t["step"] for t in only["timings"]] == ["counts", "postings"]
    assert only["postings"] == 16 and only["sessions"] == 1


def test_a_tampered_account_day_is_named(sample_db):
    checks = _tampered(sample_db, "UPDATE fl.account_day SET debits = debits + 1 "
                                  "WHERE (account_id, day) = (SELECT account_id, day FROM fl.account_day "
                                  "ORDER BY account_id, day LIMIT 1)")
    assert _failed(checks) == {"account_days"}
    [f] = checks["account_days"]["findings"]
    assert f["account"].startswith("#") and "daily movement says debits" in f["message"]


def test_a_tampered_account_balance_is_named(sample_db):
    checks = _tampered(sample_db, "UPDATE fl.account SET credits = credits + 500, balance = balance - 500 "
                                  "WHERE chart_code = '4001' AND unit = '230881'")
    assert _failed(checks) == {"account_balances"}
    [f] = checks["account_balances"]["findings"]
    assert f["account"] == "RES:4001:230881" and "its postings sum to" in f["message"]


def test_a_posting_copy_is_named_by_posting(sample_db, sample_ids):
    ids = sample_ids
    pid = sample_db.admin().execute("SELECT min(id) AS id FROM fl.posting WHERE entry_id = %s",
                                    (ids["pre-22"],)).fetchone()["id"]
    checks = _tampered(sample_db, "UPDATE fl.posting SET entry_date = '2023-01-16' WHERE id = %s", pid)
    assert {"posting_copies", "account_days"} <= _failed(checks)
    [f] = checks["posting_copies"]["findings"]
    assert f["entry_id"] == ids["pre-22"] and f["voucher"].startswith("RES/2023-")
    assert f["message"] == f"posting {pid}: dated 2023-01-16 but its entry is dated 2023-01-15"


def test_an_entry_left_with_one_posting_is_named(sample_db, sample_ids):
    ids = sample_ids
    checks = _tampered(sample_db, "DELETE FROM fl.posting WHERE id = (SELECT max(id) FROM fl.posting "
                                  "WHERE entry_id = %s)", ids["o22-feb"])
    msgs = {f["message"] for f in checks["entry_balanced"]["findings"] if f["entry_id"] == ids["o22-feb"]}
    assert "has 1 posting(s); an entry needs at least two" in msgs
    assert any(m.startswith("debits 100.00 ≠ credits 0.00") for m in msgs)


def test_a_broken_chain_head_is_named(sample_db):
    checks = _tampered(sample_db, "UPDATE fl.chain_head SET seq = seq - 1")
    assert _failed(checks) == {"hash_chain"}
    [f] = checks["hash_chain"]["findings"]
    assert "the chain head says seq 7" in f["message"] and f["voucher"]


@pytest.mark.server  # an exported snapshot shared by two sessions
def test_both_sessions_read_one_snapshot(sample_db):
    """An entry committed while verify runs is in neither session's view: the chain
    session imports the first session's snapshot, so counts and findings agree."""
    c = sample_db.connect("aud")
    verify.snapshot(c)
    snap = c.execute("SELECT pg_export_snapshot() AS id").fetchone()["id"]
    fin = sample_db.connect("fin")
    post(fin, collect("during", "2023-03-01", "230822", "1.00"))
    fin.commit()
    peer = sample_db.connect("aud")
    verify.snapshot(peer, same_as=snap)
    assert peer.execute("SELECT count(*) AS n FROM fl.seal").fetchone()["n"] == 8
    assert verify_chain.verify_chain(peer, peer.execute("SELECT seq, hash FROM fl.chain_head").fetchone(), 8).ok
    c.rollback()
    peer.rollback()


def test_posting_checks_match_the_whole_list():
    """verify's output order covers every check exactly once."""
    from ledger.store import verify_records

    assert sorted(verify.check_names()) == sorted({c.name for c in POSTING_CHECKS}
                                                  | {c.name for c in verify.CHECKS} | {"hash_chain"}
                                                  | set(verify_records.NAMES))


@pytest.mark.server  # planner settings
def test_pinned_planner_switches_are_put_back(ledger_db):
    """The posting pass pins its plan for that statement only; the rest of verify's
    transaction keeps its own settings, and nothing but planner switches can be set."""
    from ledger.store.plans import pinned

    c = ledger_db.connect("aud")
    verify.snapshot(c)
    with pinned(c, enable_indexscan=False, enable_nestloop=True):
        assert c.execute("SELECT current_setting('enable_indexscan') AS v").fetchone()["v"] == "off"
        assert c.execute("SELECT current_setting('enable_nestloop') AS v").fetchone()["v"] == "on"
    assert c.execute("SELECT current_setting('enable_indexscan') AS v").fetchone()["v"] == "on"
    assert c.execute("SELECT current_setting('enable_nestloop') AS v").fetchone()["v"] == "off"
    with pytest.raises(ValueError), pinned(c, work_mem=False):
        pass
    c.rollback()


@pytest.mark.server  # the jit setting
def test_verify_runs_without_jit(ledger_db):
    """With nested loops off, PostgreSQL before 18 adds 1e10 to a plan's cost, so every
    verify statement crossed the JIT thresholds: on 15 each spent ~3 s compiling, and a
    dozen-entry ledger took half a minute to verify. Verify's transaction turns JIT off, even
    in a session that started with it on (every fundledger session starts with it off too:
    tests/security/test_attack8_session.py)."""
    with psycopg.connect(ledger_db.url("aud"), options="-c jit=on", row_factory=dict_row) as c:
        assert c.execute("SELECT current_setting('jit') AS v").fetchone()["v"] == "on"
        verify.snapshot(c)
        assert c.execute("SELECT current_setting('jit') AS v").fetchone()["v"] == "off"
        c.rollback()


@pytest.mark.server  # the server's text output of each type
def test_the_verdicts_reader_gives_back_every_value_as_printed(ledger_db):
    """The independent verdict reads COPY's text format by splitting on newlines and tabs:
    a value holding a tab, a newline, a backslash, ``\\N`` as text, a bytea (printed
    ``\\x…``), JSON with escaped quotes, Chinese text or an empty string comes back as
    PostgreSQL printed it, and NULL as the empty string (as the CSV reader gave it)."""
    from ledger.store.verify_independent import copy_rows, pin

    values = ["a\tb", "line\nbreak\r", "back\\slash", "\\N", "", "征缴收入", "x\\\\ny", "\b\f\v"]
    c = ledger_db.connect("aud")
    pin(c)
    lits = ", ".join("(" + str(i) + ", " + "'" + v.replace("'", "''") + "'::text)" for i, v in enumerate(values))
    got = list(copy_rows(c, f"SELECT v.i, v.t, NULL::text, '\\x00ff'::bytea, pg_catalog.to_jsonb(v.t)::text "
                            f"FROM (VALUES {lits}) v(i, t) ORDER BY v.i"))
    c.rollback()
    import json

    assert [r[1] for r in got] == values
    assert all(r[2] == "" and r[3] == "\\x00ff" and json.loads(r[4]) == v for r, v in zip(got, values, strict=True))


@pytest.mark.server  # a cursor's protocol on this server
def test_the_verdicts_reader_takes_rows_in_blocks_and_leaves_the_session_ready(ledger_db):
    """``copy_rows`` and ``copy_text`` take COPY's rows in blocks of every message libpq
    already holds, ending the COPY themselves when its end arrived with the rows
    (``verify_independent._copy_blocks``): 50,000 rows of every length come back whole and
    in order, the session takes the next statement at once, and an error the server sends
    after 39,999 rows is raised as psycopg raises it (the transaction rolled back as any
    failed one)."""
    import psycopg

    from ledger.store.verify_independent import copy_rows, copy_text, pin

    c = ledger_db.connect("aud")
    pin(c)
    q = "SELECT g.i, pg_catalog.repeat('x', g.i % 97) FROM pg_catalog.generate_series(1, 50000) g(i) ORDER BY g.i"
    assert list(copy_rows(c, q)) == [[str(i), "x" * (i % 97)] for i in range(1, 50001)]
    assert list(copy_text(c, q)) == [[str(i).encode(), b"x" * (i % 97)] for i in range(1, 50001)]
    assert list(copy_rows(c, "SELECT 1 WHERE false")) == []
    assert c.execute("SELECT 1 AS one").fetchone()["one"] == 1
    with pytest.raises(psycopg.errors.DivisionByZero):
        list(copy_rows(c, "SELECT 1 / (40000 - g.i) FROM pg_catalog.generate_series(1, 50000) g(i)"))
    c.rollback()
    pin(c)
    assert list(copy_rows(c, "SELECT 2")) == [["2"]]
    c.rollback()
