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


# ---- variants (the fix of the class: a line's identity tells twins apart, a re-import adds nothing) ----

def _import(ledger_db: LedgerDB, path: Path, text: str) -> dict[str, int]:
    path.write_text("date,amount,direction,reference,balance\n" + text, "utf-8")
    r = ledger_db.cli("reconcile", "import", str(path), "--account", "special", "--book", "RES", "--json", user="fin")
    assert r.exit_code == 0, r
    out: dict[str, int] = r.json()
    return out


def _fees(ledger_db: LedgerDB) -> list[tuple[object, object]]:
    return [(r["balance"], r["twin"]) for r in ledger_db.admin().execute(
        "SELECT balance, twin FROM fl.statement_line WHERE reference = '手续费' ORDER BY id").fetchall()]


def test_l7_overlapping_statements_and_three_twins(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Three fees of one day are three; the same file again, an overlapping statement holding all
    of them, and one holding only the middle one add nothing."""
    three = ("2024-01-31,2.00,out,手续费,998.00\n2024-01-31,2.00,out,手续费,996.00\n"
             "2024-01-31,2.00,out,手续费,994.00\n")
    first = _import(ledger_db, tmp_path / "a.csv", three)
    assert first["lines_new"] == first["lines_total"] == 3, first
    assert _fees(ledger_db) == [(99800, None), (99600, 2), (99400, 3)]
    assert _import(ledger_db, tmp_path / "a.csv", three)["lines_new"] == 0
    over = _import(ledger_db, tmp_path / "b.csv", three + "2024-02-01,5.00,in,利息,999.00\n")
    assert (over["lines_total"], over["lines_new"]) == (4, 1), over
    assert _import(ledger_db, tmp_path / "c.csv", "2024-01-31,2.00,out,手续费,996.00\n")["lines_new"] == 0
    assert len(_fees(ledger_db)) == 3


def test_l7_twins_in_two_files_are_told_apart_by_the_running_balance(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A statement cut in the middle of a day: one fee in each file — two lines (their 余额 differ);
    the second file again, or a later one holding both, adds nothing."""
    assert _import(ledger_db, tmp_path / "a.csv", "2024-01-31,2.00,out,手续费,998.00\n")["lines_new"] == 1
    assert _import(ledger_db, tmp_path / "b.csv", "2024-01-31,2.00,out,手续费,996.00\n")["lines_new"] == 1
    assert _import(ledger_db, tmp_path / "b.csv", "2024-01-31,2.00,out,手续费,996.00\n")["lines_new"] == 0
    both = _import(ledger_db, tmp_path / "m.csv", "2024-01-31,2.00,out,手续费,998.00\n2024-01-31,2.00,out,手续费,996.00\n")
    assert both["lines_new"] == 0, both
    assert _fees(ledger_db) == [(99800, None), (99600, 2)]


def test_l7_twins_without_a_balance_column(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """No 余额 column: twins of one file are told apart by their place; the same file again, or one
    holding only one of them, adds nothing; a file with the balance holding both adds nothing either."""
    two = "2024-01-31,2.00,out,手续费,\n2024-01-31,2.00,out,手续费,\n"
    assert _import(ledger_db, tmp_path / "a.csv", two)["lines_new"] == 2
    assert _import(ledger_db, tmp_path / "a.csv", two)["lines_new"] == 0
    assert _import(ledger_db, tmp_path / "b.csv", "2024-01-31,2.00,out,手续费,\n")["lines_new"] == 0
    assert _import(ledger_db, tmp_path / "c.csv", "2024-01-31,2.00,out,手续费,998.00\n"
                   "2024-01-31,2.00,out,手续费,996.00\n")["lines_new"] == 0
    assert _fees(ledger_db) == [(None, None), (None, 2)]
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, v
