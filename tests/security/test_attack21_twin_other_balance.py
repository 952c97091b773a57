"""ATTACK21 N5 (on 0173, ATTACK20b M6's fix): a line new only by its running balance was accepted when ANY
stored line ever ended at its balance-before. The same fee exported with 可用余额 (100.00 frozen: 898.00)
after the 账户余额 export (998.00) was stored twice whenever the account once stood at 900.00. Since 0174 such
a line must continue the line IMMEDIATELY before it (the stored line just before it, or the file's previous
row once that row's place is established). Variants: a whole 可用余额 export, a second real fee that does
continue, a file whose first rows are new and continue, an export without 余额 after one with it. Adapted
from /work/wt-redteam21/tests/security/test_rt21_twin_other_balance.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

HEAD = "date,amount,direction,reference,balance\n"
ZHANGHU = ("2024-01-05,900.00,in,collections:230822:c1,900.00\n"
           "2024-01-06,100.00,in,collections:230822:c2,1000.00\n"
           "2024-01-31,2.00,out,手续费,998.00\n")


def _imp(db: LedgerDB, path: Path, text: str, head: str = HEAD) -> object:
    path.write_text(head + text, "utf-8")
    return db.cli("reconcile", "import", str(path), "--account", "special", "--book", "RES", "--json", user="fin")


def _fees(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.statement_line WHERE reference = '手续费' "
                                  "AND direction = 'out'").fetchone()["n"])


@pytest.fixture
def stored(ledger_db: LedgerDB, tmp_path: Path) -> LedgerDB:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-05", "230822", "900.00"))
    post(fin, collect("c2", "2024-01-06", "230822", "100.00"))
    fin.commit()
    r = _imp(ledger_db, tmp_path / "zhanghu.csv", ZHANGHU)
    assert r.exit_code == 0 and r.json()["lines_new"] == 3, r
    return ledger_db


def test_the_same_fee_with_another_balance_figure_is_not_stored_twice(stored: LedgerDB, tmp_path: Path) -> None:
    """The red team's case: the fee with 可用余额 898.00 (before 900.00, a balance the account had on 01-05 but
    not just before the fee): refused naming file, row and field, nothing written."""
    r = _imp(stored, tmp_path / "keyong.csv", "2024-01-31,2.00,out,手续费,898.00\n")
    assert r.exit_code == 1 and "statement_line_ambiguous" in r.stderr, r
    assert "keyong.csv" in r.stderr and "余额" in r.stderr, r.stderr
    assert _fees(stored) == 1


def test_a_whole_export_with_available_balance_is_refused(stored: LedgerDB, tmp_path: Path) -> None:
    """The whole month exported with 可用余额 (every balance 100.00 lower): its rows are self-consistent, but the
    first row new by its balance does not continue the stored line before it — refused, nothing written."""
    keyong = ("2024-01-05,900.00,in,collections:230822:c1,800.00\n"
              "2024-01-06,100.00,in,collections:230822:c2,900.00\n"
              "2024-01-31,2.00,out,手续费,898.00\n")
    r = _imp(stored, tmp_path / "keyong.csv", keyong)
    assert r.exit_code == 1 and "statement_line_ambiguous" in r.stderr, r
    assert int(stored.admin().execute("SELECT count(*) AS n FROM fl.statement_line").fetchone()["n"]) == 3


def test_a_second_real_fee_that_continues_is_new(stored: LedgerDB, tmp_path: Path) -> None:
    """A second 2.00 fee the same day (996.00) continues the stored fee: new; the day's export holding both
    fees again adds nothing."""
    r = _imp(stored, tmp_path / "pm.csv", "2024-01-31,2.00,out,手续费,996.00\n")
    assert r.exit_code == 0 and r.json()["lines_new"] == 1, r
    r = _imp(stored, tmp_path / "day.csv", "2024-01-31,2.00,out,手续费,998.00\n2024-01-31,2.00,out,手续费,996.00\n")
    assert r.exit_code == 0 and r.json()["lines_new"] == 0, r
    assert _fees(stored) == 2


def test_a_fee_after_a_new_row_that_continues_is_new(stored: LedgerDB, tmp_path: Path) -> None:
    """A later export: an interest credit (new, continuing the stored fee), then a fee of the same kind whose
    balance continues that row: new."""
    r = _imp(stored, tmp_path / "pm.csv", "2024-01-31,1.00,in,利息,999.00\n2024-01-31,2.00,out,手续费,997.00\n")
    assert r.exit_code == 0 and r.json()["lines_new"] == 2, r
    assert _fees(stored) == 2


def test_a_fee_after_an_unplaced_new_row_is_refused(stored: LedgerDB, tmp_path: Path) -> None:
    """The same with 可用余额: the interest row (899.00) does not continue the stored fee (998.00), so its place
    is not established, and the fee after it (897.00) cannot be placed by it: refused (row 2)."""
    r = _imp(stored, tmp_path / "pm.csv", "2024-01-31,1.00,in,利息,899.00\n2024-01-31,2.00,out,手续费,897.00\n")
    assert r.exit_code == 1 and "statement_line_ambiguous" in r.stderr and "pm.csv" in r.stderr, r
    assert _fees(stored) == 1


def test_an_export_without_balance_adds_nothing(stored: LedgerDB, tmp_path: Path) -> None:
    """The same day exported without the 余额 column: matched by place, nothing added."""
    r = _imp(stored, tmp_path / "nobal.csv", "2024-01-06,100.00,in,collections:230822:c2\n2024-01-31,2.00,out,手续费\n",
             head="date,amount,direction,reference\n")
    assert r.exit_code == 0 and r.json()["lines_new"] == 0, r
    assert _fees(stored) == 1
