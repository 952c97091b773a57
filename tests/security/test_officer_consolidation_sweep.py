"""ATTACK17 E10's class: no report shows an officer its own unit's figures under the city's
label. Every report command (CLI table, --json, CSV, XLSX) is run as a county officer on a
ledger of two units: it either refuses in words saying what to run instead (as final accounts
does), or shows no row labelled as the city's consolidation — no unit/scope ``all``, no
"Whole region", "Consolidated", "city total" — and no rank among units it cannot see.

``COMMANDS`` lists every report command; ``test_the_sweep_names_every_report_command`` holds the
list against the CLI's tree, so a new report is swept too (tests/security/test_e10_consolidation_sweep.py
checks each consolidating command's own behaviour; this one every output form of every report).
The monitor's fast path (cli/entry.py) is compared with the Typer command as an officer in
tests/integration/test_fast_path.py."""

from __future__ import annotations

import csv as csvlib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

CITY_WORDS = ("Whole region", "Consolidated", "city total", "all units", "全市", "合并", "全区")
# Every report command (its argv after the command words) and whether it has --json / --csv / --xlsx.
COMMANDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("monitor",): ("--as-of", "2024-03-31"),
    ("report", "balance-sheet"): ("--as-of", "2024-03-31"),
    ("report", "income"): ("--year", "2024"),
    ("report", "trial-balance"): ("--as-of", "2024-03-31"),
    ("report", "subledger"): ("--unit", "230822", "--as-of", "2024-03-31"),
    ("report", "budget-execution"): ("--year", "2024"),
    ("report", "city-budget"): ("--year", "2024"),
    ("report", "funding"): ("--year", "2024"),
    ("report", "requests"): ("--year", "2024"),
    ("report", "registers"): ("--as-of", "2024-03-31"),
    ("report", "performance"): ("--year", "2024"),
    ("report", "final-accounts"): ("--year", "2023"),
    ("report", "shortfall"): ("--year", "2024"),
    ("report", "vouchers"): (),
    ("budget", "show"): ("--year", "2024"),
    ("budget", "city"): ("--year", "2024"),
}
NOT_CONSOLIDATING = {("report", "ledger"): "one account's postings",
                     ("reconcile", "report"): "one bank account's reconciliation"}
FILES = {("report", "balance-sheet"), ("report", "income"), ("report", "trial-balance"), ("report", "city-budget"),
         ("report", "budget-execution"), ("report", "funding"), ("report", "performance"), ("monitor",)}


def _two_units(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("s22", "2024-01-10", "230822", "1000.00"), collect("s81", "2024-01-10", "230881", "5000.00"),
         pay_from_special("q22", "2024-02-10", "230822", "1200.00"))
    budget = tmp_path / "budget_2024.csv"
    budget.write_text("year,unit,book,line,amount\n2024,230822,RES,4001,1000.00\n2024,230822,RES,5001,1000.00\n"
                      "2024,230881,RES,4001,5000.00\n2024,230881,RES,5001,4000.00\n", "utf-8")
    assert ledger_db.cli("budget", "import", str(budget), user="rev").exit_code == 0


def _walk(v: Any) -> list[str]:
    """Every problem in a JSON value: a row labelled as the city's, a rank among unseen units."""
    out: list[str] = []
    if isinstance(v, dict):
        if v.get("unit") == "all" or v.get("scope") == "all":
            out.append(f"row labelled the city's: {str(v)[:160]}")
        if v.get("rank") not in (None, 0):
            out.append(f"ranked among units an officer cannot see: {str(v)[:160]}")
        for x in v.values():
            out += _walk(x)
    elif isinstance(v, list):
        for x in v:
            out += _walk(x)
    elif isinstance(v, str) and any(w in v for w in CITY_WORDS[:4]):
        out.append(f"city label: {v[:160]}")
    return out


def test_the_sweep_names_every_report_command() -> None:
    import importlib

    from cli.cmd_core import report_app
    from cli.main import MODULES

    for m in MODULES:
        importlib.import_module(f"cli.{m}")
    names = {("report", c.name) for c in report_app.registered_commands}
    assert len(names) > 10, names
    assert names <= set(COMMANDS) | set(NOT_CONSOLIDATING), names - set(COMMANDS) - set(NOT_CONSOLIDATING)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_officer_sees_no_city_figure_of_its_own_unit(ledger_db: LedgerDB, tmp_path: Path,
                                                       command: tuple[str, ...]) -> None:
    if command == ("report", "final-accounts"):              # a closed year to report on
        post(ledger_db.connect("fin", autocommit=True), collect("s23", "2023-03-01", "230822", "100.00"))
        assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    _two_units(ledger_db, tmp_path)
    args = (*command, *COMMANDS[command])
    js = ledger_db.cli(*args, "--json", user="o22")
    text = ledger_db.cli(*args, user="o22")
    for r in (js, text):
        assert "Traceback" not in r.stderr, r
    if js.exit_code == 1:                                  # refused: in words, saying what to run instead
        assert text.exit_code == 1 and "--unit" in js.stderr and "230822" in js.stderr, js.stderr
        return
    assert js.exit_code in (0, 3), js
    problems = _walk(js.json())
    assert not problems, problems[:3]
    assert not [w for w in CITY_WORDS[:4] if w in text.stdout], text.stdout[-2000:]
    if command in FILES:
        out = tmp_path / "o.csv"
        r = ledger_db.cli(*args, "--csv", str(out), "--xlsx", str(tmp_path / "o.xlsx"), "--lang", "en", user="o22")
        assert r.exit_code in (0, 3), r
        with out.open(encoding="utf-8-sig") as f:
            cells = [c for row in csvlib.reader(f) for c in row]
        assert not [c for c in cells if c == "all" or any(w in c for w in CITY_WORDS[:4])], cells[:40]
        from openpyxl import load_workbook

        wb = load_workbook(tmp_path / "o.xlsx", read_only=True)
        xcells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        assert not [c for c in xcells if c == "all" or any(w in c for w in CITY_WORDS[:4])], xcells[:40]


def test_the_city_still_sees_its_consolidation(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _two_units(ledger_db, tmp_path)
    mon = ledger_db.cli("monitor", "--as-of", "2024-03-31", "--json", user="aud").json()
    assert [r["unit"] for r in mon["consolidated"]] == ["all"]
    bs = ledger_db.cli("report", "balance-sheet", "--as-of", "2024-03-31", "--json", user="aud").json()
    assert any(r.get("scope") == "all" for s in bs["sections"] for r in s["rows"])
    assert ledger_db.cli("report", "city-budget", "--year", "2024", "--json", user="aud").exit_code == 0
