"""ATTACK12: a JSON file of escaped quotes makes the depth pre-check quadratic (CPU exhaustion).

``ledger.io.infile.parse_json`` first strips strings with ``_JSON_STRING`` (``"(?:[^"\\]|\\.)*"``)
to count brackets. On ``"`` followed by ``\\"`` repeated, the pattern starts at every quote, runs
to the end of the text looking for the closing quote, fails, and starts again at the next: O(n²)
before ``json.loads`` (linear) ever says the file is not JSON. Measured on the shared machine:
32 KB 3.8 s, doubling the file quadruples it — a 1 MB file is about an hour of one core.

Every JSON a person or an export hands fundledger goes through it: ``entry post FILE|-`` (any
user: officer, reviewer, finance), ``audit check-digest FILE``, and ``verify --offline`` on an export
(``manifest.json``, ``chain_head.json``, ``catalogue.json``, the filed digest): a database
administrator who hands the auditor an export with such a ``catalogue.json`` keeps the offline
verdict from ever being given.

Fixed when the check is linear (one scan that tracks "inside a string" and escapes, or
``json.loads`` with a bounded-depth hook), so the file is refused as not JSON at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = r"""
import sys
from pathlib import Path
from ledger.io.infile import parse_json
from ledger.errors import BadInput
text = '"' + '\\"' * int(sys.argv[1])
try:
    parse_json(text, "evil.json")
except BadInput:
    print("refused")
"""


def test_z_escaped_quotes_are_refused_in_linear_time() -> None:
    """256 KB of ``\\"``: json.loads refuses it in milliseconds; the depth pre-check must not
    take minutes first (now: ~4 min on the shared 2-core machine). A 20 s bound is generous by
    three orders of magnitude for a linear scan."""
    try:
        r = subprocess.run([sys.executable, "-c", PROBE, str(128 * 1024)], capture_output=True, text=True,
                           timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("parse_json spent over 20 s on a 256 KB file of escaped quotes (quadratic string strip)")
    assert r.stdout.strip() == "refused", r.stderr


OFFLINE = r"""
import json, sys
from pathlib import Path
from ledger.io.archive import verify_offline
from ledger.errors import LedgerError
d = Path(sys.argv[2])
(d / "export").mkdir()
(d / "export" / "manifest.json").write_text('"' + '\\"' * int(sys.argv[1]), "utf-8")
(d / "filed.json").write_text(json.dumps({"sha256": "0" * 64, "sm3": "0" * 64}), "utf-8")
try:
    verify_offline(d / "export", d / "filed.json")
except LedgerError:
    pass
print("answered")
"""


def test_z_a_tampered_exports_manifest_gets_a_verdict_not_a_hang(tmp_path: Path) -> None:
    """Whoever can write where exports are kept (the database administrator, against the auditor)
    replaces manifest.json with 256 KB of ``\\"``: ``verify --offline --digest FILED`` computes the
    digest mismatch, then parses the manifest anyway — and does not answer for minutes (a 10 MB
    manifest: days). The filed digest already says the export is not the one filed; the verifier
    must say so at once."""
    try:
        r = subprocess.run([sys.executable, "-c", OFFLINE, str(128 * 1024), str(tmp_path)], capture_output=True,
                           text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("verify --offline spent over 20 s on a 256 KB manifest.json of escaped quotes, with a filed "
                    "digest that already disagrees: no verdict")
    assert r.stdout.strip() == "answered", r.stderr


@pytest.mark.parametrize("text", [
    '"' + '\\"' * 200_000,                     # the attack: never a closing quote
    '"' + '\\"' * 200_000 + "\\",              # and a last lone backslash
    '["' + "\\\n" * 200_000,                   # escaped newlines (an escape, not the end of a string)
    '{"a": "' + 'x\\"' * 200_000,              # inside an object
])
def test_z_variants_of_unterminated_strings_are_refused_as_not_json(text: str) -> None:
    """Every unterminated-string shape is refused by the decoder's own message, not by a hang."""
    from ledger.errors import BadInput
    from ledger.io.infile import parse_json
    with pytest.raises(BadInput, match=r"JSON：|not valid JSON"):
        parse_json(text, "evil.json")


@pytest.mark.parametrize(("text", "deep"), [
    ('["' + "[" * 100 + '"]', False),           # brackets inside a string are text
    ('["\\"' + "[" * 100 + '"]', False),        # ... after an escaped quote too
    ('["\\\\"' + ", [" * 65 + "]" * 65 + "]", True),   # an escaped backslash ends the string: 66 levels
    ("[" * 64 + "]" * 64, False),
    ("[" * 65 + "]" * 65, True),
])
def test_z_the_linear_scan_still_counts_depth_outside_strings(text: str, deep: bool) -> None:
    from ledger.errors import BadInput
    from ledger.io.infile import parse_json
    if deep:
        with pytest.raises(BadInput, match=r"64 层|nests deeper than 64"):
            parse_json(text, "f.json")
    else:
        parse_json(text, "f.json")
