"""ATTACK14 V7, the class: an archive records what only the live server showed at export.

``audit export`` runs the online verdict's checks no archive can re-make (each login by rule,
pg_catalog's built-ins and additions, settings and preloaded libraries) in its snapshot and
writes them into ``online.json``, which the manifest lists and so the filed digest covers.
``verify --offline`` reports them as checks of the archive (``online_<check>``: a finding stays
a finding) and says it did not make them itself. Variants: a setting that switches a writer's
triggers off (``online_settings``), a clean archive (exit 0, the checks named as made at
export), online.json rewritten clean (the filed digest no longer matches), removed from a /2
archive (a finding), of the wrong shape (a refusal), and an archive of format /1 (verified as
before; the online checks "not in this archive").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ledger.io import archive
from tests.conftest import LedgerDB, role_settings_restored

pytestmark = pytest.mark.db


def _export(ledger_db: LedgerDB, tmp_path: Path, name: str = "archive") -> tuple[Path, Path, dict[str, Any]]:
    out, filed = tmp_path / name, tmp_path / f"{name}.digest.json"
    res = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), "--json", user="aud")
    assert res.exit_code == 0, res
    return out, filed, res.json()


def _relist(directory: Path, change: Any = None) -> None:
    """The manifest rewritten to list the files as they now are (a forger's consistent rewrite)."""
    m = json.loads((directory / "manifest.json").read_text())
    if change is not None:
        change(m)
    m["files"] = {k: archive.file_digests(directory / k) for k in m["files"] if (directory / k).exists()}
    (directory / "manifest.json").write_text(json.dumps(m))


@pytest.mark.cluster_roles   # o22 given a setting for a moment, taken back at the end
def test_a_writers_setting_is_recorded_and_named_offline(ledger_db: LedgerDB, tmp_path: Path) -> None:
    admin = ledger_db.admin()
    with role_settings_restored(admin, "o22"):
        admin.execute("ALTER ROLE o22 SET session_replication_role = replica")
        out, filed, doc = _export(ledger_db, tmp_path)
    assert doc["verified"] is False and doc["rows_verified"] is True and doc["online_findings"] >= 1, doc
    assert "online.json" in json.loads((out / "manifest.json").read_text())["files"]
    rep = archive.verify_offline(out, filed)
    named = [f for f in rep.findings if f.check == "online_settings"]
    assert named and "o22" in named[0].message and "session_replication_role" in named[0].message, rep.findings
    off = ledger_db.cli("--lang", "en", "verify", "--offline", str(out), "--digest", str(filed))
    assert off.exit_code == 1 and "online_settings" in off.stdout, off

    # The forger clears the finding from online.json: the manifest, then the filed digest, say so.
    bad = tmp_path / "cleared"
    shutil.copytree(out, bad)
    rec = json.loads((bad / "online.json").read_text())
    for c in rec["checks"]:
        c["findings"], c["ok"] = [], True
    (bad / "online.json").write_text(json.dumps(rec))
    rep = archive.verify_offline(bad, filed)
    assert "online.json" in {f.account for f in rep.findings if f.check == "export_files"}, rep.findings
    _relist(bad)
    rep = archive.verify_offline(bad, filed)
    assert "manifest.json" in {f.account for f in rep.findings if f.check == "export_files"}, rep.findings


def test_a_clean_archive_names_the_checks_made_at_export(ledger_db: LedgerDB, tmp_path: Path) -> None:
    out, filed, doc = _export(ledger_db, tmp_path)
    assert doc["verified"] is True and doc["online_findings"] == 0, doc
    assert [c["name"] for c in doc["online"]] == list(archive.ONLINE_CHECKS)
    rep = archive.verify_offline(out, filed)
    assert rep.ok, rep.findings
    assert [c.name for c in rep.checks if c.name.startswith("online_")] == [f"online_{n}" for n in archive.ONLINE_CHECKS]
    assert rep.extra["online_checks"]["in_archive"] is True and rep.extra["online_checks"]["login"] == "aud"
    off = ledger_db.cli("--lang", "en", "verify", "--offline", str(out), "--digest", str(filed))
    assert off.exit_code == 0 and "all invariants hold" in off.stdout, off
    text = " ".join(off.stdout.split())
    assert "could not make itself" in text and "exporter's live connection" in text and "online_logins" in text, text
    js = ledger_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert js.exit_code == 0 and js.json()["online_checks"]["made_offline"] is False, js


def test_an_archive_of_format_1_reports_them_not_in_the_archive(ledger_db: LedgerDB, tmp_path: Path) -> None:
    out, _filed, _doc = _export(ledger_db, tmp_path)
    (out / "online.json").unlink()
    _relist(out, lambda m: m.update(format="fundledger-export/1"))
    rep = archive.verify_offline(out, no_digest=True)
    assert rep.ok and rep.extra["online_checks"]["in_archive"] is False, rep.findings
    assert not [c for c in rep.checks if c.name.startswith("online")]
    off = ledger_db.cli("--lang", "en", "verify", "--offline", str(out), "--no-digest")
    assert off.exit_code == 0 and "not in this archive" in " ".join(off.stdout.split()), off


def test_online_json_removed_from_a_format_2_archive_is_a_finding(ledger_db: LedgerDB, tmp_path: Path) -> None:
    out, _filed, _doc = _export(ledger_db, tmp_path)
    (out / "online.json").unlink()
    _relist(out)
    rep = archive.verify_offline(out, no_digest=True)
    assert "online.json" in {f.account for f in rep.findings if f.check == "online"}, rep.findings
    # and a record that leaves a check out
    out2, _f, _d = _export(ledger_db, tmp_path, "partial")
    rec = json.loads((out2 / "online.json").read_text())
    rec["checks"] = [c for c in rec["checks"] if c["name"] != "logins"]
    (out2 / "online.json").write_text(json.dumps(rec))
    _relist(out2)
    rep = archive.verify_offline(out2, no_digest=True)
    assert any("logins" in f.message for f in rep.findings if f.check == "online"), rep.findings


def test_online_json_of_the_wrong_shape_is_refused(ledger_db: LedgerDB, tmp_path: Path) -> None:
    out, _filed, _doc = _export(ledger_db, tmp_path)
    rec = json.loads((out / "online.json").read_text())
    rec["checks"][0]["findings"] = [{"message": 5}]
    (out / "online.json").write_text(json.dumps(rec))
    _relist(out)
    res = ledger_db.cli("--lang", "en", "verify", "--offline", str(out), "--no-digest")
    assert res.exit_code != 0 and "bad_input" in res.stderr and "online.json" in res.stderr, res
    assert "Traceback" not in res.stderr + res.stdout
