"""Posting, reversing and reading journal entries. Every write goes through the
SECURITY DEFINER functions of sql/0002_api.sql; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ledger.core.entries import EntryDraft
from ledger.core.shapes import Fen
from ledger.errors import NotFound
from ledger.i18n import _
from ledger.store.db import Conn, run_tx
from ledger.store.rows import account_key_sql, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class PostResult:
    idempotency_key: str
    entry_id: int | None   # None while held
    status: str            # 'posted' | 'duplicate' | 'held'
    held_id: int | None = None   # the held entry (fl.pending_entry) when status is 'held'


def post(conn: Conn, drafts: Sequence[EntryDraft]) -> list[PostResult]:
    """Post entries atomically (all or none). Duplicates (same key, same content) return
    the original entry; a key reused with different content raises IdempotencyConflict.
    An entry that moves real money is held until another user confirms it (``confirm``):
    its result has status 'held' and ``held_id``."""
    docs = [d.as_doc() for d in drafts]
    rows = conn.execute("SELECT ord, entry_id, status, held_id FROM fl.post_entries(%s::jsonb)",
                        (json.dumps(docs, ensure_ascii=False),)).fetchall()
    return [PostResult(drafts[r["ord"] - 1].idempotency_key, r["entry_id"], r["status"], r["held_id"]) for r in rows]


def post_opening(conn: Conn, drafts: Sequence[EntryDraft]) -> list[PostResult]:
    """The city proper's audited opening balance (kind opening), held until finance or a
    second reviewer confirms it (sql/0017_maker_checker.sql, fl.post_opening)."""
    docs = [{k: v for k, v in d.as_doc().items() if k != "kind"} for d in drafts]
    rows = conn.execute("SELECT ord, entry_id, status, held_id FROM fl.post_opening(%s::jsonb)",
                        (json.dumps(docs, ensure_ascii=False),)).fetchall()
    return [PostResult(drafts[r["ord"] - 1].idempotency_key, r["entry_id"], r["status"], r["held_id"]) for r in rows]


def reverse(conn: Conn, entry_id: int, reason: str, on: dt.date | None, key: str) -> PostResult:
    """红字冲销: post the mirror image of ``entry_id`` pointing back at it (held for a
    second person when the entry moved real money)."""
    r = conn.execute("SELECT ord, entry_id, status, held_id FROM fl.reverse_entry(%s, %s, %s, %s)",
                     (entry_id, reason, on, key)).fetchone()
    assert r is not None
    return PostResult(key, r["entry_id"], r["status"], r["held_id"])


@dataclass(frozen=True, slots=True)
class HeldEntry:
    """An entry held for a second person (maker-checker, sql/0017): ``entry held``."""

    id: int
    kind: str
    book: str
    entry_date: dt.date
    memo: str
    idempotency_key: str
    reverses: int | None
    units: list[str] | None
    amount: Fen                 # the sum of its debits
    made_by: str
    made_at: dt.datetime
    state: str                  # held | confirmed | rejected
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    entry_id: int | None        # the posted entry once confirmed


def held(conn: Conn, *, state: str | None = "held", limit: int = 200) -> list[HeldEntry]:
    """Held entries (maker-checker) the caller may see, oldest first; ``state`` None: all."""
    return fetch_all(conn, HeldEntry,
        """SELECT pe.id, pe.kind, pe.book, pe.entry_date, pe.memo, pe.idempotency_key, pe.reverses, pe.units,
                  (SELECT coalesce(sum(pp.amount), 0) FROM fl.pending_posting pp
                    WHERE pp.pending_id = pe.id AND pp.side = 'D')::bigint AS amount,
                  pe.made_by, pe.made_at, pe.state, pe.decided_by, pe.decided_at, pe.decision_reason, pe.entry_id
             FROM fl.pending_entry pe
            WHERE %(state)s::text IS NULL OR pe.state = %(state)s
            ORDER BY pe.id LIMIT %(limit)s""", {"state": state, "limit": limit})


def confirm(conn: Conn, held_id: int) -> PostResult:
    """Confirm a held entry as a second person: it is posted (voucher, key) now."""
    r = conn.execute("SELECT entry_id, status FROM fl.confirm_entry(%s)", (held_id,)).fetchone()
    assert r is not None
    key = conn.execute("SELECT idempotency_key FROM fl.pending_entry WHERE id = %s", (held_id,)).fetchone()
    return PostResult(str(key["idempotency_key"]) if key else "", r["entry_id"], r["status"], held_id)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A held entry as its rejection left it (``entry reject``)."""

    id: int
    state: str
    decided_by: str
    decision_reason: str


