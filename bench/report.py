"""One run of the benchmarks, as a dated Markdown section (machine, server settings, the
table of figures beside their references, misses with their profile, and notes) and as
the JSON record kept in bench/history/ that docs/benchmarks.md is rendered from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.common import Result, fmt


def _met(r: Result) -> str:
    if not r.available:
        return "not yet available"
    return {True: "yes", False: "**NO**", None: "—"}[r.met]


def cells(r: Result) -> dict[str, str]:
    """A row as the table shows it (the history keeps these, beside the raw samples)."""
    if not r.available:
        return {"benchmark": r.benchmark, "dataset": r.dataset, "median": "—", "min": "—", "max": "—",
                "reference": "—", "ratio": "—", "target": r.target or "—", "met": "not yet available"}
    return {"benchmark": r.benchmark, "dataset": r.dataset, "median": fmt(r.median, r.unit),
            "min": fmt(min(r.samples), r.unit), "max": fmt(max(r.samples), r.unit),
            "reference": f"{r.reference}: {fmt(r.ref_median, r.unit)}" if r.reference else "—",
            "ratio": f"{r.ratio:.2f}×" if r.ratio is not None else "—", "target": r.target or "—",
            "met": _met(r)}


def machine_text(machine: dict[str, str]) -> str:
    return (f"{machine['cores']} cores ({machine['cpu']}), {machine['memory']} RAM, {machine['os']}, "
            f"Python {machine['python']}")


def settings_text(settings: dict[str, str]) -> str:
    return ("PostgreSQL " + settings.get("server_version", "?") + " (embedded, one private server per benchmark), "
            + ", ".join(f"{k}={v}" for k, v in settings.items() if k != "server_version") + ".")


def record(results: list[Result], *, machine: dict[str, str], settings: dict[str, str], args: str,
           profiles: dict[str, dict[str, Any]], elapsed: float, loads: list[float],
           now: dt.datetime | None = None) -> dict[str, Any]:
    """The run as bench/history keeps it (bench/page.py renders the page from these)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    text = section(results, machine=machine, settings=settings, args=args, profiles=profiles,
                   elapsed=elapsed, loads=loads, now=now)
    commentary = text.split("\n### ", 1)
    return {"run": f"{now:%Y-%m-%dT%H%MZ}", "time": f"{now:%Y-%m-%d %H:%M} UTC",
            "command": f"python -m bench.run {args}".rstrip(), "machine": machine_text(machine) +
            f". Total bench time {elapsed:,.0f} s.", "loads": [round(x, 1) for x in loads],
            "postgresql": settings_text(settings), "results": [cells(r) for r in results],
            "raw": [r.as_json() for r in results],
            "commentary_markdown": ("### " + commentary[1]).strip() if len(commentary) > 1 else ""}


def section(results: list[Result], *, machine: dict[str, str], settings: dict[str, str], args: str,
            profiles: dict[str, dict[str, Any]], elapsed: float, loads: list[float] | None = None,
            now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now().astimezone()
    out = [f"## Run of {now:%Y-%m-%d %H:%M %Z} (`python -m bench.run {args}`)".rstrip(), ""]
    out.append(f"Machine: {machine_text(machine)}. Total bench time {elapsed:,.0f} s.")
    if loads:
        out.append(f"1-minute load average at the start of each benchmark and at the end: "
                   f"{', '.join(f'{x:.1f}' for x in loads)} (above {machine['cores']} means other processes shared "
                   "the cores during the run: absolute figures are then pessimistic, the same-run ratios less so).")
    out.append(settings_text(settings))
    out.append("")
    out.append("| benchmark | dataset | median | min | max | reference (same run) | ratio | target | met? |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        out.append("| " + " | ".join(cells(r).values()) + " |")
    out.append("")
    missed = [r for r in results if r.met is False]
    if missed:
        out.append("### Missed targets")
        out.append("")
        for r in missed:
            out.append(f"- **{r.benchmark}** ({r.dataset}): {fmt(r.median, r.unit)} against {r.target}. {r.note}".rstrip())
        out.append("")
    absent = [r for r in results if not r.available]
    if absent:
        out.append("### Not yet available")
        out.append("")
        for r in absent:
            out.append(f"- {r.benchmark} ({r.dataset}): {r.note}")
        out.append("")
    notes = [r for r in results if r.available and r.note and r.met is not False]
    if notes:
        out.append("### Notes")
        out.append("")
        for r in notes:
            out.append(f"- {r.benchmark} ({r.dataset}): {r.note}")
        out.append("")
    prof = {k: v for k, v in profiles.items() if v and (v.get("functions") or v.get("statements"))}
    if prof:
        out.append("### Where the server's time went")
        out.append("")
        out.append("pg_stat_user_functions (track_functions = all: total includes callees, self does not) and "
                   "pg_stat_statements (track = all: statements nested in plpgsql functions appear on their own; "
                   "`top` marks the client's statement).")
        out.append("")
        for name, p in prof.items():
            out.append(f"**{name}**")
            out.append("")
            if p.get("functions"):
                out.append("| function | calls | total ms | self ms |")
                out.append("|---|---|---|---|")
                for row in p["functions"]:
                    out.append(f"| {row['function']} | {row['calls']:,} | {row['total_ms']:,} | {row['self_ms']:,} |")
                out.append("")
            if p.get("statements"):
                out.append("| statement | calls | top | total ms | mean ms | rows |")
                out.append("|---|---|---|---|---|---|")
                for row in p["statements"]:
                    q = row["query"].replace("|", "\\|")
                    out.append(f"| `{q}` | {row['calls']:,} | {'top' if row['toplevel'] else ''} | "
                               f"{row['total_ms']:,} | {row['mean_ms']} | {row['rows']:,} |")
                out.append("")
    return "\n".join(out) + "\n"
