"""The independent verdict: every invariant recomputed in Python from raw rows.

Nothing here runs in the audited database. The rows come from a pinned, read-only
session (ledger.store.verify_independent) or from an export on disk
(ledger.io.archive), always as the same plain text PostgreSQL prints for each column
(DateStyle ISO, TimeZone UTC, bytea hex; an empty field is NULL or the empty string,
which no canonical text tells apart). From those texts this module rebuilds each
entry's canonical text, its SHA-256 digest and the hash chain (hashlib), the balances,
daily movements and bank totals, the gapless voucher numbers, the closed periods, the
reversals and the fund-request workflow — and compares each with what the database
keeps. Findings are values (ledger.core.findings); nothing is raised for bad data.

The canonical text is the one the seal hashes (fl.seal_transaction, sql/0001)::

    id|book|entry_date|idempotency_key|reverses|kind|memo|created_by|content_hash-hex
    # book:chart:unit:holder:component:side:amount:line_ref ; ... (postings in id order)

Postings stream through once (the caller's order; postings of one entry normally arrive
together and in id order — an entry whose postings do not is recomputed from its
postings fetched again, ``Proof.redo``), so memory grows with entries and accounts,
never with postings. Online they arrive grouped instead, one row per entry
(``Proof.grouped``, several ranges at once); an entry that is anything but ordinary is
handed back and read posting by posting, so findings are always the exact path's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress
from typing import Any

from ledger.core import histories, jsonfast
from ledger.core import queued as queued_check
from ledger.core.findings import FINDINGS_CAP, CheckResult, Finding, VerifyReport, result, said, voucher_label
from ledger.core.joined import in_force as joined_in_force
from ledger.core.money import format_yuan
from ledger.core.requests import TRANSITIONS

GENESIS = bytes(32)
SEAL_CLOCK_SLACK = dt.timedelta(minutes=5)

Row = Sequence[str]

# The columns read from each table, in this order, online and in an export.
TABLES: dict[str, tuple[str, ...]] = {
    "chain_head": ("seq", "hash"),
    "account": ("id", "book", "chart_code", "unit", "holder", "component", "bank_account_id", "balance",
                "debits", "credits"),
    "bank_account": ("id", "book", "holder", "unit", "balance", "reserved"),
    "account_day": ("account_id", "day", "debits", "credits"),
    "entry": ("id", "book", "entry_date", "idempotency_key", "reverses", "kind", "memo", "created_by",
              "content_hash", "reason", "source", "created_at", "client_addr", "created_xid"),
    "posting": ("id", "entry_id", "account_id", "side", "amount", "entry_date", "unit", "line_ref", "memo"),
    "seal": ("seq", "entry_id", "book", "fiscal_year", "voucher_no", "content_digest", "prev_hash", "hash",
             "sealed_at"),
    "seal_queue": ("entry_id", "book", "fiscal_year", "content_digest"),
    "voucher_counter": ("book", "fiscal_year", "last_no"),
    "closed_period": ("month", "closed_by", "closed_at", "reason"),
    "fund_request": ("id", "state", "submitted_by", "approved_by", "book", "amount_approved"),
    "request_event": ("id", "request_id", "action", "from_state", "to_state", "actor", "at"),
    "book": ("code", "pooled_component"),
    # (0130, ATTACK16b D4) what makes an account a fund figure, and each unit's recorded first day
    "chart": ("code", "kind"),
    "unit_first_day": ("book", "unit", "first_day", "entry_id", "frozen_through"),
    # (0154, ATTACK17b F1) each unit's joining date: nothing is posted on the unit dated before it;
    # (0157, G5/G9) how it was set: 'region' (registered by the office) is the months-payable basis
    "unit_joined": ("unit", "joined_on", "source"),
    # (0167) the joining dates the city bureau registered later: the latest (highest id) of a unit's is
    # the date in force, and a registration (its months-payable basis, like source 'region')
    "unit_joined_later": ("id", "unit", "joined_on"),
}
# How each table is ordered when read (an export is written in the same order).
ORDER_BY: dict[str, str] = {
    "account": "id", "bank_account": "id", "account_day": "account_id, day", "entry": "id",
    "posting": "entry_id, id", "seal": "seq", "seal_queue": "entry_id", "voucher_counter": "book, fiscal_year",
    "closed_period": "month", "fund_request": "id", "request_event": "request_id, at, id", "chain_head": "seq",
    "book": "code", "chart": "code", "unit_first_day": "book, unit",
    "unit_joined": "unit", "unit_joined_later": "id",
}

CHECK_ORDER = ("entry_balanced", "posting_copies", "vouchers", "account_balances", "account_days", "bank_balances",
               "no_overdraft", "day_balances", "components_separate", "pooled_shares", "closed_periods", "reversals",
               "requests", "first_days", "hash_chain")
DESCRIPTIONS = {
    "entry_balanced": "every entry has >= 2 postings and balances per (book, unit, component) — recomputed in Python",
    "posting_copies": "each posting's entry and account exist, its line reference is in the reference form (0107), "
                      "its date is its entry's, its unit its account's, its "
                      "account in its entry's book",
    "vouchers": "one seal per entry (or one queue row), seals numbered 1..n, vouchers gapless 1..n per (book, year) "
                "in sealing order, counters equal the last number, the chain head counts every seal",
    "account_balances": "fl.account debits, credits and balance equal the sums of its postings",
    "account_days": "fl.account_day equals the daily sums of postings",
    "bank_balances": "each physical bank account's balance equals its ledger accounts' postings, its reserved the "
                     "approved, not yet disbursed fund requests of its book (special account; 0 elsewhere), "
                     "0 <= reserved <= it",
    "no_overdraft": "no physical bank account was ever below zero (running balance per committed transaction, in "
                    "seal order)",
    "day_balances": "no physical bank account, and no unit's share of the city expenditure account or the "
                    "treasury (1004 city_exp, 1005), ends any day below zero (running balance by entry date) — "
                    "recomputed in Python from the postings",
    "components_separate": "components never pay for each other: a unit's personal-account money in a physical "
                           "account never below zero, the pooled money in a physical account never below zero in "
                           "total (running balances per committed transaction, in seal order)",
    "pooled_shares": "a unit's share of the pooled city expenditure account (1004 city_exp) and of the treasury "
                     "account (1005) never below zero: it pays out only the money it holds there (migration 0030; "
                     "running balance per account, per committed transaction, in seal order)",
    "closed_periods": "no entry was written into a month, or dated before it, after that month was closed",
    "reversals": "each reversal reverses one earlier entry of its book alone and mirrors it exactly",
    "requests": "every fund request's history follows the workflow, ends in its state, approver is not submitter",
    "first_days": "each unit's recorded first day in the ledger (fl.unit_first_day, 0130: the months-payable basis) "
                  "is the date of the entry it names, an entry on the unit's fund figures of the transaction that "
                  "first posted on them (a row frozen by the migration: the earliest such date up to the entry it "
                  "was frozen through); every unit with a fund figure has one; no entry (above the rule point "
                  "unit_joined, 0154) posts on a unit dated before the unit joined (fl.unit_joined); a unit whose "
                  "joining date was registered (source region) and whose first fund-figure entry is above the rule "
                  "point first_day_joined (0157) needs no row: its joining date is its basis; a unit whose first "
                  "fund-figure entry is above the rule point unit_joined_required (0165) has a registered joining "
                  "date; a joining date the city bureau registered later (fl.unit_joined_later, 0167: the latest of "
                  "the unit's) is the date in force for all of these and a registration — recomputed in Python",
    "hash_chain": "the SHA-256 chain recomputed with hashlib from the canonical texts: every digest, every link, "
                  "the head",
}


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def link(prev: bytes, digest: bytes, voucher_no: int | str) -> bytes:
    """One chain link: sha256(prev || digest || voucher number as text)."""
    return hashlib.sha256(prev + digest + str(voucher_no).encode()).digest()


def unhex(text: str) -> bytes:
    """A bytea printed in hex (``\\x0a1b``) back to bytes."""
    return bytes.fromhex(text[2:] if text.startswith("\\x") else text)


def entry_text(r: Row) -> str:
    """The entry part of the canonical text (columns as TABLES["entry"])."""
    return "|".join((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], unhex(r[8]).hex()))


def account_prefix(r: Row) -> str:
    """An account's part of a leg: ``book:chart:unit:holder:component:``."""
    return ":".join((r[1], r[2], r[3], r[4], r[5])) + ":"


def _ts(text: str) -> dt.datetime:
    """A timestamptz printed with DateStyle ISO (``2023-01-05 10:00:00.5+00``)."""
    return dt.datetime.fromisoformat(text)


class _LaterCloses:
    """(0131, ATTACK16b D1) For a month, the closes of the months after it: the one the chain
    reached least far at (``histories.closes_sealed_by``) and the one written first (closed_at),
    by suffix minima over the closed months in order — one lookup per entry, not one per close."""

    def __init__(self, closes: Mapping[str, Row], sealed_by: Mapping[str, tuple[int, str, Any]]) -> None:
        self.months = sorted(closes)
        self.last = self.months[-1]
        n = len(self.months)
        self._sealed: list[tuple[int, str] | None] = [None] * (n + 1)
        self._written: list[Row | None] = [None] * (n + 1)
        for i in range(n - 1, -1, -1):
            m = self.months[i]
            s, w = self._sealed[i + 1], self._written[i + 1]
            b = sealed_by.get(m)
            self._sealed[i] = (b[0], m) if b is not None and (s is None or b[0] < s[0]) else s
            c = closes[m]
            self._written[i] = c if w is None or _ts(c[2]) < _ts(w[2]) else w

    def sealed_first(self, month: str) -> tuple[int, str] | None:
        """(chain position, month) of the close of a month after ``month`` the chain reached least far at."""
        return self._sealed[bisect_right(self.months, month)]

    def written_first(self, month: str) -> Row | None:
        """The closed_period row of a month after ``month`` closed first."""
        return self._written[bisect_right(self.months, month)]


def _fen(v: int) -> str:
    return format_yuan(v)


class _Codes:
    """Few-valued texts (books, dates, transaction ids and times) as small integers: each
    distinct text is kept once, each entry keeps its code in an ``array``."""

    __slots__ = ("code", "texts")

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self.texts: list[str] = []

    def __call__(self, text: str) -> int:
        c = self.code.get(text)
        if c is None:
            c = self.code[text] = len(self.texts)
            self.texts.append(text)
        return c


