"""ATTACK14 V10, the class: every read command, run by a county officer, answers — its own unit's
figures (exit 0; 3 is the monitor's "a row is red") or a typed refusal in Chinese — never
PostgreSQL's "permission denied" (a table or column the officer may not read, reached by a
function running with the officer's rights) and never a traceback.

The commands are not listed by hand: they are every command of the Typer app (``cli.docgen``'s walk,
as docs/cli.md is generated) whose callback reads through ``cli.context.read`` / ``read_pinned`` and
does not write through ``cli.context.write`` (which the sweep also replaces by a refusal, so a
command taken for a read by mistake cannot change the ledger). Each runs with ``--json`` where it
has it and ``--lang zh``, its required parameters filled by name (a year with figures, the
officer's own unit, an account of it, a file that does not exist). The ledger is a small demo-like
one: three units with openings, contributions, subsidies and benefits over two years, 2023 closed
with government shares owed (the officer's unit's one paid in part in 2024), budgets, a fund
request of the officer's.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, pay_from_special, post
from tests.integration._cycle import add_budget

pytestmark = pytest.mark.db

OFFICER, UNIT = "o22", "230822"
CJK = re.compile(r"[\u4e00-\u9fff]")
TYPED = re.compile(r"\[[a-z_]+\]")
# PostgreSQL's own refusal as the CLI passes it on (``ledger.store.translate``: "PostgreSQL refused:
# permission denied for table entry", in Chinese "数据库拒绝：无权访问表 entry"), and a traceback.
RAW = ("PostgreSQL refused", "数据库拒绝", "无权访问表", "Traceback")


class _Written(Exception):
    """Raised in place of ``cli.context.write`` during the sweep."""


def _leaves() -> Iterator[tuple[list[str], Any]]:
    from cli.docgen import commands

    for path, cmd, _ctx in commands("en"):
        if path and (not isinstance(getattr(cmd, "commands", None), dict) or getattr(cmd, "invoke_without_command", False)):
            yield path, cmd


def _source(cmd: Any, follow: bool = False) -> str:
    """The callback's source; with ``follow``, also that of the cli functions it hands its work to
    (one level: since the read fast path, ``balance`` and ``monitor`` run ``cli.balance``'s and
    ``cli.monitor``'s code)."""
    cb = cmd.callback
    while hasattr(cb, "__wrapped__"):
        cb = cb.__wrapped__
    try:
        texts = [inspect.getsource(cb)]
    except (OSError, TypeError):
        return ""
    for name in getattr(getattr(cb, "__code__", None), "co_names", ()) if follow else ():
        f = getattr(cb, "__globals__", {}).get(name)
        if inspect.isfunction(f) and f.__module__.startswith("cli.") and f is not cb:
            with contextlib.suppress(OSError, TypeError):
                texts.append(inspect.getsource(f))
    return "\n".join(texts)


def read_commands() -> list[tuple[list[str], Any]]:
    """Every command whose callback reads (``read(`` / ``read_pinned(``) and does not write."""
    return [(p, c) for p, c in _leaves()
            if re.search(r"\bread(_pinned)?\(", _source(c, follow=True)) and not re.search(r"\bwrite\(", _source(c))]


def _value(path: list[str], name: str, tmp: Path) -> str:
    """A value for required parameter ``name`` of command ``path``: the officer's own things."""
    if name == "account":
        return "special" if path[0] == "reconcile" else f"RES:1003:{UNIT}:special"
    values = {"year": "2023", "unit": UNIT, "book": "RES", "as_of": "2024-03-31", "ref": "1", "request_id": "1",
              "file": str(tmp / "no-such-file.json"), "directory": str(tmp / "export"),
              "out": str(tmp / f"{'-'.join(path)}.png")}
    if name not in values:
        raise AssertionError(f"{' '.join(path)}: no value for its required parameter {name}: add one here")
    return values[name]


def _args(path: list[str], cmd: Any, tmp: Path) -> list[str]:
    args = list(path)
    opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
    for p in cmd.params:
        if not p.required:
            continue
        v = _value(path, p.name, tmp)
        args += [v] if not p.opts or not p.opts[0].startswith("-") else [p.opts[0], v]
    return [*args, *(["--json"] if "--json" in opts else [])]


@pytest.fixture
def demo_like(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin")
    units = {"230800": "5000000.00", UNIT: "50000.00", "230881": "300000.00"}
    post(fin, *[entry(f"sw-o-{u}", "2022-12-31", "RES", leg("1003", u, "D", s, "special"), leg("3001", u, "C", s))
                for u, s in units.items()])
    for y in (2023, 2024):
        post(fin, *[d for u in units for d in (
            collect(f"sw-c-{u}-{y}", f"{y}-02-01", u, "300000.00"),
            entry(f"sw-s-{u}-{y}", f"{y}-03-01", "RES", leg("1003", u, "D", "100000.00", "special"),
                  leg("4101.county", u, "C", "100000.00")),
            pay_from_special(f"sw-e-{u}-{y}", f"{y}-09-30", u, "480000.00" if u != "230800" else "100000.00"))])
        for u in units:
            add_budget(ledger_db.admin(), y, u, "RES", {"4001": "300000.00", "4101": "100000.00", "5001": "400000.00"})
        if y == 2023:
            assert ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
            paid = ledger_db.cli("government", "pay", "--unit", UNIT, "--book", "RES", "--amount", "10000.00",
                                 "--date", "2024-01-20", user="fin")
            assert paid.exit_code == 0, paid
    req = ledger_db.cli("request", "submit", "--unit", UNIT, "--book", "RES", "--year", "2024", "--quarter", "2",
                        "--amount", "1000.00", "--note", "二季度住院费用", user=OFFICER)
    assert req.exit_code == 0, req
    return ledger_db


def test_every_read_command_answers_an_officer_with_its_figures_or_a_chinese_refusal(
        demo_like: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import context
    from cli.main import full_app

    full_app()                                                   # every command module registered
    real_write = context.write

    def refused(*_a: object, **_k: object) -> None:
        raise _Written

    for name, module in list(sys.modules.items()):
        if name.startswith("cli.") and getattr(module, "write", None) is real_write:
            monkeypatch.setattr(module, "write", refused)
    monkeypatch.setattr(context, "write", refused)
    commands = read_commands()
    names = {" ".join(p) for p, _ in commands}
    # the class V10 belonged to, and the reports of this migration, are in the sweep
    assert {"report shortfall", "monitor", "forecast", "report funding", "report performance", "balance",
            "report subledger", "verify"} <= names, names
    bad = []
    for path, cmd in commands:
        args = _args(path, cmd, tmp_path)
        try:
            r = demo_like.cli("--lang", "zh", *args, user=OFFICER)
        except _Written:
            bad.append((args, "wrote"))
            continue
        out = r.stdout + r.stderr
        if any(w in out for w in RAW) or "permission denied" in out.lower():
            bad.append((args, out[-600:]))
        elif r.exit_code not in (0, 3) and not (TYPED.search(r.stderr) and CJK.search(r.stderr)):
            bad.append((args, f"exit {r.exit_code}: {out[-600:]}"))
    assert not bad, "\n".join(f"{' '.join(a)}: {why}" for a, why in bad)
