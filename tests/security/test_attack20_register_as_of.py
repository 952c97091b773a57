"""ATTACK20 L5 (LOW-MED): ``register list --as-of D`` shows today's cleared and outstanding amounts
under D's heading, and items not yet opened on D with a negative age — disagreeing with
``report registers --as-of D``, the monitor and the balance sheet for the same figure at the same
date.

A county's 2023 government share (缺口分担) of 30,000.00 is opened by the 2023 close (2023-12-31);
the local government pays 10,000.00 on 2024-01-20. At 2024-01-10, ``report registers --as-of`` and
the monitor's ``outstanding_share`` say 30,000.00 is owed (right: nothing was paid yet);
``register list --as-of 2024-01-10`` — titled "2024-01-10 memo registers" — says cleared 10,000.00,
outstanding 20,000.00 (a payment ten days in the future). ``register list --as-of 2023-06-30`` lists
the item, opened six months later, with ``age_days`` -184 (ATTACK18 G11 fixed a negative age for
an item dated in the future; the ``--as-of`` path brings it back), and ``--open-only`` filters by
today's outstanding, not D's. The option is documented as "age items as of this date", but the
table's title and every other reader's ``--as-of`` take it as the date of the figures.

Safe behaviour asserted: at D the list shows what ``report registers --as-of D`` shows — items opened
by D, cleared and outstanding from the clearings dated by D — (or refuses an ``--as-of`` other than
today, saying to use ``report registers --as-of``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_officer_read_sweep import demo_like  # noqa: F401  (the fixture)

pytestmark = pytest.mark.db


def _registers_outstanding(db: LedgerDB, day: str) -> str:
    rep = db.cli("report", "registers", "--as-of", day, "--json", user="rev").json()
    rows = [r for s in rep["sections"] for r in s["rows"] if r.get("unit") == "230822"]
    return str(rows[0]["outstanding"]) if rows else "none"


def test_l5_register_list_as_of_agrees_with_report_registers(demo_like: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    day = "2024-01-10"   # after the 2023 close (share 30,000.00), before the payment of 2024-01-20
    assert _registers_outstanding(demo_like, day) == "30000.00"
    r = demo_like.cli("register", "list", "--as-of", day, "--json", user="rev")
    if r.exit_code == 1 and "report registers" in r.stderr:      # refusing a past --as-of is safe too
        return
    items = [i for i in r.json() if i["unit"] == "230822" and i["kind"] == "government_share"]
    # on main: cleared 10000.00, outstanding 20000.00 — the payment of 2024-01-20
    assert [(i["cleared"], i["outstanding"]) for i in items] == [("0.00", "30000.00")], items


def test_l5_register_list_as_of_before_an_item_was_opened(demo_like: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    r = demo_like.cli("register", "list", "--as-of", "2023-06-30", "--json", user="rev")
    if r.exit_code == 1 and "report registers" in r.stderr:
        return
    # on main: the 2023 share (opened 2023-12-31) listed with age_days -184
    assert all(i["age_days"] >= 0 for i in r.json()), r.json()
    assert not [i for i in r.json() if i["opened_on"] > "2023-06-30"], r.json()
