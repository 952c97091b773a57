"""Is this server safe for a fund ledger? (``fundledger db check``) — and people's
passwords and logins in server mode.

Every check reads what PostgreSQL itself reports (``SHOW``, ``pg_hba_file_rules``,
``pg_stat_archiver``, ``pg_stat_replication``) plus the operations log that
``fundledger backup`` writes; each item carries a hint that says how to fix it.

Passwords: the SCRAM-SHA-256 verifier is computed here, on the client (RFC 5802/7677,
as libpq's ``PQencryptPasswordConn`` does), and handed to ``fl.set_password``; the
password itself never travels, never reaches a server log or ``pg_stat_activity``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql

from ledger.core.findings import Said
from ledger.errors import BadInput, NotFound, PermissionDenied
from ledger.i18n import _, code_text
from ledger.store.db import Conn
from ledger.store.rows import fetch_all
from ledger.store.verify_catalogue import check_database, database_encoding

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
BACKUP_MAX_AGE = dt.timedelta(hours=26)  # nightly backups, with slack
ROLE_GROUPS = ("fl_officer", "fl_reviewer", "fl_finance", "fl_auditor", "fl_admin")


# ---- passwords ----------------------------------------------------------------------------

def scram_verifier(password: str, *, iterations: int = SCRAM_ITERATIONS, salt: bytes | None = None) -> str:
    """``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>``, the form PostgreSQL stores."""
    if not password:
        raise BadInput(_("an empty password is not a password"))
    salt = salt or os.urandom(16)
    # PostgreSQL SASLprep-normalises; NFKC is its core and the same for every common password.
    import unicodedata

    pw = unicodedata.normalize("NFKC", password).encode("utf-8")
    salted = hashlib.pbkdf2_hmac("sha256", pw, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


def check_password_strength(password: str, name: str) -> None:
    """等保 level 3 asks for complex passwords: 12+ characters from 3 of 4 classes, not the name."""
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if len(password) < 12 or classes < 3:
        raise BadInput(_("a password needs at least 12 characters from three of: lower case, upper case, digits, "
                         "other characters"))
    if name.lower() in password.lower():
        raise BadInput(_("a password must not contain the user's name"))


def _owner_alters_roles(conn: Conn) -> tuple[bool, bool]:
    """(can fl's definer functions alter login roles?, may this session do it itself?)

    On PostgreSQL 16+ the schema owner administers the roles it created (CREATEROLE with
    ADMIN). On 15 it has no CREATEROLE (there it could grant itself any role:
    docs/security.md), so a DBA's session (superuser or CREATEROLE) alters the role
    itself, and everyone may change their own password (PostgreSQL allows that)."""
    r = conn.execute("""SELECT current_setting('server_version_num')::int >= 160000 AS v16,
                               (SELECT r.rolsuper OR r.rolcreaterole FROM pg_catalog.pg_roles r
                                 WHERE r.rolname = session_user) AS dba""").fetchone()
    assert r is not None
    return bool(r["v16"]), bool(r["dba"])


def _check_user_role(conn: Conn, name: str) -> None:
    """The rules of fl._user_role, read by the client (PostgreSQL 15 path)."""
    r = conn.execute("""SELECT EXISTS (SELECT 1 FROM fl.user_login WHERE name = %s) AS known,
                               EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = %s
                                        AND (r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls))
                               AS privileged""", (name, name)).fetchone()
    if r is None or not r["known"]:
        raise NotFound(_("{name} is not a fundledger user").format(name=name))
    if r["privileged"]:
        raise PermissionDenied(_("{name} is a privileged role; manage it with PostgreSQL's own tools").format(
            name=name))


def set_password(conn: Conn, name: str, password: str) -> None:
    verifier = scram_verifier(password)
    v16, dba = _owner_alters_roles(conn)
    if v16:
        conn.execute("SELECT fl.set_password(%s, %s)", (name, verifier))
        return
    _check_user_role(conn, name)
    self_ = conn.execute("SELECT session_user = %s AS me", (name,)).fetchone()
    if not dba and not (self_ and self_["me"]):
        raise PermissionDenied(_("on PostgreSQL 15 only the DBA sets another person's password (fundledger user "
                                 "passwd NAME, run with the DBA's login); everyone may change their own"))
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(verifier)))
    if dba:
        log_operation(conn, "password", name, "", {"by": "dba"})


def set_login(conn: Conn, name: str, enabled: bool, reason: str) -> None:
    v16, dba = _owner_alters_roles(conn)
    if v16:
        conn.execute("SELECT fl.set_login(%s, %s, %s)", (name, enabled, reason))
        return
    _check_user_role(conn, name)
    if not dba:
        raise PermissionDenied(_("on PostgreSQL 15 only the DBA enables or disables logins (fundledger user "
                                 "disable NAME, run with the DBA's login)"))
    conn.execute(sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(name), sql.SQL("LOGIN" if enabled else "NOLOGIN")))
    log_operation(conn, "login_enabled" if enabled else "login_disabled", name, reason, {"by": "dba"})


def log_operation(conn: Conn, action: str, subject: str | None, reason: str, detail: dict[str, Any]) -> int:
    r = conn.execute("SELECT fl.log_operation(%s, %s, %s, %s::jsonb) AS id",
                     (action, subject, reason, json.dumps(detail, default=str))).fetchone()
    assert r is not None
    return int(r["id"])


@dataclass(frozen=True, slots=True)
class Operation:
    """One entry of the operations log (``db log``), newest first."""

    id: int
    at: dt.datetime
    actor: str
    client_addr: str | None
    action: str                 # password, login_enabled, backup, standby_sync, promote, fence …
    subject: str | None
    reason: str
    detail: dict[str, Any]      # the operation's own document (what was backed up, which standby …)


def operations(conn: Conn, limit: int = 100) -> list[Operation]:
    return fetch_all(conn, Operation,
                     """SELECT id, at, actor, host(client_addr) AS client_addr, action, subject, reason, detail
                          FROM fl.operation_log ORDER BY id DESC LIMIT %s""", (limit,))


# ---- db check -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    name: str
    status: str      # ok | warn | fail | unknown
    value: str
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def _show(conn: Conn, name: str) -> str | None:
    r = conn.execute("SELECT current_setting(%s, true) AS v", (name,)).fetchone()
    return None if r is None else r["v"]


def _item(name: str, good: bool, value: str, hint: str, *, warn_only: bool = False) -> Item:
    return Item(name, "ok" if good else ("warn" if warn_only else "fail"), value, "" if good else hint)


def _hba(conn: Conn, socket_only: bool) -> Item:
    try:
        rows = conn.execute("""SELECT line_number, type, database, user_name, address, auth_method, error
                                 FROM pg_hba_file_rules ORDER BY line_number""").fetchall()
    except psycopg.Error as e:  # any refusal means "not visible to this login"
        conn.rollback()
        return Item("pg_hba", "unknown",
                    _("pg_hba_file_rules not visible to this login ({error})").format(error=type(e).__name__),
                    _("run db check as a superuser (or grant pg_read_all_settings and EXECUTE on pg_hba_file_rules) "
                      "to check pg_hba.conf; it must have no trust/password lines for fundledger's roles"))
    users = {r["name"] for r in conn.execute("SELECT name FROM fl.app_user").fetchall()} | set(ROLE_GROUPS)
    dbname = conn.execute("SELECT current_database() AS d").fetchone()["d"]  # type: ignore[index]
    bad = []
    local = []   # whether each bad line is a local (unix socket) line
    for r in rows:
        if r["error"]:
            bad.append(_("line {line}: {rule}").format(line=r["line_number"], rule=r["error"]))
            local.append(False)
            continue
        if r["auth_method"] not in ("trust", "password", "md5", "ident", "peer"):
            continue
        if r["type"] == "local" and r["auth_method"] == "peer":
            continue  # peer: the OS vouches for the user; fine for operators on the machine itself
        dbs = set(r["database"] or [])
        if not (dbs & {"all", dbname, "sameuser", "replication"}) and not any(d.startswith("@") for d in dbs):
            continue
        us = set(r["user_name"] or [])
        hit = "all" in us or bool(us & users) or any(u.lstrip("+") in users for u in us if u.startswith("+"))
        if hit:
            rule = (f"{r['type']} {','.join(sorted(dbs))} {','.join(sorted(us))} "
                    f"{r['address'] or ''} {r['auth_method']}".replace("  ", " "))
            bad.append(_("line {line}: {rule}").format(line=r["line_number"], rule=rule))
            local.append(" local " in f" {rule} ")
    value = ("; ".join(bad) if bad else
             _("{count} rules, none trust/password/md5/ident for fundledger's roles").format(count=len(rows)))
    hint = _("replace these lines with scram-sha-256 (hostssl for TCP) or cert; trust lets anyone be anyone, "
             "password sends the password in clear")
    if socket_only and bad and all(local):
        hint += _(" (this server listens on a unix socket only: whoever can open the socket can act as anyone)")
    return _item("pg_hba", not bad, value, hint)


def _hba_admits(rows: list[dict[str, Any]], db: str, user: str, groups: set[str]) -> bool:
    """Whether pg_hba.conf lets ``user`` (a member of ``groups``) into database ``db`` by some
    connection type: the first line that matches decides, and only ``reject`` keeps it out.
    Addresses are not compared (a line for any address may match some client)."""
    for kind in ("local", "host"):
        for r in rows:
            if r["error"] or (r["type"] == "local") != (kind == "local"):
                continue
            dbs = set(r["database"] or [])
            if not (dbs & {"all", db} or ("sameuser" in dbs and db == user)
                    or ("samerole" in dbs and db in groups)):
                continue
            us = set(r["user_name"] or [])
            if not ("all" in us or user in us or any(u.startswith("+") and u[1:] in groups for u in us)):
                continue
            if r["auth_method"] != "reject":
                return True
            break
    return False


def _other_databases(conn: Conn) -> Item:
    """(ATTACK6 T1 addendum) PostgreSQL grants CONNECT and TEMPORARY on every database to PUBLIC
    by default: a ledger login could connect to ``postgres`` or ``template1`` and fill the disk
    with temporary tables there, past the ledger's own TEMP revocation and stage bound."""
    dbname = conn.execute("SELECT current_database() AS d").fetchone()["d"]  # type: ignore[index]
    rows = conn.execute("""
        SELECT d.datname AS db, u.name AS login,
               array(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                      JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = u.name) AS groups
          FROM pg_database d CROSS JOIN fl.app_user u
         WHERE d.datname <> current_database() AND d.datallowconn
           AND EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = u.name AND r.rolcanlogin)
           AND has_database_privilege(u.name, d.oid, 'CONNECT')
         ORDER BY 1, 2""").fetchall()
    if not rows:
        return Item("other_databases", "ok",
                    _("no fundledger login may connect to a database other than {db}").format(db=dbname))
    try:
        hba = conn.execute("""SELECT line_number, type, database, user_name, auth_method, error
                                FROM pg_hba_file_rules ORDER BY line_number""").fetchall()
    except psycopg.Error:
        conn.rollback()
        hba = None
    open_ = sorted({r["db"] for r in rows if hba is None or _hba_admits(hba, r["db"], r["login"], set(r["groups"]))})
    hint = _("{statements} (as a superuser; grant CONNECT back only to the roles that need it), or let fundledger's "
             "logins into {db} only in pg_hba.conf: a ledger login can otherwise fill the disk with temporary tables "
             "in another database").format(
        statements="; ".join(f"REVOKE CONNECT, TEMPORARY ON DATABASE {d} FROM PUBLIC" for d in open_), db=dbname)
    if not open_:
        return Item("other_databases", "ok",
                    _("fundledger logins hold CONNECT on {dbs}, but pg_hba.conf rejects them there").format(
                        dbs=", ".join(sorted({r["db"] for r in rows}))))
    if hba is None:
        return Item("other_databases", "warn",
                    _("fundledger logins hold CONNECT on {dbs} (pg_hba_file_rules not visible to this login: run "
                      "db check as a superuser)").format(dbs=", ".join(open_)), hint)
    return Item("other_databases", "fail",
                _("fundledger logins can connect to {dbs}").format(dbs=", ".join(open_)), hint)


