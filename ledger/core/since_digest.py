"""What changed, since a filed digest, in the columns fundledger itself changes — and what explains each change.

A digest (``audit digest``, a period close's ``--digest-dir``) certifies the journal's chain
and the chained history up to a version (``history.seq``, ``history.hash``). The columns
fundledger changes after a row is written (``histories.MUTABLE``: a request's approver,
approved amount, disbursement and settlement entries and state; a held entry's decision; a
register item's cleared amount; an import batch's counts) may legitimately change after the
digest. ``audit check-digest`` lists each such change of a record that existed when the
digest was taken, with what explains it:

* **explained**: a history version recorded after the digest (chained, or sealed and awaiting
  its chain position — the ``history_chain`` check proves either) that a registered
  fundledger user wrote; the ``actors`` check of the same verdict judges whether that user's
  role and the evidence (approve event, clearings …) bear the value out;
* **not explained** (a finding): a version written by a login that is not a fundledger user
  (the database administrator's own), or a table row whose value no version recorded at all
  (changed with the history's triggers switched off).

The state at the digest is each record's last version chained at or before the digest's
history position: the digest's history hash proves those versions are the ones it
certified (a rewrite of them is the ``digest`` check's finding). Everything here is pure:
the rows come from the pinned snapshot of ``check-digest`` (ledger.store.audit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.findings import CheckResult, Finding, result, said
from ledger.core.histories import MUTABLE

# The records whose changes are listed: the workflow's mutable columns (the reference data's
# changes after a digest are listed by ledger.store.audit._reference_changes).
TRACKED: dict[str, frozenset[str]] = {t: MUTABLE[t] for t in ("fl.fund_request", "fl.pending_entry",
                                                               "fl.register_item", "fl.import_batch")}
# Columns that change with a decision but say nothing of it themselves (its time).
_QUIET = frozenset({"decided_at"})

# fl.record_log's columns as read (histories.RECORD_COLS, then the version's own seal).
_ID, _SEQ, _TBL, _OP, _KEY, _ROW, _ACTOR, _AT = 0, 1, 2, 3, 4, 5, 6, 7


@dataclass(frozen=True)
class Change:
    """One change of a record's mutable columns after the digest."""

    table: str
    record: dict[str, Any]
    columns: dict[str, dict[str, Any]]        # column -> {before, after}
    explained: bool
    reason: str
    history_version: int | None = None        # its chain position (None: not chained, or no version)
    history_id: int | None = None
    by: str | None = None
    role: str | None = None
    at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "record": self.record, "columns": self.columns, "explained": self.explained,
                "reason": self.reason, "history_version": self.history_version, "history_id": self.history_id,
                "by": self.by, "role": self.role, "at": self.at}

    def label(self) -> str:
        return f"{self.table} " + ", ".join(f"{k}={v}" for k, v in self.record.items())


@dataclass
class SinceDigest:
    changes: list[Change] = field(default_factory=list)
    records: int = 0           # records that existed at the digest, in the tracked tables


def _load(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    v = json.loads(text)
    return v if isinstance(v, dict) else {}


def _diff(cols: frozenset[str], was: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c: {"before": was.get(c), "after": now.get(c)} for c in sorted(cols - _QUIET)
            if was.get(c) != now.get(c)}


def changes_since(log: Iterable[Sequence[str]], upto: int, current: Mapping[str, Mapping[str, str]],
                  users: Mapping[str, str]) -> SinceDigest:
    """The changes after history version ``upto`` (the digest's) of every tracked record that
    existed then. ``log``: fl.record_log in id order (histories.RECORD_COLS, then vxid and
    vseal); ``current``: each tracked table's rows now, key text -> row text (as the history
    keys and prints them; a table missing here is one the reader may not read, judged by its
    versions alone); ``users``: registered user -> role (their latest versions)."""
    at_digest: dict[tuple[str, str], dict[str, Any]] = {}
    later: dict[tuple[str, str], list[Sequence[str]]] = {}
    for v in log:
        table = v[_TBL]
        if table not in TRACKED:
            continue
        k = (table, v[_KEY])
        if v[_SEQ] and int(v[_SEQ]) <= upto:
            at_digest[k] = _load(v[_ROW])
        else:
            later.setdefault(k, []).append(v)
    out = SinceDigest(records=len(at_digest))
    for (table, key), was in sorted(at_digest.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        cols = TRACKED[table]
        record = _load(key)
        prev = was
        for v in later.get((table, key), []):
            now = _load(v[_ROW])
            diff = _diff(cols, prev, now)
            prev = now
            if not diff:
                continue
            seq = int(v[_SEQ]) if v[_SEQ] else None
            role = users.get(v[_ACTOR])
            where = (said("history version {seq}", seq=seq) if seq is not None else
                     said("history record {id} (sealed, awaiting its chain position)", id=v[_ID]))
            if role is None:
                out.changes.append(Change(table, record, diff, False, said("recorded by {where}, written by {actor} "
                                          "— not a fundledger user: no fundledger command made this change",
                                                                               where=where, actor=v[_ACTOR]),
                                          seq, int(v[_ID]), v[_ACTOR], None, v[_AT]))
            else:
                out.changes.append(Change(table, record, diff, True, said("{where}, by {actor} ({role})", where=where, actor=v[_ACTOR],
                                                                              role=role),
                                          seq, int(v[_ID]), v[_ACTOR], role, v[_AT]))
        if table not in current:
            continue                      # a table this reader may not read: its versions alone are judged
        row = current[table].get(key)
        if row is None:
            out.changes.append(Change(table, record, {}, False, said("the record existed at the digest and is gone "
                                      "from its table (a row of the ledger is never deleted)")))
            continue
        diff = _diff(cols, prev, _load(row))
        if diff:
            out.changes.append(Change(table, record, diff, False, said("the table says so, but no history version "
                                      "recorded this change (written with the history's triggers off)")))
    return out


def users_of(latest_users: Iterable[str]) -> dict[str, str]:
    """name -> role from fl.app_user's latest versions (row texts)."""
    users: dict[str, str] = {}
    for text in latest_users:
        row = _load(text)
        if row.get("name") is not None:
            users[str(row["name"])] = str(row.get("role"))
    return users


def shown(v: Any) -> str:
    """A column's value as a change prints it (JSON; NULL)."""
    return "NULL" if v is None else json.dumps(v, ensure_ascii=False)


def check(found: SinceDigest, cap: int) -> CheckResult:
    """The ``since_digest`` check: every change listed, the unexplained ones as findings."""
    findings = []
    for c in found.changes:
        if c.explained:
            continue
        what = ", ".join(f"{k} {shown(d['before'])} → {shown(d['after'])}" for k, d in c.columns.items())
        findings.append(Finding("since_digest", said("changed after the digest: {what}; not explained: {reason}",
                                                     what=what, reason=c.reason) if what else
                                said("changed after the digest; not explained: {reason}", reason=c.reason),
                                account=c.label(),
                                request_id=c.record.get("id") if c.table == "fl.fund_request" else None))
    return result("since_digest", "every change, after the digest, of a column fundledger changes (a request's "
                  "approver, approved amount, disbursement and settlement entries and state; a held entry's decision; "
                  "a register item's cleared amount; an import batch's counts) of a record that existed at the digest "
                  "is explained by a history version a registered fundledger user wrote", found.records, findings, cap)
