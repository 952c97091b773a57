"""ATTACK7 U2: a catalogue change timed between the verifier's snapshot and its reads.

The verifier reads the catalogue from its REPEATABLE READ snapshot, but PostgreSQL plans
the verifier's own queries with the latest catalogue. The red team stalled the verifier
right after its snapshot (a superuser's lock on one table it reads), then committed a
restrictive row policy that hid the tampered postings and an inheritance child holding
the original rows, and removed both afterwards: check-digest said "unchanged", with no
trace in the catalogue.

Now every verifier takes ACCESS SHARE on every ledger relation before its snapshot and
reads with ``ONLY``: a change committed before the locks were all taken is in the
snapshot (and named), one attempted later waits until the verifier has finished, and a
child attached mid-read (its weaker lock is not blocked) adds no rows.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from ledger.store import verify_independent as vi
from ledger.store.verify_session import RelationsBusy, relations
from tests.conftest import LedgerDB
from tests.helpers import background, collect, post, reclass

pytestmark = pytest.mark.db


def _books(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("u2-c1", "2023-01-05", "230822", "1000.00"), collect("u2-c2", "2023-01-06", "230881", "2500.00"))
    fin.commit()
    o22 = ledger_db.connect("o22", autocommit=True)
    post(o22, reclass("u2-r1", "2023-01-07", "230822", "12.34"))


def _verdict(ledger_db: LedgerDB, user: str = "aud") -> Any:
    c = ledger_db.connect(user)
    try:
        return vi.independent_run(c, fork=False)[0]
    finally:
        c.close()


@pytest.mark.parametrize("user", ["aud", "rev", "fin"])
def test_every_reader_takes_its_locks_and_the_ledger_verifies(ledger_db: LedgerDB, user: str) -> None:
    """The locks need only what a reader has: the auditor, a reviewer and finance verify."""
    _books(ledger_db)
    rep = _verdict(ledger_db, user)
    assert rep.ok, [f.message for f in rep.findings][:5]
    assert relations() and all(r.startswith("fl.") for r in relations())


def test_a_policy_or_a_swap_attempted_while_the_verifier_reads_waits_for_it(
        ledger_db: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the verifier's first read the superuser tries what the red team did after the
    snapshot: a restrictive policy on fl.posting, a rule, a rename. Each needs a lock the
    verifier holds, so each times out; the verdict is the one of the untouched ledger."""
    _books(ledger_db)
    admin = ledger_db.admin()
    tried: list[str] = []
    real = vi.copy_rows

    def spy(conn: Any, query: str) -> Any:
        if not tried:
            admin.execute("SET lock_timeout = '300ms'")
            for ddl in ("CREATE POLICY u2 ON fl.posting AS RESTRICTIVE FOR SELECT USING (false)",
                        "ALTER TABLE fl.posting RENAME TO posting_u2",
                        "CREATE RULE u2 AS ON INSERT TO fl.seal DO INSTEAD NOTHING",
                        "ALTER TABLE fl.entry DISABLE ROW LEVEL SECURITY"):
                try:
                    admin.execute(ddl)
                    tried.append(f"took effect: {ddl}")
                except psycopg.errors.LockNotAvailable:
                    tried.append("waited")
            admin.execute("RESET lock_timeout")
        return real(conn, query)

    monkeypatch.setattr(vi, "copy_rows", spy)
    rep = _verdict(ledger_db)
    assert tried == ["waited"] * 4, tried
    assert rep.ok, [f.message for f in rep.findings][:5]


