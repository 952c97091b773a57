"""Checks shared by the reliability tests: worker logs, ledger invariants, resubmission.

Every check returns a list of violations (strings); an empty list means clean. The
tests assert ``== []`` so a failure prints exactly what broke.

Worker logs are JSON lines, written before sending and after the answer:

* ``{"t": "S", "batch": B, "docs": [...]}``   about to send batch B (entry documents)
* ``{"t": "A", "batch": B, "res": [[key, status, entry_id], ...]}``   acknowledged
* ``{"t": "R", "batch": B, "rule": ...}``   refused by a rule (nothing written)
* ``{"t": "E", "batch": B, "error": ...}``   outcome unknown (connection lost)

A kill -9 may tear the last line; ``read_log`` drops a torn final line only.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

COUNTIES = ("230881", "230882", "230883", "230822", "230826", "230828")


def seed_ledger(conn: psycopg.Connection, fen: int) -> int:
    """Collect 2×fen into the special account for every county and pre-allocate fen of it
    to the county's expenditure account. Returns the number of entries (keys seed-…)."""
    from tests.helpers import collect, entry, leg, post

    y = f"{fen // 100}.00"
    post(conn, *[collect(f"seed-{u}", "2023-01-01", u, f"{2 * fen // 100}.00") for u in COUNTIES])
    post(conn, *[entry(f"seed-pre-{u}", "2023-01-01", "RES", leg("1004", u, "D", y, "county_exp"),
                       leg("1003", u, "C", y, "special")) for u in COUNTIES])
    return 2 * len(COUNTIES)


def journal_key(stored: str) -> str:
    """The key a worker sent, from the key the journal holds: manual keys are filed under
    their writer's name (manual:<user>:<key>, sql/0017_maker_checker.sql)."""
    return stored.split(":", 2)[2] if stored.startswith("manual:") and stored.count(":") >= 2 else stored


def post_confirmed(conn: psycopg.Connection, checker: psycopg.Connection, drafts: Any) -> list[Any]:
    """Post as ``conn``'s user, then confirm what was held (real money) as ``checker``'s, each
    step one transaction through the library (``run_tx``): the maker-checker path every
    real-money manual entry takes. Results as ``journal.post`` gave them before holding
    existed: 'posted' or 'duplicate' with the entry's id. A rule refusing the confirmation
    (an overdraft) raises as the post would have."""
    from ledger.store import journal
    from ledger.store.db import run_tx

    res = run_tx(conn, lambda c: journal.post(c, drafts))
    held = [r for r in res if r.status == "held"]
    if not held:
        return res
    done = run_tx(checker, lambda c: [journal.confirm(c, int(r.held_id)) for r in held])
    by_held = {r.held_id: d for r, d in zip(held, done, strict=True)}
    return [journal.PostResult(r.idempotency_key, by_held[r.held_id].entry_id, by_held[r.held_id].status, r.held_id)
            if r.status == "held" else r for r in res]


def read_log(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text("utf-8").split("\n") if path.exists() else []
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 2 or (i == len(lines) - 2 and lines[-1] != ""):
                raise  # only the very last line may be torn by a kill
    return out


@dataclass
class LogSummary:
    sent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # batch -> docs
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)        # key -> (status, entry id)
    acked_batches: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    @property
    def sent_keys(self) -> set[str]:
        return {d["idempotency_key"] for docs in self.sent.values() for d in docs}

    def counts(self) -> dict[str, int]:
        return {"batches_sent": len(self.sent), "batches_acked": len(self.acked_batches),
                "entries_acked": len(self.acked), "batches_refused": len(self.refused),
                "batches_outcome_unknown": len(self.sent) - len(self.acked_batches) - len(self.refused)}


def summarize(paths: Iterable[Path]) -> LogSummary:
    s = LogSummary()
    for path in paths:
        for rec in read_log(path):
            b = rec["batch"]
            if rec["t"] == "S":
                if b in s.sent:
                    s.problems.append(f"batch {b} logged as sent twice")
                s.sent[b] = rec["docs"]
            elif rec["t"] == "A":
                s.acked_batches.add(b)
                for key, status, entry_id in rec["res"]:
                    s.acked[key] = (status, entry_id)
            elif rec["t"] == "R":
                s.refused.add(b)
            elif rec["t"] == "E":
                s.unknown.add(b)
            if rec["t"] != "S" and b not in s.sent:
                s.problems.append(f"batch {b}: an answer logged before the send")
    return s


