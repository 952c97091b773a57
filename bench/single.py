"""Benchmarks 2 and 3: one entry per call at 1, 2 and 8 concurrent clients, and 8
clients all paying out of the special account; 2a: the same beside a lean peer ledger.

The product call is ``SELECT * FROM fl.post_entries(%s)`` in autocommit (one round
trip, one commit, synchronous_commit on), an entry Dr 5001.outpatient / Cr 1004 of
the client's unit. The reference, run in the same database between the product runs,
is ``public.simple_transfer(from, to, amount)``: two UPDATEs on a plain balance table
and one INSERT into a plain journal — no checks, no voucher numbers, no hash chain.

A manual entry that moves real money (Cr 1004) is held (maker-checker, sql/0017): the
maker's call holds it and a second person's ``fl.confirm_entry`` posts it, so its CPU
per entry is both backends'. Benchmark 2a compares, at 1, 2 and 8 clients, the one-call
path — an entry posted at once, Dr 5001.outpatient / Cr 2001 — and the held path with the
lean peer (``bench_peer.create_transfer``, clients.PEER_SQL: pgledger's design, a
balance-checked two-account transfer on plain tables): entries/s, the server's backend
CPU per entry and the WAL per entry (bytes from the LSN, records from pg_stat_wal), all
measured in the same runs, alternated, on the same server.
"""

from __future__ import annotations

import contextlib

import psycopg

from bench import clients
from bench.common import (
    UNITS,
    Env,
    Result,
    at_most,
    function_profile,
    fund,
    ledger_db,
    reset_profile,
    server,
)

BIG = 10_000_000_000_00   # 10 billion yuan in fen: no run can exhaust it

# The city finance office's officers: client c of the one-call and held runs posts as POSTERS[c]
# (up to 8 clients; more would share). Each person's manual entries are counted on their own row
# (0073's fl.manual_day: one row per user and region day, held by each call until its commit), so
# one login on 8 connections would queue every call behind the one before — a person does not post
# from eight sessions at once, an office of several officers does. The cap still holds against
# two concurrent calls of one user (tests/security, 0073).
POSTERS = ("fin", "fin2", "fin3", "fin4", "fin5", "fin6", "fin7", "fin8")


def _prepare(srv, db: str) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(srv.url(db, "fin")) as c:
        fund(c, dict.fromkeys(UNITS, BIG), date="2023-01-01", tag="fund")
        fund(c, dict.fromkeys(UNITS, BIG), date="2023-01-01", tag="hot", move=False)
    with psycopg.connect(srv.url(db), autocommit=True) as c:
        for user in POSTERS[1:]:
            c.execute("SELECT fl.add_user(%s, 'finance', NULL)", (user,))
        c.execute(clients.REFERENCE_SQL)
        c.execute(clients.PEER_SQL)


def _run(srv, spec: clients.Spec, n: int) -> clients.Outcome:  # type: ignore[no-untyped-def]
    """One timed run with the server's WAL per call measured around it.

    Each run starts the posting user's region day afresh (0073's manual-entry cap, 10,000 a
    day for finance, is a policy guard against one person's floods; a quiet machine posts
    more than that in one run). The counter is a guard, not an auditor's record, and
    resetting it between runs changes nothing a run measures: the counter's row is still
    written by every call."""
    dbname = psycopg.conninfo.conninfo_to_dict(spec.url).get("dbname")
    with psycopg.connect(srv.url(str(dbname)), autocommit=True) as c:
        if c.execute("SELECT to_regclass('fl.manual_day')").fetchone() != (None,):
            c.execute("DELETE FROM fl.manual_day")
    before = clients.wal_mark(srv.admin_url)
    o = clients.run(spec, n)
    o.wal_bytes, o.wal_records, _fpi = clients.wal_per_call(srv.admin_url, before, o.ops)
    return o


