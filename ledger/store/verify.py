"""``fundledger verify``: every invariant of the ledger, recomputed from the raw rows.

The auditor trusts neither the maintained tables (balances, daily movements, voucher
counters, the chain head) nor the hashes the database stored: each check below is one
set-based query over ``fl.entry`` / ``fl.posting`` / ``fl.account`` / ``fl.seal`` /
``fl.request_event`` (GROUP BY and window functions, no per-entry round trips), and the
hash chain is recomputed in Python from the first entry in a single ordered scan
streamed through a server-side cursor (memory stays flat whatever the ledger's size).

Everything runs in one REPEATABLE READ, READ ONLY transaction: one consistent snapshot,
and nothing can be written by accident. Failures are ``Finding`` values collected per
check (ledger.core.findings), never raised.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.rows import dict_row

from ledger.core.findings import CheckResult, Finding, VerifyReport, result, voucher_label
from ledger.core.money import format_yuan
from ledger.core.requests import TRANSITIONS
from ledger.errors import PermissionDenied
from ledger.store.db import Conn

FINDINGS_CAP = 200          # findings listed per check; the rest are counted
CHAIN_BATCH = 20_000        # rows fetched per round trip by the chain scan
GENESIS = bytes(32)
# Seals are written under the chain-head lock with clock_timestamp(), so sealed_at rises
# with seq; allow this much for the server clock being stepped back (NTP).
SEAL_CLOCK_SLACK = dt.timedelta(minutes=5)

# The canonical text of an entry, set-based: exactly what fl.entry_canonical(id) returns
# (sql/0001_core.sql), reimplemented so that verify does not depend on a function the
# database owner could replace. tests/integration/test_verify.py checks the two agree.
CANONICAL_SQL = """
SELECT e.id AS entry_id,
       concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''),
                 e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))
       || '#' || pc.legs AS canonical
  FROM fl.entry e
  LEFT JOIN (SELECT p.entry_id,
                    string_agg(concat_ws(':', a.book, a.chart_code, a.unit, a.holder, a.component,
                                         p.side, p.amount, coalesce(p.line_ref, '')), ';' ORDER BY p.id) AS legs
               FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
              GROUP BY p.entry_id) pc ON pc.entry_id = e.id
"""

_CHAIN_SQL = f"""
SELECT s.seq, s.entry_id, s.book, s.fiscal_year, s.voucher_no, s.content_digest, s.prev_hash, s.hash,
       s.sealed_at, e.created_at, e.id IS NOT NULL AS has_entry,
       sha256(convert_to(c.canonical, 'UTF8')) AS digest
  FROM fl.seal s
  LEFT JOIN fl.entry e ON e.id = s.entry_id
  LEFT JOIN ({CANONICAL_SQL}) c ON c.entry_id = s.entry_id
 ORDER BY s.seq
"""

_VOUCHER = "s.book || '/' || s.fiscal_year || '-' || lpad(s.voucher_no::text, 6, '0')"


# ---- the set-based checks -----------------------------------------------------------

@dataclass(frozen=True)
class Query:
    sql: str
    message: Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    counts: str                      # key into the counts query: what "checked" counts
    queries: tuple[Query, ...]


def _fen(v: Any) -> str:
    return format_yuan(int(v or 0))


_COUNTS_SQL = """
SELECT (SELECT count(*) FROM fl.entry) AS entries,
       (SELECT count(*) FROM fl.posting) AS postings,
       (SELECT count(*) FROM fl.account) AS accounts,
       (SELECT count(*) FROM fl.account_day) AS account_days,
       (SELECT count(*) FROM fl.bank_account) AS bank_accounts,
       (SELECT count(*) FROM fl.seal) AS seals,
       (SELECT count(*) FROM fl.entry WHERE reverses IS NOT NULL) AS reversals,
       (SELECT count(*) FROM fl.fund_request) AS requests,
       (SELECT count(*) FROM fl.request_event) AS request_events
