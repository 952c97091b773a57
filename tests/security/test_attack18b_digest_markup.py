"""ATTACK18b H10: a database name with rich markup makes ``audit digest`` a traceback.

``cli.cmd_audit.digest`` prints ``_("digest of {db} at {at}: …").format(db=d["database"], …)`` through
the rich console without ``plain()`` — data placed into a message with markup (cli.context.plain's
rule, ATTACK14 V8's class). The database's name is the DBA's (hostile to the auditor): a ledger
database named ``fl_t…[/]`` (or ``pg_catalog.current_database()`` replaced) makes every
``audit digest`` end in ``rich.errors.MarkupError: closing tag '[/]' … has nothing to close`` — a
traceback, and (with --out) the digest is written but the command fails. ``audit export`` prints the
same value safely.

Safe behaviour asserted: no exception escapes; the digest is taken and the name shown literally.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_h10_a_database_name_with_markup_is_shown_literally(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    ledger_db.close()
    new = ledger_db.name + "[/]"
    with psycopg.connect(ledger_db.server.admin_url, autocommit=True) as c:
        c.execute(f'ALTER DATABASE "{ledger_db.name}" RENAME TO "{new}"')
    ledger_db.name = new                              # the fixture drops it by this name
    try:
        r = ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud")
    except Exception as e:      # on main: MarkupError("closing tag '[/]' at position … has nothing to close")
        pytest.fail(f"a traceback reached the auditor: {e!r}")
    assert r.exit_code == 0 and new in r.stdout.replace("\n", ""), r


def test_h10_a_key_with_markup_does_not_end_entry_post_in_a_traceback(ledger_db: LedgerDB) -> None:
    """The class on the write side: ``entry post`` prints the key as given (``cli.cmd_core``: ``key=o[
    "idempotency_key"]``, no ``plain()``) after the entry is written — a key ``k[/]`` posts the entry
    and then ends the command in MarkupError (a traceback after a write; ``entry reject``'s
    ``--reason`` is printed the same way)."""
    import json

    from tests.helpers import reclass

    doc = reclass("k[/]", "2024-01-10", "230822", "1.00")
    try:
        r = ledger_db.cli("entry", "post", "-", user="o22", input=json.dumps([doc], ensure_ascii=False))
    except Exception as e:      # on main: MarkupError("closing tag '[/]' … has nothing to close"), the entry written
        pytest.fail(f"a traceback reached the user: {e!r}")
    assert r.exit_code == 0 and "k[/]" in r.stdout, r
