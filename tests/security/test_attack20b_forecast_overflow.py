"""ATTACK20b M3: `fundledger forecast --contribution-growth / --spending-growth / --subsidy-change` with a
percentage of a huge exponent (`1e999999999`) is a traceback (decimal.Overflow from `value / 100` in
cli/cmd_forecast._percent): Decimal() parses it (finite, exact), the division overflows the context's
Emax. ATTACK20 L1's fix of the class named "forecast's percent parsing" in its sweep; `parse_fen` was
fixed, this parser not. Any reader (reviewer, officer, auditor) reaches it; nothing is written.

Fails on main: the exception leaves the CLI edge (cli.edge.guarded re-raises non-LedgerErrors).
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


@pytest.mark.parametrize("opt", ["--contribution-growth", "--spending-growth", "--subsidy-change"])
@pytest.mark.parametrize("value", ["1e999999999", "-1E+999999999"])
def test_m3_a_percentage_of_a_huge_exponent_is_a_refusal(ledger_db: LedgerDB, opt: str, value: str) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("m3-c", "2023-03-01", "230822", "1000.00"))
    fin.commit()
    try:
        r = ledger_db.cli("forecast", "--as-of", "2023-03-31", opt, value, user="rev")
    except Exception as e:          # what reaches the user as a traceback
        pytest.fail(f"traceback: {type(e).__name__}: {e}")
    out = str(r.stdout) + str(r.stderr)
    assert r.exit_code in (1, 2) and "Traceback" not in out and opt.lstrip("-") in out, r


@pytest.mark.parametrize("value", ["1e999999999", "1e3", "NaN", "Infinity", "12345", "5" * 5000])
def test_m3_the_damping_is_a_plain_number_too(ledger_db: LedgerDB, value: str) -> None:
    """The variant at the damping: an exponent, NaN, a number past four digits or thousands of
    digits are one refusal naming ``--damping``, never a traceback."""
    r = ledger_db.cli("forecast", "--as-of", "2023-03-31", "--damping", value, user="rev")
    assert r.exit_code == 1 and "--damping" in r.stderr and "Traceback" not in r.stderr, r
    assert len(r.stderr) < 600, len(r.stderr)
