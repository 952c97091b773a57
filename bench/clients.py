"""Concurrent client processes for the single-entry and contention benchmarks.

Each client is its own OS process with its own connection (autocommit, so one call is
one round trip and one commit, synchronous_commit on), starts at the same wall-clock
instant as the others, calls one statement in a loop for a fixed time, and reports its
latencies. Deadlocks and serialization failures are retried in the client and counted:
a retry is invisible to the caller, an error that escapes is not.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pgerr

from bench.common import UNITS, expenditure_holder

RETRYABLE = (pgerr.DeadlockDetected, pgerr.SerializationFailure, pgerr.LockNotAvailable)


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a local server backend has used so far, from /proc;
    None when the server is not on this machine. Unlike wall time it hardly moves when
    other processes share the cores, so it is the figure to compare between runs."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(pids: list[int]) -> float | None:
    """CPU seconds of the given backends together; None when any is not local."""
    cpus = [backend_cpu(p) for p in pids]
    return None if any(c is None for c in cpus) else sum(c for c in cpus if c is not None)


AMOUNT = 100  # fen per transfer: 1.00 yuan


@dataclass
class Spec:
    url: str                 # as the posting user
    mode: str                # 'post' | 'direct' | 'peer' | 'simple' | 'floor'
    pattern: str             # 'spread' (own accounts per client) | 'hot' (all out of the special account)
    run: str                 # distinguishes idempotency keys between runs
    seconds: float
    date: str = "2023-06-15"
    checker_url: str | None = None   # 'post': the second person who confirms each held entry
    # 'post' and 'direct': client c posts as users[c % len(users)] (a login of the same role, its
    # name in place of url's user) instead of url's own; empty: every client is url's user.
    users: tuple[str, ...] = ()


def _as_user(url: str, user: str) -> str:
    """``url`` with another login: the part before '@' names the user (bench URLs carry no password)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}@{rest.split('@', 1)[-1]}"


def _statement(spec: Spec, client: int) -> tuple[str, Any]:
    """The SQL a client calls each time and a function giving its parameters."""
    unit = UNITS[client % len(UNITS)]
    if spec.mode == "simple":
        src = 0 if spec.pattern == "hot" else 1 + client
        dst = 100 + client
        return "SELECT public.simple_transfer(%s, %s, %s)", lambda _n: (src, dst, AMOUNT)
    if spec.mode == "peer":    # bench_peer: client c moves from its account 2c+1 to 2c+2
        return ("SELECT bench_peer.create_transfer(%s, %s, %s)",
                lambda _n: (2 * client + 1, 2 * client + 2, AMOUNT))
    if spec.mode == "floor":   # the spread pattern's entry: Dr 5001.outpatient / Cr 1004
        return ("SELECT bench_floor.post(%s, %s, %s, %s, %s, %s)",
                lambda n: (f"floor-{spec.run}-{client}-{n}", spec.date, unit, "1004", expenditure_holder(unit),
                           AMOUNT))
    if spec.mode == "direct":   # no real money, no 3xxx-5xxx: posted at once, no second person
        credit = {"account": "2001", "unit": unit, "side": "C", "amount": AMOUNT}
    elif spec.pattern == "hot":
        credit = {"account": "1003", "unit": unit, "holder": "special", "side": "C", "amount": AMOUNT}
    else:
        credit = {"account": "1004", "unit": unit, "holder": expenditure_holder(unit), "side": "C", "amount": AMOUNT}
    # An accrual on 3xxx-5xxx is held for a second person whoever makes it (0036): the direct
    # entry is a temporary payment (Dr 1101 / Cr 2001), which posts at once.
    debit = {"account": "1101" if spec.mode == "direct" else "5001.outpatient", "unit": unit, "side": "D",
             "amount": AMOUNT}

    def params(n: int) -> tuple[str]:
        return (json.dumps({"date": spec.date, "book": "RES", "memo": "bench",
                            "idempotency_key": f"{spec.run}-{client}-{n}", "postings": [debit, credit]}),)

    return "SELECT * FROM fl.post_entries(%s::jsonb)", params


