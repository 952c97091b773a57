"""Opening a file a person named, for reading: regular files only (issue 14, A8).

A named pipe (FIFO) given as an import file made the CLI wait forever for a writer, a
device (``/dev/zero``, ``/dev/urandom``) never ends, a folder or a socket is not a file,
and a symbolic link may point anywhere the reader can read. Every command that reads a
file the user named opens it here: without following a final symbolic link
(``O_NOFOLLOW``), without waiting on a pipe (``O_NONBLOCK``, cleared again for a regular
file), and refuses anything ``fstat`` does not call a regular file — checked on the open
descriptor, so the name cannot be swapped between the check and the read."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import BinaryIO

from ledger.errors import BadInput
from ledger.i18n import N_, _

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)


class NotRegularFile(BadInput):
    """The path names something other than a regular file; ``reason`` says what."""

    rule = "not_a_regular_file"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(_("{path}: {reason}; fundledger reads only regular files (nothing was read)").format(
            path=path, reason=reason))
        self.reason = reason


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return _("a named pipe (FIFO), not a file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device, not a file")
    if stat.S_ISDIR(mode):
        return _("a folder, not a file")
    if stat.S_ISSOCK(mode):
        return _("a socket, not a file")
    return _("not a regular file")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for binary reading if it is a regular file (not through a symbolic
    link); ``NotRegularFile`` otherwise. ``FileNotFoundError``, ``PermissionError`` and other
    ``OSError``s pass through for the caller's own wording."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _FLAGS)
    except OSError as e:
        if e.errno == errno.ELOOP and os.path.islink(name):
            raise NotRegularFile(name, _("a symbolic link (give the file it points to)")) from None
        if e.errno == errno.ENXIO:   # a socket, or a FIFO opened without a reader on some systems
            raise NotRegularFile(name, _("not a regular file")) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(name, _kind(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    with open_regular(path) as fh:
        return fh.read()


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The file's text; a UTF-8 byte-order mark (Windows Notepad's and many Chinese editors'
    "UTF-8") is the encoding's mark, not content, and is dropped (ATTACK15 A8, ATTACK15b B1, B2:
    a region file refused in the TOML parser's words, a password set with an invisible first
    character)."""
    text = read_bytes(path).decode(encoding)
    return text[1:] if encoding == "utf-8" and text.startswith("\ufeff") else text


def check_regular(path: str | os.PathLike[str]) -> Path:
    """Refuse a path that is not a regular file before a command starts on it."""
    with open_regular(path):
        return Path(path)


# JSON a person hands in (entries to post, a filed digest, an export's manifest) nests a
# level or three deep; Python's decoder recurses per level and dies with RecursionError
# near a thousand, so a file of ``[[[[…`` must be refused here, by depth, with a message.
MAX_JSON_DEPTH = 64