class _Entry:
    """One entry of ``_Entries``, read and written in place (a view of its columns)."""

    __slots__ = ("_i", "_s")

    def __init__(self, store: _Entries, i: int) -> None:
        self._s, self._i = store, i

    @property
    def text(self) -> str:
        return self.text_bytes.decode()

    @property
    def text_bytes(self) -> bytes:
        return self._s.head(self._i)

    @property
    def book(self) -> str:
        return self._s.books.texts[self._s.book[self._i]]

    @property
    def date(self) -> str:
        return self._s.dates.texts[self._s.date[self._i]]

    @property
    def year(self) -> int:
        return self._s.years[self._s.date[self._i]]

    @property
    def reverses(self) -> int | None:
        return self._s.reverses.get(self._s.ids[self._i])

    @property
    def created_at(self) -> str:
        return self._s.times.texts[self._s.created[self._i]]

    @property
    def xid(self) -> str:
        return self._s.xids.texts[self._s.xid[self._i]]

    @property
    def postings(self) -> int:
        return self._s.postings[self._i]

    @postings.setter
    def postings(self, n: int) -> None:
        self._s.postings[self._i] = n

    @property
    def digest(self) -> bytes | None:
        s, i = self._s, self._i
        return bytes(s.digests[32 * i:32 * i + 32]) if s.flags[i] & 1 else None

    @digest.setter
    def digest(self, d: bytes | None) -> None:
        s, i = self._s, self._i
        if d is None:
            s.flags[i] &= ~1
        else:
            s.digests[32 * i:32 * i + 32] = d
            s.flags[i] |= 1

    @property
    def done(self) -> bool:
        return bool(self._s.flags[self._i] & 2)

    @done.setter
    def done(self, v: bool) -> None:
        if v:
            self._s.flags[self._i] |= 2
        else:
            self._s.flags[self._i] &= ~2


class _Entries:
    """Every entry the verdict judges, as columns — its id, the entry part of its canonical
    text (UTF-8, in one buffer), book, date, time and transaction written (as ``_Codes``),
    postings counted, digest and flags — instead of one object per entry: about 150 bytes
    an entry where a dictionary of objects took ~700 (docs/benchmarks.md, 5b: the verdict's
    memory). Ids ascend (an entry table read out of id order is sorted once it is read; a
    repeated id keeps its last row, as a dictionary did); ``get`` and ``items`` give
    ``_Entry`` views that read and write the columns in place.

    ``keep=False`` (the verdict's flat-memory path): the canonical heads are not kept — the
    largest of these columns, ~100–150 bytes an entry, held until the last digest was made.
    Each entry keeps instead an 8-byte tag of its head (BLAKE2b keyed with a secret drawn
    for this run: no row can be written to match another's tag), and its head is read again
    as its postings arrive — online by each range of the grouped reader from the same
    snapshot, offline from the export's file by ``HeadCursor`` — and used only if its tag
    is this entry's (``check``): the digest is made from the very text the first read gave,
    or the verdict stops as unjudgeable (``ValueError``), never from another. The heads of
    the entries judged posting by posting (few: reversals, anything unordinary) are kept
    (``kept_heads``) once read."""

    def __init__(self, keep: bool = True) -> None:
        self.ids = array("q")
        self.keep = keep
        self.blob = bytearray()
        self.ends = array("q")
        self.tags = bytearray()                 # keep=False: 8 bytes an entry
        self.secret = os.urandom(16)
        self.kept_heads: dict[int, bytes] = {}
        # keep=False: where a head not kept is read again (``HeadCursor.head``), by entry id
        self.source: Callable[[int], bytes | None] | None = None
        self.books, self.dates, self.times, self.xids = _Codes(), _Codes(), _Codes(), _Codes()
        self.years: list[int] = []              # per date code
        # codes (indices into a list of the distinct values: far below 2**31) in 4 bytes, not 8
        self.book, self.date, self.created, self.xid = array("i"), array("i"), array("i"), array("i")
        self.postings = array("l")
        self.digests = bytearray()
        self.flags = bytearray()                # 1: has a digest, 2: its postings were seen
        self.reverses: dict[int, int] = {}
        self.dropped = False
        self.ordered = True                     # the rows came in ascending id order, once each

    def drop_texts(self) -> None:
        """Let the canonical heads go (~100 bytes an entry, one buffer given back whole)
        once every entry's digest is made: nothing after the postings reads them, and the
        checks that follow keep their own state per entry."""
        self.blob, self.ends, self.dropped = bytearray(), array("q"), True
        self.kept_heads, self.source = {}, None

    def tag(self, head: bytes) -> bytes:
        return hashlib.blake2b(head, digest_size=8, key=self.secret).digest()

    def check(self, k: int, head: bytes) -> bytes:
        """``head`` (a head read again) if it is the one entry ``k``'s first read gave; else
        the verdict cannot go on (the rows changed between two reads of one snapshot or
        file)."""
        if self.keep or self.tags[8 * k:8 * k + 8] != self.tag(head):
            raise ValueError(f"entry {self.ids[k]} read again is not the row first read")
        return head

    def head(self, k: int) -> bytes:
        """Entry ``k``'s canonical head (UTF-8)."""
        if self.dropped:
            raise RuntimeError("the entries' canonical texts were let go once every digest was made")
        if self.keep:
            return bytes(self.blob[self.ends[k - 1] if k else 0:self.ends[k]])
        eid = self.ids[k]
        got = self.kept_heads.get(eid)
        if got is not None:
            return got
        if self.source is None or (got := self.source(eid)) is None:
            raise ValueError(f"entry {eid}: its row was not found when read again")
        return self.check(k, got)

    def append(self, eid: int, text: str, book: str, date: str, year: int, rev: int | None, created_at: str,
               xid: str) -> None:
        self.ids.append(eid)
        if self.keep:
            self.blob += text.encode()
            self.ends.append(len(self.blob))
        else:
            self.tags += self.tag(text.encode())
        self.book.append(self.books(book))
        d = self.dates(date)
        if d == len(self.years):
            self.years.append(year)
        self.date.append(d)
        self.created.append(self.times(created_at))
        self.xid.append(self.xids(xid))
        if rev is not None:
            self.reverses[eid] = rev
        else:
            self.reverses.pop(eid, None)

    def seal(self) -> bool:
        """Once every row is in: sorted by id (a repeated id keeps its last row), and the
        per-entry columns sized. True when the rows came in ascending id order, once each."""
        ids = self.ids
        ordered = not any(ids[k] >= ids[k + 1] for k in range(len(ids) - 1))
        if not ordered:
            last = {eid: k for k, eid in enumerate(ids)}
            order = [last[eid] for eid in sorted(last)]
            if self.keep:
                starts = [self.ends[k - 1] if k else 0 for k in range(len(ids))]
                blob, ends = bytearray(), array("q")
                for k in order:
                    blob += self.blob[starts[k]:self.ends[k]]
                    ends.append(len(blob))
                self.blob, self.ends = blob, ends
            else:
                self.tags = bytearray(b"".join(self.tags[8 * k:8 * k + 8] for k in order))
            self.ids = array("q", (ids[k] for k in order))
            for name in ("book", "date", "created", "xid"):
                col = getattr(self, name)
                setattr(self, name, array("i", (col[k] for k in order)))
        n = len(self.ids)
        self.postings = array("l", [0]) * n
        self.digests = bytearray(32 * n)
        self.flags = bytearray(n)
        self.ordered = ordered
        return ordered

    def index(self, eid: int) -> int | None:
        ids = self.ids
        k = bisect_left(ids, eid)
        return k if k < len(ids) and ids[k] == eid else None

    def get(self, eid: int, default: None = None) -> _Entry | None:
        k = self.index(eid)
        return None if k is None else _Entry(self, k)

    def __getitem__(self, eid: int) -> _Entry:
        e = self.get(eid)
        if e is None:
            raise KeyError(eid)
        return e

    def __contains__(self, eid: object) -> bool:
        return isinstance(eid, int) and self.index(eid) is not None

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def items(self) -> Iterator[tuple[int, _Entry]]:
        for k, eid in enumerate(self.ids):
            yield eid, _Entry(self, k)

    def values(self) -> Iterator[_Entry]:
        for k in range(len(self.ids)):
            yield _Entry(self, k)


class HeadCursor:
    """The entries' canonical heads read a second time, as the postings ask for them
    (``_Entries.source``; offline: the export's entry file, in id order, while the posting
    file streams in entry order): one row ahead is held, never the table. A head asked for
    once the cursor has passed it (postings out of entry order), or any head when the first
    read was not in ascending id order (``ordered``), is looked up in every head read into a
    dictionary — what the entries kept before, only for such a file. The caller checks each
    head against the entry's tag (``_Entries.check``)."""

    def __init__(self, rows: Callable[[], Iterable[Row]], ordered: bool = True) -> None:
        self.rows = rows
        self.it: Iterator[Row] | None = iter(rows()) if ordered else None
        self.at: int | None = None          # the id of the row held
        self.cur = b""
        self.all: dict[int, bytes] | None = None

    def __call__(self, eid: int) -> bytes | None:
        if self.it is not None:
            while self.at is None or self.at < eid:
                r = next(self.it, None)
                if r is None:
                    break
                self.at, self.cur = int(r[0]), entry_text(r).encode()
            if self.at == eid:
                return self.cur
            self.it = None
        if self.all is None:
            self.all = {int(r[0]): entry_text(r).encode() for r in self.rows()}    # a repeated id: its last row
        return self.all.get(eid)


class _Moves:
    """Money moves (key, transaction id, entry, delta) — a bank account's, a component's or
    a unit's share's per entry, judged in seal order at the end (``Proof._first_negative``)
    — as four ``array`` columns with the keys and transaction ids coded (``_Codes``): ~30
    bytes a move where a tuple took ~150. Iterates as the tuples; pickles compactly (a
    forked child's ``Partial``)."""

    __slots__ = ("delta", "eid", "k", "keys", "x", "xids")

    def __init__(self) -> None:
        self.keys, self.xids = _Codes(), _Codes()
        self.k, self.x, self.eid, self.delta = array("i"), array("i"), array("q"), array("q")

    def append(self, move: tuple[str, str, int, int]) -> None:
        key, xid, eid, delta = move
        self.k.append(self.keys(key))
        self.x.append(self.xids(xid))
        self.eid.append(eid)
        self.delta.append(delta)

    def extend(self, moves: Iterable[tuple[str, str, int, int]]) -> None:
        for m in moves:
            self.append(m)

    def __iter__(self) -> Iterator[tuple[str, str, int, int]]:
        keys, xids = self.keys.texts, self.xids.texts
        for k, x, e, d in zip(self.k, self.x, self.eid, self.delta, strict=True):
            yield keys[k], xids[x], e, d

    def __len__(self) -> int:
        return len(self.eid)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.keys.texts, self.xids.texts, self.k, self.x, self.eid, self.delta)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        keys, xids, self.k, self.x, self.eid, self.delta = state
        self.keys, self.xids = _Codes(), _Codes()
        for t in keys:
            self.keys(t)
        for t in xids:
            self.xids(t)


NOSEQ = -(1 << 63)


