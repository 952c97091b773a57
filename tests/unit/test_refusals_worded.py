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
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRANSLATORS = {"_", "N_", "translate", "ngettext"}
LETTERS = re.compile(r"[A-Za-z]{2}")

# file:function -> how many untranslated raises it holds. ONLY EVER LOWER OR REMOVE AN ENTRY.
NOT_YET_WORDED: dict[str, int] = {
    "ledger/core/adjustment.py:parse_adjustment_fund": 11,
    "ledger/core/backtest.py:backtest": 1,
    "ledger/core/backtest.py:errors": 1,
    "ledger/core/backtest.py:mean": 1,
    "ledger/core/backtest.py:seasonal_naive": 1,
    "ledger/core/balance_rate.py:RateRanges.__post_init__": 2,
    "ledger/core/balance_rate.py:_fen": 1,
    "ledger/core/budget.py:SurplusRange.__post_init__": 1,
    "ledger/core/budget.py:check_budget": 1,
    "ledger/core/budget.py:consolidate": 1,
    "ledger/core/budget.py:planned_months": 2,
    "ledger/core/entries.py:_line_ref": 2,
    "ledger/core/forecast.py:Assumptions.__post_init__": 1,
    "ledger/core/forecast.py:_filled": 4,
    "ledger/core/forecast.py:_rate": 1,
    "ledger/core/forecast.py:fit_series": 1,
    "ledger/core/forecast.py:forecast_unit": 2,
    "ledger/core/funding.py:FundingStandard.__post_init__": 1,
    "ledger/core/funding.py:_yuan": 1,
    "ledger/core/funding.py:funding_line": 1,
    "ledger/core/funding.py:parse_standards": 6,
    "ledger/core/interest.py:_fen": 1,
    "ledger/core/interest.py:_unit": 1,
    "ledger/core/interest.py:allocate_interest": 2,
    "ledger/core/interest.py:daily_balance_weights": 3,
    "ledger/core/money.py:parse_fen": 6,
    "ledger/core/monitor.py:Thresholds.__post_init__": 2,
    "ledger/core/monitor.py:_fen": 1,
    "ledger/core/monitor.py:colour": 2,
    "ledger/core/performance.py:check_weights": 4,
    "ledger/core/preallocation.py:PreallocationInput.__post_init__": 2,
    "ledger/core/preallocation.py:_fen": 2,
    "ledger/core/preallocation.py:_months": 1,
    "ledger/core/preallocation.py:preallocate": 2,
    "ledger/core/region.py:Region.unit": 1,
    "ledger/core/region.py:_bounded": 1,
    "ledger/core/region.py:_decimal": 1,
    "ledger/core/region.py:_text": 1,
    "ledger/core/region.py:_weights": 2,
    "ledger/core/region.py:_year": 1,
    "ledger/core/region.py:load_region": 2,
    "ledger/core/region.py:parse_eliminations": 1,
    "ledger/core/region.py:parse_region": 11,
    "ledger/core/requests.py:_fen": 2,
    "ledger/core/requests.py:_person": 1,
    "ledger/core/requests.py:check_duties": 1,
    "ledger/core/requests.py:next_state": 2,
    "ledger/core/response.py:parse_plans": 5,
    "ledger/core/response.py:since": 1,
    "ledger/core/shortfall.py:ShortfallInput.__post_init__": 2,
    "ledger/core/shortfall.py:_fen": 2,
    "ledger/core/shortfall.py:apply_shortfall_rule": 1,
    "ledger/core/shortfall.py:shortfall_table": 1,
    "ledger/core/timezone.py:fund_time_zone": 1,
    "ledger/io/archive.py:_private_copy": 1,
    "ledger/io/archive.py:_read": 1,
    "ledger/io/archive.py:check_files": 2,
    "ledger/io/archive.py:sm3": 1,
    "ledger/io/archive.py:table_rows": 1,
    "ledger/io/archive.py:verify_offline": 3,
    "ledger/store/audit.py:_load": 1,
    "ledger/store/audit.py:_queued_of": 1,
    "ledger/store/audit.py:_unchained_of": 1,
    "ledger/store/audit.py:take_digest": 1,
    "ledger/store/backup.py:_chain": 1,
    "ledger/store/backup.py:_first_start_checks": 2,
    "ledger/store/backup.py:_wait_promoted": 2,
    "ledger/store/backup.py:enable_embedded_archiving": 1,
    "ledger/store/backup.py:prune": 1,
    "ledger/store/backup.py:restore": 2,
    "ledger/store/backup.py:take": 2,
    "ledger/store/budget.py:surplus_range": 1,
    "ledger/store/cycle.py:_book": 1,
    "ledger/store/cycle.py:_monthly_bases": 1,
    "ledger/store/cycle.py:interest_table": 1,
    "ledger/store/deploy.py:check_password_strength": 2,
    "ledger/store/deploy.py:scram_verifier": 1,
    "ledger/store/embedded.py:start": 1,
    "ledger/store/embedded.py:start.restart": 1,
    "ledger/store/embedded.py:url": 1,
    "ledger/store/export.py:_create": 1,
    "ledger/store/pgtools.py:LocalServer.wait_ready": 1,
    "ledger/store/pgtools.py:bindir": 1,
    "ledger/store/pgtools.py:run": 3,
    "ledger/store/requests.py:get": 1,
    "ledger/store/standby.py:check_name": 1,
    "ledger/store/standby.py:connect_operator": 1,
    "ledger/store/standby.py:create": 2,
    "ledger/store/standby.py:fence_datadir": 1,
    "ledger/store/standby.py:promote": 3,
    "ledger/store/standby.py:rejoin": 2,
    "ledger/store/standby.py:set_async": 1,
    "ledger/store/standby.py:wait_streaming": 1,
    "ledger/store/translate.py:translate": 1,
}


def _sources() -> dict[str, ast.Module]:
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
