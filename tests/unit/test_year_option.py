"""Every command's ``--year`` is one checked option (ATTACK5 S6): a year from 2000 to 2100,
as ``request submit`` takes, else ``error [bad_input]`` — not a ValueError or OverflowError
traceback from a date that cannot be built, not "run fundledger init" on a live ledger,
not a report of year -5.

The sweep walks the whole command tree, so a command added later with a ``--year`` of its
own that skips the check fails here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from cli import main
from cli.context import check_year
from ledger.errors import BadInput
from tests.helpers import without_a_database


def _commands() -> Iterator[tuple[list[str], Any, Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any, Any]]:
        for p in cmd.params:
            if "--year" in getattr(p, "opts", ()):
                yield path, cmd, p
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(get_command(main.full_app()), [])


BAD = ["0", "10000", "99999999999999999999", "-5", "1999", "2101"]


def test_the_sweep_finds_the_commands_that_take_a_year() -> None:
    found = {" ".join(path) for path, _, _ in _commands()}
    # the ones ATTACK5 named, and the rest of the families that take a year
    for name in ("report income", "report trial-balance", "report balance-sheet", "report shortfall",
                 "report budget-execution", "report city-budget", "report performance", "report final-accounts",
                 "close year", "request submit", "budget show", "chart monitor", "preallocate", "adjfund remit"):
        assert name in found, name
    assert len(found) >= 20, sorted(found)


def test_every_year_option_is_the_shared_check() -> None:
    loose = [" ".join(path) for path, _, p in _commands() if p.callback is None]
    assert loose == [], f"--year without the shared check (cli.context.check_year): {loose}"


@pytest.mark.parametrize("value", BAD)
def test_every_command_refuses_a_year_out_of_range_as_bad_input(value: str) -> None:
    seen = 0
    for path, cmd, _ in _commands():
        with pytest.raises(BadInput, match=r"--year \S+ .*2000.*2100"):
            # --year first: the parser checks it before any other option (a missing one included)
            cmd.main(["--year", value], prog_name=" ".join(path), standalone_mode=False)
        seen += 1
    assert seen >= 20


def test_a_year_in_range_passes_the_check() -> None:
    assert check_year(2000) == 2000
    assert check_year(2026) == 2026
    assert check_year(2100) == 2100
    assert check_year(None) is None



OUT_OF_RANGE = [
    ["report", "income", "--year", "0"],
    ["report", "trial-balance", "--year", "99999999999999999999"],
    ["report", "shortfall", "--year", "99999999999999999999"],
    ["report", "shortfall", "--year", "-5"],
    ["close", "year", "10000", "--date", "2024-12-31"],
]


@pytest.mark.parametrize("argv", OUT_OF_RANGE)
def test_the_cli_answers_bad_input_without_a_traceback(argv: list[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, through the entry point ``python -m cli.main`` runs (its edge included);
    the real process is the test below."""
    r = without_a_database(argv, tmp_path, monkeypatch)
    assert r.exit_code == 1, r
    assert "error [bad_input]" in r.stderr and "out of range" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "init" not in r.stderr, r.stderr


def test_the_cli_answers_bad_input_without_a_traceback_as_a_real_process(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "cli.main", "--lang", "en", *OUT_OF_RANGE[0]], capture_output=True,
                       text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "FUNDLEDGER_HOME": str(tmp_path)})
    assert r.returncode == 1, r
    assert "error [bad_input]" in r.stderr and "out of range" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "init" not in r.stderr, r.stderr
