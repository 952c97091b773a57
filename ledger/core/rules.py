"""The API's rules re-derived from the rows, in Python (ATTACK7 U1a, U3).

A rule that lives only in the body of a SQL function or trigger can be switched off by a
superuser for one call and put back byte for byte (``CREATE OR REPLACE``, the call,
``CREATE OR REPLACE`` again): the catalogue's content fingerprint sees nothing afterwards,
and the rows the call wrote look like any others. What protects the auditor then is a
check that asks the rows themselves whether the rule held. This module holds those
checks; ``ledger.core.api_rules`` lists every rule the API enforces with the check that
re-derives it, and a test fails when one has none.

Inputs are the verdict's own raw rows, as PostgreSQL prints them (online through the
pinned COPY reading of ledger.store.verify_rules, offline from an export's
tables/*.csv): the entries and accounts as ``proof`` reads them (``Rules.accounts`` and
``Rules.entries`` see each row as it streams past the proof), the small tables of
``TABLES``, and the postings of the few entries whose rule depends on their accounts
(``Rules.wanted``: manual entries and reversals, openings, and entries dated after
their writing day). No value a server function computed is used: every comparison,
namespace, date and role is judged here.

The checks (each a ``CheckResult`` of the independent verdict):

* ``maker_checker`` — every entry the API holds for a second person (a manual entry or a
  reversal that moves real money or touches 3xxx-5xxx, 1201/2101; a reversal of a
  workflow entry; every interest allocation, opening, pre-allocation, remittance and
  clearing of unpaid claims) came from a confirmed held entry with the same key and kind,
  made by its writer and confirmed by another registered user whose role may confirm it
  (a pre-allocation: finance; a reversal, interest, opening, remittance, clearing: the
  bureau or finance; an officer: only another officer's held entry of its own unit, and
  never a manual entry on a city figure — 1003 special, 1004 city_exp, 1005 treasury,
  3xxx, 4xxx: 0058, ATTACK7 U5); a manual entry that put money into any bank or cash
  account (a debit on 1001-1005 or an account with a holder, the county's own included) was
  written by a reviewer or finance user (0064, ATTACK8 V5).
* ``request_duties`` — separation of duties (0018 A7): a request's approver, rejecter or
  voider did not submit it; its disburser neither submitted nor approved it; its settler
  neither submitted, approved nor disbursed it.
* ``officer_confinement`` — an officer's entries are for its own unit only; its manual
  entries never credit 1003, 1004 city_exp or 1005; an officer's session writes only
  manual and payments entries (0039).
* ``key_namespaces`` — every entry's key is in its kind's namespace; a manual entry's or
  a reversal's in its maker's; a disbursement's or settlement's names its request.
* ``entry_dates`` — nothing dated before the region's first year or after the year
  following its writing; nothing dated in a year before the last year its book had
  closed when it was written (but a reversal in its original's year); nothing that moves
  real money dated after the region's day it was written (plus the allowance).
* ``once_only`` — the city proper's opening balance of a book and component is recorded
  once (a second only after the first was reversed); no county opening is recorded for a
  book after that county's handover transfer of it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ledger.core.findings import FINDINGS_CAP, CheckResult, Finding, result

Row = Sequence[str]

# The small tables read for the rules (columns in this order, online and offline).
TABLES: dict[str, tuple[str, ...]] = {
    "pending_entry": ("id", "kind", "book", "idempotency_key", "reverses", "units", "made_by", "maker_role",
                      "maker_unit", "state", "decided_by", "entry_id"),
    "app_user": ("name", "role", "unit"),
    "request_event": ("id", "request_id", "action", "actor", "at"),
    "year_close": ("year", "book", "closed_at"),
    "setting": ("key", "value"),
    "unit": ("code", "kind"),
}
ORDER_BY: dict[str, str] = {"pending_entry": "id", "app_user": "name", "request_event": "id",
                            "year_close": "book, year", "setting": "key", "unit": "code"}

CHECKS: tuple[str, ...] = ("maker_checker", "request_duties", "officer_confinement", "key_namespaces", "entry_dates",
                           "once_only")
DESCRIPTIONS: dict[str, str] = {
    "maker_checker": "every entry the API holds for a second person (manual entries and reversals that move real "
                     "money or touch 3xxx-5xxx, 1201/2101; reversals of workflow entries; interest, openings, "
                     "pre-allocations, remittances, clearings of unpaid claims) came from a confirmed held entry "
                     "with its key and kind, made by its writer, confirmed by another registered user whose role may "
                     "confirm it (money into a bank or cash account by hand: the bureau or finance) — re-derived in "
                     "Python from the entries, their postings and the held entries",
    "request_duties": "separation of duties on every fund request, from its events: the approver (or rejecter, "
                      "voider) did not submit it, the disburser neither submitted nor approved it, the settler "
                      "neither submitted, approved nor disbursed it",
    "officer_confinement": "an officer's entries are for its own unit only, its manual entries never credit 1003, "
                           "1004 city_exp or 1005, and an officer's session writes only manual and payments entries",
    "key_namespaces": "every entry's key is in its kind's namespace (a manual entry's and a reversal's in its "
                      "maker's, a disbursement's and a settlement's naming its request)",
    "entry_dates": "no entry dated before the region's first year or after the year following its writing, none "
                   "dated in a year before the last year its book had closed when it was written (but a reversal in "
                   "its original's year), none moving real money dated after the region's day it was written",
    "once_only": "the city proper's opening balance of a book and component recorded once (again only after a "
                 "reversal); no county opening of a book after that county's handover transfer of it",
}

# The namespace of each kind's keys (fl._key_in_namespace, re-derived): prefixes.
NAMESPACES: dict[str, tuple[str, ...]] = {
    "manual": ("manual:",), "reversal": ("reversal:",), "opening": ("opening:", "opening-city:"),
    "collections": ("collections:",), "payments": ("payments:",), "handover_transfer": ("handover-transfer:",),
    "preallocation": ("prealloc:",), "interest": ("interest:",),
    "register_clear": ("register-clear:", "govpay:", "adjfund-late:"), "year_close": ("yearclose:",),
    "adjfund_remit": ("adjfund-remit:",), "adjfund_alloc": ("adjfund-alloc:",),
    "request_disburse": ("request:",), "request_settle": ("request:",),
}
# Kinds whose every entry is held for a second person (fl._hold callers).
ALWAYS_HELD = frozenset({"interest", "opening", "adjfund_remit", "preallocation"})
# Who may confirm a held entry of each kind (fl._decider): the rest, officer/reviewer/finance.
CONFIRMERS: dict[str, frozenset[str]] = {
    "reversal": frozenset({"reviewer", "finance"}), "interest": frozenset({"reviewer", "finance"}),
    "opening": frozenset({"reviewer", "finance"}), "adjfund_remit": frozenset({"reviewer", "finance"}),
    "register_clear": frozenset({"reviewer", "finance"}), "preallocation": frozenset({"finance"}),
}
DECIDERS = frozenset({"officer", "reviewer", "finance"})
# Kinds an officer's session may write (fl.entry_inserted, 0039).
OFFICER_KINDS = frozenset({"manual", "payments"})
# The earlier steps whose actor may not take each step (fl.request_duties, 0018 A7).
REQUEST_DUTIES: dict[str, tuple[str, ...]] = {
    "approve": ("submit",), "reject": ("submit",), "void": ("submit",),
    "disburse": ("submit", "approve"), "settle": ("submit", "approve", "disburse"),
}
_DONE = {"submit": "submitted", "approve": "approved", "disburse": "disbursed"}
_SOURCE_KINDS = frozenset({"request_disburse", "request_settle", "register_clear"})


def real_money(chart: str, holder: str) -> bool:
    """fl._real_money: a bank account (1001-1005) or an account with a holder."""
    return chart.split(".", 1)[0] in ("1001", "1002", "1003", "1004", "1005") or holder != ""


def held_by_hand(chart: str, holder: str) -> bool:
    """fl._held_by_hand: real money, revenue/expenditure/fund balance (3xxx-5xxx), bonds or
    borrowing (1201, 2101) — a posting by hand on one of these waits for a second person."""
    return real_money(chart, holder) or chart[:1] in ("3", "4", "5") or chart.split(".", 1)[0] in ("1201", "2101")


def city_held(chart: str, holder: str) -> bool:
    """The city's own money accounts (0039): the special account 1003, the city expenditure
    account (1004 city_exp) and the treasury 1005 — an officer never credits them by hand."""
    top = chart.split(".", 1)[0]
    return top in ("1003", "1005") or (top == "1004" and holder in ("", "city_exp"))


def city_figure(chart: str, holder: str) -> bool:
    """A city figure (0058, ATTACK7 U5): the pooled accounts the city holds (1003 special,
    1004 city_exp, 1005 treasury; either side) and fund balance or revenue (3xxx, 4xxx) —
    an officer's manual entry on one is confirmed by the city (reviewer or finance)."""
    return holder in ("special", "city_exp", "treasury") or chart[:1] in ("3", "4")