def _ledger_database(conn: Conn) -> Item:
    """(ATTACK20b M5) The ledger database's own privileges, as ``verify``'s catalogue check
    judges them (``verify_catalogue.check_database``): TEMPORARY and CREATE only the owner's
    and fl_owner's, CONNECT not PUBLIC's (migrations 0008, 0016_db, 0027_db)."""
    _n, findings = check_database(conn)
    if not findings:
        return Item("ledger_database", "ok", _("TEMPORARY and CREATE only the owner's and fl_owner's, CONNECT not "
                                               "PUBLIC's"))
    # each finding is verify_catalogue's said("database {db}: {who} holds {priv} — {why}. …"): its fields
    held = [f.message.fields for f in findings if isinstance(f.message, Said)]
    return Item("ledger_database", "fail",
                "; ".join(_("database {db}: {who} holds {privilege}").format(db=h["db"], who=h["who"], privilege=h["priv"])
                          for h in held),
                _("{statements} (as the database's owner or a superuser): the ledger's defences assume them "
                  "revoked").format(statements="; ".join(f"REVOKE {h['priv']} ON DATABASE {h['db']} FROM {h['who']}"
                                                         for h in held)))


def check(conn: Conn, *, now: dt.datetime | None = None, backup_max_age: dt.timedelta = BACKUP_MAX_AGE) -> list[Item]:
    """Every item, in the order an operator would fix them."""
    conn.autocommit = True
    items: list[Item] = []
    s = {k: _show(conn, k) or "" for k in (
        "fsync", "synchronous_commit", "full_page_writes", "password_encryption", "ssl", "listen_addresses",
        "wal_level", "archive_mode", "archive_command", "archive_library", "synchronous_standby_names",
        "data_checksums", "log_connections", "log_disconnections", "shared_preload_libraries", "server_version_num")}
    in_recovery = bool(conn.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"])  # type: ignore[index]
    items.append(_item("fsync", s["fsync"] == "on", s["fsync"],
                       _("set fsync = on: without it a power cut can corrupt the whole cluster")))
    items.append(_item("synchronous_commit", s["synchronous_commit"] in ("on", "remote_apply", "remote_write"),
                       s["synchronous_commit"],
                       _("set synchronous_commit = on: an acknowledged posting must survive a crash (and reach the "
                         "synchronous standby)")))
    items.append(_item("full_page_writes", s["full_page_writes"] == "on", s["full_page_writes"],
                       _("set full_page_writes = on: torn pages after a crash are otherwise unrecoverable")))
    items.append(_item("data_checksums", s["data_checksums"] == "on", s["data_checksums"] or "off",
                       _("initialise clusters with initdb --data-checksums (or pg_checksums --enable while stopped) "
                         "so disk corruption is detected"), warn_only=True))
    enc_name = database_encoding(conn)[1]
    items.append(_item("server_encoding", enc_name.upper() == "UTF8", enc_name,
                       _("the ledger's database must be UTF8 (fundledger init refuses another): create one with "
                         "CREATE DATABASE … ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0 and move the ledger into it "
                         "(fundledger backup, restore)")))
    items.append(_item("password_encryption", s["password_encryption"] == "scram-sha-256", s["password_encryption"],
                       _("set password_encryption = 'scram-sha-256' and reset every password (md5 hashes replay)")))
    socket_only = s["listen_addresses"].strip() == ""
    if socket_only:
        items.append(Item("ssl", "ok", _("{ssl} (no TCP listener: unix socket only)").format(ssl=s["ssl"])))
    else:
        items.append(_item("ssl", s["ssl"] == "on", _("{ssl} (listen_addresses = '{addresses}')").format(
                               ssl=s["ssl"], addresses=s["listen_addresses"]),
                           _("set ssl = on with ssl_cert_file/ssl_key_file, use hostssl lines in pg_hba.conf and "
                             "sslmode=verify-full on clients")))
    items.append(_two_phase(conn))
    items.append(_hba(conn, socket_only))
    items.append(_ledger_database(conn))
    items.append(_other_databases(conn))
    items.append(_item("wal_level", s["wal_level"] in ("replica", "logical"), s["wal_level"],
                       _("set wal_level = replica: minimal WAL allows neither a standby nor point-in-time recovery")))
    items.append(_archiving(conn, s, in_recovery))
    items.append(_backup_age(conn, now, backup_max_age))
    items.append(_standby(conn, s, in_recovery))
    items.append(_item("log_connections", s["log_connections"] not in ("", "off", "false") and
                       s["log_disconnections"] == "on",
                       _("log_connections = {connections}, log_disconnections = {disconnections}").format(
                           connections=s["log_connections"], disconnections=s["log_disconnections"]),
                       _("set log_connections = on and log_disconnections = on: who logged in, from where, and "
                         "failed attempts are part of the audit trail (等保 安全审计)"), warn_only=True))
    items.append(_item("auth_delay", "auth_delay" in s["shared_preload_libraries"],
                       s["shared_preload_libraries"] or _("(none)"),
                       _("add auth_delay to shared_preload_libraries (auth_delay.milliseconds = 500): failed logins "
                         "are slowed"), warn_only=True))
    return items


def _two_phase(conn: Conn) -> Item:
    """(ATTACK10 X6) Any login may ``PREPARE TRANSACTION`` where the server allows prepared
    transactions: an officer's prepared transaction keeps the journal's chain head (and its
    accounts' rows) with no session, so the busy-holder guard cannot end it, no committed
    entry is sealed or numbered again and no period can be closed, across restarts, until
    a superuser ends it. fundledger uses none; the embedded server pins the setting to 0."""
    r = conn.execute("""SELECT current_setting('max_prepared_transactions')::int AS n,
                               (SELECT json_agg(json_build_array(quote_literal(gid), owner, database,
                                                                 to_char(prepared, 'YYYY-MM-DD HH24:MI:SS'))
                                                ORDER BY prepared)
                                  FROM pg_prepared_xacts) AS held""").fetchone()
    assert r is not None
    held = (_("; prepared now: {transactions}").format(transactions="; ".join(
        _("{gid} of {owner} in {database} since {at}").format(gid=g, owner=o, database=d, at=t)
        for g, o, d, t in r["held"])) if r["held"] else "")
    hint = _("set max_prepared_transactions = 0 and restart (fundledger uses no two-phase commit; an application "
             "that needs it gets a server of its own): any login may PREPARE TRANSACTION, and a prepared "
             "transaction holds the journal's chain head with no session, so no entry is sealed again and no "
             "period can be closed")
    if r["held"]:
        hint = _("end the prepared transactions first, as a superuser: ROLLBACK PREPARED 'gid' (or COMMIT "
                 "PREPARED), then {hint}").format(hint=hint)
    return _item("max_prepared_transactions", r["n"] == 0 and not r["held"],
                 f"{r['n']}{held}", hint)


def _archiving(conn: Conn, s: dict[str, str], in_recovery: bool) -> Item:
    mode = s["archive_mode"]
    target = s["archive_library"] or s["archive_command"]
    if mode == "off" or not target or target == "(disabled)":
        return Item("archiving", "fail", _("archive_mode = {mode}, nothing archives").format(mode=mode),
                    _("fundledger init --archive DIR (embedded) or set archive_mode = on with archive_library = "
                      "'basic_archive' (or pg_receivewal on the backup host): without archived WAL there is no "
                      "point-in-time recovery"))
    a = conn.execute("SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, "
                     "last_failed_time FROM pg_stat_archiver").fetchone()
    assert a is not None
    if in_recovery and mode != "always":
        return Item("archiving", "ok", _("{target} (on the primary; this server is a standby)").format(target=target))
    failing = a["last_failed_time"] is not None and (a["last_archived_time"] is None
                                                    or a["last_failed_time"] > a["last_archived_time"])
    value = _("{target}: {archived} archived (last {wal} at {at}), {failed} failed").format(
        target=target, archived=a["archived_count"], wal=a["last_archived_wal"], at=a["last_archived_time"],
        failed=a["failed_count"])
    if failing:
        return Item("archiving", "fail",
                    value + _(", last failure {wal} at {at}").format(wal=a["last_failed_wal"], at=a["last_failed_time"]),
                    _("the archiver is failing: check the server log and the archive directory (space, permissions); "
                      "WAL piles up in pg_wal until it works"))
    if not a["archived_count"]:
        return Item("archiving", "warn", value,
                    _("nothing archived yet: run SELECT pg_switch_wal() and check again"))
    return Item("archiving", "ok", value)


def last_backup(conn: Conn) -> dict[str, Any] | None:
    try:
        return conn.execute("""SELECT at, actor, detail FROM fl.operation_log
                                WHERE action = 'backup' AND (detail->>'verified')::boolean
                                ORDER BY id DESC LIMIT 1""").fetchone()
    except psycopg.Error:  # no operations log (older schema) or not visible to this login
        conn.rollback()
        return None


def _backup_age(conn: Conn, now: dt.datetime | None, max_age: dt.timedelta) -> Item:
    b = last_backup(conn)
    hint = _("fundledger backup DIR (nightly, e.g. from cron/systemd timer): a verified base backup bounds how much "
             "WAL a restore must replay; older than {hours} h is unsafe").format(
        hours=f"{max_age.total_seconds() / 3600:g}")
    if b is None:
        return Item("base_backup", "fail", _("no verified base backup recorded"), hint)
    now = now or dt.datetime.now(dt.UTC)
    age = now - b["at"]
    label, kind = b["detail"].get("label"), b["detail"].get("kind")
    value = _("{label} ({kind}) at {at}, {hours} h ago").format(
        label=label, kind=code_text(str(kind)), at=f"{b['at']:%Y-%m-%d %H:%M:%S%z}",
        hours=f"{age.total_seconds() / 3600:.1f}")
    return _item("base_backup", age <= max_age, value, hint)


def _standby(conn: Conn, s: dict[str, str], in_recovery: bool) -> Item:
    hint = _("fundledger db standby create DIR (or a standby of your own with pg_basebackup -R) and list it in "
             "synchronous_standby_names: an acknowledged posting must be on two machines")
    if in_recovery:
        r = conn.execute("SELECT status, sender_host FROM pg_stat_wal_receiver").fetchone()
        ok = r is not None and r["status"] == "streaming"
        return _item("sync_standby", ok,
                     _("this server is a standby ({status})").format(status=r["status"] if r else _("not receiving")),
                     _("the standby is not streaming from its primary: check primary_conninfo and the primary"))
    rows = conn.execute("""SELECT application_name, state, sync_state FROM pg_stat_replication
                            ORDER BY application_name""").fetchall()
    sync = [r for r in rows if r["sync_state"] in ("sync", "quorum") and r["state"] == "streaming"]
    names = s["synchronous_standby_names"]
    value = _("synchronous_standby_names = '{names}'; {standbys}").format(
        names=names, standbys=", ".join(f"{r['application_name']} {r['state']}/{r['sync_state']}" for r in rows)
        or _("no standby attached"))
    return _item("sync_standby", bool(names) and bool(sync), value, hint)


def items_json(items: list[Item]) -> dict[str, Any]:
    return {"ok": not any(i.failed for i in items), "items": [asdict(i) for i in items]}
