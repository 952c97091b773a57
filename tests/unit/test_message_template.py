"""The refusal matcher (``cli.errors.Template``) against the regular expression it replaced.

Each message id used to be matched as a regular expression with one lazy group per placeholder,
anchored at the end; a line that matched none backtracked over every split of it (ATTACK19 J1).
``Template`` searches each fixed text from the left instead. These tests hold it to the old
meaning — same lines matched, same values — over any text, and show it linear on the line that
made the old one take seconds.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cli.errors import _PLACEHOLDER, Template, _compiled, _sql


def _old_regex(msgid: str) -> re.Pattern[str]:
    """The pattern ``cli.errors`` built before ATTACK19 J1 (the reference meaning)."""
    parts = _PLACEHOLDER.split(msgid)
    body = "".join((f"(?P<a{p[1:-1]}>.*?)" if p[1:-1].isdigit() else f"(?P<{p[1:-1]}>.+?)")
                   if _PLACEHOLDER.fullmatch(p) else re.escape(p.replace("{{", "{").replace("}}", "}"))
                   for p in parts)
    return re.compile(body + r"\Z", re.S)


def _same(msgid: str, text: str) -> None:
    old = _old_regex(msgid).match(text)
    new = Template(msgid).match(text)
    assert (old.groupdict() if old else None) == new, (msgid, text)


# fixed texts from a small alphabet, so that they recur inside the values and the searches meet
# every case: a fixed text inside a value, adjacent placeholders, empty values, a suffix overlap
_FIXED = st.text(alphabet="ab ,'", max_size=3)
_HOLDER = st.sampled_from(["{1}", "{2}", "{3}", "{unit}", "{code}", "{rule}"])


@st.composite
def _templates(draw: st.DrawFn) -> str:
    holders = draw(st.lists(_HOLDER, max_size=4, unique=True))
    fixed = [draw(_FIXED) for _ in range(len(holders) + 1)]
    return "".join(f + h for f, h in zip(fixed[:-1], holders, strict=True)) + fixed[-1]


@settings(max_examples=600, deadline=None)
@given(_templates(), st.text(alphabet="ab ,'x", max_size=14))
def test_a_template_matches_as_its_lazy_regular_expression_did(msgid: str, text: str) -> None:
    _same(msgid, text)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_message_of_the_catalogue_and_the_sql_matches_as_before(data: st.DataObject) -> None:
    """The real templates, on texts made from their own fixed parts and random values."""
    msgids = [m for m, _ in _compiled()] + [t for _, t, _ in _sql()]
    msgid = data.draw(st.sampled_from(msgids))
    parts = _PLACEHOLDER.split(msgid)
    value = st.text(alphabet="ab '" + "".join(sorted(set(msgid)))[:12], max_size=6)
    text = "".join(p.replace("{{", "{").replace("}}", "}") if i % 2 == 0 else data.draw(value)
                   for i, p in enumerate(parts))
    _same(msgid, text)
    _same(msgid, text + data.draw(value))


def test_the_line_that_backtracked_is_refused_in_linear_work() -> None:
    """ATTACK19 J1's row line (a 999-character cell, then the valid units) against every
    template: each is a few ``str.find`` calls, so the whole sweep is cheap; the old patterns
    backtracked for seconds on it. Counted in searches, not timed."""
    cell = ("a " * 500)[:999]
    line = f"payments.csv row 2, field unit: unknown unit '{cell}'; valid units: 230800, 230881 or 230882"
    searches = 0
    real_find = str.find

    class Counting(str):
        def find(self, *a: object) -> int:      # type: ignore[override]
            nonlocal searches
            searches += 1
            return real_find(self, *a)          # type: ignore[arg-type]

    text = Counting(line)
    templates = [t for _, t in _compiled()] + [t for _, _, t in _sql()]
    for t in templates:
        t.match(text)
    # at most one search per placeholder of each template, whatever the line's length
    assert searches <= sum(len(t.names) for t in templates)


def test_a_quoted_reason_is_matched_a_bounded_number_of_times() -> None:
    """ATTACK19 J1's cross-role form: a refusal quoting another role's 2,000-character rejection
    reason. The matched template's value is localised again (``_value`` → ``_line``, two levels at
    most), so every template is tried a bounded number of times whatever the reason holds — each a
    linear match. Counted, not timed."""
    import pytest

    from cli import errors

    calls = 0
    real = errors.Template.match

    def counting(self: Template, text: str) -> dict[str, str] | None:
        nonlocal calls
        calls += 1
        return real(self, text)

    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(errors.Template, "match", counting)
        reason = ("a " * 1000)[:2000]
        message = (f"idempotency key 'j1-held' was held as entry 7 and rejected by rev ({reason}); "
                   "post it again under a new key")
        errors.localise(message, "held_rejected", "zh")
    finally:
        mp.undo()
    templates = len(_compiled()) + len(_sql())
    # the line, its values, theirs: each template tried about once a level, three levels at most
    assert 0 < calls <= 3 * templates, calls
