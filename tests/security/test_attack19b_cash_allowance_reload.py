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
