"""What every benchmark shares: a private PostgreSQL, a migrated ledger database with
the standard users, results with their reference, and the per-function profile.

Each benchmark runs against its own embedded server in a temporary directory, stopped
in a ``finally`` (a stray postgres must never outlive the bench). The smoke test hands
in an already running server instead (``Env.admin_url``) so that ``make test`` stays
fast; each benchmark then gets its own database on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from ledger.store.database_acl import copy_database_acl

# The standard cast (tests/conftest.py USERS): name, role, unit.
USERS = [
    ("admin", "admin", None),
    ("rev", "reviewer", None),
    ("fin", "finance", None),
    ("aud", "auditor", None),
    ("o22", "officer", "230822"),
]

UNITS = ["230800", "230881", "230882", "230883", "230822", "230826", "230828"]
CITY = "230800"


def expenditure_holder(unit: str) -> str:
    """Where a unit pays benefits from: the county's own account, or the city's."""
    return "city_exp" if unit == CITY else "county_exp"


# ---- results -----------------------------------------------------------------------

@dataclass
class Result:
    """One row of the table: a measured figure (several runs) beside its reference."""

    benchmark: str
    dataset: str
    unit: str                          # 'postings/s', 'entries/s', 'ms', 's', 'MB'
    samples: list[float]
    reference: str = ""                # what the reference is, e.g. 'plain COPY'
    ref_samples: list[float] = field(default_factory=list)
    target: str = ""                   # e.g. '>= 100,000'
    check: Callable[[float, float | None], bool] | None = None   # (median, ref median) -> met
    note: str = ""                     # cause / next step when missed, or remarks
    available: bool = True

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def ref_median(self) -> float | None:
        return statistics.median(self.ref_samples) if self.ref_samples else None

    @property
    def ratio(self) -> float | None:
        m, r = self.median, self.ref_median
        return m / r if m is not None and r else None

    @property
    def met(self) -> bool | None:
        if not self.available or self.check is None or self.median is None:
            return None
        return bool(self.check(self.median, self.ref_median))

    def as_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "dataset": self.dataset, "unit": self.unit,
                "samples": self.samples, "median": self.median, "reference": self.reference,
                "ref_samples": self.ref_samples, "ref_median": self.ref_median, "ratio": self.ratio,
                "target": self.target, "met": self.met, "available": self.available, "note": self.note}


def unavailable(benchmark: str, dataset: str, why: str) -> Result:
    return Result(benchmark, dataset, "", [], note=why, available=False)


def at_least(x: float) -> Callable[[float, float | None], bool]:
    return lambda m, _r: m >= x


def at_most(x: float) -> Callable[[float, float | None], bool]:
    return lambda m, _r: m <= x


def fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit == "×":
        return f"{v:.2f}×"
    text = f"{v:,.2f}" if abs(v) < 10 or (unit == "ms" and abs(v) < 100) else f"{v:,.0f}"
    return f"{text} {unit}".strip()


# ---- servers and databases -----------------------------------------------------------

@dataclass
class Env:
    """How benchmarks get a server: their own embedded one (default), or a given one."""

    quick: bool = False
    scale: float = 1.0
    admin_url: str | None = None       # an already running server (smoke test)
    template: str | None = None        # on it, a migrated ledger with USERS to clone (smoke test)
    profile: bool = True
    log: Callable[[str], None] = print
    settings: dict[str, str] = field(default_factory=dict)   # of the first server started

    def size(self, full: int, quick: int) -> int:
        return max(1, int(quick if self.quick else full * self.scale))


class Server:
    def __init__(self, admin_url: str, home: Path | None) -> None:
        self.admin_url = admin_url
        self.home = home

    def url(self, db: str, user: str | None = None) -> str:
        base, _, query = self.admin_url.partition("?")
        scheme, _, rest = base.partition("://")
        host = rest.split("@", 1)[-1].split("/", 1)[0]
        who = f"{user or 'postgres'}@"
        return f"{scheme}://{who}{host}/{db}" + (f"?{query}" if query else "")

    def settings(self) -> dict[str, str]:
        with psycopg.connect(self.admin_url, autocommit=True) as c:
            version = c.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            rows = c.execute(
                """SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s) ORDER BY name""",
                (["shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_wal_size", "work_mem",
                  "checkpoint_timeout", "jit", "full_page_writes", "wal_sync_method", "max_connections"],)).fetchall()
        out = {"server_version": version}
        for name, setting, unit in rows:
            out[name] = f"{setting}{'×' + unit if unit and unit[0].isdigit() else unit}"
        return out


@contextlib.contextmanager
def server(env: Env) -> Iterator[Server]:
    """The benchmark's own PostgreSQL, always stopped afterwards."""
    if env.admin_url:
        srv = Server(env.admin_url, None)
        env.settings = env.settings or srv.settings()
        yield srv
        return
    from ledger.store import embedded

    home = Path(tempfile.mkdtemp(prefix="fl-bench-"))
    try:
        st = embedded.start(home)
        if env.profile:
            # Statement-level profile, nested statements inside plpgsql included. Costs a
            # few per cent; `--no-profile` measures without it.
            with psycopg.connect(f"postgresql://postgres@/postgres?host={st.socket_dir}", autocommit=True) as c:
                c.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
                c.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
                c.execute("ALTER SYSTEM SET track_functions = 'all'")
            embedded.stop(home, mode="fast")
            st = embedded.start(home)
        srv = Server(f"postgresql://postgres@/postgres?host={st.socket_dir}", home)
        env.settings = env.settings or srv.settings()
        yield srv
    finally:
        embedded.stop(home, mode="fast")
        shutil.rmtree(home, ignore_errors=True)


