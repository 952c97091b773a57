"""What an Excel number format shows in place of a cell's value (ATTACK13 W2).

The import takes a cell's stored value; a person opening the filed workbook sees it through
the cell's number format, which can scale it (``0.00,`` shows 90000 as ``90.00``, ``0%``
shows 1 as ``100%``), hide it (``;;;``), replace it (``;;;"A-1"`` shows the text ``A-1``
for the reference ``A-2``), add digits (``0"0"``), round it away (``# ?/?``, ``0.00E+00``),
turn it into a date, or show another section under a condition (``[>100]``). This module
parses a format code (ECMA-376 §18.8.31) into sections and tokens and says, for a column,
whether what it shows is the value: ``format_problem`` returns a reason (a sentence of the
catalogue, ``ledger.io.formats``) or ``''``, with the decimals it shows and the colours it
paints (``[Red]``) for the colour check.

Accepted (a closed list, what Excel and WPS write for plain figures): General; digits with
thousands separators and fixed decimals (``0``, ``0.00``, ``#,##0.00``, padding ``_)`` and
space fill ``* ``); a negative section with its minus sign or parentheses, or in red; a zero
section showing ``-`` (the accounting formats, 会计专用); a currency symbol (¥ ￥ $ 元 CNY
RMB, quoted or as ``[$¥-804]``); colours; the text format ``@`` (a text section holding
``@`` and padding only); and, in a date column only, a date showing a four-digit year, the
month and the day (Excel's short date, ``yyyy/m/d``, ``yyyy"年"m"月"d"日"``, with a time or
``;@`` after it). Everything else is refused in an imported cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.io.formats import (
    FORMAT_ADDS_TEXT,
    FORMAT_CONDITION,
    FORMAT_DATE_ON_NUMBER,
    FORMAT_DATE_PARTIAL,
    FORMAT_HIDES,
    FORMAT_NEGATIVE_UNSIGNED,
    FORMAT_NOT_ACCEPTED,
    FORMAT_ROUNDS,
    FORMAT_SCALES,
)

BUILTIN_LIMIT = 164  # ids below are built in (ECMA-376 §18.8.30); a file's own formats start here

# Built-in ids as ECMA-376 §18.8.30 gives them. Ids 5-8 and 41-44 are the locale's currency and
# accounting formats (Excel writes them out in numFmts when it uses them); 14 and 22 are the
# locale's short date (and time), which Excel shows with a four-digit year in a Chinese locale;
# 27-36 and 50-81 are East Asian dates and times, of which only 31 (yyyy"年"m"月"d"日" in zh-CN,
# zh-TW and ja-JP) is a whole date. Ids not listed show General in some locales and a date or a
# time in others: refused.
BUILTIN: dict[int, str] = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)', 6: '"$"#,##0_);[Red]("$"#,##0)', 7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)', 9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?",
    13: "# ??/??", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 37: "#,##0_);(#,##0)", 38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)", 40: "#,##0.00_);[Red](#,##0.00)", 41: '_(* #,##0_);_(* \\(#,##0\\);_(* "-"_);_(@_)',
    42: '_("$"* #,##0_);_("$"* \\(#,##0\\);_("$"* "-"_);_(@_)',
    43: '_(* #,##0.00_);_(* \\(#,##0.00\\);_(* "-"??_);_(@_)',
    44: '_("$"* #,##0.00_);_("$"* \\(#,##0.00\\);_("$"* "-"??_);_(@_)',
    45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}
LOCALE_DATES = frozenset({14, 22, 31})  # the locale's whole dates: accepted in a date column

CURRENCY = frozenset({"¥", "￥", "$", "元", "CNY", "RMB"})
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "blue": (0, 0, 255), "cyan": (0, 255, 255), "green": (0, 255, 0),
    "magenta": (255, 0, 255), "red": (255, 0, 0), "white": (255, 255, 255), "yellow": (255, 255, 0),
    "黑色": (0, 0, 0), "蓝色": (0, 0, 255), "青色": (0, 255, 255), "绿色": (0, 255, 0),
    "洋红": (255, 0, 255), "红色": (255, 0, 0), "白色": (255, 255, 255), "黄色": (255, 255, 0),
}
_DATE_LETTERS = frozenset("ymdhsegbYMDHSEGB")
_DATE_LITERALS = frozenset("/-.:, 年月日时分秒")


@dataclass(frozen=True)
class Shown:
    """What a format does to a column's cells: ``why`` it is refused (``''``: accepted), the
    decimals it shows of a number (None: as many as the value has), the colours it paints
    (``[Red]``: an RGB, ``[Color10]``: an index of the palette)."""

    why: str = ""
    places: int | None = None
    colours: tuple[tuple[int, int, int] | int, ...] = ()


ACCEPTED = Shown()
Token = tuple[str, str]  # (kind, text): lit, pad, fill, br, digit, point, comma, percent, sci, slash, text, general, date


def tokens(code: str) -> list[list[Token]]:
    """A format code as its sections (split at ``;`` outside quotes, escapes and brackets), each
    a list of tokens. A date letter's token holds its run (``yyyy``)."""
    sections: list[list[Token]] = [[]]
    out = sections[0]
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c == '"':
            j = code.find('"', i + 1)
            j = n if j < 0 else j
            out.append(("lit", code[i + 1:j]))
            i = j + 1
        elif c in "\\_*":
            out.append(({"\\": "lit", "_": "pad", "*": "fill"}[c], code[i + 1:i + 2]))
            i += 2
        elif c == "[":
            j = code.find("]", i)
            j = n if j < 0 else j
            out.append(("br", code[i + 1:j]))
            i = j + 1
        elif c == ";":
            out = []
            sections.append(out)
            i += 1
        elif c in "0#?":
            out.append(("digit", c))
            i += 1
        elif c in ".,%/@":
            out.append(({".": "point", ",": "comma", "%": "percent", "/": "slash", "@": "text"}[c], c))
            i += 1
        elif c in "Ee" and code[i + 1:i + 2] in ("+", "-"):
            out.append(("sci", code[i:i + 2]))
            i += 2
        elif code[i:i + 7].lower() == "general":
            out.append(("general", code[i:i + 7]))
            i += 7
        elif code[i:i + 5].upper() == "AM/PM" or code[i:i + 5] == "上午/下午":
            out.append(("date", "ampm"))
            i += 5
        elif code[i:i + 3].upper() == "A/P":
            out.append(("date", "ampm"))
            i += 3
        elif c in _DATE_LETTERS:
            j = i
            while j < n and code[j].lower() == c.lower():
                j += 1
            out.append(("date", code[i:j].lower()))
            i = j
        else:
            out.append(("lit", c))
            i += 1
    return sections


