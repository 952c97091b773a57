"""What every command shares: who is acting, where the database is, and how output
is rendered. Commands stay thin: parse, call one domain function, render."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from ledger.core.money import decimal_text, format_yuan
from ledger.errors import BadInput, PermissionDenied
from ledger.i18n import _, code_text
from ledger.store.db import Conn, Target, Writer, connect, run_tx, translated

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

T = TypeVar("T")

# Characters that drive a terminal rather than show something: C0 controls but tab and
# newline (ESC starts colour, cursor-movement, title and hyperlink sequences; CR returns to
# the start of the line, so what follows overwrites it), DEL, C1 controls, and the
# bidirectional overrides and isolates (U+202E shows "0.01" as "10.0").
_DRIVES_TERMINAL = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_DRIVES_TERMINAL |= {0x7F: 0x2421, **{c: 0xFFFD for c in range(0x80, 0xA0)},
                     **{c: 0xFFFD for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}}


def shown(text: str) -> str:
    """``text`` as it may reach a terminal: each character that would drive the terminal
    replaced by one visible stand-in (ESC → ␛, CR → ␍, U+202E → �), one for one."""
    return text.translate(_DRIVES_TERMINAL)


class Markup(str):
    """Rich markup the program wrote itself (a status in red), for ``table``: every other
    string in a table cell is data and is shown literally."""


def _safe_console(**kwargs: Any) -> Console:
    """A Console that never passes a terminal-driving character of the text it renders
    (ledger data: notes, memos, file names, references an officer wrote) to the
    terminal. Rich's own styling is applied after this, so colours still work; markup in
    data is escaped where the data is placed (``table``, ``plain``). Emoji short codes
    (``:one:``, ``:x:``) are never expanded (ATTACK14 V8): text is shown as it was written.

    Defined when the first console is made: rich (~0.1 G instructions, a quarter of a
    read command's own start-up) is imported only by a run that prints through it, not
    by ``balance --json`` (issue 24)."""
    from rich.console import Console
    from rich.text import Text

    class SafeConsole(Console):
        def render_str(self, text: str, **kw: Any) -> Text:
            kw["emoji"] = False   # (ATTACK14 V8) ':one:' in a memo is text, never the emoji 1️⃣
            out = super().render_str(text, **kw)
            clean = shown(out.plain)
            if clean != out.plain:
                out.plain = clean   # one character for one: the styles' spans stay where they were
            return out

    return SafeConsole(**{**kwargs, "emoji": False})


def plain(value: Any) -> str:
    """A data value placed into a message with markup: shown literally (no markup of its
    own, no terminal-driving characters)."""
    return escape(shown(str(value)))


_TAG_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz#/@")   # what may follow "[" in a rich tag


def escape(text: str) -> str:
    """``text`` as rich markup that shows exactly ``text`` wherever a template places it, and
    never opens, closes or escapes a tag of the template's (ATTACK18b H10/H11).

    Not ``rich.markup.escape``, nor a hand-written "[" to "\\[" replacement: rich reads the backslashes
    right before a tag in pairs (``\\\\[b]``: one backslash, then a live tag) and, in plain
    text, ``\\[`` as ``[``. The hand-written replace turns ``…\\[/]`` into a live closing tag;
    rich's own escape leaves three trailing backslashes odd, so they escape the template's next
    tag (``[bold]`` shown, its ``[/bold]`` then a MarkupError), and shows ``\\[`` as ``[``.
    Here each ``[`` gets one backslash of its own, the k backslashes before it are doubled
    where rich would pair them (before what reads as a tag, or could once the template's text
    follows), and a trailing run is doubled: before the template's tag it shows as itself; before
    plain text it shows doubled (a cosmetic cost, never a live tag). No rich import needed."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("[", i)
        if j < 0:
            break
        k = 0
        while j - k - 1 >= i and text[j - k - 1] == "\\":
            k += 1
        out.append(text[i:j - k])
        after = text[j + 1:j + 2]
        rest = text[j + 1:]
        closes = min((p for p in (rest.find("["), rest.find("]")) if p >= 0), default=-1)
        never_a_tag = (after != "" and after not in _TAG_FIRST) or (closes >= 0 and rest[closes] == "[")
        out.append("\\" * (k if never_a_tag else 2 * k) + "\\[")
        i = j + 1
    tail = text[i:]
    stripped = tail.rstrip("\\")
    out.append(stripped + "\\" * (2 * (len(tail) - len(stripped))))
    return "".join(out)


class LazyConsole:
    """A rich Console made on first use, with the arguments and width it would have had
    if made at import: every attribute (``print``, ``file``, ``width``, …) is the real
    console's. ``real()`` hands the console itself to rich (a progress bar)."""

    __slots__ = ("_kwargs", "_made", "_width")

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_kwargs", kwargs)
        object.__setattr__(self, "_made", None)
        object.__setattr__(self, "_width", ())    # () = never configured

    def real(self) -> Console:
        made: Console | None = self._made
        if made is None:
            made = _safe_console(**self._kwargs)
            if self._width != ():
                made.width = self._width
            object.__setattr__(self, "_made", made)
        return made

    def configure_width(self, width: int | None) -> None:
        """``width`` now if the console exists, else when it is made."""
        if self._made is not None:
            self._made.width = width  # None: the terminal's, or 80 when piped
        else:
            object.__setattr__(self, "_width", width)

    # Every read, write and delete of an attribute is the real console's, so the proxy
    # behaves as the console under any tool that patches it: pytest's monkeypatch reads
    # ``__dict__`` (the real console's, through __getattr__: the slots leave the proxy none),
    # sets the attribute and, to undo, deletes it again. Without __delattr__ that delete
    # failed and left the patched ``print`` on the console for every later run in the process.
    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.real(), name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self.real())) | {"real", "configure_width"})

    # Special methods are looked up on the class, never through __getattr__: each of
    # Console's own (``with console:`` buffers output, repr names it) is forwarded here.
    def __repr__(self) -> str:
        return repr(self.real())

    def __enter__(self) -> Console:
        return self.real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real().__exit__(*exc)


# The terminal's width; COLUMNS when set (also when piped); 80 when piped without it.
console = LazyConsole(highlight=False)
err_console = LazyConsole(stderr=True, highlight=False)


def configure_width(environ: Mapping[str, str] | None = None) -> None:
    """Honour COLUMNS for this run (the consoles outlive one command in the tests)."""
    import os

    cols = (environ if environ is not None else os.environ).get("COLUMNS", "")
    width = int(cols) if cols.isdigit() and int(cols) > 0 else None
    for c in (console, err_console):
        c.configure_width(width)


def status_text(code: str) -> str:
    """A status code (posted, already posted, …) in the language in force."""
    return code_text(code)


def side_text(side: str) -> str:
    """D/C as 借/贷 (zh) or Dr/Cr (en)."""
    return code_text({"D": "Dr", "C": "Cr"}.get(side, side))


class State:
    """Set by the root callback from ``--as`` / ``FUNDLEDGER_USER``."""

    user: str | None = None

    @classmethod
    def target(cls) -> Target:
        return Target.from_env(cls.user)


@contextmanager
def db(*, admin: bool = False, options: str | None = None) -> Iterator[Conn]:
    conn = connect(State.target(), admin=admin, options=options)
    try:
        with translated():
            yield conn
    finally:
        conn.close()


def write(work: Callable[[Conn], T]) -> T:
    """Run one business action as one transaction (retried on conflicts), then seal
    whatever commits queued meanwhile, so its entries carry voucher numbers on return.

    With FUNDLEDGER_FAILOVER_SECONDS set (docs/deployment.md), a write whose commit
    outcome a failover left unknown is sent again, with the same idempotency keys, to
    whichever server is primary, for up to that many seconds (``Writer``)."""
    import os

    from ledger.store import journal  # a write's module: a read command does not load it

    within = os.environ.get("FUNDLEDGER_FAILOVER_SECONDS", "").strip()
    if within:
        try:
            seconds = float(within)
        except ValueError as e:
            raise BadInput(_("FUNDLEDGER_FAILOVER_SECONDS: '{value}' is not a number of seconds").format(
                value=within)) from e
        writer = Writer(State.target(), within=seconds)
        try:
            out = writer.run(work)
            assert writer.conn is not None
            journal.seal_queued(writer.conn)
            return out
        finally:
            writer.close()
    with db() as conn:
        out = run_tx(conn, work)
        journal.seal_queued(conn)
        return out


def read(work: Callable[[Conn], T]) -> T:
    with db() as conn:
        own_unit_only(conn)
        return work(conn)


def own_unit_only(conn: Conn, unit: str | None = None) -> Conn:
    """(ATTACK20b M7) A reader's ``--unit`` naming another unit than the officer's own is
    refused before anything is read: row security would hide that unit's rows, and the
    report would show its books as empty (a script reading ``--json`` takes that for "no
    entries"). One check for every reader with a ``--unit`` option (the current command's
    parameters, or ``unit`` where a group's callback reads: the monitor); the city bureau,
    finance and the auditor read every unit."""
    if unit is None:
        if "typer" not in sys.modules:      # the fast path (no Typer tree): the caller passes unit
            return conn
        from typer._click.globals import get_current_context  # Typer's own click (cli/docgen.py, entry.py)

        ctx = get_current_context(silent=True)
        unit = ctx.params.get("unit") if ctx is not None else None
    if not isinstance(unit, str) or not unit:
        return conn
    from ledger.store.reports import confined_unit

    own = confined_unit(conn)
    if own is not None and unit.strip() != own:
        raise PermissionDenied(_("--unit {unit}: an officer sees only unit {own}'s figures; the city bureau, city "
                                 "finance and the auditor read every unit — ask them, or give --unit {own}").format(
            unit=unit[:40], own=own))
    return conn


def read_pinned(work: Callable[[Conn], T]) -> T:
    """``read`` for the verifiers: the session starts with the settings it cannot do
    without (ledger.store.verify_session.STARTUP), whatever the role or database set."""
    from ledger.store.verify_session import STARTUP

    with db(options=STARTUP) as conn:
        return work(conn)


# ---- values -------------------------------------------------------------------

def check_year(value: int | None) -> int | None:
    """Every command's ``--year`` (the option's callback): a year from 2000 to 2100, as
    ``request submit`` takes (ledger.core.requests), or ``bad_input`` — never a traceback
    from a date that cannot be built, nor a report of year -5."""
    from ledger.core.requests import MAX_YEAR, MIN_YEAR

    if value is not None and (isinstance(value, bool) or not MIN_YEAR <= value <= MAX_YEAR):
        raise BadInput(_("--year {year} is out of range: give a year from {lo} to {hi}").format(
            year=value, lo=MIN_YEAR, hi=MAX_YEAR))
    return value


BIGINT_MAX = 2**63 - 1


def parse_date_opt(text: str | None, name: str) -> dt.date | None:
    """A date the user typed: ISO form, and a year from 2000 to 2100 like ``--year``
    (ATTACK6 T14: ``--as-of 0001-01-01`` crashed the monitor, the subledger and the
    forecast with a traceback; ``9999-12-31`` ran)."""
    if text is None:
        return None
    from ledger.core.requests import MAX_YEAR, MIN_YEAR  # (a StrEnum, a dataclass) only for a date given

    try:
        day = dt.date.fromisoformat(text)
    except ValueError as e:
        raise BadInput(_("--{name}: '{text}' is not a date (YYYY-MM-DD)").format(name=name, text=text)) from e
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise BadInput(_("--{name} {text} is out of range: give a date from {lo} to {hi}").format(
            name=name, text=text, lo=MIN_YEAR, hi=MAX_YEAR))
    return day


def as_of_in_year(text: str | None, year: int | None) -> dt.date | None:
    """``--as-of`` of a command that also takes ``--year``: the day, refused when it falls in
    another year than the one given (ATTACK20 L3: the balance sheet dropped the ``--year``
    typed and showed the other year's figures, the trial balance printed fifteen months under
    neither year's heading)."""
    day = parse_date_opt(text, "as-of")
    if day is not None and year is not None and day.year != year:
        raise BadInput(_("--year {year} and --as-of {day} name two different years: give --year alone for the "
                         "whole year, --as-of alone for the figures at that day, or an --as-of in {year}").format(
            year=year, day=day.isoformat()))
    return day


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


# Columns whose cells must never be cut or folded: codes and identifiers.
KEY_COLUMNS = frozenset({"unit", "account", "id", "voucher", "book", "code", "item", "request_id", "entry_id",
                         "colour", "quarter", "year", "side", "component"})


@dataclass(frozen=True)
class Col:
    label: str
    right: bool = False   # amounts and counts
    whole: bool = False   # never cut or folded (amounts, codes)


def print_table(title: str | None, cols: Sequence[Col], rows: Sequence[Sequence[str]],
                totals: Sequence[str] | None = None, *, total_label: str | None = None) -> None:
    """A table that stays readable at any width: amounts and codes are never cut; text
    folds; when even that cannot fit the terminal, each row becomes a small record
    (label: value lines), so nothing is cut at 80 columns either.

    Cells are markup (the caller escaped its data: ``table``'s ``cell``, exports' ``_cell``);
    the title (unless the program wrote it as ``Markup``), the headers and the total label
    are text — a unit's name in a title is data (ATTACK18b H10/H11)."""
    title = title if not title or isinstance(title, Markup) else plain(title)
    cols = [Col(plain(c.label), right=c.right, whole=c.whole) for c in cols]
    total_label = plain(total_label) if total_label else total_label
    body = [*rows, *([totals] if totals is not None else [])]
    widths = []
    for i, c in enumerate(cols):
        longest = max((_width(r[i]) for r in body), default=0)
        # Amounts and codes whole; text may fold, but not below a readable width.
        # (a whole column cannot fold its header either).
        widths.append(max(longest, _width(c.label), 1) if c.whole else min(max(longest, 1), TEXT_MIN))
    need = sum(widths) + 3 * len(cols) + 1   # one space each side of a cell, one border between
    if need > console.width:
        _print_records(title, cols, rows, totals, total_label)
        return
    from rich.table import Table

    t = Table(title=title, header_style="bold", title_justify="left")
    for c, w in zip(cols, widths, strict=True):
        t.add_column(c.label, justify="right" if c.right else "left", no_wrap=c.whole, overflow="fold",
                     min_width=w)
    for r in rows:
        t.add_row(*r)
    if totals is not None:
        t.add_section()
        t.add_row(*(f"[bold]{x}[/bold]" if x else "" for x in totals))
    if _cropped(t):
        _print_records(title, cols, rows, totals, total_label)
        return
    console.print(t)


def _cropped(t: Table) -> bool:
    """Whether rich would cut the table at the terminal's right edge: long headers over
    narrow folding columns can need more than the widths estimated above (a forecast at
    120 columns lost its last column), and a cut table hides figures."""
    lines = console.render_lines(t, console.options, pad=False)
    return bool(lines) and not "".join(seg.text for seg in lines[-1]).rstrip().endswith("┘")


TEXT_MIN = 10  # cells: five Chinese characters


def _width(markup: str) -> int:
    from rich.cells import cell_len
    from rich.text import Text

    return max((cell_len(line) for line in Text.from_markup(markup, emoji=False).plain.splitlines()),
               default=0)


def _print_records(title: str | None, cols: Sequence[Col], rows: Sequence[Sequence[str]],
                   totals: Sequence[str] | None, total_label: str | None) -> None:
    from rich.table import Table

    if title:
        console.print(f"[bold]{title}[/bold]")
    # Each record is headed by what identifies the row: its first column, and the second when it is text
    # (a unit and its name, an account and its name, a request and its unit).
    ident = [0, 1] if len(cols) > 1 and not cols[1].right else [0]
    records = [(" ".join(r[i] for i in ident if r[i]), r) for r in rows]
    if totals is not None:
        label = total_label or _("Total")
        records.append((f"[bold]{label}[/bold]", list(totals)))
    for head, r in records:
        g = Table.grid(padding=(0, 2))
        g.add_column(no_wrap=True)
        g.add_column(overflow="fold")
        right = max((_width(v) for c, v in zip(cols, r, strict=True) if c.right), default=0)
        for i, (c, v) in enumerate(zip(cols, r, strict=True)):
            if i in ident or not v:
                continue
            g.add_row(f"  {c.label}", " " * (right - _width(v)) + v if c.right else v)
        console.print(f"── {head}" if head else "──")
        console.print(g)


def table(title: str | None, columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]],
          money: Sequence[str] = (), totals: Mapping[str, Any] | None = None) -> None:
    """A table; money right-aligned with thousands separators, negatives in red; amounts
    and codes never cut (``print_table``). Labels are already translated by the caller."""
    m = set(money)

    def cell(k: str, v: Any) -> str:
        if v is None:
            return ""
        if k in m and isinstance(v, int):
            s = format_yuan(v)
            return f"[red]{s}[/red]" if v < 0 else s
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, Markup):
            return str(v)
        # Data, shown as it is: its own "[…]" is text, not markup; a newline inside a cell
        # would pass for another line of the table.
        return plain(str(v).replace("\r\n", "\n").replace("\n", "\u2424"))

    cols = [Col(label, right=k in m, whole=k in m or k in KEY_COLUMNS) for k, label in columns]
    body = [[cell(k, r.get(k)) for k, _l in columns] for r in rows]
    tot = [cell(k, totals.get(k)) for k, _l in columns] if totals else None
    print_table(title, cols, body, tot, total_label=str(totals.get(columns[0][0])) if totals else None)
