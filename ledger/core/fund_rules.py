"""The fund's own rules re-derived from raw rows (issue 15): the year-end close's shortfall
table, the government-share register and the adjustment fund's dates.

Four rules the API holds only in SQL function bodies (``fl.close_year``,
``fl.government_pay``, ``fl.adjfund_allocate``, ``fl.adjfund_remit``) and that a superuser
could switch off for one call leaving rows that look like any others. Here each is asked of
the rows themselves, in Python, with no value a server function computed:

* ``year_close_result`` — every close's stored shortfall table (``fl.year_close.result``)
  equals the books and the rule. The books: each unit's revenue and expenditure of the year
  and its fund balance carried in, from the daily movements (``fl.account_day``, which the
  proof recomputes from the postings) less the close's own entries; the government-share
  money received in the year and the shares still owed at its start, from the register's
  items and clearings; the adjustment-fund allocations for the year paid in it, from their
  entries. The rule: BRIEF §5 across years, the fund between surplus and government
  (``ledger.core.shortfall`` is the same rule, held to these equations by its tests). And
  each government share of the table is one register item of that amount, and no other
  item claims the year.
* ``register_overpaid`` — a government-share item is never settled beyond what it owed
  (its clearings, in the order written, never exceed it), and every clearing is exactly the
  money its entry received for that item (a ``register_clear`` entry naming the item, its
  debits equal to the clearing); a payment entry for an item with no clearing is money
  taken as a government share that settled nothing.
* ``adjfund_cap`` (its late part) — an allocation that arrived after its year's close
  settles that year's item of the unit it credits, never another year's.
* ``adjfund_date`` — an allocation for year Y paid before Y's close is dated in Y, written
  before the close; one paid after settles Y's shares, is dated after Y and written after
  the close; a remittance for Y is dated in Y.

Findings are plain (message, entry id) pairs for ``ledger.core.rules`` (check
``workflows``) to report; a rule's code ends each message.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.clearings import UNCLEAR
from ledger.core.keyed import IntSums

Row = Sequence[str]

# fl.register_item and fl.register_clearing columns read (government shares only).
ITEM_COLS: tuple[str, ...] = ("id", "kind", "unit", "book", "amount", "opened_on", "fiscal_year", "reference")
CLEARING_COLS: tuple[str, ...] = ("id", "item_id", "amount", "cleared_on", "entry_id", "idempotency_key")

# The stored table's columns the across-years rule (0011, 0025b) writes, and the books' figures
# each of the close's inputs must equal.
_INPUTS = ("revenue", "expenditure", "surplus_before", "revenue_on_books", "share_receipts",
           "surplus_before_on_books", "outstanding_before", "adjustment_receipts")


def _fen(v: int) -> str:
    sign = "-" if v < 0 else ""
    return f"{sign}{abs(v) // 100:,}.{abs(v) % 100:02d}"


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    try:
        return None if v is None or v == "" else int(v)
    except (TypeError, ValueError, ArithmeticError):  # ArithmeticError: int(inf) from a huge JSON number (ATTACK10 X14)
        return None


@dataclass(frozen=True)
class Entry:
    """What these rules read of an entry: its kind, book, date, key, source and write time."""

    kind: str
    book: str
    date: str
    key: str
    source: Mapping[str, Any]
    created_at: dt.datetime | None


class _Writes:
    """The entries of one book and year in id order: id, when written (epoch seconds), date
    (ordinal) and the greatest write time so far (to skip to the writes after a moment)."""

    __slots__ = ("at", "day", "ids", "seq", "stop", "top")

    def __init__(self) -> None:
        self.ids, self.at, self.day, self.top = array("q"), array("d"), array("l"), array("d")
        # (W6) each entry's chain position (UNSEALED: none now) and the greatest so far, filled
        # once a judged write's mark asks (``FundRows.after_mark``)
        self.seq: array[int] | None = None
        self.stop: array[int] | None = None

    def add(self, eid: int, at: float, day: int) -> None:
        self.ids.append(eid)
        self.at.append(at)
        self.day.append(day)
        self.top.append(max(at, self.top[-1]) if self.top else at)
        self.seq = self.stop = None

    def positions(self, seq_of: Callable[[int], int | None]) -> tuple[array[int], array[int]]:
        """Each entry's chain position (``UNSEALED`` when it has none) and the greatest of them
        so far, in id order: the entries above a position are found from the first place the
        greatest passes it (ids and positions rise together but for the queued entries)."""
        if self.seq is None or self.stop is None:
            seq, stop, top = array("q"), array("q"), -1
            for eid in self.ids:
                s = seq_of(eid)
                s = UNSEALED if s is None else s
                seq.append(s)
                top = max(top, s)
                stop.append(top)
            self.seq, self.stop = seq, stop
        return self.seq, self.stop


# An entry with no seal (queued now, or never sealed) is above every chain position.
UNSEALED = 1 << 62


@dataclass(frozen=True)
class Mark:
    """What a write read of the journal, as it recorded it (0094, source key ``seen``): the
    chain position of the head its statement saw, the entries queued for sealing then and
    those its own transaction had written (seen, though above the position), and the clock
    when it read them (epoch seconds)."""

    seq: int
    at: float
    queued: tuple[int, ...]
    own: tuple[int, ...]

    @property
    def also(self) -> frozenset[int]:
        return frozenset(self.queued) | frozenset(self.own)


def _ids(v: Any) -> tuple[int, ...] | None:
    if not isinstance(v, list):
        return None
    out = tuple(_int(x) for x in v)
    return None if None in out else tuple(x for x in out if x is not None)


def mark_of(source: Mapping[str, Any]) -> Mark | bool | None:
    """The mark an entry's source recorded: a ``Mark``, None when it records none (written
    before 0094), False when it records one that cannot be read."""
    seen = source.get("seen")
    if seen is None:
        return None
    if not isinstance(seen, dict):
        return False
    seq, queued, own = _int(seen.get("seq")), _ids(seen.get("queued")), _ids(seen.get("own"))
    at = _epoch(str(seen.get("at") or "")) if isinstance(seen.get("at"), str) else float("inf")
    if seq is None or seq < 0 or queued is None or own is None or at == float("inf"):
        return False
    return Mark(seq, at, queued, own)


@dataclass
class FundRows:
    """The rows the rules read, gathered as the verdict streams its tables."""

    pooled: dict[str, str] = field(default_factory=dict)                 # book -> pooled component
    chart_kind: dict[str, str] = field(default_factory=dict)             # chart code -> kind
    acct: Mapping[str, tuple[str, str, str, str, str]] = field(default_factory=dict)  # id -> book, chart, unit, …
    year_net: dict[str, dict[int, int]] = field(default_factory=dict)   # account -> year -> D−C of its days
    closing: dict[int, tuple[str, int]] = field(default_factory=dict)    # year_close entry -> (book, year)
    sums: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # entry -> account -> [debits, credits]
    entries: dict[int, Entry] = field(default_factory=dict)              # the allocations, remittances, clearings
    # (ATTACK15 A4) the reversals of in-year allocations: reversal -> (the allocation, the reversal)
    alloc_reversals: dict[int, tuple[int, Entry]] = field(default_factory=dict)
    kinds: Mapping[int, str] = field(default_factory=dict)               # every entry's kind
    items: list[Row] = field(default_factory=list)                       # ITEM_COLS, government shares
    clearings: list[Row] = field(default_factory=list)                   # CLEARING_COLS of those items
    closes: list[Row] = field(default_factory=list)                      # year, book, closed_at, closed_on, result
    special_days: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # 1003 special -> (day, D−C)
    writes: dict[tuple[str, int], _Writes] = field(default_factory=dict)  # (book, year) -> its entries' writes
    held_at: dict[int, str] = field(default_factory=dict)                # interest, pre-allocation -> hold's made_at
    budgets: list[Row] = field(default_factory=list)                     # fl.budget: id, year, unit, book, version, …
    budget_lines: list[Row] = field(default_factory=list)                # fl.budget_line: budget_id, component, line, amount
    watched: dict[str, IntSums] = field(default_factory=dict)    # county_exp account -> entry -> D−C on it (columns)
    dated: dict[int, int] = field(default_factory=dict)                  # the entries taken out -> date (ordinal)
    adjfund: Mapping[str, Any] = field(default_factory=dict)             # the adjustment_fund setting (now)
    # (ATTACK19b K1) entry -> the adjustment_fund setting in force when it was written, by the
    # chained history's order (ledger.core.rules.Rules.setting_at); None: the setting now
    adjfund_at: Callable[[int], Mapping[str, Any]] | None = None
    legacy: frozenset[int] = frozenset()                                 # entries before the chained history
    # (W6) the chain, once the proof has streamed it: entry -> its seal's position (None: no
    # seal), the sealing times of the positions the marks name (and the next ones), the head,
    # and the entries the history recorded as queued (entry -> queued_at; None: no history)
    seq_of: Callable[[int], int | None] | None = None
    sealed_at: dict[int, str] = field(default_factory=dict)
    head: int = 0
    queued_at: Mapping[int, str] | None = None

    def day(self, aid: str, day: str, debits: str, credits: str) -> None:
        """One fl.account_day row: its net movement added to its account's year."""
        years = self.year_net.setdefault(aid, {})
        y, net = int(day[:4]), int(debits) - int(credits)
        years[y] = years.get(y, 0) + net
        a = self.acct.get(aid)
        if a is not None and a[1] == "1003" and a[3] == "special":
            self.special_days.setdefault(aid, []).append((day[:10], net))

    def wrote(self, eid: int, book: str, date: str, created_at: str) -> None:
        """Entry ``eid`` of ``book`` dated ``date`` written at ``created_at`` (its transaction's
        start, as PostgreSQL prints it), in id order: what the books were at an allocation's
        moment is the books now less the entries written after it (Z1)."""
        y = int(date[:4])
        w = self.writes.get((book, y))
        if w is None:
            w = self.writes[(book, y)] = _Writes()
        w.add(eid, _epoch(created_at), _ordinal(date[:10]))

    def after(self, book: str, last: str, at: float) -> dict[int, float]:
        """The entries of ``book`` dated on or before ``last`` whose write may have begun after
        ``at`` − ``WRITE_SLACK``: entry -> when its write began (inf: no readable time)."""
        out: dict[int, float] = {}
        since, end = at - WRITE_SLACK.total_seconds(), dt.date.fromisoformat(last).toordinal()
        for (b, y), w in self.writes.items():
            if b != book or y > int(last[:4]):
                continue
            for i in range(bisect_right(w.top, since), len(w.ids)):
                if w.at[i] > since and w.day[i] <= end:
                    out[w.ids[i]] = w.at[i]
                    self.dated[w.ids[i]] = w.day[i]
        return out

    def marked(self, eid: int) -> Mark | None:
        """The readable mark of judged write ``eid`` when the chain is known (else None:
        judged by the clock, as before 0094)."""
        e = self.entries.get(eid)
        m = mark_of(e.source) if e is not None else None
        return m if isinstance(m, Mark) and self.seq_of is not None else None

    def mark_seqs(self) -> set[int]:
        """The chain positions whose sealing times the marks are held to: each and the next."""
        out: set[int] = set()
        for e in self.entries.values():
            m = mark_of(e.source)
            if isinstance(m, Mark):
                out.update((m.seq, m.seq + 1))
        return out

    def seal(self, seq: int, sealed_at: str, wanted: set[int]) -> None:
        """One seal as the proof streams the chain: the head, and the times the marks need."""
        self.head = max(self.head, seq)
        if seq in wanted:
            self.sealed_at[seq] = sealed_at

    def visible(self, eid: int, mark: Mark) -> bool:
        """Was entry ``eid`` in what the write that recorded ``mark`` read: sealed at or below
        its position, or one it listed (queued then, or its own transaction's)."""
        if self.seq_of is None:
            return False
        s = self.seq_of(eid)
        return (s is not None and s <= mark.seq) or eid in mark.also

    def after_mark(self, book: str, last: str, mark: Mark) -> dict[int, float]:
        """The entries of ``book`` dated on or before ``last`` that the write which recorded
        ``mark`` did not read (0094): sealed above its position, or not sealed, and not
        listed: entry -> when its write began. Exact — no slack, no widening."""
        out: dict[int, float] = {}
        if self.seq_of is None:
            return out
        end, also = dt.date.fromisoformat(last).toordinal(), mark.also
        for (b, y), w in self.writes.items():
            if b != book or y > int(last[:4]):
                continue
            seq, stop = w.positions(self.seq_of)
            for i in range(bisect_right(stop, mark.seq), len(w.ids)):
                if seq[i] > mark.seq and w.day[i] <= end and w.ids[i] not in also:
                    out[w.ids[i]] = w.at[i]
                    self.dated[w.ids[i]] = w.day[i]
        return out

    def when(self, eid: int) -> float | None:
        """When entry ``eid``'s write began (None: no such entry); its date kept in ``dated``."""
        for w in self.writes.values():
            i = bisect_right(w.ids, eid) - 1
            if i >= 0 and w.ids[i] == eid:
                self.dated[eid] = w.day[i]
                return w.at[i]
        return None

    def later_ids(self) -> set[int]:
        """The entries whose amounts the books as they stood at a judged write leave out
        (written after it, or within ``WRITE_SLACK`` of it): read with the other amounts."""
        out: set[int] = set()
        for eid, book, last, at in self._moments():
            m = self.marked(eid)
            out.update(self.after(book, last, at) if m is None else self.after_mark(book, last, m))
        return out

    def _moments(self) -> Iterator[tuple[int, str, str, float]]:
        """Each write whose recorded inputs are judged against the books at its moment: (the
        entry, its book, the last day of the books it read, when): interest holds (0079),
        in-year adjustment-fund allocations (0084), pre-allocations' last year (0046)."""
        for eid, e in self.entries.items():
            if eid in self.legacy:
                continue
            held = _ts(self.held_at.get(eid, ""))
            if e.kind == "interest" and held is not None and _day(e.source.get("to")) is not None:
                yield eid, e.book, str(_day(e.source.get("to"))), _epoch(self.held_at[eid])
            elif e.kind == "adjfund_alloc" and "caps" in e.source and e.created_at is not None:
                y = _int(e.source.get("year"))
                if y is not None and 1 <= y <= 9999:
                    yield eid, e.book, f"{y:04d}-12-31", self.when(eid) or e.created_at.timestamp()
            elif e.kind == "preallocation" and isinstance(e.source.get("cap"), dict) and held is not None:
                y = _int(e.source.get("year"))
                if y is not None and 2 <= y <= 9999:
                    yield eid, e.book, f"{y - 1:04d}-12-31", _epoch(self.held_at[eid])

    def watch(self, eid: int, aid: str, side: str, amount: int) -> None:
        """A posting on a county's expenditure account (1004 county_exp): a pre-allocation's
        recorded 'what the account held' is re-derived from them (Z2)."""
        a = self.acct.get(aid)
        if a is not None and a[1] == "1004" and a[3] == "county_exp":
            v = self.watched.get(aid)
            if v is None:
                v = self.watched[aid] = IntSums()
            v.add(eid, amount if side == "D" else -amount)

    def posting(self, eid: int, aid: str, side: str, amount: int) -> None:
        """A posting (or a grouped sum) of an entry whose amounts the rules read."""
        v = self.sums.setdefault(eid, {}).setdefault(aid, [0, 0])
        v[0 if side == "D" else 1] += amount


