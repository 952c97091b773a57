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
import re
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core import jsonfast
from ledger.core import year_settings as _year_settings
from ledger.core.findings import CheckResult, Finding, result, said, said_joined
from ledger.core.keyed import MemoTexts, MemoVersions, Positions, Versions

RECORD_COLS = ("id", "seq", "tbl", "op", "row_key", "row_data", "actor", "at", "prev_hash", "hash")
# Each version's own seal (sql/0023): the inserting transaction and
# sha256(id|tbl|op|actor|key|row|vxid), written by the history's BEFORE INSERT trigger.
SEAL_COLS = ("vxid", "vseal")
GENESIS = bytes(32)
# Tables whose rows' first versions are placed in the history's order (``Scan.first``):
# an entry written into a month by the transaction that closed it is told from one
# written after the close by where the history recorded each (ATTACK3 R9); an entry
# written after a duty rule took effect, by where the history recorded the rule's point
# (fl.rule_point: ledger.core.rule_binding, ATTACK10 X1).
# Versions of a table that is not hooked (0080): each queued entry's digest at its commit,
# judged by ledger.core.queued against the entry's seal.
QUEUED = "fl.seal_queue"
# (0108) An import batch written after the daily cap on imports took effect, likewise.
# (0122) An annual plan written after the daily cap on reference data took effect, likewise.
# (ATTACK17b F8) A closed year's budget, plan or headcount written after its close, by where the
# history recorded the close (fl.year_close) and the row, not by the time the row claims.
# (ATTACK17b F9) A closed year's fund request submitted or approved after its close, likewise.
ORDERED = ("fl.entry", "fl.closed_period", "fl.rule_point", "fl.import_batch", "fl.budget_plan",
           "fl.year_close", "fl.budget", "fl.insured_count", "fl.request_event")

# (0150, closedyr) The settings whose every version the verdict reads, beside the version before
# it (``Scan.settings``): the funding standards, one per (year, book), final once the year closes
# (ledger.core.rules._closed_year_standards). Keys as PostgreSQL prints the jsonb.
# (0162, F9c) And the per-year settings (ledger.core.year_settings: the monitor's colours, the
# 略有结余 range, the review's weights, the eliminations, the [settings.YEAR] tables), whose value in
# force for a closed year is final (ledger.core.rules._closed_year_settings).
# (ATTACK19b K1, K4) And the settings a past write is judged by as they were when it was written
# (``VERSIONED_SETTINGS``: ledger.core.rules.Rules.setting_at): the adjustment fund's fixed shares an
# allocation recorded, the days ahead real money could be dated when an entry was written.
# (And the region's time zone a user's imports of a day are counted in: _import_days.)
# (ATTACK21 N6) And the region's first year an entry's date was judged by when it was written
# (ledger.core.rules._first_year_dates): a reload moving it neither accuses nor excuses past entries.
VERSIONED_SETTINGS = ("adjustment_fund", "cash_date_allowance_days", "region", "first_year")
WATCHED_SETTINGS = frozenset({'{"key": "funding_standards"}', *(
    json.dumps({"key": k}) for k in (*_year_settings.PER_YEAR, _year_settings.FROM_YEAR, *VERSIONED_SETTINGS))})
# A watched setting's version: (where the history recorded it, its row's text, who wrote it, when, the
# transaction that wrote it — the version's sealed vxid, sql/0023; None when the history read has no
# seals): the verdict judges a transaction's versions together, as the guard does at its commit (0166).
SettingVersion = tuple[tuple[int | None, int], str, str, str, str | None]

# The hooked tables whose rows the release ever changes, and the columns it changes
# (the UPDATEs of sql/: a request's workflow, an import batch's counts, a held entry's
# decision, a register item's cleared amount). Every other hooked table is append-only:
# any UPDATE version of its rows — a DBA's plain UPDATE, recorded by the history but
# never made by fundledger — is a finding, and so is a change to any other column here.
MUTABLE: dict[str, frozenset[str]] = {
    "fl.fund_request": frozenset({"state", "amount_approved", "approved_by", "disburse_entry", "settle_entry",
                                  "approved_on"}),      # (0126) the approval's business date
    "fl.import_batch": frozenset({"rows_posted", "rows_skipped", "entries"}),
    "fl.pending_entry": frozenset({"state", "decided_by", "decided_at", "entry_id", "decision_reason"}),
    "fl.register_item": frozenset({"cleared"}),
    # Reference data (sql/0038): a region reload renames, reorders units and sets the
    # region's settings; a code's classification, a holder's pooling, a unit's kind and a
    # book's components never change (its guard refuses it).
    "fl.book": frozenset({"name_zh", "name_en"}),
    "fl.chart": frozenset({"name_zh", "name_en"}),
    "fl.holder": frozenset({"name_zh", "name_en"}),
    "fl.setting": frozenset({"value"}),
    "fl.unit": frozenset({"name_zh", "name_en", "sort"}),
}


# Columns of a hooked table that its history does not follow (sql/0045): a bank account's
# balance and reserved amount change with every posting's commit, are never versioned,
# and are judged against the postings and the approved requests themselves (verify's
# bank_balances). Left out of both sides of the comparison; every other column compared.
VOLATILE: dict[str, tuple[str, ...]] = {
    "fl.bank_account": ("balance", "reserved"),
}

# Columns added to a hooked table after rows of it were recorded (0126, ATTACK15 A10: a fund
# request's approval date). A version recorded before the column existed has no such key, and
# the row now holds NULL there: a NULL of such a column is the same value as its absence, on
# both sides of every comparison. A value (not NULL) is compared as any column is.
ADDED: dict[str, tuple[str, ...]] = {
    "fl.fund_request": ("approved_on",),
    "fl.statement_line": ("twin",),         # 0170: NULL for every line stored before it
}


def _loads(text: str) -> Any:
    """A version's text parsed; None if it is not JSON (a forged text: judged as a change)."""
    return _loads_floatless(text)[0]


