"""ATTACK21 N4 (on 0173, ATTACK20b M6's fix): the line that brought the balance back (a reversal 冲正) was looked
for among the STORED lines only. A later export holding the reversal AND the fee charged again matched the
stored fee on all six fields and was counted "already known": dropped silently (lines_new 1, not 2), and the
余额调节表 then reconciled on a wrong bank balance. Since 0174 a statement is read as a continuation of the
account's stored lines: a row is a stored line only where it is the same movement (its place agrees), so
the fee after the file's own reversal is a new one. Variants a bank really produces: several exports a day,
an export without the 余额 column before one with it, the whole day's export after partial ones, the same
export again, a newest-first export, the report's words in Chinese. Adapted from
/work/wt-redteam21/tests/security/test_rt21_twin_recur_in_file.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

HEAD = "date,amount,direction,reference,balance\n"
DEP = "2024-01-05,1000.00,in,collections:230822:c22,1000.00\n"
FEE = "2024-01-31,2.00,out,手续费,998.00\n"
REV = "2024-01-31,2.00,in,手续费冲正,1000.00\n"


def _imp(db: LedgerDB, path: Path, text: str, head: str = HEAD) -> object:
    path.write_text(head + text, "utf-8")
    return db.cli("reconcile", "import", str(path), "--account", "special", "--book", "RES", "--json", user="fin")


def _n(db: LedgerDB, sql: str) -> int:
    return int(db.admin().execute(sql).fetchone()["n"])


def _fees(db: LedgerDB) -> int:
    return _n(db, "SELECT count(*) AS n FROM fl.statement_line WHERE reference = '手续费' AND direction = 'out'")


@pytest.fixture
def deposited(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    return ledger_db


def test_fee_again_after_a_reversal_in_the_same_later_file_is_not_dropped(deposited: LedgerDB, tmp_path: Path) -> None:
    """The red team's case: morning (deposit, fee), afternoon (reversal, fee again): both afternoon lines are new,
    two fees stored; the 余额调节表 takes the bank's real 998.00 (not the reversal's 1000.00) and shows both fees
    among the bank's payments not in the books (4.00, against the reversal's 2.00 received)."""
    r = _imp(deposited, tmp_path / "morning.csv", DEP + FEE)
    assert r.exit_code == 0 and r.json()["lines_new"] == 2, r
    r2 = _imp(deposited, tmp_path / "afternoon.csv", REV + FEE)
    assert r2.exit_code == 0 and r2.json()["lines_new"] == 2, r2
    assert _fees(deposited) == 2
    rep = deposited.cli("reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2024-01-31",
                        "--json", user="aud")
    rec = rep.json()["reconciliation"]
    assert rec["bank_balance"] == "998.00" and rec["bank_payments_not_in_book"] == "4.00", rec
    assert rec["bank_receipts_not_in_book"] == "2.00" and rec["book_balance"] == "1000.00", rec


def test_fee_again_after_a_stored_line_without_balance_is_refused(deposited: LedgerDB, tmp_path: Path) -> None:
    """Variant: the morning export had no 余额 column. The afternoon fee can only be matched by position to the
    stored balance-less fee, right after the file's own new reversal: the file says it follows a new movement,
    nothing stored can say it does not — refused naming file, row and field, nothing written (not dropped)."""
    r = _imp(deposited, tmp_path / "morning.csv", "2024-01-05,1000.00,in,collections:230822:c22\n"
             "2024-01-31,2.00,out,手续费\n", head="date,amount,direction,reference\n")
    assert r.exit_code == 0 and r.json()["lines_new"] == 2, r
    before = _n(deposited, "SELECT count(*) AS n FROM fl.statement_line")
    r2 = _imp(deposited, tmp_path / "afternoon.csv", REV + FEE)
    assert r2.exit_code == 1 and "statement_line_ambiguous" in r2.stderr, r2
    assert "afternoon.csv" in r2.stderr and "row 3" in r2.stderr and "余额" in r2.stderr, r2.stderr
    assert _n(deposited, "SELECT count(*) AS n FROM fl.statement_line") == before


def test_the_whole_day_after_partial_exports_adds_nothing(deposited: LedgerDB, tmp_path: Path) -> None:
    """Several exports a day: morning (deposit, fee), afternoon (reversal, fee again); each again adds nothing;
    the whole day's export (deposit, fee, reversal, fee) adds nothing; the ledger verifies."""
    assert _imp(deposited, tmp_path / "am.csv", DEP + FEE).json()["lines_new"] == 2
    assert _imp(deposited, tmp_path / "pm.csv", REV + FEE).json()["lines_new"] == 2
    for name, text in (("am.csv", DEP + FEE), ("pm.csv", REV + FEE), ("day.csv", DEP + FEE + REV + FEE),
                       ("tail.csv", FEE + REV + FEE)):
        r = _imp(deposited, tmp_path / name, text)
        assert r.exit_code == 0 and r.json()["lines_new"] == 0, (name, r)
    assert _fees(deposited) == 2
    v = deposited.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, v