def test_an_inheritance_child_attached_mid_read_adds_no_rows_and_is_named_next_time(
        ledger_db: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """ALTER TABLE … INHERIT needs only SHARE UPDATE EXCLUSIVE on the parent, which the
    verifier's ACCESS SHARE does not block: the verifier reads with ONLY, so a child
    attached after its snapshot — here a copy of a posting with another amount — adds no
    row to what it judges. The next verdict names the child."""
    _books(ledger_db)
    admin = ledger_db.admin()
    admin.execute("CREATE TABLE public.u2_kid (LIKE fl.posting INCLUDING CONSTRAINTS)")
    admin.execute("INSERT INTO public.u2_kid SELECT * FROM fl.posting ORDER BY id LIMIT 1")
    admin.execute("UPDATE public.u2_kid SET amount = amount + 1, id = id + 1000000")
    done: list[bool] = []
    real = vi.copy_rows

    def spy(conn: Any, query: str) -> Any:
        if not done:
            done.append(True)
            admin.execute("ALTER TABLE public.u2_kid INHERIT fl.posting")
        return real(conn, query)

    monkeypatch.setattr(vi, "copy_rows", spy)
    try:
        rep = _verdict(ledger_db)
        assert done and rep.ok, [f.message for f in rep.findings][:5]
        monkeypatch.setattr(vi, "copy_rows", real)
        later = _verdict(ledger_db)
        named = [f.message for f in later.findings if f.check == "catalogue" and "u2_kid" in (f.account or "")]
        assert named and "inherits from fl.posting" in named[0], [f.message for f in later.findings][:5]
    finally:
        admin.execute("DROP TABLE public.u2_kid")


def test_a_policy_committed_before_the_locks_are_all_taken_is_in_the_snapshot(ledger_db: LedgerDB) -> None:
    """The red team's timing: the superuser holds an exclusive lock on a table the verifier
    locks early (fl.app_user), the verifier waits, a policy hiding postings is committed
    meanwhile. Because the snapshot is taken only after every lock, the catalogue check
    sees the policy and names it."""
    _books(ledger_db)
    admin = ledger_db.admin()
    holder = ledger_db.connect(None)
    holder.execute("LOCK TABLE fl.app_user IN ACCESS EXCLUSIVE MODE")
    t, out = background(lambda: _verdict(ledger_db))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            waiting = admin.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND usename = 'aud'").fetchone()["n"]
            if waiting:
                break
            time.sleep(0.1)
        assert waiting, "the verifier never waited for its locks"
        holder.execute("CREATE POLICY u2 ON fl.posting AS RESTRICTIVE FOR SELECT USING (id < 0)")
        holder.commit()
        t.join(60)
        assert "error" not in out, out.get("error")
        rep = out["result"]
        named = [f for f in rep.findings if f.check == "catalogue" and "u2" in f.message]
        assert named, [f.message for f in rep.findings][:8]
        assert not rep.ok
    finally:
        holder.rollback()
        admin.execute("DROP POLICY IF EXISTS u2 ON fl.posting")


def test_a_held_exclusive_lock_is_a_clear_refusal_after_the_wait(ledger_db: LedgerDB,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A session that keeps an exclusive lock (a migration, a superuser) makes the verifier
    wait LOCK_WAIT, then refuse naming the lock: it never judges without its locks."""
    monkeypatch.setattr("ledger.store.verify_session.LOCK_WAIT", "500ms")
    holder = ledger_db.connect(None)
    holder.execute("LOCK TABLE fl.entry IN ACCESS EXCLUSIVE MODE")
    try:
        with pytest.raises(RelationsBusy) as e:
            _verdict(ledger_db)
        assert "500ms" in str(e.value) and "pg_locks" in str(e.value)
    finally:
        holder.rollback()


def test_every_verifier_query_reads_with_only() -> None:
    """ATTACK8 V3: queries added after the fix read fl.import_line, fl.pending_posting and
    fl.record_log without ONLY, and a child attached mid-read hid a deleted claim. A sweep
    over every verifier module: no FROM/JOIN of a ledger table without ONLY."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "ledger" / "store"
    files = [*sorted(root.glob("verify*.py")), root / "export.py", root / "audit.py"]
    bare = re.compile(r"\b(?:FROM|JOIN)\s+fl\.(?:\{[^}]+\}|\w+)(?!\w|\s*\(|\{)")
    found = [f"{p.name}: {m.group(0)}" for p in files for m in bare.finditer(p.read_text())]
    assert found == [], found


def test_privileges_changed_between_the_question_and_the_locks_are_a_refusal(ledger_db: LedgerDB) -> None:
    """ATTACK8 V6: the verifier asks which tables it may read, then locks those. SELECT on
    fl.posting revoked for the instant of the question and granted back right after left
    fl.posting unlocked (then swapped by RENAME after the snapshot). Asked again under the
    locks, the difference is a refusal."""
    from ledger.store import verify_session

    admin = ledger_db.admin()
    admin.execute("REVOKE SELECT ON fl.posting FROM fl_auditor")
    aud = ledger_db.connect("aud")

    class Timed:
        """The auditor's connection, with the superuser's grant slipped in after the question."""

        def __init__(self) -> None:
            self.granted = False

        def __getattr__(self, name: str) -> Any:
            return getattr(aud, name)

        def rollback(self) -> None:
            aud.rollback()
            if not self.granted:
                self.granted = True
                admin.execute("GRANT SELECT ON fl.posting TO fl_auditor")

    try:
        with pytest.raises(RelationsBusy) as e:
            verify_session.lock_relations(Timed())  # type: ignore[arg-type]
        assert "fl.posting" in str(e.value)
    finally:
        aud.close()
        admin.execute("GRANT SELECT ON fl.posting TO fl_auditor")
