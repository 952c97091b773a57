"""ATTACK11 Y5: a committed write left unchained is not evidence.

A writer that finds the history's head (fl.record_head) taken inserts its versions unchained, and
the next writer chains them (0010, 0023: only versions whose own seal recomputes). The DBA
(superuser) holds fl.record_head — and the journal's chain head, so that an entry's content waits in
fl.seal_queue too — in its own session. What is committed meanwhile is in no chain: with the
triggers off the DBA rewrites a row and its unchained version together, recomputes the version's
``vseal`` (a plain SHA-256 of its own columns) and lets the heads go; the next writer chains the
rewrite, and both verdicts are whole. A digest the auditor filed meanwhile pinned the chained
history only (its head), so a write committed *before* the digest was rewritten after it unseen.

Against a superuser what the auditor can detect is what a digest filed outside the database
covers. So: a ``fundledger-digest/3`` records every version committed but not chained yet, with the
SHA-256 of its own columns, and ``audit check-digest`` requires each still there with exactly those
columns, chained since or not; and the verdicts say which versions are not evidence yet (committed,
not chained: ``history_unchained_versions``, online and offline). Rewriting what was written after
the last digest, chained or not, stays possible for a superuser (re-chaining): only a later digest
exposes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import pytest

from tests.conftest import LedgerDB
from tests.helpers import drop_login, reclass
from tests.security.test_attack10_queued import TAMPER as X9_TAMPER  # the postings, totals, queue digest

# cluster_roles: each test registers a login and moves it between the fl_ groups, which are the
# cluster's on a shared server (tests/conftest.py runs such a test alone there).
pytestmark = [pytest.mark.db, pytest.mark.cluster_roles]

# The red team's rewrite of a queued entry: its postings and totals, the queue row's digest, and the
# queued-digest version with its seal recomputed (sql/0023's formula: the DBA's own SHA-256).
TAMPER_ENTRY = X9_TAMPER + """
UPDATE fl.record_log l SET row_data = l.row_data || jsonb_build_object('digest', encode(q.content_digest, 'hex'))
  FROM fl.seal_queue q
 WHERE q.entry_id = %(e)s AND l.seq IS NULL AND l.tbl = 'fl.seal_queue' AND l.row_key = jsonb_build_object('entry_id', %(e)s);
UPDATE fl.record_log l SET vseal = fl._record_vseal(l.id, l.tbl, l.op, l.actor, l.row_key, l.row_data, l.vxid)
 WHERE l.seq IS NULL AND l.tbl = 'fl.seal_queue' AND l.row_key = jsonb_build_object('entry_id', %(e)s);
"""

# A user's role, rewritten in its row, in its unchained version (seal recomputed) and in the
# server's memberships (the catalogue check compares those with the registry).
TAMPER_USER = """
UPDATE fl.app_user SET role = 'finance' WHERE name = %(u)s;
UPDATE fl.record_log l SET row_data = l.row_data || '{"role": "finance"}'
 WHERE l.seq IS NULL AND l.tbl = 'fl.app_user' AND l.row_data ->> 'name' = %(u)s;
UPDATE fl.record_log l SET vseal = fl._record_vseal(l.id, l.tbl, l.op, l.actor, l.row_key, l.row_data, l.vxid)
 WHERE l.seq IS NULL AND l.tbl = 'fl.app_user' AND l.row_data ->> 'name' = %(u)s;
