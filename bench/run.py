"""Run the benchmarks, keep the run in bench/history/ and re-render docs/benchmarks.md.

    python -m bench.run [--quick] [--only NAME] [--scale N] [--history DIR] [--page FILE]
                        [--out FILE] [--json FILE]

NAME: import, single (single entries and contention), reads (reads at scale and
verify), demo, startup (a read command's wall time on a warm server). ``--quick`` runs
every benchmark at tiny sizes (the smoke test); ``--scale`` multiplies the dataset sizes (1 = the issue's sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import page, report
from bench.common import Env, Result, machine, server

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("import", "single", "reads", "demo", "startup")


def _module(name: str) -> Callable[[Env, dict[str, Any]], list[Result]]:
    from bench import demo, imports, reads, single, startup

    return {"import": imports.run, "single": single.run, "reads": reads.run, "demo": demo.run,
            "startup": startup.run}[name]


def main(argv: list[str] | None = None, *, admin_url: str | None = None,
         template: str | None = None) -> list[Result]:
    """Run, print and append; ``admin_url``/``template``: use that server and clone that
    migrated database instead of starting servers (the smoke test)."""
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, no timing claims (the smoke test)")
    ap.add_argument("--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply dataset sizes (default 1)")
    ap.add_argument("--history", type=Path, default=None,
                    help="keep the run here as JSON (default bench/history; with --quick, nowhere)")
    ap.add_argument("--page", type=Path, default=None,
                    help="re-render this page from the history (default docs/benchmarks.md with the default history)")
    ap.add_argument("--out", type=Path, default=None, help="also append the run as a Markdown section here")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--no-profile", action="store_true", help="skip pg_stat_user_functions profiling")
    a = ap.parse_args(argv)
    if admin_url is None and threading.current_thread() is threading.main_thread():
        # `kill PID` unwinds like Ctrl-C, so every benchmark's finally stops its server.
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
    history = a.history if a.history is not None else (None if a.quick else page.HISTORY)
    page_path = a.page if a.page is not None else (page.PAGE if history == page.HISTORY else None)

    started = time.perf_counter()
    env = Env(quick=a.quick, scale=a.scale, admin_url=admin_url, template=template, profile=not a.no_profile,
              log=lambda s: print(f"[{time.perf_counter() - started:7.1f}s] {s}", flush=True))
    results: list[Result] = []
    profiles: dict[str, Any] = {}
    failed = []
    loads = []
    for name in a.only or BENCHMARKS:
        loads.append(os.getloadavg()[0])
        env.log(f"== {name} (load average {loads[-1]:.1f})")
        try:
            results += _module(name)(env, profiles)
        except Exception as e:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            results.append(Result(name, "—", "", [], note=f"the benchmark failed: {type(e).__name__}: {e}",
                                  available=False))
    if not env.settings:
        with server(env):
            pass
    loads.append(os.getloadavg()[0])
    settings = env.settings
    args = " ".join(argv if argv is not None else sys.argv[1:])
    elapsed = time.perf_counter() - started
    text = report.section(results, machine=machine(), settings=settings, args=args, profiles=profiles, loads=loads,
                          elapsed=elapsed)
    print(text)
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        with open(a.out, "a", encoding="utf-8") as f:
            f.write(("" if a.out.exists() and a.out.stat().st_size else "# Benchmarks\n") + "\n" + text)
    if history is not None:
        rec = report.record(results, machine=machine(), settings=settings, args=args, profiles=profiles,
                            loads=loads, elapsed=elapsed)
        history.mkdir(parents=True, exist_ok=True)
        (history / f"{rec['run']}.json").write_text(json.dumps(rec, ensure_ascii=False, indent=1) + "\n",
                                                   encoding="utf-8")
        if page_path is not None:
            print(f"wrote {history / (rec['run'] + '.json')} and {page.write(page_path, history)}")
    if a.json:
        a.json.write_text(json.dumps([r.as_json() for r in results], ensure_ascii=False, indent=1), encoding="utf-8")
    if failed and not a.quick:
        print(f"benchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
    return results


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
