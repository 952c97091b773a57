"""ledger.core.jsonfast.loads gives json.loads's value, or its exception, on every text."""

from __future__ import annotations

import json
import math

import pytest

from ledger.core import jsonfast

CASES = [
    '{"id": 1, "book": "RES", "memo": "结算 settlement", "units": ["230800"], "source": null}',
    '{"a": 1, "a": 2}', "1.5e-400", "1E2", "-0", "-0.0", "0.1", "1.7976931348623157e308", "5e-324",
    "2.2250738585072011e-308", "18446744073709551615", "9223372036854775807", "-9223372036854775808",
    # orjson reads these as floats: the standard parser keeps the exact integer
    "123456789012345678901234567890", "-9223372036854775809", "18446744073709551616",
    "[[[1, 2.5]]]", '{"a": {"b": [1, {"c": 1e2}]}}', '[{"a": [18446744073709551617]}]',
    '{"amount": 100000000000000000000000}', '["1234567890123456789", 1234567890123456789]',
    # orjson refuses these: the standard parser's value
    "1e400", "-1e400", '"\\ud800"', " [1] ", '"\\u0000"', '{"k": "\\u00e9\\n"}',
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and repr(a) == repr(b)


@pytest.mark.parametrize("text", CASES)
def test_the_value_is_the_standard_parsers(text: str) -> None:
    assert _same(jsonfast.loads(text), json.loads(text))


def test_nan_and_infinity_as_the_standard_parser_reads_them() -> None:
    assert math.isnan(jsonfast.loads("NaN"))
    assert jsonfast.loads("Infinity") == math.inf


@pytest.mark.parametrize("text", ['"a\tb"', "\ufeff1", "{", "", "[1,]", "{'a': 1}"])
def test_what_the_standard_parser_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        jsonfast.loads(text)


def test_nesting_past_the_depth_is_the_standard_parsers_recursion_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)
    with pytest.raises(RecursionError):
        jsonfast.loads(deep)


INT_LISTS = [b"1,2", b"-0,5", b"0", b"007,1", b"1,,2", b"-", b"", b",", b"5,", b",5", b"--1", b"1-2", b" 5,1", b"5 ,1",
             b"1_000,2", b"+5,1", b"1e5", b"1.5,2", b"9223372036854775807,-9223372036854775808",
             b"18446744073709551615,1", b"18446744073709551616,1", b"1,18446744073709551616",
             b"99999999999999999999999999,-99999999999999999999999999", b"\xd9\xa3,1", b"1\x00,2"]


@pytest.mark.parametrize("text", INT_LISTS)
def test_int_list_is_ints_list_or_its_error(text: bytes) -> None:
    """The grouped postings' amounts parsed in one orjson call give ``int``'s list exactly,
    or ``int``'s ValueError (a past-64-bit value is never a float)."""
    try:
        want: object = list(map(int, text.split(b",")))
    except ValueError:
        with pytest.raises(ValueError):
            jsonfast.int_list(text)
        return
    got = jsonfast.int_list(text)
    assert got == want and all(type(x) is int for x in got)


def test_int_list_on_random_amounts() -> None:
    import random
    rng = random.Random(15)
    for _ in range(2000):
        vals = [rng.choice([rng.randint(-10**6, 10**6), rng.randint(-2**63, 2**63 - 1), rng.randint(-10**30, 10**30)])
                for _ in range(rng.randint(1, 120))]
        text = b",".join(str(v).encode() for v in vals)
        assert jsonfast.int_list(text) == vals
