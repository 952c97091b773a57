"""The ``fundledger`` command: one Typer sub-app per noun, errors rendered once here.

The language (``--lang`` > FUNDLEDGER_LANG > the locale > zh) is decided from the command
line and the environment before the click command is built, so help texts, messages and
errors all come out of the catalogue (ledger/locale) in that language (cli/localize.py)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.context import State
from cli.edge import guarded

app = typer.Typer(
    name="fundledger",
    help="A double-entry ledger for a city's pooled medical-insurance fund.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("fundledger")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            v = "unknown"
        print(f"fundledger {v}")
        raise typer.Exit(0)


@app.callback()
def root(
    as_user: Annotated[str | None, typer.Option("--as", metavar="NAME",
                                                help="Act as this user (default: $FUNDLEDGER_USER). "
                                                "On a server, the PostgreSQL login authenticates it.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", metavar="zh|en",
                                             help="Language of help, messages and reports: zh or en (default: "
                                             "$FUNDLEDGER_LANG, else the locale, else zh).")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    State.user = as_user


# Which modules make each top-level command (cmd_core makes the groups other modules fill:
# `report`, `db`). A command imports only its own modules, so `balance` does not pay for
# the demo, the reports or the auditor's tools; listing every command (`--help`, an
# unknown name) imports all. tests/unit/test_cli_lazy.py checks this table against the
# command tree that all modules build.
MODULES = ("cmd_core", "cmd_imports", "cmd_budget", "cmd_fund", "cmd_reports", "cmd_monitor", "cmd_audit",
           "cmd_demo", "cmd_db", "cmd_example", "cmd_forecast", "cmd_funding")
COMMANDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("init", "unit", "entry", "opening", "journal", "account", "balance"), ("cmd_core",)),
    "user": ("cmd_core", "cmd_db"),
    "db": ("cmd_core", "cmd_db"),
    "close": ("cmd_core", "cmd_fund"),
    "report": ("cmd_core", "cmd_reports", "cmd_fund"),
    # The monitor and its charts use none of cmd_core's groups (0.05 G instructions to import).
    "monitor": ("cmd_monitor",),
    "chart": ("cmd_monitor",),
    **dict.fromkeys(("handover", "register", "collect", "pay"), ("cmd_core", "cmd_imports")),
    "budget": ("cmd_core", "cmd_budget"),
    **dict.fromkeys(("preallocate", "request", "interest", "government"), ("cmd_core", "cmd_fund")),
    **dict.fromkeys(("verify", "audit", "reconcile"), ("cmd_core", "cmd_audit")),
    "backup": ("cmd_core", "cmd_db"),
    "restore": ("cmd_core", "cmd_db"),
    "demo": ("cmd_core", "cmd_demo"),
    "example": ("cmd_core", "cmd_example"),
    "forecast": ("cmd_core", "cmd_forecast"),
    "insured": ("cmd_core", "cmd_funding"),
    "adjfund": ("cmd_core", "cmd_funding"),
}
_registered: set[str] = set()


def register(modules: tuple[str, ...] = MODULES) -> typer.Typer:
    """Add these command modules to ``app`` (each once per process) and return it."""
    for name in modules:
        if name in _registered:
            continue
        _registered.add(name)
        __import__(f"cli.{name}", fromlist=["register"]).register(app)
    return app


def full_app() -> typer.Typer:
    """The whole command tree (docs, the catalogue, tests)."""
    return register(MODULES)


_GLOBAL_WITH_VALUE = ("--as", "--lang")


def invoked(argv: list[str]) -> str | None:
    """The top-level command named on the command line (after the global options);
    None when the root's own help comes first (``fundledger --help balance`` lists every
    command, as ``fundledger --help`` does)."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        if a in ("-h", "--help"):
            return None
        if a.startswith("-"):
            i += 1
            continue
        return a
    return None


def tree_for(name: str | None, argv: list[str] | None = None) -> typer.Typer:
    """``app``, or for a known command a copy of it that holds only that command: Typer
    builds a click command for every function it holds (signatures, annotations, option
    objects), and a run uses one. The root (``--as``, ``--lang``, ``--version``) stays.

    A group that runs its own callback (``monitor``) is built without its subcommands
    (``ack``) when nothing after its name on the command line ``argv`` could name one:
    every word there is an option (``monitor --json``), none asks for help."""
    if name not in COMMANDS:
        return app
    import copy

    one = copy.copy(app)
    one.registered_commands = [c for c in app.registered_commands if c.name == name]
    one.registered_groups = [g for g in app.registered_groups if g.name == name]
    if argv is not None and len(one.registered_groups) == 1:
        group = one.registered_groups[0]
        sub = group.typer_instance
        rest = argv[argv.index(name) + 1:] if name in argv else None
        if (sub is not None and rest is not None and sub.registered_callback is not None
                and sub.info.invoke_without_command is True
                and all(a.startswith("-") and a not in ("-h", "--help", "--") for a in rest)):
            alone = copy.copy(sub)
            alone.registered_commands, alone.registered_groups = [], []
            group = copy.copy(group)
            group.typer_instance = alone
            one.registered_groups = [group]
    return one if one.registered_commands or one.registered_groups else app


def run() -> None:
    """The whole command tree's entry point (``cli.entry.main`` runs it for every command
    line its fast path does not take): only the named command's modules are imported and
    built (``register``, ``tree_for``), in the language in force (cli/localize.py). Usage
    errors are click's own (exit 2); everything else is cli.edge's."""
    def body(lang: str) -> None:
        name = invoked(sys.argv[1:])
        register(COMMANDS.get(name or "", MODULES))
        build(tree_for(name, sys.argv[1:]), lang)(prog_name="fundledger")

    from cli.localize import build

    guarded(body)


if __name__ == "__main__":
    run()
