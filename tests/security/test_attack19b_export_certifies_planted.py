"""ATTACK19b K3: ``audit export`` certifies files it did not write. J6's fix holds the three folders
open and checks their names (``_Folders.check_unmoved``), but the manifest's file list and digests
are taken by walking the folder by path (``directory.rglob("*")``, ``p.is_file()`` follows links,
``archive.file_digests(p)`` reads by path): a file planted in the export's folder while it runs — by
the one J6's guard is against, who can write there — is listed and digested in MANIFEST.json, so the
filed digest certifies it as the export's; a symbolic link planted there is followed and the file it
names, outside the export, is certified too.

Safe behaviour asserted: the export certifies only the files it wrote (or refuses a folder holding
anything else) — nothing planted is in the manifest."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def test_k3_a_file_planted_during_the_export_is_not_certified(ledger_db: LedgerDB, tmp_path: Path) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    out = tmp_path / "export"
    stop = time.monotonic() + 120

    def plant() -> None:            # someone with write access to the export's folder, while it runs
        while time.monotonic() < stop:
            if (out / "history").is_dir():
                (out / "history" / "zz_planted.csv").write_text("forged,row\n", "utf-8")
                return
            time.sleep(0.001)

    t = threading.Thread(target=plant)
    t.start()
    try:
        r = ledger_db.cli("audit", "export", str(out), "--json", user="aud")
    finally:
        t.join()
    if r.exit_code != 0:            # refused: nothing certified
        return
    files = json.loads((out / "manifest.json").read_text("utf-8"))["files"]
    planted = sorted(k for k in files if "zz_" in k)
    # on main: exit 0, MANIFEST.json lists history/zz_link.csv and history/zz_planted.csv with digests
    assert planted == [], (r.exit_code, planted)


def test_k3_a_file_of_the_export_replaced_while_it_runs_is_not_certified(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The sharper form: ``online.json`` (the live server's checks — which no offline proof can
    re-derive, so only the manifest's digest vouches for it) is written before the proof runs and
    digested by path after it: replaced by rename meanwhile, the manifest certifies the
    replacement. Safe: refused, or the manifest's digest is of what the export wrote."""
    from ledger.io import archive

    fin = ledger_db.connect("fin")
    post(fin, collect("c1", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    out = tmp_path / "export"
    forged = {"format": archive.ONLINE_FORMAT, "checks": [], "made_by": "someone else"}
    stop = time.monotonic() + 120

    def replace() -> None:
        while time.monotonic() < stop:
            if (out / archive.ONLINE).is_file():
                side = tmp_path / "forged.json"
                side.write_text(json.dumps(forged), "utf-8")
                (out / "history" / ".forged").write_bytes(side.read_bytes())
                (out / "history" / ".forged").replace(out / archive.ONLINE)   # rename over the export's file
                return
            time.sleep(0.0005)

    t = threading.Thread(target=replace)
    t.start()
    try:
        r = ledger_db.cli("audit", "export", str(out), "--json", user="aud")
    finally:
        t.join()
    if r.exit_code != 0:
        return
    files = json.loads((out / archive.MANIFEST).read_text("utf-8"))["files"]
    now = archive.file_digests(out / archive.ONLINE)
    assert json.loads((out / archive.ONLINE).read_text("utf-8")) == forged      # the replacement happened
    # on main: exit 0 and the manifest's digest of online.json is the forged file's
    assert files[archive.ONLINE]["sha256"] != now["sha256"], (r.exit_code, files[archive.ONLINE])
