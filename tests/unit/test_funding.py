"""The funding-standard rule (ledger/core/funding.py): exact comparisons, the ratio's edge,
and the region file's [[funding_standards]] refused with the field named."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.funding import DEFAULT_STANDARDS, FundingStandard, funding_line, parse_standards
from ledger.core.region import load_region
from ledger.errors import BadInput
from tests.helpers import use_lang


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the library's English wording; its refusals are catalogue messages, Chinese by default."""
    with use_lang("en"):
        yield

STD_2022 = FundingStandard(2022, "RES", 96000, 61000, 35000, Decimal(2))


def test_one_fen_short_in_total_is_below_standard_though_each_person_rounds_to_610() -> None:
    """1,000,000 insured, subsidy 609,999,999.99 yuan: 609.99999999 per person reads 610.00,
    but 610 × 1,000,000 = 610,000,000.00 > 609,999,999.99: below standard."""
    line = funding_line("230822", "RES", 2022, 1_000_000, 60_999_999_999, 35_000_000_000, STD_2022)
    assert line.subsidy_per_insured == 61000
    assert "subsidy_below_standard" in line.flags and "total_below_standard" in line.flags


def test_ratio_exactly_two_is_within_and_one_fen_more_is_out() -> None:
    """700.00 : 350.00 is 2 : 1 (within); 700.01 : 350.00 is above it."""
    assert "ratio_out_of_range" not in funding_line("u", "RES", 2022, 1, 70000, 35000, STD_2022).flags
    assert "ratio_out_of_range" in funding_line("u", "RES", 2022, 1, 70001, 35000, STD_2022).flags
    # a subsidy with no contributions at all has no ratio and is out of range
    line = funding_line("u", "RES", 2022, 1, 70000, 0, STD_2022)
    assert line.ratio is None and "ratio_out_of_range" in line.flags


def test_no_headcount_says_nothing_per_person() -> None:
    line = funding_line("u", "RES", 2022, None, 61000, 35000, STD_2022)
    assert line.flags == ("no_headcount",)
    assert (line.subsidy_per_insured, line.total_per_insured) == (None, None)
    assert funding_line("u", "RES", 2022, 0, 61000, 35000, STD_2022).flags == ("no_headcount",)


@given(n=st.integers(1, 10_000_000), s=st.integers(0, 10**13), i=st.integers(0, 10**13))
def test_flags_are_the_exact_comparisons(n: int, s: int, i: int) -> None:
    """Each flag agrees with the comparison in exact rational arithmetic."""
    flags = funding_line("u", "RES", 2022, n, s, i, STD_2022).flags
    assert ("subsidy_below_standard" in flags) == (Fraction(s, n) < 610 * 100)
    assert ("individual_below_standard" in flags) == (Fraction(i, n) < 350 * 100)
    assert ("total_below_standard" in flags) == (Fraction(s + i, n) < 960 * 100)
    assert ("ratio_out_of_range" in flags) == (s > 0 and (i == 0 or Fraction(s, i) > 2))


def test_the_default_region_carries_2022() -> None:
    stds = load_region().settings.funding_standards
    s22 = next(s for s in stds if s.year == 2022)
    assert (s22.book, s22.per_insured, s22.subsidy_min, s22.individual, s22.ratio_max) == (
        "RES", 96000, 61000, 35000, Decimal(2))
    assert parse_standards([]) == DEFAULT_STANDARDS


@pytest.mark.parametrize(("item", "words"), [
    ({"year": 2022, "per_insured": "960", "subsidy_min": "610"}, "'individual'"),
    ({"year": 1800, "per_insured": "960", "subsidy_min": "610", "individual": "350"}, "'year'"),
    ({"year": 2022, "per_insured": "960", "subsidy_min": "6.101", "individual": "350"}, "'subsidy_min'"),
    ({"year": 2022, "per_insured": "900", "subsidy_min": "610", "individual": "350"}, "exceeds per_insured"),
    ({"year": 2022, "per_insured": "960", "subsidy_min": "610", "individual": "350", "ratio_max": "-1"},
     "'ratio_max'"),
])
def test_a_bad_standard_is_refused_naming_the_field(item: dict, words: str) -> None:
    with pytest.raises(BadInput) as e:
        parse_standards([item], "city.toml")
    assert "city.toml: funding_standards[1]" in e.value.message or "funding standard 2022" in e.value.message
    assert words in e.value.message


def test_standards_by_year_reads_the_setting_as_0150s_guard_does() -> None:
    """``standards_by_year`` (the verdict's reading of a funding_standards version) takes numbers
    as numbers, RES as the default book and the built-in 2022 standard when none is stored."""
    from ledger.core.funding import standards_by_year

    a = standards_by_year([{"year": 2023, "per_insured": "1020", "subsidy_min": "640", "individual": "380"}])
    b = standards_by_year([{"year": "2023", "book": "res", "per_insured": 1020, "subsidy_min": "640.00",
                            "individual": "380.0", "ratio_max": "2"}])
    assert a == b and set(a) == {(2023, "RES")}
    assert standards_by_year([]) == standards_by_year(None) == standards_by_year(
        [{"year": 2022, "book": "RES", "per_insured": "960", "subsidy_min": "610", "individual": "350"}])
    assert standards_by_year({"year": 2023}) == {}
    assert standards_by_year([{"year": 2023, "per_insured": "1020", "subsidy_min": "640", "individual": "381"}]) != a