"""


def _hold_heads(db: LedgerDB, chain_head: bool = True) -> psycopg.Connection[Any]:
    """The DBA's session, holding the history head (and the journal's chain head)."""
    hold = db.connect(None)
    hold.execute("SELECT * FROM fl.record_head FOR UPDATE").fetchall()
    if chain_head:
        hold.execute("SELECT * FROM fl.chain_head FOR UPDATE").fetchall()
    return hold


def _tamper(db: LedgerDB, sql: str, **params: object) -> None:
    admin = db.admin()
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute("SET LOCAL \"DateStyle\" = 'ISO, YMD'")
        for stmt in sql.split(";\n"):
            if stmt.strip():
                admin.execute(stmt, params)
        if "u" in params:             # the server's memberships too (whoever granted them)
            for g in admin.execute("SELECT m.grantor::regrole::text AS g FROM pg_auth_members m WHERE m.roleid = "
                                   "'fl_auditor'::regrole AND m.member = %s::regrole", (params["u"],)).fetchall():
                admin.execute(f'REVOKE fl_auditor FROM {params["u"]} GRANTED BY "{g["g"]}"')
            admin.execute(f"GRANT fl_finance TO {params['u']}")


_MADE: list[str] = []


@pytest.fixture(autouse=True)
def _logins_dropped(ledger_db: LedgerDB) -> Any:
    """Roles are the cluster's: on a shared server leave none behind (before the test's
    database goes: this fixture asks for it, so it ends first)."""
    yield
    with ledger_db.connect(None, autocommit=True) as admin:
        while _MADE:
            drop_login(admin, _MADE.pop())


def _add_user(db: LedgerDB, name: str) -> int:
    """The operator registers an auditor while the head is held: its version waits unchained.
    Where the ledger's owner may not create roles (the shared PostgreSQL 15 server), the
    operator makes the plain login first, as sql/0009's fl._role_unfit expects."""
    admin = db.admin()
    _MADE.append(name)
    try:
        admin.execute("SELECT fl.add_user(%s, 'auditor', NULL)", (name,))
    except psycopg.errors.InsufficientPrivilege:   # the owner may not create roles: the DBA does (0008)
        admin.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN").format(psycopg.sql.Identifier(name)))
        admin.execute("SELECT fl.add_user(%s, 'auditor', NULL)", (name,))
    admin.commit()
    r = admin.execute("SELECT id, seq FROM fl.record_log WHERE tbl = 'fl.app_user' AND row_data ->> 'name' = %s",
                      (name,)).fetchone()
    assert r is not None and r["seq"] is None, r
    return int(r["id"])


def _next_write(db: LedgerDB, key: str) -> None:
    """An honest writer once the heads are free: chains what waited, and seals the queue."""
    fin = db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([reclass(key, "2024-03-21", "230822", "1.00")]),)).fetchall()
    fin.execute("SELECT fl.seal_pending()").fetchall()
    fin.close()


def _digest(db: LedgerDB, path: Path) -> dict[str, Any]:
    d = db.cli("audit", "digest", "--out", str(path), user="aud")
    assert d.exit_code == 0, d
    filed: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return filed


def _digest_findings(db: LedgerDB, path: Path) -> tuple[int, list[str]]:
    c = db.cli("audit", "check-digest", str(path), "--json", user="aud")
    found = [f["message"] for ch in c.json()["checks"] if ch["name"] == "digest" for f in ch["findings"]]
    return c.exit_code, found


