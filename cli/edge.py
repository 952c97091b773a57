"""The command line's edge, shared by both ways a command runs (the Typer tree of
cli/main.py and the read commands' fast path of cli/entry.py): the language decided,
the arguments checked, and every ``LedgerError`` rendered once as one line on stderr with
its exit code. No Typer here (issue 24: ``balance --json`` must not pay for it)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from cli.context import err_console, escape
from ledger import i18n
from ledger.errors import BadInput, LedgerError
from ledger.i18n import _


def check_arguments(argv: list[str]) -> None:
    """An argument that is not UTF-8 (a note typed in a GBK terminal) is refused before
    anything runs — unless it names a file that exists: a Windows-made file name keeps
    its GBK bytes, and the file can still be read (ledger.io.infile.shown_name)."""
    import os

    for a in argv:
        try:
            a.encode("utf-8")
        except UnicodeEncodeError:
            if os.path.exists(a):
                continue
            shown = os.fsencode(a).decode("utf-8", "backslashreplace")
            raise BadInput(_("the argument {arg} is not UTF-8 text (was it typed in another encoding?); "
                             "nothing was done. Set the terminal to UTF-8 and type it again").format(arg=shown)) from None


def render_error(e: LedgerError) -> str:
    """One line (or a block, for a refused file) for a user: the rule code stays ASCII."""
    from cli.errors import localise

    label = _("error")
    return f"[red]{escape(label)}[/red] \\[{escape(e.rule)}]: {escape(localise(i18n.translate(e.message), e.rule))}"


def guarded(body: Callable[[str], None]) -> None:
    """Run ``body(lang)`` for the command line in ``sys.argv``: the language in force first
    (``--lang`` > FUNDLEDGER_LANG > the locale > zh), the arguments checked; LedgerErrors
    become one line on stderr and an exit code. No traceback for a user's mistake."""
    from cli.context import configure_width
    from cli.localize import lang_from_argv

    configure_width()
    try:
        lang = i18n.resolve(lang_from_argv(sys.argv[1:]))
    except i18n.UnknownLanguage as e:
        label = _("error")
        err_console.print(f"[red]{escape(label)}[/red] \\[bad_input]: {escape(str(e))}", soft_wrap=True)
        sys.exit(1)
    i18n.set_lang(lang)
    try:
        check_arguments(sys.argv[1:])
        try:
            body(lang)
        finally:
            # Written output leaves the buffer here, inside the guard: a full disk or a quota
            # is then a message below, not an error at the interpreter's exit (ATTACK17 E3).
            sys.stdout.flush()
    except LedgerError as e:
        err_console.print(render_error(e), soft_wrap=True)
        sys.exit(e.exit_code)
    except (UnicodeError, RecursionError) as e:
        # Text no database can store, or a document nested past any reader's depth, that a
        # check upstream did not name: still a message, never a traceback; the transaction
        # it happened in was rolled back.
        bad = BadInput(_("the input holds text that is not valid Unicode, or nests too deeply ({what}); "
                         "nothing was written. Give UTF-8 text and files").format(what=type(e).__name__))
        err_console.print(render_error(bad), soft_wrap=True)
        sys.exit(bad.exit_code)
    except KeyboardInterrupt:
        err_console.print(_("interrupted: nothing half-written remains (each action is one transaction)"))
        sys.exit(130)
    except OSError as e:
        _os_error(e)
    except Exception as e:
        if not _is_markup_error(e):
            raise
        _markup_error(e)


def _is_markup_error(e: Exception) -> bool:
    """Whether ``e`` is rich's MarkupError. Rich is imported only by a run that printed
    through it, so a run that did not cannot have raised one (and pays nothing here)."""
    errors = sys.modules.get("rich.errors")
    return errors is not None and isinstance(e, errors.MarkupError)


def _markup_error(e: Exception) -> None:
    """(ATTACK18b H10/H11, the backstop) A message whose data read as rich markup: every data
    value is escaped where it is placed (cli.context.plain), so this is a place that was
    missed. One worded line, never a traceback; exit 1. What the command wrote before it
    printed is written (each write is one transaction that had committed)."""
    bad = BadInput(_("the output could not be shown: a text in it reads as console markup ({detail}); "
                     "whatever the command wrote is written. Run it again with --json to see it, and report "
                     "this").format(detail=str(e)), rule="output_markup")
    err_console.print(render_error(bad), soft_wrap=True)
    sys.exit(bad.exit_code)


def _os_error(e: OSError) -> None:
    """The operating system refused a file or the standard output (a full disk, a quota, a
    path that is a file where a folder was asked for): one line naming the path and the
    reason, exit 1. A closed pipe (``… | head``) ends quietly with 1, as click does."""
    import errno
    import os

    if e.filename is None:
        _quiet_stdout()
    if e.errno == errno.EPIPE:
        sys.exit(1)
    where = os.fsdecode(e.filename) if e.filename is not None else _("the standard output")
    reason = e.strerror or type(e).__name__
    bad = BadInput(_("{path}: {reason}; the operating system refused to read or write it. Check the path, "
                     "the free space and the permissions, then run the command again").format(
                         path=where, reason=reason), rule="io_error")
    err_console.print(render_error(bad), soft_wrap=True)
    sys.exit(bad.exit_code)


class _Discard:
    """A stdout that takes everything and keeps nothing."""

    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


def _quiet_stdout() -> None:
    """Stop writing to a stdout the system refused: what is left in its buffer cannot be
    written, and the interpreter's exit would try again and print an error of its own
    (a finalized stream's failed close is silent)."""
    sys.stdout = _Discard()
