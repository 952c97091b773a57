"""People log in as themselves, over TLS, on a server started from Debian's PostgreSQL 15
(built with OpenSSL) — issue 19.

The test makes a certificate authority, a server certificate (SAN 127.0.0.1) and a client
certificate with the openssl command; pg_hba is scram-sha-256 over ``hostssl`` only, one
auditor logs in by certificate, and plain TCP is rejected. Clients find everything the
libpq way: PGPASSFILE, PGSSLMODE=verify-full, PGSSLROOTCERT, a service file.

* every role logs in with its own password; a wrong password, a disabled user, an
  officer using another's login name, a certificate of another person and a connection
  without TLS are refused; failed logins are slowed (auth_delay);
* ``user add --password-file -``, ``user passwd`` (yourself; an admin for anyone; weak
  passwords refused; another officer's refused), ``user disable``/``enable``;
* the role × action matrix of tests/integration/test_access.py passes over this
  connection;
* ``db check`` passes on this server (WAL archived, a verified backup, a synchronous
  standby streaming over TLS) and fails once ``fsync = off`` or a ``trust`` line appears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.store import backup, pgtools, standby
from tests.conftest import USERS, LedgerDB, Server, run_cli
from tests.reliability.cluster import (
    SUPER_PW,
    Node,
    bootstrap_ledger,
    free_port,
    password_of,
    service_owned,
    write_passfile,
)

pytestmark = pytest.mark.db

PG15 = Path("/usr/lib/postgresql/15/bin")
HBA = """# fundledger test: TLS only, SCRAM passwords, one auditor by certificate
local   all          postgres                 scram-sha-256
hostssl all          aud_cert   127.0.0.1/32  cert
hostssl replication  postgres   127.0.0.1/32  scram-sha-256
hostssl all          all        127.0.0.1/32  scram-sha-256
host    all          all        0.0.0.0/0     reject
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path) -> None:
    """A CA, the server's certificate for 127.0.0.1, and client certificates for aud_cert and o22."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=fundledger test CA",
            cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn, ext in (("server", "127.0.0.1", ["-extfile", "san.ext"]), ("aud_cert", "aud_cert", []),
                          ("o22", "o22", [])):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
        (d / f"{name}.key").chmod(0o600)


@pytest.fixture(scope="module")
def tls() -> Iterator[dict[str, Any]]:
    assert (PG15 / "postgres").exists(), "Debian's PostgreSQL 15 (postgresql-15) is needed for the TLS test"
    tmp = Path(tempfile.mkdtemp(prefix="fl-tls-"))
    saved = {k: os.environ.get(k) for k in ("PGPASSFILE", "PGSSLMODE", "PGSSLROOTCERT", "PGSERVICEFILE")}
    certs = tmp / "certs"
    certs.mkdir()
    make_certs(certs)
    users = [("postgres", SUPER_PW), ("stray", "Stray-Pw-2026x")] + [(u, password_of(u)) for u, _r, _n in USERS]
    write_passfile(tmp / "pgpass", users)
    os.environ.update({"PGPASSFILE": str(tmp / "pgpass"), "PGSSLMODE": "verify-full",
                       "PGSSLROOTCERT": str(certs / "ca.crt")})
    pgdata = tmp / "a"
    node: Node | None = None
    stby: Node | None = None
    try:
        # The server's key and certificate live in its data directory (owned by its user).
        pw = tmp / "superuser.pw"
        pw.write_text(SUPER_PW + "\n")
        service_owned(pw)
        pgtools.initdb(pgdata, PG15, auth="scram-sha-256", pwfile=pw)
        for f in ("server.crt", "server.key", "ca.crt"):
            shutil.copy(certs / f, pgdata / f)
        (pgdata / "pg_hba.conf").write_text(HBA)
        pgtools.hand_over(pgdata)
        pgtools.append_conf(pgdata, {"ssl": "on", "ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'",
                                     "ssl_ca_file": "'ca.crt'", "wal_level": "replica", "max_wal_senders": "5",
                                     "password_encryption": "'scram-sha-256'", "log_connections": "on",
                                     "log_disconnections": "on", "shared_preload_libraries": "'auth_delay'",
                                     "auth_delay.milliseconds": "300", "max_connections": "60",
                                     "shared_buffers": "32MB"})
        node = Node(pgdata, PG15, free_port())
        node.start()
        bootstrap_ledger(node)
        with node.connect() as c:
            c.execute(f"CREATE ROLE stray LOGIN PASSWORD '{users[1][1]}'")
        with node.connect(db="postgres") as c:   # the matrix's own ledger, before the other tests add users
            c.execute("CREATE DATABASE fl_matrix TEMPLATE fundledger")
        yield {"tmp": tmp, "node": node, "certs": certs}
    finally:
        for d in (tmp / "b", pgdata):
            if (d / "postmaster.pid").exists():
                pgtools.LocalServer(d, PG15).stop("immediate")
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)
        del node, stby


def login(node: Node, user: str, **kw: Any) -> psycopg.Connection:
    return psycopg.connect(f"postgresql://{user}@127.0.0.1:{node.port}/fundledger", connect_timeout=10, **kw)


def refused(node: Node, user: str, match: str, **kw: Any) -> float:
    t0 = time.monotonic()
    with pytest.raises(psycopg.OperationalError, match=match):
        login(node, user, **kw).close()
    return time.monotonic() - t0


def test_every_role_logs_in_as_itself_over_tls(tls: dict[str, Any]) -> None:
    node: Node = tls["node"]
    for name, _role, _unit in USERS:
        with login(node, name) as c:
            r = c.execute("SELECT session_user, s.ssl, s.version, a.cipher IS NOT NULL FROM pg_stat_ssl s, "
                          "pg_stat_ssl a WHERE s.pid = pg_backend_pid() AND a.pid = s.pid").fetchone()
            assert r is not None and r[0] == name and r[1] is True and r[2].startswith("TLS")
    # a wrong password, slowed by auth_delay
    took = refused(node, "fin", "password authentication failed", password="Wrong-Guess-123!", passfile="/dev/null")
    assert took >= 0.3
    # an officer using another's login name (with their own password) is refused
    refused(node, "o81", "password authentication failed", password=password_of("o22"), passfile="/dev/null")
    # no TLS, no login (and no password sent in clear)
    refused(node, "fin", "no pg_hba.conf entry|rejects connection", sslmode="disable")
    # a server whose certificate does not match is not trusted (sslrootcert = another CA)
    other = tls["tmp"] / "other-ca"
    other.mkdir(exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k",
            "-out", "ca.crt", "-days", "1", "-subj", "/CN=mallory", cwd=other)
    refused(node, "fin", "certificate verify failed", sslrootcert=str(other / "ca.crt"))
    # the CLI finds it all the libpq way: a service file and PGPASSFILE; --as picks the person
    svc = tls["tmp"] / "pg_service.conf"
    svc.write_text(f"[city]\nhost=127.0.0.1\nport={node.port}\ndbname=fundledger\nsslmode=verify-full\n"
                   f"sslrootcert={tls['certs'] / 'ca.crt'}\n")
    r = run_cli(["verify", "--json"], url="postgresql://?service=city", user="aud",
                env={"PGSERVICEFILE": str(svc), "PGSSLMODE": "disable"})   # the service file's sslmode wins
    assert r.exit_code == 0, r


def test_client_certificate_login(tls: dict[str, Any]) -> None:
    node: Node = tls["node"]
    certs: Path = tls["certs"]
    assert run_cli(["user", "add", "aud_cert", "--role", "auditor"], url=node.url()).exit_code == 0
    with login(node, "aud_cert", sslcert=str(certs / "aud_cert.crt"), sslkey=str(certs / "aud_cert.key")) as c:
        assert c.execute("SELECT session_user").fetchone() == ("aud_cert",)
    refused(node, "aud_cert", "certificate", sslcert=str(certs / "o22.crt"), sslkey=str(certs / "o22.key"))
    refused(node, "aud_cert", "certificate", sslcert="/nonexistent", sslkey="/nonexistent")
    r = run_cli(["verify"], url=node.url(), user="aud_cert",
                env={"PGSSLCERT": str(certs / "aud_cert.crt"), "PGSSLKEY": str(certs / "aud_cert.key")})
    assert r.exit_code == 0, r


def test_passwords_and_logins_through_the_cli(tls: dict[str, Any]) -> None:
    """On PostgreSQL 15 the DBA's login adds people, resets others' passwords and disables
    logins (fundledger's schema owner cannot alter roles there); everyone changes their own."""
    node: Node = tls["node"]
    url = node.url()   # the DBA's (postgres) login: no --as
    # user add with a password from standard input (never on the command line)
    new_pw = "Fresh-Start-2026!"
    r = run_cli(["user", "add", "newbie", "--role", "officer", "--unit", "230822", "--password-file", "-"],
                url=url, input=new_pw + "\n")
    assert r.exit_code == 0, r
    with login(node, "newbie", password=new_pw, passfile="/dev/null") as c:
        assert c.execute("SELECT session_user").fetchone() == ("newbie",)
    weak = run_cli(["user", "passwd", "--password-file", "-"], url=url, user="o22", input="short\n")
    assert weak.exit_code != 0 and "12 characters" in weak.stderr
    # an officer cannot set another's password; on 15 an admin cannot either (the DBA does)
    for who in ("o22", "admin"):
        r = run_cli(["user", "passwd", "o81", "--password-file", "-"], url=url, user=who, input="Takeover-Pw-2026!\n")
        assert r.exit_code != 0, (who, r)
    with login(node, "o81"):
        pass
    # a person changes their own: the old one stops working
    mine = "Changed-Mine-2026!"
    r = run_cli(["user", "passwd", "--password-file", "-"], url=url, user="o22", input=mine + "\n")
    assert r.exit_code == 0, r
    refused(node, "o22", "password authentication failed", password=password_of("o22"), passfile="/dev/null")
    with login(node, "o22", password=mine, passfile="/dev/null"):
        pass
    # the DBA resets it back (for the other tests), and disables a person who left
    r = run_cli(["user", "passwd", "o22", "--password-file", "-"], url=url, input=password_of("o22") + "\n")
    assert r.exit_code == 0, r
    for who in ("o22", "admin"):
        assert run_cli(["user", "disable", "rev2", "--reason", "left"], url=url, user=who).exit_code != 0
    assert run_cli(["user", "disable", "rev2", "--reason", "left the bureau"], url=url).exit_code == 0
    refused(node, "rev2", "not permitted to log in")
    assert run_cli(["user", "enable", "rev2", "--reason", "came back"], url=url).exit_code == 0
    with login(node, "rev2"):
        pass
    with node.connect() as c:
        ops = [(r["action"], r["subject"], r["actor"], r["reason"]) for r in c.execute(
            "SELECT action, subject, actor, reason FROM fl.operation_log WHERE action <> 'backup' ORDER BY id")]
    assert ("password", "newbie", "postgres", "") in ops and ("password", "o22", "postgres", "") in ops
    assert ("login_disabled", "rev2", "postgres", "left the bureau") in ops
    assert ("login_enabled", "rev2", "postgres", "came back") in ops


def test_role_matrix_over_tls(tls: dict[str, Any], tmp_path: Path) -> None:
    """The whole forbidden-action matrix, every role over its own TLS + SCRAM login."""
    from tests.integration.test_access import test_every_forbidden_action_is_refused

    node: Node = tls["node"]
    db = LedgerDB(Server(node.url(db="postgres")), "fl_matrix")
    try:
        with db.connect("fin") as c:
            assert c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()["ssl"] is True
        test_every_forbidden_action_is_refused(db, tmp_path)
    finally:
        db.close()


def test_db_check_on_the_safe_server(tls: dict[str, Any]) -> None:
    node: Node = tls["node"]
    tmp: Path = tls["tmp"]
    url = node.url()
    with psycopg.connect(url, autocommit=True) as c:
        from psycopg.rows import dict_row

        c.row_factory = dict_row  # type: ignore[assignment]
        assert backup.enable_archiving(c, tmp / "archive", timeout_s=60)
    node.stop()
    node.start()
    assert run_cli(["backup", str(tmp / "backups")], url=url).exit_code == 0
    r = run_cli(["db", "standby", "create", str(tmp / "b"), "--name", "standby1", "--reason", "city layout"], url=url)
    assert r.exit_code == 0, r
    stby = Node(tmp / "b", PG15, free_port())
    stby.start()
    try:
        standby.wait_streaming(url, "standby1", timeout=30)
    except Exception as e:
        raise AssertionError((stby.pgdata / "postgresql.auto.conf").read_text() + stby.server.log_tail()) from e
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("SELECT pg_switch_wal()")
        c.execute("CHECKPOINT")
        time.sleep(0.5)
        assert c.execute("SELECT ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid"
                         ).fetchone() == (True,)   # the standby streams over TLS too
    # (ATTACK6 T1 addendum) PUBLIC's default CONNECT on postgres/template1 lets a ledger login in
    # ("hostssl all all" above): the check fails and names the REVOKE; the officer really connects.
    with psycopg.connect(f"postgresql://o22@127.0.0.1:{node.port}/postgres", connect_timeout=10) as c:
        c.execute("CREATE TEMP TABLE fill AS SELECT repeat('x', 100) FROM generate_series(1, 10)")
    open_ = run_cli(["db", "check", "--json"], url=url)
    other = {i["name"]: i for i in open_.json()["items"]}["other_databases"]
    assert open_.exit_code == 1 and other["status"] == "fail" and "postgres" in other["value"], other
    assert "REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC" in other["hint"], other
    # fl_matrix (a clone of the ledger: CREATE DATABASE … TEMPLATE gives PostgreSQL's default ACL
    # again) is named too.
    assert "fl_matrix" in other["value"], other
    with psycopg.connect(url, autocommit=True) as c:
        for db in ("postgres", "template1", "fl_matrix"):
            c.execute(f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(f"postgresql://o22@127.0.0.1:{node.port}/postgres", connect_timeout=10).close()
    ok = run_cli(["db", "check", "--json"], url=url)
    by = {i["name"]: i for i in ok.json()["items"]}
    assert ok.exit_code == 0, by
    assert by["other_databases"]["status"] == "ok", by
    assert all(i["status"] in ("ok", "warn") for i in by.values()), by
    assert by["ssl"]["status"] == "ok" and by["pg_hba"]["status"] == "ok" and by["sync_standby"]["status"] == "ok"
    # ... and fails on fsync = off
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("ALTER SYSTEM SET fsync = off")
        c.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    bad = run_cli(["db", "check", "--json"], url=url)
    assert bad.exit_code == 1 and {i["name"]: i for i in bad.json()["items"]}["fsync"]["status"] == "fail"
    # ... and on a trust line for a fundledger role
    hba = node.pgdata / "pg_hba.conf"
    hba.write_text("hostssl all fin 127.0.0.1/32 trust\n" + HBA)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("ALTER SYSTEM RESET fsync")
        c.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    bad = run_cli(["db", "check", "--json"], url=url)
    items = {i["name"]: i for i in bad.json()["items"]}
    assert bad.exit_code == 1 and items["pg_hba"]["status"] == "fail" and items["fsync"]["status"] == "ok"
    assert "trust" in items["pg_hba"]["value"]
    hba.write_text(HBA)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("SELECT pg_reload_conf()")
    stby.stop()
    # the other tests of this module share the server: commits must not wait for the stopped standby
    assert run_cli(["db", "standby", "async", "--reason", "test over"], url=url).exit_code == 0
