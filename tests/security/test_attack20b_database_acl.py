"""ATTACK20b M5, the class: the ledger database's own privileges, which migrations 0008, 0016_db
and 0027_db set once (TEMPORARY and CREATE only fl_owner's and the owner's, CONNECT not PUBLIC's),
are read by the verdict each time. Variants beside the red team's TEMPORARY: CONNECT given back
to PUBLIC, CREATE to a group; `db check` has the same item (``ledger_database``); `audit export`
records it for the offline verdict (``online_logins``); a named role's own CONNECT (a monitoring
login, docs/security.md) is no finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.io import archive
from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def _db(ledger_db: LedgerDB) -> str:
    return str(ledger_db.admin().execute("SELECT current_database() AS d").fetchone()["d"])


def test_db_check_names_the_ledger_databases_privileges(ledger_db: LedgerDB) -> None:
    ok = {i["name"]: i for i in ledger_db.cli("db", "check", "--json").json()["items"]}
    assert ok["ledger_database"]["status"] == "ok", ok["ledger_database"]
    db = _db(ledger_db)
    ledger_db.admin().execute(f'GRANT CONNECT ON DATABASE "{db}" TO PUBLIC')
    ledger_db.admin().execute(f'GRANT CREATE ON DATABASE "{db}" TO fl_officer')
    item = {i["name"]: i for i in ledger_db.cli("db", "check", "--json").json()["items"]}["ledger_database"]
    assert item["status"] == "fail", item
    assert "PUBLIC holds CONNECT" in item["value"] and "fl_officer holds CREATE" in item["value"], item
    assert f"REVOKE CONNECT ON DATABASE {db} FROM PUBLIC" in item["hint"], item
    res = ledger_db.cli("--lang", "en", "verify", "--json", user="aud")
    out = res.stdout + res.stderr
    assert res.exit_code != 0 and "PUBLIC holds CONNECT" in out and "fl_officer holds CREATE" in out, res


def test_a_named_roles_own_connect_is_no_finding(ledger_db: LedgerDB) -> None:
    db = _db(ledger_db)
    ledger_db.admin().execute(f'GRANT CONNECT ON DATABASE "{db}" TO fl_auditor')
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 0, res


def test_the_export_records_it_for_the_offline_verdict(ledger_db: LedgerDB, tmp_path: Path) -> None:
    db = _db(ledger_db)
    ledger_db.admin().execute(f'GRANT TEMPORARY ON DATABASE "{db}" TO PUBLIC')
    out, filed = tmp_path / "archive", tmp_path / "archive.digest.json"
    res = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), "--json", user="aud")
    assert res.exit_code == 0 and res.json()["verified"] is False, res
    rep = archive.verify_offline(out, filed)
    named = [f for f in rep.findings if f.check == "online_logins"]
    assert named and "PUBLIC holds TEMPORARY" in named[0].message, rep.findings