"""

CHECKS: tuple[Check, ...] = (
    Check("entry_balanced", "every entry has >= 2 postings and balances per (book, unit, component)", "entries", (
        Query("""
          SELECT e.id AS entry_id, count(p.id) AS n, s.book, s.fiscal_year, s.voucher_no
            FROM fl.entry e LEFT JOIN fl.posting p ON p.entry_id = e.id LEFT JOIN fl.seal s ON s.entry_id = e.id
           GROUP BY e.id, s.book, s.fiscal_year, s.voucher_no HAVING count(p.id) < 2""",
              lambda r: f"has {r['n']} posting(s); an entry needs at least two"),
        Query("""
          SELECT l.*, s.book, s.fiscal_year, s.voucher_no FROM (
            SELECT p.entry_id, e.book AS ebook, a.unit, a.component,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr
              FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.entry e ON e.id = p.entry_id
             GROUP BY p.entry_id, e.book, a.unit, a.component) l
            LEFT JOIN fl.seal s ON s.entry_id = l.entry_id
           WHERE l.dr <> l.cr""",
              lambda r: f"debits {_fen(r['dr'])} ≠ credits {_fen(r['cr'])} for book {r['ebook']}, unit {r['unit']}"
                        + (f", component {r['component']}" if r["component"] else "")),
    )),
    Check("posting_copies", "each posting's entry and account exist, its date is its entry's, its unit its "
          "account's, its account in its entry's book", "postings", (
        Query("""
          SELECT p.id AS posting_id, p.entry_id, e.id IS NULL AS no_entry, a.id IS NULL AS no_account,
                 p.entry_date AS pdate, e.entry_date AS edate, p.unit AS punit, a.unit AS aunit,
                 a.book AS abook, e.book AS ebook, s.book, s.fiscal_year, s.voucher_no
            FROM fl.posting p LEFT JOIN fl.entry e ON e.id = p.entry_id
            LEFT JOIN fl.account a ON a.id = p.account_id LEFT JOIN fl.seal s ON s.entry_id = p.entry_id
           WHERE e.id IS NULL OR a.id IS NULL OR p.entry_date <> e.entry_date OR p.unit <> a.unit
              OR a.book <> e.book""",
              lambda r: f"posting {r['posting_id']}: " + (
                  "its entry does not exist" if r["no_entry"] else
                  "its account does not exist" if r["no_account"] else
                  f"dated {r['pdate']} but its entry is dated {r['edate']}" if r["pdate"] != r["edate"] else
                  f"carries unit {r['punit']} but its account belongs to {r['aunit']}" if r["punit"] != r["aunit"] else
                  f"its account is in book {r['abook']}, its entry in book {r['ebook']}")),
    )),
    Check("vouchers", "one seal per entry; seals numbered 1..n without gaps in commit order; voucher numbers "
          "gapless 1..n per (book, year), increasing in commit order; counters equal the last number", "seals", (
        Query(f"""
          WITH s AS (SELECT s.*, row_number() OVER (ORDER BY s.seq) AS pos,
                            row_number() OVER (PARTITION BY s.book, s.fiscal_year ORDER BY s.seq) AS vpos
                       FROM fl.seal s)
          SELECT coalesce(s.entry_id, e.id) AS entry_id, s.entry_id IS NULL AS unsealed, e.id IS NULL AS orphan,
                 s.seq, s.pos, s.voucher_no, s.vpos, s.book, s.fiscal_year, e.book AS ebook,
                 extract(year FROM e.entry_date)::int AS eyear, {_VOUCHER} AS label
            FROM s FULL JOIN fl.entry e ON e.id = s.entry_id
           WHERE s.entry_id IS NULL OR e.id IS NULL OR s.seq <> s.pos OR s.voucher_no <> s.vpos
              OR s.book <> e.book OR s.fiscal_year <> extract(year FROM e.entry_date)""",
              lambda r: "the entry has no seal (no voucher number, not in the hash chain)" if r["unsealed"] else
                        "a seal for an entry that does not exist (the entry was deleted)" if r["orphan"] else
                        f"seal sequence {r['seq']} where {r['pos']} was expected (a seal is missing or was renumbered)"
                        if r["seq"] != r["pos"] else
                        f"voucher {r['label']} sits at position {r['vpos']} of {r['book']}/{r['fiscal_year']} in commit "
                        f"order (numbers missing, duplicated or reordered)" if r["voucher_no"] != r["vpos"] else
                        f"sealed as {r['book']}/{r['fiscal_year']} but the entry is {r['ebook']} dated {r['eyear']}"),
        Query("""
          SELECT coalesce(vc.book, x.book) AS book, coalesce(vc.fiscal_year, x.fiscal_year) AS fiscal_year,
                 vc.last_no, x.n
            FROM fl.voucher_counter vc
            FULL JOIN (SELECT book, fiscal_year, max(voucher_no) AS n FROM fl.seal GROUP BY 1, 2) x
              ON x.book = vc.book AND x.fiscal_year = vc.fiscal_year
           WHERE vc.last_no IS DISTINCT FROM x.n""",
              lambda r: f"voucher counter of {r['book']}/{r['fiscal_year']} says {r['last_no']}, "
                        f"the last sealed voucher is {r['n']}"),
    )),
    Check("account_balances", "fl.account debits, credits and balance equal the sums of its postings", "accounts", (
        Query("""
          SELECT coalesce(a.id, t.account_id) AS account_id, a.id IS NULL AS missing,
                 a.debits, a.credits, a.balance, coalesce(t.dr, 0) AS dr, coalesce(t.cr, 0) AS cr,
                 concat_ws(':', a.book, a.chart_code, a.unit, nullif(a.holder, ''), nullif(a.component, '')) AS label
            FROM fl.account a
            FULL JOIN (SELECT account_id, sum(amount) FILTER (WHERE side = 'D') AS dr,
                              sum(amount) FILTER (WHERE side = 'C') AS cr
                         FROM fl.posting GROUP BY account_id) t ON t.account_id = a.id
           WHERE a.id IS NULL OR a.debits <> coalesce(t.dr, 0) OR a.credits <> coalesce(t.cr, 0)
              OR a.balance <> coalesce(t.dr, 0) - coalesce(t.cr, 0)""",
              lambda r: "postings refer to this account but it does not exist" if r["missing"] else
                        f"{r['label']}: maintained balance {_fen(r['balance'])} (debits {_fen(r['debits'])}, credits "
                        f"{_fen(r['credits'])}); its postings sum to {_fen(r['dr'] - r['cr'])} (debits {_fen(r['dr'])}, "
                        f"credits {_fen(r['cr'])})"),
    )),
    Check("account_days", "fl.account_day equals the daily sums of postings", "account_days", (
        Query("""
          SELECT coalesce(d.account_id, t.account_id) AS account_id, coalesce(d.day, t.entry_date) AS day,
                 coalesce(d.debits, 0) AS debits, coalesce(d.credits, 0) AS credits,
                 coalesce(t.dr, 0) AS dr, coalesce(t.cr, 0) AS cr
            FROM fl.account_day d
            FULL JOIN (SELECT account_id, entry_date, sum(amount) FILTER (WHERE side = 'D') AS dr,
                              sum(amount) FILTER (WHERE side = 'C') AS cr
                         FROM fl.posting GROUP BY account_id, entry_date) t
              ON t.account_id = d.account_id AND t.entry_date = d.day
           WHERE coalesce(d.debits, 0) <> coalesce(t.dr, 0) OR coalesce(d.credits, 0) <> coalesce(t.cr, 0)""",
              lambda r: f"{r['day']}: daily movement says debits {_fen(r['debits'])}, credits {_fen(r['credits'])}; "
                        f"postings say {_fen(r['dr'])}, {_fen(r['cr'])}"),
    )),
    Check("bank_balances", "each physical bank account's balance equals the sum of its ledger accounts' postings, "
          "and 0 <= reserved <= that balance", "bank_accounts", (
        Query("""
          SELECT b.id AS bank_id, b.book, b.holder, b.unit, b.balance, b.reserved, coalesce(t.s, 0) AS actual
            FROM fl.bank_account b
            LEFT JOIN (SELECT a.bank_account_id, sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS s
                         FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
                        WHERE a.bank_account_id IS NOT NULL GROUP BY 1) t ON t.bank_account_id = b.id
           WHERE b.balance <> coalesce(t.s, 0) OR b.reserved < 0 OR b.reserved > coalesce(t.s, 0)""",
              lambda r: (f"maintained balance {_fen(r['balance'])} but postings sum to {_fen(r['actual'])}"
                         if r["balance"] != r["actual"] else
                         f"reserved {_fen(r['reserved'])} is outside 0..{_fen(r['actual'])} (the balance)")),
    )),
    Check("no_overdraft", "no physical bank account was ever below zero (running balance after each committed "
          "transaction, in seal order)", "bank_accounts", (
        Query("""
          WITH t AS (
            SELECT a.bank_account_id AS bank_id, e.created_xid, min(s.seq) AS seq,
                   sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS delta
              FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
              JOIN fl.entry e ON e.id = p.entry_id JOIN fl.seal s ON s.entry_id = p.entry_id
             WHERE a.bank_account_id IS NOT NULL
             GROUP BY a.bank_account_id, e.created_xid),
          r AS (SELECT bank_id, seq, sum(delta) OVER (PARTITION BY bank_id ORDER BY seq) AS running FROM t),
          neg AS (SELECT DISTINCT ON (bank_id) bank_id, seq, running FROM r WHERE running < 0 ORDER BY bank_id, seq)
          SELECT neg.*, s.entry_id, s.book, s.fiscal_year, s.voucher_no, b.holder, b.unit AS bank_unit
            FROM neg JOIN fl.seal s ON s.seq = neg.seq JOIN fl.bank_account b ON b.id = neg.bank_id""",
              lambda r: f"the {r['holder']} account ({r['book']}{', unit ' + r['bank_unit'] if r['bank_unit'] else ''}) "
                        f"fell to {_fen(r['running'])} with this entry's transaction"),
    )),
    Check("closed_periods", "no entry was written into a month after that month was closed", "entries", (
        Query("""
          SELECT e.id AS entry_id, e.entry_date, e.created_at, c.month, c.closed_at, c.closed_by,
                 s.book, s.fiscal_year, s.voucher_no
            FROM fl.entry e JOIN fl.closed_period c ON c.month = date_trunc('month', e.entry_date)::date
            LEFT JOIN fl.seal s ON s.entry_id = e.id
           WHERE e.created_at > c.closed_at""",
              lambda r: f"dated {r['entry_date']} but written at {r['created_at']:%Y-%m-%d %H:%M:%S}, after "
                        f"{r['month']:%Y-%m} was closed by {r['closed_by']} at {r['closed_at']:%Y-%m-%d %H:%M:%S}"),
    )),
    Check("reversals", "each reversal points at one earlier entry of its book, reverses it alone and mirrors it "
          "exactly (same accounts and amounts, sides swapped)", "reversals", (
        Query("""
          SELECT e.id AS entry_id, e.reverses, o.id IS NULL AS missing, o.book AS obook, e.book AS ebook,
                 (SELECT count(*) FROM fl.entry x WHERE x.reverses = e.reverses) AS times,
                 s.book, s.fiscal_year, s.voucher_no
            FROM fl.entry e LEFT JOIN fl.entry o ON o.id = e.reverses LEFT JOIN fl.seal s ON s.entry_id = e.id
           WHERE e.reverses IS NOT NULL
             AND (o.id IS NULL OR o.book <> e.book OR e.reverses >= e.id
                  OR (SELECT count(*) FROM fl.entry x WHERE x.reverses = e.reverses) > 1)""",
              lambda r: f"reverses entry {r['reverses']}, which does not exist" if r["missing"] else
                        f"entry {r['reverses']} is reversed {r['times']} times" if r["times"] > 1 else
                        f"reverses entry {r['reverses']} of book {r['obook']} from book {r['ebook']}"
                        if r["obook"] != r["ebook"] else f"reverses a later entry ({r['reverses']})"),
        Query("""
          WITH r AS (SELECT id, reverses FROM fl.entry WHERE reverses IS NOT NULL),
          o AS (SELECT r.id AS rid, p.account_id, CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END AS side, p.amount,
                       count(*) AS n
                  FROM r JOIN fl.posting p ON p.entry_id = r.reverses GROUP BY 1, 2, 3, 4),
          m AS (SELECT r.id AS rid, p.account_id, p.side::text AS side, p.amount, count(*) AS n
                  FROM r JOIN fl.posting p ON p.entry_id = r.id GROUP BY 1, 2, 3, 4),
          bad AS (SELECT DISTINCT coalesce(o.rid, m.rid) AS rid
                    FROM o FULL JOIN m ON m.rid = o.rid AND m.account_id = o.account_id AND m.side = o.side
                                      AND m.amount = o.amount
                   WHERE o.n IS DISTINCT FROM m.n)
          SELECT e.id AS entry_id, e.reverses, s.book, s.fiscal_year, s.voucher_no
            FROM bad JOIN fl.entry e ON e.id = bad.rid LEFT JOIN fl.seal s ON s.entry_id = e.id""",
              lambda r: f"does not exactly mirror entry {r['reverses']}, which it claims to reverse"),
    )),
    Check("requests", "every fund request's history follows the request workflow (ledger.core.requests), ends in "
          "its current state, and its approver is not its submitter", "requests", (
        Query("""
          WITH t AS (SELECT * FROM unnest(%(t_from)s::text[], %(t_action)s::text[], %(t_to)s::text[])
                       AS t(from_state, action, to_state)),
          ev AS (SELECT re.id, re.request_id, re.action, re.from_state, re.to_state, re.actor,
                        lag(re.to_state) OVER w AS prev_to
                   FROM fl.request_event re WINDOW w AS (PARTITION BY re.request_id ORDER BY re.at, re.id))
          SELECT ev.* FROM ev
            LEFT JOIN t ON t.from_state IS NOT DISTINCT FROM ev.from_state AND t.action = ev.action
                       AND t.to_state = ev.to_state
           WHERE t.action IS NULL OR ev.from_state IS DISTINCT FROM ev.prev_to""",
              lambda r: f"event {r['id']} ({r['action']} by {r['actor']}): "
                        + (f"{r['from_state'] or 'nothing'} → {r['to_state']} by '{r['action']}' is not a legal move"
                           if r["from_state"] == r["prev_to"] else
                           f"starts from {r['from_state'] or 'nothing'} but the request was "
                           f"{r['prev_to'] or 'not yet submitted'}")),
        Query("""
          WITH last AS (SELECT DISTINCT ON (request_id) request_id, to_state FROM fl.request_event
                         ORDER BY request_id, at DESC, id DESC),
          sub AS (SELECT DISTINCT ON (request_id) request_id, actor FROM fl.request_event WHERE action = 'submit'
                   ORDER BY request_id, at, id),
          appr AS (SELECT request_id, string_agg(DISTINCT actor, ',') AS actors FROM fl.request_event
                    WHERE action = 'approve' GROUP BY request_id)
          SELECT r.id AS request_id, r.state, last.to_state AS last_state, r.submitted_by, r.approved_by,
                 sub.actor AS sub_actor, appr.actors AS approvers
            FROM fl.fund_request r LEFT JOIN last ON last.request_id = r.id
            LEFT JOIN sub ON sub.request_id = r.id LEFT JOIN appr ON appr.request_id = r.id
           WHERE last.to_state IS DISTINCT FROM r.state
              OR r.approved_by = r.submitted_by
              OR r.submitted_by = ANY (string_to_array(appr.actors, ','))
              OR sub.actor = ANY (string_to_array(appr.actors, ','))
              OR sub.actor IS DISTINCT FROM r.submitted_by""",
              lambda r: "; ".join(_request_problems(r))),
    )),
)


def _request_problems(r: dict[str, Any]) -> list[str]:
    out = []
    if r["state"] != r["last_state"]:
        out.append(f"is {r['state']} but its history ends in {r['last_state'] or 'nothing'}")
    approvers = set((r["approvers"] or "").split(",")) - {""} | ({r["approved_by"]} if r["approved_by"] else set())
    submitters = {x for x in (r["submitted_by"], r["sub_actor"]) if x}
    if approvers & submitters:
        out.append(f"submitted by {', '.join(sorted(submitters))} and approved by {', '.join(sorted(approvers))}: "
                   "the approver must not be the submitter")
    if r["sub_actor"] != r["submitted_by"]:
        out.append(f"the request says it was submitted by {r['submitted_by']}, its history by {r['sub_actor']}")
    return out


def _transition_arrays() -> dict[str, list[str | None]]:
    rows: list[tuple[str | None, str, str]] = [(None, "submit", "submitted")]
    rows += [(str(s), str(a), str(t)) for (s, a), t in TRANSITIONS.items()]
    return {"t_from": [r[0] for r in rows], "t_action": [r[1] for r in rows], "t_to": [r[2] for r in rows]}


def _finding(check: str, row: dict[str, Any], message: str) -> Finding:
    account = row.get("label") if "account_id" in row and row.get("label") else None
    if account is None and row.get("account_id") is not None:
        account = f"#{row['account_id']}"
    if row.get("bank_id") is not None:
        account = f"bank #{row['bank_id']} {row.get('holder') or ''}".strip()
        if row.get("bank_unit") or row.get("unit"):
            account += f":{row.get('bank_unit') or row.get('unit')}"
    return Finding(check, message, entry_id=row.get("entry_id"),
                   voucher=voucher_label(row.get("book"), row.get("fiscal_year"), row.get("voucher_no")),
                   request_id=row.get("request_id"), account=account)


def run_check(conn: Conn, check: Check, checked: int, cap: int = FINDINGS_CAP) -> CheckResult:
    findings: list[Finding] = []
    params = _transition_arrays()
    for q in check.queries:
        sql = f"SELECT * FROM ({q.sql}) f LIMIT {cap + 1}"
        rows = conn.execute(sql, params if "%(t_from)s" in q.sql else None).fetchall()
        findings += [_finding(check.name, r, q.message(r)) for r in rows]
    return result(check.name, check.description, checked, findings, cap)


# ---- the hash chain ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChainRow:
    """One sealed entry as stored, with its content digest recomputed from raw rows and
    the from-scratch chain hash up to and including it."""

    seq: int
    entry_id: int
    book: str
    fiscal_year: int
    voucher_no: int
    stored_digest: bytes
    stored_prev: bytes
    stored_hash: bytes
    digest: bytes | None        # recomputed; None when the entry or all its postings are gone
    scratch_hash: bytes         # sha256 chain recomputed from the first entry
    has_entry: bool
    created_at: Any
    sealed_at: Any

    @property
    def voucher(self) -> str | None:
        return voucher_label(self.book, self.fiscal_year, self.voucher_no)


def link(prev: bytes, digest: bytes, voucher_no: int) -> bytes:
    """One chain link, as fl.seal_transaction computes it: sha256(prev || digest || voucher number text)."""
    return hashlib.sha256(prev + digest + str(voucher_no).encode()).digest()


def scan_chain(conn: Conn, batch: int = CHAIN_BATCH) -> Iterator[ChainRow]:
    """Stream every seal in sequence order with recomputed digests and chain (server-side cursor)."""
    h = GENESIS
    with conn.cursor(name="fl_verify_chain", row_factory=dict_row) as cur:
        cur.itersize = batch
        cur.execute(_CHAIN_SQL)
        for r in cur:
            digest = bytes(r["digest"]) if r["digest"] is not None else None
            h = link(h, digest if digest is not None else b"", r["voucher_no"])
            yield ChainRow(r["seq"], r["entry_id"], r["book"], r["fiscal_year"], r["voucher_no"],
                           bytes(r["content_digest"]), bytes(r["prev_hash"]), bytes(r["hash"]), digest, h,
                           r["has_entry"], r["created_at"], r["sealed_at"])


def check_chain(rows: Iterator[ChainRow], head: dict[str, Any] | None, cap: int = FINDINGS_CAP,
                on_row: Callable[[ChainRow], None] | None = None) -> CheckResult:
    """Each entry's content digest recomputed equals the sealed one; each link's prev is the
    previous link and its hash is sha256(prev || digest || voucher). After a break the scan
    resynchronises on the stored hash, so every separate tampering is named once."""
    findings: list[Finding] = []
    prev_stored = GENESIS
    n = 0
    last: ChainRow | None = None

    def add(r: ChainRow, message: str) -> None:
        findings.append(Finding("hash_chain", message, entry_id=r.entry_id, voucher=r.voucher))

    for r in rows:
        n += 1
        if on_row is not None:
            on_row(r)
        if not r.has_entry:
            add(r, f"seal {r.seq} belongs to an entry that no longer exists")
        elif r.digest is None:
            add(r, "the entry has no postings left; its sealed content cannot be reproduced")
        elif r.digest != r.stored_digest:
            add(r, "content differs from what was sealed (memo, date, key, accounts, sides, amounts or "
                   "references were edited, or postings added or removed)")
        if r.stored_prev != prev_stored:
            add(r, f"chain link {r.seq} does not follow link {r.seq - 1} (entries were reordered, removed or inserted)")
        if r.stored_hash != link(r.stored_prev, r.digest if r.digest is not None else r.stored_digest, r.voucher_no):
            add(r, "the sealed hash does not match its content and voucher number (voucher renumbered or hash forged)")
        if r.has_entry and r.created_at is not None and r.sealed_at is not None and r.created_at > r.sealed_at:
            add(r, f"sealed at {r.sealed_at:%Y-%m-%d %H:%M:%S}, before it was created ({r.created_at:%Y-%m-%d %H:%M:%S})")
        if last is not None and r.sealed_at is not None and last.sealed_at is not None \
                and r.sealed_at < last.sealed_at - SEAL_CLOCK_SLACK:
            add(r, f"sealed at {r.sealed_at:%Y-%m-%d %H:%M:%S}, before the entry ahead of it in the chain "
                   f"({last.sealed_at:%Y-%m-%d %H:%M:%S}): inserted out of order with forged times")
        prev_stored = r.stored_hash
        last = r
    if head is not None:
        want_seq = last.seq if last else 0
        want_hash = last.stored_hash if last else GENESIS
        if head["seq"] != want_seq or bytes(head["hash"]) != want_hash:
            findings.append(Finding("hash_chain", f"the chain head says seq {head['seq']} "
                                    f"{bytes(head['hash']).hex()[:16]}…, the last seal is seq {want_seq} "
                                    f"{want_hash.hex()[:16]}… (entries appended or removed outside the seal)",
                                    entry_id=last.entry_id if last else None, voucher=last.voucher if last else None))
    return result("hash_chain", "the SHA-256 chain recomputed from the first entry: every entry's content and "
                  "voucher number as sealed, every link in order, the head at the last link", n, findings, cap)


# ---- running it all --------------------------------------------------------------------

def snapshot(conn: Conn) -> None:
    """Begin one REPEATABLE READ, READ ONLY transaction (the caller ends it)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    conn.execute("SET LOCAL TimeZone = 'UTC'")


