"""ATTACK17b F7 (LOW, regression): the region reader now refuses any key it does not read, and the
previous release's own default region file carries one — ``interest_rounding`` in ``[settings]``,
dropped from the default this morning. Every region file a deployment copied from that default
(docs/region.md told them to start from it), and the copy the auditors keep for
``verify --region FILE``, is now refused: ``init --region`` (the upgrade command) and the auditor's
``verify --region`` stop with bad_input until someone edits a file the auditor is meant to keep
as it was.

Safe behaviour asserted: the previous release's default file still loads (a retired key is
accepted, optionally with a warning naming it as retired), while a misspelt key is still refused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ledger.core.region import load_region
from ledger.errors import BadInput


def _previous_default(tmp_path: Path) -> Path:
    text = subprocess.run(["git", "show", "fdecaa3^:ledger/data/jiamusi.toml"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2]).stdout
    if "interest_rounding" not in text:       # outside a git checkout: the line as the file had it
        text = (Path(__file__).resolve().parents[2] / "ledger/data/jiamusi.toml").read_text("utf-8").replace(
            "import_stage_max_mb = 1024", 'import_stage_max_mb = 1024\ninterest_rounding = "largest-remainder"', 1)
    p = tmp_path / "jiamusi-previous.toml"
    p.write_text(text, "utf-8")
    return p


def test_the_previous_releases_default_region_file_still_loads(tmp_path: Path) -> None:
    p = _previous_default(tmp_path)
    assert "interest_rounding" in p.read_text("utf-8")
    # On main: BadInput "[settings]: unknown key 'interest_rounding'"
    region = load_region(p)
    assert region.code == "230800"


def test_a_misspelt_key_is_still_refused(tmp_path: Path) -> None:
    p = _previous_default(tmp_path)
    p.write_text(p.read_text("utf-8").replace("first_year", "frist_year", 1), "utf-8")
    with pytest.raises(BadInput):
        load_region(p)
