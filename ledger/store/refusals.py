"""Every refusal the SQL can raise, read from ``sql/*.sql``, as message templates.

The database words its refusals in English, once, for logs and scripts
(``fl.refuse('rule', format('unit %s …', …))`` and ``RAISE EXCEPTION '… % …'``). So that a
Chinese officer reads them in Chinese, each message's format string becomes a catalogue
message: ``%s`` (or RAISE's ``%``) becomes a numbered placeholder ``{1}``, ``{2}`` …, in
the order of the arguments, which the catalogue's translator comment names
(``make i18n`` extracts them; ``tests/unit/test_refusal_catalogue.py`` fails when one
lacks its Chinese). At the CLI edge (``cli/errors.py``) a refusal's text is matched
against the templates of its rule (the constraint name, stable) and shown in the user's
language with its figures carried across.

Read from the SQL files themselves, not from a list kept by hand: a migration that adds a
refusal adds its message here too, and the test says which one lacks its translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class SqlMessage:
    """One refusal of the SQL: where it is, its rule (constraint name) and its text."""

    file: str
    line: int
    rule: str
    template: str           # a catalogue message id: "unit {1} has no {2}"
    args: tuple[str, ...]   # the SQL expression behind each placeholder, for the translator

    @property
    def comment(self) -> str:
        named = "; ".join(f"{{{i}}} = {a}" for i, a in enumerate(self.args, start=1))
        return f"SQL refusal [{self.rule}] at {self.file}:{self.line}" + (f": {named}" if named else "")


def sql_dir() -> Path:
    return Path(str(resources.files("sql")))


def _close(text: str, start: int) -> int:
    """Index just past the parenthesis that closes the one before ``start`` (quotes respected)."""
    depth, k, quoted = 1, start, False
    while depth:
        c = text[k]
        if quoted:
            if c == "'":
                if text[k + 1:k + 2] == "'":
                    k += 1
                else:
                    quoted = False
        elif c == "'":
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        k += 1
    return k


def _split(args: str, sep: str = ",") -> list[str]:
    """Top-level parts of an argument list split at ``sep`` (quotes and parentheses respected):
    a call's arguments at ``,``, a concatenation's operands at ``||``."""
    out, depth, quoted, cur = [], 0, False, []
    i = 0
    while i < len(args):
        c = args[i]
        if quoted:
            cur.append(c)
            if c == "'":
                if args[i + 1:i + 2] == "'":
                    cur.append("'")
                    i += 1
                else:
                    quoted = False
        elif c == "'":
            quoted = True
            cur.append(c)
        elif c in "([":
            depth += 1
            cur.append(c)
        elif c in ")]":
            depth -= 1
            cur.append(c)
        elif depth == 0 and args.startswith(sep, i):
            out.append("".join(cur).strip())
            cur = []
            i += len(sep) - 1
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


_LITERALS = re.compile(r"^(?:'(?:[^']|'')*'\s*)+$")
_ONE = re.compile(r"'((?:[^']|'')*)'")


def _literal(expr: str) -> str | None:
    """The text of one string constant (adjacent constants on new lines concatenate), else None."""
    expr = expr.strip()
    if not _LITERALS.match(expr):
        return None
    return "".join(m.replace("''", "'") for m in _ONE.findall(expr))


def _numbered(fmt: str, marker: re.Pattern[str], args: list[str]) -> tuple[str, tuple[str, ...]]:
    """A format string as a message id: braces escaped, each placeholder numbered; two
    placeholders with nothing between them become one (their values cannot be told apart)."""
    pieces = marker.split(fmt.replace("{", "{{").replace("}", "}}"))
    out, n = [pieces[0]], 0
    names: list[str] = []
    for i, piece in enumerate(pieces[1:]):
        arg = args[i] if i < len(args) else "?"
        if out[-1] == "" and names and i:   # adjacent to the previous placeholder
            names[-1] += " || " + arg
        else:
            n += 1
            out.append(f"{{{n}}}")
            names.append(arg)
        out.append(piece)
    return "".join(out).replace("%%", "%"), tuple(" ".join(a.split()) for a in names)


_FORMAT = re.compile(r"^(?:pg_catalog\.)?format\s*\(", re.S)
_PCT_S = re.compile(r"%[sIL]")
_PCT = re.compile(r"%")


def _message(expr: str) -> tuple[str, tuple[str, ...]] | None:
    """(template, args) of a refusal's message expression, None when it is not text we can read."""
    lit = _literal(expr)
    if lit is not None:
        return lit.replace("{", "{{").replace("}", "}}"), ()
    m = _FORMAT.match(expr.strip())
    if not m:
        return None
    inner = _split(expr.strip()[m.end():_close(expr.strip(), m.end()) - 1])
    fmt = _literal(inner[0]) if inner else None
    if fmt is None:
        return None
    return _numbered(fmt, _PCT_S, inner[1:])