def _one(conn: psycopg.Connection, sql: str, *args: Any) -> Any:
    row = conn.execute(sql, args).fetchone()
    assert row is not None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def ledger_violations(conn: psycopg.Connection) -> list[str]:
    """What ``verify`` checks, recomputed from the journal (owner connection, dict rows)."""
    bad: list[str] = []

    def rows(sql: str) -> list[dict[str, Any]]:
        return conn.execute(sql).fetchall()

    # Every entry sealed once, or queued once for sealing (committed while another commit
    # held the chain head) with the digest of its content as it is now.
    for r in rows("""SELECT e.id, count(p.id) AS n,
                            (SELECT count(*) FROM fl.seal s WHERE s.entry_id = e.id)
                            + (SELECT count(*) FROM fl.seal_queue q WHERE q.entry_id = e.id) AS sealed
                       FROM fl.entry e LEFT JOIN fl.posting p ON p.entry_id = e.id
                      GROUP BY e.id HAVING count(p.id) < 2 OR (SELECT count(*) FROM fl.seal s WHERE s.entry_id = e.id)
                                          + (SELECT count(*) FROM fl.seal_queue q WHERE q.entry_id = e.id) <> 1
                      LIMIT 20"""):
        bad.append(f"partial entry {r['id']}: {r['n']} posting(s), sealed or queued {r['sealed']} times")
    for r in rows("""SELECT q.entry_id FROM fl.seal_queue q
                      WHERE sha256(convert_to(fl.entry_canonical(q.entry_id), 'UTF8')) IS DISTINCT FROM q.content_digest
                      LIMIT 20"""):
        bad.append(f"queued entry {r['entry_id']}: content changed since its commit")
    for r in rows("""SELECT p.entry_id, a.unit, a.component FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
                      GROUP BY 1, 2, 3
                     HAVING sum(p.amount) FILTER (WHERE p.side = 'D') IS DISTINCT FROM sum(p.amount) FILTER (WHERE p.side = 'C')
                     LIMIT 20"""):
        bad.append(f"entry {r['entry_id']} unbalanced for unit {r['unit']} {r['component']}")
    for r in rows("""SELECT a.id, a.debits, a.credits, a.balance,
                            coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
                            coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr
                       FROM fl.account a LEFT JOIN fl.posting p ON p.account_id = a.id GROUP BY a.id
                     HAVING a.debits <> coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0)
                         OR a.credits <> coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)
                         OR a.balance <> a.debits - a.credits LIMIT 20"""):
        bad.append(f"account {r['id']}: maintained D {r['debits']} C {r['credits']} ≠ postings D {r['dr']} C {r['cr']}")
    for r in rows("""SELECT a.id FROM fl.account a LEFT JOIN fl.account_day d ON d.account_id = a.id GROUP BY a.id
                     HAVING a.debits <> coalesce(sum(d.debits), 0) OR a.credits <> coalesce(sum(d.credits), 0) LIMIT 20"""):
        bad.append(f"account {r['id']}: daily movements do not add up to its totals")
    for r in rows("""SELECT b.id, b.balance, b.reserved, coalesce(sum(a.balance), 0) AS s
                       FROM fl.bank_account b LEFT JOIN fl.account a ON a.bank_account_id = b.id GROUP BY b.id
                     HAVING b.balance <> coalesce(sum(a.balance), 0) OR b.balance < 0 OR b.reserved > b.balance"""):
        bad.append(f"bank account {r['id']}: balance {r['balance']} (reserved {r['reserved']}), its ledger accounts sum {r['s']}")
    for r in rows("""SELECT book, fiscal_year, count(*) AS n, max(voucher_no) AS hi, min(voucher_no) AS lo
                       FROM fl.seal GROUP BY 1, 2 HAVING count(*) <> max(voucher_no) OR min(voucher_no) <> 1"""):
        bad.append(f"vouchers {r['book']}/{r['fiscal_year']} not gapless: {r['n']} numbers in {r['lo']}..{r['hi']}")
    for r in rows("""SELECT v.book, v.fiscal_year, v.last_no, (SELECT max(voucher_no) FROM fl.seal s
                       WHERE s.book = v.book AND s.fiscal_year = v.fiscal_year) AS hi FROM fl.voucher_counter v"""):
        if r["last_no"] != (r["hi"] or 0):
            bad.append(f"voucher counter {r['book']}/{r['fiscal_year']} at {r['last_no']}, highest voucher {r['hi']}")
    # Components never pay for each other (BRIEF §4): a unit's money of a non-pooled
    # component (personal accounts) in any physical account, and the pooled money of
    # all units in it, never below zero.
    for r in rows("""SELECT a.bank_account_id AS bank, a.component,
                            CASE WHEN a.component = b.pooled_component THEN NULL ELSE a.unit END AS unit,
                            sum(a.balance) AS s
                       FROM fl.account a JOIN fl.book b ON b.code = a.book
                      WHERE a.bank_account_id IS NOT NULL AND a.component <> ''
                      GROUP BY 1, 2, 3 HAVING sum(a.balance) < 0 LIMIT 20"""):
        bad.append(f"bank account {r['bank']}: {r['component']} money of {r['unit'] or 'all units'} is {r['s']} "
                   "(one component paid with another's money)")
    # Every committed entry went through the commit-time seal: sealed, or queued for the next
    # holder of the chain head (0065: the hook is the entry's own deferred event).
    for r in rows("""SELECT e.id FROM fl.entry e
                      WHERE NOT EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = e.id)
                        AND NOT EXISTS (SELECT 1 FROM fl.seal_queue q WHERE q.entry_id = e.id) LIMIT 20"""):
        bad.append(f"entry {r['id']} committed neither sealed nor queued (the commit-time seal missed it)")

    # The hash chain, recomputed link by link.
    prev = bytes(32)
    n = 0
    for r in conn.execute("""SELECT s.seq, s.voucher_no, s.prev_hash, s.hash, s.content_digest,
                                    sha256(convert_to(fl.entry_canonical(s.entry_id), 'UTF8')) AS digest
                               FROM fl.seal s ORDER BY s.seq"""):
        n += 1
        if r["seq"] != n:
            bad.append(f"seal sequence jumps to {r['seq']} after {n - 1}")
            n = r["seq"]
        if bytes(r["digest"]) != bytes(r["content_digest"]):
            bad.append(f"seal {r['seq']}: content changed since sealing")
        want = hashlib.sha256(prev + bytes(r["content_digest"]) + str(r["voucher_no"]).encode()).digest()
        if bytes(r["prev_hash"]) != prev or bytes(r["hash"]) != want:
            bad.append(f"seal {r['seq']}: hash chain broken")
        prev = bytes(r["hash"])
        if len(bad) > 50:
            break
    head = conn.execute("SELECT seq, hash FROM fl.chain_head").fetchone()
    assert head is not None
    if head["seq"] != n or bytes(head["hash"]) != prev:
        bad.append(f"chain head at {head['seq']}, chain has {n} links")
    bad += negative_history(conn)
    bad += component_history(conn)
    return bad


