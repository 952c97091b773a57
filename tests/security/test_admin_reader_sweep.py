"""The admin reads users and reference data, never a unit's figures (docs/security.md's role
table; ATTACK18 G6). The confined readers filter by ``fl.my_unit()``, which is NULL — "every
unit" — for the city's roles and for the admin alike, who has no unit: a definer reader the admin
may execute hands it every unit's rows. This sweep lists every SECURITY DEFINER function of
``fl`` the admin may execute whose body reads ``fl.my_unit()`` or ``fl.sees_unit``, and every
table the admin may read whose row security is written with them; each must be listed here
with why it gives the admin no unit's figures. A new one fails until it refuses the admin or is
listed with a reason."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

ADMIN_MAY_RUN: dict[str, str] = {
    "my_unit": "the caller's own unit (NULL for the admin)",
    "sees_unit": "whether the caller sees a unit: a boolean about the caller, no figure",
    "sees_unit_all": "whether the caller sees every unit of a list: a boolean about the caller, no figure",
    "import_payments": "a write: fl.require_role(officer, reviewer) refuses the admin on its first line",
}
ADMIN_MAY_READ = {
    "app_user": "the users: the admin manages them (its row security shows a unit's officer only its own row)",
}


def test_no_confined_reader_hands_the_admin_every_unit(ledger_db: LedgerDB) -> None:
    a = ledger_db.admin()
    funcs = {r["name"]: r["sig"] for r in a.execute("""
        SELECT p.proname::text AS name, p.oid::regprocedure::text AS sig
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'fl' AND p.prosecdef AND pg_catalog.has_function_privilege('fl_admin', p.oid, 'EXECUTE')
           AND (p.prosrc LIKE '%my_unit()%' OR p.prosrc LIKE '%sees_unit%')""").fetchall()}
    assert not {n: s for n, s in funcs.items() if n not in ADMIN_MAY_RUN}, funcs
    tables = {r["name"] for r in a.execute("""
        SELECT DISTINCT c.relname::text AS name
          FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'fl' AND pg_catalog.has_table_privilege('fl_admin', c.oid, 'SELECT')
           AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) ~ '(my_unit|sees_unit)'""").fetchall()}
    assert tables <= ADMIN_MAY_READ.keys(), tables - ADMIN_MAY_READ.keys()


@pytest.mark.parametrize("query", [
    "SELECT * FROM fl.year_figures_read_at(2024, 'RES', '2024-12-31')",
    "SELECT * FROM fl.year_figures_read(2024, 'RES')",
    "SELECT * FROM fl.year_closes(2024)",
])
def test_the_admin_is_refused_each_figures_reader(ledger_db: LedgerDB, query: str) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c", "2024-03-01", "230822", "1000.00"))
    adm = ledger_db.connect("admin", autocommit=True)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        adm.execute(query).fetchall()
    assert ledger_db.connect("aud", autocommit=True).execute(
        "SELECT count(*) AS n FROM fl.year_figures_read(2024, 'RES')").fetchone()["n"] > 0   # the auditor still reads
