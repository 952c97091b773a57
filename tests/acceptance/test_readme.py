"""The README's quick start works as written: every ``$ fundledger …`` line of its first
console block runs, literally and in order, on a fresh ``FUNDLEDGER_HOME`` (the embedded
server, stopped afterwards), the way a new user meets it: Chinese (LANG=C.UTF-8 names no
language) on an 80-column terminal. The walkthrough's output is checked as a Chinese
officer reads it: no table cut, no line wider than the terminal, no English word to
understand beyond codes and names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import run_cli

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
ZH_80 = {"FUNDLEDGER_LANG": "", "COLUMNS": "80", "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})*\.\d{2}")
# Words an officer types or reads as names: book codes, user names, commands and file names.
NAMES = {"RES", "EMP", "zhang", "zhao", "hn", "aud", "admin", "li", "fundledger", "handover", "open", "budget",
         "import", "collect", "pay", "data", "csv", "xlsx", "tmp", "home", "Q1", "request", "list", "show", "reason",
         "date", "user", "add", "role", "unit", "init", "db", "start", "stop", "status", "as",
         "entry", "confirm", "reject"}


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("## Quick start", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def english_words(text: str, tmp: Path) -> set[str]:
    text = text.replace(str(tmp), "")
    # files, account keys, idempotency keys, hashes, a refusal's rule code ("错误 [period_closed]")
    text = re.sub(r"\S+\.(csv|xlsx)|[A-Z]{3}:\S+|[a-z-]+:\d{4,6}\S*|\b[0-9a-f]{16,}\b|\[[a-z_]+\]", "", text)
    return {w for w in re.findall(r"[A-Za-z_]{2,}", text) if w not in NAMES}


def test_readme_quick_start_runs_as_written(tmp_path, monkeypatch):
    from ledger.store import embedded

    home = tmp_path / "home"
    monkeypatch.delenv("FUNDLEDGER_DATABASE_URL", raising=False)
    monkeypatch.delenv("FUNDLEDGER_USER", raising=False)
    monkeypatch.setenv("FUNDLEDGER_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    commands = quick_start()
    assert commands[0] == "fundledger init" and commands[-1] == "fundledger db stop"

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return run_cli(list(args), url=None, env=ZH_80)

    try:
        # What a new user used to meet, now saying what to do.
        r = cli("user", "add", "admin", "--role", "admin")
        assert r.exit_code == 1 and "[not_initialised]" in r.stderr and "fundledger init" in r.stderr, r
        out: dict[str, str] = {}
        for cmd in commands:
            args = shlex.split(cmd)
            assert args[0] == "fundledger", cmd
            r = cli(*args[1:])
            allowed = (0, 3) if "monitor" in args else (0,)   # monitor: 3 when a unit is red (README says so)
            assert r.exit_code in allowed, (cmd, r)
            assert "Traceback" not in r.stdout + r.stderr
            out[cmd] = r.stdout + r.stderr
            if cmd == "fundledger --as admin user add zhang --role reviewer":
                # acting as someone not yet added: was "database_unavailable", exit 2 (an outage)
                nobody = cli("--as", "nobody", "verify")
                assert nobody.exit_code == 1 and "[unknown_user]" in nobody.stderr, nobody
                assert "user add nobody" in nobody.stderr and "database_unavailable" not in nobody.stderr

        # Refusals a new officer meets, raised by the database, read in Chinese with what to do next.
        for args, rule, words in ((("--as", "zhang", "close", "year", "--year", "2025", "--date", "2025-12-31"),
                                   "year_close_order", "请先结 2024 年的账"),
                                  (("--as", "li", "request", "settle", "1", "--date", "2024-03-17"),
                                   "illegal_state", "已结算"),
                                  (("--as", "zhao", "handover", "transfer", "--unit", "230822", "--date",
                                    "2024-01-03"), "illegal_state", "handover open")):
            r = cli(*args)
            assert r.exit_code == 1 and f"[{rule}]" in r.stderr and words in r.stderr, (args, r)
            # one line on stderr (the terminal wraps it): no English word to understand
            assert english_words(r.stderr, tmp_path) == set() and "…" not in r.stderr, (args, r.stderr)

        # Set up, import, submit, approve, read the monitor and the shortfall — every command of the
        # walkthrough and the refusals above: in Chinese, whole at 80 columns.
        # (verify is the auditor's: its rows are named by check code, as in docs/security.md)
        walk = [c for c in out if not c.endswith(" verify")]
        assert len(walk) >= 20
        for cmd in walk:
            text = out[cmd]
            assert "…" not in text, (cmd, text)
            wide = [line for line in text.splitlines() if cell_len(line) > 80]
            assert wide == [], (cmd, wide)
            assert english_words(text, tmp_path) == set(), (cmd, text)
        assert "230822" in out["fundledger unit list"] and "桦南县" in out["fundledger unit list"]
        submitted = next(c for c in walk if "request submit" in c)
        assert "200,000.00" in out[submitted] and "已提交" in out[submitted]
        approved = next(c for c in walk if "request approve" in c)
        assert "150,000.00" in out[approved] and "已批准" in out[approved]
        listed = out["fundledger --as hn request list"]
        assert "230822" in listed and "已结算" in listed and "150,000.00" in listed
        monitor = next(c for c in walk if "monitor" in c)
        assert "可支付月数" in out[monitor] and "230822" in out[monitor] and "桦南县" in out[monitor]
        shortfall = next(c for c in walk if "shortfall" in c)
        assert "缺口分担" in out[shortfall] and AMOUNT.search(out[shortfall])
        assert (tmp_path / "tb.xlsx").exists()
        assert "所有校验均通过" in out["fundledger --as aud verify"]
        assert "已停止" in out["fundledger db stop"]

        # The quick start's notes name more commands (help in Chinese): each runs as written too.
        notes = ROOT.joinpath("README.md").read_text("utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
        helps = re.findall(r"`(fundledger [^`]*--help)`", notes)
        assert "fundledger --help" in helps and "fundledger request submit --help" in helps, helps
        for cmd in helps:
            r = cli(*shlex.split(cmd)[1:])
            assert r.exit_code == 0 and "Traceback" not in r.stdout + r.stderr, (cmd, r)
            assert re.search(r"[\u4e00-\u9fff]", r.stdout), (cmd, r.stdout)
            assert [x for x in r.stdout.splitlines() if cell_len(x) > 80] == [], (cmd, r.stdout)
    finally:
        embedded.stop(home, mode="immediate")
