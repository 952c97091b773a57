"""Refusals in the user's language, at the CLI edge.

PostgreSQL functions and the domain library word their refusals in English (one stable
text, also in logs and for scripts that read stderr). Here, before a refusal is shown,
each line of its message that matches one of ``PATTERNS`` — or one of the SQL's own
refusals, read from ``sql/*.sql`` (``ledger.store.refusals``: every ``fl.refuse`` and
``RAISE``, its ``%s`` numbered ``{1}``, ``{2}`` …), those of the refusal's rule first — is
replaced by its translation from the catalogue, the placeholders carrying the figures
across (a value that is itself a code, a bank account's or a fund component's name is
translated too). PostgreSQL's own refusals (a table's check, unique or foreign-key
constraint; a missing privilege) have patterns of their own. A line nothing matches is
shown as it is, after the rule's name in words (``RULES``, or "refused by the database").
"""

from __future__ import annotations

import re
from functools import lru_cache

from ledger.i18n import CODES, N_, code_text, get_lang, translate
from ledger.io.formats import (
    CELL_UNSEEN,
    COLUMN_HIDDEN,
    COMPAT_REFERENCE,
    CONDITIONAL_FORMAT,
    CONFUSABLE_REFERENCE,
    CSV_FORMULA,
    DATE_CELL,
    FOREIGN_REFERENCE,
    FORMAT_ADDS_TEXT,
    FORMAT_CONDITION,
    FORMAT_DATE_ON_NUMBER,
    FORMAT_DATE_PARTIAL,
    FORMAT_FEWER_PLACES,
    FORMAT_HIDES,
    FORMAT_NEGATIVE_UNSIGNED,
    FORMAT_NOT_ACCEPTED,
    FORMAT_ROUNDS,
    FORMAT_SCALES,
    FORMAT_SHOWN,
    INVISIBLE_REFERENCE,
    LOGICAL_CELL,
    MERGED_CELLS,
    NUMBER_CELL,
    NUMBER_REFERENCE,
    ROW_HIDDEN,
    SCIENTIFIC_REFERENCE,
    SHEET_DRAWING,
    SHEET_HIDDEN,
    SHEET_NOT_SHOWN,
    SIMPLIFIED_REFERENCE,
    STYLE_MISSING,
    TABLE_STYLE,
    TEXT_REPEATED,
    TEXT_RUN,
    TEXT_SAME_COLOUR,
    TEXT_STRUCK,
    TEXT_TINY,
    XLSX_INFLATES,
    XLSX_PACKED_OTHERWISE,
    XLSX_TOO_BIG,
)

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
    N_("the verdict could not judge the ledger's rows ({error}): the database holds a value no fundledger "
       "command writes (a number past any float, a field of the wrong type, a document nested too deeply), "
       "so the books are not proven whole; find the row with the auditors' guide's raw queries and report it"),
    N_("the worksheet names row {row}, past Excel's last row (1048576): Excel does not make such a file; "
       "copy the table into a new workbook in Excel and save that"),
    N_("the worksheet names column {column}, past Excel's last column (16384, XFD): Excel does not make such a "
       "file; copy the table into a new workbook in Excel and save that"),
    SCIENTIFIC_REFERENCE,   # the reader's (ATTACK10 X5), extracted from ledger.io.formats
    CSV_FORMULA,            # (ATTACK15 A2) a CSV cell Excel runs as a formula
    NUMBER_REFERENCE,
    NUMBER_CELL,            # (ATTACK11 Y6) a reference or provider cell that is not text
    DATE_CELL,
    LOGICAL_CELL,
    XLSX_INFLATES,          # (ATTACK12 Z5, Z6) the XLSX reader's
    XLSX_TOO_BIG,
    SHEET_HIDDEN,
    SHEET_NOT_SHOWN,
    ROW_HIDDEN,
    COLUMN_HIDDEN,
    XLSX_PACKED_OTHERWISE,  # (ATTACK13 W3, W1)
    MERGED_CELLS,
    INVISIBLE_REFERENCE,    # (ATTACK12 Z3) a reference that reads like another
    COMPAT_REFERENCE,
    FOREIGN_REFERENCE,      # (ATTACK14 V1)
    SIMPLIFIED_REFERENCE,   # (ATTACK15b B3)
    CONFUSABLE_REFERENCE,   # (ATTACK16b D5)
    FORMAT_SHOWN,           # (ATTACK13 W2) a cell shown otherwise than its value, with its {why}
    FORMAT_SCALES,
    FORMAT_HIDES,
    FORMAT_ADDS_TEXT,
    FORMAT_ROUNDS,
    FORMAT_CONDITION,
    FORMAT_DATE_ON_NUMBER,
    FORMAT_DATE_PARTIAL,
    FORMAT_NEGATIVE_UNSIGNED,
    FORMAT_NOT_ACCEPTED,
    FORMAT_FEWER_PLACES,
    CELL_UNSEEN,
    TEXT_SAME_COLOUR,
    TEXT_TINY,
    TEXT_STRUCK,
    TEXT_REPEATED,
    TEXT_RUN,
    STYLE_MISSING,
    CONDITIONAL_FORMAT,
    SHEET_DRAWING,
    TABLE_STYLE,
    N_("reference '{ref}' was already imported (batch {batch}, {file}, row {row}) with different content: conflict; "
       "correct the row or give it a new reference"),
    # (0107) a manual entry's posting whose line reference is outside the reference form
    N_("{where}: line_ref: {reason}"),
    # (0106, ATTACK14 V6) a payments row whose category its component does not pay
    # (fl.imp_category_component_problem): {fix} is the value to write, kept as written
    N_("category {category} ({chart}) is paid by the {pooled} fund only (统筹基金支付), not by component {component}: "
       "the components never pay for each other (不得相互挤占, rule category_component); write {fix} in this row's "
       "component column, or correct its category"),
    N_("category {category} ({chart}) is paid by the personal accounts only (个人账户支付), not by the {pooled} fund: "
       "the components never pay for each other (不得相互挤占, rule category_component); write {fix} in this row's "
       "component column, or correct its category"),
    # (0115, ATTACK15 A1) ... and one that no component of the book carries (其他, 大病保险 in EMP)
    N_("category {category} ({chart}) is paid by no component of this book ({components}): the components never pay "
       "for each other (不得相互挤占, rule category_component); correct its category, or import the row in a book "
       "without components"),
)

