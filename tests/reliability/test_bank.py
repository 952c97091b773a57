"""Jepsen-style bank workload: concurrent worker processes move money among the units'
accounts (the pooled special account is the hot spot) while a reader checks, at every
read, that bank money + expenditure = collections and no physical account is negative.

A deliberately weak control (check-then-act in Python at READ COMMITTED, no lock) runs
the same workload on a scratch table and must FAIL the same checks: the test can fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.reliability.conftest import Procs, wait_for
from tests.reliability.invariants import ledger_violations, log_violations, seed_ledger, summarize

SEED_FEN = 2_000_000   # 20,000.00 yuan collected per county before the run
WEAK_ACCOUNTS = 6


def run_workload(kind: str, url: str, procs: Procs, tmp: Path, workers: int, seconds: float, seed: int,
                 total: int = 0, ops: int = 10**9) -> tuple[dict[str, Any], list[Path]]:
    """Start the reader, then the workers; stop the reader when they are done."""
    stop, rlog = tmp / "stop", tmp / "reader.json"
    reader = procs.spawn("reader", "--url", url, "--kind", kind, "--total", str(total),
                         "--log", str(rlog), "--stop-file", str(stop))
    wait_for(Path(str(rlog) + ".ready"))
    logs = [tmp / f"w{i}.log" for i in range(workers)]
    mode = ["bank", "--user", "fin"] if kind == "ledger" else ["weak"]
    ws = [procs.spawn(*mode, "--url", url, "--log", str(logs[i]), "--seed", str(seed * 1000 + i),
                      "--prefix", f"w{i}", "--seconds", str(seconds), "--ops", str(ops)) for i in range(workers)]
    for w in ws:
        err = procs.wait(w, seconds + 120)
        assert w.returncode == 0, err[-3000:]
    stop.touch()
    err = procs.wait(reader)
    assert reader.returncode == 0, err[-3000:]
    return json.loads(rlog.read_text()), logs


def weak_final_violations(conn: psycopg.Connection, logs: list[Path]) -> list[str]:
    """The end-of-run checks of the ledger, applied to the scratch table."""
    s = summarize(logs)
    bad = list(s.problems)
    rows = conn.execute("""
        SELECT w.id, w.balance,
               %s + coalesce((SELECT sum(amount) FROM public.weak_transfer t WHERE t.dst = w.id), 0)
                  - coalesce((SELECT sum(amount) FROM public.weak_transfer t WHERE t.src = w.id), 0) AS recomputed
          FROM public.weak_account w ORDER BY w.id""", (SEED_FEN,)).fetchall()
    for r in rows:
        if r["balance"] < 0:
            bad.append(f"weak account {r['id']} is negative: {r['balance']}")
        if r["balance"] != r["recomputed"]:
            bad.append(f"weak account {r['id']}: balance {r['balance']} ≠ transfers {r['recomputed']} (lost update)")
    counts = {r["key"]: r["n"] for r in conn.execute("SELECT key, count(*) AS n FROM public.weak_transfer GROUP BY key")}
    bad += [f"acknowledged transfer {k} present {counts.get(k, 0)} times" for k in s.acked if counts.get(k, 0) != 1]
    return bad


def check(reader: dict[str, Any], final: list[str]) -> list[str]:
    return [*reader["examples"], *([f"{reader['violations']} bad reads"] if reader["violations"] else []), *final]


def _bank(ledger_db: Any, procs: Procs, tmp_path: Path, figures: dict[str, Any], workers: int, seconds: float,
          name: str, ops: int = 10**9) -> None:
    """Workers post for ``seconds`` or ``ops`` batches each, whichever ends first. The short
    run counts batches, not seconds: a loaded machine must not thin out what it checks."""
    fin = ledger_db.connect("fin", autocommit=True)
    seeded = seed_ledger(fin, SEED_FEN)
    reader, logs = run_workload("ledger", ledger_db.url(), procs, tmp_path, workers, seconds, seed=8, ops=ops)
    s = summarize(logs)
    admin = ledger_db.admin()
    from psycopg.rows import dict_row
    admin.row_factory = dict_row
    final = ledger_violations(admin) + log_violations(admin, s)
    found = check(reader, final)
    n = admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]
    figures[name] = {"workers": workers, "seconds": seconds, "reads": reader["reads"], "entries": n,
                     **s.counts(), "invariant_violations": len(found)}
    assert found == []
    assert reader["reads"] > 10
    c = s.counts()
    assert c["batches_acked"] > workers * 10
    assert c["batches_outcome_unknown"] == 0          # no connection trouble in this test
    assert n == len(s.acked) + seeded          # every acknowledged entry once, nothing else
    # Entries that committed while another commit held the chain head were queued; one
    # call seals them all, in order, and the ledger is still whole.
    queued = admin.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"]
    fin.execute("SELECT fl.seal_pending()")
    assert admin.execute("SELECT count(*) AS n FROM fl.seal_queue").fetchone()["n"] == 0
    assert admin.execute("SELECT count(*) AS n FROM fl.seal").fetchone()["n"] == n
    assert ledger_violations(admin) == []
    figures[name]["queued_at_rest"] = queued
    if ops == 10**9 and seconds >= 30:            # the long, time-bound run
        assert c["batches_refused"] > 0               # the overdraft refusal path was exercised


def _weak(ledger_db: Any, procs: Procs, tmp_path: Path, figures: dict[str, Any], workers: int, ops: int,
          name: str) -> None:
    """``ops`` transfers per worker (not a time budget: a loaded machine must not make
    the control pass by doing too little)."""
    admin = ledger_db.admin()
    from psycopg.rows import dict_row
    admin.row_factory = dict_row
    admin.execute("CREATE TABLE public.weak_account (id int PRIMARY KEY, balance bigint NOT NULL)")
    admin.execute("CREATE TABLE public.weak_transfer (key text, src int, dst int, amount bigint)")
    admin.execute("INSERT INTO public.weak_account SELECT g, %s FROM generate_series(1, %s) g", (SEED_FEN, WEAK_ACCOUNTS))
    reader, logs = run_workload("weak", ledger_db.url(), procs, tmp_path, workers, 120, seed=9,
                                total=SEED_FEN * WEAK_ACCOUNTS, ops=ops)
    found = check(reader, weak_final_violations(admin, logs))
    figures[name] = {"workers": workers, "transfers_per_worker": ops, "reads": reader["reads"],
                     "bad_reads": reader["violations"], "violations_found": len(found)}
    # The checker must catch the weak implementation: lost updates break conservation.
    assert found, "the checker did not notice lost updates in the weak control"
    assert any("lost update" in v or "≠ collected" in v for v in found)


def test_bank_short(ledger_db: Any, procs: Procs, tmp_path: Path, figures: dict[str, Any]) -> None:
    _bank(ledger_db, procs, tmp_path, figures, workers=4, seconds=120, ops=15, name="bank_short")


def test_weak_control_is_caught_short(ledger_db: Any, procs: Procs, tmp_path: Path, figures: dict[str, Any]) -> None:
    _weak(ledger_db, procs, tmp_path, figures, workers=4, ops=80, name="weak_short")


@pytest.mark.slow
def test_bank_long(ledger_db: Any, procs: Procs, tmp_path: Path, figures: dict[str, Any]) -> None:
    _bank(ledger_db, procs, tmp_path, figures, workers=12, seconds=60, name="bank")


@pytest.mark.slow
def test_weak_control_is_caught_long(ledger_db: Any, procs: Procs, tmp_path: Path, figures: dict[str, Any]) -> None:
    _weak(ledger_db, procs, tmp_path, figures, workers=12, ops=2000, name="weak")
