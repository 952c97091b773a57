"""(ATTACK21, the class of N1/N3) The README's read commands, on a ledger the README's quick start fills,
say nothing in English under the Chinese default: no run of four English words in what they print.

What is left and why (docs in /work/coord/NOTE-fx-lang.md): the memo (摘要) of an entry the database
writes ('期初余额 handover opening balance special_account of unit 230822: …', 'disbursement of fund
request 1') is a stored record, shown as it was written (``journal``, ``entry show``, ``report vouchers``
are not swept here); ``--json`` is for scripts and keeps the English record."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")   # cli.errors' own 'four English words'
ZH = {"FUNDLEDGER_LANG": "", "COLUMNS": "250"}

QUICK_START = [
    (None, "example", "data"),
    ("rev", "handover", "open", "data/opening_2023.csv", "--date", "2023-12-31"),
    ("fin", "entry", "confirm", "1", "2", "3", "4", "5"),
    ("fin", "handover", "transfer", "--unit", "230822", "--date", "2024-01-02"),
    ("rev", "budget", "import", "data/budget_2024.csv"),
    ("fin", "collect", "import", "data/collections_2024.csv"),
    ("rev", "preallocate", "--year", "2024", "--date", "2024-01-15"),
    ("fin", "entry", "confirm", "6", "7"),
    ("o22", "request", "submit", "--year", "2024", "--quarter", "1", "--amount", "200000.00", "--note", "一季度住院费用"),
    ("rev", "request", "approve", "1", "--amount", "150000.00", "--date", "2024-03-10"),
    ("fin", "request", "disburse", "1", "--date", "2024-03-15"),
    ("rev2", "request", "settle", "1", "--date", "2024-03-16"),
    ("o22", "pay", "import", "data/payments_2024q1_230822.csv"),
]
READS = [
    (None, "unit", "list"), ("o22", "request", "list"), ("rev", "monitor", "--as-of", "2024-03-31"),
    ("rev", "report", "shortfall", "--year", "2024"), ("rev", "report", "trial-balance", "--year", "2024"),
    ("aud", "verify"), ("rev", "register", "list"), ("rev", "entry", "held"),
    ("rev", "report", "balance-sheet", "--as-of", "2024-03-31"), ("rev", "report", "income", "--year", "2024"),
    ("rev", "report", "subledger", "--unit", "230822", "--year", "2024"),
    ("rev", "report", "budget-execution", "--year", "2024"), ("rev", "report", "funding", "--year", "2024"),
    ("rev", "report", "registers"), ("rev", "report", "city-budget", "--year", "2024"),
    ("rev", "report", "performance", "--year", "2024"), ("rev", "budget", "show", "--year", "2024"),
    ("rev", "account", "list"), ("aud", "audit", "digest"), ("rev", "forecast"),
    ("rev", "reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2024-03-31"),
    (None, "db", "log"), (None, "user", "list"),
]


def test_the_readmes_read_commands_speak_chinese(ledger_db: LedgerDB, tmp_path: Path) -> None:
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        for user, *args in QUICK_START:
            r = ledger_db.cli(*args, user=user, env=ZH)
            assert r.exit_code == 0, (args, r.stdout + r.stderr)
        leaks = {}
        for user, *args in READS:
            r = ledger_db.cli(*args, user=user, env=ZH)
            text = r.stdout + r.stderr
            assert r.exit_code in (0, 1, 3) and "Traceback" not in text, (args, text)
            runs = ENGLISH_RUN.findall(text.replace("fundledger", ""))
            if runs:
                leaks[" ".join(args)] = runs[:5]
    finally:
        os.chdir(here)
    assert not leaks, leaks
