"""The ``actors`` check of the independent verdict, online: the history versions of the
tables it judges (ledger.core.actors), read in the verdict's pinned snapshot.

Only those tables' versions are read (the history's index on (tbl, row_key) finds them), so
the cost grows with requests, held entries, closes and imports — not with entries or
postings. Their integrity is the ``history_chain`` check's: each version read here is one
that check recomputed (same snapshot)."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ledger.core import actors, histories, jsonfast
from ledger.core.findings import CheckResult
from ledger.store.db import Conn

CopyRows = Callable[[Conn, str], Iterator[list[str]]]


def versions_sql(lo: int | None = None, hi: int | None = None) -> str:
    """The watched tables' versions in id order; ``lo``/``hi``: only ids in [lo, hi)."""
    # The hashes (unread here) as bare hex: no escaped backslash in every row (verify_independent._HEX).
    cols = ", ".join(f"pg_catalog.encode(t.{c}, 'hex')" if c in ("prev_hash", "hash") else
                     f"t.{c}" + ("::pg_catalog.text" if c in ("row_key", "row_data") else "")
                     for c in histories.RECORD_COLS)
    tables = "{" + ",".join(actors.watched()) + "}"
    bounds = ((f" AND t.id OPERATOR(pg_catalog.>=) {int(lo)}" if lo is not None else "")
              + (f" AND t.id OPERATOR(pg_catalog.<) {int(hi)}" if hi is not None else ""))
    return (f"SELECT {cols} FROM ONLY fl.record_log t WHERE t.tbl OPERATOR(pg_catalog.=) ANY ('{tables}'::pg_catalog.text[])"
            f"{bounds} ORDER BY t.id")


# History ids per piece of the streamed read (``check`` with ``recorded``): the held entries
# of one piece wait for their entries to be read, so what waits is bounded by this, not by
# the ledger (about two versions in five are a held entry's).
PIECE_IDS = 2_000


def entries(conn: Conn, copy_rows: CopyRows, ids: set[int]) -> dict[int, dict[str, Any]]:
    """id -> {kind, source, reverses, entry_date} of the entries the judged rows name (by primary key), and
    of the entries that reverse them."""
    if not ids:
        return {}
    arr = "{" + ",".join(str(int(i)) for i in sorted(ids)) + "}"
    out: dict[int, dict[str, Any]] = {}
    # (ATTACK10 X12) and the entries reversing them: a reversed clearing must be undone
    for r in copy_rows(conn, f"SELECT t.id, t.kind, t.source::pg_catalog.text, t.reverses, t.entry_date "
                             f"FROM ONLY fl.entry t "
                             f"WHERE t.id OPERATOR(pg_catalog.=) ANY ('{arr}'::pg_catalog.int8[]) "
                             f"OR t.reverses OPERATOR(pg_catalog.=) ANY ('{arr}'::pg_catalog.int8[])"):
        src = actors.entry_source(jsonfast.loads(r[2]) if r[2] else None)
        # Kept for every confirmed held entry until the check runs: the kind and the
        # source's keys and short values interned (a maker and a checker recur everywhere).
        out[int(r[0])] = {"kind": sys.intern(r[1]), "reverses": int(r[3]) if r[3] else None,
                          "entry_date": sys.intern(r[4]), "source": {
            sys.intern(k): sys.intern(v) if isinstance(v, str) and len(v) <= 64 else v for k, v in src.items()}}
    return out


def sources(conn: Conn, copy_rows: CopyRows, ids: set[int]) -> dict[int, dict[str, Any]]:
    """id -> {source: the keys ``actors.HELD_SOURCE`` of its source} of the entries ``ids``
    (confirmed held entries' entries, one piece's: ``actors.HeldStream``)."""
    arr = "{" + ",".join(str(int(i)) for i in sorted(ids)) + "}"
    out: dict[int, dict[str, Any]] = {}
    for r in copy_rows(conn, f"SELECT t.id, t.source::pg_catalog.text FROM ONLY fl.entry t "
                             f"WHERE t.id OPERATOR(pg_catalog.=) ANY ('{arr}'::pg_catalog.int8[])"):
        src = actors.entry_source(jsonfast.loads(r[1]) if r[1] else None)
        out[int(r[0])] = {"source": {k: src[k] for k in actors.HELD_SOURCE if k in src}}
    return out


def check(conn: Conn, copy_rows: CopyRows, latest: Mapping[str, Mapping[str, str]], cap: int,
          recorded: Mapping[str, tuple[int, bytes]] | None = None) -> CheckResult:
    """``recorded`` (the held entries' latest versions as digests, ``Scan.digested``, when
    ``latest`` keeps none of their texts: histories.scan_full, ``project=False``): the held
    entries are judged as their latest versions stream past (``actors.HeldStream``), the
    versions read in pieces of ``PIECE_IDS`` history ids with the entries the confirmed ones
    name read between pieces — what is kept grows with a piece, not with the ledger."""
    named = entries(conn, copy_rows, actors.referenced_entries(latest))
    if recorded is None:
        return actors.check(copy_rows(conn, versions_sql()), latest, cap, named)
    held = actors.HeldStream(recorded, lambda ids: sources(conn, copy_rows, ids))

    def pieces() -> Iterator[list[str]]:
        # The greatest id only sizes the pieces: the first and last are open, so every
        # version is read whatever it says.
        row = conn.execute("SELECT pg_catalog.max(t.id) AS top FROM ONLY fl.record_log t").fetchone()
        top = int(row["top"]) if row is not None and row["top"] is not None else 0
        cuts: list[int | None] = list(range(PIECE_IDS, top + 1, PIECE_IDS))
        for lo, hi in itertools.pairwise([None, *cuts, None]):
            yield from copy_rows(conn, versions_sql(lo, hi))
            held.flush()          # no COPY streams now: the entries the piece's held entries name

    return actors.check(pieces(), latest, cap, named, held)