# PostgreSQL's own refusals (a table constraint, a privilege): the constraint names the rule.
POSTGRES: tuple[str, ...] = (
    N_('new row for relation "{table}" violates check constraint "{constraint}"'),
    N_('duplicate key value violates unique constraint "{constraint}"'),
    N_('insert or update on table "{table}" violates foreign key constraint "{constraint}"'),
    N_('update or delete on table "{table}" violates foreign key constraint "{constraint}" on table "{other}"'),
    N_('null value in column "{column}" of relation "{table}" violates not-null constraint'),
    N_("permission denied for table {table}"),
    N_("permission denied for function {name}"),
    N_("permission denied for schema {name}"),
    N_("permission denied for sequence {name}"),
    N_("permission denied for view {name}"),   # (ATTACK15 A3) operating_day, closing_day, budget_current
)

# Click's own usage errors (Typer prints them in a panel).
USAGE: tuple[str, ...] = (
    N_("Missing option '{option}'."),
    N_("Missing argument '{argument}'."),
    N_("Missing option '{option}'. {detail}"),
    # (ATTACK21) with Click's suggestion first: the shorter one took the suggestion for part of the option
    N_("No such option: {option} {suggestion}"),
    N_("(Possible options: {options})"),   # the {suggestion} of the one above
    N_("Did you mean {option}?"),
    N_("No such option: {option}"),
    N_("No such command '{command}'."),
    N_("No such command '{command}'. Did you mean {suggestion}?"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Got unexpected extra argument(s) ({arguments})"),
    N_("Invalid value for '{option}': {detail}"),
    N_("Invalid value for {option}: {detail}"),
    N_("Value {value} is not a valid {kind}."),
    N_("'{value}' is not a valid integer."),
    N_("'{value}' is not a valid int."),
    N_("'{value}' is not a valid float."),
    N_("Option '{option}' requires an argument."),
)

RULES: dict[str, str] = {
    "permission_denied": N_("not allowed"),
    "illegal_state": N_("not possible in this state"),
    "no_overdraft": N_("not enough money in the account"),
    "reserved_within_balance": N_("money reserved for approved requests"),
    "period_closed": N_("period closed"),
    "period_not_ended": N_("period not ended"),
    "entry_balanced": N_("debits and credits differ"),
    "idempotency_conflict": N_("already used"),
    "not_found": N_("not found"),
    "bad_input": N_("input not understood"),
    "bad_file": N_("file refused"),
    "amount_format": N_("amount not understood"),
    "workflow_kind": N_("kind set only by its own command"),
    "key_namespace": N_("key of another operation"),
    "manual_policy": N_("not allowed by hand"),
    "maker_checker": N_("a second person confirms"),
    "city_confirms": N_("the city confirms its own figures"),
    "withdrawal_cap": N_("too many withdrawals in 24 hours"),
    "held_decided": N_("held entry already decided"),
    "held_rejected": N_("held entry rejected"),
    "opening_once": N_("opening balance already recorded"),
    "opening_city_only": N_("opening balance of the city proper only"),
    "pending_rejected_reason": N_("a rejection needs a reason"),
}


REFUSED = N_("refused by the database")

_PLACEHOLDER = re.compile(r"(\{(?:[a-z_]+|\d+)\})", re.ASCII)


class Template:
    """A message id as a matcher: its fixed texts in order, with a placeholder between each two
    (``{name}`` matches one character or more, ``{1}`` — group ``a1`` — any text, none too).

    Matched by searching each fixed text from the left (``str.find``): linear in the line, where a
    regular expression with one lazy group per placeholder backtracked over every split of a line
    that matched none — an importer's 999-character cell took 10 s per listed row to show in
    Chinese (ATTACK19 J1). The leftmost occurrence of each fixed text is also what the lazy groups
    chose: if the line matches at all, it matches with each group as short as it can be.
    """

    __slots__ = ("fixed", "least", "names")

    def __init__(self, msgid: str) -> None:
        parts = _PLACEHOLDER.split(msgid)
        self.fixed = tuple(p.replace("{{", "{").replace("}}", "}") for p in parts[0::2])
        holders = [p[1:-1] for p in parts[1::2]]
        self.names = tuple(f"a{h}" if h.isdigit() else h for h in holders)
        # a value of the SQL's may be empty ("got ''", ATTACK16 C3); a named one is not
        self.least = tuple(0 if h.isdigit() else 1 for h in holders)

    def match(self, text: str) -> dict[str, str] | None:
        """The placeholders' values if ``text`` is this message, else None."""
        first, last = self.fixed[0], self.fixed[-1]
        if not text.startswith(first):
            return None
        if not self.names:
            return {} if text == first else None
        end = len(text) - len(last)
        if end < len(first) or not text.endswith(last):
            return None
        values: dict[str, str] = {}
        at = len(first)
        for i, name in enumerate(self.names[:-1]):
            fixed = self.fixed[i + 1]
            found = text.find(fixed, at + self.least[i], end)
            if found < 0:
                return None
            values[name] = text[at:found]
            at = found + len(fixed)
        if end - at < self.least[-1]:
            return None
        values[self.names[-1]] = text[at:end]
        return values


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, Template], ...]:
    return tuple((m, Template(m)) for m in (*PATTERNS, *POSTGRES, *USAGE))


