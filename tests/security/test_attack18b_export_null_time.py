"""ATTACK18b H7: the audited server's NULL time makes the auditor's own export unverifiable offline.

``audit export`` reads its ``taken_at``/``made_at`` as ``to_char(pg_catalog.now(), …)`` from the audited
server and writes it unchecked into manifest.json and online.json. A superuser's in-place ``now()``
returning NULL (``… LANGUAGE sql AS $$ SELECT NULL::timestamptz $$``) gives ``"made_at": null``: the
export exits 0 (it even says the live server has 2 findings — the replaced built-in), files its
digest, and ``verify --offline EXP --digest d.json`` of that untouched archive answers ``bad_input``:
"online.json: not a fundledger export manifest … export the ledger again …, or ask whoever gave you
the archive for the original" — the archive (the auditor's own) is blamed, and the built-in finding
that online.json recorded is never shown. (The DBA restores now() after the export.)

Safe behaviour asserted: an export the tool wrote and nobody touched is never refused offline as not
an export: either the export refuses (naming the server's value) or the offline verdict runs and
names the replaced built-in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_h7_a_null_server_time_does_not_make_the_export_unverifiable(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    a = ledger_db.admin()
    original = a.execute("SELECT pg_catalog.pg_get_functiondef('pg_catalog.now()'::regprocedure) AS d"
                         ).fetchone()["d"]
    a.execute("CREATE OR REPLACE FUNCTION pg_catalog.now() RETURNS timestamptz LANGUAGE sql STABLE "
              "AS $$ SELECT NULL::pg_catalog.timestamptz $$")
    out, filed = tmp_path / "exp", tmp_path / "d.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    a.execute(original)
    if r.exit_code != 0:
        assert "Traceback" not in r.stderr, r
        return
    v = ledger_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json", user="aud")
    # On main: exit 1, error [bad_input]: …/online.json: not a fundledger export manifest: not a record of the
    # online checks … ask whoever gave you the archive for the original
    assert "bad_input" not in v.stderr, v
    assert "online_builtins" in {c["name"] for c in v.json()["checks"] if not c["ok"]}, v.stdout[-2000:]
