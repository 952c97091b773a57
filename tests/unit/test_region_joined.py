"""A unit's ``joined`` in the region file (0154, ATTACK17b F1): the day the unit joined the pooled
fund, registered with it. A date (TOML's own or "YYYY-MM-DD") no earlier than the first year is
taken; absent, None (init's default); anything else is refused naming the file, the unit's table and
the key — never a traceback, never a value read some other way."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.region import parse_region
from ledger.errors import BadInput


def _doc() -> dict[str, Any]:
    return tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))


def _with(joined: object) -> dict[str, Any]:
    doc = _doc()
    doc["units"][2]["joined"] = joined
    return doc


def test_absent_is_none_and_the_default_file_names_none() -> None:
    assert {u.joined for u in parse_region(_doc(), "jiamusi.toml").units} == {None}


@pytest.mark.parametrize(("value", "day"), [(dt.date(2023, 3, 1), dt.date(2023, 3, 1)),
                                            ("2023-03-01", dt.date(2023, 3, 1)),
                                            (" 2021-01-01 ", dt.date(2021, 1, 1))])
def test_a_date_is_taken(value: object, day: dt.date) -> None:
    assert parse_region(_with(value), "r.toml").units[2].joined == day


def test_a_date_before_the_first_year_is_refused() -> None:
    with pytest.raises(BadInput) as e:
        parse_region(_with(dt.date(2020, 12, 31)), "r.toml")
    assert "r.toml: units[3] (230882)" in e.value.message and "first_year 2021" in e.value.message


def test_the_file_parsed_as_toml_takes_a_bare_date() -> None:
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8").replace(
        'name_en = "Fujin"', 'name_en = "Fujin"\njoined = 2024-07-01', 1)
    assert parse_region(tomllib.loads(text), "r.toml").units[2].joined == dt.date(2024, 7, 1)


_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
                    st.datetimes(), st.times(), st.dates(), st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                    st.dates().map(lambda d: d.isoformat()), st.dates().map(lambda d: d.strftime("%Y%m%d")))


@settings(max_examples=300, deadline=None)
@given(_values)
def test_any_value_is_a_date_from_the_first_year_or_refused_naming_file_table_and_key(value: object) -> None:
    try:
        got = parse_region(_with(value), "r.toml").units[2].joined
    except BadInput as e:
        assert "r.toml: units[3] (230882)" in e.message and "'joined'" in e.message, e.message
        return
    assert isinstance(got, dt.date) and not isinstance(got, dt.datetime) and got.year >= 2021
    if isinstance(value, str):
        assert got.isoformat() == value.strip()
    else:
        assert got == value