def _loads_floatless(text: str) -> tuple[Any, bool]:
    """``_loads`` and whether the value holds no float (``jsonfast.loads_floatless``)."""
    try:
        return jsonfast.loads_floatless(text)
    except ValueError:
        return None, False


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


@dataclass
class Scan:
    """What one pass over the history found: the chain check, the latest version of every
    row, how many versions wait to be chained, and the versions that record a change
    fundledger never makes (``changes``, judged with the tables in ``check_tables``)."""

    chain: CheckResult
    latest: dict[str, Mapping[str, str]]
    unchained: int
    changes: list[Finding] = field(default_factory=list)
    # table (ORDERED) -> key -> (chain position or None, history id) of the row's first version
    first: dict[str, Mapping[str, tuple[int | None, int]]] = field(default_factory=dict)
    # The tables scanned by digest (``scan_full``'s ``digested``): key -> (history id,
    # SHA-256 of the latest version's text), in place of the text in ``latest``.
    digested: dict[str, Versions] = field(default_factory=dict)
    # Later versions of digested rows, to be judged once the version before each is read
    # again by its id (``judge_deferred``): (table, key, op, actor, at, id before, text after).
    deferred: list[tuple[str, str, str, str, str, int, str]] = field(default_factory=list)
    # login -> the entries whose fl.entry INSERT version it wrote (ATTACK10 X10: who wrote each
    # entry, judged by ledger.core.entry_writers). Few logins, so a few arrays of ids.
    entry_writers: dict[str, array[int]] = field(default_factory=dict)
    # (ATTACK11 Y5) The versions committed but not chained yet — (id, table, key, at), the
    # first UNCHAINED_SHOWN — which are not evidence: in no chain and under no digest filed
    # before they are chained (but a fundledger-digest/3 filed after their commit).
    loose: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (0150) every version of the watched settings (``WATCHED_SETTINGS``), in id order
    settings: list[SettingVersion] = field(default_factory=list)


UNCHAINED_SHOWN = 100



def not_evidence(s: Scan) -> list[dict[str, str | int]]:
    """``Scan.loose`` as the verdicts' ``--json`` shows it (``history_unchained_versions``)."""
    return [{"id": int(i), "table": t, "key": k, "at": a} for i, t, k, a in s.loose]


def scan(log: Iterable[Sequence[str]], head: Sequence[Sequence[str]],
         cap: int) -> tuple[CheckResult, dict[str, Mapping[str, str]], int]:
    s = scan_full(log, head, cap)
    return s.chain, s.latest, s.unchained


def _merged_memos(before: str, after: str) -> str:
    """An entry's postings written by two statements: each version records the memos of
    its own postings, so the entry's memos are both versions' together."""
    was, now = jsonfast.loads(before), jsonfast.loads(after)
    if not isinstance(was, dict) or not isinstance(now, dict):
        return after
    memos = {**(was.get("memos") or {}), **(now.get("memos") or {})}
    return json.dumps({**now, "memos": memos}, ensure_ascii=False)


# An entry's one version since 0055 (sql/0055_entry_version.sql): the entry's row and its
# postings' memos by posting id under the history's own key "_m", which jsonb prints first
# (the shortest key): {"_m": {"<posting id>": "<memo>", ...}, <the row's own keys>}. The
# memos hold only digit keys and strings, whose quotes jsonb escapes, so the object ends
# at the first "}, " this pattern reaches.
_ENTRY_MEMOS = re.compile(r'\{"_m": (\{(?:"\d+": "(?:[^"\\]|\\.)*"(?:, "\d+": "(?:[^"\\]|\\.)*")*)?\}), ',
                           re.ASCII)
ENTRY_MEMOS_KEY = "_m"


def memo_version(eid: int, memos: str) -> tuple[str, str]:
    """The (key, text) of an entry's postings' memos as fl.posting's versions print them
    (jsonb_build_object('entry_id', e, 'memos', m)): what ``memo_findings`` compares."""
    return f'{{"entry_id": {int(eid)}}}', f'{{"memos": {memos}, "entry_id": {int(eid)}}}'


def split_entry_version(key: str, text: str) -> tuple[str, tuple[str, str] | None]:
    """An fl.entry version's text as (the entry's row as fl.entry prints it, the postings'
    memos as an fl.posting version (key, text) or None): an entry's one version since
    0055 carries both. Split as text, so the row compares with fl.entry's row (and its
    digest) as a version from before 0055 does; should a version not print as the
    pattern expects, it is parsed (its row then compares as values: ``_own`` leaves the
    history's keys out)."""
    if not text.startswith('{"_m": '):
        return text, None
    m = _ENTRY_MEMOS.match(text)
    try:
        eid = int(jsonfast.loads(key)["id"])
    except (ValueError, KeyError, TypeError):
        return text, None
    if m is not None:
        return "{" + text[m.end():], memo_version(eid, m.group(1))
    row = jsonfast.loads(text)
    memos = row.get(ENTRY_MEMOS_KEY) if isinstance(row, dict) else None
    return text, memo_version(eid, json.dumps(memos if isinstance(memos, dict) else {}, ensure_ascii=False))


# Import lines since 0057 (sql/0057_import_batch_digest.sql): one version per batch, key
# {"batch_id"}, row {"batch_id", "lines", "digest"} — SHA-256 over the SHA-256 of each
# line's text (to_jsonb) in line order (row_no, namespace, reference byte-wise). The
# lines are read in that order (ledger.store.verify_records.current_sql) and each
# batch's row recomputed here (``with_batches``); a line with a version of its own (from
# before 0057) is still compared with it, a line without one is covered by its batch's.
LINES = "fl.import_line"
_LINE_HEAD = re.compile(r'\{"row_no": -?\d+, "batch_id": (\d+), ', re.ASCII)


def batch_key(batch: int) -> str:
    """An import batch's key in the history, as PostgreSQL prints the jsonb."""
    return f'{{"batch_id": {int(batch)}}}'


def is_batch_key(key: str) -> bool:
    return key.startswith('{"batch_id": ')


def batch_text(batch: int, lines: int, digest: str) -> str:
    """An import batch's version text as jsonb prints it (shortest keys first)."""
    return f'{{"lines": {int(lines)}, "digest": "{digest}", "batch_id": {int(batch)}}}'


