"""ATTACK16 C4 (unknown keys): a region file's key the reader does not read was silently ignored —
``months_red_belw = "4"`` (a typo) left the red threshold at its default without a word, and the
default file itself carried ``interest_rounding``, read by nothing (the interest shares are always
the largest-remainder rule).

Safe behaviour asserted: a key unknown in any table of the file is refused (``bad_input``), naming
the file, the table, the key and the known keys, in Chinese first; every region file in the
repository and every fixture the tests write still loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.core import region
from ledger.core.region import load_region
from ledger.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "ledger" / "data" / "jiamusi.toml").read_text(encoding="utf-8")


def _after(header: str, line: str) -> str:
    text, n = re.subn(rf"(?m)^{re.escape(header)}$", f"{header}\n{line}", BASE, count=1)
    assert n == 1, header
    return text


CASES = {   # header, line added under it, the table named, the key, a known key the refusal lists
    "settings typo": ("[settings]", 'months_red_belw = "4"', "[settings]", "months_red_belw", "months_red_below"),
    "region": ("[region]", 'timezone = "Asia/Urumqi"', "[region]", "timezone", "time_zone"),
    "unit": ("[[units]]", 'kind_ = "county"', "units[1]", "kind_", "kind"),
    "book": ("[[books]]", 'pooled = "pooled"', "books[1]", "pooled", "pooled_component"),
    "plan": ("[[response_plans]]", 'day = 3', "response_plans[1]", "day", "days"),
    "standard": ("[[funding_standards]]", 'ratio = "2"', "funding_standards[1]", "ratio", "ratio_max"),
    # interest_rounding, which the previous release's default file carried, is a retired key: taken
    # unread (ATTACK17b F7, test_attack17b_region_retired_key.py); a misspelling of it is not
    "a misspelt retired key": ("[settings]", 'interest_rouding = "largest-remainder"', "[settings]",
                               "interest_rouding", "first_year"),
}


@pytest.mark.parametrize("header,line,table,key,known", list(CASES.values()), ids=list(CASES))
def test_an_unknown_key_is_refused_naming_file_table_key_and_known(tmp_path, header, line, table, key, known):
    f = tmp_path / "city.toml"
    f.write_text(_after(header, line), encoding="utf-8")
    with pytest.raises(BadInput) as e:
        load_region(f)
    msg = str(e.value)
    # Chinese first (the reader's default language): 未知的键“key”（可用：…）
    assert str(f) in msg and table in msg and f"“{key}”" in msg and "未知的键" in msg, msg
    assert re.search(rf"可用：.*\b{known}\b", msg), msg


def test_an_unknown_top_level_table_is_refused(tmp_path):
    f = tmp_path / "city.toml"
    f.write_text(BASE + "\n[setting]\nfirst_year = 2022\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"“setting”.*settings"):
        load_region(f)


@pytest.mark.db
def test_the_refusal_is_chinese_first_and_says_what_to_do(ledger_db, tmp_path):
    f = tmp_path / "city.toml"
    f.write_text(_after("[settings]", 'months_red_belw = "4"'), encoding="utf-8")
    r = ledger_db.cli("verify", "--region", str(f), user="aud", env={"FUNDLEDGER_LANG": "zh"})
    out = r.stdout + r.stderr
    assert r.exit_code == 1 and "bad_input" in r.stderr and "未知的键" in out and "months_red_belw" in out, out
    assert "请删去或改正" in out and str(f) in out and "Traceback" not in out


def test_every_region_file_in_the_repository_loads() -> None:
    files = [p for p in ROOT.rglob("*.toml") if ".venv" not in p.parts and p.name != "pyproject.toml"]
    assert files
    for p in files:
        load_region(p)
    assert "interest_rounding" not in BASE


def test_the_known_settings_are_what_the_reader_reads() -> None:
    """Every Settings field a file sets is in the list of known keys (and nothing else is)."""
    fields = set(region.Settings.__dataclass_fields__) - {"response_plans", "funding_standards", "adjustment_fund",
                                                          "from_year"}   # from_year: the [settings.YEAR] tables
    assert fields == region.SETTINGS_KEYS
    # (0162) a year's table takes the per-year keys, each a key of [settings]
    from ledger.core.year_settings import PER_YEAR

    assert set(PER_YEAR) <= region.SETTINGS_KEYS


def test_the_other_city_the_init_test_loads_still_loads(tmp_path) -> None:
    from tests.integration.test_init import OTHER_CITY

    f = tmp_path / "weihai.toml"
    f.write_text(OTHER_CITY, encoding="utf-8")
    assert load_region(f).code == "371000"