def reject(conn: Conn, held_id: int, reason: str) -> Rejection:
    """Reject a held entry with a reason (kept, chained); it never posts."""
    r = fetch_one(conn, Rejection, "SELECT id, state, decided_by, decision_reason FROM fl.reject_entry(%s, %s)",
                  (held_id, reason))
    assert r is not None
    return r


def seal_queued(conn: Conn) -> int:
    """Seal the entries queued in ``fl.seal_queue`` (committed while another commit held
    the chain head) and commit; returns how many. Called after each write command, so
    that what a command wrote has its voucher numbers when the command returns even
    when other writers were committing at the same moment. Nothing queued: one read."""
    def work(c: Conn) -> int:
        row = c.execute("SELECT fl.seal_pending() AS n").fetchone()
        return int(row["n"]) if row else 0
    return run_tx(conn, work)


# The voucher number as the books print it, 2023-000123 (more digits once past 999,999);
# NULL while the entry is not sealed.
VOUCHER_SQL = ("CASE WHEN s.voucher_no > 0 THEN s.fiscal_year || '-' || "
               "lpad(s.voucher_no::text, greatest(6, length(s.voucher_no::text)), '0') END")


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One posting of an entry (``entry show``): its account, side and amount."""

    account: str                        # BOOK:CODE:UNIT[:HOLDER[:COMPONENT]]
    chart_code: str
    unit: str
    holder: str
    component: str
    side: str                           # D | C
    amount: Fen
    line_ref: str | None
    memo: str | None
    name_zh: str                        # the chart's name of the account's code
    name_en: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry (记账凭证) with its postings, who posted it from where, its seal's
    hash and its reversal links (``entry show``)."""

    id: int
    voucher: str | None                 # 2023-000123 once sealed
    book: str
    entry_date: dt.date
    memo: str
    kind: str
    idempotency_key: str
    reverses: int | None
    reversed_by: int | None
    reason: str
    created_by: str
    created_at: dt.datetime
    client_addr: str | None
    hash: str | None                    # the seal's chain hash (hex)
    postings: tuple[PostingLine, ...] = ()


_ENTRY_SQL = f"""
SELECT e.id, {VOUCHER_SQL} AS voucher, e.book, e.entry_date, e.memo, e.kind, e.idempotency_key, e.reverses,
       (SELECT r.id FROM fl.entry r WHERE r.reverses = e.id) AS reversed_by, e.reason,
       e.created_by, e.created_at, host(e.client_addr) AS client_addr, encode(s.hash, 'hex') AS hash
  FROM fl.entry e LEFT JOIN fl.seal s ON s.entry_id = e.id
"""