def with_batches(rows: Iterable[Sequence[str]]) -> Iterator[tuple[str, str]]:
    """fl.import_line's rows (key, to_jsonb text) in line order, batch by batch: each row,
    and after a batch's last line the batch's own row (``batch_key``, ``batch_text``) with
    its digest recomputed with hashlib. Streamed: one batch's running hash at a time."""
    cur: int | None = None
    outer = hashlib.sha256()
    n = 0
    for r in rows:
        key, text = r[0], r[1]
        m = _LINE_HEAD.match(text)
        if m is not None:
            b = int(m.group(1))
        else:
            row = jsonfast.loads(text)
            b = int(row.get("batch_id") or 0) if isinstance(row, dict) else 0
        if b != cur:
            if cur is not None:
                yield batch_key(cur), batch_text(cur, n, outer.hexdigest())
            cur, outer, n = b, hashlib.sha256(), 0
        outer.update(hashlib.sha256(text.encode()).digest())
        n += 1
        yield key, text
    if cur is not None:
        yield batch_key(cur), batch_text(cur, n, outer.hexdigest())


def covered(table: str, key: str, recorded: Mapping[str, Any], also: Mapping[str, Any] | None = None) -> bool:
    """A row compared through another row's version, not its own: an import line with no
    version of its own (since 0057), covered by its batch's digest."""
    return table == LINES and not is_batch_key(key) and key not in recorded and (also is None or key not in also)


def own_seal(r: Sequence[str], row: bytes | None = None) -> bytes:
    """A version's own seal as the history's trigger computes it (sql/0023): columns
    RECORD_COLS + SEAL_COLS. ``row``: the version's text (r[5]) already encoded — the
    scan encodes it once for both hashes and, for a digested table, its digest."""
    h = hashlib.sha256(f"{r[0]}|{r[2]}|{r[3]}|{r[6]}|{r[4]}|".encode())
    h.update(r[5].encode() if row is None else row)
    h.update(f"|{r[10]}".encode())
    return h.digest()


def link_hash(r: Sequence[str], stored_prev: bytes, row: bytes | None = None) -> bytes:
    """A chained version's hash as the history computes it (sql/0010):
    sha256(prev_hash || seq|tbl|op|actor|key|row); ``row`` as in ``own_seal``."""
    h = hashlib.sha256(stored_prev)
    h.update(f"{r[1]}|{r[2]}|{r[3]}|{r[6]}|{r[4]}|".encode())
    h.update(r[5].encode() if row is None else row)
    return h.digest()


def judge_change(table: str, key: str, op: str, actor: str, at: str, before: str, after: str) -> Finding | None:
    """A later version of a row beside the version before it. An UPDATE version is a
    finding unless the release changes those columns of that table (``MUTABLE``). Any
    other later version (a second INSERT or BACKFILL of the same key) is a finding
    whatever it holds (ATTACK3 R8): the release inserts a row once, so a row inserted
    again is a row deleted and re-inserted, or a version forged into the history — and
    the verdict would otherwise take it as the row's latest word."""
    if op == "UPDATE" and table in MUTABLE:
        # The common case (a request's workflow, a held entry's decision: one per held
        # entry): only the columns the release changes differ. Decided on the parsed rows
        # with no copies; anything else is judged in full below.
        b, a = jsonfast.loads(before), jsonfast.loads(after)
        allowed = MUTABLE[table]
        if isinstance(b, dict) and isinstance(a, dict) and all(
                b.get(f) == a.get(f) for f in b.keys() | a.keys() if f not in allowed and not f.startswith("_")):
            return None
    was, now = _own(before), _own(after)
    if not isinstance(was, dict) or not isinstance(now, dict):
        return None
    if table == "fl.posting" and op != "UPDATE":
        # An entry's postings may be written by more than one statement (each records the
        # memos of its own postings); what is never written twice is one posting.
        again = sorted(set(was.get("memos") or {}) & set(now.get("memos") or {}), key=int)
        if not again:
            return None
        return Finding("histories", said("posting(s) {value} recorded as inserted again ({op} by {actor} at {at}) — a posting is "
                                         "inserted once: it was deleted and re-inserted, or this version was forged into the "
                                         "history", value=', '.join(again[:5]), op=op, actor=actor, at=at), **_subject(table, jsonfast.loads(key)))
    fields = sorted(f for f in was.keys() | now.keys() if was.get(f) != now.get(f))
    if op != "UPDATE":
        what = "; ".join(f"{f} {_short(was.get(f))} → {_short(now.get(f))}" for f in fields[:4])
        return Finding("histories", said("recorded as inserted again ({op} by {actor} at {at}{more}) — the release inserts a row "
                                         "once: it was deleted and re-inserted, or this version was forged into the history", op=op, actor=actor, at=at, more=(f': {what}' if what else said(", the same values"))),
                       **_subject(table, jsonfast.loads(key)))
    allowed = MUTABLE.get(table, frozenset())
    bad = [f for f in fields if f not in allowed]
    if not bad:
        return None
    what = "; ".join(f"{f} {_short(was.get(f))} → {_short(now.get(f))}" for f in bad[:4])
    rule = ("its table is append-only: fundledger never changes a row of it" if table not in MUTABLE else
            f"fundledger changes only {', '.join(sorted(allowed))} of it")
    return Finding("histories", said("changed after it was written ({op} by {actor} at {at}): {what} — {rule}", op=op, actor=actor, at=at, what=what, rule=rule),
                   **_subject(table, jsonfast.loads(key)))


# The hooked tables whose latest versions the online verdict keeps as digests: one row per
# entry (or held entry), the held lines as long as the postings themselves — their texts
# were most of the verdict's memory (ledger.store.verify_independent passes them to
# ``scan_full``). A held entry is updated once, by its decision: that UPDATE is judged as
# it passes by a digest of the columns the release never changes (``stable_digest``).
DIGESTED = ("fl.entry", "fl.pending_posting", "fl.pending_entry")

