"""ATTACK19 J6 (LOW): ``audit export`` follows a directory someone plants in the export folder while it runs.

``ledger.store.export`` guards the files it writes against whoever can write in the export's folder
(``_create``: O_EXCL, O_NOFOLLOW — "someone who can write in the export's folder planted it") and
refuses a folder that is not empty or whose ``tables`` is a symbolic link, before it starts. But the
``history/`` and ``links/`` folders are made later, after every table has been copied (minutes on a
city's ledger), with ``mkdir(exist_ok=True)``: a symbolic link planted there meanwhile is taken as the
folder (``exist_ok`` accepts a link to a directory), and O_NOFOLLOW guards only the last component —
every chained history (each hooked table's rows, users, requests, registers) is written into the
directory the link names, outside the export, and the export then says it verified.

Safe behaviour asserted: a ``history`` (or ``links``) that is a symbolic link when the export makes it
is refused (or never followed): nothing is written outside the export folder.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_j6_a_history_folder_planted_during_the_export_is_not_followed(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    out, elsewhere = tmp_path / "export", tmp_path / "elsewhere"
    elsewhere.mkdir()
    stop = time.monotonic() + 120

    def plant() -> None:            # someone with write access to the export's folder, while it runs
        while time.monotonic() < stop:
            if (out / "tables").is_dir():
                try:
                    os.symlink(elsewhere, out / "history")
                    os.symlink(elsewhere, out / "links")
                except FileExistsError:
                    pass
                return
            time.sleep(0.001)

    t = threading.Thread(target=plant)
    t.start()
    try:
        r = ledger_db.cli("audit", "export", str(out), user="aud")
    finally:
        t.join()
    written = sorted(p.name for p in elsewhere.iterdir())
    # on main: exit 0 and the histories (e.g. app_user.csv, fund_request.csv …) written into `elsewhere`
    assert written == [], (r.exit_code, written)


def test_j6_a_subfolder_swapped_for_a_link_during_the_export_is_neither_followed_nor_certified(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The variant once the export makes its folders first: the one who can write in the export's
    folder moves ``history`` aside and puts a link to elsewhere in its place. The export writes
    into the folder it made (held open), never through the link, and refuses to certify a folder
    whose names no longer name what it wrote."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    out, elsewhere = tmp_path / "export", tmp_path / "elsewhere"
    elsewhere.mkdir()
    stop = time.monotonic() + 120

    def swap() -> None:
        while time.monotonic() < stop:
            if (out / "history").is_dir():
                os.rename(out / "history", out / "history.aside")
                os.symlink(elsewhere, out / "history")
                return
            time.sleep(0.001)

    t = threading.Thread(target=swap)
    t.start()
    try:
        r = ledger_db.cli("audit", "export", str(out), "--json", user="aud")
    finally:
        t.join()
    assert sorted(p.name for p in elsewhere.iterdir()) == [], r
    assert r.exit_code != 0 and "history" in r.stderr and "Traceback" not in r.stderr, r
