"""ATTACK18b H2: the audited database chooses the ``taken_at`` of the auditor's filed digest.

``ledger.store.audit.take_digest`` stamps the digest with ``pg_catalog.clock_timestamp()`` read from
the audited server (inside the verdict's ``then``), and discards the verdict it ran (``_rep``): a
digest is refused only when the chain does not verify. A superuser replaces the built-in in place
(``CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() … LANGUAGE sql``): the verdict's catalogue
check names it, but ``audit digest`` files the digest anyway, exit 0, with the time the DBA chose.
The DBA then restores the built-in (``verify`` green again). With that file:

* ``taken_at`` far in the future: since ATTACK18 G1's note every later ``check-digest`` refuses the
  auditor's honest file as damaged (``bad_input``: "taken … after the database's clock now") — the
  only proof against a full re-chain is gone for that digest, and the file is blamed;
* ``taken_at`` far in the past: check-digest's back-dating comparison (an entry sealed after the
  digest but ``created_at`` before it) never fires.

Safe behaviour asserted: ``audit digest`` does not file, without a word, a digest whose time the
database steered — it refuses (or names the tamper and exits non-zero), or stamps the auditor's own
clock.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


@pytest.mark.parametrize("steered", ["2999-01-01 00:00:00+00", "2000-01-01 00:00:00+00"], ids=["future", "past"])
def test_h2_the_database_does_not_choose_the_filed_digests_time(ledger_db: LedgerDB, tmp_path: Path,
                                                                steered: str) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    a = ledger_db.admin()
    original = a.execute("SELECT pg_catalog.pg_get_functiondef('pg_catalog.clock_timestamp()'::regprocedure) AS d"
                         ).fetchone()["d"]
    a.execute("CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE "
              f"AS $$ SELECT '{steered}'::pg_catalog.timestamptz $$")
    filed = tmp_path / "d.json"
    r = ledger_db.cli("audit", "digest", "--out", str(filed), user="aud")
    a.execute(original)                                   # restored: verify is green again
    if r.exit_code == 0 and filed.exists():
        taken = dt.datetime.fromisoformat(json.loads(filed.read_text(encoding="utf-8"))["taken_at"])
        # On main: exit 0, taken_at 2999-01-01T00:00:00+00:00 (or 2000-…), no word of the replaced built-in
        assert abs(taken - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1), (taken, r)
    post(fin, collect("c2", "2024-01-11", "230822", "1000.00"))        # an honest later entry
    fin.commit()
    if filed.exists():
        c = ledger_db.cli("audit", "check-digest", str(filed), user="aud")
        # On main (future): error [bad_input] … the file is damaged or the server's clock was set back
        assert "bad_input" not in c.stderr, c