def _bracket(text: str) -> tuple[str, tuple[int, int, int] | int | None]:
    """What a ``[...]`` holds: ``colour`` (with its RGB or palette index), ``locale``, ``currency``
    (its symbol accepted), ``elapsed`` (``[h]``), ``condition`` or ``other``."""
    low = text.strip().lower()
    if low in COLOURS:
        return "colour", COLOURS[low]
    if low.startswith("color") and low[5:].isdigit() and 1 <= int(low[5:]) <= 56:
        return "colour", int(low[5:]) + 7  # [Color1] is the palette's first colour, index 8
    if low.startswith("$"):
        symbol = text.strip()[1:].split("-", 1)[0]
        return ("locale", None) if not symbol else (("currency", None) if symbol in CURRENCY else ("other", None))
    if low and set(low) <= set("hms"):
        return "elapsed", None
    if low[:1] in ("<", ">", "="):
        return "condition", None
    return "other", None


def format_problem(code: str | None, date_column: bool, builtin_id: int | None = None) -> Shown:
    """Whether ``code`` shows a cell's value as it is, in a date column or another. ``builtin_id``
    is the style's built-in id when the workbook does not define the format itself (``code`` is
    then None for an id this module does not know)."""
    if builtin_id is not None:
        if builtin_id in LOCALE_DATES:
            return ACCEPTED if date_column else Shown(FORMAT_DATE_ON_NUMBER)
        code = BUILTIN.get(builtin_id)
        if code is None:
            return Shown(FORMAT_NOT_ACCEPTED)
    assert code is not None
    sections = tokens(code)
    if len(sections) > 4:
        return Shown(FORMAT_NOT_ACCEPTED)
    colours: list[tuple[int, int, int] | int] = []
    for section in sections:
        for kind, text in section:
            if kind == "br":
                what, colour = _bracket(text)
                if what == "condition":
                    return Shown(FORMAT_CONDITION)
                if what == "other":
                    return Shown(FORMAT_NOT_ACCEPTED)
                if colour is not None:
                    colours.append(colour)
    # The text section: the fourth, or a last one holding @ (``yyyy/m/d;@``, ``@``).
    text_section: list[Token] | None = None
    if len(sections) == 4 or any(k == "text" for k, _ in sections[-1]):
        text_section = sections[-1]
        sections = sections[:-1]
    if any(k == "text" for s in sections for k, _ in s):
        return Shown(FORMAT_NOT_ACCEPTED)
    if text_section is not None:
        why = _text_section(text_section)
        if why:
            return Shown(why)
    if not sections:
        return Shown(colours=tuple(colours))  # ``@``: a number is shown as General
    if any(k in ("date", "br") and (k == "date" or _bracket(t)[0] == "elapsed") for s in sections for k, t in s):
        if not date_column:
            return Shown(FORMAT_DATE_ON_NUMBER)
        if len(sections) > 1:
            return Shown(FORMAT_NOT_ACCEPTED)
        why = _date_section(sections[0])
        return Shown(why, None, tuple(colours))
    places: int | None = None
    for index, section in enumerate(sections):
        why, shown = _number_section(section, index)
        if why:
            return Shown(why)
        if index < 2 and shown is not None:
            places = shown if places is None else min(places, shown)
    if any(k == "general" for s in sections[:2] for k, _ in s):
        places = None
    return Shown("", places, tuple(colours))


