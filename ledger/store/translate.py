"""PostgreSQL refusals → typed ``LedgerError``s, by constraint name (STYLE §5).

The SQL raises with ``CONSTRAINT = 'entry_balanced'`` (and so on) and a message for
people; here we pick the exception class from the name and keep the message (the CLI
shows it in the user's language: ``cli/errors.py``, ``ledger/store/refusals.py``). A
failure with no rule of ours (a conflict with another writer, a timeout, a server out of
room) is told by its SQLSTATE class (``_BY_SQLSTATE``), with what to do next."""

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
from ledger.i18n import N_, _, code_text

_BY_CONSTRAINT: dict[str, type[LedgerError]] = {
    "permission_denied": PermissionDenied,
    "request_duties": PermissionDenied,
    "idempotency_conflict": IdempotencyConflict,
    "not_found": NotFound,
    "illegal_state": StateError,
    "bad_document": BadInput,
    "bad_role": BadInput,
    "user_name": BadInput,
    "entry_date_range": BadInput,
    "cash_date_future": BadInput,
    "import_stage_full": BadInput,
    "reference_hanzi": BadInput,   # (0122, ATTACK15b B3) a reference's 汉字 outside GB2312
    "entry_text_nul": BadInput,     # (0137, ATTACK16 C7) fl.post_entries(text): a NUL in an entry's text or key
    "entry_json_number": BadInput,  # (0137) ... a number JSON has not (NaN, Infinity)
    "reference_confusable": BadInput,   # (0134, ATTACK16b D5) a GB2312 radical drawn like a common character
    # sql/0017_maker_checker.sql
    "workflow_kind": PermissionDenied,
    "key_namespace": PermissionDenied,
    "manual_policy": PermissionDenied,
    "maker_checker": PermissionDenied,
    "held_decided": StateError,
    "held_rejected": StateError,
    "opening_once": StateError,
    "opening_city_only": BadInput,
    "pending_rejected_reason": BadInput,
    # sql/0058_city_confirms.sql
    "city_confirms": PermissionDenied,
}

# The caps of sql/0009_policy.sql, raised by the table constraints themselves (whose own
# message names only the relation): the words a person needs instead.
_CAPS = ("posting_amount_cap", "account_totals_cap", "account_day_totals_cap", "bank_totals_cap",
         "request_amount_cap")


def _cap_message(name: str) -> str:
    return {
        "posting_amount_cap": _("a posting's amount is at most 10,000,000,000,000.00 (10^15 fen)"),
        "account_totals_cap": _("an account's running totals would pass 4×10^18 fen, the most the ledger keeps"),
        "account_day_totals_cap": _("an account's movements in one day would pass 4×10^18 fen, the most the "
                                    "ledger keeps"),
        "bank_totals_cap": _("a bank account's balance or reservations would pass 4×10^18 fen, the most the "
                             "ledger keeps"),
        "request_amount_cap": _("a fund request is for at most 10,000,000,000,000.00 (10^15 fen)"),
    }[name]


def _register_overcleared(detail: str) -> str:
    """The register's own CHECK (cleared between 0 and the item's amount), reached by a path
    that did not refuse in words first (ATTACK11 Y7, the class): which item, and what to do.
    PostgreSQL's detail is "Failing row contains (id, kind, unit, …)"."""
    head = detail.partition("(")[2].split(",")[:3]
    if len(head) == 3 and head[0].strip().isdigit():
        return _("refused: register item {id} ({kind} of unit {unit}) would be cleared by more than it owes, or "
                 "by less than nothing; nothing was written — see what is outstanding (fundledger register list) "
                 "and reverse the clearing booked by mistake first").format(
                     id=head[0].strip(), kind=code_text(head[1].strip()), unit=head[2].strip())
    return _("refused: a register item would be cleared by more than it owes, or by less than nothing; nothing "
             "was written — see what is outstanding (fundledger register list) and reverse the clearing booked by "
             "mistake first")


