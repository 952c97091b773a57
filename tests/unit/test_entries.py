"""Entry documents are parsed strictly with messages naming the entry and posting."""

from __future__ import annotations

import pytest

from ledger.core.entries import account_key, parse_account_key, parse_entries
from ledger.errors import BadInput
from ledger.i18n import get_lang, set_lang


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    """These tests match the English wording; the refusals are catalogue messages, Chinese by default."""
    saved = get_lang()
    set_lang("en")
    yield
    set_lang(saved)

GOOD = {"date": "2023-01-10", "book": "RES", "memo": "Q1", "idempotency_key": "k1",
        "postings": [{"account": "1003", "unit": "230822", "holder": "special", "side": "debit", "amount": "2,000.00"},
                     {"account": "4001", "unit": "230822", "side": "credit", "amount": "2000"}]}


def test_parses_the_issue_example():
    [d] = parse_entries(GOOD)
    assert d.totals() == (200000, 200000)
    assert d.postings[0].side == "D" and d.postings[0].holder == "special"
    assert d.postings[1].holder is None and d.as_doc()["postings"][1]["amount"] == 200000


@pytest.mark.parametrize(("patch", "message"), [
    ({"date": "2023-02-30"}, "is not a date"),
    ({"idempotency_key": ""}, "'idempotency_key' is required"),
    ({"postings": []}, "at least two postings"),
    ({"postings": "x"}, "must be a list"),
    ({"surprise": 1}, "unknown field"),
])
def test_entry_level_refusals(patch, message):
    with pytest.raises(BadInput, match=message):
        parse_entries({**GOOD, **patch}, "file.json")


@pytest.mark.parametrize(("leg", "message"), [
    ({"side": "up"}, "side must be 'debit' or 'credit'"),
    ({"amount": "12.345"}, "at most two decimals"),
    ({"amount": 12.5}, "must be text"),
    ({"amount": "-1"}, "negative"),
    ({"amount": "0"}, "zero"),
    ({"unit": None}, "'unit' is required"),
])
def test_posting_level_refusals_name_the_posting(leg, message):
    doc = {**GOOD, "postings": [{**GOOD["postings"][0], **leg}, GOOD["postings"][1]]}
    with pytest.raises(BadInput, match=message) as ei:
        parse_entries([GOOD | {"idempotency_key": "other"}, doc], "file.json")
    assert "entry 2 (k1), posting 1" in ei.value.message


def test_account_keys_round_trip():
    assert account_key("RES", "1003", "230822", "special") == "RES:1003:230822:special"
    assert account_key("EMP", "4001", "230822", "", "pooled") == "EMP:4001:230822::pooled"
    assert parse_account_key("EMP:4001:230822::pooled") == ("EMP", "4001", "230822", "", "pooled")
    with pytest.raises(BadInput):
        parse_account_key("RES:1003")