def _client(spec: Spec, client: int, ready: Any, go: Any, start_at: Any, out: Any) -> None:
    sql, params = _statement(spec, client)
    lat: list[float] = []
    retries = errors = 0
    first_error = ""
    checker = (psycopg.connect(spec.checker_url, autocommit=True, prepare_threshold=1)
                if spec.mode == "post" and spec.checker_url else None)
    # The checker's backend posts the held entry: its CPU is the entry's too.
    pids = [checker.info.backend_pid] if checker is not None else []

    def call(conn: psycopg.Connection, n: int) -> None:
        rows = conn.execute(sql, params(n)).fetchall()
        # A real-money entry is held (sql/0017 maker-checker): the second person confirms it.
        held = [r[3] for r in rows if len(r) > 3 and r[2] == "held"]
        if held and spec.mode == "direct":     # it would measure a hold, not a post
            raise RuntimeError(f"the direct entry was held (held entry {held[0]}): it must post at once")
        if held and checker is not None:
            checker.execute("SELECT * FROM fl.confirm_entry(%s)", (held[0],)).fetchall()

    url = _as_user(spec.url, spec.users[client % len(spec.users)]) if spec.users else spec.url
    with psycopg.connect(url, autocommit=True, prepare_threshold=1) as conn:
        try:
            call(conn, -1)                     # warm: prepare, plan caches, account rows
        except psycopg.Error as e:             # said to the parent, which raises it
            ready.put(f"client {client}: its first call failed: {str(e).splitlines()[0]}")
            return
        pids.append(conn.info.backend_pid)
        ready.put(client)
        go.wait()
        cpu0 = _cpu(pids)
        t_end = start_at.value + spec.seconds
        n = 0
        while True:
            t0 = time.perf_counter()
            while True:
                try:
                    call(conn, n)
                    break
                except RETRYABLE:
                    retries += 1
                except psycopg.Error as e:
                    errors += 1
                    first_error = first_error or str(e).splitlines()[0]
                    break
            lat.append(time.perf_counter() - t0)
            n += 1
            if time.time() >= t_end:
                break
        finished = time.time()
        cpu1 = _cpu(pids)
    if checker is not None:
        checker.close()
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    out.put({"lat": lat, "retries": retries, "errors": errors, "first_error": first_error, "finished": finished,
             "cpu": cpu})


@dataclass
class Outcome:
    clients: int
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    retries: int
    errors: int
    first_error: str
    server_cpu_us: float | None = None   # server backend CPU per call, µs (local servers only)
    wal_bytes: float | None = None       # WAL per call (bench.single measures it around the run)
    wal_records: float | None = None

    @property
    def rate(self) -> float:
        return self.ops / self.seconds


