"""(ATTACK21 N2) A tripwire: every session fundledger opens goes through one conninfo builder,
``ledger.store.db.session_conninfo`` (the wire pinned — ATTACK20 L8's client_encoding, DateStyle,
IntervalStyle — and JIT off). ATTACK20 pinned ``ledger.store.db.connect``'s sessions and missed
``init``'s migration session (SQLAlchemy), ``admin.bootstrap``, the backups and the operator's:
under PGCLIENTENCODING=SQL_ASCII ``init`` was a traceback. This fails on any ``psycopg.connect``,
``psycopg.Connection.connect`` or ``create_engine`` in ledger/ or cli/ whose conninfo is not a
call of ``session_conninfo`` (for ``create_engine``: its ``creator``), unless ``COPIES`` lists it.
A tripwire, not a proof: a conninfo built elsewhere and passed in a variable is named here too."""
from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent

# (file, function) -> why its session is pinned without calling session_conninfo itself
COPIES = {
    ("ledger/store/verify.py", "_second_session"): "the parameters of a session connect() pinned, copied "
                                                  "(options and client_encoding included)",
    ("ledger/store/verify_independent.py", "_forked"): "the parameters of a session connect() pinned, copied "
                                                        "(options and client_encoding included)",
}


def _opens(node: ast.Call) -> str | None:
    f = node.func
    name = ast.unparse(f)
    if name in ("psycopg.connect", "psycopg.Connection.connect", "Connection.connect", "psycopg.AsyncConnection.connect",
                "create_engine", "sqlalchemy.create_engine"):
        return name
    return None


def _calls_builder(a: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and ast.unparse(n.func).endswith("session_conninfo") for n in ast.walk(a))


def _built_here(node: ast.Call, fn: ast.AST | None) -> bool:
    """The conninfo (``create_engine``: its ``creator``) calls ``session_conninfo``, or is a name
    the enclosing function assigns only from such a call."""
    args: list[ast.AST] = list(node.args[:1])
    if ast.unparse(node.func).endswith("create_engine"):
        args = [k.value for k in node.keywords if k.arg == "creator"]
    if any(_calls_builder(a) for a in args):
        return True
    names = {a.id for a in args if isinstance(a, ast.Name)}
    if not names or fn is None:
        return False
    sources = [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign | ast.AnnAssign)
               and any(isinstance(t, ast.Name) and t.id in names for t in (n.targets if isinstance(n, ast.Assign)
                                                                            else [n.target]))]
    return bool(sources) and all(v is not None and _calls_builder(v) for v in sources)


def _openers() -> list[tuple[str, str, int, bool]]:
    out = []
    for top in ("ledger", "cli"):
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            rel = str(path.relative_to(ROOT))
            funcs: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
            for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
                for n in ast.walk(fn):
                    if isinstance(n, ast.Call):
                        funcs[id(n)] = fn               # the innermost function wins (walked later)
            for n in ast.walk(tree):
                if isinstance(n, ast.Call) and _opens(n):
                    fn = funcs.get(id(n))
                    out.append((rel, fn.name if fn else "<module>", n.lineno, _built_here(n, fn)))
    return out


def test_every_opener_builds_its_conninfo_with_session_conninfo() -> None:
    openers = _openers()
    assert len(openers) >= 10, openers        # the reader finds them (11 on 2026-12-08)
    bypass = [f"{f}:{line} ({fn})" for f, fn, line, ok in openers if not ok and (f, fn) not in COPIES]
    assert not bypass, ("a session opened without ledger.store.db.session_conninfo — its wire (client_encoding, "
                        "DateStyle, IntervalStyle) and JIT are whatever the environment says", bypass)


def test_every_listed_copy_still_exists() -> None:
    seen = {(f, fn) for f, fn, _line, ok in _openers() if not ok}
    assert set(COPIES) <= seen, set(COPIES) - seen


def test_session_conninfo_pins_the_wire_whatever_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from psycopg.conninfo import conninfo_to_dict

    from ledger.store.db import NO_JIT, WIRE_OPTIONS, session_conninfo

    monkeypatch.setenv("PGOPTIONS", "-c client_encoding=SQL_ASCII -c DateStyle=German")
    monkeypatch.setenv("PGDATESTYLE", "SQL, DMY")
    info = conninfo_to_dict(session_conninfo("postgresql://x@/db?client_encoding=LATIN1"))
    assert info["client_encoding"] == "UTF8"
    opts = str(info["options"])
    assert opts.startswith(NO_JIT) and opts.endswith(WIRE_OPTIONS), opts
    assert "PGDATESTYLE" not in os.environ
