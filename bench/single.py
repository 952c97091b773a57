"""Benchmarks 2 and 3: one entry per call at 1, 2 and 8 concurrent clients, and 8
clients all paying out of the special account.

The product call is ``SELECT * FROM fl.post_entries(%s)`` in autocommit (one round
trip, one commit, synchronous_commit on), an entry Dr 5001.outpatient / Cr 1004 of
the client's unit. The reference, run in the same database between the product runs,
is ``public.simple_transfer(from, to, amount)``: two UPDATEs on a plain balance table
and one INSERT into a plain journal — no checks, no voucher numbers, no hash chain.
"""

from __future__ import annotations

import contextlib

import psycopg

from bench import clients
from bench.common import (
    UNITS,
    Env,
    Result,
    function_profile,
    fund,
    ledger_db,
    reset_profile,
    server,
)

BIG = 10_000_000_000_00   # 10 billion yuan in fen: no run can exhaust it


def _prepare(srv, db: str) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(srv.url(db, "fin")) as c:
        fund(c, dict.fromkeys(UNITS, BIG), date="2023-01-01", tag="fund")
        fund(c, dict.fromkeys(UNITS, BIG), date="2023-01-01", tag="hot", move=False)
    with psycopg.connect(srv.url(db), autocommit=True) as c:
        c.execute(clients.REFERENCE_SQL)


def _measure(env: Env, srv, db: str, pattern: str, n_clients: int, runs: int, seconds: float,  # type: ignore[no-untyped-def]
             tag: str, no_triggers: list[clients.Outcome] | None = None
             ) -> tuple[list[clients.Outcome], list[clients.Outcome]]:
    """Product and reference runs, alternating; with ``no_triggers`` (a list to fill),
    the no-trigger floor too (clients.FLOOR_SQL, created on first use: it copies the
    accounts the product runs have opened)."""
    ours, ref = [], []
    if no_triggers is not None:
        with psycopg.connect(srv.url(db), autocommit=True) as c:
            if c.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'bench_floor'").fetchone() is None:
                # One warm-up product call first: it opens the accounts the floor copies.
                clients.run(clients.Spec(srv.url(db, "fin"), "post", pattern, f"{tag}{n_clients}warm", 0.05,
                                          checker_url=srv.url(db, "rev")),
                            n_clients)
                c.execute(clients.FLOOR_SQL)
    for r in range(runs):
        ours.append(clients.run(clients.Spec(srv.url(db, "fin"), "post", pattern, f"{tag}{n_clients}r{r}", seconds,
                                             checker_url=srv.url(db, "rev")), n_clients))
        ref.append(clients.run(clients.Spec(srv.url(db, "fin"), "simple", pattern, "", seconds), n_clients))
        if no_triggers is not None:
            no_triggers.append(clients.run(clients.Spec(srv.url(db, "fin"), "floor", pattern, f"{tag}r{r}", seconds),
                                           n_clients))
        o = ours[-1]
        env.log(f"  {tag} {n_clients} client(s) run {r + 1}: {o.rate:,.0f} entries/s p50 {o.p50_ms:.2f} ms "
                f"p99 {o.p99_ms:.2f} ms retries {o.retries} errors {o.errors} | reference {ref[-1].rate:,.0f}/s"
                + (f" | no-trigger floor {no_triggers[-1].rate:,.0f}/s" if no_triggers else ""))
    return ours, ref


def _tracking(srv, db: str, on: bool) -> None:  # type: ignore[no-untyped-def]
    """Statement and function tracking for new sessions of ``db``: off while timing (it
    costs the product, with its many nested statements, more than the reference)."""
    with psycopg.connect(srv.url(db), autocommit=True) as c:
        c.execute(f"ALTER DATABASE \"{db}\" SET track_functions = '{'all' if on else 'none'}'")
        with contextlib.suppress(psycopg.Error):
            c.execute(f"ALTER DATABASE \"{db}\" SET pg_stat_statements.track = '{'all' if on else 'none'}'")