def _text_section(section: list[Token]) -> str:
    """A text section shows the text (``@``) once, padded, and nothing else."""
    texts = sum(1 for kind, _ in section if kind == "text")
    if texts != 1:
        return FORMAT_HIDES if texts == 0 else FORMAT_ADDS_TEXT
    for kind, text in section:
        shows_nothing = kind in ("text", "pad", "br") or (kind == "fill" and text == " ")
        if not shows_nothing and not (kind == "lit" and not text.strip()):
            return FORMAT_ADDS_TEXT if kind == "lit" else FORMAT_NOT_ACCEPTED
    return ""


def _number_section(section: list[Token], index: int) -> tuple[str, int | None]:
    """``(why, decimals shown)`` for a positive (0), negative (1) or zero (2) section."""
    digits = 0
    general = False
    decimals: int | None = None
    signed = False
    literal_only_dash = False
    for pos, (kind, text) in enumerate(section):
        if kind == "digit":
            digits += 1
            if decimals is not None:
                decimals += 1
        elif kind == "general":
            general = True
        elif kind == "point":
            if decimals is not None:
                return FORMAT_NOT_ACCEPTED, None
            decimals = 0
        elif kind == "comma":
            before = section[pos - 1][0] if pos else ""
            after = section[pos + 1][0] if pos + 1 < len(section) else ""
            if decimals is not None or before != "digit" or after != "digit":
                return FORMAT_SCALES, None
        elif kind == "percent":
            return FORMAT_SCALES, None
        elif kind in ("sci", "slash"):
            return FORMAT_ROUNDS, None
        elif kind == "pad":
            continue
        elif kind == "fill":
            if text != " ":
                return FORMAT_ADDS_TEXT, None
        elif kind == "br":
            what, colour = _bracket(text)
            if what == "colour" and colour == COLOURS["red"] and index == 1:
                signed = True
        elif kind == "lit":
            word = text.strip()
            if not word or word in CURRENCY:
                continue
            if index == 1 and word in ("-", "(", ")"):
                signed = True
                continue
            if index == 2 and word == "-":
                literal_only_dash = True
                continue
            return FORMAT_ADDS_TEXT, None
        else:
            return FORMAT_NOT_ACCEPTED, None
    if not digits and not general:
        if index == 2 and literal_only_dash:
            return "", None
        return FORMAT_HIDES, None
    if index == 1 and not signed:
        return FORMAT_NEGATIVE_UNSIGNED, None
    return "", (decimals or 0) if not general else None


def _date_section(section: list[Token]) -> str:
    """A date shows a four-digit year, the month and the day; a time may follow."""
    year = month = day = False
    for pos, (kind, text) in enumerate(section):
        if kind == "date":
            if text[0] in "y" and len(text) >= 3:
                year = True
            elif text[0] == "d" and len(text) <= 2:
                day = True
            elif text[0] == "m" and not _is_minute(section, pos) and len(text) <= 4:
                month = True
            elif text[0] in "eb" or (text[0] == "y" and len(text) < 3):
                return FORMAT_DATE_PARTIAL
        elif kind == "br":
            what, _ = _bracket(text)
            if what == "elapsed":
                return FORMAT_DATE_PARTIAL
            if what not in ("locale", "colour"):
                return FORMAT_NOT_ACCEPTED
        elif kind == "lit":
            if not set(text) <= _DATE_LITERALS:
                return FORMAT_ADDS_TEXT
        elif kind in ("point", "comma", "slash", "pad") or (kind == "fill" and text == " "):
            continue
        elif kind == "digit" and text == "0" and pos and section[pos - 1][0] in ("point", "digit"):
            continue  # fractions of a second (ss.0)
        else:
            return FORMAT_NOT_ACCEPTED
    return "" if year and month and day else FORMAT_DATE_PARTIAL


def _is_minute(section: list[Token], pos: int) -> bool:
    """An ``m`` right after an hour or right before a second is minutes (ECMA-376 §18.8.31)."""
    dates = [(i, t) for i, (k, t) in enumerate(section) if k == "date" or (k == "br" and _bracket(t)[0] == "elapsed")]
    at = [i for i, _ in dates].index(pos)
    prev = dates[at - 1][1] if at else ""
    nxt = dates[at + 1][1] if at + 1 < len(dates) else ""
    return prev[:1] == "h" or nxt[:1] == "s"
