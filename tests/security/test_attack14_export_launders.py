"""ATTACK14 V7: an archive of a database the online verdict names is authenticated as whole.

``verify`` (online) judges what only a live server shows: every login against the release's rules
(no SUPERUSER, BYPASSRLS, membership of another group, ATTACK3 R14), pg_catalog's built-ins
(ATTACK7 U1b), the settings and preloaded libraries (U13, V7). ``audit export`` writes the rows and
the schema ``fl``'s fingerprint only — and writes them whatever the online verdict says — and
``verify --offline DIR --digest FILE`` judges only what the archive holds. So the DBA gives the
county officer o22 BYPASSRLS (it reads every unit's rows, the leak row security exists to stop);
online ``verify`` exits 1 naming "role o22: has BYPASSRLS"; the auditor's export of that same
database, with its filed digest, says "all invariants hold" and exits 0: the 30-year archive
(会计档案) certifies a database the live verdict condemned, and nothing in it says the online checks
were not made.

Fixed when ``audit export`` runs the online-only checks in its snapshot and writes their findings
into the archive (a file the manifest, and so the filed digest, covers), and ``verify --offline``
reports them (or the export refuses a database with findings, saying so) — and the offline verdict
says which checks only a live server can make.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


@pytest.mark.cluster_roles   # o22 made BYPASSRLS for a moment, undone at the end
def test_v7_the_archive_of_a_database_online_verify_names_is_not_whole(ledger_db: LedgerDB, tmp_path: Path) -> None:
    admin = ledger_db.admin()
    admin.execute("ALTER ROLE o22 BYPASSRLS")
    try:
        online = ledger_db.cli("--lang", "en", "verify", user="aud")
        assert online.exit_code == 1 and "BYPASSRLS" in online.stdout, online
        out, filed = tmp_path / "archive", tmp_path / "filed.json"
        exp = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    finally:
        admin.execute("ALTER ROLE o22 NOBYPASSRLS")
    if exp.exit_code != 0:
        return                                                            # the export refused: fixed
    off = ledger_db.cli("--lang", "en", "verify", "--offline", str(out), "--digest", str(filed))
    assert off.exit_code == 1, (
        "online verify named 'role o22: has BYPASSRLS'; the export of that database, authenticated by its filed "
        f"digest, verifies offline with exit {off.exit_code}: {off.stdout[-300:]}")