def test_y5_reproduction_a_version_committed_before_the_digest_and_rewritten_after_it_is_named(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    hold = _hold_heads(ledger_db)
    vid = _add_user(ledger_db, "y5_aud")
    filed = _digest(ledger_db, tmp_path / "filed.json")      # the auditor's digest, while it waits
    _tamper(ledger_db, TAMPER_USER, u="y5_aud")
    hold.rollback()
    _next_write(ledger_db, "y5-next")
    seq = ledger_db.admin().execute("SELECT seq FROM fl.record_log WHERE id = %s", (vid,)).fetchone()["seq"]  # type: ignore[index]
    assert seq is not None, "the next writer chained the rewritten version"
    code, found = _digest_findings(ledger_db, tmp_path / "filed.json")
    named = [m for m in found if f"history version {vid} " in m]
    assert code == 1 and named, (
        f"y5_aud, registered as an auditor before the digest, was rewritten to finance after it, and "
        f"check-digest says {'whole' if code == 0 else found}")
    assert "rewritten after the digest" in named[0] and f"chained since as version {seq}" in named[0], named
    assert [v["id"] for v in filed["unchained"]] == [vid], filed["unchained"]


def test_y5_the_red_teams_queued_entry_rewritten_with_its_version_is_named_twice(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The red team's sequence, with the auditor's digest filed while the entry waits: the entry is
    named by its queued content (/2, X11) and its queued-digest version by its columns (/3)."""
    hold = _hold_heads(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    row = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                      (json.dumps([reclass("y5", "2024-03-20", "230822", "1.00")]),)).fetchone()
    assert row is not None and row["status"] == "posted"
    eid = int(row["entry_id"])
    vid = ledger_db.admin().execute("SELECT id FROM fl.record_log WHERE tbl = 'fl.seal_queue' AND row_key = "
                                    "jsonb_build_object('entry_id', %s::bigint) AND seq IS NULL", (eid,)).fetchone()["id"]  # type: ignore[index]
    _digest(ledger_db, tmp_path / "filed.json")
    _tamper(ledger_db, TAMPER_ENTRY, e=eid)
    hold.rollback()
    _next_write(ledger_db, "y5-next")
    code, found = _digest_findings(ledger_db, tmp_path / "filed.json")
    assert code == 1
    assert any(f"entry #{eid} was queued" in m and "rewritten while it waited" in m for m in found), found
    assert any(f"history version {vid} " in m and "rewritten after the digest" in m for m in found), found


def test_y5_a_version_removed_after_the_digest_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    hold = _hold_heads(ledger_db, chain_head=False)
    vid = _add_user(ledger_db, "y5_gone")
    _digest(ledger_db, tmp_path / "filed.json")
    admin = ledger_db.admin()
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute("DELETE FROM fl.record_log WHERE id = %s", (vid,))
        admin.execute("DELETE FROM fl.app_user WHERE name = 'y5_gone'")
    hold.rollback()
    _next_write(ledger_db, "y5-next")
    code, found = _digest_findings(ledger_db, tmp_path / "filed.json")
    assert code == 1 and any(f"history version {vid} " in m and "removed after the digest" in m for m in found), found


def test_y5_an_honest_version_chained_after_the_digest_is_whole(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Nothing touched (X11's lesson: red must mean tampering): a version that waited for the head
    when the digest was taken and was chained by the next writer leaves check-digest whole."""
    hold = _hold_heads(ledger_db)
    _add_user(ledger_db, "y5_ok")
    fin = ledger_db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([reclass("y5-ok", "2024-03-20", "230822", "1.00")]),)).fetchall()
    filed = _digest(ledger_db, tmp_path / "filed.json")
    assert len(filed["unchained"]) >= 3 and filed["format"] == "fundledger-digest/4", filed["unchained"]
    hold.rollback()
    _next_write(ledger_db, "y5-next")
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.record_log WHERE seq IS NULL").fetchone()["n"] == 0  # type: ignore[index]
    code, found = _digest_findings(ledger_db, tmp_path / "filed.json")
    assert code == 0, found
    assert ledger_db.cli("verify", user="aud").exit_code == 0


def test_y5_the_verdicts_name_what_is_not_evidence_yet(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Online (both words and --json) and offline: the versions committed but not chained."""
    hold = _hold_heads(ledger_db, chain_head=False)
    try:
        vid = _add_user(ledger_db, "y5_wait")
        v = ledger_db.cli("verify", "--json", user="aud")
        assert v.exit_code == 0, v.stdout[-2000:]
        loose = v.json()["independent"]["history_unchained_versions"]
        assert [x["id"] for x in loose] == [vid] and loose[0]["table"] == "fl.app_user", loose
        words = ledger_db.cli("verify", user="aud")
        assert "1 history version committed but not yet chained" in words.stdout, words.stdout[-1500:]
        e = ledger_db.cli("audit", "export", str(tmp_path / "x"), user="aud")
        assert e.exit_code == 0, e.stdout[-2000:]
    finally:
        hold.rollback()
    off = ledger_db.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json", user="aud")
    assert off.exit_code == 0, off.stdout[-2000:]
    assert [x["id"] for x in off.json()["history_unchained_versions"]] == [vid], off.stdout[-2000:]
