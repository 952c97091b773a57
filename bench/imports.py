"""Benchmark 1 (and the growth curve of 6): a payments file through `fundledger pay
import`, every invariant on, beside a plain COPY of the same rows into an unconstrained
table on the same server.

Each run imports into a fresh clone of a funded template database, as a separate
process (the real command line), whose wall time and peak RSS (``os.wait4``) are
measured; then the same file is COPYed into ``public.bench_copy`` (no keys, no
constraints, no triggers) from this process, streaming the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench import gen
from bench.clients import backend_cpu
from bench.common import (
    Env,
    Result,
    at_least,
    clone,
    drop,
    function_profile,
    fund,
    ledger_db,
    measured,
    reset_profile,
    server,
    unavailable,
)

COPY_TABLE = """CREATE TABLE public.bench_copy (date date, unit text, book text, provider text, category text,
                                               amount numeric(14,2), reference text, paid_from text)"""


def fundledger_cmd() -> list[str]:
    script = Path(sys.executable).parent / "fundledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def pay_import_available() -> bool:
    import importlib.util

    if importlib.util.find_spec("cli.cmd_imports") is None:
        return False
    r = subprocess.run([*fundledger_cmd(), "pay", "import", "--help"], capture_output=True, text=True,
                       env={**os.environ, "FUNDLEDGER_HOME": tempfile.gettempdir() + "/fl-bench-none"})
    return r.returncode == 0


class BackendCPU:
    """The CPU seconds (user + system, /proc) of the backends ``user`` opens on ``url``'s
    database while it runs: a thread finds them in pg_stat_activity and reads each one's
    /proc entry every 50 ms until it ends (the last reading is at most 50 ms before its
    exit). On a machine shared with other work this is the import's cost, where its wall
    time is mostly waiting for a core. ``seconds`` is None when the server is not local."""

    def __init__(self, url: str, user: str) -> None:
        self.url, self.user = url, user
        self.last: dict[int, float | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> BackendCPU:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as c:
            while not self._stop.is_set():
                for (pid,) in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND usename = %s AND pid <> pg_backend_pid()", (self.user,)).fetchall():
                    self.last.setdefault(int(pid), None)
                for pid in self.last:
                    cpu = backend_cpu(pid)
                    if cpu is not None:
                        self.last[pid] = cpu
                time.sleep(0.05)

    @property
    def seconds(self) -> float | None:
        if not self.last or any(v is None for v in self.last.values()):
            return None
        return sum(v for v in self.last.values() if v is not None)


def run_import(url: str, path: Path, user: str = "rev") -> tuple[float, int, str, float | None]:
    """(seconds, peak RSS in KiB, output, backend CPU seconds or None) of one `fundledger pay
    import` process."""
    env = {**os.environ, "FUNDLEDGER_DATABASE_URL": url}
    env.pop("FUNDLEDGER_USER", None)
    with BackendCPU(url, user) as cpu:
        m = measured([*fundledger_cmd(), "--as", user, "pay", "import", str(path)], env)
        time.sleep(0.1)   # the backend's last reading: it exits just after the process
    if m.exit_code != 0:
        raise RuntimeError(f"pay import of {path.name} failed (exit {m.exit_code}): {m.output[-1500:]}")
    return m.seconds, m.usage.ru_maxrss, m.output, cpu.seconds


def run_copy(url: str, path: Path) -> float:
    """Seconds to COPY the file into a fresh unconstrained table."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS public.bench_copy")
        c.execute(COPY_TABLE)
        t0 = time.perf_counter()
        with c.cursor() as cur, cur.copy("COPY public.bench_copy FROM STDIN (FORMAT csv, HEADER true)") as cp, \
                open(path, "rb") as f:
            while data := f.read(1 << 20):
                cp.write(data)
        return time.perf_counter() - t0


