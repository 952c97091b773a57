"""The history's per-row state kept as integer columns, not one dictionary entry per row.

The verdict keeps, for every entry, held entry and held lines, its latest version's digest
and (for an entry) where the history first recorded it. Keyed by the history's key text
(``{"id": 7}``), that was a ``str`` key, a ``bytes`` or ``tuple`` value and a dictionary
slot apiece — ~250 bytes a row, three rows per settlement, the largest share of the
verdict's memory per entry (docs/benchmarks.md, 5b; hand note 2026-12-07
*verdict-memory-flat*). Nearly every such key names one integer column and arrives in
ascending order (rows are inserted with ascending ids), so the key is kept as that integer
in an ``array`` and the value in fixed-width columns beside it: ~50–80 bytes a row. A key
of any other shape, or one that arrives below the last one kept (a DBA's hand-made id, a
re-insert), is kept as text in a plain dictionary, as before: the answers are the same
whatever the keys are; only how much memory a row takes changes.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
from array import array
from bisect import bisect_left
from collections.abc import Container, Hashable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, TypeVar, overload

# A key naming one integer column as jsonb prints it: ``{"<name>": <integer>}``, the integer
# printed as Python prints it back (no leading zeros, no "-0", no sign, space or underscore
# of its own) and within what an ``array("q")`` holds.
_ONE_NAME = re.compile(r'\{"([a-z_][a-z0-9_]*)": ', re.ASCII)
_INT64 = 1 << 63

Order = tuple[int, str, int, str]


def _integer(text: str) -> int | None:
    """``text`` as an integer when it is exactly how Python prints that integer."""
    try:
        n = int(text)
    except ValueError:
        return None
    return n if -_INT64 < n < _INT64 and str(n) == text else None


def one_int(key: str) -> tuple[str, int] | None:
    """``{"id": 7}`` as ("id", 7); None for a key of any other shape."""
    m = _ONE_NAME.match(key)
    if m is None or not key.endswith("}"):
        return None
    n = _integer(key[m.end():-1])
    return (m.group(1), n) if n is not None else None


def order_key(key: str) -> Order:
    """The order the rows' digests are taken in (``verify_records.pairs_digest``): the keys
    of one integer column by column name and integer, then every other key by its text —
    an order the keys kept as integers give without printing and sorting them."""
    m = one_int(key)
    return (0, m[0], m[1], "") if m is not None else (1, "", 0, key)



def _position(ids: array[int] | list[int], eid: int) -> int | None:
    """Where ``eid`` stands in the ascending ``ids`` (a column's keys), or None."""
    if not ids or eid > ids[-1] or eid < ids[0]:
        return None
    j = bisect_left(ids, eid)
    return j if ids[j] == eid else None

class _IntKeys:
    """The integer part: ascending integers of one column name, a slot each."""

    __slots__ = ("ids", "last", "name", "prefix")

    def __init__(self) -> None:
        self.name: str | None = None
        self.prefix = ""
        self.ids = array("q")
        self.last: tuple[str, int | None] = ("", None)     # the last key parsed (a version is looked up thrice)

    def number(self, key: str) -> int | None:
        """The key's integer, when it is one of this column's (``one_int``)."""
        last = self.last
        if key is last[0]:
            return last[1]
        p = self.prefix
        if p:
            n = _integer(key[len(p):-1]) if key.startswith(p) and key.endswith("}") else None
        else:
            m = one_int(key)
            n = m[1] if m is not None else None
        self.last = (key, n)
        return n

    def find(self, key: str) -> tuple[int | None, int | None]:
        """(the key's integer, when it is one of this column's, its slot when kept)."""
        n = self.number(key)
        if n is None:
            return None, None
        ids = self.ids
        if ids and n <= ids[-1]:
            j = bisect_left(ids, n)
            return n, (j if ids[j] == n else None)
        return n, None

    def appendable(self, key: str, n: int | None) -> bool:
        return n is not None and (not self.ids or n > self.ids[-1])

    def append(self, key: str, n: int) -> None:
        if self.name is None:
            m = one_int(key)
            assert m is not None
            self.name = m[0]
            self.prefix = f'{{"{self.name}": '
            self.last = ("", None)
        self.ids.append(n)

    def key(self, j: int) -> str:
        return f'{{"{self.name}": {self.ids[j]}}}'


class Versions(Mapping[str, tuple[int, bytes]]):
    """A digested table's latest versions (``histories.Scan.digested``): key -> (history id,
    SHA-256 of the version's text), and the version's ``stable_digest`` when it has one.
    Keys of one integer column in ascending order are columns (module docstring); any
    other key is one ``bytes`` in ``raw`` — the digest, the id in 8 bytes, the stable
    digest — as every key was before."""

    __slots__ = ("_k", "digs", "has", "raw", "stab", "vids")

    def __init__(self) -> None:
        self._k = _IntKeys()
        self.vids = array("q")
        self.digs = bytearray()
        self.stab = bytearray()
        self.has = bytearray()             # 1: the slot has a stable digest
        self.raw: dict[str, bytes] = {}

    def put(self, key: str, vid: int, digest: bytes, stable: bytes | None) -> None:
        n, j = self._k.find(key)
        if j is None and key not in self.raw and self._k.appendable(key, n):
            assert n is not None
            self._k.append(key, n)
            self.vids.append(vid)
            self.digs += digest
            self._stable(len(self.vids) - 1, stable)
            return
        if j is not None:
            self.vids[j] = vid
            self.digs[32 * j:32 * j + 32] = digest
            self._stable(j, stable)
            return
        self.raw[key] = digest + vid.to_bytes(8, "big", signed=True) + (stable or b"")

    def _stable(self, j: int, stable: bytes | None) -> None:
        """Slot ``j``'s stable digest: the column is only as long as the last slot that
        has one (a table whose versions have none keeps no column)."""
        if stable:
            if len(self.has) <= j:
                self.stab += bytes(32 * (j + 1) - len(self.stab))
                self.has += bytes(j + 1 - len(self.has))
            self.stab[32 * j:32 * j + 32] = stable
            self.has[j] = 1
        elif j < len(self.has):
            self.has[j] = 0

    def stable(self, key: str) -> bytes | None:
        """The latest version's ``stable_digest`` (None: none kept, or no such key)."""
        _, j = self._k.find(key)
        if j is not None:
            return bytes(self.stab[32 * j:32 * j + 32]) if j < len(self.has) and self.has[j] else None
        v = self.raw.get(key)
        return (v[40:] or None) if v is not None else None

    def __getitem__(self, key: str) -> tuple[int, bytes]:
        got = self.get(key)
        if got is None:
            raise KeyError(key)
        return got

    def get(self, key: str, default: None = None) -> tuple[int, bytes] | None:  # type: ignore[override]
        """(history id, digest) of the key's latest version, None when it has none (the
        scan asks for every version it reads: no exception raised for a new key)."""
        _, j = self._k.find(key)
        if j is not None:
            return self.vids[j], bytes(self.digs[32 * j:32 * j + 32])
        v = self.raw.get(key) if self.raw else None
        if v is None:
            return default
        return int.from_bytes(v[32:40], "big", signed=True), v[:32]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self._k.find(key)[1] is not None or key in self.raw)

    def __iter__(self) -> Iterator[str]:
        for j in range(len(self._k.ids)):
            yield self._k.key(j)
        yield from self.raw

    def __len__(self) -> int:
        return len(self._k.ids) + len(self.raw)

    def equal_rows(self, rows: Iterable[Sequence[str]]) -> int | None:
        """How many rows (key, text) there are when they are exactly the kept ones: each
        text's SHA-256 its key's digest, every key once, none missing (``digest_findings``
        would find nothing); None as soon as one is not. One pass over ``rows``, a byte per
        kept row: the offline verdict compares an export's history files so
        (ledger.io.archive), where a dictionary of every row's digest would grow with them."""
        ks = self._k
        digs = self.digs
        seen = bytearray(len(ks.ids))
        raw_seen: set[str] = set()
        n = 0
        for r in rows:
            if len(r) != 2:
                return None
            k, text = r
            d = hashlib.sha256(text.encode()).digest()
            _, j = ks.find(k)
            if j is not None:
                if seen[j] or digs[32 * j:32 * j + 32] != d:
                    return None
                seen[j] = 1
            else:
                v = self.raw.get(k)
                if v is None or k in raw_seen or v[:32] != d:
                    return None
                raw_seen.add(k)
            n += 1
        return n if n == len(self) else None

    def ordered(self) -> Iterator[tuple[str, bytes]]:
        """(key, digest) of every row in ``order_key`` order, the integer keys without a sort."""
        ks = self._k
        col: Iterable[tuple[Order, str, bytes]] = (
            ((0, ks.name or "", ks.ids[j], ""), ks.key(j), bytes(self.digs[32 * j:32 * j + 32]))
            for j in range(len(ks.ids)))
        rest = sorted((order_key(k), k, v[:32]) for k, v in self.raw.items())
        for _, k, d in heapq.merge(col, rest, key=lambda x: x[0]):
            yield k, d