@lru_cache(maxsize=1)
def _sql() -> tuple[tuple[str, str, Template], ...]:
    """(rule, template, pattern) of every refusal of the SQL, the most specific (most fixed
    text) first, so that ``unknown unit '{1}'`` wins over ``unknown unit {1}``."""
    from ledger.store.refusals import sql_messages, sql_row_reasons

    seen: dict[str, str] = {}
    for m in (*sql_messages(), *sql_row_reasons()):     # an import's row reasons too (ATTACK16 C3)
        seen.setdefault(m.template, m.rule)
    fixed = {t: len(_PLACEHOLDER.sub("", t)) for t in seen}
    return tuple((rule, t, Template(t)) for t, rule in sorted(seen.items(), key=lambda x: -fixed[x[0]]))


_WORDS = {"pooled": N_("pooled fund"), "personal": N_("personal accounts"), "no date": N_("no date"),
          "nothing": N_("nothing"), "none": N_("none"), "special account": N_("special account"),
          # (ATTACK21 N1) the English literals the SQL passes to its refusals' placeholders
          # (tests/unit/test_role_actions_worded.py finds each one)
          "no such kind": N_("no such kind"), "finance officer": N_("finance officer"),
          "government shares still owed": N_("government shares still owed"),
          "gaps after the units' surplus": N_("gaps after the units' surplus"),
          "this transaction": N_("this transaction"), "a personal component": N_("a personal component"),
          "confirm": N_("confirm")}


@lru_cache(maxsize=1)
def _actions() -> tuple[tuple[str, Template], ...]:
    """(template, pattern) of every action a role refusal names (``fl.require_role``'s
    ``p_action``, ATTACK21 N1), the most specific first."""
    from ledger.store.refusals import sql_role_actions

    seen = {m.template for m in sql_role_actions() if m.template != "?"}
    fixed = {t: len(_PLACEHOLDER.sub("", t)) for t in seen}
    return tuple((t, Template(t)) for t in sorted(seen, key=lambda t: -fixed[t]))


def _action(text: str, lang: str) -> str | None:
    """A role refusal's action (``record government payments``, ``confirm held entries``,
    ``clear fiscal arrears (…)``) in ``lang``; None if ``text`` is none of them. A variable
    part is a code (``confirm``) or a code with its underscores made spaces (a register kind)."""
    for msgid, rx in _actions():
        m = rx.match(text)
        if m is None:
            continue
        parts = [""]
        for v in m.values():
            word = _word(v, lang)
            code = v.replace(" ", "_")
            parts.append(word if word is not None else code_text(code if code in CODES else v, lang))
        return translate(msgid, lang).format(*parts)
    return None