# Of a digested table's latest versions, the columns the verdict's other checks still read
# (ledger.core.actors: a held entry's decision, maker and key): ``Scan.latest`` holds each
# latest version as a JSON text of these columns only (``project``), not the whole row.
PROJECTED: dict[str, tuple[str, ...]] = {
    "fl.pending_entry": ("id", "state", "decided_by", "decided_at", "entry_id", "made_by", "idempotency_key"),
}


def _project(table: str, row: Any, text: str, floatless: bool = False) -> str:
    """A latest version as ``PROJECTED`` keeps it: its columns ``PROJECTED[table]`` (those it
    has) as a JSON object; a version that is not an object is kept whole (it is named by
    the table comparison, and read as an empty row by the checks that parse it)."""
    if not isinstance(row, dict):
        return text
    kept = {c: row[c] for c in PROJECTED[table] if c in row}
    fast = jsonfast.canonical(kept, floatless)      # the same value, keys sorted: what its readers parse
    return fast.decode() if fast is not None else json.dumps(kept, ensure_ascii=False)


def stable_digest(table: str, row: Any, floatless: bool = False) -> bytes | None:
    """SHA-256 of a version's columns that the release never changes (``MUTABLE``) but the
    history's own keys ('_'), printed in key order by ``jsonfast.canonical`` (orjson: one
    text per value) or, where it declines, by ``repr`` (a parsed JSON value — str, int,
    float, bool, None, list, dict — prints one way, and two that print alike are equal);
    None for a row that is not an object. Two versions of a row with equal stable
    digests hold equal values in every column an UPDATE may not touch — exactly when
    ``judge_change`` finds nothing in an UPDATE — so such an UPDATE needs neither version's
    text; any other later version is judged in full (``Scan.deferred``). ``floatless``: as
    ``jsonfast.canonical`` takes it."""
    if not isinstance(row, dict):
        return None
    keep = row.copy()
    for f in MUTABLE.get(table, ()):
        keep.pop(f, None)
    if keep and min(keep) < "a":             # a key that may start with '_' (the history's own)
        keep = {f: v for f, v in keep.items() if not f.startswith("_")}
    fast = jsonfast.canonical(keep, floatless)
    if fast is not None:
        return hashlib.sha256(fast).digest()
    # A float, a long integer or a lone surrogate: ``repr`` of the sorted items, marked so
    # that it never equals a canonical text's digest (the two versions are then judged in full).
    return hashlib.sha256(b"r" + repr(sorted(keep.items())).encode()).digest()


def judge_deferred(scan: Scan, fetch: Callable[[list[int]], Mapping[int, str]], cap: int) -> None:
    """Judge ``scan.deferred`` (later versions of digested rows: rare, a DBA's doing) with
    the versions before them read again by id (``fetch``), into ``scan.changes``."""
    if not scan.deferred:
        return
    texts = fetch(sorted({d[5] for d in scan.deferred}))
    for table, key, op, actor, at, before, after in scan.deferred:
        if len(scan.changes) > cap * 4:
            break
        f = judge_change(table, key, op, actor, at, texts.get(before, "{}"), after)
        if f is not None:
            scan.changes.append(f)
    scan.deferred = []


class _Links:
    """The history's links checked in seq order as the versions stream past in id order.

    A chained version whose seq is the next one is judged at once (it follows the version
    before it, and seq equals its position), then any that waited for it. One whose seq
    is further on waits (``ahead``: a version chained after a later id — a writer found
    the head taken — waits only until the gap closes). At the end, what still waits (a
    version removed or renumbered leaves a gap nothing closes) and any version whose seq
    was already passed (two versions with one seq) are judged in seq order from where
    the chain stopped, as one sorted list would judge them: positions run on, each seq
    compared with its position and each link with the one before."""

    def __init__(self) -> None:
        self.next = 1                    # the seq (and position) judged next
        self.prev = GENESIS              # the last judged version's hash
        self.count = 0
        self.ahead: dict[int, tuple[str, bytes, bytes]] = {}
        self.late: list[tuple[int, str, bytes, bytes]] = []

    def add(self, seq: int, rid: str, stored_prev: bytes, stored: bytes, findings: list[Finding]) -> None:
        self.count += 1
        if seq == self.next:
            self._judge(self.next, seq, rid, stored_prev, stored, findings)
            ahead = self.ahead
            while ahead and self.next in ahead:
                r, p, h = ahead.pop(self.next)
                self._judge(self.next, self.next, r, p, h, findings)
        elif seq > self.next and seq not in self.ahead:
            self.ahead[seq] = (rid, stored_prev, stored)
        else:
            self.late.append((seq, rid, stored_prev, stored))

    def _judge(self, pos: int, seq: int, rid: str, stored_prev: bytes, stored: bytes, findings: list[Finding]) -> None:
        if seq != pos:
            findings.append(Finding("history_chain", said("history version {seq} where {pos} was expected (versions removed or renumbered)", seq=seq, pos=pos), account=said("fl.record_log id={rid} seq={seq}", rid=rid, seq=seq)))
        if stored_prev != self.prev:
            findings.append(Finding("history_chain", said("history version {seq} does not follow version {value} (versions removed, inserted or "
                                                          "reordered)", seq=seq, value=seq - 1),
                                    account=said("fl.record_log id={rid} seq={seq}", rid=rid, seq=seq)))
        self.prev = stored
        self.next = pos + 1

    def finish(self, findings: list[Finding]) -> bytes:
        """Judge what still waits; the last version's hash (what the head must hold)."""
        rest = sorted([(seq, *v) for seq, v in self.ahead.items()] + self.late)
        self.ahead, self.late = {}, []
        for seq, rid, stored_prev, stored in rest:
            self._judge(self.next, seq, rid, stored_prev, stored, findings)
        return self.prev


