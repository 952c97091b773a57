"""The schema a release ships, as data: compare what a database has with it.

A fingerprint is ``{kind: {object name: short digest or description}}`` for the kinds
below (ledger.store.verify_catalogue computes it from a database; the release's own
is ``ledger/data/fingerprints.json``). Any difference is a finding naming the object.
"""

from __future__ import annotations

import json
from importlib import resources

from ledger.core.findings import Finding

FINGERPRINT_FILE = "fingerprints.json"

Fingerprint = dict[str, dict[str, str]]

KINDS = {"relations": "relation", "columns": "columns of", "policies": "row policy", "triggers": "trigger",
         "rules": "rule", "functions": "function", "constraints": "constraint", "indexes": "index",
         "sequences": "sequence", "objects": "", "acls": "privileges on", "roles": "role"}
_RELKIND = {"r": "an ordinary table", "v": "a view", "m": "a materialized view", "p": "a partitioned table",
            "f": "a foreign table", "S": "a sequence", "c": "a composite type"}


def shipped() -> Fingerprint:
    """The fingerprint shipped with this release."""
    text = resources.files("ledger.data").joinpath(FINGERPRINT_FILE).read_text("utf-8")
    data: Fingerprint = json.loads(text)
    return data


def hooked_tables(fp: Fingerprint | None = None) -> frozenset[str]:
    """The tables this release hooks into the chained history: those with a history
    trigger (``<table>_record_insert``) in its fingerprint. The verifier compares every
    one of them, whatever ``fl.chained_table``'s rows — data a superuser can delete —
    now say (ATTACK3 R1)."""
    triggers = (fp if fp is not None else shipped()).get("triggers", {})
    out = set()
    for name in triggers:
        table, _, trigger = name.rpartition(".")
        if trigger == f"{table.rpartition('.')[2]}_record_insert":
            out.add(table)
    if "fl.posting" in out:
        # An entry's versions are written by its postings' statement (0055); its own trigger,
        # empty since, is gone (0086).
        out.add("fl.entry")
    return frozenset(out)


def _relation(desc: str) -> str:
    """A relation's fingerprint (``r+rls+unlogged``…) in words."""
    kind, *flags = desc.split("+")
    words = {"rls": "with row security", "force": "forced on its owner", "unlogged": "UNLOGGED (emptied by a crash, "
             "never sent to a standby)"}
    return " ".join([_RELKIND.get(kind, kind), *(words.get(f, f.replace("=", " ", 1)) for f in flags)])


def _columns(got: str, want: str) -> tuple[str, str]:
    """Only the columns that differ (a column's text may itself hold ', ': the pieces
    both sides share cancel out)."""
    g, w = got.split(", "), want.split(", ")
    return ", ".join(x for x in g if x not in w) or got, ", ".join(x for x in w if x not in g) or want


def _describe(kind: str, name: str, want: str | None, got: str | None) -> str:
    what = f"{KINDS[kind]} {name}".strip()
    if got is None:
        return f"{what} is missing (the release has it)"
    if want is None:
        return (f"{what} is not part of the release: it was added (it could change what a reader sees or what a "
                "write does)")
    if kind == "relations":
        return f"{name} is {_relation(got)}; the release has {_relation(want)}"
    if kind == "columns":
        now, shipped_ = _columns(got, want)
        return f"{what} differ from the release: now ({now}), shipped ({shipped_})"
    if kind in ("acls", "roles", "sequences"):
        return f"{what} differ{'s' if kind == 'sequences' else ''} from the release: now {got}; shipped {want}"
    return f"{what} differs from the release (its definition was changed)"


def differences(want: Fingerprint, got: Fingerprint, check: str = "catalogue") -> tuple[int, list[Finding]]:
    """(objects compared, one finding per object that differs)."""
    findings: list[Finding] = []
    n = 0
    for kind in KINDS:
        w, g = want.get(kind, {}), got.get(kind, {})
        n += len(w)
        for name in sorted(w.keys() | g.keys()):
            if w.get(name) != g.get(name):
                findings.append(Finding(check, _describe(kind, name, w.get(name), g.get(name)), account=name))
    return n, findings
