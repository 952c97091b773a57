"""The ``fundledger`` command: one Typer sub-app per noun, errors rendered once here."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from cli.context import State, err_console
from ledger.errors import LedgerError

app = typer.Typer(
    name="fundledger",
    help="A double-entry ledger for a city's pooled medical-insurance fund (医保基金市级统筹, 统收统支).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user (default: $FUNDLEDGER_USER). "
                                                "On a server, the PostgreSQL login authenticates it.")] = None,
) -> None:
    State.user = as_user


def _register() -> None:
    from cli import cmd_core

    cmd_core.register(app)
    for name in ("cmd_imports", "cmd_fund", "cmd_reports", "cmd_audit", "cmd_demo", "cmd_db"):
        try:
            mod = __import__(f"cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != f"cli.{name}":
                raise
            continue
        mod.register(app)


_register()


def run() -> None:
    """Console entry point: LedgerErrors become one line on stderr and an exit code;
    usage errors are click's own (exit 2). No traceback for a user's mistake."""
    try:
        app()
    except LedgerError as e:
        err_console.print(f"[red]error[/red] \\[{escape(e.rule)}]: {escape(e.message)}", soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing half-written remains (each action is one transaction)")
        sys.exit(130)


if __name__ == "__main__":
    run()
