"""The independent verdict, online: raw rows from a pinned session, judged in Python.

The session is pinned before anything is read, whatever the role or the database were
set up to do: ``search_path = pg_catalog`` (``pg_temp`` is never searched for the
functions and operators the queries use, and every relation is qualified), DateStyle
ISO, TimeZone UTC, IntervalStyle postgres, extra_float_digits 3, bytea_output hex,
client_encoding UTF8, no timeouts, and the rest of ledger.store.verify_session.PINNED,
each read back before a row is — one REPEATABLE READ, READ ONLY snapshot. The queries only select columns (``COPY
(SELECT cols FROM ONLY fl.t) TO STDOUT`` in CSV) — the postings grouped per entry by built-in
aggregates that only concatenate (``ENTRY_GROUPS_SQL``), read by two sessions of one
exported snapshot side by side: no server function computes a digest, a sum or a
comparison the verdict depends on. ledger.core.proof does all of that with hashlib and
Python integers, the same code that verifies an export with no database (``verify
--offline``, which streams the postings one by one).

Speed: per posting the server concatenates and Python splits and parses an integer; the
digest is one ``sha256`` per entry and each sum one ``sum(map(int, …))`` per account and
side. See docs/benchmarks.md (5b) for postings/s at scale.

Before the rows are trusted the catalogue is checked (ledger.store.verify_catalogue):
relation kinds, row policies, triggers, rules and function definitions against the
fingerprint the release ships, role and database settings, preloaded libraries. A
policy that hides rows from the auditor shows twice: as a policy the release does not
have, and as fewer seals visible than the chain head counts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import multiprocessing
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel, generators, sql
from psycopg.rows import dict_row

from ledger.core import bank_refs, histories, proof, queued, rules
from ledger.core.findings import FINDINGS_CAP, Finding, VerifyReport, result
from ledger.errors import StateError
from ledger.store import verify_actors, verify_records, verify_rules, verify_session
from ledger.store.db import Conn
from ledger.store.verify import _second_session, require_reader, second_session_pays
from ledger.store.verify_catalogue import check_catalogue, check_settings
from ledger.store.verify_chain import ChainRow

T = TypeVar("T")

COPY_CHUNK_LINES = 50_000

# The postings, one row per entry (columns proof.GROUP_COLS), for one range of entry ids.
# The server only groups and concatenates: the legs of the canonical text in posting id
# order with the account's id where its prefix goes, the ``account|unit|side`` keys and
# the amounts in the same (key) order, the first and last posting date, the memos, the
# longest line reference's length (0107). Each
# digest, sum and comparison is made in Python (proof.Proof.grouped).
ENTRY_GROUPS_SQL = """
SELECT p.entry_id, pg_catalog.count(*),
       pg_catalog.string_agg(pg_catalog.concat_ws(':', p.account_id, p.side, p.amount,
                                                  coalesce(p.line_ref, '')), ';' ORDER BY p.id),
       pg_catalog.string_agg(pg_catalog.concat_ws('|', p.account_id, coalesce(p.unit, ''), p.side), ','
                             ORDER BY p.id),
       pg_catalog.string_agg(p.amount::pg_catalog.text, ',' ORDER BY p.id),
       pg_catalog.min(p.entry_date), pg_catalog.max(p.entry_date),
       pg_catalog.json_object_agg(p.id, p.memo) FILTER (WHERE p.memo <> ''),
       pg_catalog.max(pg_catalog.length(p.line_ref))
  FROM ONLY fl.posting p
 WHERE {where}
 GROUP BY p.entry_id"""
# Ranges per session: enough that two sessions finish together.
GROUP_RANGES = 24


def pin(conn: Conn, snapshot: str | None = None) -> None:
    """Begin the verifier's snapshot (REPEATABLE READ, READ ONLY) with every setting
    that decides how a value prints pinned, whatever the role or database set.
    ``snapshot``: one another pinned session exported, so both read the same rows."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    if snapshot is not None:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    verify_session.pin(conn, snapshot_imported=snapshot is not None)


