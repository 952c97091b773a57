"""Every command has help text and the reference in docs/cli.md is the commands' own help."""

from __future__ import annotations

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
