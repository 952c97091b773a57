"""The hash chain, recomputed from raw rows: set-based for ``verify``, streamed for digests.

Every link is independently recomputable: its content digest is sha256 of the entry's
canonical text (rebuilt from ``fl.entry`` and its postings), its hash is
sha256(prev_hash || digest || voucher number as text), and its prev_hash must equal the
previous seal's stored hash. So ``verify`` checks the whole chain in one set-based query
(a window ``lag()`` for the previous link) that returns only the suspect links, and the
same Python rules then name what is wrong with each: the database does the per-entry
work, the rules stay in one place, and nothing proportional to the ledger reaches Python.

``audit digest`` / ``check-digest`` need the from-scratch chain at checkpoints, so they
still stream every seal in order (``scan_chain``) through a server-side cursor.

The canonical text is reimplemented here, inline, rather than calling
``fl.entry_canonical``: verify must not depend on a function the database owner could
replace. tests/integration/test_verify.py checks the two agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from ledger.core.findings import FINDINGS_CAP, CheckResult, Finding, result, said, voucher_label
from ledger.store.db import Conn

CHAIN_PARTS = 8             # entry-id ranges the set-based chain check is cut into
CHAIN_BATCH = 20_000        # rows fetched per round trip by the streamed chain scan
GENESIS = bytes(32)
# Seals are written under the chain-head lock with clock_timestamp(), so sealed_at rises
# with seq; allow this much for the server clock being stepped back (NTP).
SEAL_CLOCK_SLACK = dt.timedelta(minutes=5)

CHAIN_NAME = "hash_chain"
CHAIN_DESCRIPTION = ("the SHA-256 chain recomputed from the first entry: every entry's content and voucher number "
                     "as sealed, every link in order, the head at the last link")

# One leg per posting: its account's fields, side, amount and reference, exactly as
# fl.entry_canonical prints them with concat_ws(':', ...). The account part is built once
# per account (a few hundred rows), not once per posting; every field is NOT NULL, so
# concat_ws and || give the same text.
_LEGS_SQL = """
SELECT p.entry_id,
       string_agg(((SELECT jsonb_object_agg(a.id::text, concat_ws(':', a.book, a.chart_code, a.unit, a.holder,
                                                                   a.component) || ':') FROM ONLY fl.account a)
                   ->> p.account_id::text) || p.side || ':' || p.amount || ':' || coalesce(p.line_ref, ''),
                  ';' ORDER BY p.id) AS legs
  FROM ONLY fl.posting p
 GROUP BY p.entry_id
"""

_ENTRY_TEXT = ("concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''), "
               "e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))")

# The canonical text of every entry, set-based: exactly what fl.entry_canonical(id) returns.
CANONICAL_SQL = f"""
SELECT e.id AS entry_id, {_ENTRY_TEXT} || '#' || pc.legs AS canonical
  FROM ONLY fl.entry e
  LEFT JOIN ({_LEGS_SQL}) pc ON pc.entry_id = e.id
"""

# Entries queued for sealing (committed while another commit held the chain head): each
# one's digest recomputed from its rows with the same legs as the chain check, beside the
# digest its commit stored; only mismatches come back. The queue is short: its entries
# and postings are fetched by key (= ANY), never by a scan of the journal.
_QUEUED_IDS = "ANY (ARRAY(SELECT entry_id FROM ONLY fl.seal_queue))"
_QUEUED_LEGS_SQL = _LEGS_SQL.replace(" GROUP BY", f" WHERE p.entry_id = {_QUEUED_IDS}\n GROUP BY")
QUEUED_SQL = f"""
SELECT q.entry_id, q.book AS qbook, q.fiscal_year AS qyear, e.id IS NOT NULL AS has_entry, e.book,
       extract(year FROM e.entry_date)::int AS year
  FROM ONLY fl.seal_queue q
  LEFT JOIN (SELECT * FROM ONLY fl.entry WHERE id = {_QUEUED_IDS}) e ON e.id = q.entry_id
  LEFT JOIN ({_QUEUED_LEGS_SQL}) pc ON pc.entry_id = q.entry_id
 WHERE e.id IS NULL OR q.book <> e.book OR q.fiscal_year <> extract(year FROM e.entry_date)
    OR sha256(convert_to({_ENTRY_TEXT} || '#' || pc.legs, 'UTF8')) IS DISTINCT FROM q.content_digest
