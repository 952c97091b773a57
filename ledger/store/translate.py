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
    "user_name": BadInput,
    "entry_date_range": BadInput,
}

# The caps of sql/0009_policy.sql, raised by the table constraints themselves (whose own
# message names only the relation): the words a person needs instead.
_CAPS = ("posting_amount_cap", "account_totals_cap", "account_day_totals_cap", "bank_totals_cap")


def _cap_message(name: str) -> str:
    return {
        "posting_amount_cap": _("a posting's amount is at most 10,000,000,000,000.00 (10^15 fen)"),
        "account_totals_cap": _("an account's running totals would pass 4×10^18 fen, the most the ledger keeps"),
        "account_day_totals_cap": _("an account's movements in one day would pass 4×10^18 fen, the most the "
                                    "ledger keeps"),
        "bank_totals_cap": _("a bank account's balance or reservations would pass 4×10^18 fen, the most the "
                             "ledger keeps"),
    }[name]


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
    if name in _CAPS:
        return RuleViolation(_("refused: {what}; nothing was written").format(what=_cap_message(name)), rule=name)
    if isinstance(e, pgerr.NumericValueOutOfRange):
        return RuleViolation(_("refused: a number is beyond what the ledger holds (an amount is at most 10^15 fen, "
                               "a total at most 4×10^18 fen); nothing was written ({detail})").format(detail=message),
                             rule="amount_cap")
    cls = _BY_CONSTRAINT.get(name)
    if cls is None:
        if isinstance(e, pgerr.InvalidDatetimeFormat | pgerr.DatetimeFieldOverflow | pgerr.InvalidTextRepresentation):
            return BadInput(message, rule="bad_input")
        if not name and not isinstance(e, pgerr.IntegrityError | pgerr.RaiseException):
            return LedgerError(f"database error: {message}", rule="database_error")
        cls = RuleViolation
    return cls(message, rule=name or cls.rule)
