"""The gaps the last session left in the auditor's proof (issue 15), closed as an auditor
expects them closed:

1. ``verify --offline DIR`` runs the ``actors`` check (ledger.core.actors) over the export:
   an export's offline verdict names what the online verdict of its database names.
2. ``audit check-digest`` lists every change of a column fundledger changes (approver,
   approved amount, disbursement and settlement entries, cleared amounts, held
   decisions) recorded after the digest, and says whether a history version explains it.
3. A writer login's DateStyle / TimeZone / IntervalStyle / extra_float_digits set by
   ALTER ROLE change nothing the ledger stores nor the verdict.

The workflow ledger of tests/security/test_actors.py (registers, a request through every
step, held entries confirmed, rejected and still held) is built once and copied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ledger.io import archive
from ledger.store.verify_independent import verify_independent
from tests.conftest import LedgerDB
from tests.security.test_actors import built, copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db


def _online(db: LedgerDB) -> dict[str, set[tuple[str | None, str]]]:
    c = db.connect("aud")
    try:
        rep = verify_independent(c)
    finally:
        c.close()
    return {ch.name: {(f.account, f.message) for f in ch.findings} for ch in rep.checks}


def _offline(out: Path, filed: Path | None) -> dict[str, set[tuple[str | None, str]]]:
    rep = archive.verify_offline(out, filed)
    return {ch.name: {(f.account, f.message) for f in ch.findings} for ch in rep.checks}


def _export(db: LedgerDB, tmp: Path, name: str) -> tuple[Path, Path]:
    out, filed = tmp / name, tmp / f"{name}.json"
    r = db.cli("audit", "export", str(out), "--digest-out", str(filed), "--json", user="aud")
    assert r.exit_code in (0, 1), r
    assert filed.exists(), r
    return out, filed


# ---- 1. the actors check offline -------------------------------------------------------------

def test_an_untouched_export_passes_the_actors_check_offline(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    out, filed = _export(copy, tmp_path, "clean")
    rep = archive.verify_offline(out, filed)
    actors = [c for c in rep.checks if c.name == "actors"]
    assert actors and actors[0].ok and actors[0].checked > 10, actors
    assert rep.ok, [(c.name, c.findings[:3]) for c in rep.checks if not c.ok]


@pytest.mark.parametrize("tamper", [
    "UPDATE fl.fund_request SET approved_by = 'rev2' WHERE id = 1",
    "UPDATE fl.fund_request SET disburse_entry = 1 WHERE id = 1",
    "UPDATE fl.register_item SET cleared = amount WHERE id = (SELECT min(id) FROM fl.register_item "
    "WHERE kind = 'fiscal_arrears')",
    "UPDATE fl.pending_entry SET state = 'rejected', decided_by = 'rev2', decided_at = now(), "
    "decision_reason = 'dup' WHERE id = (SELECT min(id) FROM fl.pending_entry WHERE state = 'held')",
])
def test_the_offline_verdict_of_a_tampered_ledger_names_what_the_online_verdict_names(
        copy: LedgerDB, tmp_path: Path, tamper: str) -> None:  # noqa: F811
    """The superuser's UPDATE (triggers on: recorded as postgres's): the online verdict's
    actors findings, and the offline verdict's of an export taken afterwards, are the same."""
    copy.admin().execute(tamper)
    online = _online(copy)
    assert online["actors"], online
    out, filed = _export(copy, tmp_path, "tampered")
    offline = _offline(out, filed)
    assert offline["actors"] == online["actors"]
    assert offline["export_files"] == set()          # the export is the one filed: the ledger is what is wrong


def test_a_changed_byte_of_the_history_in_the_export_is_named(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    """Who approved request 1, changed in the exported history (rev -> rev2 in the approve
    event's version): the file is named against the manifest, the chain names the version,
    and the actors check (which reads the versions) names the approval."""
    out, filed = _export(copy, tmp_path, "byte")
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    p = bad / "tables" / "record_log.csv"
    text = p.read_text("utf-8")
    needle = '""action"": ""approve""'
    at = text.index(needle)
    line_start = text.rindex("\n", 0, at) + 1
    line_end = text.index("\n", at)
    line = text[line_start:line_end]
    assert '""actor"": ""rev""' in line, line
    changed = line.replace('""actor"": ""rev""', '""actor"": ""rev2""', 1)
    p.write_text(text[:line_start] + changed + text[line_end:], "utf-8")
    rep = archive.verify_offline(bad, filed)
    assert not rep.ok
    named = {(f.check, f.account) for f in rep.findings}
    assert ("export_files", "tables/record_log.csv") in named, named
    assert any(f.check == "history_chain" for f in rep.findings), named
    # Internal consistency alone (the forger re-listed the file): the actors check still reads it.
    m = json.loads((bad / "manifest.json").read_text())
    m["files"]["tables/record_log.csv"] = archive.file_digests(p)
    (bad / "manifest.json").write_text(json.dumps(m))
    rep = archive.verify_offline(bad, no_digest=True)
    assert any(f.check == "actors" and "rev2" in f.message for f in rep.findings), \
        [(f.check, f.message) for f in rep.findings]
