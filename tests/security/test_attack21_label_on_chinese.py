"""RT21-N8: a refusal already worded in Chinese that ends with a command to run (four or more ASCII words,
e.g. `fundledger budget show --year 2024`) is taken for an English line by cli.errors._worded and gets the
rule's label in front: '输入无法识别：全市基金预算汇总所有单位，经办人员只能查看本单位：fundledger budget show
--year 2024' — "input not understood" for an officer who typed a valid command."""
from __future__ import annotations

import pytest

from tests.conftest import LedgerDB


@pytest.mark.db
def test_budget_city_as_officer_is_not_called_input_not_understood(ledger_db: LedgerDB) -> None:
    r = ledger_db.cli("budget", "city", "--year", "2024", user="o22", env={"FUNDLEDGER_LANG": "", "COLUMNS": "200"})
    text = r.stdout + r.stderr
    assert r.exit_code == 1, text
    assert "输入无法识别" not in text, text


@pytest.mark.parametrize(("message", "worded"), [
    ("全市基金预算汇总所有单位，经办人员只能查看本单位：fundledger budget show --year 2024 --unit 230822", True),
    ("请先运行 `fundledger db check --json` 再试", True),
    ("单位 230822：fundledger request submit --quarter 2024Q2 --unit 230822 --amount 1.00", True),
    # English prose beside Chinese is still English: the label stays
    ("金额 the amount may not be negative here", False),
    ("fundledger budget show：the budget has not been approved yet for this unit", False),
    ("no Chinese at all: fundledger budget show --year 2024", False),
])
def test_a_command_in_a_chinese_refusal_is_not_english_prose(message: str, worded: bool) -> None:
    from cli.errors import _worded

    assert _worded(message) is worded
