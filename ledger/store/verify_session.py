"""The auditor's session, pinned: every setting a verifier's reading depends on.

A superuser can prepare the auditor's sessions without touching a row: ``ALTER ROLE aud
SET client_encoding = 'LATIN1'`` (Chinese text no longer converts, or arrives in another
encoding), ``standard_conforming_strings = off`` (a ``'\\x00…'`` literal means something
else), ``bytea_output = 'escape'`` / ``DateStyle`` / ``TimeZone`` /
``extra_float_digits`` / ``IntervalStyle`` (values print differently from what was
hashed), ``search_path``, ``statement_timeout = 1`` (verify never finishes),
``transform_null_equals``, ``quote_all_identifiers`` (catalogue definitions print
differently), ``SET role`` (the session reads as someone else), and so on — and
``ALTER DATABASE … SET`` does the same for every session.

Every verifier (both passes of ``verify``, ``audit digest`` / ``check-digest``, ``audit
export``) therefore sets each of ``PINNED`` itself, in its own transaction
(``set_config(…, true)``), which wins over any role or database setting, and then reads
every one back (``check``): a value the server did not take — a setting that cannot be
overridden, a hook that rewrites it — is a refusal naming the setting, never a verdict
computed under it. What the role and database were set up with is also reported as a
finding (ledger.store.verify_catalogue.check_settings).
"""

from __future__ import annotations

import functools

import psycopg
from psycopg import sql

from ledger.core.fingerprint import shipped
from ledger.errors import LedgerError
from ledger.i18n import _
from ledger.store.db import Conn

# name, value to set, value SHOW must then give (current_setting, lower case: read through
# the function, not the view pg_settings a superuser can replace in place, ATTACK7 U8).
PINNED: tuple[tuple[str, str, str], ...] = (
    ("client_encoding", "UTF8", "utf8"),
    ("search_path", "pg_catalog", "pg_catalog"),
    ("DateStyle", "ISO, YMD", "iso, ymd"),
    ("TimeZone", "UTC", "utc"),
    ("IntervalStyle", "postgres", "postgres"),
    ("extra_float_digits", "3", "3"),
    ("bytea_output", "hex", "hex"),
    ("standard_conforming_strings", "on", "on"),
    ("backslash_quote", "safe_encoding", "safe_encoding"),
    ("transform_null_equals", "off", "off"),
    ("quote_all_identifiers", "off", "off"),
    ("array_nulls", "on", "on"),
    ("xmloption", "content", "content"),
    ("synchronize_seqscans", "off", "off"),
    ("gin_fuzzy_search_limit", "0", "0"),
    ("statement_timeout", "0", "0"),
    ("lock_timeout", "0", "0"),
    ("idle_in_transaction_session_timeout", "0", "0"),
    ("role", "none", "none"),
    ("jit", "off", "off"),
    ("work_mem", "64MB", "64mb"),
)

# Sent in the startup packet of the verifiers' connections (libpq ``options``): a role's
# ``statement_timeout = 1`` or ``client_encoding = 'LATIN1'`` would otherwise hold for the
# very statements that pin them.
STARTUP = ("-c client_encoding=UTF8 -c statement_timeout=0 -c lock_timeout=0 "
           "-c idle_in_transaction_session_timeout=0 -c standard_conforming_strings=on")

_READ_BACK = """
SELECT n AS name, pg_catalog.current_setting(n) AS setting,
       pg_catalog.current_user() OPERATOR(pg_catalog.=) pg_catalog.session_user() AS own_rights,
       pg_catalog.current_setting('transaction_read_only') AS read_only
  FROM pg_catalog.unnest(%s::pg_catalog.text[]) n
"""


class SessionNotPinned(LedgerError):
    """The server would not let the verifier pin a setting its reading depends on."""

    rule = "verifier_session"


# How long a verifier waits for its locks (below) before it says who holds them.
LOCK_WAIT = "60s"


class RelationsBusy(LedgerError):
    """Another session holds (or waits for) an exclusive lock on a ledger table."""

    rule = "verifier_locks"


@functools.cache
def relations() -> tuple[str, ...]:
    """Every table and view of the release's ``fl`` schema (kinds r and v of the shipped
    fingerprint: names the release chose, not names the database reports)."""
    return tuple(sorted(name for name, kind in shipped()["relations"].items() if kind[:1] in ("r", "v")))


# Which of the release's relations this session may read (``has_table_privilege``), asked
# in a transaction of its own before the verifier's: LOCK needs a privilege on each.
_READABLE = """
SELECT n FROM pg_catalog.unnest(%s::pg_catalog.text[]) n
 WHERE pg_catalog.to_regclass(n) IS NOT NULL AND pg_catalog.has_table_privilege(n, 'SELECT')"""


