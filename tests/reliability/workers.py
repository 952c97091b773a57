"""Worker processes for the reliability tests: ``python tests/reliability/workers.py MODE ...``.

* ``bank``   post random transfers through the library (``journal.post`` in ``run_tx``, then
             ``journal.confirm`` as a second person: every entry moves real money),
             logging each batch before sending and after the answer (invariants.py);
             with ``--survive`` it reconnects after connection loss (crash tests).
* ``weak``   the same kind of workload on ``public.weak_account``, done badly on purpose:
             read a balance in Python, then write, at READ COMMITTED, without a lock.
* ``reader`` read totals in one snapshot until the stop file appears; check conservation
             at every read; write a JSON summary.

Every run is reproducible from ``--seed`` (the interleaving, of course, is not).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ledger.core.entries import parse_entries
from ledger.core.money import decimal_text
from ledger.errors import DatabaseUnavailable, LedgerError, RuleViolation
from ledger.store import journal
from ledger.store.db import Target, Writer, connect
from tests.reliability.invariants import COUNTIES, post_confirmed


class Log:
    def __init__(self, path: Path, fsync: bool) -> None:
        self.f = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self.fsync = fsync

    def write(self, rec: dict[str, Any]) -> None:
        self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.f.flush()
        if self.fsync:
            os.fsync(self.f.fileno())


def _leg(account: str, unit: str, side: str, fen: int, holder: str | None = None) -> dict[str, Any]:
    # Entry documents carry yuan text (ledger.core.entries), never a bare number of fen.
    return {"account": account, "unit": unit, "holder": holder, "side": side, "amount": decimal_text(fen)}


def random_entry(rnd: random.Random, key: str) -> dict[str, Any]:
    """One transfer, balanced within its unit (BRIEF §4): collections in, 预拨-like moves
    special → county expenditure account and back, payments out of either."""
    u = rnd.choice(COUNTIES)
    fen = rnd.randint(1, 200_000)
    kind = rnd.choices(["collect", "prealloc", "return", "pay_special", "pay_county"], [30, 30, 5, 12, 23])[0]
    legs = {
        "collect": [_leg("1003", u, "D", fen, "special"), _leg("4001", u, "C", fen)],
        "prealloc": [_leg("1004", u, "D", fen, "county_exp"), _leg("1003", u, "C", fen, "special")],
        "return": [_leg("1003", u, "D", fen, "special"), _leg("1004", u, "C", fen, "county_exp")],
        "pay_special": [_leg("5001.inpatient", u, "D", fen), _leg("1003", u, "C", fen, "special")],
        "pay_county": [_leg("5001.inpatient", u, "D", fen), _leg("1004", u, "C", fen, "county_exp")],
    }[kind]
    day = dt.date(2023, 1, 1) + dt.timedelta(days=rnd.randrange(300))
    return {"date": day.isoformat(), "book": "RES", "memo": kind, "idempotency_key": key, "postings": legs}


def _connect(args: argparse.Namespace, survive_until: float, user: str | None = None) -> Any:
    while True:
        try:
            return connect(Target(url=args.url, user=user or args.user))
        except DatabaseUnavailable:
            if not args.survive or time.monotonic() > survive_until or _stopped(args):
                raise
            time.sleep(0.05)


def _stopped(args: argparse.Namespace) -> bool:
    return bool(args.stop_file) and Path(args.stop_file).exists()


def bank(args: argparse.Namespace) -> None:
    if args.failover:
        return bank_failover(args)
    rnd = random.Random(args.seed)
    log = Log(Path(args.log), args.fsync)
    deadline = time.monotonic() + args.seconds
    conn = _connect(args, deadline + 60)
    # Every entry moves real money, so each is held and confirmed by a second person over
    # that person's own login (sql/0017_maker_checker.sql): post, then confirm.
    checker = _connect(args, deadline + 60, args.checker)
    b = 0
    while b < args.ops and time.monotonic() < deadline and not _stopped(args):
        b += 1
        batch = f"{args.prefix}b{b}"
        docs = [random_entry(rnd, f"{batch}e{i}") for i in range(rnd.randint(1, args.max_batch))]
        log.write({"t": "S", "batch": batch, "docs": docs})
        drafts = parse_entries(docs, batch)
        try:
            res = post_confirmed(conn, checker, drafts)
        except RuleViolation as e:
            log.write({"t": "R", "batch": batch, "rule": e.rule})
            continue
        except DatabaseUnavailable as e:
            log.write({"t": "E", "batch": batch, "error": e.message[:200]})
            if not args.survive:
                raise
            conn.close()
            checker.close()
            conn = _connect(args, deadline + 60)
            checker = _connect(args, deadline + 60, args.checker)
            continue
        except LedgerError as e:
            # A lost connection can surface as another error class; survive it in crash
            # runs, but log it so the test sees what happened.
            log.write({"t": "E", "batch": batch, "error": f"{e.rule}: {e.message[:200]}"})
            if not args.survive:
                raise
            conn.close()
            checker.close()
            conn = _connect(args, deadline + 60)
            checker = _connect(args, deadline + 60, args.checker)
            continue
        log.write({"t": "A", "batch": batch, "res": [[r.idempotency_key, r.status, r.entry_id] for r in res]})
        if args.pause:
            time.sleep(rnd.uniform(0, args.pause))


def bank_failover(args: argparse.Namespace) -> None:
    """The same workload through ``Writer``: a write whose outcome the failover left
    unknown is sent again, with the same keys, to whichever server is primary now."""
    rnd = random.Random(args.seed)
    log = Log(Path(args.log), args.fsync)
    deadline = time.monotonic() + args.seconds
    writer = Writer(Target(url=args.url, user=args.user), within=args.failover)
    checker = Writer(Target(url=args.url, user=args.checker), within=args.failover)   # the second person
    b = 0
    while b < args.ops and time.monotonic() < deadline and not _stopped(args):
        b += 1
        batch = f"{args.prefix}b{b}"
        docs = [random_entry(rnd, f"{batch}e{i}") for i in range(rnd.randint(1, args.max_batch))]
        log.write({"t": "S", "batch": batch, "docs": docs})
        drafts = parse_entries(docs, batch)
        try:
            res = writer.run(lambda c, d=drafts: journal.post(c, d))
            held = [r for r in res if r.status == "held"]
            if held:   # every entry moves real money: a second person confirms (sql/0017)
                done = checker.run(lambda c, h=held: [journal.confirm(c, int(r.held_id)) for r in h])
                by_held = {r.held_id: x for r, x in zip(held, done, strict=True)}
                res = [journal.PostResult(r.idempotency_key, by_held[r.held_id].entry_id, by_held[r.held_id].status,
                                          r.held_id) if r.status == "held" else r for r in res]
        except RuleViolation as e:
            log.write({"t": "R", "batch": batch, "rule": e.rule})
            continue
        log.write({"t": "A", "batch": batch, "ts": time.time(), "resent": writer.resent + checker.resent,
                   "res": [[r.idempotency_key, r.status, r.entry_id] for r in res]})
        if args.pause:
            time.sleep(rnd.uniform(0, args.pause))
    writer.close()
    checker.close()


def weak(args: argparse.Namespace) -> None:
    """Check-then-act without a lock, at READ COMMITTED: lost updates and overdrafts."""
    import psycopg

    rnd = random.Random(args.seed)
    log = Log(Path(args.log), False)
    conn = psycopg.connect(args.url, autocommit=True)
    n = 0
    accounts = [r[0] for r in conn.execute("SELECT id FROM public.weak_account ORDER BY id")]
    deadline = time.monotonic() + args.seconds
    while n < args.ops and time.monotonic() < deadline:
        n += 1
        batch = f"{args.prefix}b{n}"
        src, dst = rnd.sample(accounts, 2)
        fen = rnd.randint(1, 200_000)
        log.write({"t": "S", "batch": batch, "docs": [{"idempotency_key": batch, "postings": [1, 2]}]})
        try:
            refused = _weak_transfer(conn, batch, src, dst, fen)
        except psycopg.errors.DeadlockDetected:
            log.write({"t": "R", "batch": batch, "rule": "deadlock"})
            continue
        if refused:
            log.write({"t": "R", "batch": batch, "rule": "no_overdraft"})
        else:
            log.write({"t": "A", "batch": batch, "res": [[batch, "posted", 0]]})


def _weak_transfer(conn: Any, batch: str, src: int, dst: int, fen: int) -> bool:
    with conn.transaction():
        have = conn.execute("SELECT balance FROM public.weak_account WHERE id = %s", (src,)).fetchone()[0]
        dst_have = conn.execute("SELECT balance FROM public.weak_account WHERE id = %s", (dst,)).fetchone()[0]
        if have < fen:
            refused = True
        else:
            refused = False
            time.sleep(0.0005)  # the window a slow client leaves open anyway
            conn.execute("UPDATE public.weak_account SET balance = balance - %s WHERE id = %s", (fen, src))
            conn.execute("UPDATE public.weak_account SET balance = %s WHERE id = %s", (dst_have + fen, dst))
            conn.execute("INSERT INTO public.weak_transfer (key, src, dst, amount) VALUES (%s, %s, %s, %s)",
                         (batch, src, dst, fen))
    return refused


READ_SQL = {
    # physical money + what was spent = what came in, from the maintained totals, one statement
    "ledger": """
        SELECT (SELECT coalesce(sum(balance), 0) FROM fl.bank_account) AS physical,
               (SELECT coalesce(sum(balance), 0) FROM fl.account WHERE chart_code IN ('1003', '1004')) AS deposits,
               (SELECT coalesce(sum(balance), 0) FROM fl.account WHERE chart_code LIKE '5%%') AS spent,
               (SELECT coalesce(-sum(balance), 0) FROM fl.account WHERE chart_code LIKE '4%%') AS collected,
               (SELECT coalesce(min(balance), 0) FROM fl.bank_account) AS lowest,
               (SELECT count(*) FROM fl.seal) AS sealed""",
    "weak": """
        SELECT (SELECT coalesce(sum(balance), 0) FROM public.weak_account) AS physical,
               (SELECT coalesce(sum(balance), 0) FROM public.weak_account) AS deposits,
               0 AS spent, %(total)s::bigint AS collected,
               (SELECT coalesce(min(balance), 0) FROM public.weak_account) AS lowest,
               (SELECT count(*) FROM public.weak_transfer) AS sealed""",
}


def reader(args: argparse.Namespace) -> None:
    import psycopg
    from psycopg.rows import dict_row

    conn = psycopg.connect(args.url, autocommit=True, row_factory=dict_row)
    reads, bad, last_sealed = 0, [], -1
    ready = Path(args.log + ".ready")
    while True:
        stop = _stopped(args)
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            r = conn.execute(READ_SQL[args.kind], {"total": args.total}).fetchone()
        assert r is not None
        reads += 1
        if r["physical"] + r["spent"] != r["collected"] or r["physical"] != r["deposits"]:
            bad.append(f"read {reads}: bank {r['physical']} + spent {r['spent']} ≠ collected {r['collected']}"
                       f" (deposit accounts {r['deposits']})")
        if r["lowest"] < 0:
            bad.append(f"read {reads}: a physical account holds {r['lowest']}")
        if r["sealed"] < last_sealed:
            bad.append(f"read {reads}: went back in time ({r['sealed']} < {last_sealed} entries)")
        last_sealed = r["sealed"]
        if not ready.exists():
            ready.touch()
        if stop:
            break
    Path(args.log).write_text(json.dumps({"reads": reads, "violations": len(bad), "examples": bad[:20]}))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["bank", "weak", "reader"])
    p.add_argument("--url", required=True)
    p.add_argument("--user")
    p.add_argument("--checker", default="rev", help="the second person who confirms held entries")
    p.add_argument("--log", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prefix", default="w")
    p.add_argument("--ops", type=int, default=10**9)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--max-batch", type=int, default=3)
    p.add_argument("--pause", type=float, default=0.0)
    p.add_argument("--fsync", action="store_true")
    p.add_argument("--survive", action="store_true", help="reconnect after connection loss (crash tests)")
    p.add_argument("--failover", type=float, default=0.0,
                   help="write through ledger.store.db.Writer, resending for up to this many seconds")
    p.add_argument("--stop-file")
    p.add_argument("--kind", choices=["ledger", "weak"], default="ledger")
    p.add_argument("--total", type=int, default=0)
    args = p.parse_args(argv)
    {"bank": bank, "weak": weak, "reader": reader}[args.mode](args)


if __name__ == "__main__":
    main()
