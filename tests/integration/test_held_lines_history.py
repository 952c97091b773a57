"""0032: a held entry's lines are one history version (issue 15's speed), and the lines
held before it stay judged.

Before 0032 the history recorded fl.pending_posting line by line (0017). A database is
built at the revision before 0032, holds and confirms entries there (the sample
ledger), a held line's memo is then changed behind its history, and the database is
upgraded: the migration records each held entry's lines once more as one version, and
the verifier compares every old per-line version with them — the line changed before the
upgrade is named; nothing else is. Held entries after the upgrade write one version each.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic.script import ScriptDirectory

from tests.conftest import USERS, LedgerDB

pytestmark = [pytest.mark.db, pytest.mark.server]


@pytest.fixture
def before_0032(pg_server, template_db) -> Iterator[LedgerDB]:  # type: ignore[no-untyped-def]
    # template_db (session-scoped: set up before _cluster_guard reads the cluster's state) has
    # made the shared roles and logins; run first on a fresh server, this fixture made them
    # inside the guard's window, which named them as a change (as tests/integration/test_init.py)
    from ledger.core.region import load_region
    from ledger.store import admin, migrate

    name = f"fl_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    db = LedgerDB(pg_server, name)
    try:
        prev = ScriptDirectory.from_config(migrate._config()).get_revision("0032").down_revision
        migrate.upgrade(db.url(), str(prev))
        with psycopg.connect(db.url(), row_factory=psycopg.rows.dict_row) as conn:
            migrate.load_reference(conn, load_region())
            for user, role, unit in USERS:
                admin.add_user(conn, user, role, unit)
            migrate.owner_administers_users(conn)
            conn.commit()
        yield db
    finally:
        db.close()
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _verify(db: LedgerDB):  # type: ignore[no-untyped-def]
    from ledger.store.verify_independent import verify_independent

    c = db.connect("aud")
    try:
        return verify_independent(c)
    finally:
        c.close()


# The standard users are registered at the schema before 0032: the limits of their logins,
# which the whole cluster shares, are applied as that schema applies them.
@pytest.mark.cluster_roles
def test_held_lines_recorded_per_line_before_0032_are_judged_after_it(before_0032: LedgerDB) -> None:
    from ledger.store import migrate
    from tests.helpers import collect, post
    from tests.integration.test_verify import sample_ledger

    db = before_0032
    sample_ledger(db)
    c = db.admin()
    per_line = c.execute("SELECT count(*) AS n FROM fl.record_log WHERE tbl = 'fl.pending_posting'").fetchone()["n"]
    lines = c.execute("SELECT count(*) AS n FROM fl.pending_posting").fetchone()["n"]
    held = c.execute("SELECT count(DISTINCT pending_id) AS n FROM fl.pending_posting").fetchone()["n"]
    assert per_line == lines > held > 0
    victim = c.execute("SELECT pending_id, pos FROM fl.pending_posting ORDER BY pending_id, pos LIMIT 1").fetchone()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.pending_posting SET memo = 'changed before 0032' WHERE pending_id = %s AND pos = %s",
              (victim["pending_id"], victim["pos"]))
    c.execute("SET session_replication_role = origin")

    migrate.upgrade(db.url())
    after = c.execute("SELECT count(*) FILTER (WHERE op = 'BACKFILL') AS backfilled, count(*) AS n "
                      "FROM fl.record_log WHERE tbl = 'fl.pending_posting'").fetchone()
    assert after["backfilled"] == held and after["n"] == per_line + held
    assert c.execute("SELECT key_cols FROM fl.chained_table WHERE tbl = 'fl.pending_posting'").fetchone()[
        "key_cols"] == ["pending_id"]

    rep = _verify(db)
    bad = [f for f in rep.findings]
    key = f"fl.pending_posting pos={victim['pos']}, pending_id={victim['pending_id']}"     # the key as jsonb orders it
    assert [f.account for f in bad] == [key], [f.as_json() for f in bad]
    assert "changed before 0032" in bad[0].message and "memo" in bad[0].message

    # After the upgrade a held entry writes one version, whatever its number of lines.
    mark = c.execute("SELECT max(id) AS m FROM fl.record_log").fetchone()["m"]
    o22 = db.connect("o22")
    post(o22, collect("after-0032", "2023-03-02", "230822", "7.00"))
    o22.commit()
    new = c.execute("SELECT row_key::text AS k, row_data -> 'lines' AS lines FROM fl.record_log "
                    "WHERE tbl = 'fl.pending_posting' AND id > %s", (mark,)).fetchall()
    assert len(new) <= 1 and all(len(r["lines"]) >= 2 for r in new), new
    rep = _verify(db)
    assert [f.account for f in rep.findings] == [key]
