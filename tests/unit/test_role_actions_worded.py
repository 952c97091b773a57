"""(ATTACK21 N1) Every action a role refusal names reaches a Chinese user in Chinese.

``fl.require_role(ARRAY['finance'], 'record government payments')`` refuses with
``'{1} (role {2}) may not {3}; that needs the {4} role'``: the frame is a refusal of the SQL and
the roles are codes, but ``{3}`` is the caller's own English phrase. Each is a catalogue message
(``ledger.store.refusals.sql_role_actions``, extracted by ``make i18n``) that ``cli.errors`` puts in
place of ``{3}``. This sweep greps every ``require_role(`` of sql/*.sql itself and shows the refusal
it words in Chinese: a new action without its Chinese (or one the reader cannot read) fails here.

The same for the English literals the SQL passes to any refusal's placeholders (``coalesce(…,
'no such kind')``, ``CASE … THEN 'finance officer'``): each is shown in Chinese.
"""

from __future__ import annotations

import re

import pytest

from cli.errors import localise
from ledger.store.refusals import role_action_calls, sql_dir, sql_messages, sql_role_actions, sql_row_reasons

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")
CALL = re.compile(r"fl\.require_role\s*\(\s*ARRAY\s*\[[^\]]*\]\s*,", re.S)

# The values an action's variable part takes (the SQL expression -> every value it can have).
# A new variable part fails test_every_action_is_shown_in_chinese until it is listed here.
VARIABLE = {
    "p_action": ("confirm", "reject"),                               # fl._decider(p, 'confirm'|'reject')
    "replace(it.kind, '_', ' ')": ("fiscal arrears", "employer arrears", "government share"),  # not unpaid_claims
}


def _refusal(action: str) -> str:
    return f"u1 (role auditor) may not {action}; that needs the officer or reviewer or finance role"


def test_every_require_role_call_is_read() -> None:
    """The reader misses none: as many actions as calls with a role array, each read as a template."""
    calls = sum(len(CALL.findall(p.read_text("utf-8"))) for p in sql_dir().glob("*.sql"))
    found = sql_role_actions()
    assert len(found) == calls and calls > 100, (len(found), calls)
    unread = [f"{m.file}:{m.line}: {m.args}" for m in found if m.template == "?"]
    assert not unread, f"actions the reader cannot read: {unread}"


def _filled(template: str, args: tuple[str, ...]) -> list[str]:
    out = [template]
    for i, a in enumerate(args, start=1):
        assert a in VARIABLE, f"an action's variable part not in VARIABLE: {a!r} ({template!r})"
        out = [t.replace(f"{{{i}}}", v) for t in out for v in VARIABLE[a]]
    return [t.replace("{{", "{").replace("}}", "}") for t in out]


@pytest.mark.parametrize("template,args", sorted({(m.template, m.args) for m in sql_role_actions()}))
def test_every_action_is_shown_in_chinese(template: str, args: tuple[str, ...]) -> None:
    for action in _filled(template, args):
        text = _refusal(action)
        shown = localise(text, "permission_denied", "zh")
        assert CJK.search(shown) and not LATIN.search(shown.replace("u1", "")), (action, shown)
        assert localise(text, "permission_denied", "en") == text


def test_a_new_action_is_read_and_caught() -> None:
    """The reader reads a literal, a format and a concatenation; an action without its Chinese
    is shown in English (which the test above would catch)."""
    probe = ("u fl.app_user := fl.require_role(ARRAY['finance'], 'levy a brand new tax');\n"
             "PERFORM fl.require_role(ARRAY['reviewer'], format('clear %s now', replace(k, '_', ' ')));\n"
             "u := fl.require_role(ARRAY['officer', 'reviewer'], p_action || ' held entries');\n")
    read = [(m.template, m.args) for m in role_action_calls("probe.sql", probe)]
    assert read == [("levy a brand new tax", ()), ("clear {1} now", ("replace(k, '_', ' ')",)),
                    ("{1} held entries", ("p_action",))], read
    shown = localise(_refusal("levy a brand new tax"), "permission_denied", "zh")
    assert "levy a brand new tax" in shown, shown


# The English literals the SQL passes to a refusal's placeholders: a phrase of lower-case words
# (not a to_char format like 'YYYY-MM', a time zone, or a fragment joined to another value).
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_PHRASE = re.compile(r"[a-z]{2,}(?:[ ']+[a-z]{2,})+")


def _phrases() -> list[tuple[str, str, int, str]]:
    out = set()
    for m in (*sql_messages(), *sql_row_reasons()):
        for i, a in enumerate(m.args, start=1):
            for lit in _LITERAL.findall(a):
                lit = lit.replace("''", "'")
                if _PHRASE.fullmatch(lit):
                    out.add((m.template, m.rule, i, lit))
    return sorted(out)


def test_the_literal_sweep_finds_the_known_ones() -> None:
    found = {p[3] for p in _phrases()}
    assert {"no such kind", "finance officer", "this transaction", "government shares still owed"} <= found, found


@pytest.mark.parametrize("template,rule,at,phrase", _phrases())
def test_every_english_literal_of_a_refusal_is_shown_in_chinese(template: str, rule: str, at: int,
                                                                 phrase: str) -> None:
    values = {i: f"70{i:02d}" for i in range(1, 10)}
    values[at] = phrase
    text = re.sub(r"\{(\d+)\}", lambda x: values[int(x.group(1))], template).replace("{{", "{").replace("}}", "}")
    shown = localise(text, rule or "bad_file", "zh")
    assert phrase not in shown and CJK.search(shown), (phrase, shown)
