"""The chained histories (sql/0010_proof.sql), judged in Python.

``fl.record_log`` holds every version of every row of the hooked tables
(``fl.chained_table``): the row as jsonb, its key, who wrote it, chained
``hash = sha256(prev_hash || seq|table|op|actor|key|row)`` in chain order, the head in
``fl.record_head``. Two checks:

* ``history_chain``: the chain recomputed with hashlib from the first version; seq
  1..n; every link; the head. Versions not chained yet (a writer found the head taken)
  are counted, not judged.
* ``histories``: every row of every hooked table equals the latest version its history
  recorded (compared as JSON values: key order and spacing do not matter), every row has
  a history, every recorded row still exists. For ``fl.posting`` the history is each
  entry's memos by posting id. A row changed with the triggers off, a deleted row, a
  history row rewritten: each is named, with the fields that differ.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ledger.core.findings import CheckResult, Finding, result

RECORD_COLS = ("id", "seq", "tbl", "op", "row_key", "row_data", "actor", "at", "prev_hash", "hash")
GENESIS = bytes(32)


def _unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("\\x") else text)


def _subject(table: str, key: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"account": f"{table} " + ", ".join(f"{k}={v}" for k, v in key.items())}
    if table in ("fl.entry",):
        out["entry_id"] = int(key["id"])
    elif table == "fl.posting":
        out["entry_id"] = int(key["entry_id"])
    elif table == "fl.fund_request":
        out["request_id"] = int(key["id"])
    return out


def _short(v: Any) -> str:
    t = json.dumps(v, ensure_ascii=False)
    return t if len(t) <= 80 else t[:77] + "…"


def check_chain(log: Sequence[Sequence[str]], head: Sequence[Sequence[str]], cap: int) -> CheckResult:
    findings: list[Finding] = []
    chained = sorted((r for r in log if r[1]), key=lambda r: int(r[1]))
    prev = GENESIS
    for pos, r in enumerate(chained, 1):
        seq = int(r[1])
        who: dict[str, Any] = {"account": f"fl.record_log id={r[0]} seq={seq}"}
        if seq != pos:
            findings.append(Finding("history_chain", f"history version {seq} where {pos} was expected (versions "
                                    "removed or renumbered)", **who))
        text = "|".join((r[1], r[2], r[3], r[6], r[4], r[5]))
        h = hashlib.sha256(_unhex(r[8]) + text.encode()).digest()
        if _unhex(r[8]) != prev:
            findings.append(Finding("history_chain", f"history version {seq} does not follow version {seq - 1} "
                                    "(versions removed, inserted or reordered)", **who))
        if h != _unhex(r[9]):
            findings.append(Finding("history_chain", f"history version {seq} ({r[2]} {r[4]}) does not match its hash: "
                                    "the recorded row or its link was rewritten", **who))
        prev = _unhex(r[9])
    if len(head) != 1:
        findings.append(Finding("history_chain", f"the history head has {len(head)} rows; it must have one"))
    else:
        hseq, hhash = int(head[0][0]), _unhex(head[0][1])
        if hseq != len(chained):
            findings.append(Finding("history_chain", f"the history head counts {hseq} chained versions but "
                                    f"{len(chained)} are visible: versions were removed or are hidden from this reader"))
        if hhash != prev:
            findings.append(Finding("history_chain", "the history head's hash is not the last version's"))
    return result("history_chain", "the history of every row an auditor relies on (fl.record_log) is one SHA-256 "
                  "chain, recomputed from its first version, ending at fl.record_head", len(chained), findings, cap)


def latest_versions(log: Iterable[Sequence[str]]) -> dict[str, dict[str, Any]]:
    """table -> key text -> latest recorded row (by id)."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(log, key=lambda r: int(r[0])):
        key = json.dumps(json.loads(r[4]), sort_keys=True)
        out.setdefault(r[2], {})[key] = json.loads(r[5])
    return out


def closes_sealed_by(latest: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[int, str]]:
    """Month ('2023-01') -> (how far the journal's chain reached when it was closed, the
    closing transaction's id)."""
    out: dict[str, tuple[int, str]] = {}
    for row in latest.get("fl.closed_period", {}).values():
        if isinstance(row, dict) and row.get("_sealed_by") is not None and row.get("month"):
            out[str(row["month"])[:7]] = (int(row["_sealed_by"]), str(row.get("_xid") or ""))
    return out


def check_tables(latest: Mapping[str, Mapping[str, Any]], keys: Mapping[str, Sequence[str]],
                 current: Mapping[str, Iterable[str]], posting_memos: Mapping[int, Mapping[str, str]] | None,
                 cap: int) -> CheckResult:
    """Each hooked table (rows as jsonb text) against its latest recorded versions."""
    findings: list[Finding] = []
    n = 0
    for table in sorted(keys):
        hist: dict[str, Any] = dict(latest.get(table, {}))
        if table == "fl.posting":
            if posting_memos is None:
                continue
            rows: dict[str, dict[str, str]] = {json.dumps({"entry_id": int(e)}, sort_keys=True): dict(m)
                                               for e, m in posting_memos.items()}
            recorded: dict[str, Any] = dict(hist)
            n += len(recorded)
            for k in sorted(rows.keys() | recorded.keys()):
                now = rows.get(k, {})
                rec = recorded.get(k) or {}
                was: dict[str, Any] = {p: m for p, m in (rec.get("memos") or {}).items() if m not in ("", None)}
                if now != was:
                    eid = json.loads(k)["entry_id"]
                    changed = sorted(set(now) ^ set(was) | {p for p in set(now) & set(was) if now[p] != was[p]},
                                     key=int)
                    findings.append(Finding("histories", "posting memo(s) differ from their history (posting "
                                            + ", ".join(f"{p}: now {_short(now.get(p))}, recorded {_short(was.get(p))}"
                                                        for p in changed[:3]) + ")",
                                            **_subject(table, {"entry_id": eid})))
            continue
        kc = keys[table]
        seen: set[str] = set()
        hist = {k: {f: v for f, v in w.items() if not f.startswith("_")} for k, w in hist.items()}
        for text in current.get(table, ()):
            row = json.loads(text)
            key = {c: row.get(c) for c in kc}
            k = json.dumps(key, sort_keys=True)
            seen.add(k)
            n += 1
            was = hist.get(k)  # type: ignore[assignment]
            if was is None:
                findings.append(Finding("histories", "this row has no history: it was written with the history's "
                                        "triggers off (or its key was changed)", **_subject(table, key)))
            elif was != row:
                fields = sorted(f for f in row.keys() | was.keys() if row.get(f) != was.get(f))
                findings.append(Finding("histories", "changed behind its history: " + "; ".join(
                    f"{f} now {_short(row.get(f))}, recorded {_short(was.get(f))}" for f in fields[:4]),
                    **_subject(table, key)))
        for k in sorted(hist.keys() - seen):
            findings.append(Finding("histories", "recorded in the history but no longer in the table (deleted, or "
                                    "its key was changed)", **_subject(table, json.loads(k))))
    return result("histories", "every row of every table an auditor relies on equals the latest version its "
                  "chained history recorded (users, roles, requests and their events, budgets, registers, closes, "
                  "year-close results, import lines, entries' source/reason/created_at/client address, posting "
                  "memos)", n, findings, cap)