# A string, or what is left of an unterminated one: the pattern matches at every quote it
# is tried at, so ``sub`` scans the text once. ``"(?:[^"\\]|\\.)*"`` failed on an unterminated
# string and was tried again at each later (escaped) quote, to the end each time: a file of
# ``"`` and ``\\"`` × n took O(n²) (ATTACK12 Z4: 32 KB 3.8 s, 1 MB about an hour) before
# ``json.loads`` refused it in milliseconds. Possessive, and with DOTALL so an escaped
# newline is an escape: the star stops only at a closing quote, the end, or a last backslash.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.S)
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _depth_ok(text: str, limit: int) -> bool:
    """No bracket nests past ``limit`` (strings skipped: a bracket inside one is text).
    The regular expressions do the scanning; Python sees only the brackets."""
    depth = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def _path_of(value: object, target: int, path: str = "$") -> str:
    """The JSON path (``$.postings[0]``) of the object whose ``id`` is ``target``, or ``''``."""
    if id(value) == target:
        return path
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        items = [(f"{path}.{k}" if k.isidentifier() else f"{path}[{_json_key(k)}]", v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    for p, v in items:
        if isinstance(v, (dict, list)) and (found := _path_of(v, target, p)):
            return found
    return ""


def _json_key(k: str) -> str:
    import json

    return json.dumps(k, ensure_ascii=False)


# (ATTACK15 A8) What Python's JSON decoder says, in words an officer reads (its messages are a
# short fixed list; the rest of its text — a Python hint — is never shown).
_JSON_PROBLEMS: dict[str, str] = {
    "Expecting value": N_("a value is expected (text in double quotes, a number, true, false, null, or an "
                          "opening bracket)"),
    "Expecting ',' delimiter": N_("a comma (,) is expected between two items"),
    "Expecting ':' delimiter": N_("a colon (:) is expected after a key"),
    "Expecting property name enclosed in double quotes": N_("a key in double quotes is expected (a comma just "
                                                            "before a closing bracket is not allowed)"),
    "Unterminated string starting at": N_("a text in double quotes is never closed"),
    "Invalid control character at": N_("a text holds a line break or tab as it is (write it as \\n or \\t)"),
    "Invalid \\escape": N_("a backslash (\\) starts no escape JSON knows (write \\\\ for a backslash)"),
    "Invalid \\uXXXX escape": N_("a \\u escape is not four hexadecimal digits"),
    "Extra data": N_("more text follows the end of the JSON value"),
}


_JSON_UNKNOWN = N_("the text is not JSON here")


def _json_problem(msg: str) -> str:
    return _(_JSON_PROBLEMS.get(msg, _JSON_UNKNOWN))


def parse_json(text: str, name: str) -> object:
    """``text`` (named ``name`` in messages) as JSON, refused with ``BadInput`` when it is
    not JSON, nests deeper than ``MAX_JSON_DEPTH``, holds a string that is not Unicode
    text (a lone surrogate such as ``"\\ud800"``: valid JSON, but no database stores it), or
    gives a key twice in one object (ATTACK14 V11)."""
    import json

    if not _depth_ok(text, MAX_JSON_DEPTH):
        raise BadInput(_("{file}: nests deeper than {n} levels; fundledger's JSON files are a few levels deep "
                         "(nothing was read)").format(file=name, n=MAX_JSON_DEPTH))
    twice: list[tuple[int, str]] = []   # (id of the object, its first repeated key)

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for k, _v in items:
                if k in seen:
                    twice.append((id(obj), k))
                    break
                seen.add(k)
        return obj

    if text.startswith("\ufeff"):
        # (ATTACK15 A8) a byte-order mark: Windows Notepad and many Chinese editors save "UTF-8"
        # with one. It marks the encoding, it is not content; the CSV reader skips it too.
        text = text[1:]
    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise BadInput(_("{file}: not valid JSON at line {line}, column {column}: {what}; correct the file "
                         "there (a JSON editor or validator shows the place), then run the command again").format(
                             file=name, line=e.lineno, column=e.colno, what=_json_problem(e.msg))) from e
    except ValueError as e:   # an integer past Python's 4,300-digit limit
        raise BadInput(_("{file}: not valid JSON: a number has more than 4,300 digits; amounts are text like "
                         "\"1234.56\"").format(file=name)) from e
    if twice:
        # (ATTACK14 V11) json.loads (and jsonb) keep the last of a repeated key; a person reading
        # the file sees the first. Refused at any depth, the key and the object's path named.
        raise BadInput(_("{file}: the key \"{key}\" is given twice in the object at {path}: a person reading "
                         "the file sees the first value, a program takes the last; keep one (nothing was read)")
                       .format(file=name, key=twice[0][1], path=_path_of(value, twice[0][0]) or "$"))
    try:
        if _SURROGATE_ESCAPE.search(text):   # only an escape can make one: check the decoded value then
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        raise BadInput(_("{file}: holds a string that is not Unicode text (a lone surrogate escape such as "
                         "\\ud800); fix the file (nothing was read)").format(file=name)) from e
    return value


def read_json(path: str | os.PathLike[str]) -> object:
    """A JSON file a person named (regular files only), as ``parse_json`` reads it."""
    name = shown_name(path)
    try:
        text = read_text(path)
    except UnicodeDecodeError as e:
        # (ATTACK15b B8) Notepad's "Unicode" and Windows PowerShell 5's ``>`` write UTF-16 with a
        # byte-order mark; a Chinese editor's "ANSI" writes GBK. Told in words, never the codec's.
        utf16 = e.object[:2] in (b"\xff\xfe", b"\xfe\xff")
        raise BadInput((_("{file}: saved as UTF-16 (Notepad's \"Unicode\"), not UTF-8; save it again with the "
                          "encoding UTF-8, then run the command again") if utf16 else
                        _("{file}: not UTF-8 text (byte 0x{byte:02X} at byte {pos:,} is not UTF-8: perhaps saved "
                          "as GBK, an editor's \"ANSI\"); save it again with the encoding UTF-8, then run the "
                          "command again")).format(file=name, byte=e.object[e.start], pos=e.start)) from e
    return parse_json(text, name)


def shown_name(path: str | os.PathLike[str]) -> str:
    """A file name as a person can read it and a database can store it. A name that is
    not UTF-8 on disk — a Windows-made ``桦南县付款.csv`` copied over keeps its GBK bytes —
    is decoded as GB18030 (which GBK is part of); anything else shows its bytes escaped."""
    raw = os.fsencode(path)
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")
