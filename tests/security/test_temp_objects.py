"""Definer functions never use a temp object the caller made first. Every fixed name the
code used for a work table is planted, by the role that calls that code, as a temp table
whose triggers (BEFORE INSERT, UPDATE, DELETE and TRUNCATE) and rule run the payload; the
operation then succeeds, and the payload has not run with the owner's rights."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from ledger.store import yearend
from tests.conftest import LedgerDB
from tests.helpers import confirm_openings
from tests.security.conftest import Guard, attacker, temporary_given_back

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"

# Every temp work table name the definer functions ever used (0004, 0005), and the stage
# names the client used.
FIXED_NAMES = ["close_bal", "fl_ho_acc", "fl_imp_src", "fl_imp_work", "fl_imp_grp", "fl_imp_new", "fl_imp_ent",
               "fl_imp_res", "fl_imp_err", "fl_imp_acc", "fl_imp_gc", "fl_imp_map", "fl_stage_payments",
               "fl_stage_collections", "fl_stage_opening", "fl_stage_budget"]


@pytest.fixture(autouse=True)
def _temporary_given_back(ledger_db: LedgerDB) -> None:
    temporary_given_back(ledger_db)


def plant(conn: psycopg.Connection, names: list[str] = FIXED_NAMES) -> None:
    for name in names:
        conn.execute(f"CREATE TEMP TABLE {name} (a text, b text, c text, d text, e text, f text, g text, h text)")
        for when in ("INSERT OR UPDATE OR DELETE", "TRUNCATE"):
            level = "STATEMENT" if when == "TRUNCATE" else "ROW"
            conn.execute(f"CREATE TRIGGER pwn_{level.lower()} BEFORE {when} ON pg_temp.{name} "
                         f"FOR EACH {level} EXECUTE FUNCTION pg_temp.pwn_trg()")
        conn.execute(f"CREATE RULE pwn_select AS ON INSERT TO pg_temp.{name} DO ALSO SELECT pg_temp.pwn()")


def test_close_year_ignores_a_planted_close_bal(ledger_db: LedgerDB, guard: Guard) -> None:
    from tests.integration.test_yearend import _year

    _year(ledger_db)
    rev = attacker(ledger_db, "rev")
    plant(rev)
    done = yearend.close_year(rev, 2024, dt.date(2024, 12, 31))
    assert {b.book: b.entries for b in done.books} == {"EMP": 2, "RES": 6}
    guard.assert_defended("rev")


def test_handover_transfer_ignores_a_planted_work_table(ledger_db: LedgerDB, guard: Guard) -> None:
    r = ledger_db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01", user="rev")
    assert r.exit_code == 0, r
    confirm_openings(ledger_db)
    fin = attacker(ledger_db, "fin")
    plant(fin)
    moved = fin.execute("SELECT * FROM fl.handover_transfer('230822', '2023-01-05')").fetchall()
    assert {(m["book"], m["component"], m["status"]) for m in moved} == {
        ("RES", "", "posted"), ("EMP", "pooled", "posted"), ("EMP", "personal", "posted")}
    guard.assert_defended("fin")
