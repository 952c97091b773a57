"""Connections, identity and retries: the one door to PostgreSQL.

* ``FUNDLEDGER_DATABASE_URL`` set: that server; identity is the login in the URL
  (``--as NAME`` swaps the user name and the server authenticates it).
* unset: the embedded server (started on demand); ``--as NAME`` logs in as NAME over
  the private socket.

PostgreSQL records ``session_user`` on every write, never a name the client types.
Serialization failures and deadlocks are retried here, not shown to users. A write
whose commit outcome is unknown (the connection broke: the primary died, or was fenced
during a failover) is sent again by ``Writer`` on a new connection with the same
idempotency keys; the database answers ``duplicate`` for what had committed.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pgerr
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row, tuple_row

from ledger.core.users import check_login_name
from ledger.errors import DatabaseUnavailable, LedgerError, NotInitialised, StateError, UnknownUser
from ledger.i18n import _
from ledger.store.translate import translate

T = TypeVar("T")

# Every connection returns rows as dicts (psycopg.rows.dict_row).
Row = dict[str, Any]
Conn = psycopg.Connection[Row]


@dataclass(frozen=True)
class Target:
    """Where to connect and as whom."""

    url: str | None = None          # server URL, or None for the embedded server
    user: str | None = None         # --as NAME / FUNDLEDGER_USER
    home: str | None = None         # embedded data directory override

    @classmethod
    def from_env(cls, user: str | None = None) -> Target:
        name = user or os.environ.get("FUNDLEDGER_USER") or None
        return cls(os.environ.get("FUNDLEDGER_DATABASE_URL") or None,
                   check_login_name(name) if name is not None else None,
                   os.environ.get("FUNDLEDGER_HOME") or None)

    @property
    def embedded(self) -> bool:
        return self.url is None

    def conninfo(self, *, admin: bool = False) -> str:
        """libpq URL. ``admin`` connects as the migrating owner (superuser when embedded)."""
        if self.url is None:
            from pathlib import Path

            from ledger.store import embedded  # (platformdirs) only when no server URL is set

            # a named user's session never makes a cluster: only one the admin's work can use
            embedded.start(Path(self.home) if self.home else None, create=admin or not self.user)
            user = embedded.SUPERUSER if admin or not self.user else self.user
            return embedded.url(Path(self.home) if self.home else None, user=user)
        if admin or not self.user:
            return self.url
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{quote(self.user, safe='')}@{host}"))


# Every user's session resolves names in pg_catalog alone (then its own temporary objects):
# fundledger qualifies every name of its own schema, and a search_path that the server,
# the database or a role was given (``ALTER SYSTEM SET search_path = shadow, pg_catalog``)
# would otherwise let a superuser's ``shadow.sum(bigint)`` answer every report (ATTACK7
# U14). Sent in the startup packet, it wins over every such setting from the first
# statement on. (The admin's connection, which runs migrations, is the DBA's own.)
SESSION_OPTIONS = "-c search_path=pg_catalog,pg_temp"

# Every session fundledger opens — a user's, the verifiers' (and the second sessions they
# copy from one), the admin's that migrates, the operator's — starts with JIT off, in its
# startup packet: ``jit`` is a USERSET setting, so any login may, and the startup packet
# wins over ``ALTER ROLE`` / ``ALTER DATABASE`` / postgresql.conf. PostgreSQL compiles a
# statement with LLVM when its estimated cost passes jit_above_cost (100,000): on a ledger
# not yet analysed (a new one; autovacuum off) and under the verifier's planner settings,
# the write path's statements inside fl.post_entries, the reports' and the verifier's pass
# it, and are compiled again at every call (LLVM's code is not kept). Debian's and most packagers'
# PostgreSQL ship llvmjit with jit = on; the embedded server has none. Measured on
# PostgreSQL 15 with llvmjit, 2026-12-07 (bench/history/2026-12-07-ci-time-6.md): 50 entries
# posted one per call took 10.9 CPU-s of the server with JIT, 0.19 without, on a new ledger,
# 11.4 / 0.30 on one of 101,162 entries (analysed); there the reports (trial balance,
# income, monitor) 0.46 / 0.10 (6.5 / 2.1 not analysed), verify 52 / 22. Nothing measured
# ran faster with JIT. CI's server run: 1.73 -> 0.54 CPU-s of the server a test.
# A DBA who wants JIT for fundledger's sessions sets PGOPTIONS (or ``options`` in the URL):
# what they ask for comes after this and wins. Not read back (``check_pinned``): a session
# whose JIT a login trigger turned on again is slower, never wrong (jit is among
# verify_catalogue.HARMLESS_SETTINGS), and on PostgreSQL 18 reading it back would cost every
# session a round trip that search_path, reported at start-up, does not.
NO_JIT = "-c jit=off"

# (ATTACK20 L8) How values cross the wire, the same in every session whatever the
# environment, the database or the role say: text in UTF-8 (``PGCLIENTENCODING=GBK``, usual
# on a Chinese Windows server, made every unit name outside GBK a refusal blaming the user's
# input, and SQL_ASCII handed psycopg bytes: a traceback), dates and intervals in the forms
# psycopg reads (``DateStyle = 'SQL, DMY'`` from PGOPTIONS, PGDATESTYLE or a DBA's ALTER
# DATABASE made entry show a traceback). fundledger formats every date it prints itself,
# so none of these is a user's choice to keep. All three are reported by the server at
# start-up (ParameterStatus), so ``check_pinned`` reads them back without a round trip.
# client_encoding also goes as libpq's own parameter, and PGDATESTYLE is not passed on:
# libpq sends both variables as startup parameters of their own, which the server applies
# after the ``options`` (they would win over ``-c``).
WIRE_OPTIONS = ("-c client_encoding=UTF8 -c DateStyle=ISO,YMD -c IntervalStyle=postgres "
                "-c standard_conforming_strings=on")   # (ATTACK21b B1) plpgsql reads its literals under it


def _session_options(info: str, ours: str) -> str:
    """``info`` with the startup options: ``NO_JIT``, then what the URL or PGOPTIONS already
    asked for (an explicit ``options`` would otherwise replace PGOPTIONS, as libpq lets a
    parameter win over its variable), then ``ours`` (later ones win)."""
    given = str(conninfo_to_dict(info).get("options") or os.environ.get("PGOPTIONS", ""))
    return make_conninfo(info, options=" ".join(o for o in (NO_JIT, given, ours) if o))


def session_conninfo(conninfo: str, ours: str = "") -> str:
    """(ATTACK21 N2) The one conninfo builder every session fundledger opens goes through —
    ``connect``'s and those opened with psycopg directly (migrations and ``init`` under
    SQLAlchemy, ``admin.bootstrap``, backups, the operator's, the embedded server's): JIT off
    (``NO_JIT``), the URL's and PGOPTIONS' own options kept, then ``WIRE_OPTIONS`` and ``ours``;
    client_encoding UTF8 as libpq's own parameter too, and PGDATESTYLE not passed on (libpq
    would send both after the options, and they would win). ``PGCLIENTENCODING=SQL_ASCII`` made
    ``init`` a traceback (SQLAlchemy's version regex on the bytes psycopg returned).
    tests/security/test_attack21_init_encoding.py's tripwire fails on a ``psycopg.connect`` or
    ``create_engine`` in ledger/ or cli/ whose conninfo was not built here."""
    os.environ.pop("PGDATESTYLE", None)
    return make_conninfo(_session_options(conninfo, _wire(ours)), client_encoding="UTF8")


def _wire(ours: str) -> str:
    """The startup options fundledger adds to a session (after the URL's and PGOPTIONS'):
    ``WIRE_OPTIONS``, then ``ours``; what ``connect`` reads back."""
    return " ".join(o for o in (WIRE_OPTIONS, ours) if o)


def without_jit(conninfo: str) -> str:
    """``conninfo`` with JIT off and nothing else pinned: the tests' raw sessions, which must see
    what a DBA's ``ALTER ROLE … SET DateStyle`` does to a session fundledger did not open
    (tests/security/test_attack7_gaps.py). Every session fundledger opens goes through
    ``session_conninfo`` instead (the tripwire in tests/security/test_attack21_init_encoding.py)."""
    return _session_options(conninfo, "")


def connect(target: Target, *, admin: bool = False, autocommit: bool = False, options: str | None = None) -> Conn:
    """``options``: server settings for the session's startup packet (``-c name=value``),
    which win over any ``ALTER ROLE`` / ``ALTER DATABASE`` / ``ALTER SYSTEM`` setting from
    its first statement; a user's session always pins its ``search_path``
    (``SESSION_OPTIONS``), and every session starts with JIT off (``NO_JIT``)."""
    extra = " ".join(o for o in ("" if admin else SESSION_OPTIONS, options or "") if o)
    info = session_conninfo(target.conninfo(admin=admin), extra)
    try:
        # Opened in autocommit so that the read-back below opens no transaction.
        conn = psycopg.connect(info, autocommit=True, row_factory=dict_row, application_name="fundledger")
    except psycopg.OperationalError as e:
        text = str(e).strip()
        role = re.search(r'role "([^"]+)" does not exist', text)
        if role:
            raise UnknownUser(_("user {name} does not exist. An admin adds them: fundledger --as ADMIN user add {name} "
                                "--role ROLE (on a new database run fundledger init and add the first admin "
                                "first)").format(name=role.group(1))) from e
        if re.search(r'database "[^"]+" does not exist', text):
            raise NotInitialised(_("the database does not exist yet: run fundledger init first")) from e
        raise DatabaseUnavailable(_("cannot connect to PostgreSQL: {error}").format(error=text)) from e
    try:
        check_pinned(conn, startup_settings(_wire(extra)))
    except psycopg.Error as e:
        conn.close()
        raise DatabaseUnavailable(_("cannot connect to PostgreSQL: {error}").format(error=str(e).strip())) from e
    except BaseException:
        conn.close()
        raise
    conn.autocommit = autocommit
    return conn


class SessionSettingsChanged(LedgerError):
    """A setting this session pinned in its startup packet no longer holds once the session
    has started (a superuser's ``ON login`` event trigger, a preloaded library)."""

    rule = "session_settings"


_OPTION = re.compile(r"-c\s*([A-Za-z_][A-Za-z0-9_.]*)=(\S*)")


def startup_settings(options: str) -> dict[str, str]:
    """The settings ``-c name=value`` of a startup packet's options, by lower-case name (the
    last one wins, as the server takes them). Only the options fundledger itself adds are
    read back (``connect``): what PGOPTIONS or the URL asked for is the caller's own."""
    return {m.group(1).lower(): m.group(2) for m in _OPTION.finditer(options)}


def _same(got: str, want: str) -> bool:
    """The value the server reports against the one sent: the server prints a list with
    ", " and some values in its own case (``UTF8``, ``on``); an unquoted name in
    ``search_path`` is folded to lower case by the server too."""
    return got.replace(" ", "").lower() == want.replace(" ", "").lower()


# The names the server reports these settings under (ParameterStatus is case-sensitive;
# ``startup_settings`` folds names to lower case).
_REPORTED_AS = {"datestyle": "DateStyle", "intervalstyle": "IntervalStyle", "timezone": "TimeZone"}

_READ_PINNED = "SELECT n AS name, pg_catalog.current_setting(n) AS setting FROM pg_catalog.unnest(%s::pg_catalog.text[]) n"


def check_pinned(conn: Conn, want: dict[str, str]) -> None:
    """Every setting the startup packet pinned still holds once the session has started
    (ATTACK8 V1). On PostgreSQL 17+ a superuser's ``ON login`` event trigger runs after the
    startup packet's settings were applied and can set them again — ``search_path`` back to
    a schema with its own ``sum(bigint)`` — for every session of every login; a library in
    ``session_preload_libraries`` can do the same on any version. The settings the server
    reports to the client at start-up (ParameterStatus: ``search_path`` since PostgreSQL
    18, ``TimeZone``, ``DateStyle``, ``client_encoding`` …) are compared without a round
    trip; the others are read with one query (``current_setting``, a built-in the
    catalogue check vouches for). A difference is a refusal naming the setting and the
    value seen: nothing is read or written under it."""
    if not want:
        return
    got: dict[str, str] = {}
    ask: list[str] = []
    for name in want:
        reported = conn.info.parameter_status(_REPORTED_AS.get(name, name))
        if reported is None:
            ask.append(name)
        else:
            got[name] = reported
    if ask:
        with conn.cursor(row_factory=tuple_row) as cur:
            for name, setting in cur.execute(_READ_PINNED, (ask,)).fetchall():
                got[str(name)] = str(setting)
    for name, value in want.items():
        seen = got.get(name)
        if seen is None or not _same(seen, value):
            raise SessionSettingsChanged(_(
                "the server changed the setting {name} after this session started: fundledger set it to "
                "{wanted}, the server now has {seen}. Something on the server (an event trigger ON login, a "
                "preloaded library) rewrites sessions; nothing was read or written. Tell the database "
                "administrator (DBA) to remove it, then run the command again").format(
                name=name, wanted=value, seen=seen if seen is not None else "?"))


RETRYABLE = (pgerr.SerializationFailure, pgerr.DeadlockDetected, pgerr.LockNotAvailable)
# A unique index that made this transaction wait for another writer's, and refused once
# that one committed the same key (a request, an import's reference, a budget version, a
# reversal): run again, the function sees the committed row and gives the idempotent
# answer. Tried at most RACE_ATTEMPTS times: a violation that repeats is no race.
RACES = (pgerr.UniqueViolation,)
RACE_ATTEMPTS = 3
# Every API function waits at most 5 s for a lock another session holds (lock_timeout, 0027).
# Past it, the session that holds the rows may be stuck in an open transaction (an officer who
# imported a collection and stayed): fl.end_stuck_writers() ends such sessions, then the write
# runs again — at most LOCK_ATTEMPTS times, then the "locked, run it again" refusal.
LOCK_ATTEMPTS = 4


def run_tx(conn: Conn, work: Callable[[Conn], T], *, attempts: int = 8) -> T:
    """Run ``work`` in one transaction, retrying on serialization failure or deadlock, and
    on a unique violation (another writer committed the same key meanwhile: ``RACES``).

    ``work`` must be safe to repeat (every write carries an idempotency key). Database
    refusals are translated into ``LedgerError`` subclasses by constraint name."""
    delay = 0.005
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                return work(conn)
        except pgerr.LockNotAvailable as e:
            if attempt >= min(attempts, LOCK_ATTEMPTS) or _is_refusal(e):
                raise translate(e) from e
            _end_stuck_writers(conn)
        except RETRYABLE:
            if attempt == attempts:
                raise
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.5)
        except RACES as e:
            if attempt >= min(attempts, RACE_ATTEMPTS) or _is_refusal(e):
                raise translate(e) from e
            time.sleep(delay * random.uniform(0.5, 1.5))
        except psycopg.Error as e:
            raise translate(e) from e
    raise AssertionError("unreachable")


def _end_stuck_writers(conn: Conn) -> None:
    """Ask the database to end fundledger sessions stuck in a write transaction (its own
    rules decide which: sql/0027_confinement.sql); nothing if the schema has no guard."""
    try:
        with conn.transaction():
            conn.execute("SELECT fl.end_stuck_writers()")
    except psycopg.Error:
        pass


def _is_refusal(e: psycopg.Error) -> bool:
    """A refusal of our SQL raised with SQLSTATE 23505 (``fl.refuse('idempotency_conflict',
    …, 'unique_violation')``: a key already used for other content) — final, not a race."""
    from ledger.store.refusals import rules

    return (e.diag.constraint_name or "") in rules()


class Writer:
    """Writes that survive a failover: ``run(work)`` runs ``work`` in one transaction
    (``run_tx``) and, when the connection breaks before the answer arrives — so the
    commit may or may not have happened — reconnects and runs the same ``work`` again,
    for up to ``within`` seconds. ``work`` carries its idempotency keys, so what had
    committed comes back ``duplicate`` and is never posted twice.

    Give the target a URL listing both servers with ``target_session_attrs=read-write``
    (docs/deployment.md): libpq then connects to whichever is the primary, and skips a
    fenced old primary (read-only) or a standby still in recovery."""

    def __init__(self, target: Target, *, within: float = 60.0, epochs: Path | None = None) -> None:
        self.target = target
        self.within = within
        self.conn: Conn | None = None
        self.resent = 0          # writes sent again after an unknown outcome
        self.epochs = epochs if epochs is not None else epoch_file()
        self.stale: set[tuple[str, str]] = set()   # (host, port) of old primaries found writable

    def _connect(self) -> Conn:
        """The target, without the hosts found to be stale primaries (when others remain)."""
        if not self.stale:
            return connect(self.target)
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        d = conninfo_to_dict(self.target.conninfo())
        hosts = str(d.get("host") or "").split(",")
        ports = str(d.get("port") or "").split(",")
        ports = ports * len(hosts) if len(ports) == 1 else ports
        keep = [(h, p) for h, p in zip(hosts, ports, strict=False) if (h, p) not in self.stale]
        d["host"], d["port"] = ",".join(h for h, _p in keep), ",".join(p for _h, p in keep)
        return connect(Target(url=make_conninfo(**{k: str(v) for k, v in d.items() if v is not None})))

    def _check_epoch(self, conn: Conn) -> None:
        """Refuse a primary on an older timeline than one this client has written to:
        an old primary that came back unfenced (PostgreSQL starts a new timeline at every
        promotion). The highest timeline seen per cluster is kept in ``self.epochs``."""
        try:
            r = conn.execute(_EPOCH_SQL).fetchone()
        except psycopg.Error:
            conn.rollback()      # not visible to this login: the server-side fences still hold
            return
        conn.rollback()
        if r is None or r["tli"] is None:
            return
        key, tli = str(r["sysid"]), int(r["tli"])
        seen = _read_epochs(self.epochs)
        if tli < seen.get(key, 0):
            self.stale.add((str(conn.info.host), str(conn.info.port)))
            self.close()
            raise StalePrimary(_("this server is on timeline {tli}, but this ledger was already written on timeline "
                                 "{seen}: it is an old primary that was not fenced. Stop it and call the operator "
                                 "(fundledger db standby rejoin); nothing was written").format(
                tli=tli, seen=seen[key]))
        if tli > seen.get(key, 0):
            _write_epoch(self.epochs, key, tli)

    def _retryable(self, e: LedgerError) -> bool:
        if isinstance(e.__cause__, pgerr.ReadOnlySqlTransaction):
            return True          # connected to a server that was fenced or demoted meanwhile
        return isinstance(e, DatabaseUnavailable) and (self.conn is None or self.conn.closed or self.conn.broken)

    def run(self, work: Callable[[Conn], T]) -> T:
        deadline = time.monotonic() + self.within
        delay = 0.05
        unknown = False
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self._connect()
                    self._check_epoch(self.conn)
                if unknown:
                    self.resent += 1
                return run_tx(self.conn, work)
            except StalePrimary:
                if not self._others_left() or time.monotonic() > deadline:
                    raise
                continue         # the URL's other hosts: the real primary is among them
            except LedgerError as e:
                if not self._retryable(e) or time.monotonic() > deadline:
                    raise
                unknown = unknown or self.conn is not None
                self.close()
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 1.0)

    def _others_left(self) -> bool:
        from psycopg.conninfo import conninfo_to_dict

        hosts = str(conninfo_to_dict(self.target.conninfo()).get("host") or "").split(",")
        return len(hosts) > len(self.stale)

    def close(self) -> None:
        if self.conn is not None:
            with suppress(psycopg.Error):
                self.conn.close()
        self.conn = None


class StalePrimary(StateError):
    """A writable server on an older timeline than the ledger has reached."""

    rule = "stale_primary"


_EPOCH_SQL = """SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system()) AS sysid,
                       CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL
                            ELSE ('x' || substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))
                                 ::bit(32)::int END AS tli"""


def epoch_file() -> Path:
    """Where this client keeps the highest timeline it has written on, per cluster."""
    import platformdirs

    home = os.environ.get("FUNDLEDGER_STATE_DIR")
    return Path(home or platformdirs.user_state_dir("fundledger")) / "epochs.json"


def _read_epochs(path: Path) -> dict[str, int]:
    import json

    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_epoch(path: Path, key: str, tli: int) -> None:
    import json

    with suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read_epochs(path)
        data[key] = max(tli, data.get(key, 0))
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), "utf-8")
        tmp.replace(path)


@contextmanager
def translated() -> Iterator[None]:
    """Translate psycopg errors raised inside the block into LedgerErrors."""
    try:
        yield
    except psycopg.Error as e:
        raise translate(e) from e
