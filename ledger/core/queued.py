"""What a queued entry's writer committed, judged against its seal (ATTACK10 X9).

A commit that finds the chain head taken queues its entries with their content digests
(``fl.seal_queue``) and the next holder seals them *from the queue's digest*. Since 0080
each queue row's insert writes a history version in the writer's own transaction (table
``fl.seal_queue``, key ``{"entry_id": n}``, row ``{"digest", "entry_id", "queued_at"}``),
chained like every other. Until then nothing chained held the queued content: a DBA who
kept the head taken could rewrite the postings, the accounts' totals and the queue row's
digest with the triggers off, and the next holder sealed the rewrite.

Here, for every entry the history recorded as queued:

* sealed: its seal's content digest must be the recorded one (the seal's own digest is
  proved against the postings by the hash chain check, so a rewritten posting, or a
  rewritten queue row, is named here);
* still queued: its queue row's digest must be the recorded one;
* neither: the entry left the queue without a seal (the vouchers check names the entry
  without a seal; here, the recorded queue row that vanished);

and every row still in the queue must have its version (one inserted with the triggers
off has none). An entry that waited longer than ``HELD_BOUND`` between its queuing and
its seal is named too when other commits queued while it waited (``others_during``): every
write command seals what is queued as it returns, and every commit that takes the chain
head seals the whole queue, so other commits queuing meanwhile mean the head was held
(the window a rewrite needs). A wait in which nobody else committed is no finding
(ATTACK11 Y8): an honest entry queued behind a busy head whose client died before sealing
waits, in an idle ledger, for the next write, however late that comes.

One function for both verdicts (the rows as text, online or from an export) and the
messages the first pass uses for its SQL twin (``ledger.store.verify_records``).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from ledger.core import jsonfast
from ledger.core.findings import CheckResult, Finding, said

TABLE = "fl.seal_queue"
# How long an entry may wait in the queue for its seal before the wait is itself a finding.
HELD_BOUND = dt.timedelta(minutes=15)
# (ATTACK11 Y8) Which queuings count as *other* commits during a wait. One commit queues its
# entries in one statement (queued_at is each row's clock, microseconds apart): a queuing
# within SAME_COMMIT after the waiting entry's is its own commit's. A commit that finds the
# head taken by the very commit that ends the wait (which holds it for its seal and its WAL
# flush, well under a second) queues just before that seal: a queuing within SEAL_RACE
# before the seal is that race, not a held head.
SAME_COMMIT = dt.timedelta(seconds=1)
SEAL_RACE = dt.timedelta(minutes=1)


def recorded(latest: Mapping[str, Mapping[str, str]]) -> dict[int, tuple[str, str]]:
    """entry id -> (digest hex, queued_at text) of every queue version (the latest per key)."""
    out: dict[int, tuple[str, str]] = {}
    for text in latest.get(TABLE, {}).values():
        try:
            row = jsonfast.loads(text)
            out[int(row["entry_id"])] = (str(row.get("digest") or ""), str(row.get("queued_at") or ""))
        except (ValueError, KeyError, TypeError):
            continue        # an unreadable version: the history chain check names a rewritten one
    return out


def _hex(text: str) -> str:
    return text[2:] if text.startswith("\\x") else text


def _ts(text: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def sealed_other(eid: int, was: str, now: str) -> Finding:
    return Finding("histories", said("committed while the chain head was taken and queued with content digest {value}… (the "
                                     "history recorded it at the commit), but sealed with {value2}…: its postings or its "
                                     "queue row were rewritten while it waited for its seal", value=was[:16], value2=now[:16]), entry_id=eid, account=f"{TABLE} entry_id={eid}")


def queued_other(eid: int, was: str, now: str) -> Finding:
    return Finding("histories", said("queued with content digest {value}… (the history recorded it at the commit), but its "
                                     "queue row now says {value2}…: the queue row was rewritten", value=was[:16], value2=now[:16]), entry_id=eid,
                   account=f"{TABLE} entry_id={eid}")


def vanished(eid: int) -> Finding:
    return Finding("histories", said("recorded as queued for sealing at its commit, but neither sealed nor queued any more: "
                                     "its queue row was removed without a seal"), entry_id=eid, account=f"{TABLE} entry_id={eid}")


def unrecorded(eid: int) -> Finding:
    return Finding("histories", said("queued for sealing with no history version of its queuing: the queue row was inserted "
                                     "with the triggers off"), entry_id=eid, account=f"{TABLE} entry_id={eid}")


def held(eid: int, minutes: int, others: int) -> Finding:
    text = (said("waited {minutes} minutes in the queue before its seal while {others} other entry was committed "
                 "and queued behind it (every commit that takes the chain head seals the queue): the chain head was "
                 "held that long, the window in which a queued entry can be rewritten — its recorded digest is checked "
                 "above", minutes=minutes, others=others) if others == 1 else
            said("waited {minutes} minutes in the queue before its seal while {others} other entries were committed "
                 "and queued behind it (every commit that takes the chain head seals the queue): the chain head was "
                 "held that long, the window in which a queued entry can be rewritten — its recorded digest is checked "
                 "above", minutes=minutes, others=others))
    return Finding("histories", text, entry_id=eid,
                   account=f"{TABLE} entry_id={eid}")


class Queuings:
    """Every recorded queuing's time, sorted: how many other commits queued during a wait."""

    def __init__(self, rec: Mapping[int, tuple[str, str]]) -> None:
        self.times = sorted(t for t in (_ts(at) for _, at in rec.values()) if t is not None)

    def others_during(self, at: dt.datetime, sealed: dt.datetime) -> int:
        """Entries queued after ``at`` (past its own commit's ``SAME_COMMIT``) and before
        ``sealed`` (short of ``SEAL_RACE``)."""
        lo, hi = at + SAME_COMMIT, sealed - SEAL_RACE
        if hi <= lo:
            return 0
        return max(0, bisect.bisect_left(self.times, hi) - bisect.bisect_right(self.times, lo))


