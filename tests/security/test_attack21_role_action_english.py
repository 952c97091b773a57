"""ATTACK21 N1 (fixed): the action named in a role refusal (fl.require_role's p_action, ~36 English phrases
in sql/) reaches the Chinese CLI in English: 'hn（角色：经办员）不能执行“record government payments”'."""
from __future__ import annotations

import re

import pytest

from tests.conftest import LedgerDB, run_cli

pytestmark = pytest.mark.db
ZH = {"FUNDLEDGER_LANG": "", "COLUMNS": "200"}
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)+")


@pytest.mark.parametrize("who,args", [
    ("o22", ["government", "pay", "--unit", "230822", "--book", "RES", "--amount", "1", "--date", "2024-05-01"]),
    ("o22", ["close", "period", "2024-01"]),
    ("aud", ["request", "submit", "--unit", "230822", "--year", "2024", "--quarter", "1", "--amount", "1",
             "--note", "x"]),
])
def test_role_refusal_is_all_chinese(ledger_db: LedgerDB, who: str, args: list[str]) -> None:
    r = run_cli(args, url=ledger_db.url(who), env=ZH)
    text = r.stdout + r.stderr
    assert r.exit_code == 1, text
    assert "permission_denied" in text, text
    leaked = ENGLISH_RUN.findall(text)
    assert not leaked, f"English in the Chinese refusal: {leaked!r}\n{text}"