class _SealOf:
    """Each entry's seal as the chain check read it (the last, should an entry have two):
    its seq and its voucher's book, year and number, in columns by the entry's place in
    ``_Entries``; the seals of entries that do not exist in a dictionary (rare: a deleted
    entry's). ``get``, ``in`` and ``top`` answer as the dictionary entry -> seq did."""

    def __init__(self, entries: _Entries) -> None:
        n = len(entries)
        self.entries = entries
        self.seq = array("q", [NOSEQ]) * n
        self.vno = array("q", [0]) * n
        self.by = array("i", [-1]) * n
        self.bys: list[tuple[str, int]] = []
        self.by_code: dict[tuple[str, int], int] = {}
        self.other: dict[int, tuple[int, str | None]] = {}      # entry (none such) -> seq, voucher
        self._top: int | None = None

    def set(self, eid: int, seq: int, book: str, year: int, vno: int) -> None:
        self._top = None
        k = self.entries.index(eid)
        if k is None:
            self.other[eid] = (seq, voucher_label(book, year, vno))
            return
        c = self.by_code.get((book, year))
        if c is None:
            c = self.by_code[(book, year)] = len(self.bys)
            self.bys.append((book, year))
        self.seq[k], self.vno[k], self.by[k] = seq, vno, c

    def get(self, eid: int, default: int | None = None) -> int | None:
        k = self.entries.index(eid)
        if k is None:
            o = self.other.get(eid)
            return default if o is None else o[0]
        v = self.seq[k]
        return default if v == NOSEQ else v

    def __contains__(self, eid: int) -> bool:
        return self.get(eid) is not None

    def top(self) -> int:
        """The greatest seq (0 when nothing is sealed)."""
        if self._top is None:
            known = [v for v in self.seq if v != NOSEQ]
            self._top = max([*known, *(o[0] for o in self.other.values())], default=0)
        return self._top

    def label(self, eid: int) -> str | None:
        """The entry's voucher (``RES/2023-000005``), None when it has no seal."""
        k = self.entries.index(eid)
        if k is None:
            o = self.other.get(eid)
            return None if o is None else o[1]
        if self.seq[k] == NOSEQ:
            return None
        book, year = self.bys[self.by[k]]
        return voucher_label(book, year, self.vno[k])


# The holders of the pooled accounts in which each unit's share is its own money (0030).
SHARE_HOLDERS = frozenset({"city_exp", "treasury"})


# The grouped feed (online): one row per entry, the columns of
# ledger.store.verify_independent.ENTRY_GROUPS_SQL.
GROUP_COLS = ("entry_id", "postings", "legs", "keys", "amounts", "first_date", "last_date", "memos", "longest_ref")

# (0107) A posting's line reference is at most 150 characters in the reference form
# (fl.reference_form_ok: printable ASCII without a space at either end, 汉字, the punctuation of
# document numbers, NFKC; CHECK posting_line_ref_form). Printable ASCII without a space at either
# end passes by construction: that test (string methods, no pattern) answers nearly every posting,
# and the others are judged by the reader's rule (``line_ref_problem``). On the grouped path an
# entry's legs are ``account:side:amount:line_ref`` joined by ';', with the longest reference's
# length beside them (``longest_ref``, the server's max of length()): an entry whose legs are all
# printable ASCII with no space after a field's colon or before a ';' or the end, its references
# at most 150 long, is whole (a reference holding ';' sends it posting by posting anyway); any other
# is read posting by posting, where each reference is judged.
_PRINTABLE = bytes(range(0x20, 0x7F))


def _plain_ref(text: str) -> bool:
    return len(text) <= 150 and text.isascii() and text.isprintable() and text[0] != " " and text[-1] != " "


def _plain_legs(legs: bytes) -> bool:
    return (legs.isascii() and not legs.translate(None, _PRINTABLE) and b": " not in legs and b" ;" not in legs
            and not legs.endswith(b" "))


def line_ref_problem(text: str) -> str:
    """Why a posting's line reference is outside the form (``''``: it is not) — the rule of
    CHECK posting_line_ref_form (0107; 0118: the widest repertoire a release admitted, since the
    row it names was written under it), as the reader words it."""
    if not text or _plain_ref(text):
        return ""
    if len(text) > 150:
        return "the reference is longer than 150 characters"
    from ledger.io.tables import reference_form_problem  # (the reader's rule: only for the rare others)

    return reference_form_problem(text, wide=True)   # (0118) the form it was written under



@dataclass
class Partial:
    """What one range of grouped entry rows contributes (``Proof.grouped``): merged by
    ``Proof.merge``. Entries whose rows are anything but ordinary go to ``slow``: their
    postings are read again one by one and judged by ``Proof.postings``, the exact path
    that names each posting at fault — so the grouped path never reports anything itself."""

    # each judged entry: its id, digest (32 bytes each, in one buffer) and postings counted
    ids: array[int] = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)
    counts: array[int] = field(default_factory=lambda: array("l"))
    memos: dict[int, dict[str, str]] = field(default_factory=dict)
    day: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    bank_moves: _Moves = field(default_factory=_Moves)
    comp_moves: _Moves = field(default_factory=_Moves)
    share_moves: _Moves = field(default_factory=_Moves)
    slow: set[int] = field(default_factory=set)
    postings: int = 0
    # (0130) per (book, unit) with a fund figure: ``FundFirst`` state of this range's entries
    fund: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    # the canonical heads of the ``slow`` entries when the entries keep none (``_Entries.keep``)
    heads: dict[int, bytes] = field(default_factory=dict)
    # (0154) (entry id, unit) of each entry posting on a unit dated before the unit joined
    before_joined: list[tuple[int, str]] = field(default_factory=list)
    # each judged entry's distinct ``account|unit|side`` keys in first-posting order (as
    # ``ids``): the API rules' legs of the entry (``Proof.legs_sink``), not read again
    leg_keys: list[tuple[bytes, ...]] = field(default_factory=list)


# The kinds of account whose movements are a unit's fund figures (with its book's pooled
# component): the accounts the surplus and the spending behind months payable are read from.
FUND_KINDS = frozenset({"net_assets", "revenue", "expenditure"})


def fund_seen(fund: dict[tuple[str, str], list[Any]], key: tuple[str, str], eid: int, date: str, xid: str,
              first: tuple[str, int, int | None] | None) -> None:
    """Fold one entry on ``key``'s fund figures into its state ``[lowest entry id, that entry's
    transaction, the earliest date up to the row's frozen_through (or ""), the named entry seen]``
    (``first``: the recorded row's first_day, entry_id, frozen_through; None without one)."""
    st = fund.get(key)
    if st is None:
        fund[key] = st = [eid, xid, "", False]
    elif eid < st[0]:
        st[0], st[1] = eid, xid
    if first is not None:
        if first[2] is not None and eid <= first[2] and (not st[2] or date < st[2]):
            st[2] = date
        if eid == first[1]:
            st[3] = True


def fund_merge(into: dict[tuple[str, str], list[Any]], part: Mapping[tuple[str, str], list[Any]]) -> None:
    for key, (lo, xid, upto, named) in part.items():
        st = into.get(key)
        if st is None:
            into[key] = [lo, xid, upto, named]
            continue
        if lo < st[0]:
            st[0], st[1] = lo, xid
        if upto and (not st[2] or upto < st[2]):
            st[2] = upto
        st[3] = st[3] or named


