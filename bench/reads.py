"""Benchmarks 4 and 5: reads and verify over a large ledger.

Loading: the fastest write path the product offers for this shape today,
``fl.post_entries`` in batches of 100 settlement entries of ~100 postings each (one
provider's claim-level settlement: 99 debits to a 5001 sub-account, one credit to the
unit's expenditure account), one transaction per batch, dated over two years (2022 and
2023), plus monthly collections so revenue lines exist. Every invariant runs on every
batch. (Entries of ~100 postings load fastest: see docs/benchmarks.md for the shape
study.) Settlements move real money, so each is held by the maker and confirmed by a
second person: the product's ``fl.confirm_entries`` posts them one ``fl.confirm_entry``
(one ``fl._post`` statement, its triggers, one seal gate) at a time, 3–7k postings/s on
this machine — 10M postings would take half an hour or more.

So the product's loader writes the ledger's first part (``REAL_LOAD_SECONDS``; its rate
is the *load* row), and the rest is written by the bench's bulk path (``Loader.load_bulk_until``):
the same batches held by the maker through ``fl.post_entries``, then confirmed by the
reviewer's login through a bench-only SECURITY DEFINER helper (``BULK_CONFIRM_SQL``,
created by the superuser in its own schema and dropped again) that does what
``fl.confirm_entry`` does — ``fl._post`` with the held entry and its lines, the held
entry marked confirmed by the session's user — for 1,000 held entries in one statement.
Every row is written by the product's own functions and triggers: the entries and
postings, the seals and the chain (``fl.seal_transaction`` at commit), the history's
versions and their chain, the day and account totals. What differs from confirming one
at a time: one transaction and one seal gate per 1,000 entries (one ``created_xid``,
vouchers still one per entry in id order), and the history's versions of entries,
postings and held entries in table order within it. Both verdicts judge the ledger
whole; the table says how it was built. The load stops at the target size or when its
time budget runs out — the size actually reached is what the table reports.

Reads (each timed 5× after a warm-up, as the auditor): the trial balance for 2023, one
account's balance as of a past date, the income statement for 2023, the monitor figures
and series, and the year-end close when the product has it. ``verify`` runs in a child
process (its peak RSS measured) at a tenth of the size and at full size.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import queue
import random
import resource
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from bench.common import (
    UNITS,
    Env,
    Result,
    at_least,
    at_most,
    clone,
    confirm_held,
    drop,
    expenditure_holder,
    function_profile,
    fund,
    ledger_db,
    reset_profile,
    server,
    unavailable,
)

CATEGORIES = ["outpatient", "inpatient", "chronic", "other"]
START = dt.date(2022, 1, 1)
DAYS = 730
PER_ENTRY = 100
PER_CALL = 100          # entries per batch (transaction)
REAL_LOAD_SECONDS = 60.0    # the product's loader writes the first part, for its own figure
BULK_SLAB = 10              # batches held, then confirmed in one statement (≤ 2,000 open held per maker)
BULK_CALL_POSTINGS = 20_000     # postings per fl.post_entries call: the most one call takes

# The bench's bulk confirmation: what fl.confirm_entry does, for many held entries in one
# fl._post statement (see the module docstring). Created by the superuser, owned by it,
# executed by the reviewer's login (session_user is who confirms, as in confirm_entry),
# dropped when the load is done.
BULK_SCHEMA = "flbench"
BULK_CONFIRM_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {BULK_SCHEMA};
CREATE OR REPLACE FUNCTION {BULK_SCHEMA}.confirm_all(p_ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $f$
DECLARE n bigint;
BEGIN
  WITH h AS (SELECT p.*, k.ord::int AS ord FROM unnest(p_ids) WITH ORDINALITY AS k(id, ord)
               JOIN fl.pending_entry p ON p.id = k.id AND p.state = 'held'),
       x AS (SELECT r.ord, r.entry_id FROM fl._post(
         (SELECT array_agg(ROW(h.ord, h.book, h.entry_date, h.memo, h.kind, h.idempotency_key, h.reverses, h.reason,
                  CASE WHEN jsonb_typeof(h.source) = 'object' THEN h.source ELSE '{{}}'::jsonb END
                  || jsonb_build_object('held', h.id, 'made_by', h.made_by, 'confirmed_by', session_user::text),
                  h.content_hash)::fl.new_entry ORDER BY h.ord) FROM h),
         (SELECT array_agg(ROW(h.ord, pp.pos, a.book, a.chart_code, a.unit, a.holder, a.component, pp.side,
                  pp.amount, pp.line_ref, pp.memo)::fl.new_posting ORDER BY h.ord, pp.pos)
            FROM h JOIN fl.pending_posting pp ON pp.pending_id = h.id JOIN fl.account a ON a.id = pp.account_id)) r)
  UPDATE fl.pending_entry pe SET state = 'confirmed', decided_by = session_user, decided_at = now(),
         entry_id = x.entry_id
    FROM x JOIN h ON h.ord = x.ord WHERE pe.id = h.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $f$;
GRANT USAGE ON SCHEMA {BULK_SCHEMA} TO PUBLIC;
"""