def money_in(chart: str, holder: str, side: str) -> bool:
    """fl._money_in (0064, ATTACK8 V5): a debit on a bank or cash account (1001-1005, or any
    account with a holder — a county's own expenditure and legacy accounts included). Written
    by hand, it is confirmed by the city bureau or city finance, whoever holds the account."""
    return side == "D" and real_money(chart, holder)


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _source(text: str) -> dict[str, Any]:
    v = _json(text)
    if isinstance(v, list) and v and isinstance(v[-1], dict) and all(x is None for x in v[:-1]):
        v = v[-1]                        # before 0054: [null, {"held": …}] (actors.entry_source)
    return v if isinstance(v, dict) else {}


def _compact(src: dict[str, Any]) -> dict[str, Any]:
    """A parsed source as kept for every entry a rule judges later (``_E``): its keys and
    short text values interned — a held entry's maker and checker recur on every entry."""
    return {sys.intern(k): sys.intern(v) if isinstance(v, str) and len(v) <= 64 else v for k, v in src.items()}


def _int(v: Any) -> int | None:
    try:
        return None if v is None or v == "" else int(v)
    except (TypeError, ValueError):
        return None


def _ts(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _array(text: str) -> list[str]:
    """A text[] as PostgreSQL prints it (``{230822,230881}``; unit codes need no quoting)."""
    inner = text.strip()[1:-1] if text.startswith("{") else text
    return [x.strip('"') for x in inner.split(",") if x] if inner else []


# The tables whose rows written before the chained history (sql/0010) are told apart: their
# history begins with a BACKFILL version, recorded by the migration, before any INSERT.
LEGACY_TABLES = ("fl.entry", "fl.request_event")


def legacy_ids(versions: Iterable[Row]) -> dict[str, set[int]]:
    """The ids of entries and request events written before the chained history existed,
    from history versions (id, tbl, op, row_key) in id order: the rows of a table's
    BACKFILL versions recorded before its first INSERT version. Those rows were written
    under an older release's rules (keys before their namespaces, interest and openings
    before they were held …) and only the rules of their time bound them: the checks here
    judge every row written since. A BACKFILL version appended later (a forger extending
    the chain) comes after the table's first INSERT and makes nothing legacy."""
    out: dict[str, set[int]] = {t: set() for t in LEGACY_TABLES}
    inserted: set[str] = set()
    for v in versions:
        tbl, op = v[1], v[2]
        if tbl not in out or tbl in inserted:
            continue
        if op == "INSERT":
            inserted.add(tbl)
        elif op == "BACKFILL":
            key = _json(v[3])
            rid = _int(key.get("id")) if isinstance(key, dict) else None
            if rid is not None:
                out[tbl].add(rid)
    return out


@dataclass
class _E:
    """What the rules keep of an entry they judge after the stream (ids they want)."""

    kind: str
    key: str
    book: str
    date: str
    created_by: str
    created_at: str
    writer: str
    reverses: int | None
    source: dict[str, Any]


@dataclass
class Rules:
    """Fed as the verdict reads: ``small`` tables first, then ``accounts`` and ``entries``
    (tees of the proof's own streams), then ``postings`` of ``wanted()``; ``finish``."""

    small: Mapping[str, Sequence[Row]]
    cap: int = FINDINGS_CAP
    legacy: Mapping[str, set[int]] = field(default_factory=dict)      # legacy_ids
    findings: dict[str, list[Finding]] = field(default_factory=lambda: {n: [] for n in CHECKS})
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    acct: dict[str, tuple[str, str, str, str, str]] = field(default_factory=dict)   # id -> book, chart, unit, holder, comp
    kept: dict[int, _E] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    years: dict[int, int] = field(default_factory=dict)
    reversed_by: dict[int, int] = field(default_factory=dict)
    # entry -> its distinct (account, side, posting unit), in the order each first occurs
    # (posting id order): every rule reads only which accounts an entry touched on which
    # side, and names the first that breaks it — never a posting's amount or its repeats.
    legs: dict[int, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)
    late: set[int] = field(default_factory=set)            # dated after the day they were written

    def __post_init__(self) -> None:
        self._seen: dict[str, tuple[dt.datetime, dt.date, str] | None] = {}
        self.old_entries = self.legacy.get("fl.entry", set())
        self.old_events = {str(i) for i in self.legacy.get("fl.request_event", set())}
        self.users = {r[0]: (r[1], r[2]) for r in self.small.get("app_user", ())}
        self.unit_kind = {r[0]: r[1] for r in self.small.get("unit", ())}
        settings = {r[0]: _json(r[1]) for r in self.small.get("setting", ())}
        self.first_year = _int(settings.get("first_year")) or 2000
        region = settings.get("region")
        tz = region.get("time_zone") if isinstance(region, dict) else None
        try:
            self.tz = ZoneInfo(str(tz or "Asia/Shanghai"))
        except (KeyError, ValueError):
            self.tz = ZoneInfo("Asia/Shanghai")
        allow = settings.get("cash_date_allowance_days")
        allow_s = str(allow) if allow is not None else ""
        self.allowance = dt.timedelta(days=min(int(allow_s), 366) if allow_s.isdigit() and len(allow_s) <= 3 else 0)
        self.closes: dict[str, list[tuple[dt.datetime, int]]] = defaultdict(list)
        for r in self.small.get("year_close", ()):
            at = _ts(r[2])
            if at is not None and _int(r[0]) is not None:
                self.closes[r[1]].append((at, int(r[0])))
        for v in self.closes.values():
            v.sort()
        # entry id -> confirmed held entries naming it. The held entries are one per entry on
        # a maker-checker ledger: only the confirmed ones are kept, each as a tuple with its
        # few-valued columns (kind, book, units, maker, role, unit, state, checker) interned,
        # and the rows as read are let go.
        self.held_of: dict[int, list[Row]] = defaultdict(list)
        intern = sys.intern
        for p in self.small.get("pending_entry", ()):
            eid = _int(p[11])
            if p[9] == "confirmed" and eid is not None:
                self.held_of[eid].append(tuple(intern(x) if 0 < i < 11 and i not in (3, 4) else x
                                               for i, x in enumerate(p)))
        self.small = {k: v for k, v in self.small.items() if k != "pending_entry"}

    # ---- helpers ---------------------------------------------------------------------
    def add(self, check: str, message: str, entry_id: int | None = None, *, request_id: int | None = None,
            account: str | None = None) -> None:
        lst = self.findings[check]
        if len(lst) <= self.cap * 4:
            lst.append(Finding(check, message, entry_id=entry_id, request_id=request_id, account=account))

    def role(self, who: str | None) -> str | None:
        u = self.users.get(who or "")
        return u[0] if u else None

    def unit_of(self, who: str) -> str:
        u = self.users.get(who)
        return u[1] if u else ""

    # ---- feeding (tees of the proof's own streams) -------------------------------------
    def accounts(self, rows: Iterable[Row]) -> Iterator[Row]:
        """proof.TABLES["account"] rows, passed through."""
        for r in rows:
            self.acct[r[0]] = (r[1], r[2], r[3], r[4], r[5])
            yield r

    def entries(self, rows: Iterable[Row]) -> Iterator[Row]:
        """proof.TABLES["entry"] rows, passed through, judged as they pass: the rules that
        need only the entry now, the others kept for ``finish``."""
        for r in rows:
            self._entry(r)
            yield r

    def _entry(self, r: Row) -> None:
        eid = int(r[0])
        book, date, key, kind, created_by, src_text, created_at = r[1], r[2], r[3], r[5], r[7], r[10], r[11]
        rev = _int(r[4])
        self.kinds[eid] = kind
        self.years[eid] = int(date[:4])
        if rev is not None:
            self.reversed_by.setdefault(rev, eid)
        # The source is parsed only where a rule reads it (a held entry's maker and checker,
        # a request's id, a clearing's kind): most entries are imports that carry file and row.
        src = (_compact(_source(src_text)) if src_text and ('"held"' in src_text or kind in _SOURCE_KINDS) else {})
        writer = str(src.get("confirmed_by")) if src.get("held") is not None and src.get("confirmed_by") else created_by
        if eid in self.old_entries:
            if kind in ("opening", "handover_transfer"):          # still what later openings are judged by
                self.kept[eid] = _E(kind, key, book, date, created_by, created_at, writer, rev, src)
            return
        self._namespace(eid, kind, key, created_by, src)
        self._dates(eid, book, date, kind, rev, created_at)
        self._officer_session(eid, kind, key, writer, created_by)
        needs = (kind in ("manual", "reversal", "register_clear", "handover_transfer") or kind in ALWAYS_HELD
                 or eid in self.late)
        if needs or src.get("held") is not None or eid in self.held_of:
            self.kept[eid] = _E(kind, key, book, date, created_by, created_at, writer, rev, src)

    def wanted(self) -> set[int]:
        """The entries whose postings the rules read: manual entries and reversals (what they
        touched decides whether they were held; an officer's, its units and credits),
        openings (their unit), entries dated after their writing day (whether they moved
        real money). An officer's payments are judged by their key's unit, not re-read."""
        return {eid for eid, e in self.kept.items() if e.kind in ("manual", "reversal", "opening")} | self.late

    def postings(self, rows: Iterable[Row]) -> None:
        """proof.TABLES["posting"] rows of the entries ``wanted`` names (others are skipped),
        in (entry, id) order; each entry keeps its distinct legs only (``legs``), so what
        is kept grows with the entries and accounts, not with the postings."""
        want = self.wanted()
        self._add_legs((int(r[1]), (r[2], r[3], r[6])) for r in rows if int(r[1]) in want)

    def distinct_legs(self, rows: Iterable[Row]) -> None:
        """The same as ``postings``, from rows that are already one per distinct leg:
        (first posting id, entry id, account id, side, posting unit), in (entry, first
        posting id) order — the online reading (ledger.store.verify_rules), where the server
        groups each entry's postings so that an entry of a hundred postings on two accounts
        prints two rows, not a hundred. The order is each leg's first posting's, so the
        first leg a rule names is the one ``postings`` would name."""
        want = self.wanted()
        self._add_legs((int(r[1]), (r[2], r[3], r[4])) for r in rows if int(r[1]) in want)

    def _add_legs(self, legs: Iterable[tuple[int, tuple[str, str, str]]]) -> None:
        """Each entry's distinct legs in first-seen order, kept as one tuple per entry (its
        strings interned: a few accounts and units recur across every entry); an entry
        whose legs arrive in more than one run is merged, first-seen order kept."""
        intern = sys.intern
        cur, seen = -1, dict[tuple[str, str, str], None]()

        def flush() -> None:
            if cur >= 0:
                had = self.legs.get(cur, ())
                self.legs[cur] = tuple(dict.fromkeys((*had, *seen))) if had else tuple(seen)

        for eid, (aid, side, unit) in legs:
            if eid != cur:
                flush()
                cur, seen = eid, {}
            seen[(intern(aid), intern(side), intern(unit))] = None
        flush()

    # ---- the per-entry rules ----------------------------------------------------------
    def _namespace(self, eid: int, kind: str, key: str, created_by: str, src: Mapping[str, Any]) -> None:
        self.checked["key_namespaces"] += 1
        prefixes = NAMESPACES.get(kind)
        if prefixes is None:
            self.add("key_namespaces", f"a {kind} entry: no operation writes that kind (its key {key} is in no "
                     "namespace)", eid)
            return
        if not key.startswith(prefixes):
            self.add("key_namespaces", f"key {key} is not in the namespace of {kind} entries ({' or '.join(prefixes)}"
                     "…): a key of another operation was taken", eid)
        elif kind in ("manual", "reversal"):
            parts = key.split(":", 2)
            if len(parts) < 3 or parts[1] != created_by:
                self.add("key_namespaces", f"key {key} of a {kind} entry by {created_by} is not filed under "
                         f"{kind}:{created_by}: (each maker's keys are its own)", eid)
        elif kind in ("request_disburse", "request_settle"):
            want = f"request:{src.get('request')}:"
            if src.get("request") is None or not key.startswith(want):
                self.add("key_namespaces", f"key {key} of a {kind} entry does not name its request "
                         f"({src.get('request')!s}): expected {want}…", eid)

    def _when(self, created_at: str) -> tuple[dt.datetime, dt.date, str] | None:
        """(the moment, the region's day, the last date real money may carry) of a write
        time — cached: every entry of one transaction has the same ``created_at``."""
        w = self._seen.get(created_at)
        if w is None and created_at not in self._seen:
            at = _ts(created_at)
            if at is not None:
                local = at.astimezone(self.tz).date()
                w = (at, local, (local + self.allowance).isoformat())
            self._seen[created_at] = w
        return w

    def _dates(self, eid: int, book: str, date: str, kind: str, rev: int | None, created_at: str) -> None:
        self.checked["entry_dates"] += 1
        year = int(date[:4])
        if year < self.first_year:
            self.add("entry_dates", f"dated {date}, before the region's first year {self.first_year} (entry_date_range)",
                     eid)
        w = self._when(created_at)
        if w is not None:
            at, local, cash_limit = w
            if year > local.year + 1:
                self.add("entry_dates", f"dated {date} but written on {local} (region time): the ledger takes dates up "
                         f"to the end of {local.year + 1} (entry_date_range)", eid)
            if date > cash_limit:             # ISO dates compare as text
                self.late.add(eid)            # judged once its postings say whether it moved real money
            closes = self.closes.get(book)
            if not closes or year >= max(y for _t, y in closes):
                return
            closed = [y for t, y in closes if t < at]
            if closed and year < max(closed):
                same_year = kind == "reversal" and rev is not None and self.years.get(rev) == year
                if not same_year:
                    self.add("entry_dates", f"dated {date} but written at {created_at}, after book {book} had closed "
                             f"year {max(closed)}: nothing may be dated in a year before it (entry_date_range)", eid)

    def _officer_session(self, eid: int, kind: str, key: str, writer: str, maker: str) -> None:
        self.checked["officer_confinement"] += 1
        if self.role(writer) == "officer" and kind not in OFFICER_KINDS:
            self.add("officer_confinement", f"a {kind} entry written by {writer}, an officer: an officer's session "
                     "writes only manual entries and its unit's payments (permission_denied, 0039)", eid)
        if self.role(maker) == "officer" and kind == "payments":
            parts = key.split(":")
            unit = self.unit_of(maker)
            if len(parts) > 2 and parts[2] != unit:
                self.add("officer_confinement", f"payments {key} imported by {maker}, an officer of unit {unit}, for "
                         f"unit {parts[2]}: an officer imports its own unit's payments only", eid)

    # ---- the rules judged at the end ----------------------------------------------------
    def finish(self) -> list[CheckResult]:
        for eid, e in sorted(self.kept.items()):
            if eid in self.old_entries:
                continue
            self._maker_checker(eid, e)
            self._officer_entry(eid, e)
            self._city_figures(eid, e)
            if eid in self.late:
                self._cash_date(eid, e)
        self._requests()
        self._once()
        return [result(n, DESCRIPTIONS[n], self.checked[n], self.findings[n], self.cap) for n in CHECKS]

    def _touches(self, eid: int) -> list[tuple[str, str, str, str, str, str, str]]:
        """(book, chart, unit, holder, component, side, posting unit) of each posting read."""
        out = []
        for aid, side, punit in self.legs.get(eid, ()):
            a = self.acct.get(aid)
            if a is not None:
                out.append((*a, side, punit))
        return out

    def needs_second_person(self, eid: int, e: _E) -> str | None:
        """Why the API would have held this entry for a second person, or None."""
        if e.kind in ALWAYS_HELD:
            return f"every {e.kind} entry is"
        if e.kind == "register_clear":
            return "a clearing of unpaid provider claims is" if e.source.get("kind") == "unpaid_claims" else None
        if e.kind == "reversal" and e.reverses is not None and self.kinds.get(e.reverses, "manual") != "manual":
            return f"a reversal of a {self.kinds.get(e.reverses)} entry (a workflow's) is"
        if e.kind in ("manual", "reversal"):
            touched = [(c, h) for _b, c, _u, h, _c, _s, _p in self._touches(eid) if held_by_hand(c, h)]
            touched.sort(key=lambda t: not real_money(*t))          # real money named first
            if touched:
                chart, holder = touched[0]
                what = ("real money" if real_money(chart, holder) else "revenue, expenditure or fund balance"
                        if chart[:1] in "345" else "bonds or borrowing")
                return f"a {e.kind} entry on {chart}{' ' + holder if holder else ''} ({what}) is"
        return None

    def _maker_checker(self, eid: int, e: _E) -> None:
        why = self.needs_second_person(eid, e)
        held = self.held_of.get(eid, [])
        if why is not None:
            self.checked["maker_checker"] += 1
        if why is not None and not held:
            self.add("maker_checker", f"{e.kind} entry {e.key} by {e.created_by} was written without a second person: "
                     f"{why} held until a different user confirms it, and no confirmed held entry names this entry "
                     "(held_entries)", eid)
            return
        for p in held:
            pid, kind, key, made_by, maker_role, decided_by = p[0], p[1], p[3], p[6], p[7], p[10]
            if key != e.key or kind != e.kind or made_by != e.created_by:
                self.add("maker_checker", f"confirmed held entry {pid} ({kind} {key} by {made_by}) names this entry, "
                         f"but the entry is {e.kind} {e.key} by {e.created_by}", eid)
            if not decided_by or decided_by == made_by:
                self.add("maker_checker", f"held entry {pid} by {made_by} was confirmed by {decided_by or 'no one'}: "
                         "a second person confirms (maker_checker)", eid)
                continue
            role = self.role(decided_by)
            allowed = CONFIRMERS.get(kind, DECIDERS)
            if role not in allowed:
                self.add("maker_checker", f"held {kind} entry {pid} by {made_by} was confirmed by {decided_by} "
                         f"({role or 'not a fundledger user'}); a held {kind} is confirmed by "
                         f"{' or '.join(sorted(allowed))} (permission_denied)", eid)
            elif role == "officer":
                units = _array(p[5])
                mine = self.unit_of(decided_by)
                if maker_role != "officer" or self.role(made_by) != "officer" or units != [mine]:
                    self.add("maker_checker", f"held entry {pid} by {made_by} ({maker_role}) for unit(s) "
                             f"{', '.join(units)} was confirmed by {decided_by}, an officer of unit {mine}: an officer "
                             "confirms only another officer's held entry of its own unit (permission_denied)", eid)

    def _city_figures(self, eid: int, e: _E) -> None:
        """U5: an officer's manual entry on a city figure was confirmed by the city, never
        written in an officer's session (its own or a colleague's of the same county).
        V5 (0064): money into any bank or cash account by hand (a manual entry's debit on one)
        was written in a session of the city bureau or city finance — the confirmer's — whoever
        made it and whoever holds the account. (A reversal's confirmer is judged by
        ``CONFIRMERS``: the bureau or finance, always.)"""
        if e.kind != "manual":
            return
        if self.role(e.writer) not in ("reviewer", "finance"):
            for _book, chart, _unit, holder, _comp, side, _pu in self._touches(eid):
                if money_in(chart, holder, side):
                    role = self.role(e.writer)
                    self.add("maker_checker", f"manual entry {e.key} by {e.created_by} put money into {chart}"
                             f"{' ' + holder if holder else ''} (a debit on a bank or cash account) and was "
                             + (f"confirmed by {e.writer}, " if e.writer != e.created_by else "written by ")
                             + (f"an {role}" if role in ("officer", "auditor", "admin") else "not a fundledger user")
                             + ": money into a bank account by hand is confirmed by the city bureau or city finance, "
                             "whoever holds the account (0064, city_confirms)", eid)
                    break
        if self.role(e.writer) != "officer":
            return
        for _book, chart, _unit, holder, _comp, _side, _pu in self._touches(eid):
            if city_figure(chart, holder):
                self.add("maker_checker", f"manual entry {e.key} by {e.created_by} on {chart}"
                         f"{' ' + holder if holder else ''} (a city figure) was "
                         + (f"confirmed by {e.writer}, an officer" if e.writer != e.created_by else
                            "written by an officer")
                         + ": the city bureau or city finance confirms an officer's entry on the city's accounts, "
                         "fund balance or revenue (0058, permission_denied)", eid)
                return

    def _officer_entry(self, eid: int, e: _E) -> None:
        if self.role(e.created_by) != "officer":
            return
        unit = self.unit_of(e.created_by)
        for book, chart, aunit, holder, _comp, side, punit in self._touches(eid):
            if aunit != unit or (punit and punit != unit):
                self.add("officer_confinement", f"{e.kind} entry {e.key} by {e.created_by}, an officer of unit {unit}, "
                         f"posts for unit {aunit} ({book} {chart}): an officer posts for its own unit only "
                         "(permission_denied)", eid)
                return
            if e.kind == "manual" and side == "C" and city_held(chart, holder):
                self.add("officer_confinement", f"manual entry {e.key} by {e.created_by}, an officer, credits "
                         f"{chart} {holder} (money out of the city's account by hand): money leaves the special "
                         "account, the city expenditure account and the treasury only through fund requests or an "
                         "entry of the city bureau or finance (manual_policy)", eid)
                return

    def _cash_date(self, eid: int, e: _E) -> None:
        for _book, chart, _unit, holder, _comp, _side, _pu in self._touches(eid):
            if real_money(chart, holder):
                at = _ts(e.created_at)
                local = at.astimezone(self.tz).date() if at else None
                self.add("entry_dates", f"dated {e.date} but written on {local} (region time): an entry that moves "
                         f"real money ({chart}{' ' + holder if holder else ''}) is dated no later than the day it is "
                         "written (cash_date_future)", eid)
                return

    def _requests(self) -> None:
        done: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
        for ev in sorted(self.small.get("request_event", ()), key=lambda r: int(r[0])):
            eid, rid, action, actor = ev[0], ev[1], ev[2], ev[3]
            steps = done[rid]
            if eid in self.old_events:             # written before the history (and 0018): recorded, not judged
                steps[action].append((eid, actor))
                continue
            self.checked["request_duties"] += 1
            for earlier in REQUEST_DUTIES.get(action, ()):
                took = [i for i, who in steps[earlier] if who == actor]
                if took:
                    self.add("request_duties", f"{action} (event {eid}) by {actor}, who {_DONE[earlier]} it (event "
                             f"{took[0]}): the submitter, the approver, the disburser and the settler are different "
                             "people (request_duties)", request_id=_int(rid))
                    break
            steps[action].append((eid, actor))

    def _once(self) -> None:
        handed: dict[tuple[str, str], int] = {}
        openings: list[int] = []
        for eid in sorted(self.kinds):
            kind = self.kinds[eid]
            e = self.kept.get(eid)
            if kind == "handover_transfer" and e is not None:
                parts = e.key.split(":")
                if len(parts) >= 3:
                    handed.setdefault((parts[1], parts[2]), eid)
            elif kind == "opening" and e is not None:
                openings.append(eid)
        alive: dict[tuple[str, str, str], int] = {}
        for eid in openings:
            e = self.kept[eid]
            old = eid in self.old_entries
            self.checked["once_only"] += not old
            units = {(t[0], t[2], t[4]) for t in self._touches(eid)}
            if e.key.startswith("opening-city:"):
                for book, unit, comp in sorted(units):
                    if self.unit_kind.get(unit) != "city":
                        continue
                    prior = alive.get((book, unit, comp))
                    undone = self.reversed_by.get(prior) if prior is not None else None
                    if prior is not None and (undone is None or undone > eid) and not old:
                        self.add("once_only", f"the city proper's opening balance of book {book}"
                                 f"{' (' + comp + ')' if comp else ''} recorded again: entry {prior} already "
                                 "recorded it and was not reversed (opening_once)", eid)
                    alive[(book, unit, comp)] = eid
            elif e.key.startswith("opening:"):
                for book, unit, _comp in sorted(units):
                    h = handed.get((unit, book))
                    if h is not None and h < eid and not old:
                        self.add("once_only", f"an opening balance of unit {unit}, book {book}, recorded after its "
                                 f"handover transfer (entry {h}): a handover happens once per county and book "
                                 "(handover_once)", eid)
                        break


def tee(r: Rules, read: Callable[[str], Any]) -> Callable[[str], Any]:
    """``read`` for proof.run (online or over an export), with the accounts and entries
    shown to ``r`` as they stream past the proof: no second read of either table."""
    def wrapped(table: str) -> Any:
        rows = read(table)
        if table == "account":
            return list(r.accounts(rows))
        if table == "entry":
            return r.entries(rows)
        return rows
    return wrapped
