"""What every command shares: who is acting, where the database is, and how output
is rendered. Commands stay thin: parse, call one domain function, render."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from ledger.core.money import decimal_text, format_yuan
from ledger.errors import BadInput
from ledger.store import journal
from ledger.store.db import Conn, Target, connect, run_tx, translated

T = TypeVar("T")

# Wide when piped (reports go to files and pagers); the terminal's width otherwise.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)


class State:
    """Set by the root callback from ``--as`` / ``FUNDLEDGER_USER``."""

    user: str | None = None

    @classmethod
    def target(cls) -> Target:
        return Target.from_env(cls.user)


@contextmanager
def db(*, admin: bool = False) -> Iterator[Conn]:
    conn = connect(State.target(), admin=admin)
    try:
        with translated():
            yield conn
    finally:
        conn.close()


def write(work: Callable[[Conn], T]) -> T:
    """Run one business action as one transaction (retried on conflicts), then seal
    whatever commits queued meanwhile, so its entries carry voucher numbers on return."""
    with db() as conn:
        out = run_tx(conn, work)
        journal.seal_queued(conn)
        return out


def read(work: Callable[[Conn], T]) -> T:
    with db() as conn:
        return work(conn)


# ---- values -------------------------------------------------------------------

def parse_date_opt(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise BadInput(f"--{name}: '{text}' is not a date (YYYY-MM-DD)") from e


def jsonable(v: Any, money: bool = False) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int) and money:
        return decimal_text(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes | memoryview):
        return bytes(v).hex()
    if isinstance(v, Mapping):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def rows_json(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], money: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Project rows onto documented keys; money keys become two-place decimal strings."""
    m = set(money)
    return [{k: jsonable(r.get(k), k in m) for k in keys} for r in rows]


def table(title: str | None, columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]],
          money: Sequence[str] = (), totals: Mapping[str, Any] | None = None) -> None:
    """A rich table; money right-aligned with thousands separators, negatives in red."""
    t = Table(title=title, header_style="bold", show_lines=False)
    m = set(money)
    for key, label in columns:
        t.add_column(label, justify="right" if key in m else "left", no_wrap=key in m)

    def cell(k: str, v: Any) -> str:
        if v is None:
            return ""
        if k in m and isinstance(v, int):
            s = format_yuan(v)
            return f"[red]{s}[/red]" if v < 0 else s
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        return str(v)

    for r in rows:
        t.add_row(*(cell(k, r.get(k)) for k, _ in columns))
    if totals:
        t.add_section()
        t.add_row(*(f"[bold]{cell(k, totals.get(k))}[/bold]" for k, _ in columns))
    console.print(t)
