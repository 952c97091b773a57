"""Issue 24: the read commands' fast path (cli/entry.py) is the Typer command, without Typer.

Every form the fast path takes runs twice on one ledger — through the whole Typer tree
(cli.main.run, what ``fundledger`` ran before) and through the fast path itself
(cli.entry.run_fast of the recognised plan, so a fall-through cannot pass for it) — and
the two must print the same stdout and stderr and end with the same exit code: JSON keys
and values, the plain text, every refusal (Chinese by default, English on request), the
root's ``--as`` and ``--lang``, each option in both spellings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import CliResult, run_cli
from tests.helpers import with_figures

BAL = "RES:1003:230822:special"
ZH = {"FUNDLEDGER_LANG": ""}     # no language asked: the default, Chinese
NARROW = {"COLUMNS": "80"}

# (argv, login in the URL, extra environment)
CASES: list[tuple[list[str], str, dict[str, str]]] = [
    (["balance", BAL, "--json"], "fin", {}),
    (["balance", BAL], "fin", {}),
    (["balance", BAL], "fin", NARROW),
    (["balance", "--json", BAL], "fin", {}),
    (["balance", BAL, "--as-of", "2023-01-31", "--json"], "fin", {}),
    (["balance", BAL, "--as-of=2023-01-31"], "fin", {}),
    (["balance", BAL, "--as-of", "2023-01-04"], "fin", {}),
    (["balance", BAL, "--as-of", "2023-02-30"], "fin", {}),
    (["balance", BAL, "--as-of", "1999-12-31", "--json"], "fin", {}),
    (["balance", BAL, "--as-of", ""], "fin", {}),
    (["balance", "RES:1003:999999:special", "--json"], "fin", {}),
    (["balance", "1", "--json"], "fin", {}),
    (["balance", "999999999", "--json"], "fin", {}),
    (["balance", "no such account", "--json"], "fin", {}),
    (["balance", ""], "fin", {}),
    (["balance", "RES:4001:230822", "--json"], "fin", {}),
    (["balance", "RES:4001:230822"], "fin", ZH),
    (["balance", BAL], "fin", ZH),
    (["balance", BAL, "--as-of", "2023-02-30"], "fin", ZH),
    (["--lang", "zh", "balance", BAL], "fin", {}),
    (["--lang=zh", "balance", BAL, "--as-of", "x"], "fin", {}),
    (["--lang", "en", "balance", BAL, "--as-of", "x"], "fin", ZH),
    (["--lang", "xx", "balance", BAL], "fin", {}),
    (["--as", "fin", "balance", BAL, "--json"], "fin", {}),
    (["--as=rev", "balance", BAL, "--json"], "rev", {}),
    (["--as", "nobody", "balance", BAL], "fin", {}),
    (["--as", "fin", "--lang", "zh", "balance", BAL, "--json"], "fin", {}),
    (["balance", "\udcff", "--json"], "fin", {}),            # not UTF-8: refused before anything runs
    (["monitor", "--json"], "rev", {}),
    (["monitor"], "rev", {}),
    (["monitor"], "rev", NARROW),
    (["monitor"], "rev", ZH),
    (["monitor", "--as-of", "2023-06-30", "--json"], "rev", {}),
    (["monitor", "--as-of=2023-01-01"], "rev", {}),
    (["monitor", "--unit", "230822", "--book", "RES", "--json"], "rev", {}),
    # (ATTACK17 E10) an officer's monitor: its unit's rows, no "whole region" row, the same on both paths
    (["monitor", "--json"], "o22", {}),
    (["monitor"], "o22", {}),
    (["monitor", "--as-of", "2023-06-30"], "o22", ZH),
    (["monitor", "--unit=230822", "--book=EMP"], "rev", {}),
    (["monitor", "--book", "XXX", "--json"], "rev", {}),
    (["monitor", "--unit", "999999", "--json"], "rev", {}),
    (["monitor", "--lang", "zh", "--json"], "rev", {}),
    (["monitor", "--lang", "en"], "rev", ZH),
    (["--lang", "en", "monitor", "--lang", "zh"], "rev", {}),
    (["monitor", "--lang", "xx", "--json"], "rev", {}),
    (["monitor", "--as-of", "2023-13-01"], "rev", {}),
    (["monitor", "--as-of", "2023-13-01"], "rev", ZH),
    (["monitor", "--as-of", "0001-01-01", "--json"], "rev", {}),
    (["monitor", "--json", "--as-of", "2101-01-01"], "rev", {}),
    (["--as", "rev", "monitor", "--json"], "rev", {}),
    (["--as", "fin", "monitor"], "fin", {}),
    (["--as", "nobody", "monitor", "--json"], "rev", {}),
]


def _both(ledger_db: Any, argv: list[str], login: str, env: dict[str, str]) -> tuple[CliResult, CliResult]:
    from cli.entry import recognise, run_fast
    from cli.main import run

    plan = recognise(argv)
    assert plan is not None, f"the fast path must take {argv}"
    url = ledger_db.url(login)
    typer_way = run_cli(argv, url=url, env=env, entry=run)
    fast_way = run_cli(argv, url=url, env=env, entry=lambda: run_fast(plan))
    return typer_way, fast_way


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's "made at" second is the same for both runs."""
    from ledger.reports import builders_fund

    at = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    monkeypatch.setattr(builders_fund, "now", lambda labels=None: at)


