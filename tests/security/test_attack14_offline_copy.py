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


# -- variants of the class (ATTACK14 V9's fix): only the manifest's files, each at most its size --

def _export_dir(tmp_path: Path, files: dict[str, bytes], listed: dict[str, bytes]) -> Path:
    import json

    d = tmp_path / "export"
    for name, data in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    d.mkdir(exist_ok=True)
    entries = {}
    for name, data in listed.items():
        f = tmp_path / "digest-src"
        f.write_bytes(data)
        entries[name] = archive.file_digests(f)
    (d / "manifest.json").write_text(json.dumps({"format": archive.FORMAT, "files": entries}), encoding="utf-8")
    return d


def test_v9_a_listed_file_is_copied_no_further_than_its_listed_size(tmp_path: Path) -> None:
    d = _export_dir(tmp_path, {"tables/entry.csv": b"id\n1\n"}, {"tables/entry.csv": b"id\n1\n"})
    with open(d / "tables" / "entry.csv", "r+b") as f:
        f.truncate(64 << 20)                     # the same first bytes, then 64 MiB of holes
    copy = tmp_path / "private" / "export"
    copy.parent.mkdir()
    unlisted = archive._private_copy(d, copy)
    assert unlisted == []
    assert (copy / "tables" / "entry.csv").stat().st_size == len(b"id\n1\n") + 1
    res = archive.check_files(copy, None, False, unlisted=unlisted)
    assert any("tables/entry.csv: larger than the 5 bytes" in f.message for f in res.findings), res.findings


def test_v9_an_unlisted_file_is_named_from_the_listing_and_never_read(tmp_path: Path) -> None:
    d = _export_dir(tmp_path, {"canonical.csv": b"x\n", "tables/padding.csv": b"p" * 1000, "extra.bin": b"e"},
                    {"canonical.csv": b"x\n"})
    copy = tmp_path / "private" / "export"
    copy.parent.mkdir()
    unlisted = archive._private_copy(d, copy)
    assert unlisted == ["extra.bin", "tables/padding.csv"]
    assert not (copy / "tables" / "padding.csv").exists() and not (copy / "extra.bin").exists()
    res = archive.check_files(copy, None, False, unlisted=unlisted)
    named = " ".join(f.message for f in res.findings)
    assert "tables/padding.csv: not in the manifest" in named and "extra.bin: not in the manifest" in named


def test_v9_a_listed_file_reached_through_a_link_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "entry.csv").write_bytes(b"secret\n")
    d = _export_dir(tmp_path, {"canonical.csv": b"x\n"}, {"canonical.csv": b"x\n", "tables/entry.csv": b"secret\n"})
    (d / "tables").symlink_to(outside, target_is_directory=True)
    copy = tmp_path / "private" / "export"
    copy.parent.mkdir()
    unlisted = archive._private_copy(d, copy)
    assert unlisted == ["tables"]                 # the link itself is named, not what it points to
    assert not (copy / "tables" / "entry.csv").is_file()


@pytest.mark.parametrize("manifest", ["not json", '{"format": "fundledger-export/1", "files": {"../x": {}}}',
                                      '{"format": "fundledger-export/1", "files": {}, "files": {}}'],
                         ids=["not-json", "outside-name", "key-twice"])
def test_v9_a_bad_manifest_is_refused_naming_the_directory_given(tmp_path: Path, manifest: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "export"
    d.mkdir()
    (d / "manifest.json").write_text(manifest, encoding="utf-8")
    (d / "canonical.csv").write_bytes(b"x" * 4096)
    copied = _count_copies(monkeypatch)
    with pytest.raises(BadInput) as e:
        archive.verify_offline(d, no_digest=True)
    assert str(d) in str(e.value) and "fundledger-verify-" not in str(e.value), str(e.value)
    assert sum(copied) == len(manifest.encode())  # the manifest only


def test_v9_a_manifest_that_is_a_link_is_refused_unread(tmp_path: Path) -> None:
    d = tmp_path / "export"
    d.mkdir()
    (tmp_path / "m.json").write_text("{}", encoding="utf-8")
    (d / "manifest.json").symlink_to(tmp_path / "m.json")
    with pytest.raises(BadInput, match=r"not a regular file|不是普通文件"):
        archive.verify_offline(d, no_digest=True)
