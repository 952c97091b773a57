"""Special-account interest shared by average daily balance (积数), summing to the fen.

Period 2024-01-01 … 2024-01-10 (10 days), RES special account, interest 100.00:

=======  ===============================================  ============  =========
unit     end-of-day balances                              sum (yuan·d)  average
=======  ===============================================  ============  =========
230800   0 on day 1, −200 from 01-02 (9 days)             −1,800        −180.00
230822   1,000 days 1–5, 1,500 from 01-06 (5 days)        12,500        1,250.00
230826   300 days 1–8, −500 from 01-09 (2 days)           1,400         140.00
230881   2,000 from 01-03 (8 days)                        16,000        1,600.00
=======  ===============================================  ============  =========

Only positive weights share: 12,500 + 1,400 + 16,000 = 29,900.
Exact shares of 10,000 fen: 230822 4,180.602…, 230826 468.227…, 230881 5,351.170…;
floors 4,180 + 468 + 5,351 = 9,999, the one fen left goes to the largest remainder
(230822, .602) → 41.81, 4.68, 53.51 = 100.00; 230800 (drew on the pool) gets 0.

Tie: EMP, 100.00 each in 230822 personal, 230822 pooled, 230881 pooled all January,
interest 0.02 → equal remainders, so the two fen go by unit code then component:
230822/personal 0.01, 230822/pooled 0.01, 230881/pooled 0.00.
"""

from __future__ import annotations

import pytest

from tests.helpers import cli_confirm, collect, pay_from_special, post
from tests.integration._cycle import bal, fen

pytestmark = pytest.mark.db


def test_interest_shared_by_daily_balances(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2023-12-15", "230822", "1000.00"), collect("c26", "2023-12-15", "230826", "300.00"),
         pay_from_special("p00", "2024-01-02", "230800", "200.00"), collect("c81", "2024-01-03", "230881", "2000.00"),
         collect("c22b", "2024-01-06", "230822", "500.00"), pay_from_special("p26", "2024-01-09", "230826", "800.00"),
         collect("e22q", "2023-12-01", "230822", "100.00", book="EMP", component="personal"),
         collect("e22p", "2023-12-01", "230822", "100.00", book="EMP", component="pooled"),
         collect("e81p", "2023-12-01", "230881", "100.00", book="EMP", component="pooled"))
    fin.commit()
    admin = ledger_db.admin()

    refused = ledger_db.cli("interest", "allocate", "--amount", "100.00", "--date", "2024-01-10", "--book", "RES", user="rev")
    assert refused.exit_code == 1 and "needs the finance role" in refused.stderr, refused

    r = ledger_db.cli("interest", "allocate", "--amount", "100.00", "--date", "2024-01-10", "--from", "2024-01-01",
                      "--book", "RES", "--json", user="fin")
    assert r.exit_code == 0, r
    out = r.json()
    assert out["status"] == "held"       # finance allocates, a second person confirms (0017)
    assert cli_confirm(ledger_db, out)["status"] == "posted"
    assert [(s["unit"], s["balance_days"], s["average_daily_balance"], s["share"]) for s in out["shares"]] == [
        ("230800", "-1800.00", "-180.00", "0.00"), ("230822", "12500.00", "1250.00", "41.81"),
        ("230826", "1400.00", "140.00", "4.68"), ("230881", "16000.00", "1600.00", "53.51")]
    assert sum(fen(s["share"]) for s in out["shares"]) == fen("100.00")
    assert bal(admin, "RES", "4201", "230822") == -fen("41.81")
    assert bal(admin, "RES", "4201", "230881") == -fen("53.51")
    assert bal(admin, "RES", "1003", "230822", "special") == fen("1541.81")
    assert admin.execute("SELECT count(*) AS n FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
                         "WHERE e.kind = 'interest'").fetchone()["n"] == 6          # one entry, three units

    # The same allocation again is the same entry (default key interest:RES:2024-01-10).
    again = ledger_db.cli("interest", "allocate", "--amount", "100.00", "--date", "2024-01-10", "--from", "2024-01-01",
                          "--book", "RES", "--json", user="fin")
    assert again.exit_code == 0 and again.json()["status"] == "duplicate", again
    other = ledger_db.cli("interest", "allocate", "--amount", "100.01", "--date", "2024-01-10", "--from", "2024-01-01",
                          "--book", "RES", user="fin")
    assert other.exit_code == 1 and "idempotency_conflict" in other.stderr, other

    tie = ledger_db.cli("interest", "allocate", "--amount", "0.02", "--date", "2024-01-31", "--book", "EMP",
                        "--json", user="fin")
    assert tie.exit_code == 0, tie
    cli_confirm(ledger_db, tie.json())
    assert [(s["unit"], s["component"], s["share"]) for s in tie.json()["shares"]] == [
        ("230822", "personal", "0.01"), ("230822", "pooled", "0.01"), ("230881", "pooled", "0.00")]
    assert bal(admin, "EMP", "4201", "230822", "", "personal") == -1

    text = ledger_db.cli("interest", "allocate", "--amount", "100.00", "--date", "2024-01-10", "--from", "2024-01-01",
                         "--book", "RES", user="fin")
    assert "41.81" in text.stdout and "100.00" in text.stdout and "duplicate" in text.stdout