Position = tuple[int | None, int]
NOSEQ = -(1 << 63)


class Positions(Mapping[str, Position]):
    """Where the history first recorded each row of a table (``histories.Scan.first``): key
    -> (chain position or None, history id), iterated in the order the rows were put (the
    history's), as the dictionary it replaces was. Keys of one integer column in
    ascending order are columns; any other key is kept in ``raw`` with how many column keys
    came before it, so the order of the two together is still the order put."""

    __slots__ = ("_k", "hids", "raw", "seqs")

    def __init__(self) -> None:
        self._k = _IntKeys()
        self.seqs = array("q")
        self.hids = array("q")
        self.raw: dict[str, tuple[int, Position]] = {}

    def __setitem__(self, key: str, pos: Position) -> None:
        n, j = self._k.find(key)
        seq = NOSEQ if pos[0] is None else pos[0]
        if j is not None:
            self.seqs[j], self.hids[j] = seq, pos[1]
        elif key in self.raw:
            self.raw[key] = (self.raw[key][0], pos)
        elif self._k.appendable(key, n) and pos[0] != NOSEQ:
            assert n is not None
            self._k.append(key, n)
            self.seqs.append(seq)
            self.hids.append(pos[1])
        else:
            self.raw[key] = (len(self._k.ids), pos)

    def _at(self, j: int) -> Position:
        s = self.seqs[j]
        return (None if s == NOSEQ else s), self.hids[j]

    def __getitem__(self, key: str) -> Position:
        _, j = self._k.find(key)
        if j is not None:
            return self._at(j)
        return self.raw[key][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self._k.find(key)[1] is not None or key in self.raw)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self.items())

    def __len__(self) -> int:
        return len(self._k.ids) + len(self.raw)

    def items(self) -> Iterator[tuple[str, Position]]:  # type: ignore[override]
        j = 0
        for k, (before, pos) in self.raw.items():
            while j < before:
                yield self._k.key(j), self._at(j)
                j += 1
            yield k, pos
        for i in range(j, len(self._k.ids)):
            yield self._k.key(i), self._at(i)


