"""ATTACK17 E3: three ordinary mistakes or conditions end in a Python traceback instead of a
message (docs/security.md: "no traceback reaches a user").

* ``forecast --damping 0``: the help says "Trend damping φ from 0 to 1" and the check accepts 0,
  but the model computes ``φ ** 0`` with Decimal zero — ``decimal.InvalidOperation`` (0 ** 0), a
  traceback for a documented value (also ``-0``, ``0.0``, ``0e5``).
* ``audit export PATH`` where PATH is an existing file (not a folder): ``NotADirectoryError`` from
  ``pathlib.iterdir``.
* any ``--json`` read whose stdout cannot be written (a full disk, a quota: ``… --json > out.json``
  in a scheduler): ``OSError: [Errno 28] No space left on device`` from ``emit_json``; only EPIPE
  is handled (cli/entry.py, Typer's PacifyFlushWrapper).

Safe behaviour asserted: each is a one-line refusal (``error [...]``) with a non-zero exit and no
``Traceback`` — the damping 0 either runs (φ^0 = 1) or is refused in words.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

SCRIPT = str(Path(sys.executable).with_name("fundledger"))


def _history(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c1", "2023-01-10", "230822", "1000.00"), pay_from_special("p1", "2023-02-10", "230822", "300.00"))


def _run(ledger_db: LedgerDB, *args: str):  # type: ignore[no-untyped-def]
    try:
        return ledger_db.cli(*args, user="rev")
    except BaseException as e:       # an exception out of the console script is the user's traceback
        pytest.fail(f"fundledger {' '.join(args)}: traceback {type(e).__name__}: {e}")


@pytest.mark.parametrize("phi", ["0", "-0", "0.0"])
def test_e3_forecast_damping_zero_is_not_a_traceback(ledger_db: LedgerDB, phi: str) -> None:
    _history(ledger_db)
    r = _run(ledger_db, "forecast", "--as-of", "2023-03-31", "--damping", phi, "--json")
    assert r.exit_code in (0, 1), r
    assert "Traceback" not in r.stderr, r


def test_e3_audit_export_onto_a_file_is_not_a_traceback(ledger_db: LedgerDB, tmp_path: Path) -> None:
    target = tmp_path / "export.zip"
    target.write_text("not a folder", "utf-8")
    r = _run(ledger_db, "audit", "export", str(target))
    assert r.exit_code != 0 and "Traceback" not in r.stderr, r


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_e3_json_on_a_full_disk_is_a_message_not_a_traceback(ledger_db: LedgerDB) -> None:
    env = {**os.environ, "FUNDLEDGER_DATABASE_URL": ledger_db.url(), "FUNDLEDGER_LANG": "en"}
    for args in (["report", "trial-balance", "--year", "2023", "--json"],       # the Typer tree
                 ["monitor", "--as-of", "2023-03-31", "--json"]):               # the read fast path
        with open("/dev/full", "w") as full:
            p = subprocess.run([SCRIPT, "--as", "aud", *args], stdout=full, stderr=subprocess.PIPE, text=True,
                               env=env, timeout=120)
        assert p.returncode != 0, p
        # On main: "Traceback … OSError: [Errno 28] No space left on device"
        assert "Traceback" not in p.stderr, p.stderr[-800:]


def test_e3_backup_into_a_file_is_not_a_traceback(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """``backup REPO`` where REPO is an existing file: ``FileExistsError`` from ``Path.mkdir``
    (ledger/store/backup.py ``take``), before anything is copied."""
    target = tmp_path / "repo"
    target.write_text("a file, not a repository", "utf-8")
    r = _run(ledger_db, "backup", str(target))
    assert r.exit_code != 0 and "Traceback" not in r.stderr, r