"""

# OFFSET 0 keeps the digest computed per seal before any sort by seq: flattened, the
# planner would sort the whole canonical text of every entry instead of 32 bytes.
_LINKS_SQL = f"""
SELECT * FROM (
SELECT s.seq, s.entry_id, s.book, s.fiscal_year, s.voucher_no, s.content_digest, s.prev_hash, s.hash,
       s.sealed_at, e.created_at, e.id IS NOT NULL AS has_entry,
       sha256(convert_to({_ENTRY_TEXT} || '#' || pc.legs, 'UTF8')) AS digest
  FROM ONLY fl.seal s
  LEFT JOIN ONLY fl.entry e ON e.id = s.entry_id
  LEFT JOIN ({_LEGS_SQL}) pc ON pc.entry_id = s.entry_id
OFFSET 0) links
"""

# Streamed, in chain order (audit digests).
_CHAIN_SQL = _LINKS_SQL + " ORDER BY seq"

_RANGE_LEGS_SQL = _LEGS_SQL.replace(" GROUP BY", " WHERE p.entry_id >= %(lo)s AND p.entry_id < %(hi)s\n GROUP BY")

# Set-based (verify), one range of entry ids at a time: every seal of the range beside the
# seal before it in chain order (the window runs over all seals, a few bytes each, before
# the range is cut), its digest recomputed from that range's postings only (an index
# range scan, in entry order). Only links that break one of link_problems' rules come
# back; the WHERE is the same rules written in SQL, so a clean ledger returns nothing.
_SUSPECT_LINKS_SQL = f"""
SELECT * FROM (
  SELECT s.seq, s.entry_id, s.book, s.fiscal_year, s.voucher_no, s.content_digest, s.prev_hash, s.hash,
         s.sealed_at, s.prev_stored, s.prev_sealed_at, e.created_at, e.id IS NOT NULL AS has_entry,
         sha256(convert_to({_ENTRY_TEXT} || '#' || pc.legs, 'UTF8')) AS digest
    FROM (SELECT s.*, lag(s.hash, 1, '\\x{GENESIS.hex()}'::bytea) OVER w AS prev_stored,
                 lag(s.sealed_at) OVER w AS prev_sealed_at
            FROM ONLY fl.seal s WINDOW w AS (ORDER BY s.seq)) s
    LEFT JOIN ONLY fl.entry e ON e.id = s.entry_id
    LEFT JOIN ({_RANGE_LEGS_SQL}) pc
      ON pc.entry_id = s.entry_id
   WHERE s.entry_id >= %(lo)s AND s.entry_id < %(hi)s
  OFFSET 0) c
 WHERE NOT c.has_entry OR c.digest IS NULL OR c.digest <> c.content_digest OR c.prev_hash <> c.prev_stored
    OR c.hash <> sha256(c.prev_hash || coalesce(c.digest, c.content_digest) || convert_to(c.voucher_no::text, 'UTF8'))
    OR c.created_at > c.sealed_at
    OR c.sealed_at < c.prev_sealed_at - make_interval(secs => %(slack)s)
 ORDER BY c.seq
 LIMIT %(limit)s
