"""ATTACK16 C4: a region file (TOML, as an office edits it) that the reader does not check crashes
the CLI with a Python traceback, or is taken with a meaning nobody wrote.

``ledger.core.region.parse_region`` checks some settings (``_year``, ``_bounded``, ``_decimal``'s
"must be a number") and not others:

* ``preallocation_months = "three"`` — ``int("three")``: ``ValueError`` escapes ``cli.main.run``
  (which catches ``LedgerError``, ``UnicodeError`` and ``RecursionError`` only): a traceback;
* ``months_red_below = nan`` (valid TOML) — ``Decimal('NaN')`` compared with ``<``:
  ``decimal.InvalidOperation``, a traceback;
* ``preallocation_months = 2.7`` is taken as 2 (``int()`` truncates), ``-3`` as minus three
  months; ``components = "pooled"`` (a string where a list belongs) is split into the six
  one-letter components p, o, o, l, e, d — each accepted without a word.

The file is hostile input to ``verify --region FILE`` (the auditor checks the database against the
region file the city published) and to ``init --region FILE``.

Safe behaviour asserted: each is refused as ``bad_input`` naming the setting, no traceback, and
nothing is read with a meaning the file does not say.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.core.region import load_region
from ledger.errors import BadInput

BASE = (Path(__file__).resolve().parents[2] / "ledger" / "data" / "jiamusi.toml").read_text(encoding="utf-8")


def _set(key: str, value: str) -> str:
    text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", BASE, count=1)
    assert n == 1, key
    return text


CASES = {
    "months as a word": ("preallocation_months", '"three"'),
    "months NaN": ("months_red_below", "nan"),
    "months with a fraction": ("preallocation_months", "2.7"),
    "months negative": ("preallocation_months", "-3"),
    "components as one string": ("components", '"pooled"'),
}


@pytest.mark.parametrize("key,value", list(CASES.values()), ids=list(CASES))
def test_a_hostile_region_setting_is_refused_in_words(tmp_path, key, value):
    f = tmp_path / "region.toml"
    f.write_text(_set(key, value), encoding="utf-8")
    # On main: ValueError / decimal.InvalidOperation escape, or the file loads (2, -3, p/o/o/l/e/d)
    with pytest.raises(BadInput):
        load_region(f)


@pytest.mark.db
@pytest.mark.parametrize("key,value", [CASES["months as a word"], CASES["months NaN"]], ids=["word", "nan"])
def test_verify_region_with_a_hostile_file_is_a_message_not_a_traceback(ledger_db, tmp_path, key, value):
    f = tmp_path / "region.toml"
    f.write_text(_set(key, value), encoding="utf-8")
    r = ledger_db.cli("verify", "--region", str(f), user="aud", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code == 1 and "bad_input" in r.stderr, r


MORE = {
    "months as a boolean": ("preallocation_months", "true"),
    "months zero": ("preallocation_months", "0"),
    "months thirteen": ("preallocation_months", "13"),
    "threshold infinite": ("months_excess_above", "inf"),
    "threshold a word": ("months_yellow_below", '"six"'),
    "threshold a list": ("months_red_below", "[3]"),
    "rate NaN": ("balance_rate_red_below", "nan"),
    "surplus infinite": ("budget_surplus_max_pct", '"Infinity"'),
    "components repeated": ("components", '["pooled", "pooled"]'),
    "components not text": ("components", "[1, 2]"),
    "time zone a number": ("time_zone", "8"),
}


@pytest.mark.parametrize("key,value", list(MORE.values()), ids=list(MORE))
def test_every_setting_is_checked_by_kind_and_range(tmp_path, key, value):
    f = tmp_path / "region.toml"
    f.write_text(_set(key, value), encoding="utf-8")
    with pytest.raises(BadInput) as e:
        load_region(f)
    assert str(f) in e.value.message, e.value.message


@pytest.mark.parametrize("text", ['units = "230800"\n', 'settings = 3\n', 'books = ["RES"]\n'],
                         ids=["units-a-string", "settings-a-number", "books-not-tables"])
def test_a_table_of_the_wrong_kind_is_refused(text):
    import tomllib

    from ledger.core.region import parse_region

    doc = tomllib.loads(BASE)
    doc.update(tomllib.loads(text))
    with pytest.raises(BadInput):
        parse_region(doc, "r.toml")


def test_a_refusal_names_the_file_the_key_and_the_rule_in_chinese(tmp_path):
    from tests.helpers import use_lang

    f = tmp_path / "region.toml"
    f.write_text(_set("preallocation_months", '"three"'), encoding="utf-8")
    with use_lang("zh"), pytest.raises(BadInput) as e:
        load_region(f)
    assert str(f) in e.value.message and "preallocation_months" in e.value.message and "1 到 12" in e.value.message
