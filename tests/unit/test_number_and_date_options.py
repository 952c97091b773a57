"""Every number and date a user types is checked at the CLI edge (ATTACK6 T14).

``--as-of 0001-01-01`` crashed the monitor, the subledger and the forecast with a traceback;
``entry confirm 99999999999999999999`` answered "run fundledger init" (the id reached the
database as ``numeric``); ``--limit -5`` came back as a database error. Now a date is a
year from 2000 to 2100 as ``--year`` is, an id is 1 … bigint, and every count has bounds —
each refused as ``bad_input`` naming the option, before anything touches the database.

The sweep walks the whole command tree: a number option added later without one of the
shared checks fails here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from cli import main
from cli.context import BIGINT_MAX, check_year, parse_date_opt
from ledger.errors import BadInput
from tests.helpers import without_a_database


def _int_params() -> Iterator[tuple[str, Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        for p in cmd.params:
            if "Int" in type(p.type).__name__:
                yield " ".join(path), p
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(get_command(main.full_app()), [])


def test_every_number_option_has_a_shared_check() -> None:
    def shared(p: Any) -> bool:
        name = getattr(p.callback, "__name__", "")
        return name in ("check_year", "check_id") or name.startswith("bounded_")

    loose = [f"{path} {p.name}" for path, p in _int_params() if not shared(p)]
    assert loose == [], f"number options without check_year, check_id or bounded(): {loose}"
    assert sum(1 for _ in _int_params()) >= 60


def test_a_date_outside_2000_to_2100_is_bad_input() -> None:
    for text in ("0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"):
        with pytest.raises(BadInput, match=r"--as-of \S+ .*2000.*2100"):
            parse_date_opt(text, "as-of")
    assert parse_date_opt("2000-01-01", "as-of") is not None
    assert parse_date_opt("2100-12-31", "as-of") is not None
    assert check_year(2100) == 2100



REFUSED = [
    (["monitor", "--as-of", "0001-01-01"], "--as-of 0001-01-01 is out of range"),
    (["report", "subledger", "--unit", "230822", "--as-of", "0001-01-01"], "out of range"),
    (["forecast", "--as-of", "0001-01-01"], "out of range"),
    (["report", "balance-sheet", "--as-of", "9999-12-31"], "out of range"),
    (["close", "period", "0001-01"], "'0001-01' is out of range"),
    (["entry", "confirm", "99999999999999999999"], "is not an id"),
    (["entry", "confirm", "0"], "0 is not an id"),
    (["request", "show", "99999999999999999999"], "is not an id"),
    (["audit", "trail", "--request", str(BIGINT_MAX + 1)], "--request"),
    (["journal", "--limit", "99999999999999999999"], "--limit"),
    (["entry", "held", "--limit", "-5"], "--limit -5 is out of range"),
    (["request", "list", "--quarter", "9"], "--quarter 9 is out of range"),
]


@pytest.mark.parametrize(("argv", "says"), REFUSED)
def test_the_cli_refuses_without_a_traceback_or_a_database(argv: list[str], says: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty FUNDLEDGER_HOME: had the value reached the database, the answer would be a
    start-up or "run init" message, not bad_input. In-process, through the entry point
    ``python -m cli.main`` runs (cli.main.run, its edge included: an exception that escaped
    it would fail the test here); the real process is the test below (2026-12-07, citime7:
    a Python start-up per case was most of this module's CPU)."""
    r = without_a_database(argv, tmp_path, monkeypatch)
    assert r.exit_code == 1, r
    assert "error [bad_input]" in r.stderr and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "init" not in r.stderr, r.stderr


def test_the_cli_refuses_without_a_traceback_or_a_database_as_a_real_process(tmp_path: Path) -> None:
    """The first case above as a user meets it: a process of its own, nothing but PATH and
    the empty FUNDLEDGER_HOME in its environment; its exit status and stderr."""
    argv, says = REFUSED[0]
    r = subprocess.run([sys.executable, "-m", "cli.main", "--lang", "en", *argv], capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "FUNDLEDGER_HOME": str(tmp_path)})
    assert r.returncode == 1, r
    assert "error [bad_input]" in r.stderr and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "init" not in r.stderr, r.stderr
