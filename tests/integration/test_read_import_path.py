"""Issue 24: a read command (``balance --json``, ``monitor --json``) loads only what it needs.

Each command runs to its end against a ledger in a fresh interpreter, as a user's shell
starts it; what it imported is then read from ``sys.modules``. A module that only another
command, a printed table or a written file needs (rich, openpyxl, SQLAlchemy, the verdicts,
the rules, the entry documents' parser …) costs a read command's start-up time every run:
one frozen dataclass alone is ~5 M instructions to make. This is a behaviour test — which
modules load — not a timing test (timings: bench/startup.py, docs/benchmarks.md).

They run as the console script does (cli.entry.main): the two reads take its fast path,
so neither Typer nor its click loads, nor importlib.metadata (psycopg's version modules
read their METADATA file without it: cli/entry.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.helpers import with_figures

_RUN = """
import json, sys
sys.argv = ['fundledger', *sys.argv[1:]]
from cli.entry import main
code = 0
try:
    main()
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 0
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

# Never on a read command's path: printing and file formats, other drivers and ORMs,
# property testing, charts, the verdicts and the rules.
HEAVY = ("rich", "openpyxl", "hypothesis", "babel", "sqlalchemy", "sqlmodel", "alembic", "pydantic", "matplotlib",
         "numpy", "platformdirs", "ledger.store.verify", "ledger.store.verify_independent", "ledger.store.verify_rules",
         "ledger.core.rules", "ledger.core.fund_rules", "ledger.core.rule_binding", "ledger.core.proof",
         "ledger.store.journal", "ledger.store.embedded", "ledger.core.region", "ledger.core.forecast",
         "ledger.core.response", "ledger.reports.export", "typer.rich_utils")
# The fast path (cli/entry.py) runs the two reads without Typer, click or
# importlib.metadata (0.14 G instructions of the 0.79 G `balance --json` took with them).
NOT_FOR_A_READ = ("typer", "click", "cli.main", "cli.callbacks", "cli.cmd_core", "importlib.metadata", "email",
                  "zipfile")
# What balance leaves to the commands that write: the entry documents, the admin's
# functions, input files, output files, and the request rules a date check borrows.
NOT_FOR_BALANCE = ("ledger.core.entries", "ledger.store.admin", "ledger.io.infile", "cli.outfiles",
                   "ledger.core.requests", "cli.cmd_monitor", "ledger.reports.model")
NOT_FOR_MONITOR = ("ledger.core.entries", "ledger.store.admin", "ledger.io.infile", "ledger.core.requests",
                   "cli.cmd_core", "ledger.store.accounts")


def _run(url: str, *argv: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "FUNDLEDGER_USER"}
    env |= {"FUNDLEDGER_DATABASE_URL": url, "FUNDLEDGER_LANG": "en"}
    r = subprocess.run([sys.executable, "-c", _RUN, *argv], capture_output=True, text=True, timeout=120, env=env)
    last = r.stderr.strip().splitlines()[-1]
    got: dict[str, Any] = json.loads(last)
    got["stdout"] = r.stdout
    return got


def _absent(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in loaded or any(m.startswith(n + ".") for m in loaded)]


def test_balance_json_loads_no_heavy_module(ledger_db: Any) -> None:
    with_figures(ledger_db, "230822")
    got = _run(ledger_db.url("fin"), "balance", "RES:1003:230822:special", "--json")
    assert got["exit"] == 0, got
    assert json.loads(got["stdout"])["account"] == "RES:1003:230822:special"
    assert "psycopg" in got["modules"]   # it did read the ledger
    assert _absent(got["modules"], HEAVY + NOT_FOR_BALANCE + NOT_FOR_A_READ) == []


def test_monitor_json_loads_no_heavy_module(ledger_db: Any) -> None:
    with_figures(ledger_db, "230822")
    got = _run(ledger_db.url("rev"), "monitor", "--json")
    assert got["exit"] in (0, 3), got   # 3: a red row (exit code for schedulers)
    assert "rows" in json.loads(got["stdout"])
    assert _absent(got["modules"], HEAVY + NOT_FOR_MONITOR + NOT_FOR_A_READ) == []


def test_a_plain_balance_and_an_option_of_the_typer_tree_still_work(ledger_db: Any) -> None:
    with_figures(ledger_db, "230822")
    plain = _run(ledger_db.url("fin"), "balance", "RES:1003:230822:special")
    assert plain["exit"] == 0 and "RES:1003:230822:special" in plain["stdout"], plain
    assert _absent(plain["modules"], NOT_FOR_A_READ) == []      # the fast path prints through rich, not Typer
    helped = _run(ledger_db.url("fin"), "balance", "--help")
    assert helped["exit"] == 0 and "--as-of" in helped["stdout"], helped
    assert "typer" in helped["modules"]                             # help is the Typer tree's