class Loader:
    """Appends settlement batches until the ledger holds ``target`` postings."""

    def __init__(self, url: str, target_total: int, per_entry: int = PER_ENTRY, per_call: int = PER_CALL,
                 owner_url: str | None = None) -> None:
        self.url = url
        self.owner_url = owner_url   # the superuser, to start the maker's region day afresh (_new_day)
        self.per_entry, self.per_call = per_entry, per_call
        self.calls = max(1, target_total // (per_entry * per_call))
        self.done = 0
        self.postings = 0
        self.seconds = 0.0
        self.bulk_postings = 0      # of which written by the bench's bulk path
        self.bulk_seconds = 0.0
        self.months: set[tuple[int, int]] = set()
        self.rng = random.Random(11)

    def _batch(self, i: int) -> list[dict[str, Any]]:
        day = START + dt.timedelta(days=(i * DAYS) // self.calls)
        docs = []
        if (day.year, day.month) not in self.months:
            self.months.add((day.year, day.month))
            for u in UNITS:
                docs.append({"date": day.isoformat(), "book": "RES", "idempotency_key": f"col-{u}-{day:%Y-%m}",
                             "memo": "征缴收入", "postings": [
                                 {"account": "1003", "unit": u, "holder": "special", "side": "D", "amount": 10**9},
                                 {"account": "4001", "unit": u, "side": "C", "amount": 10**9}]})
        for e in range(self.per_call):
            u = UNITS[e % len(UNITS)]
            cat = CATEGORIES[(e // len(UNITS)) % len(CATEGORIES)]
            amounts = [self.rng.randint(100, 50_000) for _ in range(self.per_entry - 1)]
            ps = [{"account": f"5001.{cat}", "unit": u, "side": "D", "amount": a, "line_ref": f"c{j}"}
                  for j, a in enumerate(amounts)]
            ps.append({"account": "1004", "unit": u, "holder": expenditure_holder(u), "side": "C",
                       "amount": sum(amounts)})
            docs.append({"date": day.isoformat(), "book": "RES", "idempotency_key": f"stl-{i}-{e}",
                         "memo": "结算 settlement", "postings": ps})
        return docs

    def _new_day(self) -> None:
        """Start the maker's region day afresh for the daily caps on manual writing (0073:
        entries; 0078: postings, 100,000 a day for finance): the load writes millions of
        postings through one login, far past a day's, and the caps are a policy guard against
        one person's flood, not what this bench measures (each call still writes the counter
        row). The counter is a guard, not an auditor's record."""
        if self.owner_url is None:
            return
        with psycopg.connect(self.owner_url, autocommit=True) as su:
            if su.execute("SELECT to_regclass('fl.manual_day')").fetchone() != (None,):
                su.execute("DELETE FROM fl.manual_day")

    def load_until(self, total: int, deadline: float) -> None:
        t0 = time.perf_counter()
        try:
            self._load(total, deadline)
        finally:
            self.seconds += time.perf_counter() - t0

    def _load(self, total: int, deadline: float) -> None:
        with psycopg.connect(self.url) as c:
            while self.done < self.calls and self.postings < total and time.time() < deadline:
                docs = self._batch(self.done)
                self._new_day()
                held = [r[3] for r in c.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                                                 (json.dumps(docs),)).fetchall() if r[2] == "held"]
                confirm_held(c, held)   # settlements move real money: a second person confirms
                c.commit()
                self.done += 1
                self.postings += sum(len(d["postings"]) for d in docs)

    def _hold(self, c: psycopg.Connection[Any], docs: list[dict[str, Any]]) -> list[int]:
        """The maker holds ``docs`` (one ``fl.post_entries`` call, committed); their held ids."""
        self._new_day()
        held = [r[3] for r in c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(docs),)).fetchall()
                if r[2] == "held"]
        c.commit()
        return held

    def load_bulk_until(self, owner_url: str, total: int, deadline: float) -> None:
        """The bench's bulk path (module docstring): ``BULK_SLAB`` batches held through
        ``fl.post_entries`` as the maker, then confirmed in one statement as the reviewer;
        the helper exists only while this runs (``owner_url``: the superuser on the ledger
        database)."""
        t0 = time.perf_counter()
        before = self.postings
        params = conninfo_to_dict(self.url)
        params["user"] = "rev"
        with psycopg.connect(owner_url, autocommit=True) as su:
            su.execute(BULK_CONFIRM_SQL)
        try:
            # Commits without waiting for their WAL flush (a session setting any login may
            # make: it changes no row, only when the client hears back).
            params["options"] = "-c synchronous_commit=off"
            maker = conninfo_to_dict(self.url)
            maker["options"] = params["options"]
            maker_url = make_conninfo(**maker)  # type: ignore[arg-type]
            rev_url = make_conninfo(**params)  # type: ignore[arg-type]
            with psycopg.connect(maker_url) as c, psycopg.connect(rev_url) as rev:
                while self.done < self.calls and self.postings < total and time.time() < deadline:
                    held: list[int] = []
                    n = 0
                    docs: list[dict[str, Any]] = []
                    for _ in range(BULK_SLAB):
                        if self.done >= self.calls or self.postings + n >= total:
                            break
                        batch = self._batch(self.done)
                        size = sum(len(d["postings"]) for d in batch)
                        if docs and sum(len(d["postings"]) for d in docs) + size > BULK_CALL_POSTINGS:
                            held += self._hold(c, docs)
                            docs = []
                        docs += batch
                        self.done += 1
                        n += size
                    if docs:
                        held += self._hold(c, docs)
                    rev.execute(f"SELECT {BULK_SCHEMA}.confirm_all(%s)", (held,))
                    rev.commit()
                    self.postings += n
        finally:
            with psycopg.connect(owner_url, autocommit=True) as su:
                su.execute(f"DROP SCHEMA IF EXISTS {BULK_SCHEMA} CASCADE")
            secs = time.perf_counter() - t0
            self.seconds += secs
            self.bulk_seconds += secs
            self.bulk_postings += self.postings - before


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    fn()   # warm: plans, caches
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _verify_child(url: str, q: Any, independent: bool = False) -> None:
    from ledger.store.verify import verify
    from ledger.store.verify_independent import verify_independent

    with psycopg.connect(url, row_factory=dict_row) as c:
        t0 = time.perf_counter()
        rep = verify_independent(c) if independent else verify(c)   # each times its own steps
        secs = time.perf_counter() - t0
    timings = {t["step"]: float(t["seconds"]) for t in rep.extra.get("timings", [])}
    q.put((secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rep.ok,
           int(rep.extra.get("postings", 0)), [f.message for f in rep.findings][:3], timings))


def run_verify(url: str, *, timeout: float = 3600.0, independent: bool = False) -> tuple[Any, ...] | None:
    """(seconds, peak RSS MB, ok, postings checked, first findings, seconds per step) of
    verify — the in-database pass, or with ``independent`` the independent verdict
    (ledger.store.verify_independent) — in a child process; None if it did not finish
    within ``timeout`` seconds."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_verify_child, args=(url, q, independent))
    p.start()
    try:
        return q.get(timeout=timeout)  # type: ignore[no-any-return]
    except queue.Empty:
        return None
    finally:
        if p.is_alive():
            p.terminate()      # its backend ends with the connection
        p.join()


def _verify_available() -> bool:
    try:
        from ledger.store import verify as _v  # noqa: F401
    except ImportError:
        return False
    return True


def _reads(env: Env, conn: psycopg.Connection, n: int) -> list[tuple[str, str, list[float] | str]]:
    """(name, target, samples in ms or why unavailable) for each read."""
    from ledger.store import accounts

    out: list[tuple[str, str, list[float] | str]] = []
    end = dt.date(2023, 12, 31)
    out.append(("trial balance (year 2023, all units and books)", "< 50 ms",
                _timed(lambda: accounts.trial_balance(conn, year=2023), n)))
    out.append(("balance of one account as of a past date", "< 5 ms",
                _timed(lambda: accounts.balance(conn, "RES:1004:230822:county_exp", as_of=dt.date(2022, 7, 14)), n)))
    try:
        from ledger.store import reports_ledger

        out.append(("income statement for a year", "< 1000 ms",
                    _timed(lambda: reports_ledger.income(conn, start=dt.date(2023, 1, 1), end=end), n)))
    except (ImportError, AttributeError, psycopg.Error) as e:
        conn.rollback()
        out.append(("income statement for a year", "< 1000 ms", f"not yet available ({type(e).__name__}: {e})"))
    try:
        from ledger.store import monitor

        def mon() -> None:
            monitor.figures(conn, as_of=end)
            for book in ("RES", "EMP"):
                monitor.monthly(conn, book=book, end=end)
                monitor.special_daily(conn, book=book, end=end)

        out.append(("monitor (figures + monthly and daily series)", "< 1000 ms", _timed(mon, n)))
    except (ImportError, AttributeError, psycopg.Error) as e:
        conn.rollback()
        out.append(("monitor (figures + monthly and daily series)", "< 1000 ms",
                    f"not yet available ({type(e).__name__}: {e})"))
    return out


def _close_once(url: str, close_year: Callable[..., Any]) -> tuple[float, int]:
    """(seconds, postings written) of closing 2022 as the reviewer, in one transaction."""
    with psycopg.connect(url, row_factory=dict_row) as c:
        count = "SELECT count(*) AS n FROM fl.posting"
        before = int(c.execute(count).fetchone()["n"])  # type: ignore[index]
        t0 = time.perf_counter()
        with c.transaction():
            close_year(c, 2022, dt.date(2022, 12, 31))
        secs = time.perf_counter() - t0
        return secs, int(c.execute(count).fetchone()["n"]) - before  # type: ignore[index]


def _year_end(env: Env, srv: Any, db: str, ds: str, load_rate: float) -> list[Result]:
    """Year-end close of 2022 for every unit and book, each run on a fresh clone."""
    name = "4. year-end close of all units and books (2022)"
    try:
        from ledger.store.yearend import close_year
    except ImportError:
        return [unavailable(name, ds, "ledger/store/yearend.py is not in the tree yet (issue 3)")]
    secs, beyond, written = [], [], []
    for _ in range(1 if env.quick else 3):
        copy = db if env.quick else clone(srv, db)     # --quick: close the ledger itself (it is the last step)
        try:
            s, n = _close_once(srv.url(copy, "rev"), close_year)
        except psycopg.Error as e:
            return [unavailable(name, ds, f"not yet available ({type(e).__name__}: {str(e).splitlines()[0]})")]
        finally:
            if copy != db:
                drop(srv, copy)
        secs.append(s * 1000)
        written.append(n)
        beyond.append(max(0.0, s - n / load_rate) * 1000)
        env.log(f"  close 2022: {s * 1000:.0f} ms, {n:,} postings written")
    return [Result(name, ds, "ms", secs, note=f"{written[0]:,} postings written"),
            Result(name + ": beyond its postings", ds, "ms", beyond, target="< 1000 ms", check=at_most(1000),
                   note=f"close time less its {written[0]:,} postings at the load rate ({load_rate:,.0f}/s)")]


def _verify_results(env: Env, url: str, ds: str, total: int, vsmall: tuple[Any, ...] | None,
                    budget: float, independent: bool = False) -> list[Result]:
    """verify at full size: 3 runs when one takes under a minute, else one (said so);
    a run that does not finish within ``budget`` is reported as a miss with its bound."""
    name = "5b. verify, independent verdict (Python)" if independent else "5. verify"
    runs: list[tuple[Any, ...]] = []
    for _ in range(1 if env.quick else 3):
        v = run_verify(url, timeout=budget, independent=independent)
        if v is None:
            env.log(f"  {name} at {total:,} postings did not finish within {budget:.0f} s")
            break
        runs.append(v)
        env.log(f"  {name} at {v[3]:,} postings: {v[0]:.2f} s, peak RSS {v[1]:.0f} MB, ok={v[2]}")
        if v[0] > 60:
            break
    per_check = ""
    src = runs[0] if runs else vsmall
    if src is not None and src[5]:
        per_check = (f" Seconds per step at {src[3]:,} postings (verify --json timings" +
                     ("; two sessions of one snapshot group the postings per entry): " if independent else
                      "; hash_chain runs in a second session beside the others): ")
                     + ", ".join(f"{k} {v:.1f}" for k, v in sorted(src[5].items(), key=lambda kv: -kv[1])) + ".")
    ref = ([vsmall[3] / vsmall[0]] if vsmall is not None else [])
    ref_label = f"verify at {vsmall[3]:,} postings" if vsmall is not None else ""
    if not runs:
        bound = total / budget
        return [Result(name, ds + f" (did not finish within {budget:.0f} s)", "postings/s", [bound],
                       ref_label, ref, ">= 1,000,000", at_least(1_000_000),
                       note=f"at most {bound:,.0f} postings/s (an upper bound: the run was stopped).{per_check}")]
    bad = [v for v in runs if not v[2]]
    out = [Result(name, ds + ("" if len(runs) >= 3 or env.quick else f" ({len(runs)} run: > 60 s each)"),
                  "postings/s", [v[3] / v[0] for v in runs], ref_label, ref, ">= 1,000,000", at_least(1_000_000),
                  note=(("FINDINGS: " + "; ".join(bad[0][4])) if bad else "the ledger verified clean") + "." + per_check)]
    if vsmall is not None:
        rss = sorted(v[1] for v in runs)[len(runs) // 2]
        out.append(Result(f"{name} memory flat", f"peak RSS at {total:,} vs {vsmall[3]:,} postings", "×",
                          [rss / vsmall[1]], target="<= 1.25", check=lambda m, _r: m <= 1.25,
                          note=f"peak RSS {vsmall[1]:.0f} MB → {rss:.0f} MB"))
    return out


def run(env: Env, profiles: dict) -> list[Result]:  # type: ignore[type-arg]
    target = 2_000 if env.quick else env.size(10_000_000, 0)
    # The load's budget: the bulk path writes ~20,000 postings/s on two idle cores (10M in
    # ~8 minutes); a machine shared with other jobs gets a third of that, so 30 minutes.
    # BENCH_LOAD_BUDGET (seconds) overrides it, for a run on a machine busier still.
    budget = 60.0 if env.quick else float(os.environ.get("BENCH_LOAD_BUDGET") or 1800.0) * max(1.0, env.scale)
    reps = 2 if env.quick else 5
    verify_budget = 120.0 if env.quick else 300.0
    # At full size a run of either verdict may take minutes on a shared machine: one run
    # (``_verify_results``), bounded by this.
    full_verify_budget = 120.0 if env.quick else 900.0
    results: list[Result] = []
    with server(env) as srv, ledger_db(srv, profile=env.profile, template=env.template) as db:
        with psycopg.connect(srv.url(db, "fin")) as c:
            fund(c, dict.fromkeys(UNITS, 10**14), date="2022-01-01")
        loader = Loader(srv.url(db, "fin"), target, *((10, 20) if env.quick else (PER_ENTRY, PER_CALL)),
                        owner_url=srv.url(db))
        deadline = time.time() + budget
        t0 = time.perf_counter()
        # The product's loader first, for its own figure (the load row), then the bench's
        # bulk path to the target (module docstring).
        loader.load_until(max(1, target // 20), min(deadline, time.time() + REAL_LOAD_SECONDS * max(1.0, env.scale)))
        real_postings, real_secs = loader.postings, loader.seconds
        verify_ok = _verify_available()
        vsmall: tuple[Any, ...] | None = None
        ismall: tuple[Any, ...] | None = None
        small_postings = 0
        if verify_ok:
            loader.load_bulk_until(srv.url(db), target // 10, deadline)
            small_postings = loader.postings
            env.log(f"  loaded {loader.postings:,} postings in {time.perf_counter() - t0:.0f} s "
                    f"({real_postings:,} by fl.post_entries + fl.confirm_entries, the rest by the bulk path)")
            if env.profile:
                reset_profile(srv, db)
            tv = time.perf_counter()
            vsmall = run_verify(srv.url(db, "aud"), timeout=verify_budget)
            deadline += time.perf_counter() - tv     # verify's time does not count against the load budget
            if env.profile:
                profiles[f"5. verify at {small_postings:,} postings"] = function_profile(srv, db, top=10)
            if vsmall is not None:
                env.log(f"  verify at {vsmall[3]:,} postings: {vsmall[0]:.2f} s, peak RSS {vsmall[1]:.0f} MB, "
                        f"ok={vsmall[2]}")
            else:
                env.log(f"  verify at {small_postings:,} postings did not finish in {verify_budget:.0f} s")
            tv = time.perf_counter()
            ismall = run_verify(srv.url(db, "aud"), timeout=verify_budget, independent=True)
            deadline += time.perf_counter() - tv
            if ismall is not None:
                env.log(f"  independent verdict at {ismall[3]:,} postings: {ismall[0]:.2f} s, peak RSS "
                        f"{ismall[1]:.0f} MB, ok={ismall[2]}")
        loader.load_bulk_until(srv.url(db), target, deadline)
        load_secs = loader.seconds
        with psycopg.connect(srv.url(db), autocommit=True) as c:
            c.execute("VACUUM ANALYZE")
            total = int(c.execute("SELECT count(*) FROM fl.posting").fetchone()[0])  # type: ignore[index]
            size = c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]  # type: ignore[index]
        short = "" if loader.postings >= target else f" (target {target:,} not reached in the {budget:.0f} s budget)"
        built = (f"; built: {real_postings:,} by fl.post_entries + fl.confirm_entries, "
                 f"{loader.bulk_postings:,} by the bench's bulk path")
        ds = f"{total:,} postings{short}"
        env.log(f"  loaded {total:,} postings ({size}) in {load_secs:.0f} s{short}{built}")
        real_rate = real_postings / real_secs if real_secs else 0.0
        results.append(Result(f"4. load (fl.post_entries, {loader.per_call} × {loader.per_entry}-posting entries per batch)",
                              f"first {real_postings:,} postings", "postings/s", [real_rate],
                              note=f"held by the maker, confirmed by fl.confirm_entries as a second person; the "
                                   f"ledger's first {real_secs:.0f} s of load; single run"))
        if loader.bulk_postings:
            results.append(Result("4. load, the bench's bulk path (held by fl.post_entries, 1,000 confirmed per "
                                  "fl._post statement)", ds, "postings/s",
                                  [loader.bulk_postings / loader.bulk_seconds],
                                  note=f"database size {size}{built}: not a product path (bench/reads.py, "
                                       "BULK_CONFIRM_SQL); single run"))
        ds += f" (built: {real_postings:,} by the product's loader, the rest by the bench's bulk path)"

        if env.profile:
            reset_profile(srv, db)
        with psycopg.connect(srv.url(db, "aud"), row_factory=dict_row, autocommit=True) as c:
            for name, tgt, samples in _reads(env, c, reps):
                if isinstance(samples, str):
                    results.append(unavailable(f"4. {name}", ds, samples))
                    continue
                limit = float(tgt.split()[1])
                results.append(Result(f"4. {name}", ds, "ms", samples, target=tgt, check=at_most(limit)))
                env.log(f"  {name}: median {sorted(samples)[len(samples) // 2]:.1f} ms")
        if env.profile:
            profiles["4. reads"] = function_profile(srv, db)

        if verify_ok:
            results += _verify_results(env, srv.url(db, "aud"), ds, total, vsmall, full_verify_budget)
            results += _verify_results(env, srv.url(db, "aud"), ds, total, ismall, full_verify_budget, independent=True)
        else:
            results.append(unavailable("5. verify", ds, "ledger/store/verify.py is not in the tree yet"))
        results += _year_end(env, srv, db, ds, real_rate or loader.postings / load_secs)
    return results
