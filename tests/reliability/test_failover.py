"""A synchronous standby that takes over (issue 19), on the wheel's PostgreSQL 18 with
SCRAM passwords over TCP.

1. The standby is made with ``db standby create`` and is hot: the auditor's read
   commands, ``verify`` and the reports run on it.
2. The synchronous standby is lost: commits wait (never silently acknowledged by one
   machine) until the operator runs ``db standby async --reason …``, which is recorded
   in the operations log before it takes effect.
3. Writers post through the library (``Writer``: a write whose outcome is unknown is
   sent again with the same keys) to a URL listing both servers with
   ``target_session_attrs=read-write``, while the primary is killed (kill -9, every
   process) — ``rounds`` times: promote with fencing, the old primary tried (it starts
   only as a standby and refuses writes), rejoined with pg_rewind, and the roles swap.
   Every acknowledged entry on the last primary, none twice, every batch whole, the
   chain continuous and ``verify`` clean.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.core.entries import parse_entries
from ledger.store import journal, pgtools, standby
from ledger.store.db import StalePrimary, Target, Writer
from tests.conftest import USERS, run_cli
from tests.helpers import background
from tests.reliability.cluster import (
    SUPER_PW,
    Node,
    bootstrap_ledger,
    free_port,
    make_primary,
    password_of,
    write_passfile,
)
from tests.reliability.conftest import Procs, wait_for
from tests.reliability.invariants import ledger_violations, log_violations, read_log, seed_ledger, summarize

pytestmark = pytest.mark.db


@pytest.fixture
def tmp() -> Iterator[Path]:
    """Outside pytest's temporary root (other sessions reset it to 0700: the server's
    user must traverse it)."""
    p = Path(tempfile.mkdtemp(prefix="fl-fo-"))
    saved = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(p / "pgpass")
    os.environ["FUNDLEDGER_STATE_DIR"] = str(p)   # the writers' epochs (highest timeline written on)
    write_passfile(p / "pgpass", [("postgres", SUPER_PW)] + [(u, password_of(u)) for u, _r, _n in USERS])
    try:
        yield p
    finally:
        for d in p.iterdir():
            if (d / "PG_VERSION").exists():
                pgtools.LocalServer.for_datadir(d, socket_dir=p / f"sock-{d.name}").stop("immediate")
        os.environ.pop("FUNDLEDGER_STATE_DIR", None)
        if saved is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = saved
        shutil.rmtree(p, ignore_errors=True)


def cli(node: Node, *args: str, user: str | None = None) -> Any:
    return run_cli(list(args), url=node.url(), user=user)


def wait_replayed(primary: Node, stby: Node, timeout: float = 30) -> None:
    with primary.connect() as p:
        lsn = p.execute("SELECT pg_current_wal_lsn()::text AS l").fetchone()["l"]  # type: ignore[index]
    end = time.monotonic() + timeout
    with stby.connect() as s:
        while not s.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn AS ok", (lsn,)).fetchone()["ok"]:  # type: ignore[index]
            if time.monotonic() > end:
                raise TimeoutError("the standby did not replay")
            time.sleep(0.05)


def both(a: Node, b: Node) -> str:
    """What the offices' clients use: both servers, whichever is the primary."""
    return (f"postgresql://postgres@127.0.0.1:{a.port},127.0.0.1:{b.port}/fundledger"
            "?target_session_attrs=read-write&connect_timeout=3")


def acks_after(logs: list[Path], t: float) -> list[float]:
    return sorted(r["ts"] for p in logs for r in read_log(p) if r["t"] == "A" and r["ts"] > t)


