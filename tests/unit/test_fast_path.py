"""cli/entry.py: psycopg's version modules without importlib.metadata (issue 24) give the
versions importlib.metadata gives, and give way to the real modules when the layout is
not the one they read (the fast path's equivalence: tests/integration/test_fast_path.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli.entry import _dist_version

_VERSIONS = """
import json, sys
from cli.entry import preload_psycopg_versions
preload_psycopg_versions()
import psycopg, psycopg.pq
binary = sys.modules.get("psycopg_binary")
got = {"psycopg": psycopg.__version__, "module": psycopg.version.__version__,
       "binary": binary.__version__ if binary else None, "impl": psycopg.pq.__impl__,
       "metadata_loaded": "importlib.metadata" in sys.modules}
from importlib import metadata
want = {"psycopg": metadata.version("psycopg"), "binary": metadata.version("psycopg-binary") if binary else None}
print(json.dumps({"got": got, "want": want}))
"""


def test_the_versions_are_importlib_metadatas() -> None:
    r = subprocess.run([sys.executable, "-c", _VERSIONS], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    got, want = out["got"], out["want"]
    assert got["psycopg"] == got["module"] == want["psycopg"]
    assert got["binary"] == want["binary"]
    assert got["metadata_loaded"] is False      # what the preload is for
    if want["binary"] is not None:
        assert got["impl"] == "binary"


def test_a_layout_it_does_not_know_reads_nothing(tmp_path: Path) -> None:
    pkg = tmp_path / "psycopg"
    pkg.mkdir()
    assert _dist_version(str(pkg), "psycopg") is None                      # no dist-info
    one = tmp_path / "psycopg-3.3.9.dist-info"
    one.mkdir()
    assert _dist_version(str(pkg), "psycopg") is None                      # no METADATA
    (one / "METADATA").write_text("Metadata-Version: 2.4\nName: psycopg\nVersion: 3.3.9\n\nVersion: 9\n")
    assert _dist_version(str(pkg), "psycopg") == "3.3.9"
    (one / "METADATA").write_text("Metadata-Version: 2.4\nName: other\nVersion: 3.3.9\n")
    assert _dist_version(str(pkg), "psycopg") is None                      # another distribution's
    (one / "METADATA").write_text("Name: psycopg\nVersion: 3.3.9\n")
    (tmp_path / "psycopg-3.2.0.dist-info").mkdir()
    assert _dist_version(str(pkg), "psycopg") is None                      # two: importlib.metadata's choice
    binary = tmp_path / "psycopg_binary-3.3.9.dist-info"
    binary.mkdir()
    (binary / "METADATA").write_text("Name: psycopg-binary\nVersion: 3.3.9\n")
    assert _dist_version(str(tmp_path / "psycopg_binary"), "psycopg_binary") == "3.3.9"
