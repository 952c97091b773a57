"""ATTACK20 L7 (MED): two real bank lines that happen to share reference, date, direction and amount
— two 2.00 bank fees (手续费) on one day, two equal deposits with the payer's same remark — are stored
as one: the second is silently dropped and counted "already known".

``fl.import_statement`` inserts the file's lines with ``ON CONFLICT ON CONSTRAINT statement_line_once
DO NOTHING``; the constraint is UNIQUE (bank account, reference, line date, direction, amount) — meant
to make re-importing a statement (or an overlapping one) post nothing twice. But it also collapses two
distinct lines of ONE statement (or of two consecutive statements) that agree on those five fields;
``read_statement`` does not look for such twins and nothing tells the user. Chinese bank statements'
摘要 are often generic (手续费, 利息, 转账), so twins are ordinary. The bank's side of the 余额调节表
then lacks the dropped line: a payment the bank made (the second fee) shows as "book payment not yet
in the bank" or the bank balance does not tie; ``--json`` says ``lines_new`` 1 of ``lines_total`` 2.

Reproduction: a statement of the special account with two lines ``2024-01-31, 2.00, out, 手续费``
(running balance 998.00, then 996.00): one line stored.

Safe behaviour asserted: both lines are stored (identity of a statement line must include what tells
twins apart — its position in the statement / its running balance — while a re-import of the same
statement still adds nothing), or the file is refused naming both rows and saying how to tell them
apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_l7_two_equal_bank_lines_are_both_kept(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    st = tmp_path / "jan-special.csv"
    st.write_text("date,amount,direction,reference,balance\n"
                  "2024-01-05,1000.00,in,collections:230822:c22,1000.00\n"
                  "2024-01-31,2.00,out,手续费,998.00\n"
                  "2024-01-31,2.00,out,手续费,996.00\n", "utf-8")
    r = ledger_db.cli("reconcile", "import", str(st), "--account", "special", "--book", "RES", "--json", user="fin")
    if r.exit_code == 1:        # refused, naming the twin rows: safe too
        assert "3" in r.stderr and "4" in r.stderr, r.stderr
        return
    assert r.exit_code == 0, r
    out = r.json()
    # on main: lines_total 3, lines_new 2 — the second 手续费 line dropped as "already known"
    assert out["lines_new"] == out["lines_total"] == 3, out
    stored = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line WHERE reference = '手续费'"
                                       ).fetchone()["n"]
    assert stored == 2, stored
    again = ledger_db.cli("reconcile", "import", str(st), "--account", "special", "--book", "RES", "--json", user="fin")
    assert again.exit_code == 0 and again.json()["lines_new"] == 0, again     # a re-import still adds nothing
