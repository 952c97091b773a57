"""ATTACK10 X9: a committed entry waiting in fl.seal_queue is protected by nothing the DBA cannot rewrite.

When a commit finds the chain head taken it queues its entries with their content digests
(fl.seal_queue) and the next holder seals them *from the queue's digest* (0001, 0065). The DBA can
keep the head taken as long as it likes (one ``SELECT … FOR UPDATE`` in its own session: every
writer's commit then queues, the business goes on). A queued entry is in no chain yet: fl.posting is
not in the chained history (the seal covers it), the queue row is not chained, ``fl.entry.content_hash``
is not recomputed by the verdict, and ``audit digest`` pins only sealed entries (its count of entries
includes the queued ones, not their content). So, with the triggers off for one transaction, the DBA
rewrites a queued entry's amounts, its two accounts' running totals and daily movements, and the queue
row's digest (the canonical text recomputed); then lets the head go, and ``fl.seal_pending`` seals the
altered content into the chain.

Impact: finance's committed ¥1.00 entry is sealed as ¥900,000.00; verify (both passes) is whole, and
``audit check-digest`` of a digest filed while the entry was queued says the ledger extends it
unchanged — it pins only what was sealed when it was filed. (A digest filed *while* an entry is queued
names that entry at check-digest as "inserted after the fact, back-dated" whether or not it was touched:
an honest queue gives the same finding.) (Here on 1101/2001; the same on any account — the bank account's balance is one more
UPDATE.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import reclass
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

TAMPER = """
UPDATE fl.posting SET amount = 90000000 WHERE entry_id = %(e)s;
UPDATE fl.account a SET debits = s.d, credits = s.c, balance = s.d - s.c
  FROM (SELECT p.account_id, coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS d,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS c
          FROM fl.posting p WHERE p.account_id IN (SELECT account_id FROM fl.posting WHERE entry_id = %(e)s)
         GROUP BY p.account_id) s
 WHERE a.id = s.account_id;
UPDATE fl.account_day ad SET debits = s.d, credits = s.c
  FROM (SELECT p.account_id, p.entry_date, coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS d,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS c
          FROM fl.posting p WHERE p.account_id IN (SELECT account_id FROM fl.posting WHERE entry_id = %(e)s)
         GROUP BY p.account_id, p.entry_date) s
 WHERE ad.account_id = s.account_id AND ad.day = s.entry_date;
UPDATE fl.seal_queue SET content_digest = sha256(convert_to(fl.entry_canonical(%(e)s), 'UTF8')) WHERE entry_id = %(e)s;
"""


def test_x9_a_queued_entry_rewritten_before_its_seal_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    digest = tmp_path / "filed.json"                    # the auditor's last periodic digest
    d = ledger_db.cli("audit", "digest", "--out", str(digest), user="aud")
    assert d.exit_code == 0, d
    hold = ledger_db.connect(None)                      # the DBA keeps the chain head: every commit queues
    hold.execute("SELECT * FROM fl.chain_head FOR UPDATE").fetchall()
    fin = ledger_db.connect("fin", autocommit=True)
    row = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                      (json.dumps([reclass("x9", "2024-03-20", "230822", "1.00")]),)).fetchone()
    assert row is not None and row["status"] == "posted"
    eid = int(row["entry_id"])
    admin = ledger_db.admin()
    assert admin.execute("SELECT count(*) AS n FROM fl.seal_queue WHERE entry_id = %s", (eid,)).fetchone()["n"] == 1  # type: ignore[index]
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute("SET LOCAL \"DateStyle\" = 'ISO, YMD'")
        for stmt in TAMPER.split(";\n"):
            if stmt.strip():
                admin.execute(stmt, {"e": eid})
    hold.rollback()
    ledger_db.connect("rev", autocommit=True).execute("SELECT fl.seal_pending()").fetchall()
    sealed = admin.execute("SELECT count(*) AS n FROM fl.seal WHERE entry_id = %s", (eid,)).fetchone()["n"]  # type: ignore[index]
    amount = admin.execute("SELECT max(amount) AS a FROM fl.posting WHERE entry_id = %s", (eid,)).fetchone()["a"]  # type: ignore[index]
    assert sealed == 1 and amount == 90000000
    found = verdict(ledger_db)
    c = ledger_db.cli("audit", "check-digest", str(digest), user="aud")
    v = ledger_db.cli("verify", user="aud")
    assert found and v.exit_code == 1, (
        f"entry {eid} committed as ¥1.00 was rewritten to ¥900,000.00 while queued and sealed so: independent verdict "
        f"{found}, verify exit {v.exit_code}, check-digest of the last filed digest exit {c.exit_code}")


def test_x11_a_digest_filed_while_an_honest_entry_waits_in_the_queue_stays_whole(ledger_db: LedgerDB,
                                                                                  tmp_path: Path) -> None:
    """X11: nothing touched. A commit found the chain head busy (another writer's commit: here a session
    holding it) and queued its entry; the auditor files a digest meanwhile; the entry is then sealed as the
    ledger always does. ``audit check-digest`` must say the ledger extends the digest unchanged — it names
    the honest entry "inserted after the fact, back-dated", so red stops meaning tampering (W6's class)."""
    hold = ledger_db.connect(None)
    hold.execute("SELECT * FROM fl.chain_head FOR UPDATE").fetchall()
    fin = ledger_db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([reclass("x11", "2024-03-20", "230822", "1.00")]),)).fetchall()
    digest = tmp_path / "filed.json"
    d = ledger_db.cli("audit", "digest", "--out", str(digest), user="aud")
    assert d.exit_code == 0, d
    hold.rollback()
    ledger_db.connect("rev", autocommit=True).execute("SELECT fl.seal_pending()").fetchall()
    assert ledger_db.cli("verify", user="aud").exit_code == 0
    c = ledger_db.cli("audit", "check-digest", str(digest), user="aud")
    assert c.exit_code == 0, f"check-digest of an untouched ledger: exit {c.exit_code}\n{c.stdout[-1200:]}"
