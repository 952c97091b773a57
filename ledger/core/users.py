"""User names: the same rule as ``fl.add_user`` in sql/0009_policy.sql, checked here
first so a bad name gets a clear message before any connection is made."""

from __future__ import annotations

import re

from ledger.errors import BadInput
from ledger.i18n import _

ROLES = ("officer", "reviewer", "finance", "auditor", "admin")
_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,62}")
_RESERVED = frozenset({"postgres", "public", "none", "current_role", "current_user", "session_user",
                       "current_schema", "user"})


def check_user_name(name: str) -> str:
    """``name`` if it may be a fundledger user, else ``BadInput`` saying why."""
    if not _NAME.fullmatch(name):
        raise BadInput(_("user name {name} is not allowed: 1 to 63 characters, a lower-case letter first, "
                         "then lower-case letters, digits, '_', '.' or '-' (no spaces)").format(name=repr(name)),
                       rule="user_name")
    if name.startswith(("fl_", "pg_")) or name in _RESERVED:
        raise BadInput(_("user name {name} is reserved (group roles fl_*, PostgreSQL's own roles pg_* and "
                         "postgres, SQL role keywords)").format(name=repr(name)), rule="user_name")
    return name


def check_login_name(name: str) -> str:
    """A name given to ``--as``: any existing PostgreSQL login may be tried (the database
    decides), but text that cannot be a role name is refused before connecting."""
    if not name or len(name) > 63 or any(ord(ch) < 32 or ch in " '\"\\=@/:?#" for ch in name):
        raise BadInput(_("--as {name}: not a user name (no spaces, quotes or punctuation; at most 63 characters)"
                         ).format(name=repr(name)), rule="user_name")
    return name
