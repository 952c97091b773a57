"""Who did what, and the columns fundledger changes, judged from the chained history (ATTACK6 T2, T8).

``histories`` proves that every row equals the latest version its history recorded and that
no version changed a column the release never changes. It cannot tell *whose* change it
was: a superuser's plain ``UPDATE fl.fund_request SET approved_by = …`` (triggers on) is
recorded faithfully — as an UPDATE by ``postgres`` of a column the release does change —
and both the row and its history then agree. This check closes that:

* **who**: each row's own "who" column (``request_event.actor``, ``pending_entry.made_by``,
  ``closed_period.closed_by``, …) equals the actor of the history version that inserted it
  (the login that wrote it: ``session_user``, which since 0047 cannot be switched); a
  decision's ``decided_by`` equals the actor of the version that recorded the decision.
* **registered, with the role**: every version of a workflow table (requests and their
  events, held entries, register clearings, period and year closes) was written by a
  registered fundledger user whose role may take that action — not by the DBA's own login.
* **mutable columns re-derived from their evidence** (``histories.MUTABLE``):
  ``fund_request.approved_by``/``amount_approved`` from its approve event,
  ``disburse_entry``/``settle_entry`` from the disburse/settle event (and that entry's kind
  and source), ``register_item.cleared`` from the sum of its clearings,
  ``pending_entry`` state/decided_by/entry_id from the confirmed entry's source, a manual
  held entry's maker from its key's namespace.

Every input is a chained, sealed history version (the chain check proves them) or the
latest version of a row (the histories check proves it equals the table): no value the
server computes is taken on trust.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from ledger.core import clearings, jsonfast
from ledger.core.findings import CheckResult, Finding, result, said

# The table -> its "who" column, set by the writer's session_user when the row is inserted.
WHO: dict[str, str] = {
    "fl.request_event": "actor",
    "fl.fund_request": "submitted_by",
    "fl.pending_entry": "made_by",
    "fl.closed_period": "closed_by",
    "fl.year_close": "closed_by",
    "fl.register_item": "created_by",
    "fl.register_clearing": "created_by",
    "fl.import_batch": "imported_by",
    "fl.budget": "imported_by",
    "fl.budget_adjustment": "adjusted_by",
    "fl.budget_plan": "imported_by",
    "fl.bank_statement": "imported_by",
    "fl.recon_match": "matched_by",
    "fl.insured_count": "recorded_by",
    "fl.monitor_ack": "acknowledged_by",
    "fl.unit_joined_later": "registered_by",
    "fl.operation_log": "actor",
    "fl.app_user": "created_by",
}

# The workflow tables: only a registered user writes them, through the API. A version by any
# other login (the DBA's own, ``postgres``) is a change no fundledger command made. (Tables
# the operator or a migration legitimately writes — users at bootstrap, reference data,
# budgets a migration re-recorded — are judged only when a registered user wrote them.)
WORKFLOW = ("fl.request_event", "fl.fund_request", "fl.pending_entry", "fl.register_clearing", "fl.register_item",
            "fl.closed_period", "fl.year_close", "fl.unit_joined_later")

# The roles that may take each action (the require_role of the function that takes it).
EVENT_ROLES: dict[str, frozenset[str]] = {
    "submit": frozenset({"officer", "reviewer"}),
    "approve": frozenset({"reviewer"}), "reject": frozenset({"reviewer"}), "void": frozenset({"reviewer"}),
    "settle": frozenset({"reviewer"}), "disburse": frozenset({"finance"}),
}
STATE_ROLES: dict[str, frozenset[str]] = {        # a request's UPDATE, by the state it moved to
    "approved": EVENT_ROLES["approve"], "rejected": EVENT_ROLES["reject"], "voided": EVENT_ROLES["void"],
    "settled": EVENT_ROLES["settle"], "disbursed": EVENT_ROLES["disburse"],
}
TABLE_ROLES: dict[str, frozenset[str]] = {        # an INSERT into these, by anyone else, is a finding
    "fl.closed_period": frozenset({"reviewer"}),
    "fl.year_close": frozenset({"reviewer"}),
    "fl.register_clearing": frozenset({"reviewer", "finance"}),
    "fl.unit_joined_later": frozenset({"reviewer"}),      # (0167) the city bureau registers a joining date
}
DECIDER_ROLES = frozenset({"officer", "reviewer", "finance"})

# The history's own columns (histories.RECORD_COLS): id, seq, tbl, op, row_key, row_data, actor, at.
_ID, _TBL, _OP, _KEY, _ROW, _ACTOR, _AT = 0, 2, 3, 4, 5, 6, 7


def watched() -> list[str]:
    """The tables whose every version this check reads."""
    return sorted(set(WHO) | set(WORKFLOW))


def _load(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    v = jsonfast.loads(text)
    return v if isinstance(v, dict) else {}


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError, ArithmeticError):  # ArithmeticError: int(inf) from a huge JSON number (ATTACK10 X14)
        return None


class _Judge:
    def __init__(self, users: Mapping[str, str], cap: int) -> None:
        self.users = users
        self.cap = cap
        self.findings: list[Finding] = []

    def add(self, table: str, key: Mapping[str, Any], message: str) -> None:
        if len(self.findings) > self.cap * 4:
            return
        subject = f"{table} " + ", ".join(f"{k}={v}" for k, v in key.items())
        extra: dict[str, Any] = {}
        if table == "fl.fund_request" and "id" in key:
            extra["request_id"] = _int(key["id"])
        self.findings.append(Finding("actors", message, account=subject, **extra))

    def role_of(self, who: str | None) -> str | None:
        return self.users.get(who) if who is not None else None

    def registered(self, table: str, key: Mapping[str, Any], v: Sequence[str], roles: frozenset[str] | None,
                   what: str) -> None:
        """A workflow version written by a registered user with one of ``roles``."""
        actor = v[_ACTOR]
        role = self.role_of(actor)
        if role is None:
            self.add(table, key, said("{what} was written by {actor} ({value} at {value2}, history version {value3}), who is "
                                      "not a fundledger user: no fundledger command wrote it (the database administrator's own "
                                      "login, or a login that was never registered)", what=what, actor=actor, value=v[_OP], value2=v[_AT], value3=v[_ID]))
        elif roles is not None and role not in roles:
            self.add(table, key, said("{what} was written by {actor} (role {role}; history version {value}), but that action "
                                      "needs the {value2} role", what=what, actor=actor, role=role, value=v[_ID], value2=' or '.join(sorted(roles))))


def referenced_entries(latest: Mapping[str, Mapping[str, str]]) -> set[int]:
    """The entries the judged rows name (disbursements, settlements, clearings, confirmed
    held entries): their kind and source are read for the comparison."""
    ids: set[int] = set()
    for table, cols in (("fl.fund_request", ("disburse_entry", "settle_entry")), ("fl.request_event", ("entry_id",)),
                        ("fl.register_clearing", ("entry_id",)), ("fl.pending_entry", ("entry_id",))):
        for text in latest.get(table, {}).values():
            row = _load(text)
            ids.update(i for i in (_int(row.get(c)) for c in cols) if i is not None)
    return ids


Entries = Mapping[int, Mapping[str, Any]]


# The columns of a held entry's latest version ``_held_one`` reads.
HELD_COLS = ("id", "state", "decided_by", "decided_at", "entry_id", "made_by", "idempotency_key")

# The keys of a confirmed entry's source ``_held_one`` compares.
HELD_SOURCE = ("held", "made_by", "confirmed_by")


class HeldStream:
    """The held entries judged as their latest versions stream past (online), not from
    ``latest`` — whose texts of every held entry were the verdict's largest per-entry state
    (histories.scan_full, ``project=False``). ``recorded``: the held entries' latest
    versions as the history scan kept them (key -> (history id, digest), ``Scan.digested``),
    which says of each version read whether it is its row's latest. A latest version is
    judged at once (its decision is known by then: every version before it has passed),
    buffered with the others until ``flush``, which reads the entries the confirmed ones name
    (``fetch``: ids -> Entries) and judges them as ``_held`` would: the caller flushes between
    the pieces it reads the versions in (one session: the entries are read when no COPY
    streams), so the buffer holds one piece's held entries, never the ledger's."""

    def __init__(self, recorded: Mapping[str, tuple[int, bytes]], fetch: Callable[[set[int]], Entries]) -> None:
        self.recorded, self.fetch = recorded, fetch
        self.judge = _Judge({}, 0)
        self.buffer: list[tuple[dict[str, Any], bool]] = []
        self.decided_before: set[str] = set()   # keys with a decision not their latest version (rare)
        self.judged = 0
        self.found: list[tuple[int, int, Finding]] = []     # (held entry id, order, finding)

    def version(self, v: Sequence[str]) -> None:
        """One version of fl.pending_entry, in id order (BACKFILL versions too)."""
        key, op = v[_KEY], v[_OP]
        decided = op not in ("INSERT", "BACKFILL")
        rec = self.recorded.get(key)
        if rec is None or rec[0] != int(v[_ID]):
            if decided:
                self.decided_before.add(key)
            return
        if hashlib.sha256(v[_ROW].encode()).digest() != rec[1]:
            raise ValueError(f"history version {v[_ID]} read for the actors check is not the one the history's "
                             "scan read")
        if key in self.decided_before:
            self.decided_before.discard(key)
            decided = True
        p = _load(v[_ROW])        # only the columns ``_held_one`` reads wait for the flush
        self.buffer.append(({c: p[c] for c in HELD_COLS if c in p}, decided))
        self.judged += 1

    def flush(self) -> None:
        if not self.buffer:
            return
        held, self.buffer = self.buffer, []
        want = {i for p, _d in held if p.get("state") == "confirmed" and (i := _int(p.get("entry_id"))) is not None}
        named = self.fetch(want) if want else {}
        j = self.judge
        for p, d in held:
            before = len(j.findings)
            _held_one(j, p, d, {}, named)
            pid = _int(p.get("id"))
            self.found.extend((pid if pid is not None else 0, len(self.found), f) for f in j.findings[before:])
        j.findings = []
        if len(self.found) > 8 * j.cap + 8:           # only the first cap * 4 are ever listed
            self.found = sorted(self.found, key=lambda t: (t[0], t[1]))[:4 * j.cap + 1]

    def finish(self) -> list[Finding]:
        """The findings, by held entry (as ``_held`` names them), once every version has passed.
        Raises when a held entry's latest version never passed (the read showed fewer
        versions than the history's scan): the check cannot be whole (ledger.store's
        verdict reports the ledger as not judged)."""
        self.flush()
        if self.judged != len(self.recorded):
            raise ValueError(f"the held entries' versions read for the actors check hold {self.judged} latest "
                             f"versions, the history {len(self.recorded)}")
        return [f for _pid, _k, f in sorted(self.found, key=lambda t: (t[0], t[1]))]


def check(versions: Iterable[Sequence[str]], latest: Mapping[str, Mapping[str, str]], cap: int,
          entries: Entries | None = None, held: HeldStream | None = None) -> CheckResult:
    """The ``actors`` check over ``versions`` (rows of fl.record_log in id order, columns
    histories.RECORD_COLS; other tables' versions are skipped), ``latest`` (the latest
    version of every row, ``histories.Scan.latest``) and ``entries`` (id -> {kind, source} of
    the entries ``referenced_entries`` names, read from fl.entry — which the histories check
    proves equal to its history; None: taken from ``latest``). ``held`` (online): the held
    entries judged as their latest versions pass in ``versions`` (``HeldStream``), not
    from ``latest``, which then holds none of their texts."""
    users: dict[str, str] = {}
    for text in latest.get("fl.app_user", {}).values():
        row = _load(text)
        if row.get("name") is not None:
            users[str(row["name"])] = str(row.get("role"))
    j = _Judge(users, cap)
    if held is not None:
        held.judge = _Judge(users, cap)
    tables = set(watched())
    # The held entries whose history records a decision (keys only: what ``_held`` asks;
    # no version's text is kept, so the check's memory does not grow with the versions).
    decisions: set[str] = set()
    n = 0
    for v in versions:
        table = v[_TBL]
        if table not in tables:
            continue
        n += 1
        op = v[_OP]
        if held is not None and table == "fl.pending_entry":
            held.version(v)
        if op == "BACKFILL":
            continue                              # recorded by a migration from rows written before the history
        key = _load(v[_KEY])
        row = _load(v[_ROW])
        if op == "INSERT":
            who = WHO.get(table)
            if who is not None and row.get(who) != v[_ACTOR] and (table in WORKFLOW or v[_ACTOR] in users):
                j.add(table, key, said("{who} says {value!s} but the row was inserted by {value2} (history version {value3} at "
                                       "{value4}): the name was not the writer's own (a column default or the row rewritten)", who=who, value=row.get(who), value2=v[_ACTOR], value3=v[_ID], value4=v[_AT]))
        if table not in WORKFLOW:
            continue
        if table == "fl.request_event":
            act = str(row.get("action"))
            j.registered(table, key, v, EVENT_ROLES.get(act), f"the request's {act} event")
        elif table == "fl.fund_request":
            if op == "INSERT":
                j.registered(table, key, v, EVENT_ROLES["submit"], "the request")
            else:
                j.registered(table, key, v, STATE_ROLES.get(str(row.get("state"))),
                             f"its change to {row.get('state')}")
        elif table == "fl.pending_entry":
            if op == "INSERT":
                j.registered(table, key, v, None, "the held entry")
            else:
                j.registered(table, key, v, DECIDER_ROLES, f"its decision ({row.get('state')})")
                if held is None:
                    decisions.add(v[_KEY])
                if row.get("decided_by") != v[_ACTOR]:
                    j.add(table, key, said("decided_by says {value} but the decision ({value2}) was recorded by {value3} (history "
                                           "version {value4} at {value5})", value=row.get('decided_by'), value2=row.get('state'), value3=v[_ACTOR], value4=v[_ID], value5=v[_AT]))
        elif table == "fl.register_item":
            j.registered(table, key, v, TABLE_ROLES["fl.register_clearing"] if op == "UPDATE" else None,
                         "its cleared amount" if op == "UPDATE" else "the register item")
        else:
            j.registered(table, key, v, TABLE_ROLES.get(table), "the row")
    _requests(j, latest, entries)
    if held is None:
        _held(j, latest, decisions, entries)
    else:
        for f in held.finish():
            if len(j.findings) > cap * 4:
                break
            j.findings.append(f)
    _registers(j, latest, entries)
    return result("actors", "who did what: every row's own who-column (request events, requests, held entries, "
                  "closes, register items and clearings, imports, budgets, users …) equals the login of the history "
                  "version that wrote it; every version of a workflow table was written by a registered user with "
                  "the role its action needs; the columns fundledger changes re-derived from their evidence "
                  "(approver and amount from the approve event, disbursement and settlement entries from their "
                  "events, a register item's cleared amount from its clearings, a held entry's decision from the "
                  "entry it posted)", n, j.findings, cap)


def entry_source(src: Any) -> dict[str, Any]:
    """An entry's source as the object it carries. A held entry whose maker sent
    ``"source": null`` was confirmed, before 0054, into the array ``[null, {"held": …,
    "made_by": …, "confirmed_by": …}]`` (JSON null ``||`` an object): that array is read as
    its object, so the maker and the checker are found; anything else that is not an
    object carries no evidence."""
    if isinstance(src, dict):
        return src
    if isinstance(src, list) and src and isinstance(src[-1], dict) and all(x is None for x in src[:-1]):
        return dict(src[-1])
    return {}


def _entry(latest: Mapping[str, Mapping[str, str]], eid: Any, entries: Entries | None = None) -> dict[str, Any] | None:
    i = _int(eid)
    if i is None:
        return None
    if entries is not None:
        e = entries.get(i)
        return dict(e) if e is not None else None
    text = latest.get("fl.entry", {}).get(f'{{"id": {i}}}')
    if text is None:
        return None
    e = _load(text)
    return e | {"source": entry_source(e.get("source"))}


# (0126, ATTACK15 A10) The rule point of the dates rule (fl.rule_point, 0068's mechanism): the
# disbursements, settlements and clearings written after it are judged by it.
DATES_RULE = "approval_date"


def rule_point(latest: Mapping[str, Mapping[str, str]], rule: str) -> int:
    """The entry after which ``rule`` binds, from its recorded point's latest version (0 when
    none is recorded: every entry judged, the strictest reading). Whether the point itself was
    moved is ``rules.RulePoints``'s (the rule_point problems of the independent verdict)."""
    for text in latest.get("fl.rule_point", {}).values():
        row = _load(text)
        if row.get("rule") == rule:
            return _int(row.get("after_entry")) or 0
    return 0


