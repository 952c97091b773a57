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
        body(lang)
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
