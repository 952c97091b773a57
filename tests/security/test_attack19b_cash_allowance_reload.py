"""ATTACK19b K4: the independent verdict judges every past entry's cash date against the region's
CURRENT ``cash_date_allowance_days`` (rules.py: ``self.allowance`` from fl.setting as it is now). An
entry that moved real money dated two days ahead, written while the region allowed 3 days (the
database took it: fl.posting_cash_date reads the allowance in force then), is named
``cash_date_future`` as soon as the region tightens the allowance to 0 by an ordinary reload — an
honest ledger accused, for good."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.core.region import parse_region
from ledger.store import migrate
from tests.conftest import LedgerDB
from tests.helpers import collect

pytestmark = pytest.mark.db


def with_allowance(ledger_db: LedgerDB, days: int) -> None:
    doc: dict[str, Any] = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    doc.setdefault("settings", {})["cash_date_allowance_days"] = days
    with ledger_db.connect(None) as c:
        migrate.load_reference(c, parse_region(doc, "test.toml"))  # type: ignore[arg-type]
        c.commit()


def findings(ledger_db: LedgerDB) -> list[str]:
    from ledger.store.verify_independent import verify_independent

    c = ledger_db.connect("aud")
    try:
        rep = verify_independent(c)  # type: ignore[arg-type]
    finally:
        c.close()
    return [f"{f.check}: {f.as_json()['message']}" for f in rep.findings]


def test_k4_a_tightened_cash_date_allowance_does_not_accuse_entries_written_under_the_old_one(
        ledger_db: LedgerDB) -> None:
    with_allowance(ledger_db, 3)
    ahead = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=2)).isoformat()
    r = ledger_db.cli("entry", "post", "-", "--json", user="fin", input=json.dumps([collect("k4-c1", ahead, "230822",
                                                                                         "1000.00")]))
    assert r.exit_code == 0, r
    held = [str(o["held_id"]) for o in json.loads(r.stdout) if o["status"] == "held"]
    if held:
        c = ledger_db.cli("entry", "confirm", *held, user="rev")
        assert c.exit_code == 0, c
    assert findings(ledger_db) == []
    # the region allows no days ahead from now on: an honest reload, accepted
    with_allowance(ledger_db, 0)
    # on main: entry_dates: "dated <today+2> but written on <today> … (cash_date_future)"
    assert findings(ledger_db) == []


def offline_findings(ledger_db: LedgerDB, tmp: Path) -> list[str]:
    """The same verdict over an export (ledger.io.archive: the same rules, the export's history)."""
    from ledger.io import archive

    out, filed = tmp / "export", tmp / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    return [f"{f.check}: {f.message}" for f in archive.verify_offline(out, filed).findings]


def test_k4_online_and_offline_agree_after_the_reload(ledger_db: LedgerDB, tmp_path: Path) -> None:
    with_allowance(ledger_db, 3)
    ahead = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=2)).isoformat()
    r = ledger_db.cli("entry", "post", "-", "--json", user="fin", input=json.dumps([collect("k4-o1", ahead, "230822",
                                                                                         "1000.00")]))
    assert r.exit_code == 0, r
    held = [str(o["held_id"]) for o in json.loads(r.stdout) if o["status"] == "held"]
    if held:
        assert ledger_db.cli("entry", "confirm", *held, user="rev").exit_code == 0
    with_allowance(ledger_db, 0)
    assert findings(ledger_db) == []
    assert offline_findings(ledger_db, tmp_path) == []


def test_k4_a_later_loosening_does_not_excuse_an_entry_written_under_a_tighter_allowance(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The region allows no day ahead; a superuser takes the limit off for one write (restored
    at once, nothing left in the catalogue) and then reloads the region with 3 days, which
    would cover the entry. The allowance recorded after the write excuses nothing: named."""
    from tests.security.test_attack7_rules import suspended

    with_allowance(ledger_db, 0)
    ahead = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=2)).isoformat()
    admin = ledger_db.admin()
    with suspended(admin, "fl._cash_date_limit()", "SELECT (now() AT TIME ZONE",
                   "SELECT ((now() + interval '3650 days') AT TIME ZONE"):
        r = ledger_db.cli("entry", "post", "-", "--json", user="fin",
                          input=json.dumps([collect("k4-t1", ahead, "230822", "1000.00")]))
        assert r.exit_code == 0, r
        held = [str(o["held_id"]) for o in json.loads(r.stdout) if o["status"] == "held"]
        if held:
            assert ledger_db.cli("entry", "confirm", *held, user="rev").exit_code == 0
    assert any("cash_date_future" in f for f in findings(ledger_db)), findings(ledger_db)
    with_allowance(ledger_db, 3)          # the DBA's cover: the setting widened after the write
    assert any("cash_date_future" in f for f in findings(ledger_db)), findings(ledger_db)
    assert any("cash_date_future" in f for f in offline_findings(ledger_db, tmp_path))
