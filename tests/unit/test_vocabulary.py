"""One vocabulary across the commands (issue 17): ``--from``/``--to`` are dates wherever
they appear, a fiscal year is ``--year`` (an option, not an argument).
These read the command tree itself, so a new command that names an option otherwise
fails here; no database is needed."""

from __future__ import annotations

from cli.docgen import commands
from tests.conftest import run_cli

ZH = {"FUNDLEDGER_LANG": "", "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "COLUMNS": "80"}
# The commands whose --from/--to are the first and last day of a period.
DATE_RANGES = {"journal", "report ledger", "interest allocate"}


def _options() -> list[tuple[str, str, object]]:
    return [(" ".join(p), opt, prm) for p, cmd, _ in commands() for prm in cmd.params
            if not getattr(prm, "hidden", False) for opt in getattr(prm, "opts", ())]


def test_from_and_to_are_dates_everywhere() -> None:
    named = {(cmd, opt) for cmd, opt, _ in _options() if opt in ("--from", "--to")}
    assert {cmd for cmd, _ in named} == DATE_RANGES, named
    assert all((cmd, "--from") in named and (cmd, "--to") in named for cmd in DATE_RANGES)


def test_a_year_is_an_option_everywhere() -> None:
    year_args = [(" ".join(p), prm.name) for p, cmd, _ in commands() for prm in cmd.params
                 if not getattr(prm, "hidden", False) and getattr(prm, "param_type_name", "") == "argument"
                 and prm.name in ("year", "fiscal_year")]
    assert year_args == []


def test_restore_names_its_directory_into_and_still_takes_the_old_to() -> None:
    opts = {opt for cmd, opt, _ in _options() if cmd == "restore"}
    assert "--into" in opts and "--to" not in opts   # --to stays accepted, hidden
    r = run_cli(["restore", "/nonexistent-backup"], url=None, env=ZH)
    assert r.exit_code == 1 and "必须给出 --into" in r.stderr and "Traceback" not in r.stderr, r
    r = run_cli(["restore", "/nonexistent-backup", "--into", "/tmp/a", "--to", "/tmp/b"], url=None)
    assert r.exit_code == 1 and "give only --into" in r.stderr, r
