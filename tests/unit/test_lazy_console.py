"""The CLI's consoles are made on first use (cli/context.py ``LazyConsole``): the proxy must
behave as the rich Console it stands for, under the tools that patch it too. A patch of
``print`` with pytest's monkeypatch once failed to undo (the proxy had no ``__delattr__``)
and left the patched method on the shared console, so every later CLI run in that test
process printed nothing."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from cli import context
from cli.context import LazyConsole


def test_every_console_attribute_is_the_real_consoles() -> None:
    lazy = LazyConsole(highlight=False)
    real = lazy.real()
    for name in dir(Console):
        if name.startswith("__"):
            continue
        got, want = getattr(lazy, name), getattr(real, name)
        assert got == want or (got is want), name
    assert set(dir(Console)) - {"__init_subclass__"} <= set(dir(lazy)) | set(dir(object))


def test_writes_and_deletes_reach_the_real_console() -> None:
    lazy = LazyConsole(highlight=False)
    lazy.marker = 1
    assert lazy.real().marker == 1
    del lazy.marker
    assert not hasattr(lazy.real(), "marker")
    with pytest.raises(AttributeError):
        del lazy.not_there


def test_a_monkeypatched_method_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = LazyConsole(highlight=False)
    printed: list[str] = []
    with monkeypatch.context() as m:
        m.setattr(lazy, "print", lambda s, *a, **k: printed.append(str(s)))
        lazy.print("patched")
    assert printed == ["patched"]
    lazy.file = io.StringIO()
    lazy.print("real")
    assert lazy.file.getvalue() == "real\n" and printed == ["patched"]
    assert "print" not in vars(lazy.real())


def test_the_shared_consoles_survive_a_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    for c in (context.console, context.err_console):
        with monkeypatch.context() as m:
            m.setattr(c, "print", lambda *a, **k: None)
        assert "print" not in vars(c.real())


def test_the_special_methods_are_the_consoles() -> None:
    lazy = LazyConsole(highlight=False)
    lazy.file = io.StringIO()
    with lazy:                      # Console buffers inside a with block and writes at its end
        lazy.print("buffered")
        assert lazy.file.getvalue() == ""
    assert lazy.file.getvalue() == "buffered\n"
    assert repr(lazy) == repr(lazy.real())


def test_the_width_waits_for_the_console() -> None:
    lazy = LazyConsole(highlight=False)
    lazy.configure_width(37)
    assert lazy.real().width == 37 and lazy.width == 37