@dataclass
class Proof:
    """The state of one independent verification, fed table by table.

    Feed order: ``accounts``, ``entries``, ``postings`` (then ``redo`` for the entries it
    names), then ``finish`` with the small tables. ``cap`` limits findings per check."""

    cap: int = FINDINGS_CAP
    findings: dict[str, list[Finding]] = field(default_factory=lambda: {n: [] for n in CHECK_ORDER})
    counts: Counter[str] = field(default_factory=Counter)
    prefix: dict[str, str] = field(default_factory=dict)
    acct: dict[str, Row] = field(default_factory=dict)
    group: dict[str, tuple[str, str]] = field(default_factory=dict)     # account -> (unit, component)
    bank_of: dict[str, str] = field(default_factory=dict)
    entries: _Entries = field(default_factory=_Entries)
    rev_related: set[int] = field(default_factory=set)
    rev_legs: dict[int, Counter[tuple[str, str, str]]] = field(default_factory=dict)
    day: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    bank_moves: _Moves = field(default_factory=_Moves)    # bank, xid, entry, delta
    # account -> what its component's money is judged by: "a<id>" (a unit's personal money,
    # per account) or "p<bank>:<component>" (the pooled money in one physical account)
    comp_of: dict[str, str] = field(default_factory=dict)
    comp_moves: _Moves = field(default_factory=_Moves)    # key, xid, entry, delta
    # (0125, ATTACK15 A6) the greatest entry id the component day-end rule does not bind
    # (rule point component_days, read by the caller from the chained history; 0: every entry)
    component_days_after: int = 0
    # (0131, ATTACK16b D1) the greatest entry id the closed-prefix rule does not bind (rule point
    # closed_prefix: an entry dated before a closed month and sealed after its close; 0: every entry)
    closed_prefix_after: int = 0
    # the reversals (kind reversal) — a reversal dated in its original's year is the way out of an
    # entry left under a closed month (0128), exempt from the closed-prefix rule
    reversal_ids: set[int] = field(default_factory=set)
    pooled: dict[str, str] = field(default_factory=dict)                     # book -> its pooled component
    # the accounts that are one unit's share of a pooled account whose share may never go
    # below zero (0030: holders city_exp and treasury), and their moves
    shares: set[str] = field(default_factory=set)
    share_moves: _Moves = field(default_factory=_Moves)   # account, xid, entry, delta
    redo: set[int] = field(default_factory=set)
    memos: dict[int, dict[str, str]] = field(default_factory=dict)      # entry -> posting id -> memo
    seq_of: _SealOf = field(default_factory=lambda: _SealOf(_Entries()))
    # fl.seal and fl.seal_queue as read (``finish``), for ledger.core.queued
    queue_rows: list[Row] = field(default_factory=list)
    # set by ``first`` (the histories): fed each seal of an entry recorded as queued (ATTACK10 X9)
    queued_judge: queued_check.Judge | None = None
    # month ('2023-01') -> how far the journal's chain reached when it was closed, the
    # closing transaction, where the history recorded the close (histories.closes_sealed_by)
    closes_sealed_by: dict[str, tuple[int, str, Any]] = field(default_factory=dict)
    # the history's key of an entry -> where the history recorded its first version
    entry_versions: Mapping[str, Any] = field(default_factory=dict)
    # (0128, ATTACK16b D3) the year closes' own closing entries dated 31 December: they go into
    # their December whoever closed it (judged by the year close's rules, not closed_periods)
    year_close_ids: set[int] = field(default_factory=set)
    # Called with (entry id, canonical text, digest) for every entry (audit export).
    sink: Callable[[int, str, bytes | None], None] | None = None
    # Called by ``merge`` with each grouped range's judged entries and their distinct
    # ``account|unit|side`` keys (``Partial.leg_keys``): the API rules' legs of those entries
    # (ledger.core.rules.Rules.grouped_legs), which are then not read again (online).
    legs_sink: Callable[[Sequence[int], Sequence[tuple[bytes, ...]]], None] | None = None
    # (0130, ATTACK16b D4) account -> (book, unit) of a fund figure; each unit's recorded first day
    # (book, unit) -> (first_day, entry_id, frozen_through), None when the rows were not read (an
    # export made before 0130); what the entries on fund figures show, per (book, unit)
    fund_key: dict[str, tuple[str, str]] = field(default_factory=dict)
    first_rows: dict[tuple[str, str], tuple[str, int, int | None]] | None = None
    fund: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    # (0154, ATTACK17b F1) unit -> its joining date (ISO text), None when not read (an export made
    # before 0154); the latest of them ("" for none: no entry is dated before it, the cheap test each
    # entry takes); the greatest entry id the rule does not bind (rule point unit_joined; 0: every
    # entry); (entry id, unit) of each entry posting on a unit dated before it joined
    joined: dict[str, str] | None = None
    joined_last: str = ""
    unit_joined_after: int = 0
    before_joined: list[tuple[int, str]] = field(default_factory=list)
    # (0157, G5/G9) the units whose joining date was registered by the office (source 'region'): their
    # joining date is the months-payable basis, and above the rule point first_day_joined (None: no
    # point recorded — a ledger or export from before 0157 — every unit needs its row) no first-day
    # row is written for them
    registered: set[str] = field(default_factory=set)
    first_day_joined_after: int | None = None
    # (0165, ATTACK19 J2) above this entry a unit with fund figures has a fl.unit_joined row (0: every one)
    unit_joined_required_after: int = 0

    # ---- helpers -----------------------------------------------------------------------
    def add(self, check: str, message: str, entry_id: int | None = None, *, request_id: int | None = None,
            account: str | None = None) -> None:
        lst = self.findings[check]
        if len(lst) > self.cap * 4:
            self.counts["omitted:" + check] += 1
            return
        # Its voucher is filled in by ``finish``, once the seals are read.
        lst.append(Finding(check, message, entry_id=entry_id, request_id=request_id, account=account))

    def label(self, account_id: str) -> str:
        r = self.acct.get(account_id)
        if r is None:
            return f"#{account_id}"
        return ":".join(x for x in (r[1], r[2], r[3], r[4], r[5]) if x)

    # ---- feeding -------------------------------------------------------------------------
    def books(self, rows: Iterable[Row]) -> None:
        """Each book's pooled component (the others are personal money, per unit)."""
        self.pooled = {r[0]: r[1] for r in rows}

    def accounts(self, rows: Iterable[Row]) -> None:
        for r in rows:
            self.acct[r[0]] = r
            self.prefix[r[0]] = account_prefix(r)
            self.group[r[0]] = (r[3], r[5])
            if r[4] in SHARE_HOLDERS:
                self.shares.add(r[0])
            if r[6]:
                self.bank_of[r[0]] = r[6]
                if r[5]:
                    self.comp_of[r[0]] = (f"p{r[6]}:{r[5]}" if r[5] == self.pooled.get(r[1]) else f"a{r[0]}")
        self.counts["accounts"] = len(self.acct)

    def fund_figures(self, chart: Iterable[Row], first_days: Iterable[Row] | None) -> None:
        """(0130) Which accounts are a unit's fund figures (a kind of FUND_KINDS, the book's pooled
        component) and each unit's recorded first day (``first_days`` None: not read, not judged).
        After ``accounts``, before the postings."""
        kinds = {r[0]: r[1] for r in chart}
        self.fund_key = {aid: (r[1], r[3]) for aid, r in self.acct.items()
                         if kinds.get(r[2]) in FUND_KINDS and r[5] == self.pooled.get(r[1])}
        if first_days is not None:
            self.first_rows = {(r[0], r[1]): (r[2], int(r[3]), int(r[4]) if r[4] else None) for r in first_days}

    def joining(self, rows: Iterable[Row] | None, later: Iterable[Row] | None = None) -> None:
        """(0154) Each unit's joining date (``rows`` None: not read, not judged). After ``accounts``.
        (0167) ``later``: the city bureau's later registrations (id, unit, joined_on; None: an export
        made before 0167): a unit's latest one (highest id) is its date in force — every posting on
        the unit is judged against it, so a registration dated after a posting the unit already had
        is named through that posting — and makes it registered (its basis, no first-day row)."""
        if rows is not None:
            rows = list(rows)
            self.joined = {r[0]: r[1] for r in rows}
            self.registered = {r[0] for r in rows if len(r) > 2 and r[2] == "region"}
            later = list(later or ())
            self.joined = joined_in_force(self.joined, ((int(r[0]), r[1], r[2]) for r in later))
            self.registered.update(r[1] for r in later)
            self.joined_last = max(self.joined.values(), default="")

    def _before_joined(self, out: list[tuple[int, str]], eid: int, date: str, accounts: Iterable[str]) -> None:
        """Note each unit of ``accounts`` that ``eid``, dated ``date``, posts on before the unit joined
        (called only for an entry dated before the latest joining date)."""
        joined, group = self.joined or {}, self.group
        for unit in sorted({group[a][0] for a in accounts if a in group}):
            j = joined.get(unit)
            if j is not None and date < j:
                out.append((eid, unit))

    def entries_(self, rows: Iterable[Row]) -> None:
        for r in rows:
            eid = int(r[0])
            rev = int(r[4]) if r[4] else None
            self.entries.append(eid, entry_text(r), r[1], r[2], int(r[2][:4]), rev, r[11], r[13])
            if r[5] == "year_close" and r[2][5:10] == "12-31":
                self.year_close_ids.add(eid)
            elif r[5] == "reversal" and rev is not None:
                self.reversal_ids.add(eid)
            if rev is not None:
                self.rev_related.add(eid)
                self.rev_related.add(rev)
        self.entries.seal()
        self.counts["entries"] = len(self.entries)
        self.counts["reversals"] = len(self.entries.reverses)

    def postings(self, rows: Iterable[Row]) -> None:
        """Stream every posting (columns as TABLES["posting"])."""
        cur: int | None = None            # (not -1: an entry id may be 0 or below — ATTACK10 X1, a finding elsewhere)
        cur_e: _Entry | None = None
        legs: list[str] = []
        net: dict[str, list[int]] = {}
        last_pid = 0
        finished = self._finish_entry
        prefix, group, entries = self.prefix, self.group, self.entries
        n = 0
        for r in rows:
            n += 1
            pid = int(r[0])
            eid = int(r[1])
            if eid != cur:
                if cur is not None:
                    finished(cur, cur_e, legs, net)
                cur, cur_e, legs, net = eid, entries.get(eid), [], {}
                if cur_e is not None and cur_e.done:
                    self._scattered(eid)
                if cur_e is None:
                    self.add("posting_copies", said("posting {pid}: its entry {eid} does not exist", pid=pid, eid=eid), eid)
            elif pid <= last_pid:
                self._scattered(eid)
            last_pid = pid
            aid, side, amt = r[2], r[3], r[4]
            p = prefix.get(aid)
            if p is None:
                self.add("posting_copies", said("posting {pid}: its account {aid} does not exist", pid=pid, aid=aid), eid)
                p = f"?{aid}:"
            legs.append(p + side + ":" + amt + ":" + r[7])
            if r[7] and not _plain_ref(r[7]) and (why := line_ref_problem(r[7])):
                self.add("posting_copies", said("posting {pid}: its line reference {value!r} is outside the reference form: {why} "
                                                "(line_ref_form)", pid=pid, value=r[7], why=why), eid)
            if r[8]:
                m = self.memos.get(eid)
                if m is None:
                    self.memos[eid] = m = {}
                m[r[0]] = r[8]
            a = int(amt)
            v = net.get(aid)
            if v is None:
                net[aid] = v = [0, 0]
            if side == "D":
                v[0] += a
            else:
                v[1] += a
            if cur_e is not None and (r[5] != cur_e.date or (aid in group and r[6] != group[aid][0])):
                self._copy_problem(pid, eid, cur_e, aid, r[5], r[6])
        if cur is not None:
            finished(cur, cur_e, legs, net)
        self.counts["postings"] += n

    def grouped_ok(self) -> bool:
        """The grouped path rebuilds the canonical text by replacing ``;<account id>:``
        with the account's prefix: sound only when no prefix holds a ``;``."""
        return self.sink is None and not any(";" in p for p in self.prefix.values())

    def grouped(self, rows: Iterable[Sequence[bytes | None]], heads: Mapping[int, bytes] | None = None) -> Partial:
        """Judge entries from one row each (columns GROUP_COLS, as bytes; None is NULL),
        without touching this object (safe in several threads at once): the server only
        groups and concatenates (each entry's legs, ``account|unit|side`` keys and amounts,
        all in posting id order); every digest, sum and comparison is made here, with
        hashlib and Python integers. Per posting the Python work is a split and an ``int``:
        the canonical text is the server's legs with each account id replaced by its
        prefix (``bytes.replace``, once per account of the entry), each account-side sum
        a ``sum(compress(…))`` over the amounts.

        ``heads``: when the entries keep no canonical heads (``_Entries.keep`` false), this
        range's heads by entry id, read again from the snapshot; each is used only if it is
        the entry's first read (``_Entries.check``), and the ``slow`` entries' are handed on."""
        out = Partial()
        entries, acct, group, bank_of = self.entries, self.acct, self.group, self.bank_of
        lean = not entries.keep
        rev, slow, day, moves = self.rev_related, out.slow, out.day, out.bank_moves
        comp_of, shares, share_moves = self.comp_of, self.shares, out.share_moves
        fund_key, firsts, joined_last = self.fund_key, self.first_rows or {}, self.joined_last
        prefix = {k.encode(): v.encode() for k, v in self.prefix.items()}
        # entries of one shape (a unit's settlements of one category) share one tuple of keys:
        # a slot per entry in ``leg_keys``, and one tuple per shape pickled from a forked child
        shapes: dict[tuple[bytes, ...], tuple[bytes, ...]] = {}
        n_all = 0
        for r in rows:
            eid, n = int(r[0] or b"-1"), int(r[1] or b"0")
            e = entries.get(eid)
            hb: bytes | None = None
            if lean and e is not None:
                hb = heads.get(eid) if heads is not None else None
                if hb is None:
                    raise ValueError(f"entry {eid}: its row was not found when read again")
                entries.check(e._i, hb)
            legs, keys_b, amounts_b, first, last = r[2], r[3], r[4], r[5], r[6]
            # A line reference holding ';' (or a unit holding ',') shows as a count that
            # does not add up: that entry is read posting by posting.
            if (e is None or eid in rev or n < 2 or legs is None or keys_b is None or amounts_b is None
                    or first is None or last is None or first.decode() != e.date or last != first
                    or legs.count(b";") != n - 1 or not _plain_legs(legs)
                    or (len(r) > 8 and r[8] is not None and int(r[8]) > 150)):
                slow.add(eid)
                continue
            keys = keys_b.split(b",")
            ints = jsonfast.int_list(amounts_b)
            if len(keys) != n or len(ints) != n:
                slow.add(eid)
                continue
            net: dict[str, list[int]] = {}
            distinct = list(dict.fromkeys(keys))
            rest = sum(ints)
            ok = True
            for j, kb in enumerate(distinct):
                k = kb.decode()
                bar = k.find("|")
                aid, side = k[:bar], k[-1]
                a = acct.get(aid)
                if a is None or k[-2:-1] != "|" or k[bar + 1:-2] != a[3] or a[1] != e.book or side not in "DC":
                    ok = False
                    break
                if j == len(distinct) - 1:
                    total = rest
                else:
                    total = sum(compress(ints, map(kb.__eq__, keys)))
                    rest -= total
                v = net.get(aid)
                if v is None:
                    net[aid] = v = [0, 0]
                v[side == "C"] += total
            if not ok:
                slow.add(eid)
                continue
            bal: dict[tuple[str, str], int] = {}
            for aid, (d, c) in net.items():
                g = group[aid]
                bal[g] = bal.get(g, 0) + d - c
            if any(bal.values()):
                slow.add(eid)
                continue
            text = b";" + legs
            banks: dict[str, int] = {}
            comps: dict[str, int] = {}
            for aid, (d, c) in net.items():
                ab = aid.encode()
                text = text.replace(b";" + ab + b":", b";" + prefix[ab])
                k2 = (aid, e.date)
                dd = day.get(k2)
                if dd is None:
                    day[k2] = [d, c]
                else:
                    dd[0] += d
                    dd[1] += c
                b = bank_of.get(aid)
                if b is not None:
                    banks[b] = banks.get(b, 0) + d - c
                    ck = comp_of.get(aid)
                    if ck is not None:
                        comps[ck] = comps.get(ck, 0) + d - c
                if aid in shares:
                    share_moves.append((aid, e.xid, eid, d - c))
            for b, delta in banks.items():
                moves.append((b, e.xid, eid, delta))
            for ck, delta in comps.items():
                out.comp_moves.append((ck, e.xid, eid, delta))
            if fund_key:
                for key in {fund_key[a] for a in net if a in fund_key}:
                    fund_seen(out.fund, key, eid, e.date, e.xid, firsts.get(key))
            if e.date < joined_last:
                self._before_joined(out.before_joined, eid, e.date, net)
            h = hashlib.sha256(hb if hb is not None else e.text_bytes)
            h.update(b"#")
            h.update(memoryview(text)[1:])
            out.ids.append(eid)
            legs_t = tuple(distinct)
            out.leg_keys.append(shapes.setdefault(legs_t, legs_t))
            out.digests += h.digest()
            out.counts.append(n)
            n_all += n
            if r[7]:
                out.memos[eid] = {k: v for k, v in jsonfast.loads(r[7]).items() if v}
        out.postings = n_all
        if lean and heads is not None:
            out.heads = {eid: heads[eid] for eid in slow if eid in heads and entries.index(eid) is not None}
        return out

    def merge(self, parts: Iterable[Partial]) -> set[int]:
        """Fold the grouped ranges in; returns the entries to be read posting by posting
        (``postings``, which counts their postings)."""
        slow: set[int] = set()
        for part in parts:
            if self.legs_sink is not None:
                self.legs_sink(part.ids, part.leg_keys)
            for j, (eid, n) in enumerate(zip(part.ids, part.counts, strict=True)):
                e = self.entries[eid]
                e.digest, e.postings, e.done = bytes(part.digests[32 * j:32 * j + 32]), n, True
            self.memos.update(part.memos)
            self.entries.kept_heads.update(part.heads)
            for k, (d, c) in part.day.items():
                dd = self.day.get(k)
                if dd is None:
                    self.day[k] = [d, c]
                else:
                    dd[0] += d
                    dd[1] += c
            self.bank_moves.extend(part.bank_moves)
            self.comp_moves.extend(part.comp_moves)
            self.share_moves.extend(part.share_moves)
            fund_merge(self.fund, part.fund)
            self.before_joined.extend(part.before_joined)
            slow |= part.slow
            self.counts["postings"] += part.postings
        return slow

    def _copy_problem(self, pid: int, eid: int, e: _Entry, aid: str, pdate: str, punit: str) -> None:
        if pdate != e.date:
            self.add("posting_copies", said("posting {pid}: dated {pdate} but its entry is dated {date}", pid=pid, pdate=pdate, date=e.date), eid)
        else:
            self.add("posting_copies", said("posting {pid}: carries unit {punit} but its account belongs to {value}", pid=pid, punit=punit, value=self.group[aid][0]), eid)

    def _scattered(self, eid: int) -> None:
        """The postings of ``eid`` did not arrive together and in id order: what was
        concluded from its first part is forgotten; its sums still stream (they add up
        whatever the order); its digest and per-entry checks wait for ``redo_entry``."""
        if eid in self.redo:
            return
        self.redo.add(eid)
        for name in ("entry_balanced", "posting_copies"):
            self.findings[name] = [f for f in self.findings[name]
                                   if f.entry_id != eid or f.message.startswith("posting ")]

    def _finish_entry(self, eid: int, e: _Entry | None, legs: list[str], net: dict[str, list[int]]) -> None:
        if e is not None:
            e.done = True
            self._digest_and_sums(eid, e, legs, net, checks=eid not in self.redo)

    def redo_entry(self, eid: int, rows: Sequence[Row]) -> None:
        """An entry whose postings arrived scattered or out of id order: its postings
        again, in id order. Its sums were already counted by ``postings``: only the
        digest and the per-entry checks are redone (sums are not added twice)."""
        e = self.entries.get(eid)
        if e is None:
            return
        legs: list[str] = []
        net: dict[str, list[int]] = {}
        for r in sorted(rows, key=lambda r: int(r[0])):
            legs.append(self.prefix.get(r[2], f"?{r[2]}:") + r[3] + ":" + r[4] + ":" + r[7])
            v = net.setdefault(r[2], [0, 0])
            v[0 if r[3] == "D" else 1] += int(r[4])
        self._digest_and_sums(eid, e, legs, net, sums=False)

    def _digest_and_sums(self, eid: int, e: _Entry, legs: list[str], net: dict[str, list[int]],
                         sums: bool = True, checks: bool = True) -> None:
        if sums:
            self._sums(eid, e, net)
        if not checks:
            return
        e.postings = len(legs)
        text = e.text + "#" + ";".join(legs)
        e.digest = sha256(text.encode()) if legs else None
        if self.sink is not None:
            self.sink(eid, text if legs else "", e.digest)
        if len(legs) < 2:
            self.add("entry_balanced", said("has {legs} posting(s); an entry needs at least two", legs=len(legs)), eid)
        bal: dict[tuple[str, str], list[int]] = {}
        for aid, (d, c) in net.items():
            g = self.group.get(aid)
            a = self.acct.get(aid)
            if g is not None:
                b = bal.setdefault(g, [0, 0])
                b[0] += d
                b[1] += c
            if a is not None and a[1] != e.book:
                self.add("posting_copies", said("account {value} is in book {value2}, its entry in book {book}", value=self.label(aid), value2=a[1], book=e.book), eid)
        for (unit, comp), (d, c) in sorted(bal.items()):
            if d != c:
                self.add("entry_balanced", said("debits {d} ≠ credits {c} for book {book}, unit {unit}{more}", d=_fen(d), c=_fen(c), book=e.book, unit=unit, more=f', component {comp}' if comp else ''), eid)
        if eid in self.rev_related:
            self.rev_legs[eid] = Counter({(aid, s, str(v)): 1 for aid, (d, c) in net.items()
                                          for s, v in (("D", d), ("C", c)) if v})

    def _sums(self, eid: int, e: _Entry, net: dict[str, list[int]]) -> None:
        banks: dict[str, int] = {}
        comps: dict[str, int] = {}
        for aid, (d, c) in net.items():
            k = (aid, e.date)
            dd = self.day.get(k)
            if dd is None:
                self.day[k] = [d, c]
            else:
                dd[0] += d
                dd[1] += c
            bank = self.bank_of.get(aid)
            if bank is not None:
                banks[bank] = banks.get(bank, 0) + d - c
                ck = self.comp_of.get(aid)
                if ck is not None:
                    comps[ck] = comps.get(ck, 0) + d - c
            if aid in self.shares:
                self.share_moves.append((aid, e.xid, eid, d - c))
        for bank, delta in banks.items():
            self.bank_moves.append((bank, e.xid, eid, delta))
        for ck, delta in comps.items():
            self.comp_moves.append((ck, e.xid, eid, delta))
        if self.fund_key:
            firsts = self.first_rows or {}
            for key in {self.fund_key[a] for a in net if a in self.fund_key}:
                fund_seen(self.fund, key, eid, e.date, e.xid, firsts.get(key))
        if e.date < self.joined_last:
            self._before_joined(self.before_joined, eid, e.date, net)

    # ---- the small tables and the verdict ------------------------------------------------
    def finish(self, tables: Mapping[str, Iterable[Row]], catalogue: Sequence[CheckResult] = (),
               extra: Mapping[str, Any] | None = None) -> VerifyReport:
        # The seals stream (one pass, the chain in seq order): the other tables are small.
        t = {k: list(v) for k, v in tables.items() if k != "seal"}
        self._check_entries_without_postings()
        seq_of, sealed = self._check_vouchers_and_chain(tables["seal"], t["seal_queue"], t["voucher_counter"],
                                                        t["chain_head"])
        self.seq_of = seq_of
        self.queue_rows = t["seal_queue"]        # for the queued entries' check (ledger.core.queued)
        self._check_accounts(t["account_day"], t["bank_account"], t["fund_request"])
        self._check_overdraft(seq_of)
        self._check_day_balances()
        self._check_components(seq_of)
        self._check_component_days()
        self._check_pooled_shares(seq_of)
        self._check_closed(t["closed_period"])
        self._check_reversals()
        self._check_requests(t["fund_request"], t["request_event"])
        self._check_first_days()
        for name, lst in self.findings.items():
            self.findings[name] = [f if f.entry_id is None else replace(f, voucher=seq_of.label(f.entry_id) or None)
                                   for f in lst]
        checked = {"entry_balanced": self.counts["entries"], "posting_copies": self.counts["postings"],
                   "vouchers": self.counts["entries"], "account_balances": self.counts["accounts"],
                   "account_days": len(self.day), "bank_balances": len(t["bank_account"]),
                   "no_overdraft": len(t["bank_account"]), "day_balances": len(t["bank_account"]),
                   "components_separate": len(set(self.comp_of.values())), "pooled_shares": len(self.shares),
                   "closed_periods": self.counts["entries"],
                   "reversals": self.counts["reversals"], "requests": len(t["fund_request"]),
                   "first_days": len(self.first_rows or {}) + len(self.joined or {}),
                   "hash_chain": sealed}
        results = [result(n, DESCRIPTIONS[n], checked[n], self.findings[n], self.cap) for n in CHECK_ORDER]
        results = [r if not self.counts["omitted:" + r.name] else
                   CheckResult(r.name, r.description, r.checked, r.findings, r.omitted + self.counts["omitted:" + r.name])
                   for r in results]
        ex = {"entries": self.counts["entries"], "postings": self.counts["postings"],
              "entries_reread": self.counts["reread"],
              "queued": len(t["seal_queue"]), **(extra or {})}
        return VerifyReport((*catalogue, *results), ex)

    def _check_first_days(self) -> None:
        """(0130, ATTACK16b D4) Each unit's recorded first day, re-derived from the journal: the
        monitor's months-payable basis, which no later entry may move. Its named entry exists, is
        dated that day and posts on the unit's fund figures; the unit's first entry on them (lowest
        id) is of that entry's transaction — the record was made by the statement that first posted
        on them, not later — or, for a row frozen by the migration, the day is the earliest date of
        the unit's fund-figure entries up to frozen_through; and no unit with a fund figure lacks one —
        but a unit whose joining date was registered (0157, G5/G9: its basis) and whose first
        fund-figure entry is above the rule point first_day_joined has none by design."""
        for eid, unit in sorted(self.before_joined):
            e = self.entries.get(eid)
            if eid > self.unit_joined_after and e is not None and self.joined is not None:
                self.add("first_days", said("posts on unit {unit} dated {date}, before the unit joined the pooled fund on {value} "
                                            "(fl.unit_joined, 0154; or registered later, fl.unit_joined_later, 0167): nothing is "
                                            "posted on a unit before it joined, and a posting before it is how a first day in the "
                                            "ledger is made earlier", unit=unit, date=e.date, value=self.joined[unit]), eid)
        if self.joined is not None:
            # (0165, ATTACK19 J2) a unit with no registered joining date at all is bounded by nothing:
            # since 0154 init registers one with every unit (the migration registered one for each)
            named: set[str] = set()
            for key in sorted(self.fund):
                lo = self.fund[key][0]
                if key[1] not in self.joined and key[1] not in named and lo > self.unit_joined_required_after:
                    named.add(key[1])
                    self.add("first_days", said("unit {value} posts on its fund figures (its first: entry {lo}) but has no registered "
                                                "joining date (fl.unit_joined): nothing bounds its first day in the ledger, and a "
                                                "posting dated before it joined is how that day is made earlier", value=key[1], lo=lo), lo)
        if self.first_rows is None:
            return
        after = self.first_day_joined_after
        for key in sorted(self.fund.keys() - self.first_rows.keys()):
            lo = self.fund[key][0]
            if after is not None and key[1] in self.registered and lo > after:
                continue        # (0157) a registered joining date is its basis: no row is written for it
            self.add("first_days", said("unit {value} of book {value2} posts on its fund figures (its first: entry {lo}) but has "
                                        "no recorded first day in the ledger (fl.unit_first_day): the row was removed or never "
                                        "written (the trigger off); months payable has no basis for it", value=key[1], value2=key[0], lo=lo), lo)
        for key, (day, eid, through) in sorted(self.first_rows.items()):
            what = f"unit {key[1]} of book {key[0]}: first day in the ledger recorded as {day} by entry {eid}"
            e, st = self.entries.get(eid), self.fund.get(key)
            if e is None:
                self.add("first_days", said("{what}, which does not exist", what=what), eid)
                continue
            if e.date != day:
                self.add("first_days", said("{what}, which is dated {date}", what=what, date=e.date), eid)
            if st is None or not st[3]:
                self.add("first_days", said("{what}, which posts on none of the unit's fund figures", what=what), eid)
                continue
            if through is not None:
                if st[2] != day:
                    self.add("first_days", said("{what}, frozen by migration 0130 through entry {through}; the unit's fund-figure "
                                                "entries up to it begin on {value}", what=what, through=through, value=st[2] or 'no day'), eid)
            elif st[0] != eid and st[1] != e.xid:
                lo = self.entries.get(st[0])
                self.add("first_days", said("{what}, but the unit's first entry on its fund figures is entry {value}{more}, of "
                                            "another transaction: the record was made after its first posting or rewritten (an "
                                            "earlier first day lowers the daily spending months payable divides by)", what=what, value=st[0], more=f' (dated {lo.date})' if lo is not None else ''), eid)

    def _check_entries_without_postings(self) -> None:
        for eid, e in self.entries.items():
            if e.postings == 0 and e.digest is None and eid not in self.redo:
                self.add("entry_balanced", said("has 0 posting(s); an entry needs at least two"), eid)

    def _check_vouchers_and_chain(self, seals: Iterable[Row], queue: list[Row], counters: list[Row],
                                  head: list[Row]) -> tuple[_SealOf, int]:
        """The seals in chain order, streamed (each judged as it passes, nothing kept of it
        but its entry's seq and voucher, ``_SealOf``): the vouchers, the chain recomputed,
        the queue, the counters and the head. Returns the seals found and how many."""
        seq_of = _SealOf(self.entries)
        queued = {int(q[0]): q for q in queue}
        judge = self.queued_judge
        judged: Mapping[int, Any] = judge.rec if judge is not None else {}
        prev = GENESIS
        prev_at: str | None = None
        last: dict[tuple[str, str], int] = {}
        mx: dict[tuple[str, str], int] = {}
        h = GENESIS
        pos = 0
        tail: Row | None = None
        for s in seals:
            pos += 1
            tail = s
            seq, eid, book, year, vno = int(s[0]), int(s[1]), s[2], s[3], int(s[4])
            seq_of.set(eid, seq, book, int(year), vno)
            if eid in judged and judge is not None:
                judge.seal(s)           # a seal of an entry the history recorded as queued (ATTACK10 X9)
            mx[(book, year)] = max(mx.get((book, year), 0), vno)
            e = self.entries.get(eid)
            if seq != pos:
                self.add("vouchers", said("seal sequence {seq} where {pos} was expected (a seal is missing or was renumbered)", seq=seq, pos=pos), eid)
            k = (book, year)
            last[k] = last.get(k, 0) + 1
            if vno != last[k]:
                self.add("vouchers", said("voucher {book} sits at position {value} of {book2}/{year} in sealing order (numbers "
                                          "missing, duplicated or reordered)", book=voucher_label(book, int(year), vno), value=last[k], book2=book, year=year), eid)
                last[k] = vno
            if e is None:
                self.add("vouchers", said("a seal for an entry that does not exist (the entry was deleted)"), eid)
                self.add("hash_chain", said("seal {seq} belongs to an entry that no longer exists", seq=seq), eid)
            else:
                if (book, int(year)) != (e.book, e.year):
                    self.add("vouchers", said("sealed as {book}/{year} but the entry is {book2} dated {year2}", book=book, year=year, book2=e.book, year2=e.year), eid)
                if eid in queued:
                    self.add("vouchers", said("the entry is both sealed and still queued for sealing"), eid)
            stored_digest, stored_prev, stored_hash = unhex(s[5]), unhex(s[6]), unhex(s[7])
            digest = e.digest if e is not None else None
            if e is not None and eid not in self.redo:
                if digest is None:
                    self.add("hash_chain", said("the entry has no postings left; its sealed content cannot be reproduced"),
                             eid)
                elif digest != stored_digest:
                    self.add("hash_chain", said("content differs from what was sealed (memo, date, key, accounts, sides, amounts or "
                                                "references were edited, or postings added or removed)"), eid)
            if stored_prev != prev:
                self.add("hash_chain", said("chain link {seq} does not follow link {value} (entries were reordered, removed or "
                                            "inserted)", seq=seq, value=seq - 1), eid)
            if stored_hash != link(stored_prev, digest if digest is not None else stored_digest, vno):
                self.add("hash_chain", said("the sealed hash does not match its content and voucher number (voucher renumbered or "
                                            "hash forged)"), eid)
            if e is not None and e.created_at > s[8] and _ts(e.created_at) > _ts(s[8]):
                self.add("hash_chain", said("sealed at {value}, before it was created ({created_at})", value=s[8], created_at=e.created_at), eid)
            if prev_at is not None and s[8] < prev_at and _ts(s[8]) < _ts(prev_at) - SEAL_CLOCK_SLACK:
                self.add("hash_chain", said("sealed at {value}, before the entry ahead of it in the chain ({prev_at}): inserted out "
                                            "of order", value=s[8], prev_at=prev_at), eid)
            h = link(h, digest if digest is not None else b"", vno)
            prev, prev_at = stored_hash, s[8]
        self.counts["seals"] = pos
        self.scratch_head = h
        for eid in self.entries:
            if eid not in seq_of and eid not in queued:
                self.add("vouchers", said("the entry has no seal (no voucher number, not in the hash chain) and is not queued for "
                                          "one"), eid)
        for eid, q in queued.items():
            e = self.entries.get(eid)
            if e is None:
                self.add("vouchers", said("queued for sealing, but its entry does not exist"), eid)
            elif (q[1], int(q[2])) != (e.book, e.year):
                self.add("vouchers", said("queued for sealing as {value}/{value2}, but the entry is {book} dated {year}", value=q[1], value2=q[2], book=e.book, year=e.year),
                         eid)
            elif eid not in self.redo and e.digest != unhex(q[3]):
                self.add("vouchers", said("changed since it was queued for sealing: its content no longer matches the digest "
                                          "computed at its commit"), eid)
        got = {(c[0], c[1]): int(c[2]) for c in counters}
        for k in sorted(set(got) | set(mx)):
            if got.get(k) != mx.get(k):
                self.add("vouchers", said("voucher counter of {value}/{value2} says {value3}, the last sealed voucher is {value4}", value=k[0], value2=k[1], value3=got.get(k), value4=mx.get(k)))
        if len(head) != 1:
            self.add("hash_chain", said("the chain head has {head} rows; it must have exactly one", head=len(head)))
        else:
            hseq, hhash = int(head[0][0]), unhex(head[0][1])
            if hseq != pos:
                self.add("hash_chain", said("the chain head counts {hseq} sealed entries but {pos} seals are visible: seals were "
                                            "removed, or rows are hidden from this reader (row security)", hseq=hseq, pos=pos))
            if tail is not None and hhash != unhex(tail[7]):
                self.add("hash_chain", said("the chain head's hash is not the last seal's (seq {value})", value=tail[0]))
            if tail is None and hhash != GENESIS:
                self.add("hash_chain", said("the chain head has a hash but there are no seals"))
        return seq_of, pos

    def _check_accounts(self, days: list[Row], banks: list[Row], requests: list[Row]) -> None:
        tot: dict[str, list[int]] = {}
        for (aid, _), (d, c) in self.day.items():
            v = tot.setdefault(aid, [0, 0])
            v[0] += d
            v[1] += c
        for aid, r in self.acct.items():
            d, c = tot.get(aid, [0, 0])
            bal, deb, cre = int(r[7]), int(r[8]), int(r[9])
            if (deb, cre, bal) != (d, c, d - c):
                self.add("account_balances", said("{value}: maintained balance {bal} (debits {deb}, credits {cre}); its postings sum to "
                                                  "{value2} (debits {d}, credits {c})", value=self.label(aid), bal=_fen(bal), deb=_fen(deb), cre=_fen(cre), value2=_fen(d - c), d=_fen(d), c=_fen(c)), account=self.label(aid))
        for aid in tot.keys() - self.acct.keys():
            self.add("account_balances", said("postings refer to this account but it does not exist"), account=f"#{aid}")
        kept = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in days}
        for k in sorted(kept.keys() | self.day.keys()):
            d0, c0 = kept.get(k, (0, 0))
            d1, c1 = self.day.get(k, [0, 0])
            if (d0, c0) != (d1, c1):
                self.add("account_days", said("{value}: daily movement says debits {d0}, credits {c0}; postings say {d1}, {c1}", value=k[1], d0=_fen(d0), c0=_fen(c0), d1=_fen(d1), c1=_fen(c1)), account=self.label(k[0]))
        actual: dict[str, int] = {}
        for aid, (d, c) in tot.items():
            b = self.bank_of.get(aid)
            if b is not None:
                actual[b] = actual.get(b, 0) + d - c
        approved: dict[str, int] = {}
        for q in requests:
            if q[1] == "approved":
                approved[q[4]] = approved.get(q[4], 0) + (int(q[5]) if q[5] else 0)
        for r in banks:
            name = f"bank #{r[0]} {r[2]}" + (f":{r[3]}" if r[3] else "")
            bal, res, act = int(r[4]), int(r[5]), actual.get(r[0], 0)
            if bal != act:
                self.add("bank_balances", said("maintained balance {bal} but postings sum to {act}", bal=_fen(bal), act=_fen(act)),
                         account=name)
            elif res < 0 or res > act:
                self.add("bank_balances", said("reserved {res} is outside 0..{act} (the balance)", res=_fen(res), act=_fen(act)), account=name)
            elif res != (want := approved.get(r[1], 0) if r[2] == "special" and not r[3] else 0):
                # What the special account's reserved must be: the approved requests not
                # yet disbursed (approve adds, void and disburse release; ATTACK5 S8).
                self.add("bank_balances", said("reserved {res} but the approved, not yet disbursed fund requests of book {value} sum to "
                                               "{want}", res=_fen(res), value=r[1], want=_fen(want)), account=name)

    @staticmethod
    def _first_negative(moves: Iterable[tuple[str, str, int, int]],
                        seq_of: _SealOf) -> Iterator[tuple[str, int, int]]:
        """(key, running balance, entry) where each key's running balance first goes below
        zero, one transaction at a time in seal order (a transaction is placed by its earliest
        sealed entry; unsealed ones after every sealed one)."""
        top = seq_of.top()
        groups: dict[tuple[str, str], list[int]] = {}
        for key, xid, eid, delta in moves:
            g = groups.setdefault((key, xid), [0, 1 << 62, eid])
            g[0] += delta
            order = seq_of.get(eid)
            if order is None:
                order = top + eid
            if order < g[1]:
                g[1], g[2] = order, eid
        by_key: dict[str, list[tuple[int, int, int]]] = {}
        for (key, _), (delta, order, eid) in groups.items():
            by_key.setdefault(key, []).append((order, delta, eid))
        for key, ordered in sorted(by_key.items()):
            running = 0
            for _order, delta, eid in sorted(ordered):
                running += delta
                if running < 0:
                    yield key, running, eid
                    break

    def _check_overdraft(self, seq_of: _SealOf) -> None:
        for bank, running, eid in self._first_negative(self.bank_moves, seq_of):
            self.add("no_overdraft", said("bank account #{bank} fell to {running} with this entry's transaction", bank=bank, running=_fen(running)), eid, account=f"bank #{bank}")

    def _check_day_balances(self) -> None:
        """Each physical bank account (its ledger accounts together) and each unit's share of
        a pooled account whose share may not go negative (holder city_exp or treasury), at the
        end of each day by entry date, from the postings' daily sums (0043, ATTACK5 S11): the
        first day below zero is named."""
        moves: dict[str, dict[str, int]] = {}
        for (aid, day), (d, c) in self.day.items():
            bank = self.bank_of.get(aid)
            if bank is not None:
                per = moves.setdefault("b" + bank, {})
                per[day] = per.get(day, 0) + d - c
            r = self.acct.get(aid)
            if r is not None and r[4] in ("city_exp", "treasury"):
                per = moves.setdefault("a" + aid, {})
                per[day] = per.get(day, 0) + d - c
        for key in sorted(moves):
            running = 0
            for day in sorted(moves[key]):
                running += moves[key][day]
                if running < 0:
                    if key.startswith("b"):
                        self.add("day_balances", said("bank account #{value} ended {day} at {running} (running balance by entry date): a "
                                                      "payment is dated before the money it paid with reached the account", value=key[1:], day=day, running=_fen(running)), account=f"bank #{key[1:]}")
                    else:
                        self.add("day_balances", said("unit {value}'s share of {value2} ended {day} at {running} (running balance by entry "
                                                      "date): on that day the unit paid with other units' money", value=self.acct[key[1:]][3], value2=self.label(key[1:]), day=day, running=_fen(running)), account=self.label(key[1:]))
                    break

    def _check_components(self, seq_of: _SealOf) -> None:
        """Like ``_check_overdraft``, per component: each personal account, and the pooled
        money of each physical account in total, never below zero after a transaction."""
        for key, running, eid in self._first_negative(self.comp_moves, seq_of):
            if key.startswith("a"):
                r = self.acct[key[1:]]
                self.add("components_separate", said("unit {value}'s {value2} money in bank account #{value3} fell to {running} with this "
                                                     "entry's transaction: it pays only from its own {value2} money, never from another "
                                                     "component's", value=r[3], value2=r[5], value3=r[6], running=_fen(running)), eid, account=self.label(key[1:]))
            else:
                bank, comp = key[1:].split(":", 1)
                self.add("components_separate", said("the {comp} money in bank account #{bank} fell to {running} in total with this entry's "
                                                     "transaction: the {comp} fund may not draw on other components' money", comp=comp, bank=bank, running=_fen(running)), eid, account=f"bank #{bank}")

    def _check_component_days(self) -> None:
        """(0125, ATTACK15 A6) S11's day-end rule per component: each unit's personal money in a
        physical account, and the pooled money of a physical account in total, at the end of
        each day by entry date. A day is named when its end is below zero and the entries the
        rule binds (ids above its point) moved it down to that day: a day left below zero by
        entries before the point is not judged retroactively."""
        per: dict[str, dict[str, list[int]]] = {}
        for key, _xid, eid, delta in self.comp_moves:
            e = self.entries.get(eid)
            if e is None:
                continue
            day = per.setdefault(key, {}).setdefault(e.date, [0, 0])
            day[0] += delta
            if eid > self.component_days_after:
                day[1] += delta
        for key in sorted(per):
            running = made = 0
            for date in sorted(per[key]):
                running += per[key][date][0]
                made += per[key][date][1]
                if running < 0 and made < 0:
                    if key.startswith("a"):
                        r = self.acct[key[1:]]
                        self.add("components_separate", said("unit {value}'s {value2} money in bank account #{value3} ended {date} at {running} "
                                                             "(running balance by entry date): a payment of it is dated before that money arrived, so "
                                                             "on those days another component's money paid it", value=r[3], value2=r[5], value3=r[6], date=date, running=_fen(running)), account=self.label(key[1:]))
                    else:
                        bank, comp = key[1:].split(":", 1)
                        self.add("components_separate", said("the {comp} money in bank account #{bank} ended {date} at {running} in total (running "
                                                             "balance by entry date): a payment of it is dated before that money arrived, so on those "
                                                             "days other components' money paid it", comp=comp, bank=bank, date=date, running=_fen(running)), account=f"bank #{bank}")
                    break

    def _check_pooled_shares(self, seq_of: _SealOf) -> None:
        """Migration 0030's rule, re-derived (ATTACK6 T11: the trigger that enforces it can
        be re-created with ``WHEN (false)``): each unit's share of the pooled city
        expenditure account and of the treasury account, never below zero after a
        transaction, in seal order. The first transaction that takes one below zero is
        named, with the unit and the account."""
        for aid, running, eid in self._first_negative(self.share_moves, seq_of):
            r = self.acct[aid]
            self.add("pooled_shares", said("unit {value}'s share of the pooled {value2} account {value3} ({value4}{value5}) fell to "
                                           "{running} with this entry's transaction: a unit pays out of a pooled account only the "
                                           "money it holds there, the rest is other units' money", value=r[3], value2=r[4], value3=r[2], value4=r[1], value5=', ' + r[5] if r[5] else '', running=_fen(running)),
                     eid, account=self.label(aid))

    def _check_closed(self, closed: list[Row]) -> None:
        closes = {r[0][:7]: r for r in closed}
        if not closes:
            return
        later = _LaterCloses(closes, self.closes_sealed_by)
        for eid, e in self.entries.items():
            if eid in self.year_close_ids:
                continue
            month = e.date[:7]
            c = closes.get(month)
            if c is not None and self._closed_own(eid, e, c):
                continue
            # (0131, ATTACK16b D1) nor sealed after the close of a later month: since 0128 nothing is
            # dated on or before a closed month's last day (the posting check's rule, with its way
            # out: a reversal dated in its original's year); an entry above the rule's point
            if month < later.last and eid > self.closed_prefix_after and not self._undoes_in_year(eid, e):
                self._closed_prefix(eid, e, later)

    def _closed_own(self, eid: int, e: _Entry, c: Row) -> bool:
        """Name an entry written into its own month after that month was closed (True if named)."""
        bound, close_xid, close_at = self.closes_sealed_by.get(e.date[:7], (None, "", None))
        seq = self.seq_of.get(eid)
        if bound is not None and seq is not None and seq > bound and not self._written_by_close(eid, e, close_xid,
                                                                                                 close_at):
            self.add("closed_periods", said("dated {date} but sealed at chain position {seq}, after {value} was closed (the close "
                                            "recorded the chain at {bound}): written into a closed month, whatever its timestamps say", date=e.date, seq=seq, value=c[0][:7], bound=bound), eid)
            return True
        if e.created_at > c[2] and _ts(e.created_at) > _ts(c[2]):
            self.add("closed_periods", said("dated {date} but written at {created_at}, after {value} was closed by {value2} at "
                                            "{value3}", date=e.date, created_at=e.created_at, value=c[0][:7], value2=c[1], value3=c[2]), eid)
            return True
        return False

    def _undoes_in_year(self, eid: int, e: _Entry) -> bool:
        """A reversal dated in the year of the entry it reverses (0039's and 0128's way out)."""
        if eid not in self.reversal_ids or e.reverses is None:
            return False
        o = self.entries.get(e.reverses)
        return o is not None and o.date[:4] == e.date[:4]

    def _closed_prefix(self, eid: int, e: _Entry, later: _LaterCloses) -> None:
        """Name an entry dated before a closed month and sealed (or written) after that month's
        close: the earliest such close is named."""
        seq = self.seq_of.get(eid)
        at = later.sealed_first(e.date[:7])
        if at is not None and seq is not None and seq > at[0]:
            bound, month = at
            _b, close_xid, close_at = self.closes_sealed_by[month]
            if not self._written_by_close(eid, e, close_xid, close_at):
                self.add("closed_periods", said("dated {date}, before {month}, but sealed at chain position {seq}, after {month} was "
                                                "closed (the close recorded the chain at {bound}): nothing is dated on or before the "
                                                "last day of a closed month (0128), whatever its timestamps say", date=e.date, month=month, seq=seq, bound=bound), eid)
                return
        c = later.written_first(e.date[:7])
        if c is not None and e.created_at > c[2] and _ts(e.created_at) > _ts(c[2]):
            self.add("closed_periods", said("dated {date}, before {value}, but written at {created_at}, after {value} was closed by "
                                            "{value2} at {value3}: nothing is dated on or before the last day of a closed month "
                                            "(0128)", date=e.date, value=c[0][:7], created_at=e.created_at, value2=c[1], value3=c[2]), eid)

    def _written_by_close(self, eid: int, e: _Entry, close_xid: str, close_at: Any) -> bool:
        """An entry sealed after its month's close is allowed only when the closing
        transaction wrote it (a year close posts its closing entries, then closes the
        months). Its ``created_xid`` alone says so, but that is a column a DBA can set to
        the close's (ATTACK3 R9); the chained history cannot be made to agree: the entry's
        first version must be recorded before the close's, as the closing transaction
        writes them — a back-dated entry inserted later is recorded after it, whatever its
        columns say, unless the history itself is rewritten (and then a digest filed
        before the rewrite exposes it)."""
        if e.xid != close_xid:
            return False
        if close_at is None:                     # a history without positions (an old export)
            return not self.entry_versions
        return histories.recorded_before(self.entry_versions.get(histories.entry_key(eid)), close_at)

    def _check_reversals(self) -> None:
        times = Counter(e.reverses for e in self.entries.values() if e.reverses is not None)
        for eid, e in self.entries.items():
            if e.reverses is None:
                continue
            o = self.entries.get(e.reverses)
            if o is None:
                self.add("reversals", said("reverses entry {reverses}, which does not exist", reverses=e.reverses), eid)
            elif times[e.reverses] > 1:
                self.add("reversals", said("entry {reverses} is reversed {value} times", reverses=e.reverses, value=times[e.reverses]), eid)
            elif o.book != e.book:
                self.add("reversals", said("reverses entry {reverses} of book {book} from book {book2}", reverses=e.reverses, book=o.book, book2=e.book), eid)
            elif e.reverses >= eid:
                self.add("reversals", said("reverses a later entry ({reverses})", reverses=e.reverses), eid)
            else:
                mine = self.rev_legs.get(eid, Counter())
                theirs = self.rev_legs.get(e.reverses, Counter())
                flipped = Counter({(a, "C" if s == "D" else "D", v): n for (a, s, v), n in theirs.items()})
                if mine != flipped:
                    self.add("reversals", said("does not exactly mirror entry {reverses}, which it claims to reverse", reverses=e.reverses),
                             eid)

    def _check_requests(self, requests: list[Row], events: list[Row]) -> None:
        legal: dict[tuple[str | None, str], str] = {(None, "submit"): "submitted"}
        legal.update({(str(s), str(a)): str(t) for (s, a), t in TRANSITIONS.items()})
        hist: dict[str, list[Row]] = {}
        for ev in sorted(events, key=lambda r: (int(r[1]), r[6], int(r[0]))):
            hist.setdefault(ev[1], []).append(ev)
        for r in requests:
            rid, state, submitted_by, approved_by = int(r[0]), r[1], r[2], r[3] or None
            prev: str | None = None
            sub_actor: str | None = None
            approvers = {approved_by} if approved_by else set()
            for ev in hist.get(r[0], []):
                frm = ev[3] or None
                if legal.get((frm, ev[2])) != ev[4]:
                    self.add("requests", said("event {value} ({value2} by {value3}): {value4} → {value5} by '{value2}' is not a legal "
                                              "move", value=ev[0], value2=ev[2], value3=ev[5], value4=frm or 'nothing', value5=ev[4]), request_id=rid)
                elif frm != prev:
                    self.add("requests", said("event {value} ({value2} by {value3}): starts from {value4} but the request was {value5}", value=ev[0], value2=ev[2], value3=ev[5], value4=frm or 'nothing', value5=prev or 'not yet submitted'), request_id=rid)
                if ev[2] == "submit" and sub_actor is None:
                    sub_actor = ev[5]
                if ev[2] == "approve":
                    approvers.add(ev[5])
                prev = ev[4]
            if state != prev:
                self.add("requests", said("is {state} but its history ends in {value}", state=state, value=prev or 'nothing'), request_id=rid)
            submitters = {x for x in (submitted_by, sub_actor) if x}
            if approvers & submitters:
                self.add("requests", said("submitted by {value} and approved by {value2}: the approver must not be the submitter", value=', '.join(sorted(submitters)), value2=', '.join(sorted(approvers))), request_id=rid)
            if sub_actor != submitted_by:
                self.add("requests", said("the request says it was submitted by {submitted_by}, its history by {sub_actor}", submitted_by=submitted_by, sub_actor=sub_actor), request_id=rid)