def scan_full(log: Iterable[Sequence[str]], head: Sequence[Sequence[str]], cap: int,
              digested: Collection[str] = (), project: bool = True) -> Scan:
    """One pass over the history (columns RECORD_COLS, optionally + SEAL_COLS; in id
    order): its chain check, the latest version of every row (``latest_versions``), how
    many versions are not chained yet, and every UPDATE version that changed what the
    release never changes (beside the version before it). Each version's own hash — and
    its own seal, when read — is checked as it passes; only (seq, id, prev_hash, hash) is
    kept for the links, so memory grows with the rows recorded (their latest text), not
    with every version's text. The rows of the ``digested`` tables (but a held line's
    versions from before 0032, keyed by ``pos``) are kept as their latest version's id and
    digest (``Scan.digested``), and a later version of one is judged after the scan
    (``Scan.deferred``, ``judge_deferred``). ``project=False``: a ``PROJECTED`` table's
    latest versions are not kept as text at all (``latest`` holds an empty mapping for it):
    its reader judges each latest version as it streams past in a read of its own, told
    which version is the latest by ``Scan.digested`` (the online ``actors`` check,
    ledger.store.verify_actors) — ~300 bytes a held entry the verdict no longer keeps."""
    findings: list[Finding] = []
    changes: list[Finding] = []
    latest: dict[str, MutableMapping[str, tuple[int, str]]] = {}
    dig: dict[str, Versions] = {}
    deferred: list[tuple[str, str, str, str, str, int, str]] = []
    proj: dict[str, dict[str, str]] = {}            # PROJECTED tables' latest versions (``project``)
    was_st: bytes | None = None
    # The links are checked as they pass (``_Links``): in seq order, whatever order the ids
    # put them in; only a version that comes before its turn waits, so memory does not grow
    # with the history.
    links = _Links()
    # an entry's first position as integer columns (ledger.core.keyed): one per entry
    order: dict[str, Any] = {t: (Positions() if t == "fl.entry" else {}) for t in ORDERED}
    writers: dict[str, array[int]] = {}
    unchained = 0
    loose: list[tuple[str, str, str, str]] = []
    settings: list[SettingVersion] = []

    def wrote(r: Sequence[str], key: str) -> None:
        if r[3] == "INSERT":
            eid = _entry_id(key)
            if eid is not None:
                w = writers.get(r[6])
                if w is None:
                    writers[r[6]] = w = array("q")
                w.append(eid)

    def keep(i: int, r: Sequence[str], table: str, key: str, text: str) -> None:
        t = latest.get(table)
        if t is None:
            # the postings' memos: one version per entry, kept as integers when empty (keyed)
            latest[table] = t = MemoVersions() if table == "fl.posting" else {}
        was = t.get(key)
        if was is None or i > was[0]:
            t[key] = (i, text if was is None or table != "fl.posting" else _merged_memos(was[1], text))
            if was is not None and (was[1] != text or r[3] != "UPDATE") and len(changes) <= cap * 4:
                f = judge_change(table, key, r[3], r[6], r[7], was[1], text)
                if f is not None:
                    changes.append(f)
            if was is None and table in ORDERED:
                order[table][key] = (int(r[1]) if r[1] else None, i)
                if table == "fl.entry":
                    wrote(r, key)

    for r in log:
        i = int(r[0])
        row_b = r[5].encode()           # once, for the version's digest, its own seal and its link
        text, memos = split_entry_version(r[4], r[5]) if r[2] == "fl.entry" else (r[5], None)
        if r[2] in digested and '"pos"' not in r[4]:
            d = dig.get(r[2])
            if d is None:
                dig[r[2]] = d = Versions()
            had = d.get(r[4])
            if had is None or i > had[0]:
                h = hashlib.sha256(row_b if text is r[5] else text.encode()).digest()
                st: bytes | None = None
                if r[2] in PROJECTED or r[2] in MUTABLE:
                    row, floatless = _loads_floatless(text)
                    if r[2] in PROJECTED:
                        kept = proj.setdefault(r[2], {})
                        if project:
                            kept[r[4]] = _project(r[2], row, text, floatless)
                    if r[2] in MUTABLE:
                        st = stable_digest(r[2], row, floatless)
                        was_st = d.stable(r[4])
                d.put(r[4], i, h, st if r[2] in MUTABLE else None)
                if had is not None and (had[1] != h or r[3] != "UPDATE") and len(deferred) <= cap * 4 and not (
                        r[3] == "UPDATE" and st is not None and st == was_st):
                    deferred.append((r[2], r[4], r[3], r[6], r[7], had[0], text))
                if had is None and r[2] in ORDERED:
                    order[r[2]][r[4]] = (int(r[1]) if r[1] else None, i)
                    if r[2] == "fl.entry":
                        wrote(r, r[4])
        else:
            keep(i, r, r[2], r[4], text)
            if r[2] == "fl.setting" and r[4] in WATCHED_SETTINGS:
                settings.append(((int(r[1]) if r[1] else None, i), text, r[6], r[7], (r[10] or None) if len(r) > 10 else None))
        if memos is not None:             # an entry's one version (0055): its postings' memos
            keep(i, r, "fl.posting", memos[0], memos[1])
        if len(r) > 11 and (not r[11] or _unhex(r[11]) != own_seal(r, row_b)):
            where = f"fl.record_log id={r[0]}" + (f" seq={r[1]}" if r[1] else "")
            findings.append(Finding("history_chain", said("history version {value} ({value2} {value3}) {more}{more2}", value=r[0], value2=r[2], value3=r[4], more=(said("has no seal of its own: it was inserted with the history's triggers off") if not r[11] else said("does not match its own seal: the version or its seal was rewritten")), more2=('' if r[1] else said("; it is never chained"))), account=where))
        if not r[1]:
            unchained += 1
            if len(loose) < UNCHAINED_SHOWN:
                loose.append((r[0], r[2], r[4], r[7]))
            continue
        seq = int(r[1])
        stored_prev, stored = _unhex(r[8]), _unhex(r[9])
        if link_hash(r, stored_prev, row_b) != stored:
            findings.append(Finding("history_chain", said("history version {seq} ({value} {value2}) does not match its hash: the recorded row or "
                                                          "its link was rewritten", seq=seq, value=r[2], value2=r[4]),
                                    account=said("fl.record_log id={value} seq={seq}", value=r[0], seq=seq)))
        links.add(seq, r[0], stored_prev, stored, findings)
    prev = links.finish(findings)
    if len(head) != 1:
        findings.append(Finding("history_chain", said("the history head has {head} rows; it must have one", head=len(head))))
    else:
        hseq, hhash = int(head[0][0]), _unhex(head[0][1])
        if hseq != links.count:
            findings.append(Finding("history_chain", said("the history head counts {hseq} chained versions but {count} are visible: versions were "
                                                          "removed or are hidden from this reader", hseq=hseq, count=links.count)))
        if hhash != prev:
            findings.append(Finding("history_chain", said("the history head's hash is not the last version's")))
    chain = result("history_chain", "the history of every row an auditor relies on (fl.record_log) is one SHA-256 "
                   "chain, recomputed from its first version, ending at fl.record_head; every version sealed by the "
                   "trigger that wrote it", links.count, findings, cap)
    return Scan(chain, {**{tbl: rows.texts() if isinstance(rows, MemoVersions) else {k: v[1] for k, v in rows.items()}
                           for tbl, rows in latest.items()}, **proj},
                unchained, changes, order, dig, deferred, writers, loose, settings)


