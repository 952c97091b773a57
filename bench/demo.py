"""Benchmark 6: `fundledger demo` at its default scale, timed end to end (target < 60 s).

The demo runs as its own process with ``FUNDLEDGER_HOME`` in a temporary directory, so
it starts (and must stop) a private embedded server there; the bench stops that server
in a ``finally`` in case the demo did not. ``--quick`` only checks the command exists
(a whole demo does not fit the smoke test's budget).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import Env, Result, at_most, measured, unavailable
from bench.imports import fundledger_cmd


def _available(home: Path) -> bool:
    r = subprocess.run([*fundledger_cmd(), "demo", "--help"], capture_output=True, text=True,
                       env={**os.environ, "FUNDLEDGER_HOME": str(home)})
    return r.returncode == 0


def run(env: Env, profiles: dict) -> list[Result]:  # type: ignore[type-arg]
    from ledger.store import embedded

    name = "6. demo at default scale"
    runs = 3
    secs: list[float] = []
    peak: list[float] = []
    for _ in range(runs):
        home = Path(tempfile.mkdtemp(prefix="fl-bench-demo-"))
        try:
            if not _available(home):
                return [unavailable(name, "default scale", "`fundledger demo` is not in the tree yet (issue 4)")]
            if env.quick:
                return [unavailable(name, "default scale", "skipped in --quick (the command exists)")]
            e = {k: v for k, v in os.environ.items() if k not in ("FUNDLEDGER_DATABASE_URL", "FUNDLEDGER_USER")}
            e["FUNDLEDGER_HOME"] = str(home)
            m = measured([*fundledger_cmd(), "demo", "--out", str(home / "out")], e)
            if m.exit_code != 0:
                return [Result(name, "default scale", "s", [], note=f"the demo failed: {m.output[-800:]}",
                               available=False)]
            secs.append(m.seconds)
            peak.append(m.usage.ru_maxrss / 1024)
            env.log(f"  demo: {m.seconds:.1f} s, peak RSS {peak[-1]:.0f} MB")
        finally:
            embedded.stop(home, mode="fast")
            shutil.rmtree(home, ignore_errors=True)
    return [Result(name, "default scale (fresh embedded server each run)", "s", secs, target="< 60 s",
                   check=at_most(60.0), note=f"peak RSS of the demo process {max(peak):.0f} MB")]
