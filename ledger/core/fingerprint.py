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
         "rules": "rule", "functions": "function", "constraints": "constraint", "acls": "privileges on",
         "roles": "role"}
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
    return frozenset(out)


def _describe(kind: str, name: str, want: str | None, got: str | None) -> str:
    what = f"{KINDS[kind]} {name}"
    if got is None:
        return f"{what} is missing (the release has it)"
    if want is None:
        return (f"{what} is not part of the release: it was added (it could change what a reader sees or what a "
                "write does)")
    if kind == "relations":
        return (f"{name} is {_RELKIND.get(got[0], got[0])}{' with row security' if '+rls' in got else ''}; the "
                f"release has {_RELKIND.get(want[0], want[0])}{' with row security' if '+rls' in want else ''}")
    if kind == "columns":
        return f"{what} differ from the release: now ({got}), shipped ({want})"
    if kind in ("acls", "roles"):
        return f"{what} differ from the release: now {got}; shipped {want}"
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
