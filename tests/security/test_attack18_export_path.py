"""ATTACK18 G4 (MED): the audited database names the files ``audit export`` writes — a DBA makes the
auditor's export write outside the directory the auditor named.

``ledger.store.export.export`` writes one file per table of schema ``fl`` that the reader may
SELECT, at ``directory / "tables" / f"{relname}.csv"``, with ``relname`` read from ``pg_class``. A
relation name is any text up to 63 bytes, ``/`` and ``..`` included. The superuser (hostile to the
auditor in the threat model) runs ``CREATE TABLE fl."../../g4-outside" (x text)``, fills it and
grants SELECT: the auditor's ``audit export EXP`` creates ``EXP/tables/../../g4-outside.csv`` (beside EXP) — a file of
the database's content, outside the export, wherever the auditor's account may write (any folder up
to the name's 63 bytes: another export's ``tables/``, a shared folder). ``O_EXCL|O_NOFOLLOW`` stops
an overwrite and a final symlink, not the traversal. The export then succeeds and files its digest;
the extra table is only a later ``catalogue`` finding. (The history files' names are checked,
``verify_records._TABLE_NAME``; the tables' are not.)

Safe behaviour asserted: nothing is written outside the export directory (a relation name that is
not a plain identifier is refused or skipped, and the catalogue names it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def test_g4_a_table_name_does_not_steer_the_export_outside_its_directory(ledger_db: LedgerDB, tmp_path: Path) -> None:
    a = ledger_db.admin()
    a.execute('CREATE TABLE fl."../../g4-outside" (x text)')
    a.execute("INSERT INTO fl.\"../../g4-outside\" VALUES ('written by the audited database')")
    a.execute('GRANT SELECT ON fl."../../g4-outside" TO PUBLIC')
    out = tmp_path / "a" / "exp"
    out.parent.mkdir()
    r = ledger_db.cli("audit", "export", str(out), user="aud")
    planted = tmp_path / "a" / "g4-outside.csv"   # EXP/tables/../../ = EXP's parent
    # On main: exit 0 and tmp_path/a/g4-outside.csv exists, holding the DBA's rows
    assert not planted.exists(), (r, planted.read_text(encoding="utf-8"))
    assert "Traceback" not in r.stdout + r.stderr, r
    # the relation is no file of the export, and the export's own verdict names it
    assert not any("g4-outside" in p.name for p in out.rglob("*")), sorted(out.rglob("*"))
    v = ledger_db.cli("verify", "--offline", str(out), user="aud")
    assert v.exit_code != 0 and "g4-outside" in v.stdout + v.stderr, v