def _day(v: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(v)[:10]) if v is not None else None
    except ValueError:
        return None


def _request_dates(j: _Judge, key: Mapping[str, Any], r: Mapping[str, Any], paid: Mapping[str, Any] | None,
                   settled: Mapping[str, Any] | None, point: int) -> None:
    """(0126, ATTACK15 A10) A disbursement on or after the approval's business date and its
    quarter's first day; a settlement onward on or after the disbursement — for the entries
    above the rule's point (fl.request_entry_dates)."""
    approved = _day(r.get("approved_on"))
    pay_day = _day(paid.get("entry_date")) if paid else None
    year, quarter = _int(r.get("year")), _int(r.get("quarter"))
    if paid is not None and pay_day is not None and (_int(paid.get("id")) or 0) > point:
        if approved is not None and pay_day < approved:
            j.add("fl.fund_request", key, said("disbursed on {pay_day} (entry {value}) before its approval's business date {approved} "
                                               "(disburse_predates, 0126)", pay_day=pay_day, value=paid.get('id'), approved=approved))
        if year is not None and quarter is not None and 1 <= quarter <= 4 and 1 <= year <= 9999 \
                and pay_day < dt.date(year, 3 * quarter - 2, 1):
            j.add("fl.fund_request", key, said("disbursed on {pay_day} (entry {value}), before its quarter {year} Q{quarter} began "
                                               "(disburse_predates, 0126)", pay_day=pay_day, value=paid.get('id'), year=year, quarter=quarter))
    if settled is not None and pay_day is not None and (_int(settled.get("id")) or 0) > point:
        settle_day = _day(settled.get("entry_date"))
        if settle_day is not None and settle_day < pay_day:
            j.add("fl.fund_request", key, said("settled onward on {settle_day} (entry {value}) before the disbursement it settles "
                                               "({pay_day}, entry {value2}) (settle_predates, 0126)", settle_day=settle_day, value=settled.get('id'), pay_day=pay_day, value2=paid.get('id') if paid else '?'))