def _readable(conn: Conn) -> list[str]:
    return [str(r["n"] if isinstance(r, dict) else r[0]) for r in conn.execute(_READABLE, (list(relations()),))]


def lock_relations(conn: Conn) -> None:
    """ACCESS SHARE on every ledger table and view this session may read, taken *before*
    the snapshot (ATTACK7 U2). A verifier reads the catalogue from its snapshot, but
    PostgreSQL plans the verifier's own queries with the latest catalogue: a row policy, a
    rule, a renamed or swapped table committed after the snapshot would shape every read
    while the catalogue check saw none of it. Every such change needs a lock that
    conflicts with ACCESS SHARE, so with the locks held from before the snapshot, a change
    committed earlier is in the snapshot and one attempted later waits until the verifier
    has finished. (A new inheritance child needs only a weaker lock on its parent: the
    verifiers read with ``ONLY``.) LOCK takes no snapshot, so it is the transaction's
    first statement; the relations come from the shipped fingerprint (names the release
    chose), those the session may not read are left out (it reads none of them; a missing
    one is the catalogue check's finding)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("lock_relations must open the verifier's transaction")
    names = _readable(conn)
    conn.rollback()
    if not names:
        return
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_WAIT)))
    targets = sql.SQL(", ").join(sql.SQL("ONLY {}").format(sql.Identifier(*n.split(".", 1))) for n in names)
    try:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(targets))
    except psycopg.errors.LockNotAvailable as e:
        conn.rollback()
        raise RelationsBusy(_("another session holds an exclusive lock on a ledger table, or is waiting for one, "
                              "and has for {wait}: a migration, a maintenance command or a superuser's session. "
                              "Nothing was judged; run verify again when it has finished (pg_locks shows who holds "
                              "it)").format(wait=LOCK_WAIT)) from e
    # ATTACK8 V6: SELECT revoked for the instant of the question above, then granted back,
    # left a table unlocked that the verifier then read. Asked again with the locks held:
    # any difference is a refusal, never a verdict.
    again = _readable(conn)
    if sorted(again) != sorted(names):
        conn.rollback()
        raise RelationsBusy(_("the tables this login may read changed while the verifier took its locks ({tables}): "
                              "someone granted or revoked privileges at that moment. Nothing was judged; run "
                              "verify again").format(tables=", ".join(sorted(set(again) ^ set(names)))))


def pin(conn: Conn, *, snapshot_imported: bool = False) -> None:
    """Lock every ledger relation (``lock_relations``: the transaction is opened here), then
    set every pinned setting for it and check the server took each one. A second session
    that imported an exported snapshot (``snapshot_imported``) skips the locks: its
    exporter holds them for as long as either reads."""
    if not snapshot_imported:
        lock_relations(conn)
    # One statement, the settings set in PINNED's order (each set_config a row of its own).
    conn.execute("SELECT pg_catalog.set_config(s.n, s.v, true) FROM ROWS FROM (pg_catalog.unnest(%s::pg_catalog.text[]), "
                 "pg_catalog.unnest(%s::pg_catalog.text[])) WITH ORDINALITY s(n, v, i) ORDER BY s.i",
                 ([n for n, _v, _w in PINNED], [v for _n, v, _w in PINNED]))
    check(conn)


def check(conn: Conn) -> None:
    """Read every pinned setting back; raise ``SessionNotPinned`` naming the first that
    does not hold (and if the session does not read with its own login's rights)."""
    want = {name.lower(): expected for name, _value, expected in PINNED}
    rows = conn.execute(_READ_BACK, (list(want),)).fetchall()
    got = {str(r["name"]).lower(): str(r["setting"]).lower() for r in rows}
    for name, expected in want.items():
        value = got.get(name)
        if name == "role":            # 'none' after SET ROLE NONE
            continue
        if value is not None and value.replace(" ", "") != expected.replace(" ", ""):
            raise SessionNotPinned(_("the verifier could not pin the setting {name} (the server keeps it at "
                                     "{value}, the verifier needs {expected}): a server configured to mislead a "
                                     "reader; nothing was judged").format(name=name, value=value, expected=expected))
    if rows and not rows[0]["own_rights"]:
        raise SessionNotPinned(_("the verifier's session reads with another role's rights than its login "
                                 "(a SET ROLE the server keeps): nothing was judged"))
    if rows and rows[0]["read_only"] != "on":
        raise SessionNotPinned(_("the verifier's transaction is not read-only: nothing was judged"))
