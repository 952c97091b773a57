"""ATTACK3 R1: a superuser unhooks a table from the chained history, then rewrites it.

The verifier took the list of tables to compare from ``fl.chained_table`` — data the
superuser deleted with triggers off — so the rewritten table simply dropped out of the
comparison. The release's own list (the history triggers in the shipped fingerprint)
now decides: a table the release hooks that the data no longer lists is a finding, in
the online verdict and offline on an export."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def _histories(report: dict) -> list[dict]:  # type: ignore[type-arg]
    checks = report["independent"]["checks"] if "independent" in report else report["checks"]
    return [f for c in checks if c["name"] == "histories" for f in c["findings"]]


def test_an_unhooked_rewritten_table_is_still_judged(ledger_db: LedgerDB, tmp_path: Path) -> None:
    clean = ledger_db.cli("verify", "--json", user="aud")
    assert clean.exit_code == 0, clean.stdout[-2000:]
    admin = ledger_db.admin()
    admin.execute("BEGIN")
    admin.execute("SET LOCAL session_replication_role = replica")
    admin.execute("DELETE FROM fl.chained_table WHERE tbl = 'fl.app_user'")
    admin.execute("UPDATE fl.app_user SET role = 'admin', unit = NULL WHERE name = 'o22'")
    admin.execute("COMMIT")

    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-2000:]
    named = [f for f in _histories(r.json()) if f.get("account") == "fl.app_user"]
    assert named and "no longer lists it" in named[0]["message"], _histories(r.json())

    export = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(export), "--json")
    assert off.exit_code == 1
    assert any(f.get("account") == "fl.app_user" for f in _histories(off.json())), off.stdout[-2000:]
