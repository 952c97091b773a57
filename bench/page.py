"""docs/benchmarks.md as the current page, rendered from the history in bench/history/.

Every `make bench` run is kept as one JSON file in ``bench/history/`` (machine, server
settings, load, every row with its same-run reference, and the run's commentary);
measurements made by hand are kept beside them as Markdown notes. The page itself holds
what a reader needs now: how to reproduce, the latest figure of every benchmark against
its target, what is missed and why (prose, kept by hand between the generated blocks),
and an index of the history it cites. ``python -m bench.page`` re-renders the generated
blocks; ``bench.run`` does so after every run, and a test fails when the page and the
history disagree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "bench" / "history"
PAGE = ROOT / "docs" / "benchmarks.md"

COLUMNS = ("benchmark", "dataset", "median", "min", "max", "reference", "ratio", "target", "met")
BLOCKS = ("current", "history")
SKELETON = """# Benchmarks

<!-- bench.page: current -->
<!-- /bench.page: current -->

<!-- bench.page: history -->
<!-- /bench.page: history -->
"""


def load_runs(history: Path = HISTORY) -> list[dict[str, Any]]:
    """Every recorded run, oldest first (file names are UTC stamps: they sort by time)."""
    runs = []
    for p in sorted(history.glob("*.json")):
        rec = json.loads(p.read_text(encoding="utf-8"))
        missing = [k for k in ("run", "time", "command", "machine", "loads", "results") if k not in rec]
        if missing:
            raise ValueError(f"{p}: missing {', '.join(missing)}")
        rec["file"] = p.name
        runs.append(rec)
    return runs


def load_notes(history: Path = HISTORY) -> list[tuple[str, str]]:
    """Hand-made measurements: (file name, title), oldest first."""
    out = []
    for p in sorted(history.glob("*.md")):
        first = p.read_text(encoding="utf-8").splitlines()[:1]
        out.append((p.name, first[0].lstrip("# ").strip() if first else p.stem))
    return out


def _load_text(loads: list[float]) -> str:
    return f"{min(loads):.1f}–{max(loads):.1f}" if loads else "—"


def current(runs: list[dict[str, Any]]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """The latest measurement of every benchmark: for each benchmark name, every row of
    the newest run that measured it (one name may have several datasets), in the order
    the newest full run lists them."""
    newest: dict[str, dict[str, Any]] = {}
    for run in runs:
        for row in run["results"]:
            newest[row["benchmark"]] = run
    order: list[str] = []
    for run in sorted(runs, key=lambda r: len(r["results"]), reverse=True)[:1] + list(reversed(runs)):
        for row in run["results"]:
            if row["benchmark"] not in order:
                order.append(row["benchmark"])
    return [(row, newest[name]) for name in order for row in newest[name]["results"]
            if row["benchmark"] == name]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_current(runs: list[dict[str, Any]]) -> str:
    rows = current(runs)
    if not rows:
        return "No run recorded yet: `make bench`."
    missed = sum(1 for row, _ in rows if "NO" in row["met"])
    met = sum(1 for row, _ in rows if row["met"] == "yes")
    out = [f"{len(rows)} figures from {len({r['file'] for _, r in rows})} runs; "
           f"{met} meet their target, **{missed} miss it**, the rest have no target of their own.",
           "",
           "| benchmark | dataset | median | reference (same run) | ratio | target | met? | run (load) |",
           "|---|---|---|---|---|---|---|---|"]
    for row, run in rows:
        out.append("| " + " | ".join(_cell(row[k]) for k in ("benchmark", "dataset", "median", "reference",
                                                              "ratio", "target", "met"))
                   + f" | [{run['time']}](../bench/history/{run['file']}) ({_load_text(run['loads'])}) |")
    out += ["", "Machine of the newest run: " + runs[-1]["machine"].rstrip(".") + "."]
    return "\n".join(out)


def render_history(runs: list[dict[str, Any]], notes: list[tuple[str, str]]) -> str:
    out = ["Runs of `make bench` (one JSON file each: every row with min, max, reference and",
           "the run's commentary and server profile):", "",
           "| run | command | load | rows | missed |", "|---|---|---|---|---|"]
    for run in reversed(runs):
        missed = sum(1 for r in run["results"] if "NO" in r["met"])
        out.append(f"| [{run['time']}](../bench/history/{run['file']}) | `{_cell(run['command'])}` | "
                   f"{_load_text(run['loads'])} | {len(run['results'])} | {missed} |")
    if notes:
        out += ["", "Measured by hand (Markdown notes):", ""]
        out += [f"- [{title}](../bench/history/{name})" for name, title in reversed(notes)]
    return "\n".join(out)


def render(page: str, runs: list[dict[str, Any]], notes: list[tuple[str, str]]) -> str:
    """``page`` with its generated blocks replaced; the text between them is kept."""
    blocks = {"current": render_current(runs), "history": render_history(runs, notes)}
    for name in BLOCKS:
        pat = re.compile(rf"(<!-- bench.page: {name} -->\n).*?(<!-- /bench.page: {name} -->)", re.S)
        if not pat.search(page):
            raise ValueError(f"the page has no block '{name}' (<!-- bench.page: {name} --> … "
                             f"<!-- /bench.page: {name} -->)")
        page = pat.sub(lambda m, text=blocks[name]: m.group(1) + text + "\n" + m.group(2), page)
    return page


def write(page: Path = PAGE, history: Path = HISTORY) -> Path:
    text = page.read_text(encoding="utf-8") if page.exists() else SKELETON
    page.write_text(render(text, load_runs(history), load_notes(history)), encoding="utf-8")
    return page


if __name__ == "__main__":
    print(f"wrote {write()}", file=sys.stderr)