def _requests(j: _Judge, latest: Mapping[str, Mapping[str, str]], entries: Entries | None) -> None:
    point = rule_point(latest, DATES_RULE)
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for text in latest.get("fl.request_event", {}).values():
        ev = _load(text)
        rid = _int(ev.get("request_id"))
        if rid is not None:
            events[rid].append(ev)
    for text in latest.get("fl.fund_request", {}).values():
        r = _load(text)
        rid = _int(r.get("id"))
        if rid is None:
            continue
        key = {"id": rid}
        evs = sorted(events.get(rid, []), key=lambda e: _int(e.get("id")) or 0)
        last = {str(e.get("action")): e for e in evs}
        ap = last.get("approve")
        want_by = ap.get("actor") if ap else None
        want_amt = _int(ap.get("amount")) if ap else None
        # (0126, ATTACK15 A10) the approval's business date is not after the day its event was recorded
        # (the region is at most a day ahead of UTC)
        on, at = _day(r.get("approved_on")), _day(ap.get("at")) if ap else None
        if on is not None and at is not None and on > at + dt.timedelta(days=1):
            j.add("fl.fund_request", key, said("approved_on {on} is after the day its approval was recorded ({at}, event {value}): an "
                                               "approval is dated the day it was decided (approval_date, 0126)", on=on, at=at, value=ap.get('id') if ap else '?'))
        if r.get("approved_by") != want_by:
            j.add("fl.fund_request", key, said("approved_by says {value} but {more}", value=r.get('approved_by'), more=(said("the approve event (event {value}) was {want_by}'s", value=ap.get('id'), want_by=want_by) if ap else said("no approve event exists"))))
        if _int(r.get("amount_approved")) != want_amt and (ap is not None or r.get("amount_approved") is not None):
            j.add("fl.fund_request", key, said("amount_approved says {value} but {more}", value=r.get('amount_approved'), more=(said("the approve event (event {value}) approved {want_amt}", value=ap.get('id'), want_amt=want_amt) if ap else said("no approve event exists"))))
        steps: dict[str, dict[str, Any]] = {}
        for action, col, kind in (("disburse", "disburse_entry", "request_disburse"),
                                  ("settle", "settle_entry", "request_settle")):
            step = last.get(action)
            want = _int(step.get("entry_id")) if step else None
            got = _int(r.get(col))
            if got != want:
                j.add("fl.fund_request", key, said("{col} says {got} but {more}", col=col, got=got, more=(said("the {action} event (event {value}) posted entry {want}", action=action, value=step.get('id'), want=want) if step else said("no {action} event exists", action=action))))
            if got is None:
                continue
            e = _entry(latest, got, entries)
            if e is None:
                j.add("fl.fund_request", key, said("{col} {got} names no entry", col=col, got=got))
            elif e.get("kind") != kind or _int((e.get("source") or {}).get("request")) != rid:
                j.add("fl.fund_request", key, said("{col} {got} is a {value} entry of {value2!s}, not this request's {kind}", col=col, got=got, value=e.get('kind'), value2=(e.get('source') or {}).get('request'), kind=kind))
            else:
                steps[col] = e | {"id": got}
        _request_dates(j, key, r, steps.get("disburse_entry"), steps.get("settle_entry"), point)


