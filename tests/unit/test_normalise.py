"""Excel's habits in canonical form (ledger.io.normalise): dates, header aliases, units and
books by name, enumeration aliases, and the valid values named in "unknown …" reasons."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.io import COLLECTIONS, FORMATS, OPENING, PAYMENTS
from ledger.io.normalise import (
    HEADER_ALIASES,
    VALUE_ALIASES,
    Named,
    Vocabulary,
    canonical_column,
    iso_date,
    row_cleaner,
    with_valid_values,
)
from tests.helpers import use_lang

DOCS = Path(__file__).resolve().parents[2] / "docs" / "imports.md"
VOCAB = Vocabulary(
    (Named("230800", "市本级", "City proper"), Named("230822", "桦南县", "Huanan")),
    (Named("RES", "城乡居民基本医疗保险基金", "Residents"), Named("EMP", "职工基本医疗保险基金", "Employees")),
)


@pytest.fixture(autouse=True, scope="module")
def _english() -> Iterator[None]:
    """These tests match the reader's English wording; its row reasons are catalogue messages (ATTACK16 C3),
    Chinese by default."""
    with use_lang("en"):
        yield


@pytest.mark.parametrize(("text", "iso"), [
    ("2024-04-15", "2024-04-15"), ("2024-4-15", "2024-04-15"), ("2024/4/15", "2024-04-15"),
    ("2024/04/05", "2024-04-05"), ("2024.4.15", "2024-04-15"), ("2024年4月15日", "2024-04-15"),
    ("2024 年 4 月 5 日", "2024-04-05"), ("20240415", "2024-04-15"), ("2024/4/15 0:00", "2024-04-15"),
    ("2024-04-15 00:00:00", "2024-04-15"), ("45397", "2024-04-15"), ("45397.0", "2024-04-15"),
    # shape only: PostgreSQL refuses what is not a real date, naming it
    ("2024/2/30", "2024-02-30"), ("2024/13/1", "2024-13-01"),
    # no known form: passed on unchanged
    ("", ""), ("15/4/2024", "15/4/2024"), ("2024/4-15", "2024/4-15"), ("12345", "12345"),
    ("2024/4/15 9:30", "2024/4/15 9:30"), ("April 15", "April 15"),
])
def test_dates_as_excel_writes_them(text: str, iso: str) -> None:
    assert iso_date(text) == iso


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_every_written_form_of_a_date_means_that_date(d: dt.date) -> None:
    serial = (d - dt.date(1899, 12, 30)).days
    for text in (d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}-{d.month}-{d.day}",
                 f"{d.year}年{d.month}月{d.day}日", d.strftime("%Y%m%d"), str(serial), f"{d.year}/{d.month}/{d.day} 0:00"):
        assert iso_date(text) == d.isoformat(), text


def test_headers_by_alias_only_for_formats_that_have_the_column() -> None:
    assert canonical_column("日期", COLLECTIONS.columns) == "date"
    assert canonical_column("单位名称", PAYMENTS.columns) == "unit"
    assert canonical_column("金额（元）", PAYMENTS.columns) == "amount"
    assert canonical_column("备注", OPENING.columns) == "note"
    assert canonical_column("备注", COLLECTIONS.columns) == "备注"   # no note column: stays unknown
    assert canonical_column("来源", PAYMENTS.columns) == "来源"
    every = {c for f in FORMATS.values() for c in f.columns}
    assert set(HEADER_ALIASES.values()) <= every


def test_docs_list_every_header_alias_and_value_alias() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_]+)`[^|]* \| (.+) \|$", text, re.M)}
    for alias, column in HEADER_ALIASES.items():
        assert alias.replace("（", "(").replace("）", ")") in text, alias
        assert column in table or column in ("direction", "balance"), column
    for aliases in VALUE_ALIASES.values():
        for alias in aliases:
            assert f"`{alias}`" in text, alias


def test_rows_come_out_canonical_and_untouched_rows_are_the_same_object() -> None:
    clean = row_cleaner(COLLECTIONS.columns, VOCAB)
    assert clean is not None
    plain = ("2023-01-10", "230822", "RES", "contribution", "1.00", "R1", "")
    assert clean(plain) is plain
    assert clean(("2023/1/10", "桦南县", "emp", "征缴收入", "1.00", "R1", "统筹")) == \
        ("2023-01-10", "230822", "EMP", "contribution", "1.00", "R1", "pooled")
    assert clean(("2023/1/10", "huanan", "Residents", "other", "1.00", "R1", "个人账户")) == \
        ("2023-01-10", "230822", "RES", "other", "1.00", "R1", "personal")
    # unknown names pass through for PostgreSQL to refuse
    assert clean(("2023/1/10", "桦南", "XYZ", "捐赠", "1.00", "R1", ""))[1:4] == ("桦南", "XYZ", "捐赠")
    # no vocabulary: names are not guessed
    bare = row_cleaner(COLLECTIONS.columns, Vocabulary())
    assert bare is not None and bare(("2023/1/10", "桦南县", "RES", "x", "1", "R", ""))[1] == "桦南县"


def test_unknown_values_name_the_valid_ones() -> None:
    assert with_valid_values("unit", "unknown unit '桦南'", VOCAB) == \
        "unknown unit '桦南'; valid units (code or name): 230800 市本级, 230822 桦南县"
    assert with_valid_values("book", "unknown book 'X'", VOCAB).endswith(
        "valid books (code or name): RES 城乡居民基本医疗保险基金, EMP 职工基本医疗保险基金")
    assert "2024年4月15日" in with_valid_values("date", "'x' is not a date (YYYY-MM-DD, like 2023-03-31)", VOCAB)
    same = "'2023-02-30' is not a real date"
    assert with_valid_values("date", same, VOCAB) == same


def test_a_bank_statement_as_excel_saves_it_reads_like_the_plain_one(tmp_path: Path) -> None:
    from ledger.store.reconcile import read_statement

    plain = tmp_path / "plain.csv"
    plain.write_text("date,amount,direction,reference,balance\n2023-03-01,1000000.00,in,BK-0301,1000000.00\n",
                     encoding="utf-8")
    excel = tmp_path / "excel.csv"
    excel.write_bytes("日期,金额,方向,流水号,余额,摘要\r\n2023/3/1,\"1,000,000.00\",收,BK-0301,1000000.00,拨款\r\n"
                      .encode("gb18030"))
    assert read_statement(excel) == read_statement(plain)
