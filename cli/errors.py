"""Refusals in the user's language, at the CLI edge.

PostgreSQL functions and the domain library word their refusals in English (one stable
text, also in logs and for scripts that read stderr). Here, before a refusal is shown,
each line of its message that matches one of ``PATTERNS`` is replaced by its translation
from the catalogue, the ``{placeholders}`` carrying the figures across; a line no pattern
matches is shown as it is, after the rule's name in words (``RULES``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ledger.i18n import N_, code_text, get_lang, translate

PATTERNS: tuple[str, ...] = (
    # who may do what
    N_("{user} is an officer of unit {unit} and may not submit requests for unit {other}"),
    N_("{user} is an officer of unit {unit} and may not post for unit {other}"),
    N_("{user} is an officer of unit {unit} and may reconcile only that unit"),
    N_("{user} is an officer of unit {unit} and may not read unit {other}'s requests"),
    N_("request {id}: {user} submitted it and cannot also approve it"),
    N_("you are not a fundledger user; an admin adds them with `fundledger user add`"),
    N_("user {name} already exists"),
    N_("{name} is not a fundledger user"),
    N_("an officer is bound to one unit: give --unit"),
    N_("PostgreSQL refused: {detail}"),
    # fund requests
    N_("request {id} is {state}; it cannot be {action} again ({why})"),
    N_("request {id} is {state}; it cannot be {action} ({why})"),
    N_("{state} is final; nothing more can happen to it"),
    N_("from {state} it can only be {allowed}"),
    N_("request {id}: cannot approve {amount}, more than the {requested} requested"),
    N_("request {id}: a rejection needs a reason"),
    N_("request {id}: voiding needs a reason"),
    N_("no fund request {id}"),
    # money and periods
    N_("the {account} ({book}, unit {unit}) would be overdrawn: it holds {held}, the payment needs {needed}"),
    N_("the {account} ({book}) would be overdrawn: it holds {held}, the payment needs {needed}"),
    N_("the {account} ({book}, unit {unit}) holds {held}, of which {reserved} is reserved for approved fund "
       "requests; {needed} more cannot be paid out"),
    N_("the {account} ({book}) holds {held}, of which {reserved} is reserved for approved fund requests; "
       "{needed} more cannot be paid out"),
    N_("{date} falls in the closed period {period}; choose an open date"),
    N_("year {year} is already closed for book {book}; a year is closed once"),
    N_("{file}: refused, nothing written: {reason}"),
    N_("{file}: refused, nothing written ({count} problem(s)):"),
    N_("{file}: row {row}, column {column}: {reason}"),
    N_("{file}: row {row}: {reason}"),
    N_("no entry {ref}"),
    N_("no register item {id} (see fundledger register list)"),
    N_("register item {id} ({kind} of unit {unit}, {book}) is already fully cleared"),
    N_("unit {unit} owes no government share in book {book}"),
    N_("{entry} was already reversed by {other}"),
    N_("a reversal needs a reason"),
    # reasons a row of a file is refused (shown after "file: row N, column C:")
    N_("'{value}' is not an amount in yuan with at most two decimals (like 1,234.56)"),
    N_("'{value}' has more than two decimals; amounts are yuan with at most two decimals (like 1,234.56)"),
    N_("'{value}' is negative; amounts must be positive"),
    N_("'{value}' is zero; amounts must be positive"),
    N_("'{value}' is too large"),
    N_("amount is empty"),
    N_("the date is empty"),
    N_("'{value}' is not a date (YYYY-MM-DD, like 2023-03-31)"),
    N_("'{value}' is not a real date"),
    N_("{date} falls in the closed period {period}"),
    N_("unknown unit '{unit}'"),
    N_("unknown book '{book}'"),
    N_("{user} is an officer of unit {unit} and may not import rows of unit {other}"),
    N_("the reference is longer than 150 characters"),
    N_("reference '{ref}' was already imported (batch {batch}, {file}, row {row}) with different content: conflict; "
       "correct the row or give it a new reference"),
)

# Click's own usage errors (Typer prints them in a panel).
USAGE: tuple[str, ...] = (
    N_("Missing option '{option}'."),
    N_("Missing argument '{argument}'."),
    N_("Missing option '{option}'. {detail}"),
    N_("No such option: {option}"),
    N_("No such option: {option} {suggestion}"),
    N_("No such command '{command}'."),
    N_("No such command '{command}'. Did you mean {suggestion}?"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Got unexpected extra argument(s) ({arguments})"),
    N_("Invalid value for '{option}': {detail}"),
    N_("Invalid value for {option}: {detail}"),
    N_("Value {value} is not a valid {kind}."),
    N_("'{value}' is not a valid integer."),
    N_("'{value}' is not a valid float."),
    N_("Option '{option}' requires an argument."),
)

RULES: dict[str, str] = {
    "permission_denied": N_("not allowed"),
    "illegal_state": N_("not possible in this state"),
    "no_overdraft": N_("not enough money in the account"),
    "reserved_within_balance": N_("money reserved for approved requests"),
    "period_closed": N_("period closed"),
    "entry_balanced": N_("debits and credits differ"),
    "idempotency_conflict": N_("already used"),
    "not_found": N_("not found"),
    "bad_input": N_("input not understood"),
    "bad_file": N_("file refused"),
    "amount_format": N_("amount not understood"),
}


def _regex(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", msgid)
    body = "".join(f"(?P<{p[1:-1]}>.+?)" if re.fullmatch(r"\{[a-z_]+\}", p) else re.escape(p) for p in parts)
    return re.compile(body + r"\Z", re.S)


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((m, _regex(m)) for m in (*PATTERNS, *USAGE))


def _line(text: str, lang: str) -> str:
    lead = text[: len(text) - len(text.lstrip())]
    body = text.strip()
    for msgid, rx in _compiled():
        m = rx.match(body)
        if m:
            values = {k: _line(v, lang) if k in ("reason", "why", "detail", "suggestion")
                      else code_text(v, lang) if k in ("state", "action", "kind") else v
                      for k, v in m.groupdict().items()}
            return lead + translate(msgid, lang).format(**values)
    return text


def localise(message: str, rule: str, lang: str | None = None) -> str:
    """A refusal's message in ``lang`` (default: the language in force)."""
    lang = lang or get_lang()
    if lang == "en":
        return message
    lines = [_line(x, lang) for x in message.split("\n")]
    out = "\n".join(lines)
    if out == message and rule in RULES:
        out = f"{translate(RULES[rule], lang)}：{message}"
    return out


def localise_usage(message: str, lang: str | None = None) -> str:
    """A usage error of click's (missing option, unknown command, bad value) in ``lang``."""
    lang = lang or get_lang()
    return message if lang == "en" else "\n".join(_line(x, lang) for x in message.split("\n"))