def _measure(env: Env, srv, db: str, pattern: str, n_clients: int, runs: int, seconds: float,  # type: ignore[no-untyped-def]
             tag: str, no_triggers: list[clients.Outcome] | None = None,
             peer: dict[str, list[clients.Outcome]] | None = None,
             ) -> tuple[list[clients.Outcome], list[clients.Outcome]]:
    """Product and reference runs, alternating; with ``no_triggers`` (a list to fill),
    the no-trigger floor too (clients.FLOOR_SQL, created on first use: it copies the
    accounts the product runs have opened); with ``peer`` (a dict to fill), the one-call
    path ('direct') and the lean peer ('peer') too, in the same alternation."""
    ours, ref = [], []
    if no_triggers is not None:
        with psycopg.connect(srv.url(db), autocommit=True) as c:
            if c.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'bench_floor'").fetchone() is None:
                # One warm-up product call first: it opens the accounts the floor copies.
                clients.run(clients.Spec(srv.url(db, "fin"), "post", pattern, f"{tag}{n_clients}warm", 0.05,
                                          checker_url=srv.url(db, "rev"), users=POSTERS),
                            n_clients)
                c.execute(clients.FLOOR_SQL)
    for r in range(runs):
        ours.append(_run(srv, clients.Spec(srv.url(db, "fin"), "post", pattern, f"{tag}{n_clients}r{r}", seconds,
                                           checker_url=srv.url(db, "rev"), users=POSTERS), n_clients))
        if peer is not None:
            peer.setdefault("direct", []).append(_run(srv, clients.Spec(
                srv.url(db, "fin"), "direct", pattern, f"{tag}{n_clients}d{r}", seconds, users=POSTERS), n_clients))
            peer.setdefault("peer", []).append(_run(srv, clients.Spec(
                srv.url(db, "fin"), "peer", pattern, "", seconds), n_clients))
        ref.append(_run(srv, clients.Spec(srv.url(db, "fin"), "simple", pattern, "", seconds), n_clients))
        if no_triggers is not None:
            no_triggers.append(clients.run(clients.Spec(srv.url(db, "fin"), "floor", pattern, f"{tag}r{r}", seconds),
                                           n_clients))
        o = ours[-1]
        env.log(f"  {tag} {n_clients} client(s) run {r + 1}: {o.rate:,.0f} entries/s p50 {o.p50_ms:.2f} ms "
                f"p99 {o.p99_ms:.2f} ms retries {o.retries} errors {o.errors} | reference {ref[-1].rate:,.0f}/s"
                + (f" | no-trigger floor {no_triggers[-1].rate:,.0f}/s" if no_triggers else "")
                + (f" | one call {peer['direct'][-1].rate:,.0f}/s, peer {peer['peer'][-1].rate:,.0f}/s" if peer else ""))
    return ours, ref


def _tracking(srv, db: str, on: bool) -> None:  # type: ignore[no-untyped-def]
    """Statement and function tracking for new sessions of ``db``: off while timing (it
    costs the product, with its many nested statements, more than the reference)."""
    with psycopg.connect(srv.url(db), autocommit=True) as c:
        c.execute(f"ALTER DATABASE \"{db}\" SET track_functions = '{'all' if on else 'none'}'")
        with contextlib.suppress(psycopg.Error):
            c.execute(f"ALTER DATABASE \"{db}\" SET pg_stat_statements.track = '{'all' if on else 'none'}'")


def _profiled(env: Env, srv, db: str, pattern: str, n: int, tag: str,  # type: ignore[no-untyped-def]
              mode: str = "post") -> dict:  # type: ignore[type-arg]
    """One extra 2-second product run with tracking on: where its time goes."""
    _tracking(srv, db, True)
    reset_profile(srv, db)
    clients.run(clients.Spec(srv.url(db, "fin"), mode, pattern, f"{tag}{n}prof", 2.0, checker_url=srv.url(db, "rev"),
                             users=POSTERS), n)
    prof = function_profile(srv, db)
    _tracking(srv, db, False)
    return prof


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


