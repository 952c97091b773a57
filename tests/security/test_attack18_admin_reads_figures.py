"""ATTACK18 G6 (LOW/MED): the admin — who reads users and reference data only, holds no SELECT on the
journal (``permission denied for table posting``) and whose ``monitor`` is refused — reads every
unit's revenue, expenditure, surplus and government share through the confined definer readers.

``fl.year_figures_read_at``, ``fl.year_figures_read`` and ``fl.year_closes`` (0100/0104) are SECURITY
DEFINER readers granted to ``fl_admin`` too, and confine by ``fl.my_unit()``: NULL — "every unit"
— for the city roles, and also for the admin, who has no unit. So ``fundledger --as admin report
shortfall --year 2024`` prints every unit's rule figures (revenue on the books, receipts, expenditure,
C, S before), and a raw ``SELECT * FROM fl.year_figures_read_at(2024, 'RES', '2024-12-31')`` on the
admin's login returns every unit's row; after a close, ``fl.year_closes(2023)`` the stored table.
docs/security.md's role table: admin reads "users, reference data".

Safe behaviour asserted: the admin gets no unit's figures (the readers refuse it, or return nothing),
as the journal's tables and the monitor refuse it.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db


def test_g6_the_admin_reads_no_units_figures(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c", "2023-03-01", "230822", "1000.00"), pay_from_special("p", "2023-04-01", "230822", "900.00"),
         collect("c2", "2024-03-01", "230822", "777.00"))
    assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0

    adm = ledger_db.connect("admin", autocommit=True)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        adm.execute("SELECT count(*) FROM fl.posting")                       # the journal is not the admin's
    leaked = []
    for q in ("SELECT unit, revenue FROM fl.year_figures_read_at(2024, 'RES', '2024-12-31')",
              "SELECT unit, revenue FROM fl.year_figures_read(2024, 'RES')",
              "SELECT * FROM fl.year_closes(2023)"):
        try:
            rows = adm.execute(q).fetchall()
        except psycopg.Error:
            continue
        if rows:
            leaked.append((q, rows[:2]))
    # On main: all three return rows — 230822's revenue 77700 for 2024, the 2023 close's table
    assert not leaked, leaked
    r = ledger_db.cli("report", "shortfall", "--year", "2024", user="admin")
    # On main: exit 0, every unit's rule figures (230822: revenue on the books 777.00)
    assert "777.00" not in r.stdout, r.stdout