def check_chain(log: Sequence[Sequence[str]], head: Sequence[Sequence[str]], cap: int) -> CheckResult:
    return scan(log, head, cap)[0]


def latest_versions(log: Sequence[Sequence[str]]) -> dict[str, dict[str, str]]:
    """table -> key -> latest recorded row (by id), both as the jsonb text PostgreSQL
    printed (one canonical text per value: keys ordered, spacing fixed), so a row that is
    unchanged compares equal as text and only a difference is parsed."""
    out: dict[str, dict[str, str]] = {}
    last = -1
    rows: Sequence[Sequence[str]] = log
    for r in log:                       # read in id order; sort only if it was not
        i = int(r[0])
        if i < last:
            rows = sorted(log, key=lambda r: int(r[0]))
            break
        last = i
    for r in rows:
        t = out.get(r[2])
        if t is None:
            out[r[2]] = t = {}
        text, memos = split_entry_version(r[4], r[5]) if r[2] == "fl.entry" else (r[5], None)
        t[r[4]] = text
        if memos is not None:
            out.setdefault("fl.posting", {})[memos[0]] = memos[1]
    return out


Position = tuple[int | None, int]          # (chain position or None if not chained yet, history id)


def closes_sealed_by(latest: Mapping[str, Mapping[str, str]],
                     first: Mapping[str, Mapping[str, Position]] | None = None) -> dict[str, tuple[int, str, Position | None]]:
    """Month ('2023-01') -> (how far the journal's chain reached when it was closed, the
    closing transaction's id, where the history recorded the close: ``Scan.first``)."""
    out: dict[str, tuple[int, str, Position | None]] = {}
    where = (first or {}).get("fl.closed_period", {})
    for key, text in latest.get("fl.closed_period", {}).items():
        row = jsonfast.loads(text)
        if isinstance(row, dict) and row.get("_sealed_by") is not None and row.get("month"):
            out[str(row["month"])[:7]] = (int(row["_sealed_by"]), str(row.get("_xid") or ""), where.get(key))
    return out


def recorded_before(a: Position | None, b: Position | None) -> bool:
    """Did the history record version ``a`` before version ``b``? By chain position when
    both are chained (an unsealed or hand-made version is chained, if ever, after every
    version already there), else by the history's own ids (one transaction's versions
    are numbered in the order it wrote them)."""
    if a is None or b is None:
        return False
    if a[0] is not None and b[0] is not None:
        return a[0] < b[0]
    return a[1] < b[1]


def _entry_id(key: str) -> int | None:
    """An fl.entry history key ``{"id": N}`` as N (None if it is not one)."""
    try:
        return int(key[key.index(":") + 1:key.rindex("}")])
    except ValueError:
        return None


def entry_key(eid: int) -> str:
    """An entry's key in the history, as PostgreSQL prints the jsonb."""
    return f'{{"id": {int(eid)}}}'


def _own(text: str, table: str = "") -> Any:
    """A recorded row without the history's own keys (those starting with '_') and the
    columns its history does not follow (``VOLATILE``)."""
    row = jsonfast.loads(text)
    skip = VOLATILE.get(table, ())
    added = ADDED.get(table, ())
    return {f: v for f, v in row.items() if not f.startswith("_") and f not in skip
            and not (v is None and f in added)} if isinstance(row, dict) else row


def row_finding(table: str, key: str, now: str | None, was: str | None) -> Finding | None:
    """A row of a hooked table (jsonb text, None: gone) beside its latest recorded version
    (None: none): what differs, named by table and key; None when they agree."""
    subject = _subject(table, jsonfast.loads(key))
    if table == LINES and is_batch_key(key):
        return _batch_finding(now, was, subject)
    if was is None:
        return Finding("histories", said("this row has no history: it was written with the history's triggers off (or its key was "
                                         "changed)"), **subject)
    if now is None:
        return Finding("histories", said("recorded in the history but no longer in the table (deleted, or its key was changed)"), **subject)
    row, rec = _own(now, table), _own(was, table)
    if row == rec:
        return None
    fields = sorted(f for f in row.keys() | rec.keys() if row.get(f) != rec.get(f))
    return Finding("histories", said("changed behind its history: {changes}", changes=said_joined("; ", (
        said("{field} now {now}, recorded {recorded}", field=f, now=_short(row.get(f)), recorded=_short(rec.get(f)))
        for f in fields[:4]))), **subject)


def _batch_finding(now: str | None, was: str | None, subject: dict[str, Any]) -> Finding | None:
    """An import batch's lines (their count and digest, recomputed) beside the version the
    history recorded when they were written (0057)."""
    if was is None:
        return Finding("histories", said("import lines of this batch have no history: they were written with the history's "
                                         "triggers off (or moved here from another batch)"), **subject)
    if now is None:
        return Finding("histories", said("the history recorded import lines of this batch, and none is left in the table "
                                         "(deleted, or moved to another batch)"), **subject)
    n, r = _own(now, LINES), _own(was, LINES)
    if n == r:
        return None
    return Finding("histories", said("the batch's import lines differ from the digest its history recorded when they were "
                                     "written: {value} line(s) now, {value2} recorded — a line was rewritten, removed, added "
                                     "or moved behind the history (a line's reference, entry, hash or row number)", value=n.get('lines'), value2=r.get('lines')),
                   **subject)


