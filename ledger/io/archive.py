"""The electronic accounting archive (会计档案): an export verifiable with no database.

``fundledger audit export DIR`` writes (ledger.store.export)::

    DIR/tables/<table>.csv     every table of the schema fl, all columns, header row,
                               PostgreSQL's CSV (DateStyle ISO, TimeZone UTC, bytea hex;
                               an empty unquoted field is NULL), ordered by primary key
    DIR/history/<table>.csv    each table hooked into the chained history (fl.chained_table):
                               key, row — each row as jsonb text, keyed as the history keys
                               it; compared with the latest version tables/record_log.csv
                               recorded, whose chain is recomputed up to record_head.csv
    DIR/links/<table>.csv      each self-chained table (the operations log, monitor
                               acknowledgements): id, link text, prev_hash, hash
    DIR/canonical.csv          entry_id, sha256 (hex), canonical text: what each entry's
                               seal certifies, rebuilt in Python
    DIR/chain_head.json        the chain head as stored and as recomputed
    DIR/manifest.json          format, when, from which database, and for every file its
                               size, rows, SHA-256 and SM3 (GB/T 32905)

The *filed digest* is the SHA-256 and the SM3 of ``manifest.json``: kept outside the
database and outside the export (``--digest-out``), it pins every byte of every file.
``verify --offline DIR [--digest FILE]`` checks the manifest against the filed digest,
every file against the manifest, then runs the same independent verifier
(ledger.core.proof) over the files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ledger.core import fingerprint, histories, proof
from ledger.core.findings import CheckResult, Finding, VerifyReport, result
from ledger.errors import BadInput
from ledger.io.infile import open_regular, parse_json, read_text, shown_name

FORMAT = "fundledger-export/1"
MANIFEST = "manifest.json"
DIGEST_FORMAT = "fundledger-export-digest/1"

csv.field_size_limit(sys.maxsize)


def sm3() -> Any:
    """An SM3 hash object (GB/T 32905) from OpenSSL."""
    try:
        return hashlib.new("sm3")
    except ValueError as e:      # OpenSSL built without SM3
        raise BadInput("this Python's OpenSSL does not provide SM3 (GB/T 32905); install an OpenSSL with SM3") from e


class Hasher:
    """SHA-256 and SM3 of a stream of bytes, and its size."""

    def __init__(self) -> None:
        self.sha, self.sm, self.size = hashlib.sha256(), sm3(), 0

    def update(self, b: bytes) -> None:
        self.sha.update(b)
        self.sm.update(b)
        self.size += len(b)

    def digests(self) -> dict[str, Any]:
        return {"bytes": self.size, "sha256": self.sha.hexdigest(), "sm3": self.sm.hexdigest()}


def file_digests(path: Path) -> dict[str, Any]:
    h = Hasher()
    with open_regular(path) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digests()


def manifest_digest(directory: Path) -> dict[str, str]:
    """The filed digest of an export: SHA-256 and SM3 of its manifest.json."""
    d = file_digests(directory / MANIFEST)
    return {"format": DIGEST_FORMAT, "sha256": d["sha256"], "sm3": d["sm3"]}


def table_rows(path: Path, columns: Sequence[str]) -> Iterator[list[str]]:
    """Rows of an exported table, only ``columns``, in that order."""
    with io.TextIOWrapper(open_regular(path), encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header is None:
            return
        try:
            idx = [header.index(c) for c in columns]
        except ValueError as e:
            raise BadInput(f"{path.name}: a column the verifier needs is missing ({e})") from e
        if idx == list(range(len(columns))) and len(header) == len(columns):
            yield from r
        else:
            for row in r:
                yield [row[i] for i in idx]


def _read(directory: Path, table: str) -> Iterator[list[str]] | list[list[str]]:
    path = directory / "tables" / f"{table}.csv"
    if not path.exists():
        raise BadInput(f"{directory}: no tables/{table}.csv — not a complete fundledger export")
    rows = table_rows(path, proof.TABLES[table])
    return rows if table == "posting" else list(rows)


def _redo(directory: Path) -> Any:
    def redo(ids: Sequence[int]) -> list[list[str]]:
        keys = {str(i) for i in ids}
        rows = [r for r in table_rows(directory / "tables" / "posting.csv", proof.TABLES["posting"]) if r[1] in keys]
        return sorted(rows, key=lambda r: (int(r[1]), int(r[0])))
    return redo


def _csv(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r, None)
        yield from r


def run_proof(directory: Path, sink: Any = None, catalogue: Sequence[CheckResult] = ()) -> VerifyReport:
    """The independent verdict over the exported tables, the chained histories with it
    when the export has them (``history/``; exports before it had none)."""
    log_path = directory / "tables" / "record_log.csv"
    hist_dir = directory / "history"
    if not log_path.exists() or not hist_dir.is_dir():
        rep, _ = proof.run(lambda t: _read(directory, t), _redo(directory), catalogue, sink=sink)
        return rep
    head = list(table_rows(directory / "tables" / "record_head.csv", ("seq", "hash")))
    with io.TextIOWrapper(open_regular(log_path), encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), [])
    cols = histories.RECORD_COLS + (histories.SEAL_COLS if set(histories.SEAL_COLS) <= set(header) else ())
    hist = histories.scan_full(table_rows(log_path, cols), head, 200)
    chain, latest = hist.chain, hist.latest
    rep, p = proof.run(lambda t: _read(directory, t), _redo(directory), catalogue, sink=sink,
                       closes_sealed_by=histories.closes_sealed_by(latest, hist.first),
                       entry_versions=hist.first.get("fl.entry"))
    hooked = [r[0] for r in table_rows(directory / "tables" / "chained_table.csv", ("tbl",))]
    keys: dict[str, Sequence[str]] = {t: () for t in hooked}
    present = {f"fl.{q.stem}" for q in hist_dir.glob("*.csv")}
    unreadable = [t for t in hooked if t != "fl.posting" and t not in present]
    current = {t: _csv(hist_dir / f"{t[3:]}.csv") for t in hooked if t in present}
    link_findings: list[Finding] = []
    link_tables: list[str] = []
    n = 0
    links_dir = directory / "links"
    for q in sorted(links_dir.glob("*.csv")) if links_dir.is_dir() else []:
        rows = list(_csv(q))
        n += len(rows)
        link_tables.append(f"fl.{q.stem}")
        link_findings += histories.check_links(f"fl.{q.stem}", rows, 200)
    checks = (chain,
              histories.check_tables(latest, keys, current, p.memos, 200, unreadable, hist.changes,
                                     release=fingerprint.hooked_tables()),
              histories.links_result(n, link_findings, 200, link_tables))
    return VerifyReport((*rep.checks, *checks), rep.extra)


def check_files(directory: Path, filed: dict[str, Any] | None) -> CheckResult:
    """The manifest against the filed digest, and every file against the manifest."""
    findings: list[Finding] = []
    mpath = directory / MANIFEST
    if not mpath.exists():
        raise BadInput(f"{directory}: no {MANIFEST} — not a fundledger export")
    if filed is not None:
        got = manifest_digest(directory)
        for algo in ("sha256", "sm3"):
            if filed.get(algo) and filed[algo] != got[algo]:
                findings.append(Finding("export_files", f"{MANIFEST}: its {algo.upper()} is {got[algo]}, the filed "
                                        f"digest says {filed[algo]}: the export is not the one filed",
                                        account=MANIFEST))
    try:
        manifest = parse_json(read_text(mpath), str(mpath))
    except UnicodeDecodeError as e:
        raise BadInput(f"{mpath}: not a manifest: {e}") from e
    if not isinstance(manifest, dict):
        raise BadInput(f"{mpath}: not a manifest")
    if manifest.get("format") != FORMAT:
        raise BadInput(f"{mpath}: format {manifest.get('format')!r}, expected {FORMAT}")
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    present = {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()} - {MANIFEST}
    for name in sorted(present - listed.keys()):
        findings.append(Finding("export_files", f"{name}: not in the manifest (added to the export)", account=name))
    for name, want in sorted(listed.items()):
        p = directory / name
        if not p.exists():
            findings.append(Finding("export_files", f"{name}: listed in the manifest but missing", account=name))
            continue
        got = file_digests(p)
        bad = [a for a in ("bytes", "sha256", "sm3") if got[a] != want.get(a)]
        if bad:
            findings.append(Finding("export_files", f"{name}: {', '.join(a.upper() for a in bad)} differ from the "
                                    f"manifest: the file was changed after the export", account=name))
    return result("export_files", "every file of the export is the one its manifest lists (size, SHA-256, SM3)"
                  + (", and the manifest is the one filed" if filed is not None else ""), len(listed), findings, 200)


def _canonical_check(directory: Path) -> tuple[Any, Any]:
    """canonical.csv must say what the rows say: compared entry by entry with the texts
    rebuilt from the tables."""
    path = directory / "canonical.csv"
    findings: list[Finding] = []
    stored: dict[int, tuple[str, str]] = {}
    if path.exists():
        with io.TextIOWrapper(open_regular(path), encoding="utf-8", newline="") as f:
            r = csv.reader(f)
            next(r, None)
            for row in r:
                stored[int(row[0])] = (row[1], row[2])
    seen: set[int] = set()

    def sink(eid: int, text: str, digest: bytes | None) -> None:
        seen.add(eid)
        s = stored.get(eid)
        if s is None or s[1] != text or s[0] != (digest.hex() if digest else ""):
            findings.append(Finding("export_canonical", "canonical.csv does not hold this entry's canonical text "
                                    "and digest as its rows give them", entry_id=eid))

    def done() -> CheckResult:
        for eid in sorted(stored.keys() - seen):
            findings.append(Finding("export_canonical", "canonical.csv lists an entry the tables do not have",
                                    entry_id=eid))
        return result("export_canonical", "canonical.csv is the canonical text and digest of every entry, rebuilt "
                      "from the exported rows", len(stored), findings, 200)
    return sink, done


def verify_offline(directory: Path, digest_file: Path | None = None) -> VerifyReport:
    """Verify an export with no database: files, then the independent verdict over them."""
    if not directory.is_dir():
        raise BadInput(f"{directory}: no such directory")
    filed: dict[str, Any] | None = None
    if digest_file is not None:
        try:
            given = parse_json(read_text(digest_file), shown_name(digest_file))
        except FileNotFoundError as e:
            raise BadInput(f"{shown_name(digest_file)}: no such file") from e
        except UnicodeDecodeError as e:
            raise BadInput(f"{digest_file}: not a filed export digest: {e}") from e
        if not isinstance(given, dict) or not (given.get("sha256") or given.get("sm3")):
            raise BadInput(f"{digest_file}: not a filed export digest (no sha256 or sm3)")
        filed = given
    files = check_files(directory, filed)
    cat = []
    if (directory / "catalogue.json").exists():
        exported = parse_json(read_text(directory / "catalogue.json"), "catalogue.json")
        if not isinstance(exported, dict):
            raise BadInput(f"{directory / 'catalogue.json'}: not a catalogue fingerprint")
        n, diffs = fingerprint.differences(fingerprint.shipped(), exported)
        cat.append(result("catalogue", "the exporting database's schema fl was the release's (catalogue.json "
                          "against the shipped fingerprint)", n, diffs, 200))
    sink, done = _canonical_check(directory)
    try:
        rep = run_proof(directory, sink)
    except (ValueError, IndexError) as e:
        raise BadInput(f"{directory}: a table of the export cannot be read: {e}") from e
    head = (parse_json(read_text(directory / "chain_head.json"), "chain_head.json")
            if (directory / "chain_head.json").exists() else {})
    return VerifyReport((files, *cat, done(), *rep.checks), {**rep.extra, "offline": True, "directory": str(directory),
                                                       "chain_head": head})