@pytest.mark.parametrize("rounds", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_sync_standby_lost_then_failover(tmp: Path, procs: Procs, figures: dict[str, Any], rounds: int) -> None:
    a = make_primary(tmp / "a", pgtools.wheel_bindir())
    bootstrap_ledger(a)
    with a.connect("fin") as c:     # SCRAM over TCP, the password from PGPASSFILE
        seed_ledger(c, 5_000_000)
        assert c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()["ssl"] is False
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(a.url("fin") + f"?password={password_of('rev')}&passfile=/dev/null", connect_timeout=5)
    # On 16+ an admin (not the DBA) resets passwords and disables logins, through fl's definer functions.
    r = cli(a, "user", "passwd", "rev2", "--password-file", "-", user="admin")
    assert r.exit_code != 0   # no password given on standard input: nothing changes
    assert run_cli(["user", "passwd", "rev2", "--password-file", "-"], url=a.url(), user="admin",
                   input="Reset-By-Admin-2026!\n").exit_code == 0
    psycopg.connect(a.url("rev2") + "?password=Reset-By-Admin-2026!&passfile=/dev/null", connect_timeout=5).close()
    assert cli(a, "user", "disable", "rev2", "--reason", "left", user="admin").exit_code == 0
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(a.url("rev2") + "?password=Reset-By-Admin-2026!&passfile=/dev/null", connect_timeout=5)
    assert cli(a, "user", "enable", "rev2", "--reason", "back", user="admin").exit_code == 0

    # ---- 1. the standby, hot ---------------------------------------------------------------
    r = cli(a, "db", "standby", "create", str(tmp / "b"), "--name", "standby1", "--reason", "new city layout",
            "--json")
    assert r.exit_code == 0, r
    b = Node(tmp / "b", pgtools.wheel_bindir(), free_port())
    b.start()
    standby.wait_streaming(a.url(), "standby1")
    with a.connect() as c:
        rep = c.execute("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'").fetchone()
        assert rep is not None and rep["sync_state"] == "sync"
    wait_replayed(a, b)
    # every read command the auditor and the offices use, on the hot standby
    assert cli(a, "audit", "digest", "--out", str(tmp / "filed.json"), user="aud").exit_code == 0
    wait_replayed(a, b)
    reads = (["verify"], ["verify", "--fast", "--json"], ["report", "trial-balance", "--json"], ["journal", "--json"],
             ["report", "balance-sheet", "--json"], ["report", "income", "--year", "2023", "--json"],
             ["report", "vouchers", "--json"], ["report", "ledger", "RES:1003:230822:special", "--json"],
             ["report", "registers", "--json"], ["report", "requests", "--year", "2023", "--json"],
             ["report", "shortfall", "--year", "2023", "--json"], ["report", "budget-execution", "--year", "2023",
                                                                   "--json"],
             ["report", "trial-balance", "--xlsx", str(tmp / "tb.xlsx")], ["monitor", "--json"],
             ["chart", "monitor", "--year", "2023", "--out", str(tmp / "m.png")], ["forecast", "--json"],
             ["account", "list", "--json"], ["unit", "list", "--json"], ["user", "list", "--json"],
             ["request", "list", "--json"], ["register", "list", "--json"], ["budget", "show", "--year", "2023",
                                                                             "--json"],
             ["reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2023-12-31", "--json"],
             ["audit", "trail", "1", "--json"], ["entry", "show", "1", "--json"],
             ["audit", "check-digest", str(tmp / "filed.json")], ["audit", "digest", "--out", str(tmp / "d.json")],
             ["audit", "export", str(tmp / "export")], ["verify", "--offline", str(tmp / "export"), "--no-digest"],
             ["db", "log", "--json"])
    for args in reads:
        rr = cli(b, *args, user="aud")
        assert rr.exit_code == 0, (args, rr)
    st = cli(b, "db", "standby", "status", "--url", b.url(), "--json")
    assert st.exit_code == 0 and st.json()["role"] == "standby", st

    # ---- 2. the synchronous standby is lost: commits wait until the operator decides ---------
    b.stop()
    done: list[Any] = []
    drafts = parse_entries([{"date": "2023-02-01", "book": "RES", "idempotency_key": "seed-while-alone",
                             # (no bank account and no 3xxx-5xxx moves: it posts at once rather than waiting for a second person)
                             "postings": [{"account": "1101", "unit": "230822", "side": "D", "amount": "1.00"},
                                          {"account": "2001", "unit": "230822", "side": "C", "amount": "1.00"}]}],
                           "alone")
    w = Writer(Target(url=a.url(), user="fin"), within=5)
    t = threading.Thread(target=lambda: done.append(w.run(lambda c: journal.post(c, drafts))))
    t.start()
    time.sleep(1.5)
    assert t.is_alive() and not done, "a commit was acknowledged with the synchronous standby gone"
    with a.connect() as c:
        assert c.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
                         ).fetchone()["n"] >= 1  # type: ignore[index]
    chk = cli(a, "db", "check", "--json")
    assert chk.exit_code == 1 and {i["name"]: i for i in chk.json()["items"]}["sync_standby"]["status"] == "fail"
    no_reason = cli(a, "db", "standby", "async", "--reason", " ")
    assert no_reason.exit_code != 0 and t.is_alive()
    dec = cli(a, "db", "standby", "async", "--reason", "standby disk failed; bureau director approved", "--json")
    assert dec.exit_code == 0, dec
    t.join(15)
    assert not t.is_alive() and done and done[0][0].status == "posted"
    w.close()
    with a.connect() as c:
        last = c.execute("SELECT action, actor, reason, detail FROM fl.operation_log ORDER BY id DESC LIMIT 1"
                         ).fetchone()
    assert last is not None and last["action"] == "standby_async" and last["actor"] == "postgres"
    assert "director" in last["reason"] and last["detail"]["commits_waiting"] >= 1
    b.start()
    assert cli(a, "db", "standby", "sync", "--name", "standby1", "--reason", "standby repaired").exit_code == 0
    standby.wait_streaming(a.url(), "standby1")

    # ---- 3. kill -9 the primary under load, promote, fence, rejoin ----------------------------
    logs = [tmp / f"w{i}.log" for i in range(2)]
    for i, log in enumerate(logs):
        procs.spawn("bank", "--url", both(a, b), "--user", "fin", "--log", str(log), "--seed", str(100 + i),
                    "--prefix", f"f{i}", "--seconds", "600", "--max-batch", "4", "--fsync",
                    "--failover", "90", "--stop-file", str(tmp / "stop"))
    for log in logs:
        wait_for(log)
    primary, stby = a, b
    rounds_out = []
    for rnd in range(rounds):
        time.sleep(1.0)
        assert acks_after(logs, time.time() - 1.0), "the writers are not writing"
        primary.kill9()
        t_kill = time.time()   # every process of the old primary is gone: later acks are the new one's
        # an officer's CLI post sent meanwhile waits for the new primary (FUNDLEDGER_FAILOVER_SECONDS)
        doc = tmp / f"during-{rnd}.json"
        doc.write_text(json.dumps([{"date": "2023-03-01", "book": "RES", "idempotency_key": f"seed-cli-{rnd}",
                                    "postings": [{"account": "1101", "unit": "230822", "side": "D", "amount": "2.00"},
                                                 {"account": "2001", "unit": "230822", "side": "C",
                                                  "amount": "2.00"}]}]), "utf-8")
        during, during_out = background(lambda d=doc: run_cli(
            ["entry", "post", str(d), "--json"], url=both(a, b), user="o22",
            env={"FUNDLEDGER_FAILOVER_SECONDS": "60"}))
        out = standby.promote(stby.url(), reason=f"primary lost (round {rnd + 1})", old_primary=primary.url(),
                              old_pgdata=primary.pgdata)
        assert out["timeline"] == rnd + 2   # the epoch: one more at every promotion
        end = time.monotonic() + 60
        while not acks_after(logs, t_kill):
            assert time.monotonic() < end, "no write acknowledged on the new primary"
            time.sleep(0.05)
        first = acks_after(logs, t_kill)[0]
        during.join(60)
        r = during_out["result"]
        assert r.exit_code == 0 and r.json()[0]["status"] == "posted", r
        # The fenced old primary, started again, is a standby: it refuses every write.
        primary.start()
        assert primary.in_recovery()
        with primary.connect("fin") as c, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            seed_ledger(c, 10_000)
        primary.stop()
        if rnd == 0:
            # An operator's mistake: the fence removed by hand. The old primary is writable
            # again, on the old timeline; a client that has written on the new one refuses
            # it (the epoch). (Its start may recycle WAL pg_rewind needs: with a WAL archive
            # rejoin --archive fetches it; this test has none, so only the first round.)
            (primary.pgdata / "standby.signal").unlink()
            primary.start()
            assert not primary.in_recovery()
            stale = Writer(Target(url=primary.url(), user="fin"), within=5)
            with pytest.raises(StalePrimary, match=r"old primary|旧主库"):
                stale.run(lambda c: journal.post(c, drafts))
            stale.close()
            primary.stop()
        rej = standby.rejoin(primary.pgdata, stby.url(), name="standby1", reason="rewound after failover")
        assert rej["synchronous_standby_names"] == 'FIRST 1 ("standby1")'
        primary.start()
        standby.wait_streaming(stby.url(), "standby1")
        rounds_out.append({"seconds_kill_to_first_ack": round(first - t_kill, 2),
                           "promote_seconds": out["seconds"], "rewind_seconds": rej["seconds"]})
        primary, stby = stby, primary
    time.sleep(1.0)
    (tmp / "stop").touch()
    for p in list(procs.procs):
        err = procs.wait(p, timeout=120)
        assert p.returncode == 0, err[-3000:]

    s = summarize(logs)
    with primary.connect() as admin:
        bad = ledger_violations(admin) + log_violations(admin, s)
        n_entries = admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]  # type: ignore[index]
        n_keys = admin.execute("SELECT count(DISTINCT idempotency_key) AS n FROM fl.entry").fetchone()["n"]  # type: ignore[index]
        ops = [r["action"] for r in admin.execute("SELECT action FROM fl.operation_log ORDER BY id")]
    assert bad == []
    for node in (primary, stby):   # the auditor's verify, on the new primary and on the rejoined standby
        wait_replayed(primary, stby)
        vr = cli(node, "verify", "--json", user="aud")
        assert vr.exit_code == 0, vr
    assert n_entries == n_keys
    assert ops.count("promote") == rounds and ops.count("fence") == rounds and ops.count("rejoin") == rounds
    wait_replayed(primary, stby)
    with stby.connect() as c:   # the rejoined standby holds the same ledger
        assert c.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == n_entries  # type: ignore[index]
    resent = sum(max([r.get("resent", 0) for r in read_log(p) if r["t"] == "A"] or [0]) for p in logs)
    lost = sum(1 for b_ in bad if "is lost" in b_)
    figures[f"failover_{rounds}"] = {
        "rounds": rounds, **s.counts(), "lost": lost, "duplicated": n_entries - n_keys,
        "writes_resent_after_unknown_outcome": resent, "rounds_detail": rounds_out,
        "max_seconds_kill_to_first_ack": max(r["seconds_kill_to_first_ack"] for r in rounds_out)}
    print(figures[f"failover_{rounds}"])