def _statement_end(text: str, start: int) -> int:
    """Index of the ``;`` that ends the statement starting at ``start`` (quotes respected)."""
    k, quoted = start, False
    while k < len(text):
        c = text[k]
        if c == "'":
            quoted = not quoted   # a doubled quote toggles twice
        elif c == ";" and not quoted:
            return k
        k += 1
    return k


_REFUSE = re.compile(r"fl\.refuse\s*\(")
_RAISE = re.compile(r"RAISE\s+EXCEPTION\s+'", re.I)


def _scan(name: str, text: str) -> list[SqlMessage]:
    found: list[SqlMessage] = []
    for m in _REFUSE.finditer(text):
        if re.search(r"FUNCTION\s*$", text[:m.start()]):
            continue   # the definition of fl.refuse itself
        args = _split(text[m.end():_close(text, m.end()) - 1])
        rule = _literal(args[0]) if args else None
        msg = _message(args[1]) if len(args) > 1 else None
        if rule and msg:
            found.append(SqlMessage(name, text.count("\n", 0, m.start()) + 1, rule, *msg))
    for m in _RAISE.finditer(text):
        stmt = text[m.end() - 1:_statement_end(text, m.end() - 1)]
        using = re.search(r"\bUSING\b", stmt)
        head = stmt[:using.start()] if using else stmt
        rule_m = re.search(r"CONSTRAINT\s*=\s*'([a-z_0-9]+)'", stmt)
        parts = _split(head)
        fmt = _literal(parts[0]) if parts else None
        if fmt is None:
            continue
        template, names = _numbered(fmt, _PCT, parts[1:])
        found.append(SqlMessage(name, text.count("\n", 0, m.start()) + 1, rule_m.group(1) if rule_m else "",
                                template, names))
    return found


@lru_cache(maxsize=1)
def sql_messages() -> tuple[SqlMessage, ...]:
    """Every refusal message of every migration, in file order."""
    out: list[SqlMessage] = []
    for path in sorted(sql_dir().glob("*.sql")):
        out += _scan(path.name, path.read_text("utf-8"))
    return tuple(out)


def rules() -> frozenset[str]:
    """Every rule (constraint name) a refusal of the SQL carries."""
    return frozenset(m.rule for m in sql_messages() if m.rule)


