"""The later joining-date registrations (fl.unit_joined_later, sql/0167) cannot be written around the
city bureau's function nor changed, and a change made with every trigger off is named by verify, online
(both passes) and offline (the export).

A registration moves a unit's months-payable basis: a raw INSERT by an application role is refused (no
privilege), a raw UPDATE, DELETE or TRUNCATE by the owner is refused (append-only), a raw INSERT by the
owner still meets the table's own bound (never after the unit's first posting). A superuser who rewrites
a row's date with the triggers off breaks its link (record_links), its history (histories) and — the
date now after the unit's first posting — first_days.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

UNIT = "230822"


def _registered(db: LedgerDB) -> None:
    fin = db.connect("fin")
    post(fin, collect("jlc-1", "2023-03-28", UNIT, "10000.00"))
    fin.commit()
    r = db.cli("unit", "register-joined", UNIT, "--on", "2023-01-01", "--reason", "参保登记", "--document", "文号1",
               user="rev")
    assert r.exit_code == 0, r


def test_raw_sql_on_the_registrations_is_refused(ledger_db: LedgerDB) -> None:
    _registered(ledger_db)
    for who in ("rev", "fin", "o22", "aud"):
        c = ledger_db.connect(who, autocommit=True)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("INSERT INTO fl.unit_joined_later (unit, joined_on, reason, document, idempotency_key, "
                      "prev_hash, hash) VALUES (%s, '2021-01-01', 'r', 'd', 'raw', '\\x', '\\x')", (UNIT,))
    adm = ledger_db.admin()
    for q in ("UPDATE fl.unit_joined_later SET joined_on = '2021-01-01'", "DELETE FROM fl.unit_joined_later",
              "TRUNCATE fl.unit_joined_later"):
        with pytest.raises(psycopg.Error):
            adm.execute(q)
    # the owner's raw INSERT still meets the bound: never after the unit's first posting (2023-03-28)
    with pytest.raises(psycopg.Error) as e:
        adm.execute("INSERT INTO fl.unit_joined_later (unit, joined_on, reason, document, idempotency_key, "
                    "prev_hash, hash) VALUES (%s, '2023-04-01', 'r', 'd', 'raw', '\\x', '\\x')", (UNIT,))
    assert "joined_later_after_posting" in str(e.value.diag.constraint_name or "") or "2023-03-28" in str(e.value)
    assert adm.execute("SELECT count(*) AS n FROM fl.unit_joined_later").fetchone()["n"] == 1


def test_a_registration_rewritten_with_the_triggers_off_is_named_online_and_offline(ledger_db: LedgerDB,
                                                                                    tmp_path: Path) -> None:
    _registered(ledger_db)
    ok = ledger_db.cli("verify", "--json", user="aud")
    assert ok.exit_code == 0, ok
    adm = ledger_db.admin()
    adm.execute("SET session_replication_role = replica")
    # the date and the row's own record of the first posting, both moved (the CHECK holds the pair)
    adm.execute("UPDATE fl.unit_joined_later SET joined_on = '2023-06-01', first_posting = '2023-06-01' "
                "WHERE unit = %s", (UNIT,))
    adm.execute("SET session_replication_role = origin")
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code != 0, res
    doc = res.json()
    first = {c["name"] for c in doc["checks"] if not c["ok"]}
    ind = {c["name"] for c in doc["independent"]["checks"] if not c["ok"]}
    assert "record_links" in first and "histories" in first, first
    assert {"record_links", "histories", "first_days"} <= ind, ind
    out = tmp_path / "export"
    r = ledger_db.cli("audit", "export", str(out), user="aud")
    assert r.exit_code == 0, r
    from ledger.io import archive

    rep = archive.run_proof(out)
    bad = {c.name for c in rep.checks if c.findings}
    assert {"record_links", "histories", "first_days"} <= bad, bad
