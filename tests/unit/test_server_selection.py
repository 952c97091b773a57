"""What ``make test-server`` leaves out, checked: every entry of ``SAME_ON_ANY_SERVER``
(tests/conftest.py) names a module or a test that exists, and its code holds none of
``SERVER_MARKERS`` — the signs that a test's subject is the server's (a role, grant, policy,
setting, search_path, catalogue change or read, thread, lock, collation, normalisation, the
attack harness). An entry that starts using one must leave the list, so that it runs on the
second server again. A tripwire, not a proof: the entries are chosen by reading them.
``SERVER_CASES`` (the cases of a parametrised test that run there): each names a
parametrised test of a marked module, and by collection every case it names exists and is
marked ``server``, and its other cases are not — a case renamed would otherwise drop out of
the server run unseen."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAME_ON_ANY_SERVER, SERVER_CASES, SERVER_MARKERS

ROOT = Path(__file__).parent.parent.parent


def _code(nodes: list[ast.stmt]) -> str:
    """The code of ``nodes`` without docstrings or comments (they describe, they do not run)."""
    module = ast.Module(body=nodes, type_ignores=[])
    for node in ast.walk(module):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(module)


def _with_helpers(tree: ast.Module, name: str) -> list[ast.stmt]:
    """Test ``name`` and every function, fixture or class of its module it names, transitively."""
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    assert name in defs, f"{name}: no such test"
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.add(current)
        node = defs[current]
        named = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        named |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
        todo += [n for n in named if n in defs]
    return [defs[n] for n in sorted(seen)]


@pytest.mark.parametrize("entry", sorted(SAME_ON_ANY_SERVER))
def test_an_entry_the_server_run_leaves_out_shows_no_sign_of_the_servers_subject(entry: str) -> None:
    module, _, test = entry.partition("::")
    path = ROOT / module
    assert path.is_file(), f"{module}: no such module (remove it from SAME_ON_ANY_SERVER)"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    code = _code(_with_helpers(tree, test) if test else tree.body)
    signs = sorted({m.group(0).strip() for m in SERVER_MARKERS.finditer(code)})
    assert not signs, (f"{entry} uses {signs}: its outcome can depend on the server — remove it from "
                       "SAME_ON_ANY_SERVER (tests/conftest.py) so that make test-server runs it")


def test_the_markers_see_what_they_are_for() -> None:
    """The tripwire fires on the signs of server-dependent tests, not on a superuser's tamper."""
    for sign in ["conn.execute('SET ROLE o22')", "GRANT EXECUTE", "ALTER ROLE rev SET DateStyle", "search_path",
                 "CREATE OR REPLACE FUNCTION", "pg_catalog.pg_proc", "threading.Thread", "SELECT 1 FOR UPDATE",
                 "'x' COLLATE \"C\"", "IS NFKC NORMALIZED", "c.execute(\"SET lock_timeout = '1s'\")", "guard"]:
        assert SERVER_MARKERS.search(sign), sign
    for plain in ["c.execute(\"SET session_replication_role = replica\")",
                  "c.execute('SET LOCAL session_replication_role = replica')",
                  "ALTER TABLE fl.entry DISABLE TRIGGER entry_inserted",
                  "UPDATE fl.app_user SET role = 'admin'", "SELECT * FROM fl.post_entries(%s)"]:
        assert not SERVER_MARKERS.search(plain), plain


# Each kind of server dependence and modules of tests/security that test it on both servers
# (docs/architecture.md#tests): none of them may be listed whole as the same on any server.
KINDS = {
    "privileges per role": ["test_sweep", "test_policy", "test_owner", "test_duties"],
    "row security": ["test_row_security", "test_officer_read_sweep", "test_e10_consolidation_sweep"],
    "search_path and definer hardening": ["test_attacks", "test_sweep", "test_temp_objects", "test_builtins_replaced"],
    "the catalogue": ["test_attack6_catalogue", "test_attack7_rules", "test_attack7_views"],
    "sessions and settings": ["test_session_guard", "test_attack8_session", "test_limits", "test_closed_prefix_verdict"],
    "locks and races": ["test_busy_holders", "test_attack7_duties", "test_attack9_locks", "test_stuck_writers"],
    "the server's Unicode": ["test_attack12_reference_form", "test_attack15_extension_ideographs"],
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_server_dependence_stays_on_the_server_run(kind: str) -> None:
    for name in KINDS[kind]:
        module = f"tests/security/{name}.py"
        assert (ROOT / module).is_file(), module
        assert module not in SAME_ON_ANY_SERVER, f"{module} tests {kind}: it runs on both servers"


@pytest.mark.parametrize("entry", sorted(SERVER_CASES))
def test_a_test_whose_cases_are_chosen_is_parametrised_and_runs_on_the_server(entry: str) -> None:
    module, _, test = entry.partition("::")
    assert test and (ROOT / module).is_file(), f"{entry}: no such module or no test named"
    assert module not in SAME_ON_ANY_SERVER and entry not in SAME_ON_ANY_SERVER, f"{entry}: listed as the same on any server"
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == test), None)
    assert node is not None, f"{entry}: no such test"
    assert any("parametrize" in ast.unparse(d) for d in node.decorator_list), f"{entry}: not parametrised"
    assert SERVER_CASES[entry], f"{entry}: no case chosen"


def _collected(*args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line for line in out.stdout.splitlines() if "::" in line}


def test_the_chosen_cases_exist_and_only_they_are_marked() -> None:
    modules = sorted({e.partition("::")[0] for e in SERVER_CASES})
    every, marked = _collected(*modules), _collected("-m", "server", *modules)
    for entry, cases in SERVER_CASES.items():
        ids = {n[len(entry) + 1:-1] for n in every if n.startswith(entry + "[")}
        assert cases <= ids, f"{entry}: no case {sorted(cases - ids)} (its cases: {sorted(ids)})"
        assert ids - cases, f"{entry}: every case is chosen — leave it out of SERVER_CASES"
        on_server = {n[len(entry) + 1:-1] for n in marked if n.startswith(entry + "[")}
        assert on_server == cases, f"{entry}: marked {sorted(on_server)}, chosen {sorted(cases)}"
