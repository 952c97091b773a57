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

from ledger.errors import LedgerError
from ledger.i18n import _
from ledger.store.db import Conn

# name, value to set, value SHOW must then give (pg_settings.setting, lower case).
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
    ("work_mem", "64MB", "65536"),
)

# Sent in the startup packet of the verifiers' connections (libpq ``options``): a role's
# ``statement_timeout = 1`` or ``client_encoding = 'LATIN1'`` would otherwise hold for the
# very statements that pin them.
STARTUP = ("-c client_encoding=UTF8 -c statement_timeout=0 -c lock_timeout=0 "
           "-c idle_in_transaction_session_timeout=0 -c standard_conforming_strings=on")

_READ_BACK = """
SELECT s.name, s.setting, pg_catalog.current_user() = pg_catalog.session_user() AS own_rights,
       pg_catalog.current_setting('transaction_read_only') AS read_only
  FROM pg_catalog.pg_settings s WHERE s.name = ANY (%s::text[])
"""


class SessionNotPinned(LedgerError):
    """The server would not let the verifier pin a setting its reading depends on."""

    rule = "verifier_session"


def pin(conn: Conn) -> None:
    """Set every pinned setting for the current transaction (the caller opened it) and
    check the server took each one."""
    for name, value, _want in PINNED:
        conn.execute("SELECT pg_catalog.set_config(%s, %s, true)", (name, value))
    check(conn)


def check(conn: Conn) -> None:
    """Read every pinned setting back; raise ``SessionNotPinned`` naming the first that
    does not hold (and if the session does not read with its own login's rights)."""
    want = {name.lower(): expected for name, _value, expected in PINNED}
    rows = conn.execute(_READ_BACK, (list(want),)).fetchall()
    got = {str(r["name"]).lower(): str(r["setting"]).lower() for r in rows}
    for name, expected in want.items():
        value = got.get(name)
        if name == "role":            # pg_settings shows 'none' after SET ROLE NONE
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