def select_sql(table: str, where: str = "", order: bool = True) -> str:
    cols = ", ".join(f"t.{c}" for c in proof.TABLES[table])
    order_by = f" ORDER BY {', '.join('t.' + c.strip() for c in proof.ORDER_BY[table].split(','))}" if order else ""
    return f"SELECT {cols} FROM ONLY fl.{table} t{where}{order_by}"


def _copy_blocks(conn: Conn, query: str) -> Iterator[bytes]:
    """The data of ``COPY (query) TO STDOUT`` in blocks of whole messages. PostgreSQL sends
    a message per row; psycopg's ``Copy.read`` hands over one at a time, each through its
    generator and wait loop: ~0.7 µs of the client a row, half of ``copy_rows``' time on
    the history's or the import lines' short rows (2026-12-07). Here every message libpq
    already holds is taken at once (``get_copy_data`` without waiting) and joined; only
    when it holds none does psycopg's own read wait for the next one (or see the end). The
    end, when libpq already holds it, is taken here: the COPY's result fetched and checked
    as psycopg's ``copy_from`` does, so the session is ready for the next statement."""
    with conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT") as cp:
        pgconn = conn.pgconn
        get = pgconn.get_copy_data
        while True:
            got = []
            n, data = get(1)
            while n > 0:
                got.append(data)
                n, data = get(1)
            if got:
                yield b"".join(got)
            if n < 0:                     # the end (or an error) arrived with the rows
                results = conn.wait(generators.fetch_many(pgconn))
                if len(results) != 1:
                    raise psycopg.ProgrammingError("you cannot mix COPY with other operations")
                if results[0].status != psycopg.pq.ExecStatus.COMMAND_OK:
                    raise psycopg.errors.error_from_result(results[0], encoding=conn.info.encoding)
                return
            chunk = cp.read()             # none held: psycopg waits for the next (b"" at the end)
            if not chunk:
                return
            yield bytes(chunk)


def copy_rows(conn: Conn, query: str) -> Iterator[list[str]]:
    """Rows of ``query`` as PostgreSQL prints them, through COPY in its text format: a
    raw newline only ever ends a row and a tab only ever ends a field (both are escaped
    inside a value), so each chunk of whole rows is decoded once and cut with
    ``str.split`` — no parser per character (the CSV reader this replaced cost more
    client time than the server's work on the history's long jsonb texts). A field with
    a backslash has its escapes undone; NULL (``\\N``) reads as the empty string, as an
    unquoted empty CSV field did (no canonical text tells the two apart). A value may be
    as long as PostgreSQL stores it (ATTACK3 R10: no field size limit)."""
    rest = b""
    for chunk in _copy_blocks(conn, query):
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if not cut:
            continue
        lines = data[:cut - 1].decode("utf-8").split("\n")
        for line in lines:
            if "\\" not in line:
                yield line.split("\t")
            elif "\\" not in line.replace("\\\\", ""):    # only escaped backslashes (a bytea's \\x, a
                yield line.replace("\\\\", "\\").split("\t")    # JSON escape): undone in one pass
            else:
                yield [_text_field(f) for f in line.split("\t")]
    if rest:
        yield [_text_field(f) for f in rest.decode("utf-8").split("\t")]


_UNESCAPE_STR = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_ESCAPED_STR = re.compile(r"\\(.)")


def _text_field(f: str) -> str:
    """One field of COPY's text format as text: ``\\N`` (NULL) is ``""``; escapes undone."""
    if "\\" not in f:
        return f
    if f == "\\N":
        return ""
    return _ESCAPED_STR.sub(lambda m: _UNESCAPE_STR.get(m.group(1), m.group(1)), f)


_UNESCAPE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v", b"\\": b"\\"}
_ESCAPED = re.compile(rb"\\(.)")


def _field(f: bytes) -> bytes | None:
    """One field of COPY's text format: ``\\N`` is NULL; backslash escapes undone."""
    if b"\\" not in f:
        return f
    if f == b"\\N":
        return None
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), f)


