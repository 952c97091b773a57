"""Posting, reversing and reading journal entries. Every write goes through the
SECURITY DEFINER functions of sql/0002_api.sql; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.entries import EntryDraft, account_key
from ledger.errors import NotFound
from ledger.store.db import Conn, run_tx


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


HELD_KEYS = ["id", "kind", "book", "entry_date", "memo", "idempotency_key", "reverses", "units", "amount",
             "made_by", "made_at", "state", "decided_by", "decided_at", "decision_reason", "entry_id"]


def held(conn: Conn, *, state: str | None = "held", limit: int = 200) -> list[dict[str, Any]]:
    """Held entries (maker-checker) the caller may see, oldest first; ``state`` None: all."""
    return conn.execute(
        """SELECT pe.id, pe.kind, pe.book, pe.entry_date, pe.memo, pe.idempotency_key, pe.reverses, pe.units,
                  (SELECT coalesce(sum(pp.amount), 0) FROM fl.pending_posting pp
                    WHERE pp.pending_id = pe.id AND pp.side = 'D')::bigint AS amount,
                  pe.made_by, pe.made_at, pe.state, pe.decided_by, pe.decided_at, pe.decision_reason, pe.entry_id
             FROM fl.pending_entry pe
            WHERE %(state)s::text IS NULL OR pe.state = %(state)s
            ORDER BY pe.id LIMIT %(limit)s""", {"state": state, "limit": limit}).fetchall()


def held_postings(conn: Conn, held_id: int) -> list[dict[str, Any]]:
    """The postings of one held entry (an officer sees its own unit's only)."""
    rows = conn.execute(
        """SELECT pp.pos, a.book, a.chart_code, a.unit, a.holder, a.component, pp.side, pp.amount, pp.line_ref
             FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id
            WHERE pp.pending_id = %s ORDER BY pp.pos""", (held_id,)).fetchall()
    return [dict(p, account=account_key(p["book"], p["chart_code"], p["unit"], p["holder"], p["component"]))
            for p in rows]


def confirm(conn: Conn, held_id: int) -> PostResult:
    """Confirm a held entry as a second person: it is posted (voucher, key) now."""
    r = conn.execute("SELECT entry_id, status FROM fl.confirm_entry(%s)", (held_id,)).fetchone()
    assert r is not None
    key = conn.execute("SELECT idempotency_key FROM fl.pending_entry WHERE id = %s", (held_id,)).fetchone()
    return PostResult(str(key["idempotency_key"]) if key else "", r["entry_id"], r["status"], held_id)


def reject(conn: Conn, held_id: int, reason: str) -> dict[str, Any]:
    """Reject a held entry with a reason (kept, chained); it never posts."""
    r = conn.execute("SELECT id, state, decided_by, decision_reason FROM fl.reject_entry(%s, %s)",
                     (held_id, reason)).fetchone()
    assert r is not None
    return dict(r)


def seal_queued(conn: Conn) -> int:
    """Seal the entries queued in ``fl.seal_queue`` (committed while another commit held
    the chain head) and commit; returns how many. Called after each write command, so
    that what a command wrote has its voucher numbers when the command returns even
    when other writers were committing at the same moment. Nothing queued: one read."""
    def work(c: Conn) -> int:
        row = c.execute("SELECT fl.seal_pending() AS n").fetchone()
        return int(row["n"]) if row else 0
    return run_tx(conn, work)


_ENTRY_SQL = """
SELECT e.id, e.book, e.entry_date, e.memo, e.kind, e.idempotency_key, e.reverses, e.reason,
       fl.entry_source(e.id) AS source, e.created_by, e.created_at, host(e.client_addr) AS client_addr,
       s.fiscal_year, s.voucher_no, s.seq, encode(s.hash, 'hex') AS hash,
       (SELECT r.id FROM fl.entry r WHERE r.reverses = e.id) AS reversed_by
  FROM fl.entry e LEFT JOIN fl.seal s ON s.entry_id = e.id
"""


def voucher(row: dict[str, Any]) -> str | None:
    return f"{row['fiscal_year']}-{row['voucher_no']:06d}" if row.get("voucher_no") else None


def get_entry(conn: Conn, ref: str | int) -> dict[str, Any]:
    """An entry by id, by voucher (``RES/2023-000123`` or ``2023-000123`` when one book
    has it) or by idempotency key, with its postings."""
    text = str(ref).strip()
    row = None
    if text.isascii() and text.isdigit():
        row = conn.execute(_ENTRY_SQL + " WHERE e.id = %s", (int(text),)).fetchone()
    if row is None and "-" in text:
        book, _, v = text.rpartition("/")
        y, _, n = v.partition("-")
        if (y + n).isascii() and y.isdigit() and n.isdigit():
            rows = conn.execute(_ENTRY_SQL + " WHERE s.fiscal_year = %s AND s.voucher_no = %s"
                                + (" AND s.book = %s" if book else ""),
                                (int(y), int(n), book) if book else (int(y), int(n))).fetchall()
            if len(rows) == 1:
                row = rows[0]
    if row is None:
        # A key as its writer gave it: manual and reversal keys are filed under the writer's name.
        row = conn.execute(_ENTRY_SQL + """ WHERE e.idempotency_key IN (%s, 'manual:' || session_user || ':' || %s,
                                                                   'reversal:' || session_user || ':' || %s)
                                          ORDER BY e.idempotency_key = %s DESC LIMIT 1""",
                           (text, text, text, text)).fetchone()
    if row is None:
        # Another writer's manual or reversal key, as that writer gave it (one match only).
        rows = conn.execute(_ENTRY_SQL + """ WHERE e.idempotency_key ~ '^(manual|reversal):[^:]+:'
                                              AND regexp_replace(e.idempotency_key, '^(manual|reversal):[^:]+:', '') = %s
                                            LIMIT 2""", (text,)).fetchall()
        if len(rows) > 1:
            raise NotFound(f"several writers used the key '{text}': give the entry's id, its voucher or the "
                           "full key (manual:<user>:<key>)")
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no entry '{text}' (give an id, a voucher like RES/2023-000001, or an idempotency key)")
    postings = conn.execute(
        """SELECT p.id, a.book, a.chart_code, a.unit, a.holder, a.component, p.side, p.amount, p.line_ref, p.memo,
                  c.name_zh, c.name_en
             FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.chart c ON c.code = a.chart_code
            WHERE p.entry_id = %s ORDER BY p.id""", (row["id"],)).fetchall()
    out = dict(row)
    out["voucher"] = voucher(row)
    out["postings"] = [dict(p, account=account_key(p["book"], p["chart_code"], p["unit"], p["holder"], p["component"]))
                       for p in postings]
    return out


def journal(conn: Conn, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
            unit: str | None = None, book: str | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
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
      SELECT e.id, e.book, e.entry_date, e.memo, e.kind, e.idempotency_key, e.reverses, e.created_by,
             s.fiscal_year, s.voucher_no,
             (SELECT sum(p.amount) FROM fl.posting p WHERE p.entry_id = e.id AND p.side = 'D') AS amount,
             (SELECT string_agg(DISTINCT p.unit, ',') FROM fl.posting p WHERE p.entry_id = e.id) AS units
        FROM fl.entry e LEFT JOIN fl.seal s ON s.entry_id = e.id
       WHERE {' AND '.join(where)}
       ORDER BY e.entry_date, s.seq NULLS LAST, e.id
       LIMIT %s OFFSET %s"""
    rows = conn.execute(sql, [*args, limit, offset]).fetchall()
    for r in rows:
        r["voucher"] = voucher(r)
        r["amount"] = int(r["amount"] or 0)
    return rows
