"""Benchmark 7: a read command's wall time on a warm server (issue 24: ≤ 300 ms).

What an officer waits for when typing ``fundledger balance …`` or a reviewer's script
runs ``fundledger monitor --json``: a new process each time — interpreter, imports, the
command tree, one connection, the query, the JSON — against a server already running
with the ledger in its cache. Each command runs ten times (once in ``--quick``) after
one warm-up; the figure is the median wall time, with the process's own CPU (user +
system, from ``wait4``) beside it: on a shared machine the CPU is the steadier figure.
The reference is ``python -c pass`` measured the same way: the interpreter's own floor.

The commands run with ``PYTHONDONTWRITEBYTECODE`` removed from their environment, so the
warm-up writes the checkout's ``.pyc`` files as ``pip install`` does for a user's install:
with it set (as some shells and CI set it), every run compiled fundledger's own modules
again, 100–140 ms that no installed copy pays.
"""

from __future__ import annotations

import os
import sys

import psycopg

from bench.common import UNITS, Env, Result, at_most, fund, ledger_db, measured, server
from bench.imports import fundledger_cmd

COMMANDS = {
    "balance": (["balance", "RES:1003:230800:special", "--json"], "fin"),
    "monitor --json": (["monitor", "--json"], "rev"),
}


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run; a failed run is an error, not a fast figure."""
    m = measured(cmd, env)
    if m.exit_code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {m.output[-500:]}")
    return m.seconds, m.usage.ru_utime + m.usage.ru_stime


def run(env: Env, profiles: dict) -> list[Result]:  # type: ignore[type-arg]
    runs = 1 if env.quick else 10   # --quick: the smoke test (no timing claims); each run is a process
    out: list[Result] = []
    with server(env) as srv, ledger_db(srv, profile=False, template=env.template) as db:
        with psycopg.connect(srv.url(db, "fin")) as c:
            fund(c, dict.fromkeys(UNITS, 100_000_00), date="2023-01-10", tag="startup")
        base = {k: v for k, v in os.environ.items() if k not in ("FUNDLEDGER_USER", "PYTHONDONTWRITEBYTECODE")}
        floor = [_timed([sys.executable, "-c", "pass"], base) for _ in range(runs)]
        ref = [w * 1000 for w, _ in floor]
        for name, (args, user) in COMMANDS.items():
            e = {**base, "FUNDLEDGER_DATABASE_URL": srv.url(db, user), "FUNDLEDGER_LANG": "en"}
            _timed([*fundledger_cmd(), *args], e)      # warm-up: the server's cache, the .pyc files
            samples = [_timed([*fundledger_cmd(), *args], e) for _ in range(runs)]
            cpu = sorted(c for _, c in samples)[len(samples) // 2]
            env.log(f"  {name}: median wall {sorted(w for w, _ in samples)[len(samples) // 2] * 1000:.0f} ms, "
                    f"CPU {cpu * 1000:.0f} ms")
            out.append(Result(f"7. read command: {name}", f"warm server, {runs} runs", "ms",
                              [w * 1000 for w, _ in samples], reference="python -c pass", ref_samples=ref,
                              target="<= 300 ms", check=at_most(300.0),
                              note=f"process CPU (user + system) median {cpu * 1000:.0f} ms"))
    return out
