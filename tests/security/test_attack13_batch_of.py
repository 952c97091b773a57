"""ATTACK13 W5: the verdict's fast reader of a collections entry's batch reads a nested ``import_batch``.

The Y2 narrowing (``ledger.core.rules._batch_of``) finds the first ``"import_batch": `` in the
source text as jsonb prints it, without parsing. jsonb prints an object's keys shortest first, so
a source ``{"a": {"import_batch": 5}, "import_batch": 999}`` — or ``{"a": {"import_batch": 5}}``,
which names no batch at all — is read as batch 5 by both verdicts (online and offline share the
code), while the database (``source->>'import_batch'``) and the slow path (``_source``) read 999 or
none. A forged collections entry (Y2's superuser) is then judged against a batch it does not name;
the verdict's word is no longer the record's.

Fixed when the fast path returns exactly what a JSON parse of the top level returns.
"""

from __future__ import annotations

import pytest

from ledger.core.rules import _batch_of, _source


@pytest.mark.parametrize("text", [
    '{"a": {"import_batch": 5}, "import_batch": 999}',
    '{"a": {"import_batch": 5}}',
    '{"a": ["x", {"import_batch": 7}], "import_batch": 8}',
    '{"import_batch": 12, "x": 1}',                       # the honest form: unchanged
])
def test_w5_the_batch_read_is_the_top_level_key_a_json_parse_reads(text: str) -> None:
    top = _source(text).get("import_batch")
    assert _batch_of(text) == ("" if top is None else str(top)), text