def create_ledger(srv: Server, *, profile: bool = True) -> str:
    """A new database migrated to head, with the region, chart and standard users."""
    from ledger.core.region import load_region
    from ledger.store import migrate

    name = f"flb_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(srv.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
        if profile:
            c.execute(f"ALTER DATABASE \"{name}\" SET track_functions = 'all'")
    url = srv.url(name)
    if profile:
        with psycopg.connect(url, autocommit=True) as c, contextlib.suppress(psycopg.Error):
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    migrate.upgrade(url)
    with psycopg.connect(url, row_factory=dict_row) as c:
        migrate.load_reference(c, load_region())
        for user, role, unit in USERS:
            c.execute("SELECT fl.add_user(%s, %s, %s)", (user, role, unit))
        c.commit()
    return name


def clone(srv: Server, template: str) -> str:
    name = f"flb_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(srv.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        copy_database_acl(c, name, template)     # the verdict names a copy without it (ATTACK20b M5)
    return name


def drop(srv: Server, name: str) -> None:
    with psycopg.connect(srv.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def ledger_db(srv: Server, *, profile: bool = True, template: str | None = None) -> Iterator[str]:
    """A fresh ledger database, dropped afterwards: migrated from scratch, or cloned
    from ``template`` (the smoke test's migrated template) when given."""
    name = clone(srv, template) if template else create_ledger(srv, profile=profile)
    try:
        yield name
    finally:
        drop(srv, name)


# ---- helpers -----------------------------------------------------------------------

def confirm_held(conn: psycopg.Connection, held: Sequence[int], checker: str = "rev") -> None:
    """Confirm held entries (maker-checker, sql/0017) as ``checker`` over its own login; the
    maker's transaction commits first (a held entry is visible to others only then)."""
    if not held:
        return
    conn.commit()
    params = conninfo_to_dict(conn.info.dsn)
    params["user"] = checker
    with psycopg.connect(make_conninfo(**params)) as c:  # type: ignore[arg-type]
        c.execute("SELECT count(*) FROM fl.confirm_entries(%s)", (list(held),))
        c.commit()


def post(conn: psycopg.Connection, docs: Sequence[dict[str, Any]] | dict[str, Any]) -> list[Any]:
    """Post, then confirm what was held (real money) as a second person."""
    rows = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                        (json.dumps(docs, ensure_ascii=False),)).fetchall()
    confirm_held(conn, [r["held_id"] if isinstance(r, dict) else r[3] for r in rows
                        if (r["status"] if isinstance(r, dict) else r[2]) == "held"])
    return rows


