"""ATTACK18b H10/H11: data placed into rich markup is shown literally, whatever it holds.

Every data value that goes into a message or a table cell with markup passes through
``cli.context.plain`` (rich.markup.escape after ``shown``). A hand-written
``replace("[", "\\[")`` was defeated by a backslash before the bracket (``…\\[/]``: an escaped
backslash, then a live closing tag), so one acknowledgement's decision broke every text
``monitor`` and one memo every text report. These tests hold the helper to its promise for
any text, in any place of a template, and keep hand-written escapes out of the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from cli.context import plain, shown

ROOT = Path(__file__).resolve().parents[2]

# Text that looks like markup: brackets, slashes, backslashes, tag names, emoji codes.
MARKUPISH = st.lists(st.sampled_from([*"[]/\\@#ab :x=", "bold", "red", "link", "调整"]), max_size=16).map("".join)
ANY_TEXT = st.one_of(MARKUPISH, st.text(max_size=24))
TEMPLATES = ["{}", "[bold]{}[/bold]", "x {} y", "[red]{}[/red]: {}", "[b]{}[/]", "[yellow]warning: {}[/yellow]",
             "{}[bold]x[/bold]", "\\[{}] y", "{} \\[z]", "[i]{}[/i]{}[u]{}[/u]"]


def _render(markup: str) -> Text:
    return Text.from_markup(markup, emoji=False)


def _exact(s: str) -> bool:
    """Whether ``plain(s)`` must show exactly ``s`` in any place: all but two cosmetic cases (a run
    of backslashes at the end, or before a last "[" that the template's text could close into a
    tag) — there the backslashes may show doubled, never a tag."""
    return not re.search(r"\\(\[([a-z#/@][^\[\]]*)?)?$", s)


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_any_text_through_plain_renders_as_itself(s: str) -> None:
    out = _render(plain(s))
    assert not out.spans
    if _exact(s):
        assert out.plain == shown(s)
    else:
        assert out.plain.replace("\\", "") == shown(s).replace("\\", "")


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT, st.sampled_from(TEMPLATES))
def test_plain_text_inside_a_template_never_opens_or_closes_a_tag(s: str, template: str) -> None:
    """The template's own tags still work, the data's never do: no MarkupError, and the styles
    are exactly the template's, over the same stretches of text."""
    n = template.count("{}")
    out = _render(template.format(*[plain(s)] * n))
    bare = _render(template.format(*["Z"] * n))
    assert sorted(str(sp.style) for sp in out.spans) == sorted(str(sp.style) for sp in bare.spans)
    if _exact(s):
        assert out.plain == bare.plain.replace("Z", shown(s))
    else:
        assert out.plain.replace("\\", "") == bare.plain.replace("Z", shown(s)).replace("\\", "")


def test_rich_s_own_escape_is_not_enough() -> None:
    """Why plain() is not rich.markup.escape: three trailing backslashes stay odd and escape the
    template's next tag, whose closing tag then fails."""
    from rich.errors import MarkupError
    from rich.markup import escape as rich_escape

    with pytest.raises(MarkupError):
        _render(rich_escape("a\\\\\\") + "[bold]x[/bold]")
    assert _render(plain("a\\\\\\") + "[bold]x[/bold]").plain == "a\\\\\\x"
    assert _render(plain("\\[1") + " y").plain == "\\[1 y"


@pytest.mark.parametrize("s", ["\\[/]", "[/]", "[bold]", "a\\\\b", "调整\\[/]", "已处置\\[/]", "a\\[b]c[/b]", "[@click]"])
def test_the_red_teams_texts_are_shown_literally(s: str) -> None:
    assert _render(plain(s)).plain == s
    assert _render(f"[bold]{plain(s)} [/bold]").plain == s + " "


def test_no_hand_written_markup_escape_is_left() -> None:
    """(H11) ``replace("[", "\\\\[")`` misses a backslash before the bracket: every escape is plain()'s."""
    pattern = re.compile(r"""replace\(\s*["']\[["']""")
    found = [f"{p.relative_to(ROOT)}:{i}" for d in ("cli", "ledger") for p in sorted((ROOT / d).rglob("*.py"))
             for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert not found, found


def test_a_table_title_and_headers_are_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit's name in a table's title (``units of {region}``) is data."""
    from cli.context import Col, console, print_table

    with console.capture() as cap:
        print_table("units of 某市[/]", [Col("name[/]"), Col("n", right=True)], [[plain("a\\[/]"), "1"]])
    out = cap.get()
    assert "某市[/]" in out and "name[/]" in out and "a\\[/]" in out


def test_a_markup_error_at_the_edge_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backstop: a print site that was missed ends in one worded line and exit 1."""
    from rich.errors import MarkupError

    from cli.context import err_console
    from cli.edge import guarded

    def body(lang: str) -> None:
        raise MarkupError("closing tag '[/]' at position 4 has nothing to close")

    monkeypatch.setattr(sys, "argv", ["fundledger", "--lang", "en"])
    with err_console.capture() as cap, pytest.raises(SystemExit) as ex:
        guarded(body)
    assert ex.value.code == 1
    text = cap.get()
    assert "[output_markup]" in text and "closing tag '[/]'" in text and "Traceback" not in text


def test_any_other_exception_still_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.edge import guarded

    def body(lang: str) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(sys, "argv", ["fundledger", "--lang", "en"])
    with pytest.raises(ZeroDivisionError):
        guarded(body)


@pytest.mark.parametrize("key", ["memo", "reason", "reference", "note", "unit_name", "name"])
@pytest.mark.parametrize("s", ["\\[/]", "[/]", "[bold]", "调整\\[/]", "a\\\\b[red]x", "[@click]", "\\\\[b]"])
def test_every_report_text_cell_shows_its_text(key: str, s: str) -> None:
    """(H11 addendum) A memo ``调整\\[/]`` broke the city's vouchers report: a report's text cell
    is escaped by plain(), in a table and beside the template's own bold totals."""
    from cli.exports import _cell
    from ledger.reports.model import Column

    cell = _cell(Column(key, key), s)
    assert _render(cell).plain == s
    assert _render(f"[bold]{cell}[/bold]").plain == s
