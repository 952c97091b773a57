"""The region file's [settings.YEAR] tables and the settings in force for a year (0162, F9c):
an old file loads unchanged; a year's table changes the keys it names from that year on; a key a
year does not take, a table that is no table, or a year's ranges that do not rise are refused,
naming the table."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources

import pytest

from ledger.core.region import load_region, parse_region
from ledger.core.year_settings import in_force
from ledger.errors import BadInput
from ledger.store.migrate import region_settings


def _doc(extra: str = "") -> dict[str, object]:
    return tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8") + extra)


def test_an_old_region_file_loads_unchanged() -> None:
    r = load_region()
    assert r.settings.from_year == () and r.settings.for_year(2030) == r.settings
    s = region_settings(r)
    assert s["settings_from_year"] == {}
    assert s["months_red_below"] == "3" and s["performance_weights"]["requests_vs_spending"] == "10"


def test_a_years_table_changes_its_keys_from_that_year_on() -> None:
    r = parse_region(_doc('\n[settings.2026]\nmonths_red_below = "4"\n'
                          '[settings.2025]\nbudget_surplus_max_pct = "6"\nperformance_weights = { balance_rate = 20 }\n'),
                     "x.toml")
    st = r.settings
    assert [y for y, _t in st.from_year] == [2025, 2026]
    assert st.for_year(2024).months_red_below == 3 and st.for_year(2024).budget_surplus_max_pct == 5
    assert st.for_year(2025).budget_surplus_max_pct == 6 and st.for_year(2025).months_red_below == 3
    assert st.for_year(2026).months_red_below == 4 and st.for_year(2027).budget_surplus_max_pct == 6
    assert st.for_year(2025).performance_weights["balance_rate"] == 20
    assert st.for_year(2025).performance_weights["months_payable"] == 15     # left out: its default
    stored = region_settings(r)
    assert stored["settings_from_year"]["2026"] == {"months_red_below": "4"}
    # what the readers and the guard read from fl.setting, year by year
    assert in_force(stored, 2024)["months_red_below"] == Decimal(3)
    assert in_force(stored, 2026)["months_red_below"] == Decimal(4)
    assert in_force(stored, 2026)["budget_surplus_max_pct"] == Decimal(6)
    assert in_force(stored, 2024) == in_force({}, 2024)                      # the defaults, as the file's


@pytest.mark.parametrize(("extra", "words"), [
    ('\n[settings.2026]\nfirst_year = 2022\n', "first_year"),
    ('\n[settings.2026]\nmonths_red_below = "x"\n', "months_red_below"),
    ('\n[settings.2026]\nmonths_red_below = "7"\n', "[settings.2026]"),
    ('\n[settings.2026]\nbalance_rate_red_below = "1"\n', "[settings.2026]"),
    ('\n[settings.2026]\nbudget_surplus_min_pct = "6"\n', "[settings.2026]"),
    ('\n[settings.2026]\nperformance_weights = { nope = 1 }\n', "nope"),
    ('\n[settings.2026]\nfinal_accounts_eliminate = [["4401", "5302"]]\n', "final_accounts_eliminate"),
    ('\n[settings.1900]\nmonths_red_below = "2"\n', "[settings.1900]"),
])
def test_a_years_table_is_checked_as_settings_are(extra: str, words: str) -> None:
    with pytest.raises(BadInput) as e:
        parse_region(_doc(extra), "x.toml")
    assert words in e.value.message, e.value.message


def test_a_years_settings_that_are_no_table_are_refused() -> None:
    doc = _doc()
    doc["settings"]["2026"] = 5   # type: ignore[index]
    with pytest.raises(BadInput, match=r"\[settings.2026\]"):
        parse_region(doc, "x.toml")
