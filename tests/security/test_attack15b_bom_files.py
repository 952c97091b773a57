"""ATTACK15b B1/B2 (A8's class, other readers): a file a person saves in Windows Notepad or a
Chinese editor as "UTF-8" starts with a byte-order mark. 4039091 made ``parse_json`` skip it and
word its decoder errors; two other readers of files a person names still read the mark as content:

* B1: ``init --region FILE`` (``ledger.core.region.load_region``): the region file re-saved with a
  BOM is refused with tomllib's English words ("Invalid statement (at line 1, column 1)") behind
  "not a valid UTF-8 TOML file" — the file *is* valid UTF-8 TOML, and nothing says what to do.
* B2: ``--password-file`` (``cli.cmd_db.read_password``, used by ``user add`` / ``user passwd``):
  the mark becomes the password's first character, invisible; the password set is not the one the
  person typed, so they can never log in with it by typing it (and U+FEFF even counts as the
  "other character" class of the strength rule).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from ledger.errors import BadInput
from tests.helpers import ENGLISH, use_lang


def test_b1_a_region_file_saved_with_a_bom_is_read_or_refused_in_words(tmp_path: Path) -> None:
    from ledger.core.region import load_region

    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    f = tmp_path / "region.toml"
    f.write_text(text, encoding="utf-8-sig")   # re-saved by Notepad
    with use_lang("zh"):
        try:
            region = load_region(f)
        except BadInput as e:
            said = str(e)
            assert "Invalid statement" not in said and not ENGLISH.search(said.replace("TOML", "")), said
        else:
            assert region.code == load_region().code


def test_b2_a_password_file_saved_with_a_bom_sets_the_password_typed(tmp_path: Path) -> None:
    from cli.cmd_db import read_password

    f = tmp_path / "pw.txt"
    f.write_text("Correct-Horse-42\n", encoding="utf-8-sig")   # re-saved by Notepad
    try:
        pw = read_password(f, "o22", prompt=False)
    except BadInput:
        return   # refused in words is acceptable; setting an invisible character is not
    assert pw == "Correct-Horse-42", repr(pw)


@pytest.mark.parametrize("encoding", ["utf-16", "gbk"])
def test_b8_a_json_file_saved_as_utf16_or_gbk_is_refused_in_words(tmp_path: Path, encoding: str) -> None:
    """B8: Notepad's "Unicode" (and Windows PowerShell 5's ``>``) writes UTF-16 with a BOM; a Chinese
    editor's "ANSI" writes GBK. ``entry post FILE`` / ``audit check-digest FILE`` (infile.read_json)
    then say ``不是 UTF-8 文本：'utf-8' codec can't decode byte 0xff in position 0: invalid start byte``
    — Python's codec words, no next step (save it as UTF-8). The CSV reader takes GBK."""
    import json

    from ledger.io.infile import read_json

    f = tmp_path / "entries.json"
    f.write_text(json.dumps([{"date": "2024-03-27", "memo": "桦南县住院"}], ensure_ascii=False), encoding=encoding)
    with use_lang("zh"):
        try:
            read_json(f)
        except BadInput as e:
            said = str(e)
            assert "codec" not in said and "invalid start byte" not in said and not ENGLISH.search(said), said