def ordered_pairs(pairs: Iterable[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Pairs (key, digest) sorted by ``order_key``."""
    return sorted(pairs, key=lambda p: order_key(p[0]))


class MemoVersions(MutableMapping[str, tuple[int, str]]):
    """fl.posting's latest versions during the history scan (``histories.scan_full``): key
    ``{"entry_id": N}`` -> (history id, text). An entry whose postings carry no memo — the
    common case, one version per entry since 0055 — is its integer and history id in two
    columns, its text (``{"memos": {}, "entry_id": N}``) printed when asked for; any other
    version is kept as text in ``raw``, as every version was. ``texts()``: the same as
    key -> text, what ``histories.memo_findings`` compares."""

    __slots__ = ("_k", "dead", "hids", "raw")

    def __init__(self) -> None:
        self._k = _IntKeys()
        self.hids = array("q")
        self.dead = 0                        # column slots moved to ``raw`` (hids -1)
        self.raw: dict[str, tuple[int, str]] = {}

    @staticmethod
    def empty(n: int) -> str:
        return f'{{"memos": {{}}, "entry_id": {n}}}'

    def __setitem__(self, key: str, value: tuple[int, str]) -> None:
        i, text = value
        if key in self.raw:
            self.raw[key] = value
            return
        n, j = self._k.find(key)
        if n is not None and key.startswith('{"entry_id": ') and i >= 0 and text == self.empty(n):
            if j is not None and self.hids[j] >= 0:
                self.hids[j] = i
                return
            if j is None and self._k.appendable(key, n):
                self._k.append(key, n)
                self.hids.append(i)
                return
        if j is not None and self.hids[j] >= 0:
            self.hids[j] = -1
            self.dead += 1
        self.raw[key] = value

    def _slot(self, key: str) -> int | None:
        _, j = self._k.find(key)
        return j if j is not None and self.hids[j] >= 0 else None

    def __getitem__(self, key: str) -> tuple[int, str]:
        v = self.raw.get(key)
        if v is not None:
            return v
        j = self._slot(key)
        if j is None or self._k.name != "entry_id":
            raise KeyError(key)
        return self.hids[j], self.empty(self._k.ids[j])

    def __delitem__(self, key: str) -> None:
        raise TypeError("a history scan keeps every row it has seen")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self.raw or self._slot(key) is not None)

    def __iter__(self) -> Iterator[str]:
        for j in range(len(self._k.ids)):
            if self.hids[j] >= 0:
                yield self._k.key(j)
        yield from self.raw

    def __len__(self) -> int:
        return len(self._k.ids) - self.dead + len(self.raw)

    def texts(self) -> MemoTexts:
        return MemoTexts(self)


class MemoTexts(Mapping[str, str]):
    """``MemoVersions`` as key -> text; ``texted()``: the keys of the versions not kept as
    an empty memo (only those, and the entries whose postings carry memos now, can differ)."""

    __slots__ = ("_v",)

    def __init__(self, versions: MemoVersions) -> None:
        self._v = versions

    def __getitem__(self, key: str) -> str:
        return self._v[key][1]

    def __contains__(self, key: object) -> bool:
        return key in self._v

    def __iter__(self) -> Iterator[str]:
        return iter(self._v)

    def __len__(self) -> int:
        return len(self._v)

    def texted(self) -> Iterator[str]:
        return iter(self._v.raw)


V = TypeVar("V", bound=Hashable)


class CodedMap(MutableMapping[int, V]):
    """Entry id -> a few-valued value (a kind, a year), for every entry: the ids that arrive
    ascending (the entries stream in id order) in one ``array``, each value's code in
    another — ~12 bytes an entry where a dictionary took ~100 with its keys and values —
    and any other id in ``raw`` with how many column ids came before it, so that iteration
    is in the order the ids were put, as the dictionary's was. Nothing is ever deleted."""

    __slots__ = ("code", "codes", "distinct", "ids", "raw")

    def __init__(self) -> None:
        self.ids = array("q")
        self.codes = array("i")
        self.distinct: list[V] = []
        self.code: dict[V, int] = {}
        self.raw: dict[int, tuple[int, V]] = {}

    def _find(self, eid: int) -> int | None:
        return _position(self.ids, eid)

    def _code(self, value: V) -> int:
        c = self.code.get(value)
        if c is None:
            c = self.code[value] = len(self.distinct)
            self.distinct.append(value)
        return c

    def __setitem__(self, eid: int, value: V) -> None:
        if eid in self.raw:
            self.raw[eid] = (self.raw[eid][0], value)
            return
        j = self._find(eid)
        if j is not None:
            self.codes[j] = self._code(value)
        elif (not self.ids or eid > self.ids[-1]) and -_INT64 < eid < _INT64:
            self.ids.append(eid)
            self.codes.append(self._code(value))
        else:
            self.raw[eid] = (len(self.ids), value)

    def __getitem__(self, eid: int) -> V:
        j = self._find(eid) if isinstance(eid, int) else None
        if j is not None:
            return self.distinct[self.codes[j]]
        return self.raw[eid][1]

    def __delitem__(self, eid: int) -> None:
        raise TypeError("CodedMap keeps every id it is given")

    def __contains__(self, eid: object) -> bool:
        return isinstance(eid, int) and (self._find(eid) is not None or eid in self.raw)

    def __iter__(self) -> Iterator[int]:
        return (eid for eid, _ in put_order(self.ids, self.raw))

    def __len__(self) -> int:
        return len(self.ids) + len(self.raw)


class Field(Mapping[int, Any]):
    """One field of a ``CodedMap`` of tuples, read-only: ``field[eid]`` is ``coded[eid][i]``.
    Two maps set together for every entry (the rules' kinds and days) kept as one map of
    pairs share one id column and one code column — 12 bytes an entry, not 24 — and each
    is read through its own ``Field`` as the map it replaced was read."""

    __slots__ = ("_i", "_m")

    def __init__(self, coded: CodedMap[Any], i: int) -> None:
        self._m, self._i = coded, i

    def __getitem__(self, eid: int) -> Any:
        return self._m[eid][self._i]

    def get(self, eid: int, default: Any = None) -> Any:
        m = self._m
        return m[eid][self._i] if eid in m else default

    def __contains__(self, eid: object) -> bool:
        return eid in self._m

    def __iter__(self) -> Iterator[int]:
        return iter(self._m)

    def __len__(self) -> int:
        return len(self._m)


def put_order(ids: Sequence[int], raw: Mapping[int, tuple[int, Any]]) -> Iterator[tuple[int, int | None]]:
    """(id, its column position, or None for an id kept raw) in the order the ids were first
    put: ``raw`` holds the ids put out of order, each with the column length when it came."""
    j = 0
    for eid, (before, _) in raw.items():
        while j < before:
            yield ids[j], j
            j += 1
        yield eid, None
    for k in range(j, len(ids)):
        yield ids[k], k


Held = tuple[Any, ...]      # (held id, kind, key, units, maker, maker's role, checker)


class HeldOf:
    """Entry id -> the confirmed held entries naming it (``rules.Rules.held_of``), as the
    tuples ``(held id, kind, key, units, maker, maker's role, checker)`` that ``get`` gives
    back. One held entry per entry (the common case), its entry id ascending and its held
    id an integer, is kept as columns: the two ids in ``array``s, the five few-valued texts
    as one code, the key as a reference — the entry's own string once the entry streams past
    with that key (``share_key``) — ~32 bytes where a dictionary of tuples took ~280. Any
    other (a second held entry for one entry, an id out of order or past 64 bits, a held
    id that is not an integer) is kept in ``raw`` as the tuples, as every one was."""

    __slots__ = ("code", "codes", "distinct", "ids", "keys", "pids", "raw")

    def __init__(self) -> None:
        self.ids = array("q")
        self.pids = array("q")
        self.codes = array("i")
        self.keys: list[object] = []
        self.distinct: list[tuple[object, ...]] = []
        self.code: dict[tuple[object, ...], int] = {}
        self.raw: dict[int, tuple[Held, ...]] = {}

    def _find(self, eid: int) -> int | None:
        return _position(self.ids, eid)

    def _at(self, j: int) -> Held:
        kind, units, maker, role, checker = self.distinct[self.codes[j]]
        return (self.pids[j], kind, self.keys[j], units, maker, role, checker)

    def add(self, eid: int, held: Held) -> None:
        """One more confirmed held entry naming ``eid``."""
        if eid in self.raw:
            self.raw[eid] = (*self.raw[eid], held)
            return
        j = self._find(eid)
        if j is not None:                  # a second one: both as tuples (the column's is shadowed)
            self.raw[eid] = (self._at(j), held)
            return
        pid = held[0]
        if (type(pid) is int and -_INT64 < pid < _INT64 and -_INT64 < eid < _INT64
                and (not self.ids or eid > self.ids[-1])):
            value = (held[1], held[3], held[4], held[5], held[6])
            c = self.code.get(value)
            if c is None:
                c = self.code[value] = len(self.distinct)
                self.distinct.append(value)
            self.ids.append(eid)
            self.pids.append(pid)
            self.codes.append(c)
            self.keys.append(held[2])
            return
        self.raw[eid] = (held,)

    @overload
    def get(self, eid: int) -> tuple[Held, ...] | None: ...

    @overload
    def get(self, eid: int, default: tuple[Held, ...]) -> tuple[Held, ...]: ...

    def get(self, eid: int, default: tuple[Held, ...] | None = None) -> tuple[Held, ...] | None:
        if self.raw:
            got = self.raw.get(eid)
            if got is not None:
                return got
        j = self._find(eid)
        return default if j is None else (self._at(j),)

    def share_key(self, eid: int, key: str) -> None:
        """The entry ``eid`` streamed past with ``key``: a held entry's equal key becomes that
        one string (one kept for both)."""
        got = self.raw.get(eid) if self.raw else None
        if got is not None:
            if any(h[2] == key and h[2] is not key for h in got):
                self.raw[eid] = tuple((h[0], h[1], key, *h[3:]) if h[2] == key else h for h in got)
            return
        j = self._find(eid)
        if j is not None and self.keys[j] == key:
            self.keys[j] = key

    def __len__(self) -> int:
        return len(self.ids) + sum(1 for eid in self.raw if self._find(eid) is None)


class KeptOf(MutableMapping[int, Any]):
    """Entry id -> what the rules keep of an entry they judge after the stream
    (``rules.Rules.kept``: kind, key, book, date, created_by, created_at, writer, reverses,
    source), one per manual or held entry — on a maker-checker ledger, every settlement. The
    ids that arrive ascending (the entries stream in id order) are columns: the id in an
    ``array``, the few-valued texts (kind, book, date, maker, writer) as one code, the key
    and the time written as references to the row's own strings (one per entry, shared with
    the held entries and the proof's codes), the reverses and a source with any kept key
    in dictionaries (rare) — ~32 bytes an entry where a dictionary of slotted objects took
    ~170 with its int keys. Any other id (lower than one kept, past 64 bits) is kept in
    ``raw`` with how many column ids came before it, so that iteration is in the order the
    ids were first put, as the dictionary's was. ``get`` answers with ``make(*fields)``
    built afresh (the rules only read a kept entry's fields)."""

    __slots__ = ("_empty", "ats", "code", "codes", "distinct", "ids", "make", "raw", "refs", "revs", "srcs")

    def __init__(self, make: Any, empty_source: Any) -> None:
        self.make = make
        self.ids = array("q")
        self.codes = array("i")
        self.refs: list[Any] = []
        self.ats: list[Any] = []
        self.distinct: list[tuple[Any, ...]] = []
        self.code: dict[tuple[Any, ...], int] = {}
        self.revs: dict[int, Any] = {}
        self.srcs: dict[int, Any] = {}
        self.raw: dict[int, tuple[int, Any]] = {}
        self._empty = empty_source

    def _find(self, eid: int) -> int | None:
        return _position(self.ids, eid)

    def _put(self, j: int | None, eid: int, kind: Any, key: Any, book: Any, date: Any, created_by: Any,
             created_at: Any, writer: Any, reverses: Any, source: Any) -> None:
        value = (kind, book, date, created_by, writer)
        c = self.code.get(value)
        if c is None:
            c = self.code[value] = len(self.distinct)
            self.distinct.append(value)
        if j is None:
            self.ids.append(eid)
            self.codes.append(c)
            self.refs.append(key)
            self.ats.append(created_at)
        else:
            self.codes[j], self.refs[j], self.ats[j] = c, key, created_at
        if reverses is not None:
            self.revs[eid] = reverses
        else:
            self.revs.pop(eid, None)
        if source is not self._empty:
            self.srcs[eid] = source
        else:
            self.srcs.pop(eid, None)

    def put(self, eid: int, kind: Any, key: Any, book: Any, date: Any, created_by: Any, created_at: Any,
            writer: Any, reverses: Any, source: Any) -> None:
        """As ``self[eid] = make(kind, key, …)``, without building the object."""
        if eid in self.raw:
            self.raw[eid] = (self.raw[eid][0], self.make(kind, key, book, date, created_by, created_at, writer,
                                                         reverses, source))
            return
        ids = self.ids
        if (not ids or eid > ids[-1]) and -_INT64 < eid < _INT64:
            self._put(None, eid, kind, key, book, date, created_by, created_at, writer, reverses, source)
            return
        j = self._find(eid)
        if j is not None:
            self._put(j, eid, kind, key, book, date, created_by, created_at, writer, reverses, source)
        else:
            self.raw[eid] = (len(ids), self.make(kind, key, book, date, created_by, created_at, writer, reverses,
                                                 source))

    def __setitem__(self, eid: int, e: Any) -> None:
        self.put(eid, e.kind, e.key, e.book, e.date, e.created_by, e.created_at, e.writer, e.reverses, e.source)

    def _at(self, j: int) -> Any:
        eid = self.ids[j]
        kind, book, date, created_by, writer = self.distinct[self.codes[j]]
        return self.make(kind, self.refs[j], book, date, created_by, self.ats[j], writer, self.revs.get(eid),
                         self.srcs.get(eid, self._empty))

    def get(self, eid: int, default: Any = None) -> Any:
        if self.raw:
            got = self.raw.get(eid)
            if got is not None:
                return got[1]
        j = self._find(eid) if type(eid) is int else None
        return default if j is None else self._at(j)

    def __getitem__(self, eid: int) -> Any:
        got = self.get(eid)
        if got is None:
            raise KeyError(eid)
        return got

    def __delitem__(self, eid: int) -> None:
        raise TypeError("KeptOf keeps every id it is given")

    def __contains__(self, eid: object) -> bool:
        return isinstance(eid, int) and (eid in self.raw or self._find(eid) is not None)

    def __iter__(self) -> Iterator[int]:
        return (eid for eid, _ in put_order(self.ids, self.raw))

    def items(self) -> Iterator[tuple[int, Any]]:  # type: ignore[override]
        """(id, entry) in the order the ids were first put."""
        for eid, j in put_order(self.ids, self.raw):
            yield eid, self.raw[eid][1] if j is None else self._at(j)

    def __len__(self) -> int:
        return len(self.ids) + len(self.raw)

    def ids_of_kinds(self, kinds: Container[Any]) -> Iterator[int]:
        """The ids whose kind (the first field) is one of ``kinds``, in the order first put,
        without building an entry for each."""
        want = [value[0] in kinds for value in self.distinct]
        ids, codes = self.ids, self.codes
        j = 0
        for eid, (before, e) in self.raw.items():
            while j < before:
                if want[codes[j]]:
                    yield ids[j]
                j += 1
            if e.kind in kinds:
                yield eid
        for k in range(j, len(ids)):
            if want[codes[k]]:
                yield ids[k]


def _column(ids: Iterable[int]) -> array[int] | list[int]:
    """``ids`` in an ``array`` (8 bytes each), or a list once one does not fit 64 bits."""
    col: array[int] | list[int] = array("q")
    for eid in ids:
        if type(col) is array and not -_INT64 < eid < _INT64:
            col = list(col)
        col.append(eid)
    return col


class SortedIds(Sequence[int]):
    """Distinct integer ids in ascending order — an ``array`` (8 bytes an id) when each fits
    64 bits, else a list — answering ``in`` by bisection: a set of every id, made and
    dropped, for what is only walked in order and asked of."""

    __slots__ = ("ids",)

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self.ids: array[int] | list[int] = _column(sorted(set(ids)))

    @classmethod
    def union(cls, *parts: Iterable[int]) -> SortedIds:
        """The distinct ids of ``parts``, each walked once: a part already ascending is merged
        as it is; another is sorted first."""
        runs: list[Iterable[int]] = []
        for part in parts:
            col = _column(part)
            if any(col[k] >= col[k + 1] for k in range(len(col) - 1)):
                col = sorted(col)
            runs.append(col)
        made = cls()
        made.ids = _column(eid for eid, _ in itertools.groupby(heapq.merge(*runs)))
        return made

    def __contains__(self, eid: object) -> bool:
        return type(eid) is int and _position(self.ids, eid) is not None

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[int]: ...

    def __getitem__(self, i: int | slice) -> int | Sequence[int]:
        return self.ids[i]

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


class IntSums:
    """Entry id -> an integer sum (``fund_rules.FundRows.watched``: a county expenditure
    account's D−C per entry), as the dictionary ``v[eid] = v.get(eid, 0) + amount`` it
    replaces: the ids that arrive ascending (one entry's postings together, the entries in
    id order) as two ``array`` columns, ~16 bytes an entry where the dictionary's slot and
    int objects took ~90; any other id, and a sum past 64 bits, in ``raw``. ``items``
    yields every (id, sum) once — in no promised order (its readers add them up)."""

    __slots__ = ("ids", "raw", "sums")

    def __init__(self) -> None:
        self.ids = array("q")
        self.sums = array("q")
        self.raw: dict[int, int] = {}

    def add(self, eid: int, amount: int) -> None:
        raw = self.raw
        if eid in raw:
            raw[eid] += amount
            return
        ids = self.ids
        if ids and eid == ids[-1]:
            j: int | None = len(ids) - 1
        elif (not ids or eid > ids[-1]) and -_INT64 < eid < _INT64:
            ids.append(eid)
            self.sums.append(0)
            j = len(ids) - 1
        else:
            j = _position(ids, eid)
            if j is None:
                raw[eid] = amount
                return
        assert j is not None
        s = self.sums[j] + amount
        if -_INT64 < s < _INT64:
            self.sums[j] = s
        else:                       # past 64 bits: the whole sum moves to ``raw`` (the column's is left out)
            self.sums[j] = 0
            raw[eid] = s

    def get(self, eid: int, default: int | None = None) -> int | None:
        if eid in self.raw:
            return self.raw[eid]
        j = _position(self.ids, eid) if type(eid) is int else None
        return default if j is None else self.sums[j]

    def items(self) -> Iterator[tuple[int, int]]:
        raw = self.raw
        for eid, s in zip(self.ids, self.sums, strict=True):
            if not raw or eid not in raw:
                yield eid, s
        yield from raw.items()

    def __len__(self) -> int:
        return len(self.ids) + sum(1 for eid in self.raw if _position(self.ids, eid) is None)
