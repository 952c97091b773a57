"""Shapes built from queries (``ledger.store.rows``): the SQL account key is the Python
one, and a column the shape does not know (a rename in SQL) fails at the read instead of
printing JSON with a key missing."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.core.entries import account_key
from ledger.store.rows import account_key_sql, fetch_all

pytestmark = pytest.mark.db


@dataclasses.dataclass(frozen=True, slots=True)
class _Key:
    account: str


@pytest.mark.parametrize("parts", [("RES", "1003", "230822", "special", ""), ("RES", "4001", "230822", "", ""),
                                   ("EMP", "5001.pharmacy", "230881", "", "personal"),
                                   ("EMP", "1004", "230881", "county_exp", "pooled")])
def test_the_sql_account_key_is_the_python_one(ledger_db, parts) -> None:
    c = ledger_db.connect()
    book, code, unit, holder, comp = parts
    got = fetch_all(c, _Key, f"""SELECT {account_key_sql("a")} AS account
                                   FROM (SELECT %s AS book, %s AS chart_code, %s AS unit, %s AS holder,
                                                %s AS component) a""", parts)
    assert got == [_Key(account_key(book, code, unit, holder, comp))]


def test_a_renamed_column_fails_loudly(ledger_db) -> None:
    c = ledger_db.connect()
    with pytest.raises(TypeError, match="acount"):
        fetch_all(c, _Key, "SELECT 'RES:1003:230822' AS acount")
