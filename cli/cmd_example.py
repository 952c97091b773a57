"""``fundledger example DIR``: the sample import files the README's quick start uses."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from cli.context import console, plain
from cli.outfiles import safe_target
from ledger.errors import BadInput
from ledger.i18n import _

FILES = {
    "opening_2023.csv": "handover open",
    "budget_2024.csv": "budget import",
    "collections_2024.csv": "collect import",
    "payments_2024q1_230822.csv": "pay import",
}


def example(
    folder: Annotated[Path, typer.Argument(help="Folder to write the sample files into (made if missing).")],
) -> None:
    """Write sample import files (a county's handover, budgets, collections, payments) for a first try."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(_("cannot make folder {folder}: {error}").format(folder=folder, error=e.strerror)) from e
    src = resources.files("ledger.data").joinpath("examples")
    for name, command in FILES.items():
        target = folder / name
        # Replaces an earlier sample file, never writes through a link (cli.outfiles).
        with safe_target(target, force=True, option="example") as tmp:
            tmp.write_bytes(src.joinpath(name).read_bytes())
        console.print(_("wrote {file} (for: fundledger {command})").format(file=plain(target), command=plain(command)))


def register(app: typer.Typer) -> None:
    app.command("example")(example)
