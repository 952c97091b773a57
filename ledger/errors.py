"""Typed failures. Every refusal a user can cause is a ``LedgerError`` whose message
a finance officer understands; the CLI renders it once, on stderr, with exit code 1.

Rule *findings* (bad rows in a file, failed invariants in ``verify``) are values
collected into lists instead; ``BadFile`` carries such a list when a whole file is refused.
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerError(Exception):
    """Root of every expected failure. ``rule`` names the rule that refused (stable, for scripts)."""

    rule: str = "ledger_error"
    exit_code: int = 1

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        if rule is not None:
            self.rule = rule

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.rule


class BadAmount(LedgerError, ValueError):
    rule = "amount_format"


class BadInput(LedgerError):
    """A command-line argument or document field is malformed."""

    rule = "bad_input"


class NotFound(LedgerError):
    rule = "not_found"


class AccountNotFound(NotFound):
    rule = "account_not_found"


class RuleViolation(LedgerError):
    """PostgreSQL (or a pure pre-check) refused a write because an accounting rule would break."""

    rule = "rule_violation"


class PermissionDenied(LedgerError):
    rule = "permission_denied"


class IdempotencyConflict(LedgerError):
    rule = "idempotency_conflict"


class StateError(LedgerError):
    """An illegal move in a workflow (a request already approved, a year already closed)."""

    rule = "illegal_state"


class UnknownUser(NotFound):
    """``--as NAME`` names nobody the database knows (not an outage: exit 1)."""

    rule = "unknown_user"


class NotInitialised(LedgerError):
    """The database has no fundledger schema yet: ``fundledger init`` comes first."""

    rule = "not_initialised"


class DatabaseUnavailable(LedgerError):
    rule = "database_unavailable"
    exit_code = 2


@dataclass(frozen=True)
class RowError:
    """One bad cell or row in an input file: reported together, never raised alone."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class BadFile(LedgerError):
    """A file refused as a whole (all-or-nothing) with every bad row listed.

    ``errors`` holds the problems listed (at most ``MAX_LISTED`` from the reader or the
    database); ``total`` is how many there are in all (more than listed when the list was
    cut), and ``complete`` is False when counting itself stopped early (``at least``)."""

    rule = "bad_file"
    MAX_LISTED = 200

    def __init__(self, file: str, errors: list[RowError], *, limit: int = MAX_LISTED,
                 total: int | None = None, complete: bool = True) -> None:
        self.file = file
        self.errors = list(errors)
        self.total = max(total if total is not None else 0, len(self.errors))
        self.complete = complete
        shown = "\n".join(f"  {e}" for e in self.errors[:limit])
        listed = min(limit, len(self.errors))
        count = f"{self.total:,} problem(s)" if complete else f"at least {self.total:,} problems; reading stopped"
        more = ""
        if self.total > listed:
            more = f"\n  … and {self.total - listed:,} more not listed (the first {listed:,} are above)"
        super().__init__(f"{file}: refused, nothing written ({count}):\n{shown}{more}")