def copy_text(conn: Conn, query: str) -> Iterator[list[bytes | None]]:
    """Rows of ``query`` through COPY in its text format, as bytes: a raw newline only ever
    ends a row (a newline inside a value is escaped), so rows are split with
    ``bytes.split`` and fields with ``split(b"\\t")``, no parser per character."""
    rest = b""
    for chunk in _copy_blocks(conn, query):
        data = rest + chunk
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            if b"\\" in line:
                yield [_field(f) for f in line.split(b"\t")]
            else:
                yield line.split(b"\t")  # type: ignore[misc]
    if rest:
        yield [_field(f) for f in rest.split(b"\t")]


def read_table(conn: Conn, table: str) -> list[list[str]] | Iterator[list[str]]:
    """A table's rows for proof.run: the postings (physical order: no sort of the largest
    table; see proof.Proof.redo), the entries and the seals streamed — each is consumed at once, and
    a whole-table list of either would grow with the ledger; the small tables listed
    (proof.run reads them together before judging them)."""
    if table == "posting":
        return copy_rows(conn, select_sql("posting", order=False))
    if table in ("entry", "seal"):
        # The seals too (one per entry): proof.Proof.finish reads them last, in one pass,
        # once the other small tables are listed (one COPY at a time on this session).
        return copy_rows(conn, select_sql(table))
    return list(copy_rows(conn, select_sql(table)))


