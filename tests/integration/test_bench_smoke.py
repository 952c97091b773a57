"""Every benchmark runs end to end at tiny sizes (``--quick``) against the test server.

No timing is asserted (figures at these sizes mean nothing); what is checked is that
each benchmark produces its rows, that the harness writes a dated table with its
reference columns, and that the workloads keep the ledger whole (verify clean, no
errors surfaced under contention)."""

from __future__ import annotations

from pathlib import Path

from bench import page, run
from tests.conftest import Server


def test_every_benchmark_runs_quick(pg_server: Server, template_db: str, tmp_path: Path) -> None:
    out = tmp_path / "section.md"
    history, page_path = tmp_path / "history", tmp_path / "benchmarks.md"
    results = run.main(["--quick", "--no-profile", "--out", str(out), "--json", str(tmp_path / "b.json"),
                        "--history", str(history), "--page", str(page_path)],
                       admin_url=pg_server.admin_url, template=template_db)

    names = {r.benchmark for r in results}
    # Nothing crashed: a failed benchmark reports itself with a note starting "the benchmark failed".
    assert not [r.note for r in results if r.note.startswith("the benchmark failed")]
    for prefix in ("1.", "2. single entry", "3. contention", "4. trial balance", "4. balance of one account", "6. demo",
                   "7. read command: balance", "7. read command: monitor"):
        assert any(n.startswith(prefix) for n in names), (prefix, sorted(names))
    assert any(n.startswith("5. verify") for n in names)

    single = [r for r in results if r.benchmark == "2. single entry"]
    assert [r.dataset.split(",")[0] for r in single] == ["1 client(s)", "2 client(s)"]
    for r in single:
        assert r.samples and r.ref_samples and r.ratio is not None and r.ratio > 0
    # The floor references ran and wrote what they claim without an error.
    floor = next(r for r in results if r.benchmark.startswith("2. single entry, floor"))
    assert floor.samples and floor.ref_samples and " errors: " not in floor.note
    bare = next(r for r in results if r.benchmark == "1. reference: bare indexed INSERT of the rows")
    assert bare.samples and bare.samples[0] > 0
    startup = [r for r in results if r.benchmark.startswith("7. read command")]
    assert all(r.samples and r.ref_samples and "process CPU" in r.note for r in startup), startup
    hot = next(r for r in results if r.benchmark.startswith("3. contention"))
    assert "errors surfaced: 0" in hot.note and hot.met is True

    copy = [r for r in results if r.reference == "plain COPY" or r.benchmark == "1. reference: plain COPY"]
    assert copy, "the import benchmark measures its COPY reference"

    verify = [r for r in results if r.benchmark == "5. verify"]
    if verify and verify[0].available:
        assert verify[0].note.startswith("the ledger verified clean")
    independent = [r for r in results if r.benchmark == "5b. verify, independent verdict (Python)"]
    assert independent and independent[0].samples and independent[0].samples[0] > 0
    assert independent[0].note.startswith("the ledger verified clean"), independent[0].note

    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks")
    assert "| benchmark | dataset | median | min | max | reference (same run) | ratio | target | met? |" in text
    assert "PostgreSQL " in text and "synchronous_commit=on" in text
    assert (tmp_path / "b.json").exists()
    # The run is kept as data and the page is rendered from it: every row, with its reference.
    [kept] = page.load_runs(history)
    assert [r["benchmark"] for r in kept["results"]] == [r.benchmark for r in results]
    rendered = page_path.read_text(encoding="utf-8")
    assert f"(../bench/history/{kept['file']})" in rendered
    assert "| 2. single entry | 1 client(s)" in rendered and "simple_transfer(): " in rendered
