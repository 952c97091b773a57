"""A command imports only the modules that make it (cli/main.py ``COMMANDS``).

The table is checked against the tree that all modules build: every top-level command
is in it, and building only its modules gives exactly the command's full subtree (its
subcommands and their options). A read command must not import the demo, the reports,
the auditor's tools or SQLAlchemy: they cost start-up time it does not need."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

from cli import main

_TREE = """
import json, os, sys
from typer.main import get_command
import cli.main as m

def walk(cmd, path):
    yield "/".join(path) + " " + ",".join(sorted(o for p in cmd.params for o in p.opts))
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from walk(sub, path + [name])

def tree(names, modules):
    m.register(tuple(modules) if modules else m.MODULES)
    root = get_command(m.app)
    out = {n: sorted(walk(root.commands[n], [n])) if n in root.commands else None for n in names}
    return {"top": sorted(root.commands), "trees": out}

# Each job in a child forked from this process as it stands now (cli.main imported, no command
# module registered): every job starts from what a fresh `python -c` had after the same imports.
results = []
for names, modules in json.loads(sys.argv[1]):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            data = json.dumps(tree(names, modules)).encode()
        except BaseException as e:
            data = json.dumps({"error": repr(e)}).encode()
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        results.append(json.loads(f.read()))
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
print(json.dumps(results))
"""


def _trees(jobs: list[tuple[list[str], tuple[str, ...] | None]]) -> list[dict[str, object]]:
    """Each job's tree (its top-level commands, and the subtrees of the names it asks for) when
    only its modules (None: all of them) are registered. One process imports cli.main; each
    job is built in a child forked from it, so no job sees another's registrations (a fresh
    process per job cost a Python and Typer start-up each: 13 of them, ~10 CPU-s a run)."""
    r = subprocess.run([sys.executable, "-c", _TREE, json.dumps(jobs)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for res in out:
        assert "error" not in res, res
    return out  # type: ignore[no-any-return]


def test_the_table_names_every_command_and_only_its_modules_build_it() -> None:
    by_modules: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, modules in main.COMMANDS.items():
        by_modules[modules].append(name)
    groups = list(by_modules.items())
    full, *parts = _trees([(sorted(main.COMMANDS), None), *((names, modules) for modules, names in groups)])
    assert full["top"] == sorted(main.COMMANDS), "cli/main.py COMMANDS must list every top-level command"
    for (modules, names), part in zip(groups, parts, strict=True):
        for name in names:
            assert part["trees"][name] == full["trees"][name], (name, modules)  # type: ignore[index]


def _modules_loaded(*argv: str) -> list[str]:
    code = ("import sys; sys.argv = ['fundledger', *sys.argv[1:]]\n"
            "from cli.main import run\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    return r.stderr.split()


def test_a_read_command_loads_only_what_it_needs() -> None:
    loaded = set(_modules_loaded("--lang", "en", "balance", "--help"))
    assert "cli.cmd_core" in loaded
    for heavy in ("cli.cmd_demo", "cli.cmd_reports", "cli.cmd_audit", "cli.cmd_forecast", "ledger.demo",
                  "sqlalchemy", "sqlmodel", "openpyxl"):
        assert heavy not in loaded, heavy
    # Listing the commands builds them all.
    assert {"cli.cmd_demo", "cli.cmd_audit"} <= set(_modules_loaded("--help"))


def _modules_loaded_env(env: dict[str, str], *argv: str) -> list[str]:
    import os

    code = ("import sys; sys.argv = ['fundledger', *sys.argv[1:]]\n"
            "from cli.main import run\n"
            "try:\n    run()\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                       env={**os.environ, **env})
    return r.stderr.split()


def test_a_read_command_run_skips_the_help_renderer_the_region_and_the_report_builders() -> None:
    # Issue 24: `balance --json` and `monitor --json` within 300 ms; these cost 20-70 ms each
    # and neither command needs them (help and usage errors load Typer's renderer on demand).
    nowhere = {"FUNDLEDGER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    for argv, absent in ((("balance", "RES:1003:230800:special", "--json"), ("cli.cmd_monitor",)),
                         (("monitor", "--json"), ("cli.cmd_reports", "ledger.reports.builders_budget"))):
        loaded = set(_modules_loaded_env(nowhere, "--lang", "en", *argv))
        assert "psycopg" in loaded, argv   # it did get as far as connecting
        for heavy in ("typer.rich_utils", "markdown_it", "ledger.core.region", "tomllib", "ledger.io.tables",
                      "sqlalchemy", "openpyxl", "matplotlib", *absent):
            assert heavy not in loaded, (argv, heavy)


def test_typer_strings_are_translated_when_its_renderer_loads_late() -> None:
    code = ("import sys\n"
            "from cli.main import app, register\n"
            "from cli.localize import build\n"
            "register(('cmd_core',))\n"
            "build(app, 'zh')\n"
            "assert 'typer.rich_utils' not in sys.modules\n"
            "import typer.rich_utils as ru\n"
            "print(ru.OPTIONS_PANEL_TITLE, ru.ARGUMENTS_PANEL_TITLE, ru.rich_format_error.__name__)\n"
            "build(app, 'en')\n"
            "print(ru.OPTIONS_PANEL_TITLE)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    zh, en = r.stdout.splitlines()
    assert zh.split()[:2] != ["Options", "Arguments"] and zh.split()[2] == "usage_error", zh
    assert en == "Options"


_ONE = """
import json, sys
from typer.main import get_command
import cli.main as m
m.register(m.MODULES)