def component_history(conn: psycopg.Connection) -> list[str]:
    """Components never pay for each other at any moment, not only at rest: replayed
    transaction by transaction in seal order, each unit's personal-account money in a
    physical account, and the pooled money in it in total, never below zero."""
    out = []
    for r in conn.execute("""
        WITH tx AS (
          SELECT a.bank_account_id AS bank, a.component,
                 CASE WHEN a.component = b.pooled_component THEN NULL ELSE a.unit END AS unit,
                 e.created_xid AS xid, min(s.seq) AS seq,
                 sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS delta
            FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.book b ON b.code = a.book
            JOIN fl.entry e ON e.id = p.entry_id JOIN fl.seal s ON s.entry_id = e.id
           WHERE a.bank_account_id IS NOT NULL AND a.component <> '' GROUP BY 1, 2, 3, 4)
        SELECT bank, component, unit, seq, running FROM (
          SELECT bank, component, unit, seq,
                 sum(delta) OVER (PARTITION BY bank, component, unit ORDER BY seq) AS running FROM tx) h
         WHERE running < 0 ORDER BY seq LIMIT 20"""):
        out.append(f"bank account {r['bank']}: {r['component']} money of {r['unit'] or 'all units'} ran negative "
                   f"({r['running']}) at seal {r['seq']} (one component paid with another's money)")
    return out


