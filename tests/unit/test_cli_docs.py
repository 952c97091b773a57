"""Every command has help text and the reference in docs/cli.md is the commands' own help."""

from __future__ import annotations

import re
from pathlib import Path

from cli.docgen import commands, plain_help, render

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_command_has_help():
    missing = [" ".join(p) or "fundledger" for p, cmd, _ in commands() if not (cmd.help or "").strip()]
    assert missing == []
    bare = [f"{' '.join(p)} {prm.name}" for p, cmd, _ in commands() for prm in cmd.params
            if not getattr(prm, "hidden", False) and not (getattr(prm, "help", None) or "").strip()]
    assert bare == [], "every option and argument says what it is for"
    for p, cmd, ctx in commands():
        assert "Usage: fundledger" in plain_help(cmd, ctx), p


def test_reference_matches_the_commands():
    """Regenerate with `make docs` when this fails."""
    assert (DOCS / "cli.md").read_text("utf-8") == render("en")
    assert (DOCS / "cli.zh.md").read_text("utf-8") == render("zh")


def test_help_is_chinese_by_default_and_has_no_bool_noise():
    zh = render("zh")
    assert "显示本帮助并退出。" in zh and "Show this message" not in zh
    assert "<bool>" not in zh and "<bool>" not in render("en")


def test_core_commands_of_the_issues_exist():
    have = {" ".join(p) for p, _, _ in commands()}
    for c in ["init", "db status", "db start", "db stop", "db url", "user add", "entry post", "entry show",
              "entry reverse", "journal", "account list", "balance", "report trial-balance", "close period",
              "demo"]:
        assert c in have, c


CJK = re.compile(r"[\u4e00-\u9fff]")


def _texts(lang: str) -> list[tuple[str, str]]:
    """(where, text) of every command's and every visible option's help in ``lang``."""
    out = []
    for p, cmd, _ in commands(lang):
        where = " ".join(["fundledger", *p])
        out.append((where, cmd.help or ""))
        out.extend((f"{where} {prm.name}", prm.help or "") for prm in cmd.params
                   if not getattr(prm, "hidden", False) and getattr(prm, "help", None))
    return out


def test_english_help_has_no_chinese_and_chinese_help_no_english_sentence():
    """Issue 17: `--lang en` shows no Chinese (no glosses like "(记账凭证)" in the English
    text: the Chinese is the zh translation), and every Chinese help text is translated."""
    chinese_in_en = [(w, t[:50]) for w, t in _texts("en") if CJK.search(t)]
    assert chinese_in_en == []
    english_in_zh = [(w, t[:50]) for w, t in _texts("zh") if t and not CJK.search(t)]
    assert english_in_zh == []