def _held(j: _Judge, latest: Mapping[str, Mapping[str, str]], decisions: Collection[str],
          entries: Entries | None) -> None:
    for key_text, text in latest.get("fl.pending_entry", {}).items():
        _held_one(j, _load(text), key_text in decisions, latest, entries)


def _held_one(j: _Judge, p: dict[str, Any], decided: bool, latest: Mapping[str, Mapping[str, str]],
              entries: Entries | None) -> None:
    """One held entry's latest version ``p`` (parsed); ``decided``: its history records a
    decision (a version other than its INSERT)."""
    key = {"id": p.get("id")}
    state, by, eid, maker = p.get("state"), p.get("decided_by"), p.get("entry_id"), p.get("made_by")
    k = str(p.get("idempotency_key") or "")
    if k.startswith("manual:") and k.split(":", 2)[1] != maker:
        j.add("fl.pending_entry", key, said("made_by says {maker} but its key {k} was filed in {value}'s namespace (the maker's own)", maker=maker, k=k, value=k.split(':', 2)[1]))
    if state == "held":
        if by is not None or eid is not None or p.get("decided_at") is not None:
            j.add("fl.pending_entry", key, said("held, yet it names a decision (decided_by {by}, entry {eid})", by=by, eid=eid))
        return
    if by is None:
        j.add("fl.pending_entry", key, said("{state} but it names no one who decided it", state=state))
    elif by == maker and state != "rejected":
        # (ATTACK7 U12) The database's rule (fl._decider, CHECK pending_second_person): a
        # second person confirms; a maker may withdraw (reject) its own entry while it is
        # held, which posts nothing — office practice, not a finding.
        j.add("fl.pending_entry", key, said("{state} by {by}, who made it: a second person confirms", state=state, by=by))
    if not decided and by is not None:
        j.add("fl.pending_entry", key, said("{state} by {by}, but its history records no decision", state=state, by=by))
    if state == "confirmed":
        e = _entry(latest, eid, entries)
        src = (e or {}).get("source") or {}
        if e is None:
            j.add("fl.pending_entry", key, said("confirmed as entry {eid}, which does not exist", eid=eid))
        elif (_int(src.get("held")) != _int(p.get("id")) or src.get("confirmed_by") != by
              or src.get("made_by") != maker):
            j.add("fl.pending_entry", key, said("confirmed as entry {eid} by {by} (made by {maker}), but that entry records held entry "
                                                "{value} made by {value2} and confirmed by {value3}", eid=eid, by=by, maker=maker, value=src.get('held'), value2=src.get('made_by'), value3=src.get('confirmed_by')))
    elif state == "rejected" and eid is not None:
        j.add("fl.pending_entry", key, said("rejected, yet it names entry {eid}", eid=eid))