def run(read: Callable[[str], Iterable[Row]], redo: Callable[[Sequence[int]], Iterable[Row]] | None = None,
        catalogue: Sequence[CheckResult] = (), cap: int = FINDINGS_CAP,
        extra: Mapping[str, Any] | None = None,
        sink: Callable[[int, str, bytes | None], None] | None = None,
        closes_sealed_by: Mapping[str, tuple[int, str, Any]] | None = None,
        grouped: Callable[[Proof, Callable[[], None]], Iterable[Partial]] | None = None,
        entry_versions: Mapping[str, Any] | None = None,
        first: Callable[[Proof], None] | None = None, component_days_after: int = 0,
        closed_prefix_after: int = 0, unit_joined_after: int = 0, first_day_joined_after: int | None = None,
        unit_joined_required_after: int = 0,
        heads_again: Callable[[], Iterable[Row]] | None = None,
        legs_sink: Callable[[Sequence[int], Sequence[tuple[bytes, ...]]], None] | None = None
        ) -> tuple[VerifyReport, Proof]:
    """The whole verdict from ``read(table)`` (rows in TABLES order) and, for entries whose
    postings arrived scattered or out of id order, ``redo(entry_ids)`` (their postings
    again, ordered by entry and id).

    ``grouped`` (online): instead of streaming every posting, the entries arrive one row
    each (GROUP_COLS) in ranges it judges with ``Proof.grouped`` — in parallel sessions of
    one snapshot; the entries that path leaves aside are read with ``redo`` and judged
    posting by posting.

    ``first(p)`` (online: the chained histories) runs once, after the entries are read and
    before the verdict is finished: ``grouped`` is handed it to run while its other
    session reads postings; it may set ``p.closes_sealed_by`` and ``p.entry_versions``.

    Flat memory: the entries' canonical heads are not kept until the last digest
    (``_Entries.keep``) when they can be read again as the postings arrive — on the grouped
    path when ``grouped`` reads each range's heads itself (its ``reads_heads``), on the
    posting path when ``heads_again()`` reads the entry table again (``read("entry")``'s rows
    without its side effects; offline, the export's file).

    ``legs_sink`` (online, grouped): handed each grouped range's judged entries with their
    distinct legs (``Proof.legs_sink``), once the entries are read."""
    p = Proof(cap=cap, sink=sink, closes_sealed_by=dict(closes_sealed_by or {}), entry_versions=entry_versions or {},
              component_days_after=component_days_after, closed_prefix_after=closed_prefix_after,
              unit_joined_after=unit_joined_after, first_day_joined_after=first_day_joined_after,
              unit_joined_required_after=unit_joined_required_after, legs_sink=legs_sink)
    ran = False

    def first_once() -> None:
        nonlocal ran
        if not ran:
            ran = True
            if first is not None:
                first(p)

    p.books(read("book"))
    p.accounts(read("account"))
    p.fund_figures(read("chart"), read("unit_first_day"))
    p.joining(read("unit_joined"), read("unit_joined_later"))
    use_grouped = grouped is not None and redo is not None and p.grouped_ok()
    if getattr(grouped, "reads_heads", False) if use_grouped else heads_again is not None:
        p.entries = _Entries(keep=False)
    p.entries_(read("entry"))
    if use_grouped:
        assert grouped is not None and redo is not None
        slow = p.merge(grouped(p, first_once))
        first_once()
        p.counts["reread"] = len(slow)
        if slow:
            p.postings(redo(sorted(slow)))
    else:
        first_once()
        if not p.entries.keep and heads_again is not None:
            p.entries.source = HeadCursor(heads_again, p.entries.ordered)
        p.postings(read("posting"))
    if p.redo:
        if redo is None:
            raise ValueError("postings out of entry order and no way to read them again")
        by_entry: dict[int, list[Row]] = {}
        for r in redo(sorted(p.redo)):
            by_entry.setdefault(int(r[1]), []).append(r)
        if not p.entries.keep and heads_again is not None:
            p.entries.source = HeadCursor(heads_again, p.entries.ordered)    # afresh: the ids ascend again
        for eid in sorted(p.redo):
            p.redo_entry(eid, by_entry.get(eid, []))
        # Sums of redone entries were counted as they streamed; their digests now exist.
        p.redo = set()
    p.entries.drop_texts()        # every digest is made: the canonical heads are not read again
    small = {k: read(k) for k in ("seal", "seal_queue", "voucher_counter", "chain_head", "account_day",
                                  "bank_account", "closed_period", "fund_request", "request_event")}
    return p.finish(small, catalogue, extra), p