_ORDINALS: dict[str, int] = {}
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


def _ordinal(day: str) -> int:
    """A date's ordinal (a ledger has a few thousand dates: each parsed once)."""
    n = _ORDINALS.get(day)
    if n is None:
        n = dt.date.fromisoformat(day).toordinal()
        if len(_ORDINALS) < 100_000:
            _ORDINALS[day] = n
    return n


def _epoch(text: str) -> float:
    """A write time as PostgreSQL prints it in UTC (``2023-05-01 10:11:12.123456+00``) in epoch
    seconds, without a datetime per entry; any other form through ``datetime``; inf when it is
    not a time at all (such a write is taken for one after any moment)."""
    try:
        if len(text) >= 22 and text[10] == " " and text.endswith("+00") and text[13] == ":" and text[16] == ":":
            frac = float(text[19:-3]) if text[19] == "." else 0.0
            return ((_ordinal(text[:10]) - _EPOCH_DAY) * 86400 + int(text[11:13]) * 3600 + int(text[14:16]) * 60
                    + int(text[17:19]) + frac)
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        return float("inf")
    return at.timestamp() if at.tzinfo is not None else float("inf")


def _ts(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _close_times(closes: Sequence[Row]) -> dict[tuple[str, int], dt.datetime]:
    out: dict[tuple[str, int], dt.datetime] = {}
    for r in closes:
        y, at = _int(r[0]), _ts(r[2])
        if y is not None and at is not None:
            out[(r[1], y)] = at
    return out


# ---- year_close_result ---------------------------------------------------------------------

def _taken_out(rows: FundRows, without: Mapping[int, Any]) -> dict[str, dict[int, int]]:
    """account -> year -> D−C of the entries ``without`` (by each entry's date): what the
    books did not yet hold at a moment those entries were written after."""
    out: dict[str, dict[int, int]] = {}
    for eid in without:
        if eid not in rows.dated:
            continue
        y = dt.date.fromordinal(rows.dated[eid]).year
        for aid, (d, c) in rows.sums.get(eid, {}).items():
            v = out.setdefault(aid, {})
            v[y] = v.get(y, 0) + d - c
    return out


def _figures(rows: FundRows, book: str, year: int, without: Mapping[int, Any] | None = None,
             at: dt.datetime | None = None, seen: Callable[[int], bool] | None = None) -> dict[str, dict[str, int]]:
    """fl.year_figures_at(year, book, 31 December) re-derived — fl.year_figures_v3(year, book),
    the one definition the close, ``report shortfall`` and (at its date) the monitor read
    (0104), the government's receipts being the clearings of government-share items dated in
    the year (fl.government_receipts), not the postings on 4101.shortfall: each unit's
    figures of the year (fen) — as the books stood at ``at`` when given: the entries ``without`` (written after it) left out,
    and the government shares of closes made after it (Z1) — or, with ``seen`` (0094: did the
    write read this entry), of closes whose closing entries it did not read."""
    without = without or {}
    comp = rows.pooled.get(book, "")
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    out_of = _taken_out(rows, without)
    closed = _close_times(rows.closes) if at is not None else {}
    if seen is not None and at is not None:    # a close with closing entries was made when they were
        read = {k for c, k in rows.closing.items() if seen(c)}
        for k in set(rows.closing.values()):
            if k not in read:
                closed[k] = at + dt.timedelta(microseconds=1)
            elif k in closed:
                closed[k] = min(closed[k], at)
    closing: dict[str, int] = defaultdict(int)          # account -> D−C of the year's closing entries
    for eid, (b, y) in rows.closing.items():
        if b == book and y == year and eid not in without:
            for aid, (d, c) in rows.sums.get(eid, {}).items():
                closing[aid] += d - c
    out: dict[str, dict[str, int]] = {}

    def fig(unit: str) -> dict[str, int]:
        return out.setdefault(unit, dict.fromkeys(("revenue_on_books", "expenditure", "carried", "fund", "receipts",
                                                   "owed", "alloc"), 0))

    mine = {aid: a for aid, a in rows.acct.items() if a[0] == book and a[4] == comp}
    for aid, (_b, chart, unit, _h, _c) in mine.items():
        f = fig(unit)
        years = rows.year_net.get(aid, {})
        if aid in out_of:
            years = {y: years.get(y, 0) - out_of[aid].get(y, 0) for y in years.keys() | out_of[aid].keys()}
        net = years.get(year, 0) - closing.get(aid, 0)
        kind = rows.chart_kind.get(chart)
        if kind == "revenue":
            f["revenue_on_books"] -= net
        elif kind == "expenditure":
            f["expenditure"] += net
        if chart == "3001":
            f["fund"] -= net
            f["carried"] -= sum(v for y, v in years.items() if y < year)
    items = {r[0]: r for r in rows.items if r[3] == book}
    paid_before: dict[str, int] = defaultdict(int)
    if at is not None:      # the items of closes made after the moment did not exist yet
        items = {i: it for i, it in items.items()
                 if (_int(it[6]) is None or closed.get((book, _int(it[6]) or 0), at) <= at)}
    for cl in rows.clearings:
        it = items.get(cl[1])
        if it is None or it[2] not in out or _int(cl[4]) in without:
            continue
        on = dt.date.fromisoformat(cl[3][:10])
        if start <= on <= end:
            out[it[2]]["receipts"] += int(cl[2])
        elif on < start:
            paid_before[cl[1]] += int(cl[2])
    for iid, it in items.items():
        if it[2] in out and dt.date.fromisoformat(it[5][:10]) < start:
            out[it[2]]["owed"] += int(it[4]) - paid_before.get(iid, 0)
    for eid, e in rows.entries.items():
        if (e.kind == "adjfund_alloc" and e.book == book and e.date[:4] == str(year) and eid not in without
                and str(e.source.get("year")) == str(year)):
            for aid, (d, c) in rows.sums.get(eid, {}).items():
                a = rows.acct.get(aid)
                if a is not None and a[1] == "4401" and a[2] in out:
                    out[a[2]]["alloc"] += c - d
    for rid in _alloc_reversals(rows, book, year):   # (0114, A4) a reversal takes its allocation back
        if rid not in without:
            for u, v in _credits_4401(rows, rid).items():
                if u in out:
                    out[u]["alloc"] += v
    return {u: {"revenue": f["revenue_on_books"] - f["receipts"] - f["alloc"], "expenditure": f["expenditure"],
                "surplus_before": f["carried"] + f["fund"] + f["owed"], "revenue_on_books": f["revenue_on_books"],
                "share_receipts": f["receipts"], "surplus_before_on_books": f["carried"] + f["fund"],
                "outstanding_before": f["owed"], "adjustment_receipts": f["alloc"]} for u, f in out.items()}


def rule_columns(x: Mapping[str, int]) -> dict[str, int]:
    """The close's outputs from its inputs — the equations fl.close_year checks (0025b), BRIEF §5
    across years with the adjustment fund (ledger.core.shortfall.apply_shortfall_rule is the
    same rule; it refuses inputs these accept, such as a negative revenue, so it is not
    called on a stored table)."""
    current = x["revenue"] - x["expenditure"]
    gap = max(-current, 0)
    covered = min(gap, max(x["surplus_before"], 0))
    fund = min(gap - covered, x["adjustment_receipts"])
    government = gap - covered - fund
    after = x["surplus_before"] + current + x["adjustment_receipts"] + government
    owed_after = x["outstanding_before"] - x["share_receipts"] + government
    return {"current_balance": current, "covered_by_surplus": covered, "covered_by_adjustment_fund": fund,
            "government_share": government, "surplus_after": after, "outstanding_after": owed_after,
            "surplus_after_on_books": after - owed_after}


def _stored(result: str) -> tuple[str, list[dict[str, Any]]] | None:
    try:
        doc = json.loads(result) if result else None
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        return None
    return str(doc.get("rule") or ""), [r for r in doc["rows"] if isinstance(r, dict)]


def year_close_findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """year_close_result over every close (its register items with it)."""
    shares: dict[tuple[str, int, str], list[Row]] = defaultdict(list)
    for it in rows.items:
        y = _int(it[6])
        if y is not None:
            shares[(it[3], y, it[2])].append(it)
    for r in sorted(rows.closes, key=lambda r: (r[1], _int(r[0]) or 0)):
        year, book = _int(r[0]), r[1]
        if year is None:
            continue
        what = f"the close of {year} for book {book}"
        got = _stored(r[4] if len(r) > 4 else "")
        if got is None:
            yield f"{what} keeps no shortfall table (year_close_result)", None
            continue
        rule, table = got
        across = rule.startswith("across_years")
        books = _figures(rows, book, year)
        seen: set[str] = set()
        for x in sorted(table, key=lambda x: str(x.get("unit"))):
            unit = str(x.get("unit"))
            seen.add(unit)
            f = books.get(unit)
            if f is None:
                yield f"{what}: its table has a line for unit {unit}, which has no account in the book (year_close_result)", None
                continue
            vals = {k: _int(x.get(k)) for k in x}
            if not across:            # before 0011: one year's rule on the books' figures
                want = {"revenue": f["revenue_on_books"], "expenditure": f["expenditure"],
                        "surplus_before": f["surplus_before_on_books"]}
            else:
                want = {k: f[k] for k in _INPUTS}
                vals.setdefault("adjustment_receipts", 0)
                if vals["adjustment_receipts"] is None:
                    vals["adjustment_receipts"] = 0
            wrong = [k for k in want if vals.get(k) != want[k]]
            if wrong:
                k = wrong[0]
                yield (f"{what}: unit {unit}'s {k} is {_show(vals.get(k))} in the stored table; the books give "
                       f"{_fen(want[k])} — the table does not match the books (year_close_result)"), None
                continue
            inputs = {k: vals.get(k) or 0 for k in _INPUTS}
            if not across:
                inputs.update(adjustment_receipts=0, share_receipts=0, outstanding_before=0)
            ruled = rule_columns(inputs)
            outs = [k for k in ruled if (across or k in ("current_balance", "covered_by_surplus", "government_share",
                                                         "surplus_after"))
                    and not (k == "covered_by_adjustment_fund" and x.get(k) is None and ruled[k] == 0)]
            bad = [k for k in outs if vals.get(k) != ruled[k]]
            if bad:
                k = bad[0]
                yield (f"{what}: unit {unit}'s {k} is {_show(vals.get(k))}; the rule gives {_fen(ruled[k])} from the "
                       f"table's own figures (revenue {_fen(inputs['revenue'])}, expenditure "
                       f"{_fen(inputs['expenditure'])}, surplus before {_fen(inputs['surplus_before'])}) — surplus, "
                       "then the adjustment fund, then the government (year_close_result)"), None
                continue
            gov = ruled["government_share"]
            got_items = shares.pop((book, year, unit), [])
            amounts = sorted(int(i[4]) for i in got_items)
            if amounts != ([gov] if gov > 0 else []):
                yield (f"{what}: unit {unit}'s government share is {_fen(gov)}; the register holds "
                       + (", ".join(f"item {i[0]} of {_fen(int(i[4]))}" for i in got_items) or "no item")
                       + " for it — the close opens one item of the share (year_close_result)"), None
        for (b, y, unit), its in sorted(shares.items()):
            if (b, y) == (book, year) and unit not in seen:
                yield (f"{what}: register item(s) {', '.join(i[0] for i in its)} claim a government share of {year} "
                       f"for unit {unit}, which has no line in the table (year_close_result)"), None
        for done in [s for s in shares if s[:2] == (book, year)]:
            del shares[done]
        for unit, f in sorted(books.items()):
            if unit not in seen and any(f.values()):
                yield (f"{what}: its table has no line for unit {unit}, whose figures are not all zero (revenue "
                       f"{_fen(f['revenue'])}, expenditure {_fen(f['expenditure'])}, surplus before "
                       f"{_fen(f['surplus_before'])}) (year_close_result)"), None
    closed = {(r[1], _int(r[0])) for r in rows.closes}
    for (book, year, unit), its in sorted(shares.items()):
        if (book, year) not in closed:
            for it in its:
                yield (f"government-share register item {it[0]} ({it[7]}) claims {year} for unit {unit}, book {book}, "
                       "but that year has no close for the book (year_close_result)"), None


def _show(v: int | None) -> str:
    return "missing" if v is None else _fen(v)


# ---- register_overpaid, adjfund_cap (late) ---------------------------------------------------------

def register_findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """register_overpaid (and an allocation's late share settling its own year: adjfund_cap)."""
    items = {r[0]: r for r in rows.items}
    by_item: dict[str, list[Row]] = defaultdict(list)
    named: dict[str, list[Row]] = defaultdict(list)
    for c in sorted(rows.clearings, key=lambda c: _int(c[0]) or 0):
        by_item[c[1]].append(c)
        if (_int(c[2]) or 0) > 0:           # a negative row (0081) undoes one: ``actors`` judges it
            named[c[4]].append(c)
    for iid, cs in sorted(by_item.items(), key=lambda x: _int(x[0]) or 0):
        it = items.get(iid)
        if it is None:
            continue
        owed, total = int(it[4]), 0
        for c in cs:
            total += int(c[2])
            if total > owed:
                yield (f"register item {iid} ({it[7]}) owed {_fen(owed)}; clearing {c[0]} ({c[5]}, {c[3]}) takes its "
                       f"clearings to {_fen(total)}: a government share is settled at most once "
                       "(register_overpaid)"), _int(c[4])
                break
    for eid_text, cs in sorted(named.items(), key=lambda x: _int(x[0]) or 0):
        eid = _int(eid_text)
        if eid is None or eid in rows.legacy:
            continue
        if all(c[5].startswith(UNCLEAR) for c in cs):
            continue            # rows undoing a reversed clearing: ledger.core.clearings (actors) judges them
        e = rows.entries.get(eid)
        it = items.get(cs[0][1])
        ref = f"register item {cs[0][1]}" + (f" ({it[7]})" if it else "")
        if e is None or e.kind != "register_clear":
            kind = e.kind if e else rows.kinds.get(eid, "no such entry")
            yield (f"clearing {cs[0][0]} of {ref} names entry {eid}, which is not a register clearing ({kind}): the "
                   "money it records was not received for the item (register_overpaid)"), eid
            continue
        if str(e.source.get("register_item")) != cs[0][1] or len(cs) > 1:
            yield (f"entry {eid} ({e.key}) names register item {e.source.get('register_item')}, but clearing(s) "
                   f"{', '.join(c[0] for c in cs)} of {ref} name it: one clearing, of the item its entry names "
                   "(register_overpaid)"), eid
            continue
        debits = sum(d for d, _c in rows.sums.get(eid, {}).values())
        if debits != int(cs[0][2]):
            yield (f"entry {eid} ({e.key}) received {_fen(debits)} for {ref}, but its clearing {cs[0][0]} records "
                   f"{_fen(int(cs[0][2]))}: a payment is at most what is owed, all of it settling the item "
                   "(register_overpaid)"), eid
            continue
        if e.key.startswith("adjfund-late:") and it is not None:
            units = {rows.acct[a][2] for a in rows.sums.get(eid, {}) if a in rows.acct}
            if str(e.source.get("year")) != it[6] or units != {it[2]}:
                yield (f"adjustment-fund allocation {e.key} for {e.source.get('year')} credits unit(s) "
                       f"{', '.join(sorted(units))} and settles {ref}, of {it[6]} for unit {it[2]}: a late allocation "
                       "settles its own year's share of the unit it pays (adjfund_cap)"), eid
    for eid, e in sorted(rows.entries.items()):
        if (e.kind == "register_clear" and e.source.get("kind") == "government_share" and str(eid) not in named
                and eid not in rows.legacy):
            debits = sum(d for d, _c in rows.sums.get(eid, {}).values())
            yield (f"entry {eid} ({e.key}) received {_fen(debits)} as a government share for register item "
                   f"{e.source.get('register_item')}, and no clearing records it: money beyond what the register "
                   "says was settled (register_overpaid)"), eid


# ---- adjfund_date -------------------------------------------------------------------------------

def adjfund_date_findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """adjfund_date over the allocations (in the year and late) and the remittances."""
    closed = _close_times(rows.closes)
    for eid, e in sorted(rows.entries.items()):
        if eid in rows.legacy:
            continue
        late = e.kind == "register_clear" and e.key.startswith("adjfund-late:")
        if e.kind not in ("adjfund_alloc", "adjfund_remit") and not late:
            continue
        year = _int(e.source.get("year"))
        if year is None:
            yield f"{e.kind} entry {e.key} names no year it is for (adjfund_date)", eid
            continue
        at = closed.get((e.book, year))
        what = f"{'remittance' if e.kind == 'adjfund_remit' else 'adjustment-fund allocation'} {e.key} for {year}"
        if e.kind == "adjfund_remit" and e.date[:4] != str(year):
            yield f"{what} dated {e.date}: a remittance for a year is dated in it (adjfund_date)", eid
        elif e.kind == "adjfund_alloc" and e.date[:4] != str(year):
            yield (f"{what} dated {e.date}, before its year's close: an allocation for a year paid before its close "
                   "is dated in the year (adjfund_date)"), eid
        elif e.kind == "adjfund_alloc" and at is not None and e.created_at is not None and e.created_at > at:
            yield (f"{what} written at {e.created_at.isoformat()}, after {year}'s close of book {e.book} "
                   f"({at.isoformat()}), as the year's own revenue: after the close an allocation settles the year's "
                   "government shares (adjfund_date)"), eid
        elif late and e.date <= f"{year}-12-31":
            yield (f"{what} dated {e.date}, settling {year}'s government share: an allocation paid after the close is "
                   f"dated after {year} (adjfund_date)"), eid
        elif late and (at is None or (e.created_at is not None and e.created_at < at)):
            yield (f"{what} settles {year}'s government share, written "
                   + (f"before {year}'s close of book {e.book}" if at else f"while {year} is not closed for book {e.book}")
                   + f": the share exists once the year is closed; close year {year} first (adjfund_date)"), eid


# ---- interest_shares -----------------------------------------------------------------------------

# How long before an interest allocation's hold another write may have begun and still not been
# visible to it (a transaction's created_at is its start), or after it and yet seen: such a write may or
# may not be in what it read, and a recorded input is judged within what it could make it (Z1).
WRITE_SLACK = dt.timedelta(minutes=5)


def _day(v: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(v)[:10]) if v else None
    except ValueError:
        return None


def _counted(day: str, start: dt.date, end: dt.date) -> int:
    """How many end-of-day balances of [start, end] a movement on ``day`` is in."""
    d = dt.date.fromisoformat(day)
    return 0 if d > end else (end - max(d, start)).days + 1


def _recorded(source: Mapping[str, Any]) -> tuple[int, dict[str, int]] | None:
    """The total and weights an allocation's hold recorded (0079), or None (before 0079)."""
    total, weights = _int(source.get("total")), source.get("weights")
    if total is None or not isinstance(weights, dict):
        return None
    out = {str(k): _int(v) for k, v in weights.items()}
    return (total, {k: v for k, v in out.items() if v is not None}) if None not in out.values() else None


def _shares(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """The rule's shares (ledger.core.interest), the units with none left out; {} when no
    weight is positive (nobody to credit)."""
    from ledger.core.interest import allocate_interest
    from ledger.errors import BadInput

    try:
        return {k: v for k, v in allocate_interest(total, weights).items() if v} if weights else {}
    except BadInput:
        return {}


def interest_findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """interest_shares: each interest allocation credits each unit (and component) of the
    book's special account the share the rule gives — the interest, shared by the sums of
    end-of-day balances (积数) over its period, largest remainder, ties by unit[/component]
    (ledger.core.interest, fl.interest_shares). Judged against the total and weights its hold
    recorded (0079) — the credits add up to the total, each is the rule's share — and the
    weights against the daily movements as the hold saw them. The books the hold saw are the daily movements less every entry of the book
    dated on or before the period's end written after the hold (Z1: whatever was written later);
    one whose write began within ``WRITE_SLACK`` either side of the hold may or may not have been
    seen (a transaction's time is its start), so each weight is judged within what it and such
    writes could have made it. An allocation with no weights recorded (before 0079) is judged
    over every set of those writes it may have seen; with more than eight, that it cannot be is
    the finding."""
    special = {aid: a for aid, a in rows.acct.items() if a[1] == "1003" and a[3] == "special"}
    for eid, e in sorted(rows.entries.items()):
        if e.kind != "interest" or eid in rows.legacy:
            continue
        start, end, held = _day(e.source.get("from")), _day(e.source.get("to")), _ts(rows.held_at.get(eid, ""))
        if start is None or end is None or held is None or end < start:
            continue                        # interest_period and maker_checker judge these
        mine = {aid: a for aid, a in special.items() if a[0] == e.book}
        key = {aid: a[2] + (f"/{a[4]}" if a[4] else "") for aid, a in mine.items()}
        got: dict[str, int] = {}
        for aid, (d, _c) in rows.sums.get(eid, {}).items():
            if aid in mine:
                got[key[aid]] = got.get(key[aid], 0) + d
        what = f"interest {e.key} ({_fen(sum(got.values()))} over {start} … {end})"
        recorded = _recorded(e.source)
        if recorded is not None:
            total, weights = recorded
            if total != sum(got.values()):
                yield (f"{what}: its hold recorded {_fen(total)} of interest to share; the entry credits "
                       f"{_fen(sum(got.values()))} (interest_shares)"), eid
                continue
            bad = _differs(got, _shares(total, weights))
            if bad:
                yield f"{what} {bad} over the weights its hold recorded (interest_shares)", eid
                continue
        mark = rows.marked(eid)
        wrong = next(mark_findings(rows, eid, _epoch(rows.held_at[eid]), "interest_shares", what), None)
        if wrong is not None:
            yield wrong, eid
            continue
        later, unsure = _later(rows, e.book, end.isoformat(), _epoch(rows.held_at[eid]), own={eid}, mark=mark)
        base: dict[str, int] = {}
        for aid in mine:
            w = sum(net * _counted(day, start, end) for day, net in rows.special_days.get(aid, ()))
            base[key[aid]] = base.get(key[aid], 0) + w

        for jid in later:                          # the books the hold saw: the later writes taken out
            for k, v in _weight_of(rows, jid, key, start, end).items():
                base[k] = base.get(k, 0) - v
        deltas = [_weight_of(rows, jid, key, start, end) for jid in unsure]
        if recorded is not None:
            for k in sorted(base.keys() | recorded[1].keys()):
                lo, hi = _span(base.get(k, 0), [m.get(k, 0) for m in deltas])
                rec = recorded[1].get(k)
                if (rec is None and lo > 0) or (rec is not None and not (rec > 0 and lo <= rec <= hi)):
                    saw = f"{lo:,}" if lo == hi else f"{lo:,} … {hi:,} (entries written within {WRITE_SLACK} of it)"
                    if mark is not None:
                        saw += f" (the entries at or below chain position {mark.seq:,} it recorded reading)"
                    yield (f"{what}: its hold recorded a weight of {(rec or 0):,} for {k}; the end-of-day balances it "
                           f"saw sum to {saw} (interest_shares)"), eid
                    break
            continue
        if len(unsure) > 8:
            yield (f"{what} records no weights (before 0079) and {len(unsure)} entries of the book were written within "
                   f"{WRITE_SLACK} of its hold: the balances it saw cannot be told, so its shares are not judged — "
                   "look at them by hand (interest_shares)"), eid
            continue
        bad = ""
        for n in range(1 << len(unsure)):          # every set of the writes it may have seen
            books = dict(base)
            for b, m in enumerate(deltas):
                if n >> b & 1:
                    for k, v in m.items():
                        books[k] = books.get(k, 0) + v
            bad = _differs(got, _shares(sum(got.values()), books))
            if not bad:
                break
        if bad:
            yield f"{what} {bad} over the end-of-day balances (interest_shares)", eid


def _weight_of(rows: FundRows, jid: int, key: Mapping[str, str], start: dt.date, end: dt.date) -> dict[str, int]:
    """What entry ``jid`` adds to each weight (``key``: the book's special accounts)."""
    out: dict[str, int] = {}
    day = dt.date.fromordinal(rows.dated[jid]).isoformat() if jid in rows.dated else end.isoformat()
    for aid, (d, c) in rows.sums.get(jid, {}).items():
        if aid in key:
            out[key[aid]] = out.get(key[aid], 0) + (d - c) * _counted(day, start, end)
    return out


def _later(rows: FundRows, book: str, last: str, t: float, own: set[int],
           mark: Mark | None = None) -> tuple[dict[int, float], list[int]]:
    """The entries of ``book`` dated on or before ``last`` written after the moment ``at`` (and
    the write's own ``own``), and those of them written within ``WRITE_SLACK`` either side of it,
    which it may or may not have seen: a transaction's time is its start (Z1). With the write's
    ``mark`` (0094): exactly the entries it did not read, and none it may or may not have (W6)."""
    if mark is not None:
        later = rows.after_mark(book, last, mark)
        for eid in own:
            if eid not in later and not rows.visible(eid, mark):
                later[eid] = rows.when(eid) or float("inf")
        return later, []
    later = rows.after(book, last, t)
    for eid in own:                               # the write's own entries: not in what it read
        if eid not in later:
            later[eid] = rows.when(eid) or float("inf")
    edge = t + WRITE_SLACK.total_seconds()
    return later, sorted(j for j, w in later.items() if j not in own and w <= edge)


# (W6) How far a mark's own clock is trusted: a position sealed at most CLOCK_SLACK after the
# time it says it read (a clock stepped back; a seal is written before its commit, the commit
# before the read), and the next position sealed at most MARK_SLACK before it (a commit whose
# WAL flush, after its seal, outlasted that is not believed to have been invisible); the read
# itself at most MARK_SLACK after its transaction began.
CLOCK_SLACK = dt.timedelta(seconds=1)
MARK_SLACK = dt.timedelta(minutes=5)


def mark_findings(rows: FundRows, eid: int, began: float, code: str, what: str) -> Iterator[str]:
    """What is wrong with write ``eid``'s mark (0094), held to the chain and the clock: a
    position the chain reached, sealed before the time it says it read and followed by one
    sealed after (within ``MARK_SLACK``: a forged mark may name a real state of the books near
    its moment, never an older or a later one); read after its transaction ``began``; each entry
    it lists above the position one the history recorded as queued before that time, or one
    its own transaction wrote (the same transaction start). Nothing when it records none."""
    e = rows.entries.get(eid)
    m = mark_of(e.source) if e is not None else None
    if m is None or rows.seq_of is None:
        return
    if m is False or not isinstance(m, Mark):
        yield f"{what} records what it read (0094) in a form that cannot be read ({code})"
        return
    clock, slack = CLOCK_SLACK.total_seconds(), MARK_SLACK.total_seconds()
    said = dt.datetime.fromtimestamp(m.at, dt.UTC).isoformat(sep=" ", timespec="microseconds")
    if m.seq > rows.head:
        yield (f"{what} says it read the journal up to chain position {m.seq:,}; the chain reaches {rows.head:,} "
               f"({code})")
        return
    if not began - clock <= m.at <= began + slack:
        yield (f"{what} says it read the journal at {said}, not within {MARK_SLACK} after its transaction began "
               f"({code})")
        return
    if m.seq > 0 and _epoch(rows.sealed_at.get(m.seq, "")) > m.at + clock:
        yield (f"{what} says it read the journal up to chain position {m.seq:,} at {said}; that position was sealed "
               f"at {rows.sealed_at.get(m.seq, '?')}, after it ({code})")
        return
    nxt = rows.sealed_at.get(m.seq + 1)
    if nxt is not None and _epoch(nxt) < m.at - slack:
        yield (f"{what} says it read the journal up to chain position {m.seq:,} at {said}; position {m.seq + 1:,} was "
               f"sealed at {nxt}, more than {MARK_SLACK} before: the books it names are older than its moment "
               f"({code})")
        return
    for j in sorted(m.queued):
        s = rows.seq_of(j)
        q = rows.queued_at.get(j) if rows.queued_at is not None else ""
        if (rows.when(j) is None or (s is not None and s <= m.seq) or q is None
                or (q and _epoch(q) > m.at + clock)):
            yield (f"{what} lists entry {j} as queued for sealing when it read the journal (position {m.seq:,}); "
                   f"the chain and the history say otherwise ({code})")
            return
    for j in sorted(m.own):
        s = rows.seq_of(j)
        w = rows.when(j)
        if w is None or w != began or (s is not None and s <= m.seq):
            yield (f"{what} lists entry {j} as written by its own transaction before it read the journal; that entry "
                   f"was written by another ({code})")
            return


def _span(base: int, deltas: Sequence[int]) -> tuple[int, int]:
    """The least and greatest of ``base`` plus any of ``deltas`` (the writes it may have seen)."""
    return base + sum(d for d in deltas if d < 0), base + sum(d for d in deltas if d > 0)


def _differs(got: Mapping[str, int], want: Mapping[str, int]) -> str:
    """How the credits ``got`` first differ from the rule's shares ``want`` ('' if they do not)."""
    if not want:
        return "credits interest, but no unit held a positive balance: there is nobody to credit it to"
    for k in sorted(want.keys() | got.keys()):
        if want.get(k, 0) != got.get(k, 0):
            return (f"credits {k} {_fen(got.get(k, 0))}; the rule (average daily balance, largest remainder) gives "
                    f"{_fen(want.get(k, 0))}")
    return ""


# ---- adjfund_cap (in the year) ----------------------------------------------------------------------

def _alloc_reversals(rows: FundRows, book: str, year: int) -> list[int]:
    """The reversals, dated in ``year``, of ``book``'s in-year allocations for ``year``: the
    rule reads the allocations net of them (0114, ATTACK15 A4; a reversal has kind 'reversal',
    so reading the kind alone counted a reversed allocation as received)."""
    out = []
    for rid, (oid, r) in rows.alloc_reversals.items():
        o = rows.entries.get(oid)
        if (o is not None and o.kind == "adjfund_alloc" and o.book == book and str(o.source.get("year")) == str(year)
                and r.date[:4] == str(year)):
            out.append(rid)
    return out


def _credits_4401(rows: FundRows, eid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for aid, (d, c) in rows.sums.get(eid, {}).items():
        a = rows.acct.get(aid)
        if a is not None and a[1] == "4401":
            out[a[2]] = out.get(a[2], 0) + c - d
    return out


def _ints(v: Any) -> dict[str, int] | None:
    if not isinstance(v, dict):
        return None
    out = {str(k): _int(x) for k, x in v.items()}
    return {k: x for k, x in out.items() if x is not None} if None not in out.values() else None


def adjfund_cap_findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """adjfund_cap in the year: each allocation paid before its year's close (one entry per
    unit's share, under one key) against the caps and weights it recorded (0084) — its shares
    add up to it, are the rule's over the weights (largest remainder, ties by unit code), none
    above its unit's cap — and the recorded caps against the books at its moment: each unit's
    gap after its surplus (the year's figures, as ``year_close_result`` reads them) less what
    the fund gave it for the year before. The books at its moment are the books now less every
    entry of the book dated in or before the year written after it (Z1), and the government
    shares of closes made after it; a write begun within ``WRITE_SLACK`` of it may or may not
    have been seen, and each cap is judged within what such writes could make it.
    The recorded weights are the recorded gaps (the rule 'gap') or the setting's fixed shares
    (the rule 'fixed'; the setting in force when the allocation was written, by the chained
    history's order — ATTACK19b K1: a later reload changing the shares neither accuses nor
    excuses it; either reading passes), and a unit whose books give it
    a gap is not left out of the caps.
    Allocations recorded before 0084 carry no caps and are not judged here."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for eid, e in rows.entries.items():
        if e.kind == "adjfund_alloc" and eid not in rows.legacy and "caps" in e.source:
            groups[(e.book, e.key.rsplit(":", 1)[0])].append(eid)
    for (book, gkey), ids in sorted(groups.items()):
        ids.sort()
        e0 = rows.entries[ids[0]]
        year, amount = _int(e0.source.get("year")), _int(e0.source.get("allocation"))
        caps, weights = _ints(e0.source.get("caps")), _ints(e0.source.get("weights"))
        what = f"adjustment-fund allocation {gkey} for {year}"
        if year is None or amount is None or caps is None or weights is None:
            yield f"{what} records no readable caps and weights (adjfund_cap)", ids[0]
            continue
        got: dict[str, int] = {}
        for eid in ids:
            for u, v in _credits_4401(rows, eid).items():
                got[u] = got.get(u, 0) + v
        what = f"{what} ({_fen(amount)})"
        if sum(got.values()) != amount:
            yield f"{what}: its shares add up to {_fen(sum(got.values()))} (adjfund_cap)", ids[0]
            continue
        bad = next((u for u in sorted(got) if got[u] > caps.get(u, 0)), None)
        if bad is not None:
            yield (f"{what} gives unit {bad} {_fen(got[bad])}, more than the gap it recorded for it "
                   f"({_fen(caps.get(bad, 0))}) (adjfund_cap)"), ids[0]
            continue
        want = _shares(amount, {u: w for u, w in weights.items() if w > 0})
        diff = next((u for u in sorted(want.keys() | got.keys()) if want.get(u, 0) != got.get(u, 0)), None)
        if diff is not None:
            yield (f"{what} gives unit {diff} {_fen(got.get(diff, 0))}; the rule over the weights it recorded "
                   f"gives {_fen(want.get(diff, 0))} (adjfund_cap)"), ids[0]
            continue
        at = e0.created_at
        if at is None:
            yield (f"{what} has no readable time of writing: the gaps it recorded cannot be held to the books at its "
                   "moment (adjfund_cap)"), ids[0]
            continue
        began = rows.when(ids[0]) or at.timestamp()
        mark = rows.marked(ids[0])
        wrong = next(mark_findings(rows, ids[0], began, "adjfund_cap", what), None)
        if wrong is not None:
            yield wrong, ids[0]
            continue
        later, unsure = _later(rows, book, f"{year:04d}-12-31", began, own=set(ids), mark=mark)
        before: dict[str, int] = {}
        for jid, j in rows.entries.items():
            if (j.kind == "adjfund_alloc" and j.book == book and str(j.source.get("year")) == str(year)
                    and j.date[:4] == str(year) and j.created_at is not None
                    and (j.created_at < at if mark is None else (jid not in ids and rows.visible(jid, mark)))):
                for u, v in _credits_4401(rows, jid).items():
                    before[u] = before.get(u, 0) + v
        for rid in _alloc_reversals(rows, book, year):   # (0114, A4) the caps read allocations net of reversals
            r = rows.alloc_reversals[rid][1]
            if (r.created_at is not None
                    and (r.created_at < at if mark is None else (rid not in ids and rows.visible(rid, mark)))):
                for u, v in _credits_4401(rows, rid).items():
                    before[u] = before.get(u, 0) + v
        setting = (rows.adjfund if rows.adjfund_at is None else rows.adjfund_at(ids[0])).get("shares")
        fixed = {str(u): _int(v) or 0 for u, v in setting.items()} if isinstance(setting, dict) else None
        by_gap = {u: c for u, c in caps.items() if c > 0}
        by_fixed = {u: fixed.get(u, 0) for u in caps if fixed.get(u, 0) > 0} if fixed is not None else None
        seen_by = (lambda c, m=mark: rows.visible(c, m)) if mark is not None else None
        books = _figures(rows, book, year, later, at, seen_by)
        seen = [_figures(rows, book, year, {k: v for k, v in later.items() if k != jid}, at) for jid in unsure]
        zero = {"revenue": 0, "expenditure": 0, "surplus_before": 0}
        for u in sorted(caps.keys() | books.keys()):      # a unit left out of the sharing is judged too
            f = books.get(u, zero)
            (elo, ehi), (rlo, rhi), (slo, shi) = (_span(f[k], [g.get(u, zero)[k] - f[k] for g in seen])
                                                  for k in ("expenditure", "revenue", "surplus_before"))
            lo, hi = _cap(elo, rhi, shi, before.get(u, 0)), _cap(ehi, rlo, slo, before.get(u, 0))
            if u not in caps and (lo == 0 or (weights == by_fixed and fixed is not None and fixed.get(u, 0) <= 0)):
                continue                     # no gap (or no fixed share): not among the units it shared among
            if not lo <= caps.get(u, 0) <= hi:
                gave = _fen(lo) if lo == hi else f"{_fen(lo)} … {_fen(hi)} (entries written within {WRITE_SLACK} of it)"
                if mark is not None:
                    gave += f" (the entries at or below chain position {mark.seq:,} it recorded reading)"
                yield (f"{what} recorded a gap of {_fen(caps.get(u, 0))} for unit {u}; the books at its moment give "
                       f"{gave} (expenditure {_fen(f['expenditure'])}, revenue {_fen(f['revenue'])}, surplus "
                       f"before {_fen(f['surplus_before'])}, given before {_fen(before.get(u, 0))}) (adjfund_cap)"), ids[0]
                break
        else:
            if weights != by_gap and weights != by_fixed:
                yield (f"{what} recorded weights that are neither its recorded gaps (the rule 'gap') nor the "
                       "setting's fixed shares (the rule 'fixed') (adjfund_cap)"), ids[0]


def _cap(expenditure: int, revenue: int, surplus_before: int, given: int) -> int:
    """A unit's gap after its surplus, less what the fund gave it for the year before (0084)."""
    gap = max(expenditure - revenue, 0)
    return max(gap - min(gap, max(surplus_before, 0)) - given, 0)


# ---- preallocation_cap: the basis a hold recorded (0046) -------------------------------------------

def _budget_in_force(rows: FundRows, year: int, unit: str, book: str, comp: str,
                     at: dt.datetime) -> list[tuple[int | None, int | None]]:
    """fl._prealloc_basis's budget_expenditure as the hold at ``at`` could have seen it: (version,
    the sum of its expenditure lines of the component; None when none) for the version in force
    ``WRITE_SLACK`` before it and each version made within ``WRITE_SLACK`` of it."""
    versions = []
    for r in rows.budgets:
        when = _ts(r[6]) if len(r) > 6 else None
        if (_int(r[1]), r[2], r[3]) == (year, unit, book) and when is not None and _int(r[4]) is not None:
            versions.append((_int(r[4]) or 0, when, r[0]))
    slack = WRITE_SLACK
    sure = [v for v in versions if v[1] <= at - slack]
    maybe = [v for v in versions if at - slack < v[1] <= at + slack]
    picks = ([max(sure)] if sure else [None]) + [v for v in maybe if not sure or v[0] > max(sure)[0]]
    out: list[tuple[int | None, int | None]] = []
    for v in picks:
        if v is None:
            out.append((None, None))
            continue
        amounts = [_int(x[3]) or 0 for x in rows.budget_lines
                   if x[0] == v[2] and x[1] == comp and rows.chart_kind.get(x[2]) == "expenditure"]
        out.append((v[0], sum(amounts) if amounts else None))
    return out


def prealloc_basis_findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """preallocation_cap's basis (Z2): what each pre-allocation's hold recorded as its cap's
    basis (0046: ``fl._prealloc_basis``) is the books' at the hold — the budget version in force
    then (the budget's versions and lines, by when each was made), last year's expenditure of the
    unit and component (the daily movements less the year's closing entries, less the entries
    dated in it written after the hold) and what the county's expenditure account (1004
    county_exp) held (its postings of the entries written before the hold). A write within
    ``WRITE_SLACK`` of the hold may or may not have been seen: judged within what it could make."""
    slack = WRITE_SLACK.total_seconds()
    for eid, e in sorted(rows.entries.items()):
        cap = e.source.get("cap")
        held = _ts(rows.held_at.get(eid, ""))
        if e.kind != "preallocation" or eid in rows.legacy or not isinstance(cap, dict):
            continue
        year = _int(e.source.get("year"))
        debit = next(((aid, rows.acct[aid]) for aid, (d, _c) in rows.sums.get(eid, {}).items()
                      if d > 0 and aid in rows.acct and rows.acct[aid][1] == "1004"), None)
        what = f"pre-allocation {e.key}"
        if held is None or year is None or not 2 <= year <= 9999 or debit is None:
            yield (f"{what} records the basis of its cap but no hold time, year or county expenditure account it "
                   "moved money to: the basis cannot be held to the books (preallocation_cap)"), eid
            continue
        aid, (book, _chart, unit, _holder, comp) = debit
        # the budget in force
        rec_budget = _int(cap.get("budget_expenditure"))
        budgets = _budget_in_force(rows, year, unit, book, comp, held)
        if all((rec_budget or 0) != (b or 0) for _v, b in budgets):
            yield (f"{what} recorded a budget of {_fen(rec_budget or 0)} for unit {unit}'s expenditure of {year}; the "
                   "budget in force at its hold gives "
                   + " or ".join(f"{_fen(b or 0)} (version {v})" if v is not None else "none" for v, b in budgets)
                   + " (preallocation_cap)"), eid
            continue
        # last year's expenditure (fl.year_flows)
        t = _epoch(rows.held_at[eid])
        mark = rows.marked(eid)
        wrong = next(mark_findings(rows, eid, t, "preallocation_cap", what), None)
        if wrong is not None:
            yield wrong, eid
            continue
        later, unsure = _later(rows, book, f"{year - 1:04d}-12-31", t, own=set(), mark=mark)
        later = {j: w for j, w in later.items() if dt.date.fromordinal(rows.dated.get(j, 1)).year == year - 1}
        unsure = [j for j in unsure if j in later]
        accounts = {a for a, x in rows.acct.items() if x[0] == book and x[2] == unit and x[4] == comp
                    and rows.chart_kind.get(x[1]) == "expenditure"}
        net = sum(rows.year_net.get(a, {}).get(year - 1, 0) for a in accounts)
        for c, (b, y) in rows.closing.items():
            if b == book and y == year - 1 and c not in later:
                net -= sum(d - cr for a, (d, cr) in rows.sums.get(c, {}).items() if a in accounts)

        def moved(jid: int, accounts: set[str] = accounts) -> int:
            if rows.kinds.get(jid) == "year_close":       # its days and its leaving-out cancel
                return 0
            return sum(d - c for a, (d, c) in rows.sums.get(jid, {}).items() if a in accounts)

        net -= sum(moved(j) for j in later)
        lo, hi = _span(net, [moved(j) for j in unsure])
        rec_prior = max(_int(cap.get("prior_year_expenditure")) or 0, 0)
        if not max(lo, 0) <= rec_prior <= max(hi, 0):
            yield (f"{what} recorded last year's expenditure of unit {unit} as {_fen(rec_prior)}; the books of {year - 1} "
                   f"as they stood at its hold give {_fen(max(lo, 0))}"
                   + (f" … {_fen(max(hi, 0))}" if hi != lo else "") + " (preallocation_cap)"), eid
            continue
        # what the county's expenditure account held
        lo = hi = 0
        for j, v in (rows.watched[aid].items() if aid in rows.watched else ()):
            w = rows.when(j)
            if mark is not None:                  # (W6) exactly the postings it read
                if j != eid and rows.visible(j, mark):
                    lo, hi = lo + v, hi + v
                continue
            if j == eid or w is None or w > t + slack:
                continue
            if w <= t - slack:
                lo, hi = lo + v, hi + v
            else:
                lo, hi = lo + min(v, 0), hi + max(v, 0)
        rec_held = _int(cap.get("county_account_held")) or 0
        if not lo <= rec_held <= hi:
            which = ("written before the hold" if mark is None
                     else f"it read (chain position {mark.seq:,} and {len(mark.also)} listed)")
            yield (f"{what} recorded that unit {unit}'s expenditure account held {_fen(rec_held)}; the postings "
                   f"{which} sum to {_fen(lo)}" + (f" … {_fen(hi)}" if hi != lo else "")
                   + " (preallocation_cap)"), eid


def findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """Every finding of the fund's rules, close by close, item by item, entry by entry."""
    yield from year_close_findings(rows)
    yield from register_findings(rows)
    yield from adjfund_date_findings(rows)
    yield from interest_findings(rows)
    yield from adjfund_cap_findings(rows)
    yield from prealloc_basis_findings(rows)
