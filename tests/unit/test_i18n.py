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


# ---- refusals worded by PostgreSQL and the library, shown in Chinese ---------------------

def test_every_refusal_pattern_round_trips():
    from cli.errors import PATTERNS, USAGE, localise

    for msgid in (*PATTERNS, *USAGE):
        names = sorted(_fields(msgid))
        english = msgid.format(**{n: f"<{n}{i}>" for i, n in enumerate(names)})
        chinese = localise(english, "any", "zh")
        assert chinese != english, msgid
        assert all(f"<{n}{i}>" in chinese for i, n in enumerate(names) if n not in ("state", "action")), (msgid, chinese)


def test_refusals_in_chinese():
    from cli.errors import localise

    assert (localise("o22 is an officer of unit 230822 and may not submit requests for unit 230881",
                     "permission_denied", "zh") == "o22 是单位 230822 的经办员，不能为单位 230881 提交用款申请")
    said = localise("request 2 is rejected; it cannot be approved (rejected is final; nothing more can happen to it)",
                    "illegal_state", "zh")
    assert said == "用款申请 2 状态为“已驳回”，不能变为“已批准”（“已驳回”是最终状态，不能再做任何处理）"
    block = "a.csv: refused, nothing written (2 problem(s)):\n  a.csv: row 2, column amount: bad\n  a.csv: row 3: worse"
    assert localise(block, "bad_file", "zh").splitlines() == [
        "a.csv：整批拒绝，未写入任何数据（2 个问题）：", "  a.csv：第 2 行，amount 列：bad", "  a.csv：第 3 行：worse"]
    row = ("a.csv: refused, nothing written (1 problem(s)):\n"
           "  a.csv: row 2, column amount: '12,34.5' is not an amount in yuan with at most two decimals (like 1,234.56)")
    assert localise(row, "bad_file", "zh").splitlines()[1] == (
        "  a.csv：第 2 行，amount 列：“12,34.5”不是金额（元，最多两位小数，例如 1,234.56）")
    assert localise("something new", "permission_denied", "zh") == "无权操作：something new"
    assert localise("something new", "permission_denied", "en") == "something new"
    # a refusal the library worded in Chinese needs no label; one that is still English keeps it
    assert localise("“-5”是负数；金额必须为正数", "amount_format", "zh") == "“-5”是负数；金额必须为正数"
    assert localise("账套 甲 has no such account here", "not_found", "zh") == "未找到：账套 甲 has no such account here"


def test_the_command_line_in_either_language():
    from tests.conftest import run_cli

    zh = {"FUNDLEDGER_LANG": "", "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "COLUMNS": "80"}
    r = run_cli(["--help"], url=None, env=zh)
    assert r.exit_code == 0 and "用法：fundledger" in r.stdout and "显示本帮助并退出" in r.stdout
    assert "<bool>" not in r.stdout and "…" not in r.stdout
    r = run_cli(["--lang", "en", "request", "submit", "--help"], url=None, env=zh)
    assert "Usage: fundledger request submit" in r.stdout and "用法" not in r.stdout
    r = run_cli(["reqest"], url=None, env=zh)
    assert r.exit_code == 2 and "没有这个命令：reqest" in r.stderr
    r = run_cli(["forecast", "--yeer", "2024"], url=None, env=zh)   # (ATTACK21) Click's suggestion too
    assert r.exit_code == 2 and "没有这个选项：--yeer （可用的选项：--years）" in r.stderr, r.stderr
    r = run_cli(["request", "list", "--year", "abc"], url=None, env=zh)
    assert r.exit_code == 2 and "--year 的值无效：“abc”不是有效的整数" in r.stderr
    r = run_cli(["--version"], url=None, env=zh)
    assert r.exit_code == 0 and r.stdout.startswith("fundledger ")
    r = run_cli(["--lang", "fr", "--help"], url=None, env=zh)
    assert r.exit_code == 1 and "--lang 须为 zh 或 en" in r.stderr


def _parse(mo: Path):  # type: ignore[no-untyped-def]
    import gettext
    import io

    return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_parsed_form_is_what_gettext_parses(lang, monkeypatch, tmp_path):
    """The build writes each .mo's parsed form beside it (``write_parsed``), and start-up
    loads that instead of parsing the .mo — the same catalogue, headers and plural rule,
    without gettext's parser running at all."""
    import gettext
    import shutil

    mo = tmp_path / "fundledger.mo"
    shutil.copyfile(catalogue.mo_path(lang), mo)
    i18n.write_parsed(mo)
    want = _parse(mo)

    def no_parse(self, fp):  # type: ignore[no-untyped-def]
        raise AssertionError("parsed the .mo although its parsed form is current")

    monkeypatch.setattr(gettext.GNUTranslations, "_parse", no_parse)
    got = i18n._from_mo(mo)
    assert got._catalog == want._catalog
    assert (got._info, got._charset) == (want._info, want._charset)
    assert [got.plural(n) for n in range(4)] == [want.plural(n) for n in range(4)]
    assert [got.ngettext("a", "b", n) for n in range(3)] == [want.ngettext("a", "b", n) for n in range(3)]


def _compile(mo: Path, translations: dict[str, str]) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    cat = Catalog(locale="zh", domain=i18n.DOMAIN, charset="utf-8")
    for k, v in translations.items():
        cat.add(k, v)
    with mo.open("wb") as f:
        write_mo(f, cat)


def test_a_stale_parsed_form_is_ignored(tmp_path):
    """A .mo compiled again without its parsed form (msgfmt, a hand-run babel, a copy) is
    parsed, never answered from the old form: the form names the bytes it was made from."""
    mo = tmp_path / "fundledger.mo"
    _compile(mo, {"total": "合计"})
    i18n.write_parsed(mo)
    assert i18n._from_mo(mo).gettext("total") == "合计"
    _compile(mo, {"total": "总计"})                       # same length in bytes, other text
    assert i18n._from_mo(mo).gettext("total") == "总计"
    i18n.parsed_path(mo).write_bytes(b"not a parsed form")
    assert i18n._from_mo(mo).gettext("total") == "总计"
    i18n.parsed_path(mo).unlink()
    assert i18n._from_mo(mo).gettext("total") == "总计"