def test_every_form_prints_and_exits_as_the_typer_command(ledger_db: Any, fixed_clock: None) -> None:
    with_figures(ledger_db, "230822")
    codes = set()
    for argv, login, env in CASES:
        typer_way, fast_way = _both(ledger_db, argv, login, env)
        assert (fast_way.exit_code, fast_way.stdout, fast_way.stderr) == (
            typer_way.exit_code, typer_way.stdout, typer_way.stderr), (argv, env, typer_way, fast_way)
        codes.add(typer_way.exit_code)
    # The table reaches the ends that matter: success, refusals, and a red row's 3 when it has one.
    assert {0, 1} <= codes, codes


def test_the_console_script_takes_the_fast_path_for_these_forms_only() -> None:
    from cli.entry import recognise

    for argv, _login, _env in CASES:
        assert recognise(argv) is not None, argv
    # Everything else is Typer's: help, the version, another command or subcommand, an
    # option the fast path does not take, an option twice, a missing or extra word, a
    # flag with a value, a value that looks like an option, `--`, a root option after the command.
    for argv in (["balance"], ["balance", "--help"], ["balance", BAL, "-h"], ["--help", "balance", BAL],
                 ["--version"], ["--version", "balance", BAL], ["balance", BAL, "x"],
                 ["balance", BAL, "--as-of", "2023-01-01", "--as-of", "2023-01-02"],
                 ["balance", BAL, "--json", "--json"], ["balance", BAL, "--json=1"], ["balance", BAL, "--as-of"],
                 ["balance", BAL, "--as-of", "-1"], ["balance", "--", BAL], ["balance", "-1"],
                 ["balance", BAL, "--lang", "en"], ["balance", BAL, "--as", "fin"], ["--as", "fin"],
                 ["--as", "fin", "--as", "rev", "balance", BAL], ["--as", "--lang", "balance", BAL],
                 ["--nosuch", "balance", BAL], ["monitor", "ack", "230822"], ["monitor", ""],
                 ["monitor", "--csv", "m.csv"], ["monitor", "--xlsx", "m.xlsx"], ["monitor", "--force"],
                 ["monitor", "--json", "--help"], ["monitor", "--unit"], ["chart", "monitor"], ["journal", "--json"],
                 ["account", "list", "--json"], ["report", "trial-balance", "--json"], []):
        assert recognise(argv) is None, argv