def _profiled(env: Env, srv, db: str, pattern: str, n: int, tag: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """One extra 2-second product run with tracking on: where its time goes."""
    _tracking(srv, db, True)
    reset_profile(srv, db)
    clients.run(clients.Spec(srv.url(db, "fin"), "post", pattern, f"{tag}{n}prof", 2.0, checker_url=srv.url(db, "rev")), n)
    prof = function_profile(srv, db)
    _tracking(srv, db, False)
    return prof


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def run(env: Env, profiles: dict[str, list]) -> list[Result]:  # type: ignore[type-arg]
    runs = 1 if env.quick else 3
    seconds = 0.05 if env.quick else 5.0
    results: list[Result] = []
    with server(env) as srv, ledger_db(srv, profile=env.profile, template=env.template) as db:
        _prepare(srv, db)
        reset_profile(srv, db)
        targets = {1: 1800.0, 8: 3400.0}
        if env.profile:
            _tracking(srv, db, False)
        for n in ((1, 2) if env.quick else (1, 2, 8)):
            no_trig: list[clients.Outcome] | None = [] if n == 1 else None
            ours, ref = _measure(env, srv, db, "spread", n, runs, seconds, "single", no_trig)
            floor = targets.get(n)
            target = (f">= {floor:,.0f} and >= 0.5× reference" if floor else ">= 0.5× reference")
            errors = sum(o.errors for o in ours)
            results.append(Result(
                "2. single entry", f"{n} client(s), {seconds:g} s × {runs}", "entries/s", [o.rate for o in ours],
                "simple_transfer()", [o.rate for o in ref], target,
                (lambda m, r, f=floor, e=errors: m >= (f or 0) and r is not None and m >= 0.5 * r and e == 0),
                note=(f"{errors} errors: {ours[0].first_error}" if errors else "")))
            if n == 1 and all(o.server_cpu_us is not None for o in ours + ref):
                results.append(Result(
                    "2. single entry: server CPU per entry", f"{n} client(s)", "µs",
                    [o.server_cpu_us for o in ours], "simple_transfer() server CPU",  # type: ignore[misc]
                    [o.server_cpu_us for o in ref],  # type: ignore[misc]
                    note="backend user+system CPU per call from /proc: barely moved by other load on the cores"))
            if no_trig:
                results.append(Result(
                    "2. single entry, floor: the same writes, no triggers", f"{n} client(s), {seconds:g} s × {runs}",
                    "entries/s", [o.rate for o in no_trig], "fl.post_entries()", [o.rate for o in ours],
                    note="bench_floor.post (bench/clients.py FLOOR_SQL): the entry's rows written by one function "
                         "into copies of the same tables, checks left out; the ratio is what the product pays for "
                         "its JSON documents and its checks, in the API and again in the tables' own triggers"
                         + (f"; server CPU {_median([o.server_cpu_us for o in no_trig]):,.0f} µs per entry"  # type: ignore[misc]
                            if all(o.server_cpu_us is not None for o in no_trig) else "")
                         + (f"; {sum(o.errors for o in no_trig)} errors: {no_trig[0].first_error}"
                            if any(o.errors for o in no_trig) else "")))
            results.append(Result(
                "2. single entry p50", f"{n} client(s)", "ms", [o.p50_ms for o in ours],
                "simple_transfer() p50", [o.p50_ms for o in ref]))
            results.append(Result(
                "2. single entry p99", f"{n} client(s)", "ms", [o.p99_ms for o in ours],
                "simple_transfer() p99", [o.p99_ms for o in ref]))
            if env.profile:
                profiles[f"2. single entry, {n} client(s) (an extra 2 s product run, tracking on)"] = \
                    _profiled(env, srv, db, "spread", n, "prof")

        hot = 2 if env.quick else 8
        ours, ref = _measure(env, srv, db, "hot", hot, runs, seconds, "hot")
        retries, errors = sum(o.retries for o in ours), sum(o.errors for o in ours)
        results.append(Result(
            "3. contention: 8 clients out of the special account", f"{hot} clients, {seconds:g} s × {runs}",
            "entries/s", [o.rate for o in ours], "simple_transfer() out of one row", [o.rate for o in ref],
            "no deadlock surfaced", lambda _m, _r, e=errors: e == 0,
            note=f"retries (deadlock/serialization, invisible to callers): {retries}; errors surfaced: {errors}"
                 + (f" ({ours[0].first_error})" if errors else "")
                 + f"; p50 {_median([o.p50_ms for o in ours]):.2f} ms, p99 {_median([o.p99_ms for o in ours]):.2f} ms"))
        if env.profile:
            profiles[f"3. contention, {hot} clients (an extra 2 s product run, tracking on)"] = \
                _profiled(env, srv, db, "hot", hot, "hotprof")
    return results
