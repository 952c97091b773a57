"""ATTACK20b M5: 0016 took TEMPORARY on the ledger's database away from PUBLIC ("application roles
create no temporary objects": a caller's temp COLLATION decided definer functions' unit checks — on
PostgreSQL 16+ with ICU, tailoring rules make any two unit codes equal, so an officer's
`fl.request_submit('230881' COLLATE pg_temp.x, …)` passed `p_unit IS DISTINCT FROM u.unit`). The
database owner (the DBA the auditor may not trust) can give it back: `GRANT TEMPORARY ON DATABASE <db> TO
PUBLIC` (or to fl_officer). Neither `verify` (the catalogue check reads schema and object ACLs of fl and
fl_guard, not the database's ACL) nor `db check` names it: the precondition of a documented defence is
unverified. (On the embedded build ICU is absent, so the collation lever itself is not reproduced here;
the grant going unseen is.)

Fails on main: verify exit 0 after the grant.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


@pytest.mark.parametrize("grantee", ["PUBLIC", "fl_officer"])
def test_m5_temporary_on_the_ledgers_database_given_back_is_named_by_verify(ledger_db: LedgerDB,
                                                                            grantee: str) -> None:
    adm = ledger_db.admin()
    db = adm.execute("SELECT current_database() AS d").fetchone()["d"]
    ok = ledger_db.cli("verify", "--json", user="aud")
    assert ok.exit_code == 0, ok
    adm.execute(f'GRANT TEMPORARY ON DATABASE "{db}" TO {grantee}')
    o22 = ledger_db.connect("o22", autocommit=True)
    o22.execute("CREATE TEMP TABLE planted (a text)")        # the officer can make temp objects again
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code != 0 and "TEMP" in (res.stdout + res.stderr).upper(), res
