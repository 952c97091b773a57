"""ATTACK21 (noted beside N1–N10): what an operator's slip gets.

- A mistyped FUNDLEDGER_HOME: a named user's read command made initdb and started a new,
  empty server at that path, then advised ``fundledger init`` — which made a second ledger.
  A named user's session now never makes a cluster: it names the path and what to check.
- A region file with a TOML syntax error: the refusal said "not a valid UTF-8 TOML file"
  (of a valid UTF-8 file) and tomllib's English reason. It now says where (line, column) and
  what is wrong there, in the officer's language; a file that is not UTF-8 is told so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import without_a_database

_ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")


def _zh(argv: list[str], home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    r = without_a_database(["--lang", "zh", *argv], home, monkeypatch)
    assert r.exit_code not in (0, None), r
    return r.stdout + r.stderr


@pytest.mark.parametrize("argv", [["--as", "zhang", "unit", "list"], ["--as", "hn", "report", "trial-balance"],
                                  ["--as", "zhang", "monitor", "--json"]])
def test_a_mistyped_home_makes_no_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    home = tmp_path / "typo" / "home"
    text = _zh(argv, home, monkeypatch)
    assert not home.exists(), "a read command made a cluster at a mistyped FUNDLEDGER_HOME"
    assert str(home) in text and "FUNDLEDGER_HOME" in text and "Traceback" not in text, text


@pytest.mark.parametrize(("toml", "where"), [
    ('code = "x"\nname_zh = [1, 2\n', None),                 # an unclosed list
    ('code = "x"\nname_zh = 佳木斯\n', "第 2 行"),              # a text without quotes
    ('code = "x"\n[units\n', "第 2 行"),                       # a heading without ]
    ('code = "x"\ncode = "y"\n', "第 2 行"),                   # a key given twice
    ('code = "x"\nfirst_year 2021\n', "第 2 行"),              # no =
    ('code = "x"\nd = 2021-02-30\n', "第 2 行"),               # a date that does not exist
    ('code = "x\n', "第 1 行"),                                # an unterminated text
])
def test_a_region_files_syntax_error_is_placed_and_worded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          toml: str, where: str | None) -> None:
    f = tmp_path / "region.toml"
    f.write_text(toml, "utf-8")
    text = _zh(["init", "--region", str(f)], tmp_path / "home", monkeypatch)
    assert "region.toml" in text and "TOML" in text and "UTF-8" not in text, text
    assert where is None or where in text, text
    assert not _ENGLISH.search(text.replace(str(f), "")), text
    assert not (tmp_path / "home").exists()


def test_a_region_file_not_in_utf8_is_told_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "region.toml"
    f.write_bytes('code = "佳木斯"\n'.encode("gb18030"))
    text = _zh(["init", "--region", str(f)], tmp_path / "home", monkeypatch)
    assert "UTF-8" in text and "另存为" in text, text


def test_every_reason_tomllib_words_is_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reason in tomllib's source (Python's, whatever version runs the tests) has our words."""
    import tomllib

    from ledger.core import toml_text
    from ledger.i18n import get_lang, set_lang

    src = Path(tomllib.__file__).with_name("_parser.py").read_text("utf-8")
    reasons = {re.sub(r"\{[^}]*\}", "x", r) for r in re.findall(r'suffixed_err\(\s*src,\s*\w+,\s*f?"([^"]+)"', src)}
    assert len(reasons) >= 12, reasons
    was = get_lang()
    set_lang("zh")
    try:
        for reason in sorted(reasons):
            text = toml_text.toml_error_text(tomllib.TOMLDecodeError(f"{reason} (at line 3, column 1)"))
            assert text.startswith("第 3 行第 1 列：") and not re.search(r"[A-Za-z]{3,}", text.replace("TOML", "")
                                                                      .replace("YYYY-MM-DD", "")), (reason, text)
    finally:
        set_lang(was)