# The size caps of sql/0029_text_caps.sql: which text, and how long it may be.
_SIZES: dict[str, tuple[str, int]] = {
    "entry_memo_size": (N_("an entry's memo"), 8000),
    "entry_reason_size": (N_("an entry's reason"), 2000),
    "entry_source_size": (N_("an entry's source document (as JSON text)"), 32000),
    "posting_memo_size": (N_("a posting's memo (a payment's provider)"), 2000),
    "posting_line_ref_size": (N_("a posting's line reference"), 200),
    "pending_entry_memo_size": (N_("an entry's memo"), 8000),
    "pending_entry_reason_size": (N_("an entry's reason"), 2000),
    "pending_entry_decision_reason_size": (N_("the reason for a decision"), 2000),
    "pending_entry_source_size": (N_("an entry's source document (as JSON text)"), 32000),
    "pending_posting_memo_size": (N_("a posting's memo (a payment's provider)"), 2000),
    "pending_posting_line_ref_size": (N_("a posting's line reference"), 200),
    "fund_request_note_size": (N_("a fund request's note"), 2000),
    "request_event_reason_size": (N_("the reason given for a request's step"), 2000),
    "closed_period_reason_size": (N_("the reason for closing a period"), 2000),
    "register_item_note_size": (N_("a register item's note"), 2000),
    "register_item_reference_size": (N_("a register item's reference"), 200),
    "operation_log_reason_size": (N_("the reason given for an operation"), 2000),
    "import_batch_file_name_size": (N_("the file's name (with its folder)"), 4500),
    "bank_statement_file_name_size": (N_("the file's name (with its folder)"), 4500),
    "operation_log_subject_size": (N_("the subject of an operation"), 4500),
    "operation_log_detail_size": (N_("the details of an operation (as JSON text)"), 32000),
}

# A caller's JSON value nests at most 64 levels where it is stored (0031, ATTACK4 Q2).
_DEPTHS: dict[str, str] = {
    "entry_source_depth": N_("an entry's source document"),
    "pending_entry_source_depth": N_("an entry's source document"),
    "operation_log_detail_depth": N_("the details of an operation"),
}


# SQLSTATE (or its two-character class) → what happened and what to do, for failures that
# carry no rule of ours. Looked up by the full code first, then by the class. A lost
# connection (class 08, 57P01…) stays DatabaseUnavailable (exit 2: an outage, not a refusal).
_BY_SQLSTATE: dict[str, tuple[str, str]] = {
    "40001": ("write_conflict", N_("another user wrote the same records at the same moment; nothing was written: "
                                   "run the command again")),
    "40P01": ("write_conflict", N_("another user wrote the same records at the same moment; nothing was written: "
                                   "run the command again")),
    "55P03": ("busy", N_("the records are locked by another user's work just now; nothing was written: run the "
                         "command again in a moment")),
    "57014": ("timeout", N_("the database stopped the command because it took too long; nothing was written: run "
                            "it again, and tell the operator if it keeps happening")),
    "25006": ("read_only", N_("the database accepts no writes just now (a standby, or a restore in progress); "
                              "nothing was written: ask the operator")),
    # (ATTACK15b B4) an index row past PostgreSQL's limit: a value too long, not an outage
    "54000": ("text_too_long", N_("a value given is too long for the database to index (a key, a reference or a "
                                  "name of thousands of characters); nothing was written: shorten it")),
    "53": ("server_resources", N_("the database server is out of room (disk, memory or connections); nothing was "
                                  "written: tell the operator")),
    "58": ("server_fault", N_("the database server reported a fault of its own (disk or files); nothing was "
                              "written: tell the operator")),
    "XX": ("server_fault", N_("the database server reported an internal error; nothing was written: tell the "
                              "operator, with this message")),
}


def _by_sqlstate(e: psycopg.Error, message: str) -> LedgerError | None:
    code = e.sqlstate or ""
    hit = _BY_SQLSTATE.get(code) or _BY_SQLSTATE.get(code[:2])
    if hit is None:
        return None
    rule, text = hit
    return LedgerError(_("{what} ({detail})").format(what=_(text), detail=message), rule=rule)


