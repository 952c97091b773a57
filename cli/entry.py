"""The console script's entry point (``fundledger``): the read commands' fast path, else
the whole Typer tree (cli/main.py).

Issue 24: a read command (``balance``, ``monitor``) within 300 ms of a warm server. Typer
and its vendored click (~0.1 G instructions to import, build one command and parse) are a
tenth of ``balance --json``'s start-up. So the command lines a person or a script types for
the two reads — the forms below, and only those — are recognised here, cheaply, and run by
the same bodies the Typer commands run (cli/balance.py, cli/monitor.py), inside the same
edge (cli.edge.guarded: the language, the argument check, every refusal rendered once with
its exit code). Everything else — help, ``--version``, another command, an option the
fast path does not take (``--csv``, ``--xlsx``, ``--force``), an option given twice, a
value that starts with ``-``, ``--``, anything click would refuse — falls through to
Typer, unchanged. tests/integration/test_fast_path.py runs every form both ways on one
ledger and compares the output, the errors and the exit code.

The forms (``--opt VALUE`` or ``--opt=VALUE``; options in any order, each at most once)::

    fundledger [--as NAME] [--lang zh|en] balance ACCOUNT [--as-of DATE] [--json]
    fundledger [--as NAME] [--lang zh|en] monitor [--as-of DATE] [--unit U] [--book B] [--lang L] [--json]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

# The root's options (cli/main.py ``root``) that take a value; --version falls through.
_ROOT = ("--as", "--lang")
# Per command: the options that take a value, the flags, and whether it takes one ACCOUNT.
_FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "balance": (("--as-of",), ("--json",), True),
    "monitor": (("--as-of", "--unit", "--book", "--lang"), ("--json",), False),
}


class Plan(NamedTuple):
    """A command line the fast path takes: the command, ``--as``, its options and argument."""

    command: str
    user: str | None
    options: dict[str, str | bool]
    argument: str | None


def _value(words: list[str], i: int, eq: str, value: str) -> tuple[str, int] | None:
    """The value of the option at ``words[i]`` (``--opt=V``, or ``--opt V`` taking the next word)
    and the index after it; None when it has none or it starts with ``-`` (click's to judge)."""
    if not eq:
        if i + 1 >= len(words):
            return None
        value, i = words[i + 1], i + 1
    return None if value.startswith("-") else (value, i + 1)


def _options(words: list[str], valued: tuple[str, ...], flags: tuple[str, ...], positional: bool,
             ) -> tuple[dict[str, str | bool], list[str]] | None:
    """``words`` as options (each at most once) and positional words; None when any word is
    not one of the given forms (click would treat it otherwise, or refuse it)."""
    got: dict[str, str | bool] = {}
    args: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if not w.startswith("-"):
            if not positional:
                return None     # monitor's only words after it are options (``monitor ack`` is Typer's)
            args.append(w)
            i += 1
            continue
        name, eq, value = w.partition("=")
        if name in got:
            return None
        if name in flags and not eq:
            got[name] = True
            i += 1
        elif name in valued:
            taken = _value(words, i, eq, value)
            if taken is None:
                return None
            got[name], i = taken
        else:
            return None
    return got, args


def recognise(argv: list[str]) -> Plan | None:
    """The plan for a command line in one of the fast path's forms, else None (Typer's)."""
    i = 0
    root: dict[str, str] = {}
    while i < len(argv) and argv[i].startswith("-"):
        name, eq, value = argv[i].partition("=")
        if name not in _ROOT or name in root:
            return None
        taken = _value(argv, i, eq, value)
        if taken is None:
            return None
        root[name], i = taken
    if i >= len(argv) or argv[i] not in _FORMS:
        return None
    command = argv[i]
    valued, flags, positional = _FORMS[command]
    parsed = _options(argv[i + 1:], valued, flags, positional)
    if parsed is None:
        return None
    options, args = parsed
    if positional and len(args) != 1:
        return None
    return Plan(command, root.get("--as"), options, args[0] if args else None)


def _runner(plan: Plan) -> Callable[[], int]:
    o = plan.options
    as_of = o.get("--as-of")
    as_of_text = as_of if isinstance(as_of, str) else None
    json_out = bool(o.get("--json", False))
    if plan.command == "balance":
        from cli.balance import balance

        assert plan.argument is not None

        def run_balance() -> int:
            balance(plan.argument or "", as_of_text, json_out)
            return 0
        return run_balance

    from cli.monitor import run_monitor

    def text(name: str) -> str | None:
        v = o.get(name)
        return v if isinstance(v, str) else None

    return lambda: run_monitor(as_of=as_of_text, unit=text("--unit"), book=text("--book"), json_out=json_out,
                               csv=None, xlsx=None, lang=text("--lang"), force=False)


def run_fast(plan: Plan) -> None:
    """Run ``plan`` as Typer would have run its command line: the root's ``--as``, the
    command's body, and click's standalone ending — exit 0, the body's exit code, 130 on
    Ctrl-C (Typer's ``Exit(130)``), 1 when stdout is a closed pipe."""
    from cli.context import State
    from cli.edge import guarded

    def body(lang: str) -> None:
        State.user = plan.user          # the root callback (cli/main.py root)
        try:
            work = _runner(plan)
            code = work()
        except KeyboardInterrupt:
            sys.exit(130)
        except EOFError:
            _abort(lang)
        except OSError as e:
            import errno

            if e.errno != errno.EPIPE:
                raise
            from typer._click.utils import PacifyFlushWrapper

            sys.stdout = PacifyFlushWrapper(sys.stdout)
            sys.stderr = PacifyFlushWrapper(sys.stderr)
            sys.exit(1)
        sys.exit(code)

    guarded(body)


def _abort(lang: str) -> None:
    """Typer's ending for an EOFError: a new line, then its "Aborted." in the language."""
    from typer._click import echo

    from cli.localize import patch_typer

    patch_typer(lang)
    from typer import rich_utils

    echo(file=sys.stderr)
    rich_utils.rich_abort_error()
    sys.exit(1)


def _dist_version(location: str, dist: str) -> str | None:
    """The ``Version`` of the one ``DIST-*.dist-info`` beside ``location`` (a package's
    directory), read from its METADATA's header; None when there is not exactly one, or
    it does not name ``dist``."""
    parent = os.path.dirname(location)
    try:
        found = [e for e in os.listdir(parent) if e.startswith(dist + "-") and e.endswith(".dist-info")]
    except OSError:
        return None
    if len(found) != 1:
        return None
    name = version = None
    try:
        with open(os.path.join(parent, found[0], "METADATA"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break
                key, _sep, value = line.partition(":")
                if key == "Name":
                    name = value.strip()
                elif key == "Version":
                    version = value.strip()
    except (OSError, UnicodeDecodeError):
        return None
    if name is None or name.lower().replace("-", "_") != dist:
        return None
    return version


class _Versions:
    """A meta path finder for psycopg's two version modules (``psycopg/version.py``,
    ``psycopg_binary/version.py``), which call ``importlib.metadata.version`` at import:
    importlib.metadata, email, zipfile and csv, 0.05 G instructions of a read command, for
    one string each. Each is made instead as a module holding the same ``__version__``,
    read from the same METADATA file (the one dist-info directory beside the package);
    any other name asked of it comes from the real module, loaded then. When the layout
    is not that (an egg, two dist-infos, no metadata) this finder finds nothing and the
    real module loads as always. tests/unit/test_fast_path.py compares the versions with
    importlib.metadata's."""

    DISTS: ClassVar[dict[str, str]] = {"psycopg.version": "psycopg", "psycopg_binary.version": "psycopg_binary"}

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        dist = self.DISTS.get(name)
        if dist is None or not path:
            return None
        import importlib.machinery
        import importlib.util

        real = importlib.machinery.PathFinder.find_spec(name, path)
        version = _dist_version(next(iter(path)), dist) if real is not None else None
        if real is None or version is None:
            return None
        loader: Any = _VersionLoader(version, real)
        return importlib.util.spec_from_loader(name, loader, origin=real.origin)


class _VersionLoader:
    def __init__(self, version: str, real: Any) -> None:
        self.version, self.real = version, real

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        module.__version__ = self.version
        real = self.real

        def attr(key: str) -> object:
            if key.startswith("__"):    # the import system's probes (__path__ …): not the real module's
                raise AttributeError(key)
            import importlib.util

            loaded = importlib.util.module_from_spec(real)
            real.loader.exec_module(loaded)
            return getattr(loaded, key)
        module.__getattr__ = attr


def preload_psycopg_versions() -> None:
    """psycopg's version modules made without importlib.metadata (``_Versions``), for the
    rest of this process."""
    if not any(isinstance(f, _Versions) for f in sys.meta_path):
        sys.meta_path.insert(0, _Versions())


def main() -> None:
    """``fundledger``: a read command's fast path when the command line is one of its forms,
    else the whole tree (cli.main.run). Shell completion is click's, so Typer's."""
    plan = None if os.environ.get("_FUNDLEDGER_COMPLETE") else recognise(sys.argv[1:])
    if plan is None:
        from cli.main import run

        run()
        return
    preload_psycopg_versions()
    run_fast(plan)


if __name__ == "__main__":
    main()
