"""Acknowledgements of the monitor's response plans (fl.monitor_ack, sql/0015_watch.sql):
who may write them, row security, append-only, and the hash chain."""

from __future__ import annotations

import datetime as dt
import hashlib

import psycopg
import pytest

from ledger.store import watch

pytestmark = pytest.mark.db
D = dt.date
SINCE, ON = D(2023, 11, 30), D(2023, 12, 5)


def ack(conn, unit, level="red", since=SINCE, on=ON, decision="已通知县政府, 复核用款申请"):
    return watch.acknowledge(conn, unit=unit, book="RES", level=level, since=since, on=on, decision=decision)


def test_acknowledgements_are_scoped_append_only_and_chained(ledger_db):
    rev, o22 = ledger_db.connect("rev"), ledger_db.connect("o22")
    first = ack(rev, "230881")
    rev.commit()
    second = ack(o22, "230822", level="yellow", decision="加强费用审核")
    o22.commit()
    # Who may not: an officer for another unit, an auditor, an admin; bad input refused.
    for user, unit, kw in (("o22", "230881", {}), ("aud", "230822", {}), ("admin", "230822", {}),
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
