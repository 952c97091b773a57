"""Every source key a rule reads of a kept entry (``_E.source``) is kept.

The rules keep only ``_E_SOURCE_KEYS`` of a held entry's source (memory: one kept entry per
held entry on a maker-checker ledger). A rule that reads another key of ``e.source`` sees
nothing and judges nothing, silently: the interest rule (0079's recorded total and weights)
and the clearing rule (register_item) did, between two landings. This test reads the rules'
own code for ``e.source.get("…")`` / ``_recorded(e.source)`` and asks each key is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from ledger.core import rules

CORE = Path(rules.__file__).parent


def test_every_key_read_from_a_kept_entrys_source_is_kept() -> None:
    read: set[str] = set()
    for f in CORE.glob("*.py"):
        text = f.read_text("utf-8")
        read |= set(re.findall(r"\be\.source\.get\(\s*[\"']([a-z_]+)[\"']", text))
        read |= set(re.findall(r"\be\.source\[\s*[\"']([a-z_]+)[\"']\s*\]", text))
        if "_recorded(e.source)" in text:                     # fund_rules._recorded reads these two
            read |= {"total", "weights"}
    assert read, "the pattern found no reads at all: the test no longer sees the rules' code"
    missing = read - set(rules._E_SOURCE_KEYS)
    assert not missing, f"kept entries lose these source keys a rule reads: {sorted(missing)}"
