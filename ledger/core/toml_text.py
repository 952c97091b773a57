"""What a TOML syntax error says, in the reader's language.

tomllib words its errors in English ("Unclosed array (at line 3, column 9)"); a region file is
written by an operator in Chinese, who needs the line, the column and what is wrong there in
words they read (ATTACK21: the English reason reached the Chinese refusal, under a label that
called a valid UTF-8 file invalid UTF-8). The reasons are tomllib's fixed set (Python 3.11's
_parser.py); one it grows later is shown as tomllib words it.
"""

from __future__ import annotations

import re

from ledger.i18n import N_, _

_WHERE = re.compile(r"^(?P<reason>.*?) \((?:at line (?P<line>[0-9]+), column (?P<column>[0-9]+)|at end of document)\)$",
                    re.S)

# tomllib's reason, matched from its start -> our words for it
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"Invalid value", N_("a value TOML cannot read (a text needs quotes, a date is written YYYY-MM-DD)")),
    (r"Unclosed array", N_("a list is not closed (its closing bracket is missing)")),
    (r"Unclosed inline table", N_("an inline table is not closed (its closing brace is missing)")),
    (r"Unterminated string", N_("a text opened with a quote is not closed")),
    (r"Expected '=' after a key", N_("a key without = and a value after it")),
    (r"Expected '\]' at the end of a table", N_("a section heading without its closing bracket")),
    (r"Expected '\]\]' at the end of an array", N_("a table-list heading without its closing double bracket")),
    (r"Invalid initial character for a key", N_("a key that starts with a character keys cannot start with")),
    (r"Invalid statement", N_("a line that is neither key = value nor a section heading")),
    (r"Invalid date or datetime", N_("a date that does not exist or is not written YYYY-MM-DD")),
    (r"Cannot overwrite a value|Cannot declare .* twice|Duplicate inline table key|Cannot redefine namespace|"
     r"Cannot mutate immutable namespace", N_("a key or section given twice")),
    (r"Found invalid character|Illegal character|Unescaped '\\\\'|Invalid hex value|"
     r"Escaped character is not a Unicode scalar value", N_("a character TOML does not allow there")),
    (r"Expected ", N_("something missing where the line ends")),
))


def toml_error_text(error: ValueError) -> str:
    """``error`` (a tomllib.TOMLDecodeError) as 'line L, column C: reason' in the language in force."""
    text = str(error)
    m = _WHERE.match(text)
    reason_en = m.group("reason") if m else text
    reason = next((_(words) for p, words in _REASONS if p.match(reason_en)), reason_en)
    if m and m.group("line"):
        return _("line {line}, column {column}: {reason}").format(line=m.group("line"), column=m.group("column"),
                                                                   reason=reason)
    return _("at the end of the file: {reason}").format(reason=reason) if m else reason
