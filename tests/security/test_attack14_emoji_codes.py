"""ATTACK14 V8: text a user wrote is shown on the terminal as something else — Rich's emoji codes.

``cli.context.SafeConsole`` replaces control characters and escapes Rich *markup* in data, but
the console still expands emoji short codes in every string it prints: a provider written
``某某医院:one:`` is shown in ``report ledger`` as ``某某医院1️⃣`` (in terminals and fonts without
keycap glyphs: ``某某医院1`` — another number than was written), a reference ``A-:100:`` as
``A-💯``, ``:x:`` as ``❌``; an error message quoting the user's key (``entry show 'EMJ:100:'``)
names ``'EMJ💯'``, a key that does not exist. ``--json``/``--csv`` keep the stored text: the
terminal and the files disagree. (docs/security.md, "What reaches the terminal": table cells are
data.)

Fixed when the console never expands emoji codes (``Console(emoji=False)``, and data cells as
``Text``), whatever the text holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import _claims, _fund

pytestmark = pytest.mark.db


def test_v8_a_stored_text_is_shown_as_written(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    f = _claims(tmp_path / "c.csv", "2024-03-27,230881,RES,某某医院:one:,inpatient,800.00,A-:100:,,county")
    assert ledger_db.cli("pay", "import", str(f), user="o81").exit_code == 0
    shown = ledger_db.cli("--lang", "en", "report", "ledger", "RES:5001.inpatient:230881", "--year", "2024", user="aud")
    assert shown.exit_code == 0, shown
    assert "某某医院:one:" in shown.stdout, (
        f"the provider stored as '某某医院:one:' is shown as: "
        f"{[ln for ln in shown.stdout.splitlines() if '某某医院' in ln]}")
    err = ledger_db.cli("--lang", "en", "entry", "show", "no:100:such", user="aud")
    assert "no:100:such" in err.stdout + err.stderr, err


# -- variants of the class (ATTACK14 V8's fix): no renderer of the CLI expands an emoji code -------

CODES = "某某医院:one: A-:100: :x: :smile:"


def _captured(monkeypatch: pytest.MonkeyPatch, width: int, draw) -> str:  # type: ignore[no-untyped-def]
    import io

    from cli import context

    out = io.StringIO()
    fresh = context.LazyConsole(highlight=False, file=out, width=width)
    monkeypatch.setattr(context, "console", fresh)
    draw(context)
    return out.getvalue()


@pytest.mark.parametrize("width", [200, 30], ids=["table", "records"])
def test_v8_table_cells_keep_emoji_codes(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    def draw(context) -> None:  # type: ignore[no-untyped-def]
        context.table("t", [("provider", "Provider"), ("amount", "Amount")],
                      [{"provider": CODES, "amount": 100}], money=["amount"])

    text = _captured(monkeypatch, width, draw)
    assert all(code in text for code in CODES.split()), text
    assert "\u274c" not in text and "\u20e3" not in text and "\U0001f4af" not in text


def test_v8_messages_and_plain_values_keep_emoji_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    def draw(context) -> None:  # type: ignore[no-untyped-def]
        context.console.print(f"no entry '{context.plain(CODES)}'")
        context.console.print(CODES, emoji=True)   # even asked for, a code is text
        context.console.print(CODES, markup=False)

    got = _captured(monkeypatch, 200, draw)
    assert got.count(CODES) == 3, got
    assert "\u274c" not in got and "\u20e3" not in got


def test_v8_every_console_the_cli_makes_has_emoji_off() -> None:
    from cli import context

    for c in (context.console, context.err_console):
        assert c.real()._emoji is False
