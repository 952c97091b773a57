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
AMOUNT = 100  # fen per transfer: 1.00 yuan


@dataclass
class Spec:
    url: str                 # as the posting user
    mode: str                # 'post' | 'simple'
    pattern: str             # 'spread' (own accounts per client) | 'hot' (all out of the special account)
    run: str                 # distinguishes idempotency keys between runs
    seconds: float
    date: str = "2023-06-15"


def _statement(spec: Spec, client: int) -> tuple[str, Any]:
    """The SQL a client calls each time and a function giving its parameters."""
    unit = UNITS[client % len(UNITS)]
    if spec.mode == "simple":
        src = 0 if spec.pattern == "hot" else 1 + client
        dst = 100 + client
        return "SELECT public.simple_transfer(%s, %s, %s)", lambda _n: (src, dst, AMOUNT)
    if spec.pattern == "hot":
        credit = {"account": "1003", "unit": unit, "holder": "special", "side": "C", "amount": AMOUNT}
    else:
        credit = {"account": "1004", "unit": unit, "holder": expenditure_holder(unit), "side": "C", "amount": AMOUNT}
    debit = {"account": "5001.outpatient", "unit": unit, "side": "D", "amount": AMOUNT}

    def params(n: int) -> tuple[str]:
        return (json.dumps({"date": spec.date, "book": "RES", "memo": "bench",
                            "idempotency_key": f"{spec.run}-{client}-{n}", "postings": [debit, credit]}),)

    return "SELECT * FROM fl.post_entries(%s::jsonb)", params


def _client(spec: Spec, client: int, ready: Any, go: Any, start_at: Any, out: Any) -> None:
    sql, params = _statement(spec, client)
    lat: list[float] = []
    retries = errors = 0
    first_error = ""
    with psycopg.connect(spec.url, autocommit=True, prepare_threshold=1) as conn:
        conn.execute(sql, params(-1))          # warm: prepare, plan caches, account rows
        pid = conn.info.backend_pid
        ready.put(client)
        go.wait()
        cpu0 = backend_cpu(pid)
        t_end = start_at.value + spec.seconds
        n = 0
        while True:
            t0 = time.perf_counter()
            while True:
                try:
                    conn.execute(sql, params(n)).fetchall()
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
        cpu1 = backend_cpu(pid)
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
            ready.get(timeout=120)
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