def run(spec: Spec, clients: int) -> Outcome:
    """``clients`` processes hammering at once; entries/s over the common wall time.

    Spawned (not forked: forking a process that has run pools can deadlock), each client
    connects and warms up, says so, and all start on one signal."""
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    procs = [ctx.Process(target=_client, args=(spec, c, ready, go, start_at, out), daemon=True)
             for c in range(clients)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            said = ready.get(timeout=120)
            if isinstance(said, str):
                for p in procs:
                    p.terminate()   # the others wait for a start that will not come
                raise RuntimeError(said)
        start_at.value = time.time()
        go.set()
        outs = [out.get(timeout=spec.seconds + 120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    lat = sorted(x for o in outs for x in o["lat"])
    wall = max(o["finished"] for o in outs) - start_at.value
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    cpus = [o["cpu"] for o in outs]
    cpu_us = None if any(c is None for c in cpus) else sum(cpus) / len(lat) * 1e6
    return Outcome(clients, len(lat), wall, statistics.median(lat) * 1000, p99 * 1000,
                   sum(o["retries"] for o in outs), sum(o["errors"] for o in outs),
                   next((o["first_error"] for o in outs if o["first_error"]), ""), cpu_us)


REFERENCE_SQL = """
CREATE TABLE public.bench_balance (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE public.bench_journal (id bigserial PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL,
                                   amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO public.bench_balance SELECT g, CASE WHEN g <= 99 THEN 1000000000000 ELSE 0 END FROM generate_series(0, 199) g;
-- The simplest hand-made transfer: two UPDATEs and one INSERT, one round trip.
-- No hash chain, no voucher numbers, no balance or overdraft checks.
CREATE FUNCTION public.simple_transfer(p_from int, p_to int, p_amount bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE jid bigint;
BEGIN
  UPDATE public.bench_balance SET balance = balance - p_amount WHERE id = p_from;
  UPDATE public.bench_balance SET balance = balance + p_amount WHERE id = p_to;
  INSERT INTO public.bench_journal (from_id, to_id, amount) VALUES (p_from, p_to, p_amount) RETURNING id INTO jid;
  RETURN jid;
END $$;
GRANT ALL ON public.bench_balance, public.bench_journal, public.bench_journal_id_seq TO fin;
"""

# The floor of a checked single entry: the writes fl.post_entries makes for one entry,
# into copies of the same tables with the same indexes and CHECK constraints, from one
# function, with no triggers. It writes the entry under its idempotency key, its two
# postings, both accounts' totals, the day totals, the bank balance under no_overdraft,
# the voucher counter, the chain head and the seal. It checks only what its own
# arguments make trivial. The gap between this and fl.post_entries is what the product
# pays for its JSON documents and its checks, in the API and again in the tables' own
# triggers (docs/architecture.md). With the chain head held until commit, the floor is
# only a floor for one client, and only for the spread pattern's entry.
FLOOR_SQL = """
CREATE SCHEMA bench_floor;
GRANT USAGE ON SCHEMA bench_floor TO PUBLIC;
CREATE TABLE bench_floor.entry (LIKE fl.entry INCLUDING ALL);
CREATE TABLE bench_floor.posting (LIKE fl.posting INCLUDING ALL);
CREATE TABLE bench_floor.account (LIKE fl.account INCLUDING ALL);
CREATE TABLE bench_floor.account_day (LIKE fl.account_day INCLUDING ALL);
CREATE TABLE bench_floor.bank_account (LIKE fl.bank_account INCLUDING ALL);
CREATE TABLE bench_floor.seal (LIKE fl.seal INCLUDING ALL);
CREATE TABLE bench_floor.voucher_counter (LIKE fl.voucher_counter INCLUDING ALL);
CREATE TABLE bench_floor.chain_head (LIKE fl.chain_head INCLUDING ALL);
CREATE TABLE bench_floor.closed_period (LIKE fl.closed_period INCLUDING ALL);
INSERT INTO bench_floor.account OVERRIDING SYSTEM VALUE SELECT * FROM fl.account;
INSERT INTO bench_floor.account_day SELECT * FROM fl.account_day;
INSERT INTO bench_floor.bank_account OVERRIDING SYSTEM VALUE SELECT * FROM fl.bank_account;
INSERT INTO bench_floor.voucher_counter SELECT * FROM fl.voucher_counter;
INSERT INTO bench_floor.chain_head SELECT * FROM fl.chain_head;
CREATE FUNCTION bench_floor.post(p_key text, p_date date, p_unit text, p_chart text, p_holder text, p_amount bigint)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, bench_floor AS $$
DECLARE eid bigint; dr int; cr int; bank int; h bytea; n bigint; vno int; dig bytea;
BEGIN
  PERFORM 1 FROM closed_period WHERE month = date_trunc('month', p_date)::date;
  IF FOUND THEN RAISE EXCEPTION 'period closed'; END IF;
  SELECT max(a.id) FILTER (WHERE a.chart_code = '5001.outpatient'), max(a.id) FILTER (WHERE a.chart_code = p_chart),
         max(a.bank_account_id) FILTER (WHERE a.chart_code = p_chart)
    INTO dr, cr, bank
    FROM account a
   WHERE a.book = 'RES' AND a.unit = p_unit AND a.component = ''
     AND ((a.chart_code = '5001.outpatient' AND a.holder = '') OR (a.chart_code = p_chart AND a.holder = p_holder));
  INSERT INTO entry (book, entry_date, memo, kind, idempotency_key, content_hash, created_by, created_at, created_xid)
  VALUES ('RES', p_date, 'bench', 'manual', p_key, '\\x00', session_user, now(), pg_current_xact_id())
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING id INTO eid;
  IF eid IS NULL THEN RETURN NULL; END IF;
  INSERT INTO posting (entry_id, account_id, side, amount, entry_date, unit)
  VALUES (eid, dr, 'D', p_amount, p_date, p_unit), (eid, cr, 'C', p_amount, p_date, p_unit);
  UPDATE account a SET debits = a.debits + CASE WHEN a.id = dr THEN p_amount ELSE 0 END,
                       credits = a.credits + CASE WHEN a.id = cr THEN p_amount ELSE 0 END,
                       balance = a.balance + CASE WHEN a.id = dr THEN p_amount ELSE -p_amount END
   WHERE a.id IN (dr, cr);
  INSERT INTO account_day AS ad (account_id, day, debits, credits)
  VALUES (dr, p_date, p_amount, 0), (cr, p_date, 0, p_amount)
  ON CONFLICT (account_id, day) DO UPDATE SET debits = ad.debits + EXCLUDED.debits, credits = ad.credits + EXCLUDED.credits;
  UPDATE bank_account SET balance = balance - p_amount WHERE id = bank;
  dig := sha256(convert_to(concat_ws('|', eid, 'RES', p_date, p_key, dr, cr, p_amount), 'UTF8'));
  UPDATE voucher_counter SET last_no = last_no + 1 WHERE book = 'RES' AND fiscal_year = extract(year FROM p_date)
  RETURNING last_no INTO vno;
  UPDATE chain_head SET seq = seq + 1, hash = sha256(hash || dig || convert_to(vno::text, 'UTF8')) WHERE id
  RETURNING seq, hash INTO n, h;
  INSERT INTO seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
  VALUES (eid, n, 'RES', extract(year FROM p_date), vno, dig, '\\x00', h);
  RETURN eid;
END $$;
GRANT EXECUTE ON FUNCTION bench_floor.post(text, date, text, text, text, bigint) TO fin;
"""

# The lean peer: a balance-checked two-account transfer on plain tables, the design of
# pgledger (github.com/pgr0ss/pgledger), written here from its description: an accounts
# table carrying each account's balance and version, one row per transfer, one entry row
# per account touched (with the balance before and after), and one function that locks
# both accounts in id order, refuses a balance its account does not allow (no overdraft)
# and writes the transfer and its two entries. Foreign keys as the peer has them. No
# idempotency key, no voucher numbers, no hash chain, no day totals, no periods, no row
# security: what a user who picks the leanest PostgreSQL ledger gets.
PEER_SQL = """
CREATE SCHEMA bench_peer;
GRANT USAGE ON SCHEMA bench_peer TO PUBLIC;
CREATE TABLE bench_peer.accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  currency text NOT NULL,
  balance numeric NOT NULL DEFAULT 0,
  version bigint NOT NULL DEFAULT 0,
  allow_negative_balance boolean NOT NULL DEFAULT true,
  allow_positive_balance boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_peer.transfers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  from_account_id bigint NOT NULL REFERENCES bench_peer.accounts (id),
  to_account_id bigint NOT NULL REFERENCES bench_peer.accounts (id),
  amount numeric NOT NULL CHECK (amount > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  event_at timestamptz NOT NULL DEFAULT now(),
  metadata jsonb);
CREATE INDEX ON bench_peer.transfers (from_account_id);
CREATE INDEX ON bench_peer.transfers (to_account_id);
CREATE TABLE bench_peer.entries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES bench_peer.accounts (id),
  transfer_id bigint NOT NULL REFERENCES bench_peer.transfers (id),
  amount numeric NOT NULL,
  account_previous_balance numeric NOT NULL,
  account_current_balance numeric NOT NULL,
  account_version bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON bench_peer.entries (account_id);
CREATE INDEX ON bench_peer.entries (transfer_id);
-- Accounts 2c+1 (funded, may not go negative) and 2c+2 for clients c = 0..49.
INSERT INTO bench_peer.accounts (name, currency, balance, allow_negative_balance)
SELECT 'bench-' || g, 'CNY', CASE WHEN g % 2 = 1 THEN 1000000000000 ELSE 0 END, g % 2 = 0
  FROM generate_series(1, 100) g;
CREATE FUNCTION bench_peer.create_transfer(p_from bigint, p_to bigint, p_amount numeric) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  a_from bench_peer.accounts;
  a_to   bench_peer.accounts;
  tid    bigint;
BEGIN
  IF p_from = p_to THEN RAISE EXCEPTION 'cannot transfer to the same account'; END IF;
  IF p_amount <= 0 THEN RAISE EXCEPTION 'amount must be positive'; END IF;
  PERFORM 1 FROM bench_peer.accounts WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE;
  UPDATE bench_peer.accounts SET balance = balance - p_amount, version = version + 1, updated_at = now()
   WHERE id = p_from RETURNING * INTO a_from;
  UPDATE bench_peer.accounts SET balance = balance + p_amount, version = version + 1, updated_at = now()
   WHERE id = p_to RETURNING * INTO a_to;
  IF a_from.id IS NULL OR a_to.id IS NULL THEN RAISE EXCEPTION 'account not found'; END IF;
  IF a_from.currency <> a_to.currency THEN RAISE EXCEPTION 'currencies differ'; END IF;
  IF NOT a_from.allow_negative_balance AND a_from.balance < 0 THEN
    RAISE EXCEPTION 'account % cannot go negative', p_from;
  END IF;
  IF NOT a_to.allow_positive_balance AND a_to.balance > 0 THEN
    RAISE EXCEPTION 'account % cannot go positive', p_to;
  END IF;
  INSERT INTO bench_peer.transfers (from_account_id, to_account_id, amount) VALUES (p_from, p_to, p_amount)
  RETURNING id INTO tid;
  INSERT INTO bench_peer.entries (account_id, transfer_id, amount, account_previous_balance,
                                  account_current_balance, account_version)
  VALUES (p_from, tid, -p_amount, a_from.balance + p_amount, a_from.balance, a_from.version),
         (p_to, tid, p_amount, a_to.balance - p_amount, a_to.balance, a_to.version);
  RETURN tid;
END $$;
GRANT ALL ON ALL TABLES IN SCHEMA bench_peer TO fin;
GRANT EXECUTE ON FUNCTION bench_peer.create_transfer(bigint, bigint, numeric) TO fin;
"""


@dataclass
class Wal:
    """The server's WAL position and counters (pg_stat_wal) at one moment."""

    lsn: str
    records: int
    fpi: int
    bytes: int


def wal_mark(admin_url: str) -> Wal:
    with psycopg.connect(admin_url, autocommit=True) as c:
        row = c.execute("SELECT pg_current_wal_lsn()::text, wal_records, wal_fpi, wal_bytes::bigint "
                        "FROM pg_stat_wal").fetchone()
    assert row is not None
    return Wal(row[0], int(row[1]), int(row[2]), int(row[3]))


def wal_per_call(admin_url: str, before: Wal, calls: int) -> tuple[float, float, float]:
    """(bytes, records, full-page images) of WAL per call since ``before``: bytes from
    the LSN difference (exact, the whole server's), records and images from pg_stat_wal
    (backends report theirs when they exit, so the clients are gone by now; a short
    wait lets the last exits land)."""
    time.sleep(0.6)
    after = wal_mark(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as c:
        diff = c.execute("SELECT pg_wal_lsn_diff(%s, %s)::bigint", (after.lsn, before.lsn)).fetchone()
    assert diff is not None
    n = max(calls, 1)
    return int(diff[0]) / n, (after.records - before.records) / n, (after.fpi - before.fpi) / n
