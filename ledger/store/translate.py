"""PostgreSQL refusals → typed ``LedgerError``s, by constraint name (STYLE §5).

The SQL raises with ``CONSTRAINT = 'entry_balanced'`` (and so on) and a message for
people; here we pick the exception class from the name and keep the message."""

from __future__ import annotations

import psycopg
from psycopg import errors as pgerr

from ledger.errors import (
    BadInput,
    DatabaseUnavailable,
    IdempotencyConflict,
    LedgerError,
    NotFound,
    NotInitialised,
    PermissionDenied,
    RuleViolation,
    StateError,
)
from ledger.i18n import _

_BY_CONSTRAINT: dict[str, type[LedgerError]] = {
    "permission_denied": PermissionDenied,
    "idempotency_conflict": IdempotencyConflict,
    "not_found": NotFound,
    "illegal_state": StateError,
    "bad_document": BadInput,
    "bad_role": BadInput,
}


def translate(e: psycopg.Error) -> LedgerError:
    diag = e.diag
    name = diag.constraint_name or ""
    message = diag.message_primary or str(e).strip()
    if isinstance(e, pgerr.InvalidSchemaName | pgerr.UndefinedFunction | pgerr.UndefinedTable) and (
            'schema "fl"' in message or "fl." in message):
        return NotInitialised(_("the database is not set up yet: run fundledger init first"))
    if isinstance(e, pgerr.InsufficientPrivilege) and not name:
        return PermissionDenied(f"PostgreSQL refused: {message}", rule="permission_denied")
    if isinstance(e, psycopg.OperationalError) and not name:
        return DatabaseUnavailable(f"the database connection failed: {message}")
    if isinstance(e, pgerr.UniqueViolation) and name == "entry_idempotency_key_key":
        return IdempotencyConflict("that idempotency key is already in use", rule="idempotency_conflict")
    cls = _BY_CONSTRAINT.get(name)
    if cls is None:
        if isinstance(e, pgerr.InvalidDatetimeFormat | pgerr.DatetimeFieldOverflow | pgerr.InvalidTextRepresentation):
            return BadInput(message, rule="bad_input")
        if not name and not isinstance(e, pgerr.IntegrityError | pgerr.RaiseException):
            return LedgerError(f"database error: {message}", rule="database_error")
        cls = RuleViolation
    return cls(message, rule=name or cls.rule)