def run_bare_insert(url: str) -> float:
    """Seconds to INSERT the rows just COPYed into ``public.bench_copy`` into a copy of
    ``fl.posting`` with its indexes and CHECK constraints but no trigger and no check:
    what writing that many postings costs before any rule runs (400 rows an entry, an
    account per unit and category, as the import makes them)."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS public.bench_posting")
        c.execute("CREATE TABLE public.bench_posting (LIKE fl.posting INCLUDING ALL)")
        t0 = time.perf_counter()
        c.execute("""INSERT INTO public.bench_posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
                     SELECT 1 + n / 400, 1 + abs(hashtext(unit || category)) % 64, 'D', (amount * 100)::bigint,
                            date, unit, reference, provider
                       FROM (SELECT b.*, row_number() OVER () AS n FROM public.bench_copy b) r""")
        return time.perf_counter() - t0


def _count_postings(url: str) -> int:
    with psycopg.connect(url) as c:
        return int(c.execute("SELECT count(*) FROM fl.posting").fetchone()[0])  # type: ignore[index]


def run(env: Env, profiles: dict) -> list[Result]:  # type: ignore[type-arg]
    sizes = [200, 2_000] if env.quick else [env.size(10_000, 0), env.size(100_000, 0), env.size(1_000_000, 0)]
    runs = 1 if env.quick else 3
    available = pay_import_available()
    results: list[Result] = []
    work = Path(tempfile.mkdtemp(prefix="fl-bench-files-"))
    try:
        files = {}
        for n in sizes:
            with_t = time.perf_counter()
            files[n] = gen.payments(work / f"payments-{n}.csv", n, seed=7, paid_from="city")
            env.log(f"  generated {n:,} lines in {time.perf_counter() - with_t:.1f} s "
                    f"({files[n].path.stat().st_size / 1e6:.1f} MB)")
        biggest = files[sizes[-1]]
        with server(env) as srv, ledger_db(srv, profile=env.profile, template=env.template) as funded:
            with psycopg.connect(srv.url(funded, "fin")) as c:
                # The bureau (rev) imports every unit's claims paid from the city expenditure
                # account: its payments post at once (0060 holds a bureau's payment out of a
                # county's own account for a second person, which is not what this measures).
                fund(c, {u: fen + fen // 10 + 1_000_000 for u, fen in biggest.per_unit.items()}, date="2023-01-01",
                     holder="city_exp")
            curve: dict[int, dict[str, list[float]]] = {}
            server_split: dict[int, tuple[float, float]] = {}
            for n in sizes:
                g = files[n]
                m: dict[str, list[float]] = {"secs": [], "rss": [], "postings": [], "copy": [], "bare": [],
                                             "cpu": []}
                for r in range(runs):
                    db = clone(srv, funded)
                    try:
                        url = srv.url(db)
                        if available:
                            if env.profile and n == sizes[-1] and r == 0:
                                reset_profile(srv, db)
                            before = _count_postings(url)
                            secs, rss, _, cpu = run_import(url, g.path)
                            if cpu is not None:
                                m["cpu"].append(cpu)
                            postings = _count_postings(url) - before
                            if env.profile and n == sizes[-1] and r == 0:
                                prof = function_profile(srv, db)
                                profiles[f"1. bulk import, {n:,} lines (one run)"] = prof
                                if prof.get("toplevel_ms") is not None:
                                    server_split[n] = (prof["toplevel_ms"] / 1000, secs)
                            m["secs"].append(secs)
                            m["rss"].append(rss / 1024)
                            m["postings"].append(postings)
                        m["copy"].append(run_copy(url, g.path))
                        if n == sizes[-1]:
                            m["bare"].append(run_bare_insert(url))
                    finally:
                        drop(srv, db)
                    msg = (f"import {m['secs'][-1]:.2f} s, {m['postings'][-1]:,.0f} postings, "
                           f"peak RSS {m['rss'][-1]:.0f} MB; " if available else "import not yet available; ")
                    env.log(f"  {n:,} lines run {r + 1}: {msg}COPY {m['copy'][-1]:.2f} s")
                curve[n] = m
        for n in sizes:
            m = curve[n]
            copy_rates = [n / s for s in m["copy"]]
            ds = f"{n:,} payment lines"
            if not available:
                results.append(unavailable("1. bulk import (pay import)", ds,
                                           "`fundledger pay import` is not in the tree yet (cli/cmd_imports.py)"))
                results.append(Result("1. reference: plain COPY", ds, "rows/s", copy_rates))
                continue
            results.append(Result("1. bulk import: lines/s", ds, "lines/s", [n / s for s in m["secs"]],
                                  "plain COPY", copy_rates, ">= 0.25× COPY",
                                  lambda mm, rr: rr is not None and mm >= 0.25 * rr))
            results.append(Result("1. bulk import: postings/s", ds, "postings/s",
                                  [p / s for p, s in zip(m["postings"], m["secs"], strict=True)],
                                  target=">= 100,000", check=at_least(100_000),
                                  note=f"{m['postings'][0] / n:.3f} postings per line"
                                  + (f"; of one run's {server_split[n][1]:.1f} s wall, {server_split[n][0]:.1f} s "
                                     "were server statements (pg_stat_statements top level), the rest the client "
                                     "process (start-up, reading and COPYing the file)" if n in server_split else "")))
            if m["bare"]:
                results.append(Result(
                    "1. reference: bare indexed INSERT of the rows", ds, "rows/s", [n / s for s in m["bare"]],
                    "plain COPY", copy_rates,
                    note="the COPYed rows INSERTed into a copy of fl.posting with its three indexes and CHECK "
                         "constraints, no trigger and no check: writing the postings alone, before any rule runs "
                         "(bench/imports.py run_bare_insert)"))
            if m["cpu"]:
                results.append(Result(
                    "1. bulk import: backend CPU per 1M lines", ds, "s", [c / n * 1_000_000 for c in m["cpu"]],
                    note="user+system CPU of the import's server backend (its COPY, the import function, the "
                         "commit's seal) from /proc, scaled to 1,000,000 lines: one backend does the import, so on "
                         "a quiet machine its wall time is about this; on a shared one compare this, not the rates"))
            results.append(Result("6. import growth: time", ds, "s", m["secs"], "plain COPY", m["copy"]))
            results.append(Result("6. import growth: peak RSS", ds, "MB", m["rss"]))
        if available and len(sizes) >= 2:
            small, large = sizes[0], sizes[-1]
            mid = sizes[-2]
            per = {n: sorted(curve[n]["secs"])[len(curve[n]["secs"]) // 2] / n for n in sizes}
            results.append(Result("6. import growth: linear", f"time per line {large:,} vs {mid:,}", "×",
                                  [per[large] / per[mid]], target="<= 1.25", check=lambda mm, _r: mm <= 1.25,
                                  note="time per line at the largest size over the next one (1.0 = linear)"))
            rss = {n: sorted(curve[n]["rss"])[len(curve[n]["rss"]) // 2] for n in sizes}
            results.append(Result("1. import memory flat", f"peak RSS {large:,} vs {small:,} lines", "×",
                                  [rss[large] / rss[small]], target="<= 1.25", check=lambda mm, _r: mm <= 1.25,
                                  note=f"peak RSS {rss[small]:.0f} MB at {small:,} lines, {rss[large]:.0f} MB at "
                                       f"{large:,}"))
    finally:
        for f in work.glob("*"):
            f.unlink()
        work.rmdir()
    return results
