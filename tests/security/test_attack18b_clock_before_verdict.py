"""ATTACK18b H1: ``audit check-digest`` runs the audited database's code before the verdict.

ATTACK18 G1's note added ``SELECT pg_catalog.clock_timestamp()`` on the auditor's connection at
the top of ``ledger.store.audit.check_digest`` — before ``independent_run`` pins the session and
before the verdict's catalogue check. A superuser (hostile to the auditor) replaces that built-in
in place (``CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp()``, the oid kept, as B2 did to
sha256):

* returning a past time, every digest the auditor filed is refused as *the file's* fault
  (``bad_input``: "the file is damaged or the server's clock was set back") — check-digest, the
  only proof against a full re-chain, never runs, and the catalogue finding that would name the
  replaced built-in is never reached;
* as a SQL body calling a function of the DBA's (inlined by the planner), it runs the DBA's code in the auditor's session (here it
  writes a row) before anything was checked — "the verdict never runs code the audited database
  controls" and "the server's SQL never runs before the verdict's catalogue check in that session"
  (docs/security.md).

Safe behaviour asserted: check-digest does not blame the auditor's file, the verdict names the
replaced built-in, and no code of the database ran in the auditor's session before the verdict.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def _digest(ledger_db: LedgerDB, tmp_path: Path) -> Path:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    filed = tmp_path / "d.json"
    assert ledger_db.cli("audit", "digest", "--out", str(filed), user="aud").exit_code == 0
    return filed


def test_h1_a_replaced_clock_does_not_make_the_auditors_digest_the_fault(ledger_db: LedgerDB, tmp_path: Path) -> None:
    filed = _digest(ledger_db, tmp_path)
    a = ledger_db.admin()
    a.execute("CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE "
              "AS $$ SELECT '2000-01-01 00:00:00+00'::pg_catalog.timestamptz $$")
    r = ledger_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    # On main: exit 2, bad_input "the digest file says it was taken at …, after the database's clock now
    # (2000-01-01…): the file is damaged or the server's clock was set back" — no verdict at all.
    assert "bad_input" not in r.stderr, r
    assert r.exit_code == 1, r
    found = [f for c in r.json()["checks"] if c["name"] == "catalogue" for f in c["findings"]]
    assert any("clock_timestamp" in json.dumps(f) for f in found), found


def test_h1_no_database_code_runs_in_the_auditors_session_before_the_verdict(ledger_db: LedgerDB,
                                                                            tmp_path: Path) -> None:
    filed = _digest(ledger_db, tmp_path)
    a = ledger_db.admin()
    mark = f"/tmp/attack18b-h1-{uuid.uuid4().hex}"
    # fmgr calls a built-in by its oid, but the planner inlines a simple SQL body in its place (B2): the
    # body calls the DBA's own function, which runs as its owner in the auditor's session. The
    # auditor's transaction is read-only, so it leaves its mark with COPY TO a server file.
    a.execute(f"""CREATE FUNCTION public.evil() RETURNS timestamptz LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
                 BEGIN
                   EXECUTE format('COPY (SELECT %L, session_user, current_setting(%L)) TO %L',
                                  'ran', 'transaction_read_only', '{mark}');
                   RETURN statement_timestamp();
                 END $$""")
    a.execute("GRANT EXECUTE ON FUNCTION public.evil() TO PUBLIC")
    a.execute("CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE "
              "AS $$ SELECT public.evil() $$")
    r = ledger_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    ran = a.execute("SELECT (pg_catalog.pg_stat_file(%s, true)).size IS NOT NULL AS ran", (mark,)).fetchone()["ran"]
    text = a.execute("SELECT pg_catalog.pg_read_file(%s) AS t", (mark,)).fetchone()["t"] if ran else None
    # On main: 'ran\taud\ton' — the DBA's code ran in the auditor's session before the verdict's catalogue check
    assert not ran, (text, r)
