"""The option callbacks that Typer calls with the parameter (``check_id``, ``bounded``).

Typer reads each callback's annotations to know what to pass: ``CallbackParam`` must be a
name in this module. They live apart from cli.context so that a read command's fast path
(cli.entry) imports no Typer at all (issue 24)."""

from __future__ import annotations

from collections.abc import Callable

from typer import CallbackParam  # evaluated by Typer: the callbacks' annotations

from cli.context import BIGINT_MAX
from ledger.errors import BadInput
from ledger.i18n import _


def _named(param: CallbackParam | None) -> str:
    """How the refusal names the option the user typed (``--limit ``); an argument is its
    value alone."""
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return opts[0] + " " if opts and getattr(param, "param_type_name", "") == "option" else ""


def check_id(param: CallbackParam, value: int | list[int] | None) -> int | list[int] | None:
    """Every id a command takes (held entries, requests, register items): a whole number
    from 1 to PostgreSQL's bigint limit, or ``bad_input`` — a bigger number reached the
    database as ``numeric`` and read as "run fundledger init" (ATTACK6 T14)."""
    for v in value if isinstance(value, list) else [value]:
        if v is not None and (isinstance(v, bool) or not 1 <= v <= BIGINT_MAX):
            raise BadInput(_("{name}{value} is not an id: an id is a whole number from 1 to {hi}").format(
                name=_named(param), value=v, hi=BIGINT_MAX))
    return value


def bounded(lo: int, hi: int) -> Callable[[CallbackParam, int | None], int | None]:
    """The check of a count or size option (``--limit``, ``--offset``, ``--keep``, …): a
    whole number from ``lo`` to ``hi``, or ``bad_input`` in the user's language — never a
    database error about a negative LIMIT or a bigint overflow."""
    def check(param: CallbackParam, value: int | None) -> int | None:
        if value is not None and (isinstance(value, bool) or not lo <= value <= hi):
            raise BadInput(_("{name}{value} is out of range: give a whole number from {lo} to {hi}").format(
                name=_named(param), value=value, lo=lo, hi=hi))
        return value
    check.__name__ = f"bounded_{lo}_{hi}"
    return check
