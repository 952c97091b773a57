"""Attacks through a role's own login, over a real connection (the ``ledger_db``
fixture of tests/conftest.py: the embedded server, or in CI the server at
127.0.0.1:5432). Each attack plants the same payload: a function in the attacker's
own temp schema that, run with the owner's rights, would make the attacker a superuser,
promote it to admin in fl.app_user and write a marker into fl.closed_period. Every test
then asserts that none of the three happened (``Guard.assert_defended``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from tests.conftest import LedgerDB

MARKER_MONTH = "2001-01-01"   # a month long past: the owner may close it (0019 refuses months not ended)

# The payload. Each step in its own block, so one refusal does not hide another success.
PAYLOAD = """
CREATE OR REPLACE FUNCTION pg_temp.pwn() RETURNS boolean LANGUAGE plpgsql AS $pwn$
BEGIN
  BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', session_user); EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN UPDATE fl.app_user SET role = 'admin', unit = NULL WHERE name = session_user;
  EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN INSERT INTO fl.closed_period (month, reason) VALUES ('""" + MARKER_MONTH + """', 'pwned');
  EXCEPTION WHEN OTHERS THEN NULL; END;
  RETURN true;
END $pwn$;
CREATE OR REPLACE FUNCTION pg_temp.pwn_trg() RETURNS trigger LANGUAGE plpgsql AS $pwn$
BEGIN
  PERFORM pg_temp.pwn();
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $pwn$;
"""


@dataclass
class Guard:
    """What an attack must not change, read through the administrator's connection."""

    admin: psycopg.Connection
    users: list[dict]

    def assert_defended(self, who: str) -> None:
        row = self.admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (who,)).fetchone()
        assert row is not None and row["rolsuper"] is False, f"{who} became a superuser"
        users = self.admin.execute("SELECT name, role, unit FROM fl.app_user ORDER BY name").fetchall()
        assert users == self.users, "fl.app_user was rewritten"
        marker = self.admin.execute("SELECT count(*) AS n FROM fl.closed_period WHERE month = %s",
                                    (MARKER_MONTH,)).fetchone()
        assert marker["n"] == 0, "the payload ran with the owner's rights"


@pytest.fixture
def guard(ledger_db: LedgerDB) -> Iterator[Guard]:
    admin = ledger_db.admin()
    yield Guard(admin, admin.execute("SELECT name, role, unit FROM fl.app_user ORDER BY name").fetchall())


def attacker(ledger_db: LedgerDB, who: str) -> psycopg.Connection:
    """``who``'s own login (autocommit: whatever the attack achieves is committed), with
    the payload planted in its temp schema."""
    conn = ledger_db.connect(who, autocommit=True)
    conn.execute(PAYLOAD)
    return conn


def refused(conn: psycopg.Connection, query: str, params: object = None) -> psycopg.Error:
    """``query`` fails (returns the error); a success is an assertion failure."""
    try:
        conn.execute(query, params)
    except psycopg.Error as e:
        return e
    raise AssertionError(f"not refused: {query}")


def temporary_given_back(db: LedgerDB) -> None:
    """TEMPORARY on the ledger's database given back to every role, as a DBA might (0016_db
    revoked it; since ATTACK20b M5 ``verify`` and ``db check`` name it). The tests that plant
    temp objects as the calling role take it first: what they prove — the definer functions
    never use what a caller planted — must hold even on a database where the revoke was undone."""
    db.admin().execute(f'GRANT TEMPORARY ON DATABASE "{db.name}" TO PUBLIC')


def temporary_taken_back(db: LedgerDB) -> None:
    """The release's ACL again (before a test's ``verify``, which would name the grant)."""
    db.admin().execute(f'REVOKE TEMPORARY ON DATABASE "{db.name}" FROM PUBLIC')
