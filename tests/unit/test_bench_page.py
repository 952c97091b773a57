"""docs/benchmarks.md is rendered from bench/history/: the two must agree.

The page is the current one (latest figure of each benchmark against its target, with
its same-run reference); the runs behind it are kept as data. These tests hold the page
to the history it cites, and check that a new run recorded by ``bench.run`` supersedes
the older figures of the benchmarks it measured and only those."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bench import page, report
from bench.common import Result, at_least

MACHINE = {"cores": "2", "cpu": "Test CPU", "memory": "1.0 GiB", "os": "Linux", "python": "3.11"}


def test_the_page_is_rendered_from_the_history() -> None:
    text = page.PAGE.read_text(encoding="utf-8")
    expected = page.render(text, page.load_runs(), page.load_notes())
    assert text == expected, "docs/benchmarks.md is stale: run `python -m bench.page`"


def test_every_recorded_run_has_its_rows_whole() -> None:
    runs = page.load_runs()
    assert runs, "bench/history holds no run"
    for run in runs:
        assert run["run"] in run["file"], run["file"]
        for row in run["results"]:
            assert set(page.COLUMNS) <= set(row), (run["file"], row)
            assert row["met"] in {"yes", "**NO**", "—", "not yet available"}, (run["file"], row["met"])


def test_every_link_of_the_page_names_a_file_of_the_history() -> None:
    text = page.PAGE.read_text(encoding="utf-8")
    links = [name for part in text.split("](../bench/history/")[1:] if (name := part.split(")")[0])]
    assert links
    for name in links:
        assert (page.HISTORY / name).is_file(), name


def _write_run(history: Path, when: dt.datetime, results: list[Result]) -> dict[str, object]:
    rec = report.record(results, machine=MACHINE, settings={"server_version": "18.6"}, args="--only reads",
                        profiles={}, elapsed=12.0, loads=[0.4, 1.2], now=when)
    (history / f"{rec['run']}.json").write_text(json.dumps(rec), encoding="utf-8")
    return rec


def test_a_new_run_supersedes_only_what_it_measured(tmp_path: Path) -> None:
    old = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)
    new = old + dt.timedelta(days=1)
    _write_run(tmp_path, old, [
        Result("5. verify", "1,000 postings", "postings/s", [500_000, 400_000, 600_000], target=">= 1,000,000",
               check=at_least(1_000_000)),
        Result("6. demo at default scale", "default", "s", [7.0, 8.0, 6.0], target="< 60 s",
               check=lambda m, _r: m < 60)])
    _write_run(tmp_path, new, [
        Result("5. verify", "2,000 postings", "postings/s", [1_200_000, 1_100_000, 1_300_000],
               reference="verify at 1,000 postings", ref_samples=[1_000_000], target=">= 1,000,000",
               check=at_least(1_000_000))])
    out = tmp_path / "benchmarks.md"
    page.write(out, tmp_path)
    text = out.read_text(encoding="utf-8")
    current = text.split("<!-- /bench.page: current -->")[0]
    assert "| 5. verify | 2,000 postings | 1,200,000 postings/s | verify at 1,000 postings: 1,000,000 postings/s " \
           "| 1.20× | >= 1,000,000 | yes | [2026-01-02 10:00 UTC](../bench/history/2026-01-02T1000Z.json) " \
           "(0.4–1.2) |" in current
    assert "500,000 postings/s" not in current
    assert "| 6. demo at default scale | default | 7.00 s |" in current and "2026-01-01T1000Z.json" in current
    assert "2 meet their target, **0 miss it**" in current
    history = text.split("<!-- bench.page: history -->")[1]
    assert history.index("2026-01-02 10:00") < history.index("2026-01-01 10:00")
    # Hand-written text between the blocks survives a re-render.
    out.write_text(text.replace("<!-- bench.page: history -->", "Kept by hand.\n\n<!-- bench.page: history -->"),
                   encoding="utf-8")
    page.write(out, tmp_path)
    assert "Kept by hand." in out.read_text(encoding="utf-8")