class Judge:
    """The check streamed beside the seals (the verdict reads them once, in chain order, and
    keeps none): ``seal`` for each seal row whose entry ``rec`` holds, ``finish`` with the
    queue. Memory: the recorded queue versions (``recorded``), not the seals."""

    def __init__(self, latest: Mapping[str, Mapping[str, str]]) -> None:
        self.rec = recorded(latest)
        self.queuings: Queuings | None = None        # sorted at the first long wait
        self.seen: set[int] = set()
        self.out: list[Finding] = []

    def seal(self, s: Sequence[str]) -> None:
        """One fl.seal row (``proof.TABLES['seal']`` order: entry_id at 1, content_digest at 5,
        sealed_at at 8)."""
        eid = int(s[1])
        was = self.rec.get(eid)
        if was is None:
            return
        self.seen.add(eid)
        if _hex(s[5]) != was[0]:
            self.out.append(sealed_other(eid, was[0], _hex(s[5])))
        at, sealed = _ts(was[1]), _ts(s[8])
        if at is not None and sealed is not None and sealed - at > HELD_BOUND:
            if self.queuings is None:
                self.queuings = Queuings(self.rec)
            others = self.queuings.others_during(at, sealed)
            if others:
                self.out.append(held(eid, int((sealed - at).total_seconds() // 60), others))

    def finish(self, queue: Iterable[Sequence[str]]) -> tuple[int, list[Finding]]:
        """(queued entries judged, findings), given fl.seal_queue's rows (entry_id, book,
        fiscal_year, content_digest)."""
        out = list(self.out)
        seen = set(self.seen)
        for q in queue:
            eid = int(q[0])
            seen.add(eid)
            was = self.rec.get(eid)
            if was is None:
                out.append(unrecorded(eid))
            elif _hex(q[3]) != was[0]:
                out.append(queued_other(eid, was[0], _hex(q[3])))
        for eid in sorted(self.rec.keys() - seen):
            out.append(vanished(eid))
        return len(self.rec), out


def findings(latest: Mapping[str, Mapping[str, str]], seals: Iterable[Sequence[str]],
             queue: Iterable[Sequence[str]]) -> tuple[int, list[Finding]]:
    """(queued entries judged, findings) of ``Judge`` over whole tables. ``latest``:
    ``histories.Scan.latest``; ``seals``: fl.seal rows; ``queue``: fl.seal_queue rows."""
    j = Judge(latest)
    for s in seals:
        if int(s[1]) in j.rec:
            j.seal(s)
    return j.finish(queue)


DESCRIPTION = ("; every entry the history recorded as queued for sealing (0080) sealed, or still queued, with the "
               "content digest recorded at its commit, every queued entry so recorded, none waiting longer than "
               f"{int(HELD_BOUND.total_seconds() // 60)} minutes for its seal while other commits queued behind it "
               "(a held chain head; a wait in an idle ledger is none)")


def merged(res: CheckResult, judge: Judge | None, queue: Iterable[Sequence[str]], cap: int) -> CheckResult:
    """The ``histories`` result with the queued entries judged (``Judge`` fed the seals by the
    proof) added: the queue's versions are history versions, compared with what they record."""
    if judge is None:
        return res
    n, more = judge.finish(queue)
    return with_findings(res, n, more, cap)


def with_findings(res: CheckResult, n: int, more: Sequence[Finding], cap: int) -> CheckResult:
    """``res`` with ``n`` more rows checked and ``more`` findings (listed up to ``cap``)."""
    listed = list(res.findings) + list(more)
    shown = tuple(listed[:cap])
    return CheckResult(res.name, res.description + DESCRIPTION, res.checked + n, shown,
                       res.omitted + max(0, len(listed) - cap))