def walk(cmd, path):
    yield "/".join(path) + " " + ",".join(sorted(o for p in cmd.params for o in p.opts))
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from walk(sub, path + [name])

full = get_command(m.app)
out = {}
for n in sorted(m.COMMANDS):
    one = get_command(m.tree_for(n))
    out[n] = {"top": sorted(one.commands), "root": sorted(walk(one, []))[0],
              "same": sorted(walk(one.commands[n], [n])) == sorted(walk(full.commands[n], [n]))}
print(json.dumps({"root": sorted(walk(full, []))[0], "one": out, "unknown": m.tree_for("nosuch") is m.app}))
"""


def test_a_run_builds_only_the_command_it_names_with_the_root_options() -> None:
    # Issue 24: Typer builds a click command (signature, annotations, options) for every
    # function it holds; `balance` builds `balance`, with its whole subtree and the root's
    # --as/--lang/--version, exactly as the full tree has them.
    r = subprocess.run([sys.executable, "-c", _ONE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    for name, one in got["one"].items():
        assert one == {"top": [name], "root": got["root"], "same": True}, name
    assert got["unknown"]   # an unknown name gets the full tree (click's "No such command", suggestions)
    assert main.invoked(["--help", "balance"]) is None and main.invoked(["--as", "fin", "balance"]) == "balance"


def test_the_root_help_before_a_command_lists_every_command() -> None:
    # `fundledger --help balance` is the root's help: every command, as `fundledger --help`.
    assert {"cli.cmd_demo", "cli.cmd_audit"} <= set(_modules_loaded("--help", "balance"))


def test_a_json_read_loads_neither_rich_nor_the_write_path() -> None:
    # Issue 24: rich (the consoles, tables, markup) is imported when something is printed
    # through it, ledger.store.journal by the commands that post, the embedded server's
    # module when no server URL is set; `balance --json`
    # and `monitor --json` print JSON only. Up to the command's call (no database here).
    code = ("import sys\n"
            "import cli.main as m\n"
            "from cli.localize import build\n"
            "for name in ('balance', 'monitor'):\n"
            "    m.register(m.COMMANDS[name])\n"
            "    build(m.tree_for(name), 'zh')\n"
            "print(sorted(k for k in sys.modules if k in ('rich', 'platformdirs') or k.startswith(('rich.', "
            "'ledger.store.journal', 'ledger.store.embedded', 'ledger.core.forecast'))))\n"
            "from cli import context\n"
            "context.configure_width({'COLUMNS': '33'})\n"
            "print(context.console.width, context.err_console.width, type(context.console.real()).__name__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded, widths = r.stdout.splitlines()
    assert loaded == "[]"
    assert widths == "33 33 SafeConsole"   # made on first use, with the width configured before


def test_the_monitor_alone_builds_without_ack() -> None:
    """``monitor --json`` runs the group's callback only, so the tree it builds leaves
    ``ack`` out (Typer would build its click command for nothing); anything that could
    name ``ack`` or asks for help keeps it."""
    from typer.main import get_command

    main.register(main.COMMANDS["monitor"])

    def subcommands(*argv: str) -> list[str]:
        tree = get_command(main.tree_for(main.invoked(list(argv)), list(argv)))
        return sorted(tree.commands["monitor"].commands)  # type: ignore[attr-defined]

    assert subcommands("monitor", "--json") == []
    assert subcommands("--lang", "en", "monitor", "--json", "--force") == []
    for argv in (("monitor", "ack", "230800"), ("monitor", "--help"), ("monitor", "-h"), ("monitor", "--book", "ack"),
                 ("monitor", "--unit", "230800", "--json"), ("monitor", "--", "ack"), ("--as", "monitor", "monitor")):
        assert subcommands(*argv) == ["ack"], argv


def test_monitor_help_still_lists_ack() -> None:
    r = subprocess.run([sys.executable, "-m", "cli.main", "--lang", "en", "monitor", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ack" in r.stdout
