"""ATTACK14 V9: ``verify --offline DIR`` copies everything under DIR before it looks at anything.

ATTACK7 U6's fix copies the export into a private directory (each file read once), then checks
the manifest. The copy is of the whole tree, whatever it holds, before ``manifest.json`` is even
looked for, and a file is copied whole whatever size the manifest lists for it. An archive is
hostile input (ATTACK6 T13): whoever hands it over adds one sparse file of 100 GB (no disk on the
sender's side; ``truncate -s 100G``) and the auditor's verifier writes 100 GB of zeros into its
temporary directory before it names the file "not in the manifest"; an auditor who mistypes
``verify --offline ~`` copies the whole home directory to /tmp before hearing "no manifest.json"
(and the message names the private copy, ``/tmp/fundledger-verify-…/export``, not the directory given).

Fixed when the manifest is read first (once, from the copy of that one file), and only the files it
lists are copied, each refused past its listed size; anything else is named from the directory
listing alone.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from ledger.errors import BadInput
from ledger.io import archive


def _count_copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    copied: list[int] = []
    real = archive.shutil.copyfileobj

    def counting(src, dst, length=0):  # type: ignore[no-untyped-def]
        before = dst.tell()
        real(src, dst, length)
        copied.append(dst.tell() - before)
    monkeypatch.setattr(archive.shutil, "copyfileobj", counting)
    return copied


def test_v9_a_directory_without_a_manifest_is_refused_before_anything_is_copied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "not-an-export"
    d.mkdir()
    with open(d / "big.bin", "wb") as f:
        f.truncate(64 << 20)                     # sparse: 64 MiB that cost the sender nothing
    copied = _count_copies(monkeypatch)
    with pytest.raises(BadInput) as e:
        archive.verify_offline(d, no_digest=True)
    assert sum(copied) == 0, f"{sum(copied):,} bytes copied before '{e.value}'"
    assert str(d) in str(e.value), f"the refusal names the private copy, not {d}: {e.value}"


def test_v9_a_file_the_manifest_does_not_list_is_not_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "export"
    (d / "tables").mkdir(parents=True)
    (d / "manifest.json").write_text('{"format": "x", "files": {}}', encoding="utf-8")
    with open(d / "tables" / "padding.csv", "wb") as f:
        f.truncate(64 << 20)
    copied = _count_copies(monkeypatch)
    with contextlib.suppress(BadInput):
        archive.verify_offline(d, no_digest=True)
    assert sum(copied) < (1 << 20), f"{sum(copied):,} bytes of a file no manifest lists were copied"
