"""``verify --region FILE``: the ledger's reference data against the region file the auditor keeps.

The region's settings (thresholds, response plans, funding standards, budget limits…),
its units and books, and the national chart and holders shipped with the release decide
every figure and the year-end rule. Each row is chained (sql/0038), so a change made with
the triggers off is a ``histories`` finding; but a change the history *recorded* — the
DBA updating ``fl.setting`` with the triggers on, as a region reload would — is a
legitimate-looking version, which only ``audit check-digest`` against an earlier digest
named. With the region file the auditor holds (the one the ledger was initialised or last
reloaded with), ``verify`` compares the rows themselves: every setting, unit, book, chart
code and holder that differs from the file (or the release's chart) is a ``region``
finding naming it, whatever the history says.

Read like every verifier's rows: in a pinned, read-only session, through COPY; compared
in Python (JSON values compared as values, so a key order or spacing is no finding).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ledger.core.chart import CHART, HOLDERS
from ledger.core.findings import FINDINGS_CAP, CheckResult, Finding, result, said
from ledger.core.joined import in_force as joined_in_force
from ledger.core.region import Region
from ledger.store.db import Conn
from ledger.store.migrate import region_settings

NAME = "region"


def _norm(v: Any) -> Any:
    """A value as JSON reads it back (tuples become lists, numbers stay numbers)."""
    return json.loads(json.dumps(v, ensure_ascii=False))


def _short(v: Any) -> str:
    t = json.dumps(v, ensure_ascii=False)
    return t if len(t) <= 80 else t[:77] + "…"


def _compare(table: str, key: str, want: Mapping[str, Mapping[str, Any]], have: Mapping[str, Mapping[str, Any]],
             source: str, findings: list[Finding]) -> int:
    """Rows keyed by ``key``: each in ``want`` (from the file) against ``have`` (the ledger)."""
    for k in sorted(want.keys() | have.keys()):
        subject = f"{table} {key}={k}"
        w, h = want.get(k), have.get(k)
        if h is None:
            findings.append(Finding(NAME, said("in {source} but not in the ledger", source=source), account=subject))
        elif w is None:
            findings.append(Finding(NAME, said("in the ledger but not in {source}", source=source), account=subject))
        else:
            diff = [f for f in w if _norm(w[f]) != _norm(h.get(f))]
            if diff:
                findings.append(Finding(NAME, "differs from " + source + ": " + "; ".join(
                    f"{f} {_short(h.get(f))} in the ledger, {_short(w[f])} in the file" for f in diff[:4]),
                    account=subject))
    return len(want.keys() | have.keys())


def _bool(text: str) -> bool:
    return text == "t"


def check_region(conn: Conn, region: Region, path: Path | str,
                 copy_rows: Callable[[Conn, str], Iterable[Sequence[str]]], cap: int = FINDINGS_CAP) -> CheckResult:
    """The ``region`` check over rows of ``conn`` (a pinned session; ``copy_rows`` its
    COPY reader): fl.setting, fl.unit and fl.book against the region file, fl.chart and
    fl.holder against the release's chart."""
    findings: list[Finding] = []
    source = f"the region file {Path(path).name}"
    rows = {r[0]: {"value": json.loads(r[1])}
            for r in copy_rows(conn, "SELECT t.key, t.value::pg_catalog.text FROM ONLY fl.setting t")}
    n = _compare("fl.setting", "key", {k: {"value": v} for k, v in region_settings(region).items()}, rows, source,
                 findings)
    units = {r[0]: {"name_zh": r[1], "name_en": r[2], "kind": r[3], "sort": int(r[4])}
             for r in copy_rows(conn, "SELECT t.code, t.name_zh, t.name_en, t.kind, t.sort FROM ONLY fl.unit t")}
    n += _compare("fl.unit", "code", {u.code: {"name_zh": u.name_zh, "name_en": u.name_en, "kind": u.kind, "sort": i}
                                      for i, u in enumerate(region.units)}, units, source, findings)
    # (0154) a joining date the file names is the one registered (a unit the file gives none: its default or
    # the upgrade's, not the file's to say); (0167, ATTACK20b M1) the one IN FORCE — the unit's latest
    # fl.unit_joined_later row, else fl.unit_joined's — re-derived from the rows read here, by the definition
    # init --region accepts a file by (ledger.core.joined), so the office's current file is green and a file
    # naming a superseded date is named
    named = {u.code: {"joined_on": u.joined.isoformat()} for u in region.units if u.joined is not None}
    if named and list(copy_rows(conn, "SELECT pg_catalog.to_regclass('fl.unit_joined') IS NOT NULL")) == [["t"]]:
        base = {r[0]: r[1] for r in copy_rows(
            conn, "SELECT t.unit, t.joined_on::pg_catalog.text FROM ONLY fl.unit_joined t")}
        later: list[tuple[int, str, str]] = []
        if list(copy_rows(conn, "SELECT pg_catalog.to_regclass('fl.unit_joined_later') IS NOT NULL")) == [["t"]]:
            later = [(int(r[0]), r[1], r[2]) for r in copy_rows(
                conn, "SELECT t.id, t.unit, t.joined_on::pg_catalog.text FROM ONLY fl.unit_joined_later t")]
        superseded = {r[1] for r in later}
        joined = {u: {"joined_on": d} for u, d in joined_in_force(base, later).items() if u in named}
        for table, these in (("fl.unit_joined", named.keys() - superseded), ("fl.unit_joined_later",
                                                                            named.keys() & superseded)):
            if these:       # a unit registered later is named by the table its date in force is in
                n += _compare(table, "unit", {u: named[u] for u in these},
                              {u: v for u, v in joined.items() if u in these}, source, findings)
    books = {r[0]: {"name_zh": r[1], "name_en": r[2], "components": json.loads(r[3] or "[]"),
                    "pooled_component": r[4]}
             for r in copy_rows(conn, "SELECT t.code, t.name_zh, t.name_en, "
                                      "pg_catalog.array_to_json(t.components)::pg_catalog.text, t.pooled_component "
                                      "FROM ONLY fl.book t")}
    n += _compare("fl.book", "code", {b.code: {"name_zh": b.name_zh, "name_en": b.name_en,
                                               "components": list(b.components),
                                               "pooled_component": b.pooled_component} for b in region.books},
                  books, source, findings)
    release = "the release's chart"
    chart = {r[0]: {"parent": r[1] or None, "name_zh": r[2], "name_en": r[3], "identifier": r[4], "kind": r[5],
                    "normal_side": r[6]}
             for r in copy_rows(conn, "SELECT t.code, t.parent, t.name_zh, t.name_en, t.identifier, t.kind, "
                                      "t.normal_side FROM ONLY fl.chart t")}
    n += _compare("fl.chart", "code", {a.code: {"parent": a.parent or None, "name_zh": a.name_zh,
                                                "name_en": a.name_en, "identifier": a.identifier, "kind": a.kind,
                                                "normal_side": a.normal_side} for a in CHART},
                  chart, release, findings)
    holders = {r[0]: {"chart_code": r[1], "name_zh": r[2], "name_en": r[3], "pooled": _bool(r[4]),
                      "counties_only": _bool(r[5])}
               for r in copy_rows(conn, "SELECT t.code, t.chart_code, t.name_zh, t.name_en, t.pooled, "
                                        "t.counties_only FROM ONLY fl.holder t")}
    n += _compare("fl.holder", "code", {h.code: {"chart_code": h.chart_code, "name_zh": h.name_zh,
                                                 "name_en": h.name_en, "pooled": h.pooled,
                                                 "counties_only": h.counties_only} for h in HOLDERS},
                  holders, release, findings)
    return result(NAME, f"the region's settings, units and books equal {source}, and the chart and holders the "
                  "release's (a change the history recorded, made with the triggers on, included)", n, findings, cap)


def verify_region(conn: Conn, region: Region, path: Path | str, cap: int = FINDINGS_CAP) -> CheckResult:
    """``check_region`` in its own pinned, read-only snapshot of ``conn``."""
    from ledger.store.verify_independent import copy_rows, pin

    saved = conn.isolation_level, conn.read_only
    pin(conn)
    try:
        return check_region(conn, region, path, copy_rows, cap)
    finally:
        conn.rollback()
        conn.isolation_level, conn.read_only = saved
