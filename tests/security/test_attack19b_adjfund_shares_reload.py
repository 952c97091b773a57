"""ATTACK19b K1: the independent verdict judges a past fixed-share allocation against the region's
CURRENT [adjustment_fund] shares (``rows.adjfund``: fl.setting's value now), so an honest reload that
changes the shares for later years makes the verdict accuse the ledger of an allocation that followed
the shares in force when it was made."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from ledger.core.region import parse_region
from ledger.store import migrate
from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def with_fund(ledger_db: LedgerDB, fund: dict[str, Any]) -> None:
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    doc["adjustment_fund"] = fund
    with ledger_db.connect(None) as c:
        migrate.load_reference(c, parse_region(doc, "test.toml"))  # type: ignore[arg-type]
        c.commit()


def run(ledger_db: LedgerDB, user: str, *args: str, input: str | None = None) -> Any:
    r = ledger_db.cli(*args, user=user, input=input)
    assert r.exit_code == 0, r
    return r


def post(ledger_db: LedgerDB, *entries: dict[str, Any]) -> None:
    out = run(ledger_db, "fin", "entry", "post", "-", "--json", input=json.dumps(list(entries))).json()
    held = [str(o["held_id"]) for o in out if o["status"] == "held"]
    if held:
        run(ledger_db, "rev", "entry", "confirm", *held)


def move(key: str, date: str, unit: str, dr: str, cr: str, yuan: str, *, dr_holder: str | None = None,
         cr_holder: str | None = None) -> dict[str, Any]:
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": [
        {"account": dr, "unit": unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def findings(ledger_db: LedgerDB) -> list[str]:
    from ledger.store.verify_independent import verify_independent

    c = ledger_db.connect("aud")
    try:
        rep = verify_independent(c)  # type: ignore[arg-type]
    finally:
        c.close()
    return [f"{f.check}: {f.as_json()['message']}" for f in rep.findings]


def test_k1_a_reload_changing_the_fixed_shares_does_not_accuse_a_past_allocation(ledger_db: LedgerDB) -> None:
    """2023: fixed shares 230822 : 230881 = 3 : 1, an allocation of 800 gives 600 and 200 — the
    verdict is whole. The region then changes the shares to 1 : 1 for what comes (a reload the
    ledger accepts). Nothing in the books changed: the verdict must stay whole."""
    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 3, "230881": 1}})
    post(ledger_db, move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("e22", "2023-04-30", "230822", "5001.inpatient", "1003", "600.00", cr_holder="special"),
         move("e81", "2023-04-30", "230881", "5001.inpatient", "1003", "900.00", cr_holder="special"))
    got = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "800.00", "--date", "2023-05-01",
              "--json").json()
    assert [(r["unit"], r["amount"]) for r in got] == [("230822", "600.00"), ("230881", "200.00")]
    assert findings(ledger_db) == []
    # the region's shares change for later allocations: an honest reload, accepted
    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 1, "230881": 1}})
    assert findings(ledger_db) == []


def test_k1_a_later_reload_does_not_excuse_an_allocation_off_the_shares_in_force(ledger_db: LedgerDB,
                                                                                tmp_path: Path) -> None:
    """Shares 3 : 1; a superuser makes one allocation share 1 : 1 (the weights' reading changed
    for the write, restored at once), then reloads the region with shares 1 : 1, which the
    allocation's recorded weights would match. The shares recorded after the allocation excuse
    nothing: named, online and offline."""
    from ledger.io import archive
    from tests.security.test_attack7_rules import suspended

    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 3, "230881": 1}})
    post(ledger_db, move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("e22", "2023-04-30", "230822", "5001.inpatient", "1003", "600.00", cr_holder="special"),
         move("e81", "2023-04-30", "230881", "5001.inpatient", "1003", "900.00", cr_holder="special"))
    with suspended(ledger_db.admin(), "fl._adjfund_weights(text[],bigint[])",
                   "coalesce((fl._adjfund() -> 'shares' ->> x.u)::bigint, 0)",
                   "(CASE WHEN x.u IN ('230822', '230881') THEN 1 ELSE 0 END)::bigint"):
        got = run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "800.00", "--date",
                  "2023-05-01", "--json").json()
    assert [(r["unit"], r["amount"]) for r in got] == [("230822", "400.00"), ("230881", "400.00")]
    assert any("adjfund_cap" in f and "neither" in f for f in findings(ledger_db)), findings(ledger_db)
    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 1, "230881": 1}})
    assert any("adjfund_cap" in f and "neither" in f for f in findings(ledger_db)), findings(ledger_db)
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    offline = [f.message for f in archive.verify_offline(out, filed).findings]
    assert any("adjfund_cap" in m and "neither" in m for m in offline), offline


def test_k1_offline_agrees_after_an_honest_reload(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from ledger.io import archive

    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 3, "230881": 1}})
    post(ledger_db, move("o00", "2022-12-31", "230800", "1003", "3001", "100000.00", dr_holder="special"),
         move("e22", "2023-04-30", "230822", "5001.inpatient", "1003", "600.00", cr_holder="special"),
         move("e81", "2023-04-30", "230881", "5001.inpatient", "1003", "900.00", cr_holder="special"))
    run(ledger_db, "fin", "adjfund", "allocate", "--year", "2023", "--amount", "800.00", "--date", "2023-05-01")
    with_fund(ledger_db, {"in_order": True, "allocation_rule": "fixed", "shares": {"230822": 1, "230881": 1}})
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    assert [f.message for f in archive.verify_offline(out, filed).findings] == []