# A held line as 0032 records it, beside the columns 0017 recorded per line.
HELD_LINE = ("pos", "account_id", "unit", "side", "amount", "line_ref", "memo")


def held_line_finding(key: str, text: str, hist: Mapping[str, str], parsed: dict[str, Any]) -> Finding | None:
    """A held line's version from before 0032 (key {pending_id, pos}) beside its held
    entry's version since (key {pending_id}, the lines as arrays): the migration recorded
    each held entry's lines as they then were, so a line changed behind its history before
    it still differs here. ``parsed``: the held entries' lines already parsed, by key."""
    k = jsonfast.loads(key)
    entry_key = f'{{"pending_id": {int(k["pending_id"])}}}'
    if entry_key not in hist:
        return row_finding("fl.pending_posting", key, None, text)
    if entry_key not in parsed:
        row = jsonfast.loads(hist[entry_key])
        parsed[entry_key] = {int(x[0]): dict(zip(HELD_LINE, x, strict=False)) for x in row.get("lines") or []}
    now = parsed[entry_key].get(int(k["pos"]))
    was = {f: v for f, v in _own(text).items() if f in HELD_LINE}
    if now == was:
        return None
    subject = _subject("fl.pending_posting", k)
    if now is None:
        return Finding("histories", said("a held line recorded in the history is missing from its held entry's lines"),
                       **subject)
    fields = sorted(f for f in HELD_LINE if now.get(f) != was.get(f))
    return Finding("histories", "a held line differs from its own history (changed behind it before 0032 recorded "
                   "its held entry's lines): " + "; ".join(f"{f} {_short(now.get(f))} in the held entry's lines, "
                                                          f"{_short(was.get(f))} in the line's history"
                                                          for f in fields[:4]), **subject)


def check_tables(latest: Mapping[str, Mapping[str, str]], keys: Mapping[str, Sequence[str]],
                 current: Mapping[str, Iterable[Sequence[str]]],
                 posting_memos: Mapping[int, Mapping[str, str]] | None, cap: int,
                 unreadable: Sequence[str] = (), changes: Sequence[Finding] = (),
                 release: Collection[str] = ()) -> CheckResult:
    """Each hooked table — its rows as (key, row) jsonb texts — against its latest
    recorded versions. ``unreadable``: hooked tables this reader may not read (named in
    the description, not judged). ``changes``: the versions ``scan_full`` found recording
    a change the release never makes. ``release``: the tables the release hooks
    (fingerprint.hooked_tables): one missing from the hooked list, or a table with
    recorded versions that is not hooked any more, is a finding — unhooking a table
    must not take it out of the comparison unseen (ATTACK3 R1).

    The same comparison in two parts (``table_findings``, then ``memo_findings`` once
    the postings are read): the online verdict runs the first while a second session
    still reads the postings."""
    n, findings = table_findings(latest, keys, current, cap, unreadable, changes, release)
    if posting_memos is not None and "fl.posting" in keys and "fl.posting" not in unreadable:
        m, more = memo_findings(latest.get("fl.posting", {}), posting_memos)
        n, findings = n + m, findings + more
    return tables_result(n, findings, cap, unreadable)


def table_findings(latest: Mapping[str, Mapping[str, str]], keys: Mapping[str, Sequence[str]],
                   current: Mapping[str, Iterable[Sequence[str]]], cap: int,
                   unreadable: Sequence[str] = (), changes: Sequence[Finding] = (),
                   release: Collection[str] = (), later: Collection[str] = ()) -> tuple[int, list[Finding]]:
    """(rows compared, findings) of ``check_tables`` for every hooked table but
    ``fl.posting`` (its memos: ``memo_findings``) and those in ``later`` (compared by
    digest once another session has read them: ``digest_findings``). A row is compared
    as text first (an
    unchanged row prints as its recorded version does); only a row whose text differs
    is parsed (``row_finding``), so a text that prints differently but holds the same
    values is no finding."""
    findings: list[Finding] = list(changes)
    for table in sorted(set(release) - set(keys)):
        findings.append(Finding("histories", said("the release hooks this table into the chained history, but fl.chained_table no longer "
                                                  "lists it: its rows were not compared with their history (someone unhooked it)"), account=table))
    # fl.seal_queue's versions (0080) are evidence of what a queued entry's writer committed, not a hooked
    # table's rows (a queue row leaves when sealed): ledger.core.queued judges them.
    for table in sorted(set(latest) - set(keys) - set(release) - {QUEUED}):
        findings.append(Finding("histories", said("{value} recorded version(s) of a table that is not hooked any more: its rows were not "
                                                  "compared with their history", value=len(latest[table])), account=table))
    n = 0
    for table in sorted(set(keys) - set(unreadable) - {"fl.posting"} - set(later)):
        hist: Mapping[str, str] = latest.get(table, {})
        seen: set[str] = set()
        rows: Iterable[Sequence[str]] = current.get(table, ())
        for k, text in (with_batches(rows) if table == LINES else rows):
            seen.add(k)
            n += 1
            if covered(table, k, hist):
                continue
            was_text = hist.get(k)
            if was_text != text:
                f = row_finding(table, k, text, was_text)
                if f is not None:
                    findings.append(f)
        lines: dict[str, Any] = {}
        for k in sorted(hist.keys() - seen):
            f = (held_line_finding(k, hist[k], hist, lines) if table == "fl.pending_posting" and '"pos"' in k
                 else row_finding(table, k, None, hist[k]))
            if f is not None:
                findings.append(f)
    return n, findings