def get_entry(conn: Conn, ref: str | int) -> Entry:
    """An entry by id, by voucher (``RES/2023-000123`` or ``2023-000123`` when one book
    has it) or by idempotency key, with its postings."""
    text = str(ref).strip()
    row = None
    # (ATTACK20 L1) digits past a bigint id or a year are no id or voucher (and int() of
    # more than 4,300 digits is a ValueError): such a text is looked up as a key only
    if text.isascii() and text.isdigit() and len(text) <= 19:
        row = fetch_one(conn, Entry, _ENTRY_SQL + " WHERE e.id = %s", (int(text),))
    if row is None and "-" in text:
        book, _sep, v = text.rpartition("/")
        y, _sep, n = v.partition("-")
        if (y + n).isascii() and y.isdigit() and n.isdigit() and len(y) <= 4 and len(n) <= 18:
            rows = fetch_all(conn, Entry, _ENTRY_SQL + " WHERE s.fiscal_year = %s AND s.voucher_no = %s"
                             + (" AND s.book = %s" if book else ""),
                             (int(y), int(n), book) if book else (int(y), int(n)))
            if len(rows) == 1:
                row = rows[0]
    if row is None:
        # A key as its writer gave it: manual and reversal keys are filed under the writer's name.
        row = fetch_one(conn, Entry, _ENTRY_SQL + """ WHERE e.idempotency_key IN (%s, 'manual:' || session_user || ':' || %s,
                                                                   'reversal:' || session_user || ':' || %s)
                                          ORDER BY e.idempotency_key = %s DESC LIMIT 1""",
                        (text, text, text, text))
    if row is None:
        # Another writer's manual or reversal key, as that writer gave it (one match only).
        rows = fetch_all(conn, Entry, _ENTRY_SQL + """ WHERE e.idempotency_key ~ '^(manual|reversal):[^:]+:'
                                              AND regexp_replace(e.idempotency_key, '^(manual|reversal):[^:]+:', '') = %s
                                            LIMIT 2""", (text,))
        if len(rows) > 1:
            raise NotFound(_("several writers used the key '{key}': give the entry's id, its voucher or the "
                             "full key (manual:<user>:<key>)").format(key=text))
        row = rows[0] if rows else None
    if row is None:
        # (ATTACK20b M7) row security hides another unit's entries: neither "it does not exist"
        # nor a confirmation that it does
        raise NotFound(_("no entry '{ref}' that you may see: it belongs to a unit you cannot see, or there is none "
                         "(give an id, a voucher like RES/2023-000001, or an idempotency key)").format(ref=text[:80]))
    postings = fetch_all(conn, PostingLine,
        f"""SELECT {account_key_sql("a")} AS account, a.chart_code, a.unit, a.holder, a.component, p.side, p.amount,
                  p.line_ref, p.memo, c.name_zh, c.name_en
             FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.chart c ON c.code = a.chart_code
            WHERE p.entry_id = %s ORDER BY p.id""", (row.id,))
    return replace(row, postings=tuple(postings))


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One entry of the journal (序时账) with its total and the units it touches."""

    id: int
    voucher: str | None
    book: str
    entry_date: dt.date
    kind: str
    amount: Fen                         # the sum of its debits
    units: str | None                   # the units its postings touch, comma-separated
    memo: str
    idempotency_key: str
    reverses: int | None
    created_by: str


def journal(conn: Conn, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
            unit: str | None = None, book: str | None = None, limit: int = 200, offset: int = 0) -> list[JournalLine]:
    """Entries in voucher order with their totals; filters narrow by date, unit, book."""
    where: list[str] = ["true"]
    args: list[object] = []
    if date_from:
        where.append("e.entry_date >= %s")
        args.append(date_from)
    if date_to:
        where.append("e.entry_date <= %s")
        args.append(date_to)
    if book:
        where.append("e.book = %s")
        args.append(book)
    if unit:
        where.append("EXISTS (SELECT 1 FROM fl.posting pu WHERE pu.entry_id = e.id AND pu.unit = %s)")
        args.append(unit)
    sql = f"""
      SELECT e.id, {VOUCHER_SQL} AS voucher, e.book, e.entry_date, e.kind,
             (SELECT coalesce(sum(p.amount), 0) FROM fl.posting p WHERE p.entry_id = e.id AND p.side = 'D')::bigint
               AS amount,
             (SELECT string_agg(DISTINCT p.unit, ',') FROM fl.posting p WHERE p.entry_id = e.id) AS units,
             e.memo, e.idempotency_key, e.reverses, e.created_by
        FROM fl.entry e LEFT JOIN fl.seal s ON s.entry_id = e.id
       WHERE {' AND '.join(where)}
       ORDER BY e.entry_date, s.seq NULLS LAST, e.id
       LIMIT %s OFFSET %s"""
    return fetch_all(conn, JournalLine, sql, [*args, limit, offset])
