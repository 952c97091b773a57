"""ATTACK15b B4 (A8's class, other keys): a fund request's idempotency key has no length limit, and a
long one is told as "the database is down".

4039091 bounded the entry's key (200 characters, in Python and by translating the CHECK of fl.entry /
fl.pending_entry). fl.fund_request's key (0003, unique per unit since 0035) has no CHECK at all: a key
of 4,000 characters is stored on the request for ever; one whose index row passes PostgreSQL's limit
(3,000 varied 汉字, ~9 kB) is refused by the btree with ``index row requires 9024 bytes, maximum size is
8191``, which the CLI files as ``[database_unavailable] 数据库连接中断 … 请检查数据库是否在运行（fundledger db
status）`` — exit 2, the wrong cause, PostgreSQL's English words and a next step that cannot help.
register_clearing's key (0003) has no CHECK either.

Fixed when every user-given key has the entry's limit (a CHECK translated with the limit, and a
Python pre-check naming the option), and an index-size error is never filed as an outage.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.integration.test_requests import add_budget

pytestmark = pytest.mark.db

LONG_VARIED = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))


@pytest.mark.parametrize("key", [LONG_VARIED, "k" * 4000], ids=["index-size", "4000-chars"])
def test_b4_a_request_key_past_the_limit_is_refused_in_words(ledger_db: LedgerDB, key: str) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000000.00"))
    fin.commit()
    add_budget(ledger_db.admin(), 2024, "230822", "RES", {"5001": "2400000.00", "4001": "2000000.00"})
    r = ledger_db.cli("--lang", "zh", "request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024",
                      "--quarter", "1", "--amount", "1000.00", "--key", key, "--json", user="o22")
    assert r.exit_code == 1, (f"a request key of {len(key):,} characters: exit {r.exit_code} (0 = stored; the "
                              f"entry's key is limited to 200): {r.stderr[:300]}")
    assert "database_unavailable" not in r.stderr and "index row" not in r.stderr and "200" in r.stderr, r.stderr[:400]