# ---------------------------------------------------------------------------------------------
# (ATTACK16 C3) An import's row problems. They are not raised: the import functions collect
# them (fl._imp_row_problems, fl.imp_*_problem, the INSERTs into pg_temp.fl_imp_err) and return
# them with the file's other problems, each shown as "file: row N, column C: reason". So that an
# officer reads each reason in Chinese, they are catalogue messages too, read from the bodies of
# the import functions (fl.import_*, fl.imp_*, fl._imp_*): every ``format('…', …)`` and every
# text after THEN/ELSE that is a sentence — not SQL the function builds (a GRANT, a column), and
# not an entry's memo (which begins with its Chinese name).
_IMP_FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+fl\.((?:_?imp_|import_)\w*)\s*\(", re.I)
_DOLLAR = re.compile(r"\$(\w*)\$")
_FORMAT_CALL = re.compile(r"(?<![\w.])format\s*\(", re.I)
_THEN_TEXT = re.compile(r"\b(?:THEN|ELSE)\s+('(?:[^']|'')*'(?:\s*'(?:[^']|'')*')*)", re.I)
_NOT_A_REASON = re.compile(r"^\s*(?:SELECT|INSERT|CREATE|UPDATE|DELETE|WITH|DROP|ALTER|GRANT|EXECUTE)\b|"
                           r"\bNOT NULL\b|^[\u4e00-\u9fff]", re.I)
_WORD = re.compile(r"[A-Za-z]{2,}")


def _reasons_in(name: str, text: str) -> list[SqlMessage]:
    found: list[SqlMessage] = []
    for f in _IMP_FUNCTION.finditer(text):
        d = _DOLLAR.search(text, f.end())
        if d is None:
            continue
        end = text.find(d.group(0), d.end())
        body, at = text[d.end():end], d.end()
        hits: list[tuple[int, str, tuple[str, ...]]] = []
        for m in _FORMAT_CALL.finditer(body):
            args = _split(body[m.end():_close(body, m.end()) - 1])
            lit = _literal(args[0]) if args else None
            if lit is not None:
                # a format inside a format (EXECUTE format($q$ … format('%%s') … $q$)) doubles its %
                tpl, names = _numbered(lit.replace("%%", "%"), _PCT_S, args[1:])
                hits.append((m.start(), tpl, names))
        for m in _THEN_TEXT.finditer(body):
            lit = _literal(m.group(1))
            if lit is not None:
                hits.append((m.start(), lit.replace("{", "{{").replace("}", "}}"), ()))
        for pos, tpl, names in hits:
            if len(_WORD.findall(_PLACE.sub("", tpl))) >= 3 and not _NOT_A_REASON.search(tpl):
                found.append(SqlMessage(name, text.count("\n", 0, at + pos) + 1, "", tpl, names))
    return found


_PLACE = re.compile(r"\{\d+\}", re.ASCII)


@lru_cache(maxsize=1)
def sql_row_reasons() -> tuple[SqlMessage, ...]:
    """Every reason an import function gives for a row of a file, in file order (rule ""),
    less those that are also refusals (``sql_messages``)."""
    known = {m.template for m in sql_messages()}
    out: list[SqlMessage] = []
    for path in sorted(sql_dir().glob("*.sql")):
        out += [m for m in _reasons_in(path.name, path.read_text("utf-8")) if m.template not in known]
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# (ATTACK21 N1) The action a role refusal names. ``fl.require_role(ARRAY[…], 'record government
# payments')`` words its refusal ``'{1} (role {2}) may not {3}; that needs the {4} role'``: the
# frame is a refusal of the SQL above and the roles are codes, but ``{3}`` is the caller's own
# English phrase. Each is a catalogue message too, read from every call (a literal, a
# ``format('clear %s (…)', …)`` or ``p_action || ' held entries'``, its variable parts numbered
# as a refusal's are), which ``cli.errors`` puts in place of the ``{3}`` it matches.
_REQUIRE_ROLE = re.compile(r"fl\.require_role\s*\(")


def _concat(expr: str) -> tuple[str, tuple[str, ...]] | None:
    """(template, args) of ``a || 'text' || b``: each literal kept, each other part numbered."""
    parts = _split(expr, "||")
    if len(parts) < 2:
        return None
    out, names = [], []
    for p in parts:
        lit = _literal(p)
        if lit is None:
            names.append(" ".join(p.split()))
            out.append(f"{{{len(names)}}}")
        else:
            out.append(lit.replace("{", "{{").replace("}", "}}"))
    return "".join(out), tuple(names)


def role_action_calls(name: str, text: str) -> list[SqlMessage]:
    """Every ``fl.require_role(roles, action)`` call of one SQL file, its action as a template
    (rule permission_denied; None-free: an action the reader cannot read is kept verbatim with
    the template ``"?"`` so that the sweep names it)."""
    found: list[SqlMessage] = []
    for m in _REQUIRE_ROLE.finditer(text):
        if re.search(r"FUNCTION\s*$", text[:m.start()]):
            continue   # the definition of fl.require_role itself
        args = _split(text[m.end():_close(text, m.end()) - 1])
        expr = args[1] if len(args) > 1 else ""
        msg = _message(expr) or _concat(expr) or ("?", (" ".join(expr.split()),))
        found.append(SqlMessage(name, text.count("\n", 0, m.start()) + 1, "permission_denied", *msg))
    return found


@lru_cache(maxsize=1)
def sql_role_actions() -> tuple[SqlMessage, ...]:
    """The action of every ``fl.require_role`` call of every migration, in file order."""
    out: list[SqlMessage] = []
    for path in sorted(sql_dir().glob("*.sql")):
        out += role_action_calls(path.name, path.read_text("utf-8"))
    return tuple(out)
