"""The officers' guide cannot drift, in English (docs/officers-guide.md, a wide terminal)
nor in Chinese (docs/officers-guide.zh.md, the default language, 80 columns): every
``$ fundledger …`` line of its ```console blocks is run, in order, against a fresh ledger
(from tests/acceptance, where the guide's ``data/…`` files live). A command whose
documented output shows ``error [`` (``错误 [``) must fail with exit code 1, every other
must succeed (``monitor`` may say 3: a unit is red), and every amount printed in the
guide (``1,234.56``) must appear in what the command prints now, and a refusal's first line
(``error [rule]: …``) word for word.

Regenerate the outputs after changing the guide's commands or the CLI's rendering:
``FUNDLEDGER_REGEN_GUIDE=1 .venv/bin/pytest -p no:xdist tests/acceptance/test_officers_guide.py``
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
GUIDES = {"en": (ROOT / "docs" / "officers-guide.md", {"FUNDLEDGER_LANG": "en", "COLUMNS": "120"}),
          "zh": (ROOT / "docs" / "officers-guide.zh.md", {"FUNDLEDGER_LANG": "", "COLUMNS": "80", "LANG": "C.UTF-8",
                                                           "LC_ALL": "", "LC_MESSAGES": ""})}
BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)
AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})*\.\d{2}\b")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def steps(block: str) -> list[tuple[str, str]]:
    """(command, documented output) pairs of one console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return [(cmd, "\n".join(lines)) for cmd, lines in out]


@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_guide_commands_run(ledger_db, monkeypatch, lang):
    guide, env = GUIDES[lang]
    text = guide.read_text("utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 5, "the guide lost its console blocks"
    monkeypatch.chdir(ROOT / "tests" / "acceptance")
    regen = bool(os.environ.get("FUNDLEDGER_REGEN_GUIDE"))
    new_blocks = []
    ran = 0
    for block in blocks:
        new_lines: list[str] = []
        for cmd, documented in steps(block):
            args = shlex.split(cmd)
            assert args[0] == "fundledger", cmd
            r = ledger_db.cli(*args[1:], env=env)
            printed = "\n".join(line.rstrip() for line in (r.stdout + r.stderr).rstrip().splitlines())
            printed = printed.replace(str(ROOT / "tests" / "acceptance") + os.sep, "")
            ran += 1
            if regen:
                new_lines += [f"$ {cmd}", printed] if printed else [f"$ {cmd}"]
                continue
            expect = {1} if ("error [" in documented or "错误 [" in documented) else {0}
            if args[1:2] == ["--as"] and "monitor" in args:
                expect |= {3}
            assert r.exit_code in expect, (cmd, r)
            if lang == "zh":
                assert "…" not in printed, (cmd, printed)
            # a refusal reads as the guide shows it, word for word: a Chinese refusal that fell back to
            # "数据库拒绝了本次操作（rule）：" + English (year_closed, readme) kept every amount
            refusals = [x.rstrip() for x in documented.splitlines() if x.startswith(("error [", "错误 ["))]
            assert all(x in printed for x in refusals), (cmd, refusals, printed)
            if lang == "zh":
                assert "数据库拒绝了本次操作" not in printed, (cmd, printed)
            missing = [a for a in AMOUNT.findall(documented) if a not in printed]
            assert not missing, (cmd, missing, printed)
            assert bool(printed) == bool(documented.strip()), (cmd, printed)
        new_blocks.append("\n".join(new_lines) + "\n")
    assert ran >= 20
    if regen:
        it = iter(new_blocks)
        guide.write_text(BLOCK.sub(lambda m: "```console\n" + _STAMP.sub("2024-04-01 09:00:00", next(it)) + "```",
                                   text), "utf-8")
    else:
        # Whatever the guide did, the auditor finds the ledger whole.
        v = ledger_db.cli("verify", "--json", user="aud")
        assert v.exit_code == 0 and v.json()["ok"] is True, v
