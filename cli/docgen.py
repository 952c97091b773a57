"""Generate docs/cli.md from the commands' own ``--help`` so the reference cannot drift.

``python -m cli.docgen docs/cli.md`` writes it; a test regenerates it and compares."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer._click.core as click_core

from cli.main import full_app

app = full_app()

HEADER = """# Command reference

Generated from the commands' `--help` by `make docs` (`python -m cli.docgen docs/cli.md`);
a test fails when this file and the commands disagree. Every read command takes `--json`;
the keys are described in [reports.md](reports.md), [imports.md](imports.md),
[officers-guide.md](officers-guide.md) and [auditors-guide.md](auditors-guide.md).
Global option: `--as NAME` (or `FUNDLEDGER_USER`) says who is acting.
"""


def walk(cmd: Any, ctx: Any, path: list[str]) -> Iterator[tuple[list[str], Any, Any]]:
    yield path, cmd, ctx
    if isinstance(getattr(cmd, "commands", None), dict):
        for name in sorted(cmd.commands):
            sub = cmd.commands[name]
            if getattr(sub, "hidden", False):
                continue
            yield from walk(sub, click_core.Context(sub, info_name=name, parent=ctx), [*path, name])


def plain_help(cmd: Any, ctx: Any) -> str:
    """Click's plain-text help (Typer's rich help prints to the terminal instead)."""
    ctx.terminal_width, ctx.max_content_width = 100, 100  # stable output whatever the terminal
    formatter = ctx.make_formatter()
    click_core.Command.format_help(cmd, ctx, formatter)
    return str(formatter.getvalue()).rstrip()


def commands(lang: str = "en") -> list[tuple[list[str], Any, Any]]:
    from cli.localize import build

    root = build(app, lang)
    return list(walk(root, click_core.Context(root, info_name="fundledger"), []))


HEADER_ZH = """# 命令参考

由各命令的 `--help` 生成（`make docs`，即 `python -m cli.docgen docs/cli.md`）；本文件与命令不一致时测试失败。
英文版见 [cli.md](cli.md)。所有查询命令都有 `--json`。全局选项：`--as 用户名`（或 `FUNDLEDGER_USER`）指定操作人，
`--lang zh|en` 指定语言。
"""


def render(lang: str = "en") -> str:
    parts = [HEADER if lang == "en" else HEADER_ZH]
    for path, cmd, ctx in commands(lang):
        title = " ".join(["fundledger", *path])
        parts.append(f"\n## `{title}`\n\n```text\n{plain_help(cmd, ctx)}\n```\n")
    return "".join(parts)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "docs/cli.md")
    out.write_text(render("en"), "utf-8")
    zh = out.with_name(out.stem + ".zh" + out.suffix)
    zh.write_text(render("zh"), "utf-8")
    print(f"wrote {out} and {zh}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