def require_reader(conn: Conn) -> None:
    """Verify reads every unit's rows: an officer (row security) would see a partial ledger."""
    r = conn.execute("""SELECT u.role FROM fl.app_user u WHERE u.name = session_user""").fetchone()
    if r is not None and r["role"] in ("officer", "admin"):
        raise PermissionDenied(f"verify reads every unit's books, which the {r['role']} role cannot see: "
                               "run it as an auditor (or a reviewer or finance user)")


def verify(conn: Conn, *, only: Sequence[str] | None = None, cap: int = FINDINGS_CAP) -> VerifyReport:
    """Run every check (or those named in ``only``) on one snapshot; never writes."""
    saved = conn.isolation_level, conn.read_only
    snapshot(conn)
    try:
        require_reader(conn)
        counts = conn.execute(_COUNTS_SQL).fetchone()
        assert counts is not None
        results = [run_check(conn, c, int(counts[c.counts]), cap) for c in CHECKS if not only or c.name in only]
        if not only or "hash_chain" in only:
            head = conn.execute("SELECT seq, hash FROM fl.chain_head").fetchone()
            results.append(check_chain(scan_chain(conn), head, cap))
        extra = {"entries": int(counts["entries"]), "postings": int(counts["postings"])}
    finally:
        conn.rollback()
        conn.isolation_level, conn.read_only = saved
    return VerifyReport(tuple(results), extra)


def check_names() -> list[str]:
    return [c.name for c in CHECKS] + ["hash_chain"]
