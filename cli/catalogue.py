"""Maintain the message catalogue (ledger/locale): ``python -m cli.catalogue update|compile|check``.

* ``update`` (``make i18n``): extract every message — ``_("…")``/``N_("…")`` in ledger/ and
  cli/ (Babel's Python extractor), every help text of the command tree and every refusal
  the SQL raises (``ledger.store.refusals``, its placeholders named in a comment) — into
  ``messages.pot``, then merge it into each language's ``.po`` (new messages arrive
  untranslated; translations are kept).
* ``compile`` (the build, ``make``): ``.po`` → ``.mo``, and beside each its parsed form
  (``ledger.i18n.write_parsed``: what start-up loads instead of parsing the .mo).
* ``check``: exit 1 listing every message without a Chinese translation (the test does the same).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from ledger.i18n import DOMAIN, LANGS, LOCALE_DIR, write_parsed

ROOT = LOCALE_DIR.parents[1]
SOURCES = ("ledger", "cli")
POT = LOCALE_DIR / "messages.pot"
KEYWORDS = {"_": None, "N_": None, "translate": None, "ngettext": (1, 2), "said": None}


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _code_messages() -> Iterable[tuple[str | tuple[str, ...], str, int]]:
    for src in SOURCES:
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
                ROOT / src, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=(),
                strip_comment_tags=True):
            if message:
                yield message, f"{src}/{filename}", lineno


def _nested_said() -> Iterable[tuple[str, str, int]]:
    """Findings' messages ``said("…")`` given as a field of another ``said`` (a clause that varies):
    Babel's extractor reads the outer call only (ATTACK21 N7)."""
    import ast

    for src in SOURCES:
        for path in sorted((ROOT / src).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "said":
                    for sub in ast.walk(node):
                        if (sub is not node and isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                                and sub.func.id == "said" and sub.args and isinstance(sub.args[0], ast.Constant)
                                and isinstance(sub.args[0].value, str)):
                            yield sub.args[0].value, path.relative_to(ROOT).as_posix(), sub.lineno


def _help_messages() -> Iterable[str]:
    from typer.main import get_command

    from cli.localize import help_texts
    from cli.main import full_app

    app = full_app()

    yield from help_texts(get_command(app))


def template() -> Catalog:
    """Every message the program can show, as a fresh template."""
    from ledger.store.refusals import sql_messages, sql_role_actions, sql_row_reasons

    cat = Catalog(domain=DOMAIN, project="fundledger", charset="utf-8")
    for msg, where, line in _code_messages():
        cat.add(msg, locations=[(where, line)])
    for msg, where, line in _nested_said():
        if msg not in cat:
            cat.add(msg, locations=[(where, line)])
    for msg in _help_messages():
        if msg not in cat:
            cat.add(msg, locations=[("(command help)", 0)])
    for m in (*sql_messages(), *sql_row_reasons()):
        _add_sql(cat, m.template, f"sql/{m.file}", m.line, m.comment)
    # (ATTACK21 N1) the action a role refusal names: the {3} of "{1} (role {2}) may not {3}; …"
    for m in sql_role_actions():
        if m.template == "?":
            continue   # an action the reader cannot read: tests/unit/test_role_actions_worded.py names it
        _add_sql(cat, m.template, f"sql/{m.file}", m.line,
                 f"the action of a role refusal ({{3}} of '… may not {{3}}; that needs the {{4}} role'), "
                 f"fl.require_role at {m.file}:{m.line}"
                 + "".join(f"; {{{i}}} = {a}" for i, a in enumerate(m.args, start=1)))
    return cat


def _add_sql(cat: Catalog, msgid: str, where: str, line: int, comment: str) -> None:
    """A message the SQL words, at ``where:line``: added with its comment, or its place added
    to the message already there (the first comment kept)."""
    have = cat.get(msgid)
    if have is None:
        cat.add(msgid, locations=[(where, line)], auto_comments=[comment])
    elif comment not in have.auto_comments and (where, line) not in have.locations:
        have.locations.append((where, line))
        if not have.auto_comments:
            have.auto_comments.append(comment)


def _read(lang: str) -> Catalog:
    p = po_path(lang)
    if not p.exists():
        return Catalog(locale=lang, domain=DOMAIN, project="fundledger", charset="utf-8")
    with p.open("rb") as f:
        return read_po(f, locale=lang)


def _write(cat: Catalog, path: Path, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, cat, width=0, omit_header=False, sort_output=True, **kw)  # type: ignore[arg-type]


def update() -> None:
    tpl = template()
    _write(tpl, POT)
    for lang in LANGS:
        cat = _read(lang)
        cat.update(tpl, no_fuzzy_matching=True)
        _write(cat, po_path(lang), ignore_obsolete=True, include_previous=False)


def compile_all() -> list[Path]:
    out = []
    for lang in LANGS:
        cat = _read(lang)
        with mo_path(lang).open("wb") as f:
            write_mo(f, cat)
        out += [mo_path(lang), write_parsed(mo_path(lang))]
    return out


def missing(lang: str = "zh", tpl: Catalog | None = None) -> list[str]:
    """Messages of the template with no (or only a fuzzy) translation in ``lang``."""
    tpl = tpl or template()
    cat = _read(lang)
    out = []
    for m in tpl:
        if not m.id:
            continue
        have = cat.get(m.id)
        strings = have.string if have is not None and isinstance(have.string, tuple) else (
            (have.string,) if have is not None else ())
        if have is None or not all(strings) or not strings or have.fuzzy:
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "check"
    if cmd == "update":
        update()
        print(f"wrote {POT.relative_to(ROOT)} and {', '.join(str(po_path(x).relative_to(ROOT)) for x in LANGS)}")
    elif cmd == "compile":
        for p in compile_all():
            print(f"wrote {p.relative_to(ROOT)}")
    elif cmd == "check":
        lack = missing("zh")
        for m in lack:
            print(f"no Chinese translation: {m!r}")
        return 1 if lack else 0
    else:
        print("usage: python -m cli.catalogue update|compile|check", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