def _registers(j: _Judge, latest: Mapping[str, Mapping[str, str]], entries: Entries | None) -> None:
    cleared: dict[int, int] = defaultdict(int)
    point = rule_point(latest, DATES_RULE)
    opened: dict[int, dt.date | None] = {}
    for text in latest.get("fl.register_item", {}).values():
        it = _load(text)
        if _int(it.get("id")) is not None:
            opened[int(it["id"])] = _day(it.get("opened_on"))
    for text in latest.get("fl.register_clearing", {}).values():
        c = _load(text)
        item = _int(c.get("item_id"))
        if item is None:
            continue
        cleared[item] += _int(c.get("amount")) or 0
        if clearings.is_undoing(c):
            continue                              # judged by ledger.core.clearings below (ATTACK10 X12)
        # (0126, ATTACK15 A10) a clearing above the rule's point is dated on or after its item was opened
        on, since = _day(c.get("cleared_on")), opened.get(item)
        if (_int(c.get("entry_id")) or 0) > point and on is not None and since is not None and on < since:
            j.add("fl.register_clearing", {"id": c.get("id")}, said("clears item {item} on {on}, before the item was opened ({since}) (clearing_predates, "
                                                                    "0126)", item=item, on=on, since=since))
        e = _entry(latest, c.get("entry_id"), entries)
        if e is None or e.get("kind") != "register_clear":
            j.add("fl.register_clearing", {"id": c.get("id")}, said("clears item {item} by entry {value}, {more}", item=item, value=c.get('entry_id'), more=(said("which does not exist") if e is None else said("a {value} entry, not a register clearing", value=e.get('kind')))))
    # (ATTACK10 X12) a clearing lives while its entry does: reversed, a row undoes it (0081)
    rows = [_load(t) for t in latest.get("fl.register_clearing", {}).values()]
    for cid, message in clearings.findings(rows, lambda eid: _entry(latest, eid, entries),
                                           _reversals(latest, entries)):
        j.add("fl.register_clearing", {"id": cid}, message)
    for text in latest.get("fl.register_item", {}).values():
        it = _load(text)
        iid = _int(it.get("id"))
        if iid is None:
            continue
        if (_int(it.get("cleared")) or 0) != cleared.get(iid, 0):
            j.add("fl.register_item", {"id": iid}, said("cleared says {value} but its clearings sum to {value2}", value=it.get('cleared'), value2=cleared.get(iid, 0)))


def _reversals(latest: Mapping[str, Mapping[str, str]], entries: Entries | None) -> dict[int, int]:
    """entry -> the entry reversing it: among ``entries`` (which hold the reversals of the
    entries the clearings name), or every entry's latest version when none were read."""
    if entries is not None:
        return clearings.reversed_by(entries.items())
    pairs = []
    for text in latest.get("fl.entry", {}).values():
        if '"reverses": null' not in text:
            e = _load(text)
            if _int(e.get("id")) is not None:
                pairs.append((int(e["id"]), e))
    return clearings.reversed_by(pairs)