def translate(e: psycopg.Error) -> LedgerError:
    diag = e.diag
    name = diag.constraint_name or ""
    message = diag.message_primary or str(e).strip()
    if isinstance(e, pgerr.InvalidSchemaName | pgerr.UndefinedFunction | pgerr.UndefinedTable) and (
            'schema "fl"' in message or "fl." in message):
        return NotInitialised(_("the database is not set up yet: run fundledger init first"))
    if isinstance(e, pgerr.InsufficientPrivilege) and not name:
        return PermissionDenied(f"PostgreSQL refused: {message}", rule="permission_denied")
    if not name and (known := _by_sqlstate(e, message)) is not None:
        return known
    if isinstance(e, psycopg.OperationalError) and not name:
        return DatabaseUnavailable(_("the database connection failed: {detail}").format(detail=message))
    if isinstance(e, pgerr.UniqueViolation) and name == "entry_idempotency_key_key":
        return IdempotencyConflict(_("that idempotency key is already in use: the entry was written before "
                                     "(nothing was written now)"), rule="idempotency_conflict")
    if name in _SIZES:
        what, n = _SIZES[name]
        return BadInput(_("refused: {what} is longer than {n:,} characters; nothing was written — shorten it")
                        .format(what=_(what), n=n), rule="text_too_long")
    if name and name.endswith("_idempotency_key_check"):
        # (ATTACK15 A8) fl.entry's and fl.pending_entry's CHECK (length 1..200), met by a raw call
        return BadInput(_("refused: an idempotency key is 1 to 200 characters long; nothing was written — "
                          "shorten it (it only needs to be unique: the unit, the date and a number will do)"),
                        rule="text_too_long")
    if name in _DEPTHS:
        return BadInput(_("refused: {what} nests deeper than 64 levels; nothing was written — flatten it")
                        .format(what=_(_DEPTHS[name])), rule="json_too_deep")
    if name == "fl_stage_row_size":
        return BadInput(_("refused: a row of the file holds more than 16,000 bytes (its cells together); nothing "
                          "was imported — check the file"), rule="text_too_long")
    if name in ("import_batch_file_sha256_form", "bank_statement_file_sha256_form"):
        return BadInput(_("refused: a file's SHA-256 digest is 64 hexadecimal digits; nothing was written"),
                        rule="bad_input")
    if name in ("import_line_reference_form", "register_item_reference_form", "statement_line_reference_form"):
        # (ATTACK12 Z3, 0089; ATTACK14 V1, 0098) the reader refuses these row by row; this is the rule
        # held against raw SQL
        return BadInput(_("refused: a reference is written in half-width letters, digits and marks, Chinese "
                          "characters (汉字) and the punctuation of document numbers (、。《》「」『』【】〔〕〖〗) "
                          "only, in its standard form (Unicode NFKC) and without a space at either end; this one "
                          "holds another character (one that does not show, a variation selector, a letter of "
                          "another script, a full-width letter); nothing was written — type the reference again "
                          "in those characters"),
                        rule="reference_form")
    if name in ("posting_line_ref_form", "pending_posting_line_ref_form"):
        # (0107) a posting's line reference is held to the reference form of the file rows it
        # names; the manual entry reader refuses it first, naming the entry and posting
        return BadInput(_("refused: a posting's line reference (line_ref) is at most 150 characters, written in "
                          "half-width letters, digits and marks, Chinese characters (汉字) and the punctuation of "
                          "document numbers (、。《》「」『』【】〔〕〖〗) only, in its standard form (Unicode NFKC) and "
                          "without a space at either end; nothing was written — type the reference again in those "
                          "characters, or leave line_ref out"),
                        rule="line_ref_form")
    if name in _CAPS:
        return RuleViolation(_("refused: {what}; nothing was written").format(what=_cap_message(name)), rule=name)
    if name == "register_not_overcleared" and message.startswith("new row for relation"):
        return RuleViolation(_register_overcleared(diag.message_detail or ""), rule=name)
    if isinstance(e, pgerr.NumericValueOutOfRange):
        return RuleViolation(_("refused: a number is beyond what the ledger holds (an amount is at most 10^15 fen, "
                               "a total at most 4×10^18 fen); nothing was written ({detail})").format(detail=message),
                             rule="amount_cap")
    if not name and isinstance(e, pgerr.UntranslatableCharacter):
        # (ATTACK16 C7) 22P05: a NUL (\u0000) in a JSON value or a text, which PostgreSQL stores in
        # neither: the input's fault, never an outage ("tell the operator")
        return BadInput(_("refused: a value given holds a NUL character (\\u0000), which the database stores in no "
                          "text or JSON value; nothing was written — remove it"), rule="text_nul")
    if not name and isinstance(e, pgerr.InvalidTextRepresentation) and "type json" in message:
        # (ATTACK16 C7) 22P02 on a JSON value (a number past a double: Infinity, NaN): the input's fault
        return BadInput(_("refused: a JSON value given (an entry's source document, an operation's details) holds "
                          "a number the database cannot store (Infinity, NaN, or one past ±1.8×10^308); nothing was "
                          "written — write such a number as text"), rule="json_value")
    cls = _BY_CONSTRAINT.get(name)
    if cls is None:
        if isinstance(e, pgerr.InvalidDatetimeFormat | pgerr.DatetimeFieldOverflow | pgerr.InvalidTextRepresentation):
            return BadInput(message, rule="bad_input")
        if not name and not isinstance(e, pgerr.IntegrityError | pgerr.RaiseException):
            return LedgerError(_("database error: {detail}").format(detail=message), rule="database_error")
        cls = RuleViolation
    return cls(message, rule=name or cls.rule)
