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
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pgerr
from psycopg.rows import dict_row

from ledger.core.users import check_login_name
from ledger.errors import DatabaseUnavailable, LedgerError, NotInitialised, UnknownUser
from ledger.i18n import _
from ledger.store import embedded
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

            embedded.start(Path(self.home) if self.home else None)
            user = embedded.SUPERUSER if admin or not self.user else self.user
            return embedded.url(Path(self.home) if self.home else None, user=user)
        if admin or not self.user:
            return self.url
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{quote(self.user, safe='')}@{host}"))


def connect(target: Target, *, admin: bool = False, autocommit: bool = False) -> Conn:
    try:
        conn = psycopg.connect(target.conninfo(admin=admin), autocommit=autocommit, row_factory=dict_row,
                               application_name="fundledger")
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
    return conn


RETRYABLE = (pgerr.SerializationFailure, pgerr.DeadlockDetected, pgerr.LockNotAvailable)


def run_tx(conn: Conn, work: Callable[[Conn], T], *, attempts: int = 8) -> T:
    """Run ``work`` in one transaction, retrying on serialization failure or deadlock.

    ``work`` must be safe to repeat (every write carries an idempotency key). Database
    refusals are translated into ``LedgerError`` subclasses by constraint name."""
    delay = 0.005
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                return work(conn)
        except RETRYABLE:
            if attempt == attempts:
                raise
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.5)
        except psycopg.Error as e:
            raise translate(e) from e
    raise AssertionError("unreachable")


class Writer:
    """Writes that survive a failover: ``run(work)`` runs ``work`` in one transaction
    (``run_tx``) and, when the connection breaks before the answer arrives — so the
    commit may or may not have happened — reconnects and runs the same ``work`` again,
    for up to ``within`` seconds. ``work`` carries its idempotency keys, so what had
    committed comes back ``duplicate`` and is never posted twice.

    Give the target a URL listing both servers with ``target_session_attrs=read-write``
    (docs/deployment.md): libpq then connects to whichever is the primary, and skips a
    fenced old primary (read-only) or a standby still in recovery."""

    def __init__(self, target: Target, *, within: float = 60.0) -> None:
        self.target = target
        self.within = within
        self.conn: Conn | None = None
        self.resent = 0          # writes sent again after an unknown outcome

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
                    self.conn = connect(self.target)
                if unknown:
                    self.resent += 1
                return run_tx(self.conn, work)
            except LedgerError as e:
                if not self._retryable(e) or time.monotonic() > deadline:
                    raise
                unknown = unknown or self.conn is not None
                self.close()
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 1.0)

    def close(self) -> None:
        if self.conn is not None:
            with suppress(psycopg.Error):
                self.conn.close()
        self.conn = None


@contextmanager
def translated() -> Iterator[None]:
    """Translate psycopg errors raised inside the block into LedgerErrors."""
    try:
        yield
    except psycopg.Error as e:
        raise translate(e) from e
