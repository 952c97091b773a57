"""The command line in the user's language.

Help texts are written in English in the commands (Typer ``help=`` and docstrings) and are
message ids of the catalogue (ledger/locale). The language is decided from the command
line and the environment *before* the click command tree is built (``build``); the tree
is then translated in place: every command's help, every option's and argument's help,
and Typer's own panel titles. Nothing is translated at import time, so one process can
run commands in either language (the tests do).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from ledger import i18n
from ledger.i18n import N_

# Typer's fixed help strings (typer.rich_utils), translated with the rest.
_TYPER_STRINGS = {
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    "DEPRECATED_STRING": N_("(deprecated) "),
}
HELP_OPTION = N_("Show this message and exit.")


def lang_from_argv(argv: Sequence[str]) -> str | None:
    """The value of the last ``--lang X`` / ``--lang=X`` before ``--`` (any position)."""
    found: str | None = None
    args = list(argv)
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == "--lang" and i + 1 < len(args):
            found = args[i + 1]
        elif a.startswith("--lang="):
            found = a.split("=", 1)[1]
    return found


def normalise(text: str) -> str:
    """A help text as a message id: dedented and stripped, as click shows it."""
    return inspect.cleandoc(text)


def walk(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    subs = getattr(cmd, "commands", None)
    if isinstance(subs, dict):
        for name in sorted(subs):
            yield from walk(subs[name], (*path, name))


def help_texts(cmd: Any) -> Iterator[str]:
    """Every help text of a command tree (the message ids ``translate_tree`` looks up)."""
    for _, c in walk(cmd):
        for text in (c.help, c.short_help, *(getattr(p, "help", None) for p in c.params)):
            if text:
                yield normalise(text)


def translate_tree(cmd: Any, lang: str) -> None:
    """Every help text in ``lang``; flags lose Typer's ``<bool>`` type column; the help
    option (made lazily by click) is made now so that its text is translated too."""
    from typer._click.decorators import help_option

    for _, c in walk(cmd):
        if c.help:
            c.help = i18n.translate(normalise(c.help), lang)
        if c.short_help:
            c.short_help = i18n.translate(normalise(c.short_help), lang)
        for p in c.params:
            if getattr(p, "help", None):
                p.help = i18n.translate(normalise(p.help), lang)
            if getattr(p, "is_flag", False) and getattr(p, "metavar", None) is None:
                p.metavar = ""
        if getattr(c, "add_help_option", False) and getattr(c, "_help_option", "absent") is None:
            taken = {o for p in c.params for o in (*p.opts, *p.secondary_opts)}
            names = [n for n in HELP_NAMES if n not in taken]
            if names:
                help_option(names)(c)
                opt = c.params.pop()
                opt.help = i18n.translate(HELP_OPTION, lang)
                opt.metavar = ""
                c._help_option = opt


HELP_NAMES = ("-h", "--help")
USAGE_PREFIX = N_("Usage: ")
_folding = False
_usage = "Usage: "


def patch_typer(lang: str) -> None:
    """Typer's own strings in ``lang``, and help text that folds instead of being cut
    with '…' (Chinese has no spaces to wrap at). ``typer.rich_utils`` (rich's Markdown,
    markdown-it, pygments: ~70 ms) is imported by Typer only to show help or a usage
    error; it is patched now if it is loaded, else the moment it is imported."""
    global _usage, _lang
    _usage = i18n.translate(USAGE_PREFIX, lang)
    _lang = lang
    _patch_usage()
    ru = sys.modules.get(_RICH_UTILS)
    if ru is not None:
        _patch_rich_utils(ru)
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


_RICH_UTILS = "typer.rich_utils"
_lang = "zh"
_usage_patched = False


def _patch_usage() -> None:
    """Click's usage line starts with ``_usage`` (the prefix in the current language)."""
    global _usage_patched
    if _usage_patched:
        return
    from typer._click.formatting import HelpFormatter

    write_usage = HelpFormatter.write_usage

    def usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, _usage if prefix is None else prefix)

    HelpFormatter.write_usage = usage  # type: ignore[method-assign]
    _usage_patched = True


def _patch_rich_utils(ru: Any) -> None:
    """Typer's strings in the current language; its error panel localised and its help
    text folding (once per process: the wrappers read the language when they run)."""
    global _folding
    for attr, msgid in _TYPER_STRINGS.items():
        setattr(ru, attr, i18n.translate(msgid, _lang))
    if _folding:
        return
    from rich.text import Text

    format_error = ru.rich_format_error

    def usage_error(e: Any) -> None:
        from cli.errors import localise_usage

        text = localise_usage(e.format_message())
        e.format_message = lambda: text
        format_error(e)

    ru.rich_format_error = usage_error

    make = ru._make_rich_text

    def folding(*args: Any, **kwargs: Any) -> Any:
        out = make(*args, **kwargs)
        if isinstance(out, Text):
            out.overflow = "fold"
        return out

    ru._make_rich_text = folding
    _folding = True


class _PatchOnImport:
    """A meta path finder that lets ``typer.rich_utils`` load as usual, then patches it
    (``_patch_rich_utils``) before the importer sees it."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _RICH_UTILS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader: Any = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            _patch_rich_utils(module)

        loader.exec_module = exec_and_patch
        return spec


def build(app: Any, lang: str) -> Any:
    """The click command of ``app`` with every help text in ``lang``."""
    from typer.main import get_command

    cmd = get_command(app)
    translate_tree(cmd, lang)
    patch_typer(lang)
    return cmd