def entry_ranges(ids: Sequence[int], parts: int) -> list[tuple[int | None, int | None]]:
    """``parts`` ranges [lo, hi) of entry ids covering every id there is, the first and last
    open (a posting whose entry is gone still falls in one)."""
    ids = sorted(ids)
    cuts = sorted({ids[len(ids) * k // parts] for k in range(1, parts)}) if ids else []
    bounds: list[int | None] = [None, *cuts, None]
    return list(itertools.pairwise(bounds))


def _bounds(col: str, lo: int | None, hi: int | None) -> str:
    conds = ([f"{col} >= {int(lo)}"] if lo is not None else []) + ([f"{col} < {int(hi)}"] if hi is not None else [])
    return " AND ".join(conds) or "true"


def _range_sql(lo: int | None, hi: int | None) -> str:
    return ENTRY_GROUPS_SQL.format(where=_bounds("p.entry_id", lo, hi))


# The columns of an entry's canonical head (proof.entry_text), the first nine of proof.TABLES["entry"].
HEAD_COLS = proof.TABLES["entry"][:9]


def range_heads(c: Conn, lo: int | None, hi: int | None) -> dict[int, bytes]:
    """The canonical heads (proof.entry_text, UTF-8) of the entries with ids in [lo, hi), read
    on session ``c`` of the verdict's snapshot as that range's postings are about to be: the
    entries keep none between (proof._Entries.keep), and each is checked against its first
    read before it is used. One range's, never the table's."""
    cols = ", ".join(f"t.{col}" for col in HEAD_COLS)
    query = f"SELECT {cols} FROM ONLY fl.entry t WHERE {_bounds('t.id', lo, hi)}"
    return {int(r[0]): proof.entry_text(r).encode() for r in copy_rows(c, query)}


class GroupedReader:
    """Reads the grouped postings in ranges, from this session and (when the server takes
    one more) a second session of the same login on the same exported snapshot: two
    backends group while Python judges. Where the OS can fork, the second session lives
    in a forked child that judges its ranges itself and sends back what they contribute
    (``proof.Partial``): the judging, which holds the GIL, then runs on two cores too.
    Elsewhere, or when the child cannot connect, a thread or this session does it.

    The work is a list of jobs taken one at a time from a shared counter by whichever
    session is free: first the ``side`` jobs (reads whose result is small and picklable:
    the held lines' digests), then the ranges. This session first runs ``first`` (the
    chained histories: about as much server work as the postings themselves), so the
    other session reads the side jobs and postings meanwhile and both end together.
    ``results``: each side job's result by name.

    A ledger of fewer than ``verify.SECOND_SESSION_FROM`` entries is read on this session
    alone, in one range: a second backend and a forked child would cost it more than they
    take off.

    Each range's entries' canonical heads are read with its postings (``range_heads``), so
    the verdict keeps none for the whole ledger (``reads_heads``; proof.run)."""

    reads_heads = True

    def __init__(self, conn: Conn, fork: bool = True, side: dict[str, Callable[[Conn], Any]] | None = None) -> None:
        self.conn = conn
        self.sessions = 1
        self.fork = fork and hasattr(os, "fork")
        self.processes = 1
        self.side = dict(side or {})
        self.results: dict[str, Any] = {}

    def __call__(self, p: proof.Proof, first: Callable[[], None] = lambda: None) -> list[proof.Partial]:
        alone = not second_session_pays(len(p.entries))
        ranges = entry_ranges(list(p.entries), 1 if alone else GROUP_RANGES)
        names = list(self.side)

        def job(c: Conn, i: int) -> tuple[str, Any]:
            """Job ``i`` on session ``c``: ("side", (name, result)) or ("part", Partial)."""
            if i < len(names):
                return "side", (names[i], self.side[names[i]](c))
            lo, hi = ranges[i - len(names)]
            heads = None if p.entries.keep else range_heads(c, lo, hi)
            return "part", p.grouped(copy_text(c, _range_sql(lo, hi)), heads)

        jobs = len(names) + len(ranges)
        done = (self._threaded(job, jobs, first, peer=False) if alone else
                self._forked(job, jobs, first) if self.fork and len(ranges) > 1 else
                self._threaded(job, jobs, first))
        parts: list[proof.Partial] = []
        for i in range(jobs):
            kind, value = done[i]
            if kind == "side":
                self.results[value[0]] = value[1]
            else:
                parts.append(value)
        return parts

    def _threaded(self, job: Callable[[Conn, int], tuple[str, Any]], jobs: int,
                  first: Callable[[], None], peer: bool = True) -> dict[int, tuple[str, Any]]:
        """The jobs on this session and (``peer``, when the server takes one more session) on
        a second one, in a thread."""
        todo = iter(range(jobs))
        lock = threading.Lock()
        done: dict[int, tuple[str, Any]] = {}

        def work(c: Conn) -> None:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                out = job(c, i)
                with lock:
                    done[i] = out

        other = _second_session(self.conn) if peer else None
        try:
            if other is not None:
                row = self.conn.execute("SELECT pg_catalog.pg_export_snapshot() AS id").fetchone()
                assert row is not None
                pin(other, row["id"])
                self.sessions = 2
            with ThreadPoolExecutor(max_workers=1) as pool:
                helper = pool.submit(work, other) if other is not None else None
                first()
                work(self.conn)
                if helper is not None:
                    helper.result()
        finally:
            if other is not None:
                other.close()
        return done

    def _forked(self, job: Callable[[Conn, int], tuple[str, Any]], jobs: int,
                first: Callable[[], None]) -> dict[int, tuple[str, Any]]:
        row = self.conn.execute("SELECT pg_catalog.pg_export_snapshot() AS id").fetchone()
        assert row is not None
        snapshot = row["id"]
        params = {o.keyword.decode(): o.val.decode() for o in self.conn.pgconn.info if o.val is not None}
        counter = multiprocessing.Value("l", 0)     # the next job to take, shared across the fork

        def take() -> int | None:
            with counter.get_lock():
                i = int(counter.value)
                counter.value = i + 1
            return i if i < jobs else None

        r_end, w_end = multiprocessing.Pipe(duplex=False)
        with warnings.catch_warnings():
            # 3.12+ warns on fork with other threads alive: the child takes no lock the
            # parent's threads could hold (it only connects, reads and pickles).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:                                  # the child: its own session, never the parent's
            r_end.close()
            try:
                c = psycopg.connect(psycopg.conninfo.make_conninfo(**params), row_factory=dict_row)
                pin(c, snapshot)
                while (i := take()) is not None:
                    w_end.send((i, job(c, i)))
                w_end.send(None)
            except BaseException as e:     # reported: the parent judges what is left
                with contextlib.suppress(BaseException):
                    w_end.send(("error", repr(e)))
            finally:
                os._exit(0)                           # no finalizer may touch the parent's connection
        w_end.close()
        got: dict[int, tuple[str, Any]] = {}
        failed: list[str] = []

        def receive() -> None:
            with contextlib.suppress(EOFError):
                while (msg := r_end.recv()) is not None:
                    if msg[0] == "error":
                        failed.append(msg[1])
                        return
                    got[msg[0]] = msg[1]

        mine: dict[int, tuple[str, Any]] = {}
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                waiter = pool.submit(receive)
                first()
                while (i := take()) is not None:
                    mine[i] = job(self.conn, i)
                waiter.result()
        finally:
            r_end.close()
            os.waitpid(pid, 0)
        # A job the child took but never sent (it failed) is done here.
        for i in range(jobs):
            if i not in mine and i not in got:
                mine[i] = job(self.conn, i)
        if got and not failed:
            self.sessions, self.processes = 2, 2
        return {**got, **mine}


def _digests_of(c: Conn, *, table: str, key_cols: list[str]) -> verify_records.RowsDigest:
    """A side job of ``GroupedReader``: one hooked table's rows reduced to one digest
    (``verify_records.RowsDigest``), on session ``c``: 40 bytes sent back, not a digest per
    row; only a table that differs from its history is read again (``TablesPart.finish``)."""
    return verify_records.rows_digest(c, copy_rows, table, key_cols)


_HEX = ("prev_hash", "hash", "vseal")


def stream_histories(conn: Conn) -> tuple[Iterator[list[str]], list[list[str]]]:
    """fl.record_head, and fl.record_log in id order (streamed: read it before anything
    else is read on this session), with each version's own seal where the schema has it
    (sql/0023)."""
    head = list(copy_rows(conn, "SELECT t.seq, t.hash FROM ONLY fl.record_head t"))
    sealed = conn.execute("""SELECT pg_catalog.count(*) = 2 AS ok FROM pg_catalog.pg_attribute a
                              WHERE a.attrelid = 'fl.record_log'::pg_catalog.regclass AND NOT a.attisdropped
                                AND a.attname = ANY (%s::text[])""", (list(histories.SEAL_COLS),)).fetchone()
    names = histories.RECORD_COLS + (histories.SEAL_COLS if sealed and sealed["ok"] else ())
    # The hashes as bare hex (histories reads either form): bytea's own "\\x" prefix puts a
    # backslash, escaped, in every row COPY prints, and each row with one is copied twice
    # more to be unescaped (``copy_rows``) — ~0.3 s of the 1M-posting history's 0.9.
    cols = ", ".join(f"pg_catalog.encode(t.{c}, 'hex')" if c in _HEX else
                     f"t.{c}" + ("::text" if c in ("row_key", "row_data", "vxid") else "") for c in names)
    return copy_rows(conn, f"SELECT {cols} FROM ONLY fl.record_log t ORDER BY t.id"), head


def read_histories(conn: Conn) -> tuple[list[list[str]], list[list[str]]]:
    """fl.record_log (in id order) and fl.record_head."""
    log, head = stream_histories(conn)
    return list(log), head


def verify_independent(conn: Conn, *, cap: int = FINDINGS_CAP,
                       fingerprint: dict[str, dict[str, str]] | None = None, grouped: bool = True,
                       fork: bool = True) -> VerifyReport:
    """The verdict computed in Python from the raw rows of one pinned snapshot, after the
    catalogue and settings checks. Never writes. ``grouped=False`` streams every posting
    (the path ``verify --offline`` takes; the tests compare both); ``fork=False`` judges
    the second session's ranges in a thread instead of a forked child."""
    return independent_run(conn, cap=cap, fingerprint=fingerprint, grouped=grouped, fork=fork)[0]


def chain_rows(conn: Conn, p: proof.Proof) -> Iterator[ChainRow]:
    """Every seal in chain order, each with the digest the verdict computed for its entry
    (hashlib, ``p``) and the chain recomputed from the first seal: what ``audit digest``
    files and ``check-digest`` compares, with no digest computed by the server."""
    h = proof.GENESIS
    for s in copy_rows(conn, select_sql("seal")):
        eid, vno = int(s[1]), int(s[4])
        e = p.entries.get(eid)
        digest = e.digest if e is not None else None
        h = proof.link(h, digest if digest is not None else b"", vno)
        yield ChainRow(int(s[0]), eid, s[2], int(s[3]), vno, proof.unhex(s[5]), proof.unhex(s[6]),
                       proof.unhex(s[7]), digest, h, e is not None,
                       dt.datetime.fromisoformat(e.created_at) if e is not None else None,
                       dt.datetime.fromisoformat(s[8]))


def chain_head(conn: Conn) -> dict[str, Any] | None:
    """fl.chain_head as {seq, hash}, read in the pinned session."""
    rows = list(copy_rows(conn, select_sql("chain_head")))
    return {"seq": int(rows[0][0]), "hash": proof.unhex(rows[0][1])} if len(rows) == 1 else None


def independent_run(conn: Conn, *, cap: int = FINDINGS_CAP, fingerprint: dict[str, dict[str, str]] | None = None,
                    grouped: bool = True, fork: bool = True,
                    then: Callable[[Conn, proof.Proof], T] | None = None) -> tuple[VerifyReport, T | None]:
    """``verify_independent``, and ``then(conn, proof)`` run in the same snapshot once the
    verdict is in (``audit digest`` / ``check-digest`` read the chain there)."""
    saved = conn.isolation_level, conn.read_only
    t0 = time.perf_counter()
    timings: list[dict[str, Any]] = []

    def step(name: str, since: float) -> float:
        now = time.perf_counter()
        timings.append({"step": name, "seconds": round(now - since, 3)})
        return now

    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()          # a caller's failed or open transaction is not the verifier's
    require_reader(conn)         # before any lock: an officer hears why, not "permission denied"
    pin(conn)
    reader = GroupedReader(conn, fork=fork)
    try:
        return _judged(conn, reader, cap, fingerprint, grouped, then, step, t0, timings, saved)
    except UNJUDGEABLE as e:
        # A value no fundledger writes (a number past any float, a key of the wrong type, a
        # document nested past the parser's depth) stopped a check: the verdict is "not
        # whole", named, never a traceback and never silence (ATTACK10 X14). A digest is
        # not filed or compared on such a ledger.
        conn.rollback()
        conn.isolation_level, conn.read_only = saved
        if then is not None:
            raise StateError(UNJUDGED.format(error=_what(e))) from None
        bad = result("readable", "every row the verdict reads is one fundledger could have written", 0,
                     [Finding("readable", UNJUDGED.format(error=_what(e)))], cap)
        return VerifyReport((bad,), {"independent": True, "seconds": round(time.perf_counter() - t0, 3)}), None


UNJUDGEABLE = (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)
UNJUDGED = ("the verdict could not judge the ledger's rows ({error}): the database holds a value no fundledger "
            "command writes (a number past any float, a field of the wrong type, a document nested too deeply), "
            "so the books are not proven whole; find the row with the auditors' guide's raw queries and report it")


def _what(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def _judged(conn: Conn, reader: GroupedReader, cap: int, fingerprint: dict[str, dict[str, str]] | None,
            grouped: bool, then: Callable[[Conn, proof.Proof], T] | None, step: Callable[[str, float], float],
            t0: float, timings: list[dict[str, Any]], saved: tuple[Any, Any]) -> tuple[VerifyReport, T | None]:
    after: T | None = None
    try:
        require_reader(conn)
        keys, unreadable = verify_records.hooked(conn)
        later = verify_records.by_digest(keys, unreadable)
        # A side job's one digest can only equal the history's own for a table the scan keeps
        # as digests (histories.DIGESTED; ``verify_records.matches``): any other table's rows
        # were read there and then read again in ``TablesPart.finish`` — each of them twice a
        # verdict (the upgraded demo's 78,000 import lines: 1.2 of its 6 CPU-s). They are
        # read once, there.
        for table in later:
            if table in histories.DIGESTED:
                reader.side[table] = functools.partial(_digests_of, table=table, key_cols=keys[table])
        t = time.perf_counter()
        catalogue = (check_catalogue(conn, fingerprint, cap), check_settings(conn, cap))
        t = step("catalogue", t)

        def redo(ids: Sequence[int]) -> Iterator[list[str]]:
            arr = "{" + ",".join(str(int(i)) for i in ids) + "}"
            return copy_rows(conn, select_sql("posting", f" WHERE t.entry_id = ANY ('{arr}'::bigint[])"))

        got: dict[str, Any] = {}

        def first(q: proof.Proof) -> None:
            """The chained histories, on this session (while the other reads postings):
            the history scanned and chained, every hooked table compared with it."""
            t1 = time.perf_counter()
            log, head = stream_histories(conn)
            # The held entries' latest versions are not kept as text: the actors check judges
            # each as it streams past in its own read (verify_actors.check, ``recorded``).
            hist = histories.scan_full(log, head, cap, digested=[t for t in histories.DIGESTED if t in later],
                                       project=False)
            histories.judge_deferred(hist, functools.partial(verify_records.versions, conn, copy_rows), cap)
            q.closes_sealed_by = histories.closes_sealed_by(hist.latest, hist.first)
            q.entry_versions = hist.first.get("fl.entry") or {}
            q.queued_judge = queued.Judge(hist.latest)     # fed the seals as the proof streams them (X9)
            got["hist"] = hist
            got["tables"] = verify_records.independent_tables(conn, copy_rows, hist.latest, cap, hist.changes,
                                                              later=later)
            step("histories (beside the postings)", t1)

        api_rules = verify_rules.start(conn, copy_rows, cap)     # the API's rules (ATTACK7 U1a, U3)
        wanted: list[Any] = []

        def legs_sink(ids: Sequence[int], keys: Sequence[tuple[bytes, ...]]) -> None:
            """The rules' legs of the entries the grouped postings judged, from the keys those
            rows already carry: the server does not group every wanted entry's postings a
            second time (``verify_rules.LEGS_SQL``, ~0.45 CPU-s of the server per million
            postings). Called once the entries have streamed, when the wanted ones are known."""
            if not wanted:
                wanted.append(api_rules.wanted_ids())
            api_rules.grouped_legs(ids, keys, wanted[0])

        rep, p = proof.run(rules.tee(api_rules, lambda table: read_table(conn, table)), redo, catalogue, cap,
                           grouped=reader if grouped else None, first=first,
                           component_days_after=api_rules.point("component_days"),
                           closed_prefix_after=api_rules.point("closed_prefix"),
                           unit_joined_after=api_rules.point("unit_joined"),
                           first_day_joined_after=api_rules.recorded_point("first_day_joined"),
                           unit_joined_required_after=api_rules.point("unit_joined_required"),
                           legs_sink=legs_sink)
        t = step("rows", t)
        hist, tables = got["hist"], got["tables"]
        api_rules.placed(hist.first)        # the duty rules bind by the history's order (ATTACK10 X1)
        api_rules.settings_history(hist.settings)   # the funding standards' versions (0150)
        api_rules.written(hist.entry_writers)   # who inserted each entry (ATTACK10 X10)
        api_rules.sealed(p.seq_of, p.queued_judge.rec if p.queued_judge is not None else None)   # W6's marks
        unchained = hist.unchained
        loose = histories.not_evidence(hist)
        hist_checks = (hist.chain, queued.merged(tables.finish(conn, copy_rows, hist.latest, p.memos, cap,
                                                               reader.results, hist.digested),
                                                 p.queued_judge, p.queue_rows, cap), tables.links,
                       verify_actors.check(conn, copy_rows, hist.latest, cap,
                                           hist.digested.get("fl.pending_entry")),
                       bank_refs.check(hist.latest, p.acct.values(), cap),       # ATTACK9 W1
                       *verify_rules.finish(conn, copy_rows, api_rules))
        step("posting memos", t)
        if then is not None:
            after = then(conn, p)
    finally:
        conn.rollback()
        conn.isolation_level, conn.read_only = saved
    rep = VerifyReport((*rep.checks, *hist_checks), rep.extra)
    extra = {**rep.extra, "independent": True, "history_unchained": unchained,
             # (ATTACK11 Y5) committed, not chained yet: not evidence until a digest filed after them
             "history_unchained_versions": loose, "seconds": round(time.perf_counter() - t0, 3), "timings": timings,
             "sessions": reader.sessions, "processes": reader.processes}
    return VerifyReport(rep.checks, extra), after