def digest_findings(table: str, hist: Mapping[str, str], digests: Mapping[str, bytes],
                    fetch: Callable[[list[str]], Mapping[str, str]],
                    recorded: Mapping[str, tuple[int, bytes]] | None = None,
                    fetch_recorded: Callable[[list[int]], Mapping[int, str]] | None = None) -> tuple[int, list[Finding]]:
    """(rows compared, findings) of one hooked table whose rows arrived as the SHA-256 of
    their texts (key -> digest; another session read them while this one scanned the
    history): each against the digest of its latest recorded version — from ``recorded``
    (key -> (history id, digest), ``Scan.digested``) or of its text in ``hist`` (hashlib,
    here). Only the rows that differ are read again as text (``fetch``; their recorded
    versions by id, ``fetch_recorded``) to be named with the fields that differ, exactly
    as ``table_findings`` names them."""
    findings: list[Finding] = []
    rec = recorded or {}
    differ = sorted(k for k, d in digests.items()
                    if not covered(table, k, hist, rec)
                    and (((r := rec.get(k)) is not None and r[1] != d)
                         or (r is None and ((was := hist.get(k)) is None
                                            or hashlib.sha256(was.encode()).digest() != d))))
    missing = sorted((hist.keys() | rec.keys()) - digests.keys())
    need = set(differ) | set(missing)
    for k in missing:                     # a held line from before 0032 is judged beside its held entry
        if table == "fl.pending_posting" and '"pos"' in k:
            need.add(f'{{"pending_id": {int(jsonfast.loads(k)["pending_id"])}}}')
    ids = {rec[k][0]: k for k in need if k in rec}
    texts = fetch_recorded(sorted(ids)) if ids and fetch_recorded is not None else {}
    resolved: dict[str, str] = {k: v for k, v in hist.items() if k in need or '"pos"' in k}
    resolved.update({k: texts.get(i, "{}") for i, k in ids.items()})
    current = fetch(differ) if differ else {}
    for k in differ:
        f = row_finding(table, k, current.get(k), resolved.get(k))
        if f is not None:
            findings.append(f)
    lines: dict[str, Any] = {}
    for k in missing:
        f = (held_line_finding(k, resolved[k], resolved, lines) if table == "fl.pending_posting" and '"pos"' in k
             else row_finding(table, k, None, resolved[k]))
        if f is not None:
            findings.append(f)
    return len(digests), findings


def memo_findings(hist: Mapping[str, str], posting_memos: Mapping[int, Mapping[str, str]]) -> tuple[int, list[Finding]]:
    """(entries compared, findings): each entry's posting memos (read with its postings)
    against the memos its history recorded (one version per entry)."""
    findings: list[Finding] = []
    with_memos = {f'{{"entry_id": {int(e)}}}': dict(m) for e, m in posting_memos.items()}
    # A version kept as an empty memo (keyed.MemoTexts) of an entry with no memo now is the
    # common case passed over below: only the others are listed, in the same order.
    for k in sorted(with_memos.keys() | (set(hist.texted()) if isinstance(hist, MemoTexts) else hist.keys())):
        now = with_memos.get(k, {})
        rec_text = hist.get(k)
        if not now and rec_text is not None and rec_text.startswith('{"memos": {}, '):
            continue                      # no memo then, none now: the common case, unparsed
        rec = jsonfast.loads(rec_text) if rec_text is not None else {}
        was: dict[str, Any] = {p: m for p, m in (rec.get("memos") or {}).items() if m not in ("", None)}
        if now != was:
            eid = jsonfast.loads(k)["entry_id"]
            changed = sorted(set(now) ^ set(was) | {p for p in set(now) & set(was) if now[p] != was[p]}, key=int)
            findings.append(Finding("histories", "posting memo(s) differ from their history (posting "
                                    + ", ".join(f"{p}: now {_short(now.get(p))}, recorded {_short(was.get(p))}"
                                                for p in changed[:3]) + ")",
                                    **_subject("fl.posting", {"entry_id": eid})))
    return len(hist), findings


def tables_result(n: int, findings: Sequence[Finding], cap: int, unreadable: Sequence[str] = ()) -> CheckResult:
    return result("histories", "every row of every table an auditor relies on equals the latest version its "
                  "chained history recorded, and no version records a change fundledger never makes (an UPDATE of an "
                  "append-only row, or of a column the release does not change) (every table hooked with fl._chain_table: users, roles, requests and "
                  "their events, budgets, registers, closes, year-close results, import lines, the operations log, "
                  "monitor acknowledgements, entries' source/reason/created_at/client address, posting memos, and "
                  "the reference data every figure reads: chart, holders, units, books, region settings)"
                  + (f"; not readable by this role, not checked: {', '.join(sorted(unreadable))}" if unreadable
                     else ""), n, list(findings), cap)


# The tables that chain their own rows, one chain each (hash = sha256(prev_hash || link
# text), the first prev_hash empty, in id order): ledger.store.verify_independent reads
# each row's id, link text (the trigger's own expression), prev_hash and hash.
def check_links(table: str, rows: Iterable[Sequence[str]], cap: int) -> list[Finding]:
    """One self-chained table: every link recomputed with hashlib, in id order."""
    findings: list[Finding] = []
    prev = b""
    for r in rows:
        who: dict[str, Any] = {"account": f"{table} id={r[0]}"}
        stored_prev, stored = _unhex(r[2]), _unhex(r[3])
        if stored_prev != prev:
            findings.append(Finding("record_links", said("row {value} does not follow the row before it (rows removed, inserted or reordered)", value=r[0]), **who))
        if hashlib.sha256(stored_prev + r[1].encode()).digest() != stored:
            findings.append(Finding("record_links", said("row {value} does not match its hash: it was rewritten", value=r[0]), **who))
        prev = stored
        if len(findings) > cap * 4:
            break
    return findings


def links_result(checked: int, findings: Sequence[Finding], cap: int, tables: Sequence[str]) -> CheckResult:
    return result("record_links", "the tables that chain their own rows (" + ", ".join(tables) + "): every "
                  "link recomputed with hashlib from the first row; a removed last row shows in histories",
                  checked, list(findings), cap)
