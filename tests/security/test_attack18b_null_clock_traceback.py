"""ATTACK18b H6: the audited server's clock answer reaches the auditor as a traceback.

ATTACK18 G1's note compares the digest's ``taken_at`` with ``SELECT pg_catalog.clock_timestamp()``
read from the audited server, on the auditor's connection, outside every handler the verdict has
(``check_digest``: ``if now is not None and taken_at > now["now"]``). A superuser's in-place
replacement returning NULL (``… LANGUAGE sql AS $$ SELECT NULL::timestamptz $$``) makes it
``TypeError: '>' not supported between instances of 'datetime.datetime' and 'NoneType'`` — not a
``LedgerError``, so the CLI edge lets the traceback through. (H1's fix class — no server clock
before the verdict — closes this too.)

Safe behaviour asserted: no traceback; check-digest answers in words (the verdict names the replaced
built-in).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_h6_a_null_server_clock_is_no_traceback(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    filed = tmp_path / "d.json"
    assert ledger_db.cli("audit", "digest", "--out", str(filed), user="aud").exit_code == 0
    ledger_db.admin().execute("CREATE OR REPLACE FUNCTION pg_catalog.clock_timestamp() RETURNS timestamptz "
                              "LANGUAGE sql VOLATILE AS $$ SELECT NULL::pg_catalog.timestamptz $$")
    try:
        r = ledger_db.cli("audit", "check-digest", str(filed), user="aud")
    except Exception as e:      # on main: TypeError out of ledger.store.audit.check_digest, past the CLI edge
        pytest.fail(f"a traceback reached the auditor: {e!r}")
    assert "Traceback" not in r.stderr and r.exit_code != 0, r
