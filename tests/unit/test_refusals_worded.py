"""Every refusal raised in Python is a catalogue message, so a Chinese user reads it in Chinese.

``cli.errors.localise`` translates a refusal whose text is a catalogue message (or matches one of
its patterns); any other text reaches the Chinese CLI in English behind a Chinese rule label
(ATTACK15 A3). This sweep walks the AST of ledger/ and cli/ for ``raise X(first, …)`` where ``X``
is a ``LedgerError`` (or a subclass, found by following the class definitions) and ``first`` holds
English text outside ``_()``/``N_()``/``translate()``: an f-string, a plain string, a
``"…".format()``, a concatenation (and ``return X(…)`` too: a helper that builds a refusal). ``_("… {name} …").format(name=…)`` and a catalogue constant
(a name, not a literal) pass.

``NOT_YET_WORDED`` lists the sites written before the sweep, as ``file:function`` with how many
untranslated raises each holds. THE LIST ONLY SHRINKS: a new English refusal (a new site, or one
more in a listed function) fails here — wrap it in ``_()`` with ``.format(...)`` (never an
f-string inside ``_()``), ``make i18n``, fill its Chinese; and a listed site that was translated
fails here until its entry is lowered or removed, so the list cannot keep room for new ones.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRANSLATORS = {"_", "N_", "translate", "ngettext"}
LETTERS = re.compile(r"[A-Za-z]{2}")

# file:function -> how many untranslated raises it holds. ONLY EVER LOWER OR REMOVE AN ENTRY.
NOT_YET_WORDED: dict[str, int] = {
    "ledger/store/translate.py:translate": 1,
}


@functools.cache
def _sources() -> dict[str, ast.Module]:
    """ledger/ and cli/ parsed, once a worker: five sweeps read them (each parse of the ~200 files
    cost ~1.5 CPU-s; nothing here changes a tree — a probe is added to a copy of the dict)."""
    return {p.relative_to(ROOT).as_posix(): ast.parse(p.read_text("utf-8"), str(p))
            for d in ("ledger", "cli") for p in sorted((ROOT / d).rglob("*.py"))}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _error_classes(trees: dict[str, ast.Module]) -> set[str]:
    """LedgerError and every class that derives from it, by name, across ledger/ and cli/."""
    names = {"LedgerError"}
    classes = [n for t in trees.values() for n in ast.walk(t) if isinstance(n, ast.ClassDef)]
    while True:
        more = {c.name for c in classes if any(_name(b) in names for b in c.bases)} - names
        if not more:
            return names
        names |= more


def english(node: ast.AST) -> bool:
    """Whether ``node`` builds English text a translator never sees: a string literal with words, an
    f-string's literal parts, either side of ``+``/``%``/``if-else``, the receiver and arguments of a
    method on text (``"…".format(…)``, ``"; ".join(…)``). Not a name, a subscript (``d["key"]``) or
    what a function returns, and nothing inside ``_()``/``N_()``/``translate()``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(LETTERS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(english(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return english(node.left) or english(node.right)
    if isinstance(node, ast.IfExp):
        return english(node.body) or english(node.orelse)
    if isinstance(node, ast.Call):
        if _name(node.func) in TRANSLATORS or not isinstance(node.func, ast.Attribute):
            return False
        return any(english(a) for a in (node.func.value, *node.args, *(k.value for k in node.keywords)))
    return False


def _walk(node: ast.AST, scope: str) -> Iterator[tuple[str, ast.Raise | ast.Return]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield from _walk(child, f"{scope}.{child.name}" if scope else child.name)
        else:
            if isinstance(child, (ast.Raise, ast.Return)):   # a refusal built by a helper is returned
                yield scope or "<module>", child
            yield from _walk(child, scope)


def unworded(trees: dict[str, ast.Module]) -> Counter[str]:
    """``file:function`` -> how many of its raises of a LedgerError carry untranslated English."""
    errors = _error_classes(trees)
    found: Counter[str] = Counter()
    for path, tree in trees.items():
        for scope, r in _walk(tree, ""):
            exc = r.exc if isinstance(r, ast.Raise) else r.value
            if isinstance(exc, ast.Call) and _name(exc.func) in errors and exc.args and english(exc.args[0]):
                found[f"{path}:{scope}"] += 1
    return found


def test_no_new_english_refusal() -> None:
    found = unworded(_sources())
    new = {k: v for k, v in found.items() if v > NOT_YET_WORDED.get(k, 0)}
    assert not new, ("refusals raised in English (wrap the text in _() with .format(), make i18n, fill its "
                     f"Chinese): {sorted(new.items())}")


def test_the_list_only_shrinks() -> None:
    """A site translated since comes off the list (or its count goes down): no room is kept."""
    found = unworded(_sources())
    stale = {k: (v, found.get(k, 0)) for k, v in NOT_YET_WORDED.items() if found.get(k, 0) < v}
    assert not stale, f"lower or remove these NOT_YET_WORDED entries (listed, found): {sorted(stale.items())}"


def test_the_sweep_sees_an_english_refusal() -> None:
    """The sweep itself: an f-string, a plain string, a concatenation and a .format() on a literal are
    caught, in a function and at module level, for a subclass of a subclass; _() and a constant pass."""
    src = '''
from ledger.errors import BadInput, NotFound
class Mine(NotFound):
    pass
def f(x):
    raise BadInput(f"no such thing {x}; give another")
def g(x):
    raise Mine("nothing here")
    raise Mine("nothing " + x)
    raise errors.BadInput("no {x}".format(x=x))
    raise BadInput(_("no such thing {x}").format(x=x))
    raise BadInput(MESSAGE)
    raise BadInput(_("no {x}").format(x=x["key"], y=repr(x.get("format"))))
    raise BadInput(_("no {x}").format(x="something else"))
    raise BadInput(f"{x}: {_('nothing')}")
    raise ValueError(f"not a refusal {x}")
def h(x):
    return NotFound(f"no such thing {x}")
raise NotFound(f"no such {1}")
'''
    trees = {**_sources(), "probe.py": ast.parse(src)}
    found = {k: v for k, v in unworded(trees).items() if k.startswith("probe.py:")}
    assert found == {"probe.py:f": 1, "probe.py:g": 4, "probe.py:h": 1, "probe.py:<module>": 1}, found


def test_worded_refusals_read_in_chinese_with_the_next_step() -> None:
    """What the list lost reads in Chinese by default, naming the field and saying what to do, and in
    English on request word for word as before: an amount of an import row, a region file's table, a
    unit an officer names, a request's step, a forecast's option."""
    from ledger.core.adjustment import parse_adjustment_fund
    from ledger.core.forecast import Assumptions
    from ledger.core.money import parse_fen
    from ledger.core.region import load_region
    from ledger.core.requests import Action, RequestState, next_state
    from ledger.errors import LedgerError
    from tests.helpers import use_lang

    cases = [
        (lambda: parse_fen("-5"), "“-5”是负数；金额必须为正数", "'-5' is negative; amounts must be positive"),
        (lambda: parse_adjustment_fund({"in_order": "yes"}, {"230800"}, "city.toml"),
         "city.toml: adjustment_fund：“in_order”只能是 true 或 false；请改正地区文件",
         "city.toml: adjustment_fund: 'in_order' must be true or false"),
        (lambda: load_region().unit("999"), "未知单位“999”（现有单位：", "unknown unit '999' (known: "),
        (lambda: next_state(7, RequestState.submitted, Action.disburse), "用款申请 7 状态为“",
         "request 7 is submitted; it cannot be disbursed (from submitted it can only be approved or rejected)"),
        (lambda: Assumptions(government_lag_months=40), "政府补助到账滞后须为 1 到 36 个月，不能是 40；请改正",
         "government payment lag must be 1 to 36 months, got 40"),
    ]
    for run, zh, en in cases:
        for lang, want in (("zh", zh), ("en", en)):
            with use_lang(lang), pytest.raises(LedgerError) as e:
                run()
            assert want in e.value.message, (lang, e.value.message)


# ---------------------------------------------------------------------------------------------
# (ATTACK16 C3) A file's row problems are not raised one by one: the reader collects reason strings
# (``bad_row(row, column, reason)``, ``problems.add(…)``, ``RowError(file, row, column, reason)``,
# ``errors.fatal(row, reason)``, a whole file's ``self._refuse(reason)``, a plan's ``err(column,
# reason)``, a statement's ``bad(column, reason)``) and raises one ``BadFile`` with them all, so the sweep above never sees them. This one
# walks those calls: the reason must be a catalogue message too. The SQL's row reasons are swept in
# tests/unit/test_refusal_catalogue.py.
REASON_AT = {"bad_row": 2, "RowError": 3, "fatal": 1, "_refuse": 0, "err": 1, "bad": 1, "add": 2}
PROBLEM_LISTS = {"errors", "problems"}

# file:function -> how many untranslated row reasons it holds. ONLY EVER LOWER OR REMOVE AN ENTRY.
ROW_REASONS_NOT_YET_WORDED: dict[str, int] = {
}


def _calls(node: ast.AST, scope: str) -> Iterator[tuple[str, ast.Call]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield from _calls(child, f"{scope}.{child.name}" if scope else child.name)
        else:
            if isinstance(child, ast.Call):
                yield scope or "<module>", child
            yield from _calls(child, scope)


def unworded_reasons(trees: dict[str, ast.Module]) -> Counter[str]:
    """``file:function`` -> how many row reasons it hands on in untranslated English."""
    found: Counter[str] = Counter()
    for path, tree in trees.items():
        for scope, c in _calls(tree, ""):
            n = _name(c.func)
            if n not in REASON_AT:
                continue
            if n == "add" and not (isinstance(c.func, ast.Attribute) and _name(c.func.value) in PROBLEM_LISTS
                                   and len(c.args) == 3):
                continue
            at = REASON_AT[n]
            arg = c.args[at] if len(c.args) > at else next((k.value for k in c.keywords if k.arg == "reason"), None)
            if arg is not None and english(arg):
                found[f"{path}:{scope}"] += 1
    return found


def test_no_new_english_row_reason() -> None:
    found = unworded_reasons(_sources())
    new = {k: v for k, v in found.items() if v > ROW_REASONS_NOT_YET_WORDED.get(k, 0)}
    assert not new, ("a file's row reasons handed on in English (wrap the text in _() with .format(), make i18n, "
                     f"fill its Chinese): {sorted(new.items())}")


def test_the_row_reason_list_only_shrinks() -> None:
    found = unworded_reasons(_sources())
    stale = {k: (v, found.get(k, 0)) for k, v in ROW_REASONS_NOT_YET_WORDED.items() if found.get(k, 0) < v}
    assert not stale, f"lower or remove these ROW_REASONS_NOT_YET_WORDED entries (listed, found): {sorted(stale.items())}"


def test_the_row_reason_sweep_sees_an_english_reason() -> None:
    src = '''
def read(rows, errors, bad_row):
    for row, cells in rows:
        bad_row(row, "date", f"'{cells[0]}' is not a date")
        errors.add(row, "unit", "the unit is empty")
        bad_row(row, "", _("row {row} has {n} cells").format(row=row, n=len(cells)))
        errors.add(row, "unit", REASON)
        seen.add(row)
    raise RowError("f.csv", 2, "amount", "the amount is too large")
'''
    found = unworded_reasons({"probe.py": ast.parse(src)})
    assert found == {"probe.py:read": 3}, found


# ---------------------------------------------------------------------------------------------
# (ATTACK21 N3) ``fundledger db check``'s items: each item's value and its remedy are read by the
# operator under the Chinese default, so every text ledger/store/deploy.py hands to an item —
# ``_item(name, good, value, hint)``, ``Item(name, status, value, hint)``, and what it builds first
# in a ``value``/``hint``/``held`` variable — is a catalogue message with placeholders
# (``_("… {x}").format(x=…)``), never English text. No allow-list: db check has no English left.
ITEM_TEXT_AT = {"_item": (2, 3), "Item": (2, 3)}
ITEM_TEXT_NAMES = {"value", "hint", "held"}


def unworded_items(trees: dict[str, ast.Module]) -> Counter[str]:
    """``file:function`` -> how many db check texts it builds in untranslated English."""
    found: Counter[str] = Counter()
    for path, tree in trees.items():
        if not path.endswith(("ledger/store/deploy.py", "probe.py")):
            continue
        for scope, c in _calls(tree, ""):
            at = ITEM_TEXT_AT.get(_name(c.func) or "")
            if at is None:
                continue
            args = [c.args[i] for i in at if len(c.args) > i]
            args += [k.value for k in c.keywords if k.arg in ("value", "hint")]
            found[f"{path}:{scope}"] += sum(english(a) for a in args)
        for scope, node in _statements(tree, ""):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(_name(t) in ITEM_TEXT_NAMES for t in targets) and node.value is not None \
                        and english(node.value):
                    found[f"{path}:{scope}"] += 1
    return +found


def _statements(node: ast.AST, scope: str) -> Iterator[tuple[str, ast.AST]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield from _statements(child, f"{scope}.{child.name}" if scope else child.name)
        else:
            yield scope or "<module>", child
            yield from _statements(child, scope)


def test_db_check_items_are_worded() -> None:
    found = unworded_items(_sources())
    assert not found, ("db check texts in English (wrap each in _() with .format(), make i18n, fill its "
                       f"Chinese): {sorted(found.items())}")


def test_the_db_check_sweep_sees_an_english_item() -> None:
    src = '''
def check(s, conn):
    items = [_item("fsync", s == "on", s, "set fsync = on: a power cut corrupts"),
             Item("ssl", "ok", f"{s} (no TCP listener)"),
             _item("wal", True, _("{x} ok").format(x=s), _("set wal_level = replica")),
             Item("auth", "warn", s or "(none)", hint=f"add {s} to the list")]
    hint = "fundledger backup DIR nightly"
    hint += " (a socket only)"
    value = _("{n} rules").format(n=len(s))
    return items, hint, value
'''
    found = unworded_items({"probe.py": ast.parse(src)})
    assert found == {"probe.py:check": 5}, found
