"""Acknowledgements of the monitor's response plans (fl.monitor_ack, sql/0015_watch.sql and
0022_watch_record.sql): who may write them (a red only the city), row security,
append-only, one per idempotency key, the table's own hash chain, and the record's
history that `verify` compares it with."""

from __future__ import annotations

import datetime as dt
import hashlib

import psycopg
import pytest

from ledger.store import watch
from tests.helpers import with_figures

pytestmark = pytest.mark.db
D = dt.date
SINCE, ON = D(2023, 11, 30), D(2023, 12, 5)


def ack(conn, unit, level="red", since=SINCE, on=ON, decision="已通知县政府, 复核用款申请", key=None):
    key = key or f"t:{unit}:{level}:{since}:{on}:{decision}"
    return watch.acknowledge(conn, unit=unit, book="RES", level=level, since=since, on=on, decision=decision,
                             key=key)[0]


def test_acknowledgements_are_scoped_append_only_and_chained(ledger_db):
    with_figures(ledger_db, "230822", "230881")
    rev, o22 = ledger_db.connect("rev"), ledger_db.connect("o22")
    first = ack(rev, "230881")
    rev.commit()
    second = ack(o22, "230822", level="yellow", decision="加强费用审核")
    o22.commit()
    # The same key again: the same acknowledgement, not a second one; with other content, refused.
    assert watch.acknowledge(o22, unit="230822", book="RES", level="yellow", since=SINCE, on=ON,
                             decision="加强费用审核", key=f"t:230822:yellow:{SINCE}:{ON}:加强费用审核") == \
        (second, "duplicate")
    with pytest.raises(psycopg.Error, match="idempotency key"):
        watch.acknowledge(o22, unit="230822", book="RES", level="yellow", since=SINCE, on=ON,
                          decision="另一个决定", key=f"t:230822:yellow:{SINCE}:{ON}:加强费用审核")
    o22.rollback()
    # Who may not: an officer for another unit, an officer for their own unit's red (the
    # city acknowledges a red), an auditor, an admin; bad input refused.
    for user, unit, kw in (("o22", "230881", {}), ("o22", "230822", {}), ("aud", "230822", {}),
                           ("admin", "230822", {}), ("rev", "230822", {"key": " "}),
                           ("rev", "230822", {"level": "green"}), ("rev", "230822", {"decision": "  "}),
                           ("rev", "230822", {"on": D(2023, 11, 1)}),
                           ("rev", "230822", {"on": dt.date.today() + dt.timedelta(days=2)}),
                           ("rev", "999999", {})):
        c = ledger_db.connect(user)
        with pytest.raises(psycopg.Error):
            ack(c, unit, **kw)
        c.rollback()
    # Row security: an officer reads only their unit's; the auditor reads all.
    assert [a.id for a in watch.acks(ledger_db.connect("o22"), as_of=D(2023, 12, 31))] == [second]
    got = watch.acks(ledger_db.connect("aud"), as_of=D(2023, 12, 31))
    assert [(a.id, a.unit, a.level, a.acknowledged_by) for a in got] == [
        (first, "230881", "red", "rev"), (second, "230822", "yellow", "o22")]
    assert watch.acks(ledger_db.connect("aud"), as_of=D(2023, 12, 4)) == []
    # Nobody edits or deletes, not even the owner; no direct insert by a role.
    a = ledger_db.admin()
    for sql in ("UPDATE fl.monitor_ack SET decision = 'x'", "DELETE FROM fl.monitor_ack"):
        with pytest.raises(psycopg.Error):
            a.execute(sql)
    c = ledger_db.connect("rev")
    with pytest.raises(psycopg.Error):
        c.execute("SELECT fl.monitor_acknowledge('230822', 'RES', 'red', '2023-11-30', '2023-12-01', 'x')")
    c.rollback()
    with pytest.raises(psycopg.Error):
        c.execute("INSERT INTO fl.monitor_ack (unit, book, level, since, acknowledged_on, decision, prev_hash, hash) "
                  "VALUES ('230822', 'RES', 'red', '2023-11-30', '2023-12-01', 'x', '\\x', '\\x')")
    c.rollback()
    # The chain: each hash = sha256(previous hash || the row's content), recomputed here.
    rows = a.execute("""SELECT id, unit, book, level, since, acknowledged_on, acknowledged_by, decision, prev_hash, hash,
                               to_char(acknowledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
                          FROM fl.monitor_ack ORDER BY id""").fetchall()
    prev = b""
    for r in rows:
        content = "|".join(str(x) for x in (r["id"], r["unit"], r["book"], r["level"], r["since"],
                                            r["acknowledged_on"], r["acknowledged_by"], r["at"], r["decision"]))
        assert bytes(r["prev_hash"]) == prev
        prev = hashlib.sha256(prev + content.encode()).digest()
        assert bytes(r["hash"]) == prev


def test_acknowledgements_are_in_the_record_history_and_verify_names_a_changed_one(ledger_db):
    """A DBA with the triggers off rewrites one decision and deletes another
    acknowledgement: the independent verdict names both rows of fl.monitor_ack."""
    from ledger.store.verify_independent import verify_independent

    with_figures(ledger_db, "230822", "230881")
    rev = ledger_db.connect("rev")
    first, second = ack(rev, "230881"), ack(rev, "230822", level="yellow", decision="加强费用审核")
    rev.commit()
    a = ledger_db.admin()
    logged = a.execute("SELECT row_key->>'id' AS id, row_data->>'decision' AS decision FROM fl.record_log "
                       "WHERE tbl = 'fl.monitor_ack' ORDER BY id").fetchall()
    assert [(int(r["id"]), r["decision"]) for r in logged] == [(first, "已通知县政府, 复核用款申请"),
                                                               (second, "加强费用审核")]
    aud = ledger_db.connect("aud")
    assert verify_independent(aud).ok
    a.execute("SET session_replication_role = replica")
    a.execute("UPDATE fl.monitor_ack SET decision = '无需处理' WHERE id = %s", (first,))
    a.execute("DELETE FROM fl.monitor_ack WHERE id = %s", (second,))
    a.execute("SET session_replication_role = origin")
    rep = verify_independent(aud)
    named = {f.account for f in rep.findings if f.check == "histories"}
    assert {f"fl.monitor_ack id={first}", f"fl.monitor_ack id={second}"} <= named, named
