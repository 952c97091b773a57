"""ATTACK6 T13: ``verify --offline`` on a hostile archive.

Whoever hands the auditor an archive (the 30-year 会计档案) controls every byte of it. A
manifest of the wrong shape gave tracebacks; a manifest entry ``../../../../etc/passwd``
made the verifier open and hash a file outside the archive; and with no filed digest
the verdict was a clean "all invariants hold" although nothing showed the archive was
the one exported. Now: the manifest is checked against its schema before use, names
outside the export's layout are refused, every unreadable part is ``bad_input`` and
never a traceback, and without ``--digest`` the verdict is *not authenticated* — a
finding, unless the auditor asks for the internal check alone (``--no-digest``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.io import archive
from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

Manifest = dict[str, Any]


def _set(path: list[str], value: Any) -> Callable[[Manifest], None]:
    def change(m: Manifest) -> None:
        d = m
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return change


def _add_file(name: str) -> Callable[[Manifest], None]:
    def change(m: Manifest) -> None:
        m["files"][name] = dict(next(iter(m["files"].values())))
    return change


# A manifest changed by hand: each is refused as bad_input naming what is wrong.
HOSTILE: dict[str, tuple[Callable[[Manifest], None], str]] = {
    "files a list": (_set(["files"], [1, 2]), "'files'"),
    "a file's digests a string": (_set(["files", "canonical.csv"], "zz"), "canonical.csv"),
    "a size that is text": (_set(["files", "canonical.csv", "bytes"], "12"), "canonical.csv"),
    "a digest not hex": (_set(["files", "canonical.csv", "sha256"], "x" * 64), "canonical.csv"),
    "a path up and out": (_add_file("../../../../etc/passwd"), "../../../../etc/passwd"),
    "an absolute path": (_add_file("/etc/passwd"), "/etc/passwd"),
    "a folder outside the layout": (_add_file("tables/../../secret.csv"), "secret.csv"),
    "columns of a table null": (_set(["columns", "entry"], None), "'columns'"),
    "a chain head that is text": (_set(["chain_head"], "x"), "'chain_head'"),
    "not an object": (lambda m: m.clear() or m.update({"format": ["x"]}), "format"),
}


def _export(ledger_db: LedgerDB, tmp_path: Path) -> tuple[Path, Path]:
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    return out, filed


def _copy(out: Path, tmp_path: Path, name: str) -> Path:
    d = tmp_path / name.replace(" ", "_")
    shutil.copytree(out, d)
    return d


def _rewrite(d: Path, name: str, text: str) -> None:
    """A file of the export rewritten, and the manifest regenerated to match (the forger
    controls both; only the filed digest can tell)."""
    (d / name).write_text(text, "utf-8")
    m = json.loads((d / "manifest.json").read_text("utf-8"))
    m["files"][name] = archive.file_digests(d / name)
    (d / "manifest.json").write_text(json.dumps(m), "utf-8")


def test_a_hostile_manifest_is_refused_never_a_traceback(ledger_db: LedgerDB, tmp_path: Path) -> None:
    out, _filed = _export(ledger_db, tmp_path)
    for case, (change, word) in HOSTILE.items():
        d = _copy(out, tmp_path, case)
        m = json.loads((d / "manifest.json").read_text("utf-8"))
        change(m)
        (d / "manifest.json").write_text(json.dumps(m), "utf-8")
        r = ledger_db.cli("verify", "--offline", str(d), "--no-digest", "--json")
        assert r.exit_code != 0 and "Traceback" not in r.stderr + r.stdout, (case, r)
        assert "bad_input" in r.stderr and word in r.stderr, (case, r.stderr)
        assert "passwd" not in r.stdout, (case, r)     # nothing outside the archive was hashed or reported


def test_damaged_files_under_a_matching_manifest_are_bad_input(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The files themselves, rewritten with the manifest to match: an entry id that is not
    a number in canonical.csv, a catalogue.json of the wrong shape, a truncated table."""
    out, _filed = _export(ledger_db, tmp_path)
    damaged = {"canonical.csv": "entry_id,sha256,canonical\nnot-a-number,ab,x\n",
               "catalogue.json": json.dumps({"functions": 1}),
               "tables/entry.csv": "id\n"}
    for name, text in damaged.items():
        d = _copy(out, tmp_path, name.replace("/", "_"))
        _rewrite(d, name, text)
        r = ledger_db.cli("verify", "--offline", str(d), "--no-digest")
        assert r.exit_code != 0 and "Traceback" not in r.stderr + r.stdout, (name, r)
        assert "bad_input" in r.stderr, (name, r.stderr)


def test_without_a_filed_digest_the_verdict_is_not_authenticated(ledger_db: LedgerDB, tmp_path: Path) -> None:
    out, filed = _export(ledger_db, tmp_path)
    ok = ledger_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert ok.exit_code == 0 and ok.json()["authenticated"] is True, ok

    bare = ledger_db.cli("verify", "--offline", str(out), "--json")
    assert bare.exit_code == 1, bare
    doc = bare.json()
    assert doc["ok"] is False and doc["authenticated"] is False
    [f] = [f for c in doc["checks"] if c["name"] == "export_files" for f in c["findings"]]
    assert f["account"] == "manifest.json" and "Not authenticated" in f["message"], f
    assert "not authenticated" in ledger_db.cli("verify", "--offline", str(out)).stdout

    chosen = ledger_db.cli("verify", "--offline", str(out), "--no-digest", "--json")
    assert chosen.exit_code == 0 and chosen.json()["authenticated"] is False, chosen
    files = next(c for c in chosen.json()["checks"] if c["name"] == "export_files")
    assert "not authenticated" in files["description"], files
    text = ledger_db.cli("verify", "--offline", str(out), "--no-digest")
    assert text.exit_code == 0 and "not authenticated" in text.stdout, text

    both = ledger_db.cli("verify", "--offline", str(out), "--no-digest", "--digest", str(filed))
    assert both.exit_code != 0 and "bad_input" in both.stderr, both
    online = ledger_db.cli("verify", "--no-digest", user="aud")
    assert online.exit_code != 0 and "bad_input" in online.stderr, online