PEER = "lean peer (bench_peer.create_transfer)"


def _peer_rows(n: int, seconds: float, runs: int, held: list[clients.Outcome], direct: list[clients.Outcome],
               peer: list[clients.Outcome]) -> list[Result]:
    """Benchmark 2a: fundledger's one-call entry and its held (two-person) entry beside
    the lean peer's transfer, from the same alternated runs (issue #24's targets)."""
    ds = f"{n} client(s), {seconds:g} s × {runs}"
    out = []
    errors = sum(o.errors for o in direct)
    out.append(Result(
        "2a. single entry vs lean peer: posted at once", ds, "entries/s", [o.rate for o in direct],
        PEER, [o.rate for o in peer], ">= 0.8× peer (target 1.0×)",
        lambda m, r, e=errors: r is not None and m >= 0.8 * r and e == 0,
        note="Dr 5001.outpatient / Cr 2001 through fl.post_entries, one call and one commit like the peer's"
             + (f"; {errors} errors: {direct[0].first_error}" if errors else "")))
    out.append(Result(
        "2a. single entry vs lean peer: held and confirmed", ds, "entries/s", [o.rate for o in held],
        PEER, [o.rate for o in peer],
        note="Dr 5001.outpatient / Cr 1004 county_exp: real money, so the maker's call holds it and a second "
             "person's fl.confirm_entry posts it (two calls, two commits per entry, by design)"))
    for label, outs in (("posted at once", direct), ("held and confirmed", held)):
        if all(o.server_cpu_us is not None for o in outs + peer):
            out.append(Result(
                f"2a. server CPU per entry: {label}", f"{n} client(s)", "µs",
                [o.server_cpu_us for o in outs], "lean peer server CPU",  # type: ignore[misc]
                [o.server_cpu_us for o in peer],  # type: ignore[misc]
                "<= 450" if label == "posted at once" else "", at_most(450) if label == "posted at once" else None,
                note="backend user+system CPU per entry from /proc (both backends for a held entry)"))
        if all(o.wal_bytes is not None for o in outs + peer):
            out.append(Result(
                f"2a. WAL per entry: {label}", f"{n} client(s)", "B",
                [o.wal_bytes for o in outs], "lean peer WAL",  # type: ignore[misc]
                [o.wal_bytes for o in peer],  # type: ignore[misc]
                "<= 1,500" if label == "posted at once" else "", at_most(1500) if label == "posted at once" else None,
                note=f"whole server's WAL over the run (pg_current_wal_lsn) per entry; records per entry "
                     f"{_median([o.wal_records for o in outs]):.1f} against the peer's "  # type: ignore[misc]
                     f"{_median([o.wal_records for o in peer]):.1f} (pg_stat_wal)"))  # type: ignore[misc]
    return out


def run(env: Env, profiles: dict[str, list]) -> list[Result]:  # type: ignore[type-arg]
    runs = 1 if env.quick else 3
    seconds = 0.05 if env.quick else 4.0
    results: list[Result] = []
    with server(env) as srv, ledger_db(srv, profile=env.profile, template=env.template) as db:
        _prepare(srv, db)
        reset_profile(srv, db)
        targets = {1: 1800.0, 8: 3400.0}
        if env.profile:
            _tracking(srv, db, False)
        for n in ((1, 2) if env.quick else (1, 2, 8)):
            no_trig: list[clients.Outcome] | None = [] if n == 1 else None
            vs: dict[str, list[clients.Outcome]] = {}
            ours, ref = _measure(env, srv, db, "spread", n, runs, seconds, "single", no_trig, vs)
            results += _peer_rows(n, seconds, runs, ours, vs["direct"], vs["peer"])
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
                if n == 1:
                    profiles["2a. posted at once, 1 client (an extra 2 s run, tracking on)"] = \
                        _profiled(env, srv, db, "spread", n, "dprof", "direct")

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