def negative_history(conn: psycopg.Connection) -> list[str]:
    """Replay every physical bank account transaction by transaction in seal (commit)
    order: the running balance must never dip below zero."""
    out = []
    for r in conn.execute("""
        WITH tx AS (
          SELECT a.bank_account_id AS bank, e.created_xid AS xid, min(s.seq) AS seq,
                 sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS delta
            FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
            JOIN fl.entry e ON e.id = p.entry_id JOIN fl.seal s ON s.entry_id = e.id
           WHERE a.bank_account_id IS NOT NULL GROUP BY 1, 2)
        SELECT bank, seq, running FROM (
          SELECT bank, seq, sum(delta) OVER (PARTITION BY bank ORDER BY seq) AS running FROM tx) h
         WHERE running < 0 ORDER BY seq LIMIT 20"""):
        out.append(f"bank account {r['bank']} ran negative ({r['running']}) at seal {r['seq']}")
    return out


def log_violations(conn: psycopg.Connection, s: LogSummary) -> list[str]:
    """Against the worker logs: nothing acknowledged is lost, nothing unlogged exists,
    each key once, each batch all-or-nothing."""
    bad = list(s.problems)
    present: dict[str, int] = {}
    postings: dict[str, int] = {}
    for r in conn.execute("""SELECT e.idempotency_key AS k, e.id, (SELECT count(*) FROM fl.posting p WHERE p.entry_id = e.id) AS n
                               FROM fl.entry e"""):
        present[journal_key(r["k"])] = r["id"]
        postings[journal_key(r["k"])] = r["n"]
    counts = Counter(journal_key(r["k"]) for r in conn.execute("SELECT idempotency_key AS k FROM fl.entry"))
    bad += [f"key {k} present {n} times" for k, n in counts.items() if n > 1][:20]
    for key, (_status, entry_id) in s.acked.items():
        if key not in present:
            bad.append(f"acknowledged entry {key} (#{entry_id}) is lost")
        elif present[key] != entry_id:
            bad.append(f"acknowledged entry {key} was #{entry_id}, now #{present[key]}")
    sent = s.sent_keys
    stray = [k for k in present if k not in sent and not k.startswith("seed-")]
    bad += [f"entry {k} exists but no worker logged sending it" for k in stray[:20]]
    for b, docs in s.sent.items():
        here = [d["idempotency_key"] in present for d in docs]
        if any(here) and not all(here):
            bad.append(f"batch {b} half-written: {sum(here)} of {len(here)} entries present")
        if all(here) and b in s.refused:
            bad.append(f"batch {b} was refused but is present")
        for d in docs:
            k = d["idempotency_key"]
            if k in postings and postings[k] != len(d["postings"]):
                bad.append(f"entry {k} has {postings[k]} postings, sent {len(d['postings'])}")
    return bad[:100]


def resubmit_all(conn: psycopg.Connection, s: LogSummary, checker: psycopg.Connection) -> tuple[list[str], dict[str, int]]:
    """Send every logged batch again with the same keys (post, then confirm as ``checker``).
    Acknowledged batches must come back all 'duplicate'; the others may post once (all
    'posted': a hold left unconfirmed by the crash is confirmed now), be duplicates (the
    answer was lost), or be refused by a rule. Re-sending what the first pass posted must
    come back all 'duplicate'."""
    from ledger.core.entries import parse_entries
    from ledger.errors import RuleViolation

    bad: list[str] = []
    n = Counter[str]()
    present: set[str] = set()   # batches known to be in the ledger after the first pass
    posted_now: set[str] = set()
    for _pass in (1, 2):
        for b, docs in sorted(s.sent.items()):
            if _pass == 2 and b not in posted_now:
                continue   # the second pass re-sends what the first one posted
            drafts = parse_entries(docs, b)
            try:
                res = post_confirmed(conn, checker, drafts)
            except RuleViolation as e:
                n[f"pass{_pass}_refused"] += 1
                if b in s.acked_batches or b in present:
                    bad.append(f"batch {b} (in the ledger) refused on resubmission: {e}")
                continue
            statuses = {r.status for r in res}
            n[f"pass{_pass}_" + "_".join(sorted(statuses))] += 1
            if len(statuses) != 1:
                bad.append(f"batch {b} came back mixed {statuses}: it was half-written")
            if b in s.acked_batches and statuses != {"duplicate"}:
                bad.append(f"acknowledged batch {b} came back {statuses} on resubmission")
            if b in present and statuses != {"duplicate"}:
                bad.append(f"batch {b} posted again on the second resubmission")
            present.add(b)
            if statuses == {"posted"}:
                posted_now.add(b)
            for r in res:
                if r.idempotency_key in s.acked and s.acked[r.idempotency_key][1] != r.entry_id:
                    bad.append(f"{r.idempotency_key}: resubmission answered entry {r.entry_id}")
    return bad, dict(n)
