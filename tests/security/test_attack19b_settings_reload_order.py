"""ATTACK19b K2: fl._closed_year_settings judges each fl.setting row a region reload writes against
the state the rows before it left — not the state the reload ends in. A reload whose every year's
settings in force are the ledger's (the closed years' exactly as they were) is refused when it moves
a value from [settings] into a year table: the base key is written first (settings_from_year last,
migrate.region_settings), and at that moment 2023's threshold looks changed. The verdict reads the
versions one at a time the same way, so the guard switched off would not cure it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack7_rules import verdict
from tests.security.test_closed_year_settings import _ledger_2023_closed, _reads

pytestmark = pytest.mark.db


def _region(tmp_path: Path, base: dict[str, str], extra: str) -> Path:
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    lines = [f"{ln.split('=')[0].strip()} = {base[ln.split('=')[0].strip()]}" if ln.split("=")[0].strip() in base
             else ln for ln in text.splitlines()]
    p = tmp_path / "consolidated.toml"
    p.write_text("\n".join(lines) + "\n" + extra, "utf-8")
    return p


def test_k2_a_reload_that_keeps_every_closed_years_settings_is_taken(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """2023 closed with months_red_below 3 / months_yellow_below 6 ([settings]). The region's new
    file states the thresholds from 2024 on in [settings] (7 / 8) and keeps the old ones for the
    years before in a [settings.2021] table (the region's first year) — 2021-2023 read 3 / 6 as
    before, 2024 on 7 / 8: nothing closed changes, so the reload is taken and the verdict whole."""
    _ledger_2023_closed(ledger_db, tmp_path)
    before = _reads(ledger_db, 2023)
    f = _region(tmp_path, {"months_red_below": '"7"', "months_yellow_below": '"8"'},
                '\n[settings.2021]\nmonths_red_below = "3"\nmonths_yellow_below = "6"\n'
                '\n[settings.2024]\nmonths_red_below = "7"\nmonths_yellow_below = "8"\n')
    r = ledger_db.cli("init", "--region", str(f))
    assert r.exit_code == 0, r
    assert _reads(ledger_db, 2023) == before
    assert _reads(ledger_db, 2024)[0][0]["red_below"] == "7"
    assert verdict(ledger_db) == {}