"""

_LAST_SEAL_SQL = """
SELECT seq, entry_id, book, fiscal_year, voucher_no, hash FROM ONLY fl.seal ORDER BY seq DESC LIMIT 1
"""


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
    scratch_hash: bytes         # sha256 chain recomputed from the first entry (streamed scans only)
    has_entry: bool
    created_at: Any
    sealed_at: Any

    @property
    def voucher(self) -> str | None:
        return voucher_label(self.book, self.fiscal_year, self.voucher_no)


def link(prev: bytes, digest: bytes, voucher_no: int) -> bytes:
    """One chain link, as fl.seal_transaction computes it: sha256(prev || digest || voucher number text)."""
    return hashlib.sha256(prev + digest + str(voucher_no).encode()).digest()


def _chain_row(r: dict[str, Any], scratch: bytes) -> ChainRow:
    digest = bytes(r["digest"]) if r["digest"] is not None else None
    return ChainRow(r["seq"], r["entry_id"], r["book"], r["fiscal_year"], r["voucher_no"],
                    bytes(r["content_digest"]), bytes(r["prev_hash"]), bytes(r["hash"]), digest, scratch,
                    r["has_entry"], r["created_at"], r["sealed_at"])


def scan_chain(conn: Conn, batch: int = CHAIN_BATCH) -> Iterator[ChainRow]:
    """Stream every seal in sequence order with recomputed digests and chain (server-side cursor)."""
    h = GENESIS
    with conn.cursor(name="fl_verify_chain", row_factory=dict_row) as cur:
        cur.itersize = batch
        cur.execute(_CHAIN_SQL)
        for r in cur:
            h = link(h, bytes(r["digest"]) if r["digest"] is not None else b"", r["voucher_no"])
            yield _chain_row(r, h)


def link_problems(r: ChainRow, prev_stored: bytes, prev_sealed_at: Any) -> list[str]:
    """What is wrong with one link, given the stored hash and seal time of the link before
    it. After a break the chain resynchronises on the stored hash, so every separate
    tampering is named once."""
    out: list[str] = []
    if not r.has_entry:
        out.append(said("seal {seq} belongs to an entry that no longer exists", seq=r.seq))
    elif r.digest is None:
        out.append(said("the entry has no postings left; its sealed content cannot be reproduced"))
    elif r.digest != r.stored_digest:
        out.append(said("content differs from what was sealed (memo, date, key, accounts, sides, amounts or "
                        "references were edited, or postings added or removed)"))
    if r.stored_prev != prev_stored:
        out.append(said("chain link {seq} does not follow link {value} (entries were reordered, removed or "
                        "inserted)", seq=r.seq, value=r.seq - 1))
    if r.stored_hash != link(r.stored_prev, r.digest if r.digest is not None else r.stored_digest, r.voucher_no):
        out.append(said("the sealed hash does not match its content and voucher number (voucher renumbered or "
                        "hash forged)"))
    if r.has_entry and r.created_at is not None and r.sealed_at is not None and r.created_at > r.sealed_at:
        out.append(said("sealed at {sealed_at:%Y-%m-%d %H:%M:%S}, before it was created ({created_at:%Y-%m-%d "
                        "%H:%M:%S})", sealed_at=r.sealed_at, created_at=r.created_at))
    if prev_sealed_at is not None and r.sealed_at is not None and r.sealed_at < prev_sealed_at - SEAL_CLOCK_SLACK:
        out.append(said("sealed at {sealed_at:%Y-%m-%d %H:%M:%S}, before the entry ahead of it in the chain "
                        "({prev_sealed_at:%Y-%m-%d %H:%M:%S}): inserted out of order with forged times", sealed_at=r.sealed_at, prev_sealed_at=prev_sealed_at))
    return out


def _head_finding(head: dict[str, Any] | None, last: dict[str, Any] | None) -> Finding | None:
    """The chain head must name the last seal (entries appended or removed outside the seal)."""
    if head is None:
        return None
    want_seq = int(last["seq"]) if last else 0
    want_hash = bytes(last["hash"]) if last else GENESIS
    if head["seq"] == want_seq and bytes(head["hash"]) == want_hash:
        return None
    voucher = voucher_label(last["book"], last["fiscal_year"], last["voucher_no"]) if last else None
    return Finding(CHAIN_NAME, said("the chain head says seq {seq} {value}…, the last seal is seq {want_seq} {value2}… "
                                    "(entries appended or removed outside the seal)", seq=head['seq'], value=bytes(head['hash']).hex()[:16], want_seq=want_seq, value2=want_hash.hex()[:16]),
                   entry_id=last["entry_id"] if last else None, voucher=voucher)


def check_chain(rows: Iterator[ChainRow], head: dict[str, Any] | None, cap: int = FINDINGS_CAP,
                on_row: Callable[[ChainRow], None] | None = None) -> CheckResult:
    """The chain check over streamed rows (audit digests, which need every row anyway)."""
    findings: list[Finding] = []
    prev_stored, prev_sealed_at = GENESIS, None
    n = 0
    last: ChainRow | None = None
    for r in rows:
        n += 1
        if on_row is not None:
            on_row(r)
        findings += [Finding(CHAIN_NAME, m, entry_id=r.entry_id, voucher=r.voucher)
                     for m in link_problems(r, prev_stored, prev_sealed_at)]
        prev_stored, prev_sealed_at, last = r.stored_hash, r.sealed_at, r
    tail = None if last is None else {"seq": last.seq, "hash": last.stored_hash, "entry_id": last.entry_id,
                                      "book": last.book, "fiscal_year": last.fiscal_year,
                                      "voucher_no": last.voucher_no}
    bad_head = _head_finding(head, tail)
    return result(CHAIN_NAME, CHAIN_DESCRIPTION, n, findings + ([bad_head] if bad_head else []), cap)


class ChainJob:
    """The set-based chain check, cut into ranges of entry ids that any session on the
    same snapshot may take, so two sessions share it (the digests dominate verify's
    time). Each range is one query; suspect links come back, at most ``cap`` + 1 per
    range, and are named in chain order at the end."""

    def __init__(self, conn: Conn, head: dict[str, Any] | None, seals: int, cap: int = FINDINGS_CAP,
                 parts: int = CHAIN_PARTS) -> None:
        self.head, self.seals, self.cap = head, seals, cap
        row = conn.execute("SELECT min(entry_id) AS lo, max(entry_id) AS hi FROM ONLY fl.seal").fetchone()
        lo, hi = (int(row["lo"]), int(row["hi"]) + 1) if row and row["lo"] is not None else (0, 0)
        step = max(1, -(-(hi - lo) // parts))
        self._ranges = iter([(a, min(a + step, hi)) for a in range(lo, hi, step)])
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []

    def _take(self) -> tuple[int, int] | None:
        with self._lock:
            return next(self._ranges, None)

    def work(self, conn: Conn) -> None:
        """Check ranges on ``conn`` until none is left."""
        while (r := self._take()) is not None:
            rows = conn.execute(_SUSPECT_LINKS_SQL, {"lo": r[0], "hi": r[1], "limit": self.cap + 1,
                                                     "slack": SEAL_CLOCK_SLACK.total_seconds()}).fetchall()
            with self._lock:
                self._rows += rows

    def result(self, conn: Conn) -> CheckResult:
        """The check's result once every range is done (``conn``: any session of the snapshot)."""
        findings: list[Finding] = []
        for r in sorted(self._rows, key=lambda r: r["seq"]):
            row = _chain_row(r, b"")
            findings += [Finding(CHAIN_NAME, m, entry_id=row.entry_id, voucher=row.voucher)
                         for m in link_problems(row, bytes(r["prev_stored"]), r["prev_sealed_at"])]
        bad_head = _head_finding(self.head, conn.execute(_LAST_SEAL_SQL).fetchone())
        return result(CHAIN_NAME, CHAIN_DESCRIPTION, self.seals, findings + ([bad_head] if bad_head else []),
                      self.cap)


def verify_chain(conn: Conn, head: dict[str, Any] | None, seals: int, cap: int = FINDINGS_CAP) -> CheckResult:
    """The chain check set-based, in one session: every digest and link recomputed on the
    server; memory and round trips stay constant whatever the ledger's size."""
    job = ChainJob(conn, head, seals, cap)
    job.work(conn)
    return job.result(conn)
