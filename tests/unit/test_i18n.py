"""The message catalogue: every message has its Chinese translation, translations keep
their placeholders, the language is chosen in the documented order, and the CLI's own
texts go through the catalogue (no English sentence printed around it)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from cli import catalogue
from ledger import i18n

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template():
    return catalogue.template()


def test_every_message_has_a_chinese_translation(template):
    """When this fails: `make i18n`, then translate the new entries of
    ledger/locale/zh/LC_MESSAGES/fundledger.po (msgstr) and commit both files."""
    assert len(template) > 300  # help texts, messages, codes: the extraction found them
    missing = catalogue.missing("zh", template)
    assert missing == [], f"{len(missing)} message(s) without a Chinese translation: {missing[:20]}"


def test_every_message_is_in_the_english_catalogue(template):
    """English is the source language: en.po lists every message (an empty msgstr is the
    message itself), so a translator sees the whole set."""
    en = catalogue._read("en")
    absent = [m.id for m in template if m.id and m.id not in en]
    assert absent == [], "run `make i18n`: " + repr(absent[:20])


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def test_translations_keep_their_placeholders():
    zh = catalogue._read("zh")
    bad = [(m.id, m.string) for m in zh if m.id and m.string and _fields(str(m.id)) != _fields(str(m.string))]
    assert bad == []


def test_rich_markup_survives_translation():
    zh = catalogue._read("zh")
    tag = re.compile(r"\[/?[a-z ]+\]")
    bad = [(m.id, m.string) for m in zh if m.id and m.string and m.id != "[required]"  # Typer's, not markup
           and sorted(tag.findall(str(m.id))) != sorted(tag.findall(str(m.string)))]
    assert bad == []


@pytest.mark.parametrize(("cli", "env", "want"), [
    (None, {}, "zh"),
    (None, {"LANG": "C.UTF-8"}, "zh"),                      # CI: no language named → Chinese
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
    (None, {"LC_ALL": "C", "LANG": "en_US.UTF-8"}, "zh"),  # LC_ALL wins, and names no language
    (None, {"LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"LANG": "fr_FR.UTF-8"}, "zh"),
    (None, {"FUNDLEDGER_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    ("zh", {"FUNDLEDGER_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
    ("en", {}, "en"),
])
def test_language_precedence(cli, env, want):
    assert i18n.resolve(cli, env) == want


def test_an_unknown_language_is_refused():
    with pytest.raises(i18n.UnknownLanguage):
        i18n.resolve("fr", {})
    with pytest.raises(i18n.UnknownLanguage):
        i18n.resolve(None, {"FUNDLEDGER_LANG": "de"})


def test_codes_shown_to_people():
    assert [i18n.code_text(c, "zh") for c in ("red", "yellow", "green", "excess")] == ["红", "黄", "绿", "结余过多"]
    assert i18n.code_text("excess", "en") == "excess"
    assert i18n.code_text("unpaid_claims", "zh") == "欠付定点医药机构费用"
    assert i18n.codes_text("negative_share, running_deficit", "zh") == "专户份额为负、本年累计赤字"
    assert i18n.code_text("no_such_code", "zh") == "no_such_code"
    assert i18n.code_text("Dr", "zh") == "借" and i18n.code_text("Cr", "en") == "Cr"


# ---- the CLI prints nothing in English outside the catalogue ----------------------------

PRINTERS = {"print", "table", "BadInput", "print_table", "add_task"}
MARKUP = re.compile(r"\\?\[/?[a-z_ ]*\]")  # rich markup and escaped [rule_code]
WORD = re.compile(r"[A-Za-z]{3,}")
# Literal text allowed around translated parts: commands and file patterns a user types.
ALLOWED = re.compile(r"FUNDLEDGER_HOME|fundledger|json|xlsx|csv|png")


def _literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) + _literal_text(node.orelse)
    return ""


def test_cli_messages_go_through_the_catalogue():
    """A message printed by a command is ``_("…")`` (or built from translated parts).
    When this fails: wrap the text in ``_()`` from ledger.i18n, then `make i18n`."""
    offenders = []
    for path in sorted((ROOT / "cli").glob("*.py")):
        if path.name in ("catalogue.py", "docgen.py"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in PRINTERS or not node.args:
                continue
            text = ALLOWED.sub("", MARKUP.sub("", _literal_text(node.args[0])))
            if WORD.search(text):
                offenders.append(f"{path.name}:{node.lineno}: {text[:60]!r}")
    assert offenders == []