def _word(text: str, lang: str) -> str | None:
    """An English name the SQL puts into a refusal (a bank account kind from the chart,
    a fund component, "no date") in ``lang``; None if ``text`` is none of them."""
    from ledger.core.chart import HOLDERS

    low = text.lower()
    for h in HOLDERS:
        if h.name_en.lower() == low:
            return h.name_zh if lang == "zh" else h.name_en
    word = _WORDS.get(low)
    return translate(word, lang) if word else None


_BOOK_UNIT = re.compile(r"(?P<book>[A-Z]+), unit (?P<unit>\w+)\Z")
# A part of a value the SQL builds with a format of its own (0005's closed books).
_CLOSED = re.compile(r"(?P<book>[A-Z]+) \(closed on (?P<date>\d{4}-\d\d-\d\d) by (?P<user>[^()]+?)\)", re.ASCII)
_LIST = re.compile(r"\S+(?: or \S+)+\Z")


def _value(text: str, lang: str, depth: int) -> str:
    """One value of a refusal (``{1}``) in ``lang``: a sentence, a code, a name or a figure."""
    action = _action(text, lang)
    if action is not None:
        return action
    if depth < 2 and " " in text:
        out = _line(text, lang, depth + 1)
        if out != text:
            return out
    word = _word(text, lang)
    if word is not None:
        return word
    if _CLOSED.search(text):
        return _CLOSED.sub(lambda c: translate(N_("{book} (closed on {date} by {user})"), lang).format(**c.groupdict()),
                           text)
    m = _BOOK_UNIT.match(text)
    if m:
        return translate(N_("{book}, unit {unit}"), lang).format(**m.groupdict())
    if _LIST.match(text):
        return translate(N_(" or "), lang).join(_value(x, lang, depth + 1) for x in text.split(" or "))
    return code_text(text, lang)


def _fill(msgid: str, m: dict[str, str], lang: str, depth: int, rule: str = "") -> str:
    values: dict[str, str] = {}
    numbered: list[str] = [""]
    for k, v in m.items():
        if k[0] == "a" and k[1:].isdigit():
            numbered.append(_value(v, lang, depth))
        elif k in ("reason", "why", "detail", "suggestion"):
            values[k] = _line(v, lang, depth + 1, rule)   # a wrapped refusal of the SQL keeps its rule
        elif k in ("state", "action", "kind"):
            values[k] = code_text(v, lang)
        elif k in ("account", "allowed", "book"):
            values[k] = _value(v, lang, depth)
        else:
            values[k] = v
    return translate(msgid, lang).format(*numbered, **values)


def _line(text: str, lang: str, depth: int = 0, rule: str = "") -> str:
    lead = text[: len(text) - len(text.lstrip())]
    body = text.strip()
    for msgid, rx in _compiled():
        m = rx.match(body)
        if m is not None:
            return lead + _fill(msgid, m, lang, depth, rule)
    sql = _sql()
    for own in (True, False):
        for r, msgid, rx in sql:
            if (r == rule) == own:
                m = rx.match(body)
                if m is not None:
                    return lead + _fill(msgid, m, lang, depth)
        if not rule:
            break
    return text


_HAN = re.compile(r"[\u4e00-\u9fff]")
_ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")   # four English words in a row
# A command the message tells the user to run (`fundledger budget show --year 2024`, or any
# backquoted span) is typed as it is in every language: it is not English prose (ATTACK21 N8).
_COMMAND = re.compile(r"`[^`]*`|\bfundledger(?:[ \t]+[-\w.:/=<>\[\]]+)*")


def _worded(message: str) -> bool:
    """Whether a refusal the library raised already reads in Chinese (a catalogue message, ATTACK15
    A3): it is shown as it is, without the rule's name in words that an English line needs."""
    return bool(_HAN.search(message)) and not _ENGLISH_RUN.search(_COMMAND.sub(" ", message))


def localise(message: str, rule: str, lang: str | None = None) -> str:
    """A refusal's message in ``lang`` (default: the language in force)."""
    lang = lang or get_lang()
    if lang == "en":
        return message
    lines = [_line(x, lang, rule=rule) for x in message.split("\n")]
    out = "\n".join(lines)
    if out == message and not _worded(message):
        from ledger.store.refusals import rules

        if rule in RULES:
            out = f"{translate(RULES[rule], lang)}：{message}"
        elif rule in rules():
            out = f"{translate(REFUSED, lang)}（{rule}）：{message}"
    return out


def localise_usage(message: str, lang: str | None = None) -> str:
    """A usage error of click's (missing option, unknown command, bad value) in ``lang``."""
    lang = lang or get_lang()
    return message if lang == "en" else "\n".join(_line(x, lang) for x in message.split("\n"))
