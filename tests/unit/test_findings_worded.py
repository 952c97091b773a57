"""Every finding of the verdicts is a catalogue message, so an auditor reads it in Chinese (ATTACK21 N7).

``verify`` and ``audit check-digest`` render a finding through the catalogue when its text is a
``said("… {field} …", field=…)`` (ledger.core.findings): the English stays the record (``--json``,
exports, digests), the table shows the Chinese. Any other text reaches the Chinese table in English.
This sweep walks the AST of ledger/ for the calls that make a finding — ``Finding(…)``, a verdict's
``add(…)`` (``self.add(check, message, …)``, check-digest's ``add(message, row)``, …) and
``_finding(…)`` — and counts, per ``file:function``, those given English text built in place: an
f-string, a plain sentence, a concatenation, a ``"…".format()`` (a check code such as
``"entry_dates"`` is not a sentence). ``said(…)``, ``_()`` and a name (a message built elsewhere)
pass.

``NOT_YET_WORDED`` lists the sites written before the sweep, with how many each holds. THE LIST
ONLY SHRINKS: a new English finding fails here — write it as ``said("…", field=…)`` (never an
f-string inside), ``make i18n``, fill its Chinese; a converted site fails here until its entry is
lowered or removed.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from tests.unit.test_refusals_worded import TRANSLATORS, _name, _sources

MAKERS = {"Finding", "add", "_finding"}
SENTENCE = re.compile(r"[A-Za-z]{2,}[ ,;:'()-]+[A-Za-z]{2,}")

# file:function -> how many findings it makes in English. ONLY EVER LOWER OR REMOVE AN ENTRY.
NOT_YET_WORDED: dict[str, int] = {
    "ledger/core/histories.py:held_line_finding": 1,
    "ledger/core/histories.py:memo_findings": 1,
    "ledger/store/verify.py:<module>": 2,
    "ledger/store/verify_region.py:_compare": 1,
}


def sentence(node: ast.AST) -> bool:
    """Whether ``node`` builds English prose a translator never sees (``english`` of the refusal
    sweep, but a literal must hold two words apart: ``"entry_dates"`` is a check's code)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(SENTENCE.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return bool(SENTENCE.search("".join(v.value for v in node.values if isinstance(v, ast.Constant))))
    if isinstance(node, ast.BinOp):
        return sentence(node.left) or sentence(node.right)
    if isinstance(node, ast.IfExp):
        return sentence(node.body) or sentence(node.orelse)
    if isinstance(node, ast.Call):
        if _name(node.func) in TRANSLATORS | {"said"} or not isinstance(node.func, ast.Attribute):
            return False
        return any(sentence(a) for a in (node.func.value, *node.args, *(k.value for k in node.keywords)))
    return False


def _calls(node: ast.AST, scope: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield from _calls(child, f"{scope}.{child.name}" if scope else child.name)
        else:
            if isinstance(child, (ast.Call, ast.Lambda)):
                yield scope or "<module>", child
            yield from _calls(child, scope)


def _branches(node: ast.expr) -> list[ast.expr]:
    """The texts a conditional expression may give, each branch of ``a if c else b`` in turn."""
    return _branches(node.body) + _branches(node.orelse) if isinstance(node, ast.IfExp) else [node]


def unworded(trees: dict[str, ast.Module]) -> Counter[str]:
    """``file:function`` -> how many of its finding-making calls are given English text (and, in
    ledger/store/verify*.py, how many texts its checks' ``message`` lambdas give in English)."""
    found: Counter[str] = Counter()
    for path, tree in trees.items():
        if not path.startswith("ledger/"):
            continue
        checks = path.startswith("ledger/store/verify")
        for scope, node in _calls(tree, ""):
            if isinstance(node, ast.Lambda):
                if checks:
                    found[f"{path}:{scope}"] += sum(1 for b in _branches(node.body) if sentence(b))
            elif _name(node.func) in MAKERS and any(sentence(a) for a in (*node.args, *(k.value for k in node.keywords))):
                found[f"{path}:{scope}"] += 1
    return +found


def test_no_new_english_finding() -> None:
    found = unworded(_sources())
    new = {k: v for k, v in found.items() if v > NOT_YET_WORDED.get(k, 0)}
    assert not new, ("findings worded in English (write them as said(\"…\", field=…), make i18n, fill their "
                     f"Chinese): {sorted(new.items())}")


def test_the_list_only_shrinks() -> None:
    found = unworded(_sources())
    stale = {k: (v, found.get(k, 0)) for k, v in NOT_YET_WORDED.items() if found.get(k, 0) < v}
    assert not stale, f"lower or remove these NOT_YET_WORDED entries (listed, found): {sorted(stale.items())}"


def test_the_sweep_sees_an_english_finding() -> None:
    src = '''
def f(self, x):
    self.add("entry_dates", f"dated {x}, before the first year", x)
    self.add("entry_dates", said("dated {x}, before the first year", x=x), x)
    self.add("entry_dates", message, x)
    findings.append(Finding("digest", "the chain head differs", entry_id=x))
    findings.append(Finding("digest", said("the chain head differs"), entry_id=x))
    add("the digest " + x + " differs")
    add(_("the digest differs"))
    self.late.add(x)
    seen.add(f"{x}:{x}")
'''
    trees = {**_sources(), "ledger/probe.py": ast.parse(src)}
    found = {k: v for k, v in unworded(trees).items() if k.startswith("ledger/probe.py:")}
    assert found == {"ledger/probe.py:f": 3}, found


def test_report_counts() -> None:
    """How far the conversion has come (printed with -s): sites converted, sites left."""
    trees = _sources()
    converted = sum(1 for t in trees.values() for n in ast.walk(t)
                    if isinstance(n, ast.Call) and _name(n.func) == "said")
    left = sum(unworded(trees).values())
    print(f"\nfindings as catalogue messages (said calls): {converted}; English finding sites left: {left}")
    assert converted > 0
