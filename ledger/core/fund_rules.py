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
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.clearings import UNCLEAR

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
    kinds: Mapping[int, str] = field(default_factory=dict)               # every entry's kind
    items: list[Row] = field(default_factory=list)                       # ITEM_COLS, government shares
    clearings: list[Row] = field(default_factory=list)                   # CLEARING_COLS of those items
    closes: list[Row] = field(default_factory=list)                      # year, book, closed_at, closed_on, result
    special_days: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # 1003 special -> (day, D−C)
    written: dict[tuple[str, str], str] = field(default_factory=dict)    # (book, date) -> last write (not interest)
    written_cap: dict[tuple[str, str], str] = field(default_factory=dict)  # … not a close's nor an allocation's
    held_at: dict[int, str] = field(default_factory=dict)                # interest entry -> its hold's made_at
    unjudged: int = 0                                                    # interest entries left unjudged
    legacy: frozenset[int] = frozenset()                                 # entries before the chained history

    def day(self, aid: str, day: str, debits: str, credits: str) -> None:
        """One fl.account_day row: its net movement added to its account's year."""
        years = self.year_net.setdefault(aid, {})
        y, net = int(day[:4]), int(debits) - int(credits)
        years[y] = years.get(y, 0) + net
        a = self.acct.get(aid)
        if a is not None and a[1] == "1003" and a[3] == "special":
            self.special_days.setdefault(aid, []).append((day[:10], net))

    def wrote(self, book: str, date: str, kind: str, created_at: str) -> None:
        """An entry of ``book`` dated ``date`` written at ``created_at`` (UTC as PostgreSQL prints
        it: such texts compare as their moments do): the last write of each book and date but
        interest's, for ``interest_findings``."""
        k = (book, date[:10])
        if kind != "interest" and created_at > self.written.get(k, ""):
            self.written[k] = created_at
        if kind not in ("year_close", "adjfund_alloc") and created_at > self.written_cap.get(k, ""):
            self.written_cap[k] = created_at

    def posting(self, eid: int, aid: str, side: str, amount: int) -> None:
        """A posting (or a grouped sum) of an entry whose amounts the rules read."""
        v = self.sums.setdefault(eid, {}).setdefault(aid, [0, 0])
        v[0 if side == "D" else 1] += amount


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

def _figures(rows: FundRows, book: str, year: int) -> dict[str, dict[str, int]]:
    """fl.year_figures_v3(year, book) re-derived: each unit's figures of the year (fen)."""
    comp = rows.pooled.get(book, "")
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    closing: dict[str, int] = defaultdict(int)          # account -> D−C of the year's closing entries
    for eid, (b, y) in rows.closing.items():
        if b == book and y == year:
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
    for cl in rows.clearings:
        it = items.get(cl[1])
        if it is None or it[2] not in out:
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
        if (e.kind == "adjfund_alloc" and e.book == book and e.date[:4] == str(year)
                and str(e.source.get("year")) == str(year)):
            for aid, (d, c) in rows.sums.get(eid, {}).items():
                a = rows.acct.get(aid)
                if a is not None and a[1] == "4401" and a[2] in out:
                    out[a[2]]["alloc"] += c - d
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
# visible to it (a transaction's created_at is its start): such a write leaves it unjudged.
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
    weights against the daily movements as the hold saw them (less the interest entries
    written since). Another entry of the book dated on or before the period's end and written
    after the hold (or up to ``WRITE_SLACK`` before it: a transaction begun before the hold may
    have committed after it) changes what the movements say: then the weights are not
    recomputed (counted in ``unjudged``), and an allocation with none recorded is not judged."""
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
        last, since = end.isoformat(), held - WRITE_SLACK
        if any(b == e.book and d <= last and (_ts(at) or since) > since for (b, d), at in rows.written.items()):
            rows.unjudged += 1
            continue
        books: dict[str, int] = {}
        for aid in mine:
            w = sum(net * _counted(day, start, end) for day, net in rows.special_days.get(aid, ()))
            books[key[aid]] = books.get(key[aid], 0) + w
        for jid, j in rows.entries.items():         # interest written since the hold saw nothing of it
            if j.kind == "interest" and j.created_at is not None and j.created_at > held and j.date <= last:
                for aid, (d, c) in rows.sums.get(jid, {}).items():
                    if aid in mine:
                        books[key[aid]] -= (d - c) * _counted(j.date[:10], start, end)
        positive = {k: w for k, w in books.items() if w > 0}
        if recorded is not None:
            if positive != recorded[1]:
                k = sorted(k for k in positive.keys() | recorded[1].keys()
                           if positive.get(k) != recorded[1].get(k))[0]
                yield (f"{what}: its hold recorded a weight of {recorded[1].get(k, 0):,} for {k}; the end-of-day "
                       f"balances it saw sum to {positive.get(k, 0):,} (interest_shares)"), eid
            continue
        bad = _differs(got, _shares(sum(got.values()), books))
        if bad:
            yield f"{what} {bad} over the end-of-day balances (interest_shares)", eid


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
    the fund gave it for the year before. The books say what they said then unless another
    entry of the book dated in the year was written after the allocation (or up to
    ``WRITE_SLACK`` before it): then the caps are not recomputed (counted in ``unjudged``).
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
            continue
        since = at - WRITE_SLACK
        first, last = f"{year}-01-01", f"{year}-12-31"
        if any(b == book and first <= d <= last and (_ts(w) or since) > since
               for (b, d), w in rows.written_cap.items()):
            rows.unjudged += 1
            continue
        before: dict[str, int] = {}
        for jid, j in rows.entries.items():
            if (j.kind == "adjfund_alloc" and j.book == book and str(j.source.get("year")) == str(year)
                    and j.date[:4] == str(year) and j.created_at is not None and j.created_at < at):
                for u, v in _credits_4401(rows, jid).items():
                    before[u] = before.get(u, 0) + v
        books = _figures(rows, book, year)
        for u in sorted(caps):
            f = books.get(u, {"revenue": 0, "expenditure": 0, "surplus_before": 0})
            gap = max(f["expenditure"] - f["revenue"], 0)
            cap = max(gap - min(gap, max(f["surplus_before"], 0)) - before.get(u, 0), 0)
            if caps[u] != cap:
                yield (f"{what} recorded a gap of {_fen(caps[u])} for unit {u}; the books at its moment give "
                       f"{_fen(cap)} (expenditure {_fen(f['expenditure'])}, revenue {_fen(f['revenue'])}, surplus "
                       f"before {_fen(f['surplus_before'])}, given before {_fen(before.get(u, 0))}) (adjfund_cap)"), ids[0]
                break


def findings(rows: FundRows) -> Iterator[tuple[str, int | None]]:
    """Every finding of the fund's rules, close by close, item by item, entry by entry."""
    yield from year_close_findings(rows)
    yield from register_findings(rows)
    yield from adjfund_date_findings(rows)
    yield from interest_findings(rows)
    yield from adjfund_cap_findings(rows)
