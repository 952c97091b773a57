"""ATTACK20b M6 (on 0170, ATTACK20 L7's fix): twins in two statements are told apart by the running balance
(余额) — except when the balance comes back to the same figure between them. A 2.00 手续费 (balance 998.00),
its reversal 手续费冲正 +2.00 (1000.00), the fee charged again (998.00): a common bank pattern. The first
statement (a 交易明细 export up to midday) holds the first two lines; the next export holds the fee charged
again. Its line agrees with the stored first fee on all six fields (account, reference, date, direction,
amount, balance): counted "already known", dropped silently (lines_new 0) — L7's loss again, in the case
docs/auditors-guide.md says the balance resolves ("twins that came in different files are told apart by
it"). The balance sequence itself tells them apart: the stored line before it ends at 1000.00, and
1000.00 − 2.00 = 998.00 is this line's, a new movement.

Safe behaviour asserted: the second fee is stored (or the import is refused naming the row, saying the file
cannot be told from one already imported).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_m6_a_twin_whose_running_balance_recurs_is_not_dropped(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    morning = tmp_path / "morning.csv"
    morning.write_text("date,amount,direction,reference,balance\n"
                       "2024-01-05,1000.00,in,collections:230822:c22,1000.00\n"
                       "2024-01-31,2.00,out,手续费,998.00\n"
                       "2024-01-31,2.00,in,手续费冲正,1000.00\n", "utf-8")
    r = ledger_db.cli("reconcile", "import", str(morning), "--account", "special", "--book", "RES", "--json", user="fin")
    assert r.exit_code == 0 and r.json()["lines_new"] == 3, r
    afternoon = tmp_path / "afternoon.csv"
    afternoon.write_text("date,amount,direction,reference,balance\n"
                         "2024-01-31,2.00,out,手续费,998.00\n", "utf-8")
    r2 = ledger_db.cli("reconcile", "import", str(afternoon), "--account", "special", "--book", "RES", "--json",
                       user="fin")
    if r2.exit_code == 1:       # refused, naming the row it cannot tell from a stored one: safe too
        assert "2" in r2.stderr, r2.stderr
        return
    assert r2.exit_code == 0, r2
    fees = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line WHERE reference = '手续费' "
                                     "AND direction = 'out'").fetchone()["n"]
    # on main: 1 — the fee charged again is taken for the first one
    assert fees == 2 and r2.json()["lines_new"] == 1, (fees, r2.json())


def test_m6_the_same_line_with_another_balance_figure_is_not_stored_twice(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Variant: one bank line imported from two exports of the same statement, one printing 账户余额 and one
    可用余额 (or a balance column off by a frozen amount): before 0170 the five-field identity added nothing;
    now the second is a new "twin" (no stored line has its balance) — a bank movement counted twice. The file's
    balance column is not checked for running consistency (read_statement parses it only)."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    a = tmp_path / "a.csv"
    a.write_text("date,amount,direction,reference,balance\n"
                 "2024-01-05,1000.00,in,collections:230822:c22,1000.00\n", "utf-8")
    b = tmp_path / "b.csv"
    b.write_text("date,amount,direction,reference,balance\n"
                 "2024-01-05,1000.00,in,collections:230822:c22,900.00\n", "utf-8")
    for f in (a, b):
        r = ledger_db.cli("reconcile", "import", str(f), "--account", "special", "--book", "RES", "--json", user="fin")
        if f is b and r.exit_code == 1:     # refused, naming the row that disagrees with a stored line: safe
            return
        assert r.exit_code == 0, r
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line WHERE reference = %s",
                                  ("collections:230822:c22",)).fetchone()["n"]
    assert n == 1, n


# ---- variants (0173: a line's balance before it, and the lines around it, tell a recurring balance apart) ----

def _imp(ledger_db: LedgerDB, path: Path, text: str) -> object:
    path.write_text("date,amount,direction,reference,balance\n" + text, "utf-8")
    return ledger_db.cli("reconcile", "import", str(path), "--account", "special", "--book", "RES", "--json",
                         user="fin")


def test_m6_the_file_showing_where_the_fee_stands_decides(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The morning statement again adds nothing; the afternoon one holding the reversal and the fee
    charged again adds the fee (it follows the reversal); the fee alone is refused naming its row; the
    whole day's statement (fee, reversal, fee again) then adds nothing; the ledger verifies."""
    morning = ("2024-01-31,2.00,out,手续费,998.00\n"
               "2024-01-31,2.00,in,手续费冲正,1000.00\n")
    r = _imp(ledger_db, tmp_path / "m.csv", morning)
    assert r.exit_code == 0 and r.json()["lines_new"] == 2, r
    r = _imp(ledger_db, tmp_path / "m.csv", morning)
    assert r.exit_code == 0 and r.json()["lines_new"] == 0, r
    alone = _imp(ledger_db, tmp_path / "alone.csv", "2024-01-31,2.00,out,手续费,998.00\n")
    assert alone.exit_code == 1 and "alone.csv" in alone.stderr and "2" in alone.stderr, alone
    after = _imp(ledger_db, tmp_path / "pm.csv", "2024-01-31,2.00,in,手续费冲正,1000.00\n"
                 "2024-01-31,2.00,out,手续费,998.00\n")
    assert after.exit_code == 0 and after.json()["lines_new"] == 1, after
    day = _imp(ledger_db, tmp_path / "day.csv", morning + "2024-01-31,2.00,out,手续费,998.00\n")
    assert day.exit_code == 0 and day.json()["lines_new"] == 0, day
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line WHERE reference = '手续费'").fetchone()
    assert n["n"] == 2, n
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, v


def test_m6_a_new_balance_that_follows_is_a_new_line(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A fee whose balance is new and follows from the stored one (998 − 2 = 996) is a second fee; a fee
    whose balance follows from nothing (990 − … ) is refused naming its row, nothing written."""
    assert _imp(ledger_db, tmp_path / "a.csv", "2024-01-31,2.00,out,手续费,998.00\n").json()["lines_new"] == 1
    assert _imp(ledger_db, tmp_path / "b.csv", "2024-01-31,2.00,out,手续费,996.00\n").json()["lines_new"] == 1
    odd = _imp(ledger_db, tmp_path / "odd.csv", "2024-01-31,2.00,out,手续费,990.00\n")
    assert odd.exit_code == 1 and "odd.csv" in odd.stderr, odd
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line").fetchone()["n"] == 2