def test_the_whole_day_first_then_a_partial_export_adds_nothing(deposited: LedgerDB, tmp_path: Path) -> None:
    """The reverse: the whole day first (fee, reversal, fee again: two fees), then the afternoon export."""
    assert _imp(deposited, tmp_path / "day.csv", DEP + FEE + REV + FEE).json()["lines_new"] == 4
    r = _imp(deposited, tmp_path / "pm.csv", REV + FEE)
    assert r.exit_code == 0 and r.json()["lines_new"] == 0, r
    assert _fees(deposited) == 2


def test_a_fee_charged_a_third_time_comes_with_the_whole_day(deposited: LedgerDB, tmp_path: Path) -> None:
    """Two exports — (deposit, fee), (reversal, fee again) — then the whole day, which holds a second reversal and
    the fee a third time: exactly those two are new, the twins numbered 2 and 3. (A file holding only the third
    round reads exactly like the second exported again: a balance that cycles tells nothing more; that is what
    the 流水号 in the reference is for.)"""
    assert _imp(deposited, tmp_path / "1.csv", DEP + FEE).json()["lines_new"] == 2
    assert _imp(deposited, tmp_path / "2.csv", REV + FEE).json()["lines_new"] == 2
    r = _imp(deposited, tmp_path / "day.csv", DEP + FEE + REV + FEE + REV + FEE)
    assert r.exit_code == 0 and r.json()["lines_new"] == 2, r
    assert _fees(deposited) == 3
    twins = [x["twin"] for x in deposited.admin().execute(
        "SELECT twin FROM fl.statement_line WHERE reference = '手续费' ORDER BY id").fetchall()]
    assert twins == [None, 2, 3], twins


def test_a_fee_again_in_an_export_of_its_own_is_refused(deposited: LedgerDB, tmp_path: Path) -> None:
    """One line per export — (deposit, fee), (reversal), (fee again): the last file holds nothing that says
    whether it is the first fee exported again or a new one (both continue the stored lines): refused naming
    the row; the whole day's export then adds the fee."""
    assert _imp(deposited, tmp_path / "1.csv", DEP + FEE).json()["lines_new"] == 2
    assert _imp(deposited, tmp_path / "2.csv", REV).json()["lines_new"] == 1
    r = _imp(deposited, tmp_path / "3.csv", FEE)
    assert r.exit_code == 1 and "3.csv" in r.stderr and "statement_line_ambiguous" in r.stderr, r
    r = _imp(deposited, tmp_path / "day.csv", DEP + FEE + REV + FEE)
    assert r.exit_code == 0 and r.json()["lines_new"] == 1, r
    assert _fees(deposited) == 2


def test_a_newest_first_export_is_refused(deposited: LedgerDB, tmp_path: Path) -> None:
    """A newest-first export (dates going back) cannot be placed by its order: refused naming the row and the
    field (日期), nothing written; the same lines oldest first are accepted."""
    r = _imp(deposited, tmp_path / "desc.csv", FEE + DEP)
    assert r.exit_code == 1 and "statement_line_order" in r.stderr and "desc.csv" in r.stderr, r
    assert _n(deposited, "SELECT count(*) AS n FROM fl.statement_line") == 0
    assert _imp(deposited, tmp_path / "asc.csv", DEP + FEE).json()["lines_new"] == 2


def test_the_report_speaks_chinese_in_its_direction_column(deposited: LedgerDB, tmp_path: Path) -> None:
    """The cosmetic half of N4: the 余额调节表's bank side printed `out`/`in` under 收/付; now 收/付 (and 借/贷)."""
    assert _imp(deposited, tmp_path / "day.csv", DEP + FEE + REV).exit_code == 0
    rep = deposited.cli("--lang", "zh", "reconcile", "report", "--account", "special", "--book", "RES", "--as-of",
                        "2024-01-31", user="aud")
    assert rep.exit_code == 0, rep
    body = rep.stdout
    assert "收/付" in body and "│ 付" in body and "│ 收" in body, body
    assert "│ out" not in body and "│ in " not in body, body