def fund(conn: psycopg.Connection, need: dict[str, int], *, date: str, book: str = "RES", tag: str = "fund",
         move: bool = True, holder: str | None = None) -> None:
    """Collections into the special account, then (``move``) a move into each unit's
    expenditure account (``holder``: another, e.g. every unit's share of ``city_exp``), so
    the payments to come never overdraw it (connection: finance user)."""
    docs = []
    for unit, fen in sorted(need.items()):
        if fen <= 0:
            continue
        docs.append({"date": date, "book": book, "idempotency_key": f"{tag}-col-{unit}", "memo": "bench funding",
                     "postings": [{"account": "1003", "unit": unit, "holder": "special", "side": "D", "amount": fen},
                                  {"account": "4001", "unit": unit, "side": "C", "amount": fen}]})
        if not move:
            continue
        docs.append({"date": date, "book": book, "idempotency_key": f"{tag}-move-{unit}", "memo": "bench funding",
                     "postings": [{"account": "1004", "unit": unit, "holder": holder or expenditure_holder(unit), "side": "D",
                                   "amount": fen},
                                  {"account": "1003", "unit": unit, "holder": "special", "side": "C", "amount": fen}]})
    if docs:
        post(conn, docs)
    conn.commit()


def _has_statements(c: psycopg.Connection) -> bool:
    return c.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone() is not None


def reset_profile(srv: Server, db: str) -> None:
    with psycopg.connect(srv.url(db), autocommit=True) as c:
        c.execute("SELECT pg_stat_reset()")
        if _has_statements(c):
            c.execute("SELECT pg_stat_statements_reset()")


def function_profile(srv: Server, db: str, top: int = 8) -> dict[str, list[dict[str, Any]]]:
    """Where the server's time went since the last reset: pg_stat_user_functions (self
    time per function) and, when loaded, pg_stat_statements (statements, nested ones
    inside plpgsql functions included)."""
    time.sleep(1.1)   # backends flush function statistics at most once a second or at exit
    with psycopg.connect(srv.url(db), autocommit=True, row_factory=dict_row) as c:
        functions = c.execute(
            """SELECT schemaname || '.' || funcname AS function, calls,
                      round(total_time::numeric, 1) AS total_ms, round(self_time::numeric, 1) AS self_ms
                 FROM pg_stat_user_functions WHERE calls > 0 ORDER BY self_time DESC LIMIT %s""", (top,)).fetchall()
        statements: list[dict[str, Any]] = []
        toplevel_ms = None
        try:
            if _has_statements(c):
                toplevel_ms = float(c.execute(
                    """SELECT coalesce(sum(total_exec_time), 0) AS ms FROM pg_stat_statements
                        WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                          AND query NOT ILIKE '%%pg_stat%%'""").fetchone()["ms"])  # type: ignore[index]
                statements = c.execute(
                    r"""SELECT regexp_replace(left(query, 160), '\s+', ' ', 'g') AS query, calls, toplevel,
                              round(total_exec_time::numeric, 1) AS total_ms,
                              round((total_exec_time / greatest(calls, 1))::numeric, 3) AS mean_ms, rows
                         FROM pg_stat_statements
                        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                          AND query NOT ILIKE '%%pg_stat%%'
                        ORDER BY total_exec_time DESC LIMIT %s""", (top + 4,)).fetchall()
        except psycopg.Error:
            statements = []
    return {"functions": functions, "statements": statements, "toplevel_ms": toplevel_ms}


def machine() -> dict[str, str]:
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cores": str(os.cpu_count()), "memory": mem, "cpu": cpu,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


@dataclass(frozen=True)
class Measured:
    """One child process: its wall time, its own resource usage (``os.wait4``: CPU, peak
    RSS), its exit code and what it printed (stdout and stderr together)."""

    seconds: float
    usage: Any
    exit_code: int
    output: str


def measured(cmd: Sequence[str], env: dict[str, str]) -> Measured:
    """Run ``cmd`` to its end, timed, its output in a file (a pipe could fill and stall it)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)   # reaped here: Popen must not wait again
        out.seek(0)
        return Measured(seconds, usage, p.returncode, out.read().decode(errors="replace"))


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
